"""The dataflow graph: ``Graph`` and the default-graph stack (``Operation`` and ``Tensor`` have their own modules).

A ``Graph`` owns its operations in creation order, hands out unique names
(TF's rule: case-insensitive, ``x``, ``x_1``, ``x_2`` ...), keeps the name
scope, control-dependency, device and colocation stacks, and named
collections (``graph_collections.py``). It creates ops only by type name
through the registry; it never imports the op library. ``GraphDef``
conversion lives here (export) and in ``importer.py`` (import).
"""

from __future__ import annotations

import contextlib
import re
import threading

from nanotf import errors
from nanotf.framework import device as device_lib
from nanotf.framework import op_signature
from nanotf.framework import registry
from nanotf.framework import tensor_shape
from nanotf.framework.attr_value import to_attr_value
from nanotf.framework.graph_collections import Collections
from nanotf.framework.graph_keys import GraphKeys
from nanotf.framework.operation import Operation
from nanotf.framework.tensor import Tensor
from nanotf.protos import graph_pb2

__all__ = ["Graph", "GraphKeys", "Operation", "Tensor", "add_to_collection", "add_to_collections", "colocate_with",
           "control_dependencies", "device", "get_collection", "get_collection_ref", "get_default_graph",
           "name_scope", "reset_default_graph"]

GRAPH_DEF_PRODUCER = 2474  # TF 2.21's versions.producer


_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")


class _ControlDependencies:
    """One ``control_dependencies`` block: its control ops and the ops created inside."""

    def __init__(self, control_ops):
        self.control_ops = list(control_ops)
        self.created: set[Operation] = set()


class Graph(Collections):
    """A TensorFlow graph (``tf.Graph``)."""

    def __init__(self):
        super().__init__()
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[_ControlDependencies] = []
        self._device_stack: list[str] = []
        self._colocation_stack: list[Operation] = []
        self._finalized = False
        self._version = 0
        self.seed = None
        self._seed_offset = 0  # op seeds handed to random ops with only a graph-level seed
        self._attr_scope: dict[str, graph_pb2.AttrValue] = {}
        # The cond branch or while loop being built; it sees every new op (ops/control_flow_context.py).
        self._control_flow_context = None
        # OpDefs of op types nanotf does not register, carried from imported meta graphs (see importer.py).
        self._unregistered_op_defs: dict[str, graph_pb2.OpDef] = {}
        self._lock = threading.RLock()

    # -- naming -----------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """``name`` under the current scope, made unique TF's way (``x``, ``x_1``, ...).

        Names are compared case-insensitively, so ``add`` after ``Add`` is ``add_1``.
        """
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Opens a name scope; yields the scope string ending in '/' (or '' at root).

        ``name`` ending in '/' re-enters that exact scope; None or '' goes to
        the root; otherwise the scope is ``unique_name(name)``.
        """
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield new + "/" if new else ""
        finally:
            self._name_stack = old

    # -- lookups ----------------------------------------------------------
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        """The op called ``name``; raises KeyError/ValueError as TF does."""
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings (or similar), not {type(name).__name__}.")
        if ":" in name:
            raise ValueError(f"Name '{name}' appears to refer to a Tensor, not an Operation.")
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        """The tensor ``"op:k"``; raises KeyError/ValueError as TF does."""
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        op_name, sep, index = name.rpartition(":")
        if not sep or not index.isdigit():
            raise ValueError(
                f"The name '{name}' looks a like an Operation name, not a Tensor. "
                "Tensor names must be of the form \"<op_name>:<output_index>\"."
            )
        op = self._by_name.get(op_name)
        if op is None:
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. "
                           f"The operation, '{op_name}', does not exist in the graph.")
        k = int(index)
        if k >= len(op._outputs):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. "
                           f"The operation, '{op_name}', exists but only has {len(op._outputs)} outputs.")
        return op._outputs[k]

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolves a Tensor, Operation or name in this graph (what ``Session.run`` fetches)."""
        if hasattr(obj, "_as_graph_element") and not isinstance(obj, (Tensor, Operation)):
            obj = obj._as_graph_element()
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                return self.get_tensor_by_name(obj)
            if ":" not in obj and allow_operation:
                return self.get_operation_by_name(obj)
            kind = "Tensor" if allow_tensor else "Operation"
            raise ValueError(f"Can not convert a str '{obj}' into a {kind}.")
        if isinstance(obj, Tensor) and allow_tensor or isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"{obj} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a graph element.")

    @property
    def version(self) -> int:
        return self._version

    @property
    def finalized(self) -> bool:
        return self._finalized

    def finalize(self) -> None:
        self._finalized = True

    # -- op creation ------------------------------------------------------
    def create_op(self, op_type, inputs, dtypes=None, input_types=None, name=None, attrs=None, op_def=None,
                  compute_shapes=True, compute_device=True):  # fmt: skip
        """Creates an op from flat inputs and (complete) attrs (TF's low-level ``create_op``)."""
        del dtypes, input_types, op_def, compute_shapes, compute_device
        return self._create_op(op_type, inputs, attrs or {}, name or op_type)

    def _create_op(self, op_type: str, inputs, attrs: dict, name: str, control_inputs=(), device=None):
        """Creates and registers an op.

        Args:
            op_type: a registered op type.
            inputs: the flat list of input Tensors.
            attrs: attr name -> AttrValue or Python value; attrs the OpDef
                declares but ``attrs`` omits get the OpDef default.
            name: the op name; made unique under the current scope unless it
                ends in '/' (an exact scope name, as TF).
            control_inputs: extra control inputs (besides the active
                ``control_dependencies`` blocks).
            device: an explicit device; by default the device scope's.

        Returns:
            The new ``Operation``.
        """
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        reg = registry.get(op_type)
        full_attrs = op_signature.complete_attrs(reg, attrs, name)
        name = name[:-1] if name.endswith("/") else self.unique_name(name)
        out_dtypes = op_signature.output_dtypes(reg.op_def, full_attrs, name)
        for key, value in self._attr_scope.items():
            full_attrs.setdefault(key, value)
        colocate = (self._colocation_stack[-1] if self._colocation_stack
                    else op_signature.ref_input_op(reg.op_def, inputs))
        if colocate is not None and "_class" not in attrs:
            full_attrs["_class"] = to_attr_value(colocate.colocation_groups(), "list(string)")
        controls = list(control_inputs) + self._current_control_dependencies(inputs)
        dev = device if device is not None else device_lib.merge_stack(self._device_stack)
        op = self._add_op(Operation(self, name, op_type, inputs, full_attrs, [], dev, reg, out_dtypes), controls)
        if reg.shape is not None:
            for t, shape in zip(op._outputs, reg.shape(op)):
                t._shape = tensor_shape.as_shape(shape)
        if self._control_flow_context is not None:
            self._control_flow_context.add_op(op)
        return op

    def _add_op(self, op: Operation, control_inputs) -> Operation:
        """Enters a new ``op`` (named, attrs complete) into the graph: its name, consumers and control edges.

        ``_create_op`` builds ops of registered types; the importer also adds
        ops of types nanotf does not register, which have no OpDef to build from.

        Raises:
            RuntimeError: if the graph is finalized.
            ValueError: if the op's name is not a valid node name.
        """
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        if not _VALID_OP_NAME.match(op._name):
            raise ValueError(f"'{op._name}' is not a valid node name")
        with self._lock:
            op._add_control_inputs(control_inputs)
            self._ops.append(op)
            self._by_name[op._name] = op
            self._names_in_use.setdefault(op._name.lower(), 1)
            self._version += 1
            for t in op._inputs:
                t.op._consumers.append(op)
            for block in self._control_stack:
                block.created.add(op)
        return op

    def _current_control_dependencies(self, inputs) -> list[Operation]:
        input_ops = {t.op for t in inputs}
        result = []
        for block in self._control_stack:
            # An op fed by an op created in the same block already depends on its controls.
            if any(op in block.created for op in input_ops):
                continue
            result.extend(c for c in block.control_ops if c not in input_ops and c not in result)
        return result

    # -- context managers -------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        """Makes this the default graph inside the ``with`` block."""
        _stack().append(self)
        try:
            yield self
        finally:
            _stack().remove(self) if _stack()[-1] is not self else _stack().pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside depend on ``control_inputs`` (None clears the stack and the cond/while context)."""
        if control_inputs is None:
            # As TF, this also leaves any cond/while context: ops made here are outside it.
            saved = self._control_stack, self._control_flow_context
            self._control_stack, self._control_flow_context = [], None
            try:
                yield
            finally:
                self._control_stack, self._control_flow_context = saved
            return
        ops = []
        for c in control_inputs:
            if hasattr(c, "_as_graph_element") and not isinstance(c, (Tensor, Operation)):
                c = c._as_graph_element()
            c = self.as_graph_element(c)
            ops.append(c.op if isinstance(c, Tensor) else c)
        for op in ops:
            # TF marks every op used as a manual control dependency (visible in GraphDefs).
            op._attrs["_has_manual_control_dependencies"] = to_attr_value(True, "bool")
        self._control_stack.append(_ControlDependencies(ops))
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Records ``device`` on ops created inside (canonicalised, nested specs merge)."""
        if callable(device_name_or_function):
            raise errors.UnimplementedError("device functions are not supported by nanotf; pass a device string")
        self._device_stack.append(device_name_or_function or "")
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Ops created inside get ``_class: ["loc:@<op>"]`` (TF's colocation attr)."""
        del ignore_existing
        if op is None:
            saved, self._colocation_stack = self._colocation_stack, []
            try:
                yield
            finally:
                self._colocation_stack = saved
            return
        if isinstance(op, Tensor):
            op = op.op
        elif hasattr(op, "op") and not isinstance(op, Operation):
            op = op.op
        self._colocation_stack.append(op)
        try:
            yield
        finally:
            self._colocation_stack.pop()

    @contextlib.contextmanager
    def _attr_scope_ctx(self, attrs: dict):
        saved = dict(self._attr_scope)
        self._attr_scope.update(attrs)
        try:
            yield
        finally:
            self._attr_scope = saved

    # -- serialization ----------------------------------------------------
    def as_graph_def(self, from_version=None, add_shapes=False) -> graph_pb2.GraphDef:
        """The ``GraphDef`` of this graph, nodes in creation order.

        As TF's ``Graph::ToGraphDef``, each node lists its control inputs
        sorted by name, after its data inputs.

        Args:
            from_version: only ops created after this version (TF semantics
                approximated by op index).
            add_shapes: add ``_output_shapes`` to every node with outputs (as
                meta graphs do).
        """
        gd = graph_pb2.GraphDef()
        gd.versions.producer = GRAPH_DEF_PRODUCER
        start = from_version or 0
        for op in self._ops[start:] if from_version else self._ops:
            node = gd.node.add()
            node.CopyFrom(op._to_node_def(sorted(op._control_inputs, key=lambda c: c._name)))
            if add_shapes and op._outputs:
                shapes = [t._shape for t in op._outputs]
                node.attr["_output_shapes"].CopyFrom(to_attr_value(shapes, "list(shape)"))
        return gd

    @property
    def graph_def_versions(self) -> graph_pb2.VersionDef:
        return graph_pb2.VersionDef(producer=GRAPH_DEF_PRODUCER)

    def __contains__(self, name):
        return name in self._by_name


# -- the default graph ------------------------------------------------------
_local = threading.local()
_global_default_graph: Graph | None = None


def _stack() -> list:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def get_default_graph() -> Graph:
    """The innermost ``as_default`` graph, else the global default graph."""
    stack = _stack()
    if stack:
        return stack[-1]
    global _global_default_graph
    if _global_default_graph is None:
        _global_default_graph = Graph()
    return _global_default_graph


def reset_default_graph() -> None:
    """Replaces the global default graph by a new empty one.

    Raises:
        AssertionError: inside a ``Graph.as_default()`` block, as TF.
    """
    if _stack():
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
    global _global_default_graph
    _global_default_graph = Graph()


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """TF1 ``tf.name_scope(name, default_name=None, values=None)``; yields the scope string."""
    graph = get_default_graph()
    for v in values or ():
        g = getattr(v, "graph", None)
        if isinstance(g, Graph):
            graph = g
            break
    if name is None and default_name is None and values is None:
        name = ""
    with graph.as_default() if graph is not get_default_graph() else contextlib.nullcontext():
        with graph.name_scope(name if name is not None else default_name) as scope:
            yield scope


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    return get_default_graph().device(device_name_or_function)


def colocate_with(op, ignore_existing=False):
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value) -> None:
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value) -> None:
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None) -> list:
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key) -> list:
    return get_default_graph().get_collection_ref(key)
