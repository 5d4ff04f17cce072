"""The dataflow executor: runs plans with TF1 control flow (dead tensors and while-loop frames).

Every op of the plan is a node with a count of pending inputs; a node runs
when its count reaches zero, and its outputs are delivered along its out
edges. Counts and delivered inputs live per *frame instance and iteration*:

* the root frame has one iteration; ``Enter`` delivers into the child frame
  named by its ``frame_name`` (one instance per parent frame and parent
  iteration), into iteration 0, or, if ``is_constant``, into every iteration
  of that frame, present and future; ``NextIteration`` delivers into the
  next iteration of its frame (starting it if it is new); ``Exit`` delivers
  into the parent frame, at the parent iteration;
* a value can be dead (``DEAD``): a node with a dead data or control input
  does not run and delivers ``DEAD`` on every out edge; ``Switch`` delivers
  ``DEAD`` on its untaken output. ``Merge`` waits for its control inputs and
  then the first live data input, or is dead when every data input is dead
  (or one comes dead from an ``Enter``: a loop on the untaken side of a
  cond). ``ControlTrigger`` is never dead. A dead ``NextIteration`` delivers
  nothing, which is how a loop stops; a dead ``Exit`` is remembered, and if
  the loop ends (nothing left to run) with it dead in the last iteration,
  its consumers in the parent frame get ``DEAD``.

These are the rules of TensorFlow's executor; iterations run one after the
other in one ready queue (``parallel_iterations`` does not apply). A fetch is
taken from the root frame; fetching a dead tensor is an error, as in TF.
"""

from __future__ import annotations

from collections import deque

from nanotf import errors
from nanotf.ops.control_flow_ops import DEAD
from nanotf.ops.control_flow_ops import ENTER_TYPES
from nanotf.ops.control_flow_ops import EXIT_TYPES
from nanotf.ops.control_flow_ops import MERGE_TYPES
from nanotf.ops.control_flow_ops import NEXT_ITERATION_TYPES
from nanotf.runtime.steps import call_kernel
from nanotf.runtime.steps import kernel_setup
from nanotf.runtime.variable_store import VariableRef

__all__ = ["DataflowPlan"]

# Node kinds: how a node's outputs are routed and how its inputs are counted.
_NORMAL, _MERGE, _ENTER, _EXIT, _NEXT, _TRIGGER = range(6)
_KINDS = {**dict.fromkeys(MERGE_TYPES, _MERGE), **dict.fromkeys(ENTER_TYPES, _ENTER),
          **dict.fromkeys(EXIT_TYPES, _EXIT), **dict.fromkeys(NEXT_ITERATION_TYPES, _NEXT),
          "ControlTrigger": _TRIGGER}  # fmt: skip
_MISSING = object()


class _Node:
    __slots__ = ("op", "kind", "setup", "n_inputs", "n_outputs", "out_edges", "control_out", "pending0",
                 "frame_name", "is_constant", "fetches")  # fmt: skip

    def __init__(self, op, setup):
        self.op, self.setup = op, setup
        self.kind = _KINDS.get(op._type, _NORMAL)
        self.n_inputs, self.n_outputs = len(op._inputs), len(op._outputs)
        self.out_edges = [[] for _ in op._outputs]  # per output: [(consumer node, input index)]
        self.control_out: list = []
        self.pending0 = 0
        self.fetches: list = []  # [(output index, fetch position)]
        if self.kind == _ENTER:
            self.frame_name = op._attrs["frame_name"].s
            self.is_constant = op._attrs["is_constant"].b


class _Iteration:
    """The pending counts, dead counts and delivered inputs of one iteration of one frame instance."""

    __slots__ = ("pending", "dead", "inputs")

    def __init__(self):
        self.pending: dict = {}
        self.dead: dict = {}
        self.inputs: dict = {}


class _Frame:
    """One instance of a frame: the root, or a loop entered from one iteration of its parent."""

    __slots__ = ("parent", "parent_iter", "depth", "iterations", "count", "invariants", "pending_enters",
                 "dead_exits", "children")  # fmt: skip

    def __init__(self, parent, parent_iter: int, pending_enters: int):
        self.parent, self.parent_iter = parent, parent_iter
        self.depth = 0 if parent is None else parent.depth + 1
        self.iterations = {0: _Iteration()}
        self.count = 0  # the newest iteration started
        self.invariants: list = []  # [(Enter node, outputs, dead)] delivered to every iteration
        self.pending_enters = pending_enters
        self.dead_exits: list = []  # Exit nodes dead in iteration `count`
        self.children: dict = {}


class DataflowPlan:
    """A pruned graph with control flow, ready to run (see module docstring).

    Args:
        needed: the ops to run (already pruned to what fetches and targets need).
        fetches: the fetched tensors, in result order.
        feeds: the fed tensors, in the order ``run`` gets their values.
        store: the session's variable store (for stateful kernels).
    """

    def __init__(self, needed, fetches, feeds, store):
        ops = sorted(needed, key=lambda op: op._id)
        self._nodes = {op: _Node(op, kernel_setup(op, store)) for op in ops}
        feed_index = {t: k for k, t in enumerate(feeds)}
        self._feed_edges = [[] for _ in feeds]
        self._enters: dict = {}
        for op, node in self._nodes.items():
            self._wire(op, node, feed_index)
        self._sources = [n for n in self._nodes.values() if n.pending0 == 0 and n.kind != _MERGE]
        self._fetch_names = [t.name for t in fetches]
        self._fed_fetches = []
        for position, t in enumerate(fetches):
            if t in feed_index:
                self._fed_fetches.append((position, feed_index[t]))
            else:
                self._nodes[t.op].fetches.append((t._value_index, position))

    def _wire(self, op, node, feed_index) -> None:
        for i, t in enumerate(op._inputs):
            if t in feed_index:
                self._feed_edges[feed_index[t]].append((node, i))
            else:
                self._nodes[t.op].out_edges[t._value_index].append((node, i))
        controls = [c for c in op._control_inputs if c in self._nodes]
        for c in controls:
            self._nodes[c].control_out.append(node)
        # A Merge waits for all control inputs and one live data input (bit 0), as TF counts it.
        node.pending0 = 1 + 2 * len(controls) if node.kind == _MERGE else node.n_inputs + len(controls)
        if node.kind == _ENTER:
            self._enters[node.frame_name] = self._enters.get(node.frame_name, 0) + 1

    def run(self, feed_values) -> list:
        """Runs the plan once; returns the fetched values in fetch order.

        Raises:
            InvalidArgumentError: a fetched tensor is dead, or inside a loop.
            OpError subclasses: from the kernels.
        """
        return _Run(self).execute(feed_values)


class _Run:
    """The state of one ``DataflowPlan.run``: frames, the ready queue, fetched values."""

    def __init__(self, plan: DataflowPlan):
        self.plan = plan
        self.ready: deque = deque()
        self.results = [_MISSING] * len(plan._fetch_names)
        self.fetched_in_loop: set = set()
        self.root = _Frame(None, 0, 0)

    def execute(self, feed_values) -> list:
        plan, root = self.plan, self.root
        for position, k in plan._fed_fetches:
            self.results[position] = feed_values[k]
        for edges, value in zip(plan._feed_edges, feed_values):
            for dst, slot in edges:
                self._deliver(dst, slot, value, None, root, 0)
        self.ready.extend((node, root, 0, False) for node in plan._sources)
        while True:
            while self.ready:
                self._process(*self.ready.popleft())
            if not self._flush_dead_exits():
                break
        return self._fetched()

    # -- running one node ------------------------------------------------------------------
    def _process(self, node: _Node, frame: _Frame, it: int, dead: bool) -> None:
        inputs = frame.iterations[it].inputs.pop(node, None)
        outputs = None if dead else self._compute(node, inputs)
        kind = node.kind
        if kind == _ENTER:
            child = self._child(frame, it, node.frame_name)
            child.pending_enters -= 1
            if node.is_constant:
                child.invariants.append((node, outputs, dead))
                for i in range(child.count + 1):
                    self._propagate(node, child, i, outputs, dead)
            else:
                self._propagate(node, child, 0, outputs, dead)
        elif kind == _EXIT:
            if not dead:
                self._propagate(node, frame.parent, frame.parent_iter, outputs, False)
            elif it == frame.count:
                frame.dead_exits.append(node)
        elif kind == _NEXT:
            if not dead:
                nxt = it + 1
                if nxt > frame.count:
                    self._start_iteration(frame, nxt)
                self._propagate(node, frame, nxt, outputs, False)
        else:
            self._propagate(node, frame, it, outputs, dead)

    def _compute(self, node: _Node, inputs) -> list:
        setup = node.setup
        if setup.const is not None:
            return [setup.const]
        args = inputs if inputs is not None else []
        if setup.deref is not None:
            args = [a.read() if d and a is not DEAD else a for a, d in zip(args, setup.deref)]
        out = call_kernel(node.op, setup.kernel, setup.attrs, setup.ctx, args)
        n = node.n_outputs
        return [out] if n == 1 else list(out) if n else []

    # -- frames -------------------------------------------------------------------------------
    def _child(self, frame: _Frame, it: int, name: bytes) -> _Frame:
        key = (it, name)
        child = frame.children.get(key)
        if child is None:
            child = frame.children[key] = _Frame(frame, it, self.plan._enters[name])
        return child

    def _start_iteration(self, frame: _Frame, it: int) -> None:
        frame.count = it
        frame.iterations[it] = _Iteration()
        frame.dead_exits.clear()
        for node, outputs, dead in frame.invariants:
            self._propagate(node, frame, it, outputs, dead)

    def _flush_dead_exits(self) -> bool:
        """Nothing is ready: loops that ended with dead exits pass the deadness to their parent frame."""
        done = [f for f in self._frames() if f.dead_exits and f.pending_enters == 0]
        if not done:
            return False
        frame = max(done, key=lambda f: f.depth)
        exits, frame.dead_exits = frame.dead_exits, []
        for node in exits:
            self._propagate(node, frame.parent, frame.parent_iter, None, True)
        return True

    def _frames(self):
        stack = [self.root]
        while stack:
            frame = stack.pop()
            yield frame
            stack.extend(frame.children.values())

    # -- delivering values -----------------------------------------------------------------------
    def _propagate(self, node: _Node, frame: _Frame, it: int, outputs, dead: bool) -> None:
        if frame is self.root:
            for k, position in node.fetches:
                self.results[position] = DEAD if dead else outputs[k]
        elif node.fetches:
            self.fetched_in_loop.update(position for _, position in node.fetches)
        for k, edges in enumerate(node.out_edges):
            value = DEAD if dead else outputs[k]
            for dst, slot in edges:
                self._deliver(dst, slot, value, node, frame, it)
        for dst in node.control_out:
            self._deliver_control(dst, dead, frame, it)

    def _deliver(self, dst: _Node, slot: int, value, src, frame: _Frame, it: int) -> None:
        state = frame.iterations.get(it)
        if state is None:
            state = frame.iterations[it] = _Iteration()
        pending = state.pending.get(dst, dst.pending0)
        if dst.kind == _MERGE:
            if value is DEAD:
                n_dead = state.dead[dst] = state.dead.get(dst, 0) + 1
                all_dead = n_dead == dst.n_inputs or (src is not None and src.kind == _ENTER)
                if pending == 1 and all_dead:
                    self.ready.append((dst, frame, it, True))
            elif pending & 1:
                # The first live input is the one the Merge forwards; later ones are dropped.
                state.pending[dst] = pending - 1
                inputs = [DEAD] * dst.n_inputs
                inputs[slot] = value
                state.inputs[dst] = inputs
                if pending == 1:
                    self.ready.append((dst, frame, it, False))
            return
        inputs = state.inputs.get(dst)
        if inputs is None:
            inputs = state.inputs[dst] = [None] * dst.n_inputs
        inputs[slot] = value
        if value is DEAD:
            state.dead[dst] = state.dead.get(dst, 0) + 1
        self._count_down(dst, state, pending, frame, it)

    def _deliver_control(self, dst: _Node, dead: bool, frame: _Frame, it: int) -> None:
        state = frame.iterations.get(it)
        if state is None:
            state = frame.iterations[it] = _Iteration()
        pending = state.pending.get(dst, dst.pending0)
        if dst.kind == _MERGE:
            # A Merge ignores the deadness of control inputs, as TF's executor does.
            pending = state.pending[dst] = pending - 2
            all_dead = state.dead.get(dst, 0) == dst.n_inputs
            if pending == 0 or (pending == 1 and all_dead):
                self.ready.append((dst, frame, it, pending == 1))
            return
        if dead:
            state.dead[dst] = state.dead.get(dst, 0) + 1
        self._count_down(dst, state, pending, frame, it)

    def _count_down(self, dst: _Node, state: _Iteration, pending: int, frame: _Frame, it: int) -> None:
        pending -= 1
        state.pending[dst] = pending
        if pending == 0:
            dead = dst in state.dead and dst.kind != _TRIGGER
            self.ready.append((dst, frame, it, dead))

    # -- results ------------------------------------------------------------------------------------
    def _fetched(self) -> list:
        out = []
        for position, value in enumerate(self.results):
            name = self.plan._fetch_names[position]
            if value is DEAD:
                raise errors.InvalidArgumentError(
                    f"Retval[{position}] does not have value: the fetched tensor {name} is dead (it depends on "
                    "the untaken output of a Switch, e.g. the other branch of a tf.cond)")  # fmt: skip
            if value is _MISSING:
                if position in self.fetched_in_loop:
                    raise errors.InvalidArgumentError(
                        f"Fetch {name} is computed inside a while loop; fetch the loop's Exit outputs instead")
                raise errors.InvalidArgumentError(
                    f"Fetch {name} was never computed: its inputs never all arrived (a malformed loop?)")
            out.append(value.read() if isinstance(value, VariableRef) else value)
        return out
