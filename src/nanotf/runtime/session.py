"""``Session`` and ``InteractiveSession``: feeds, fetch structures, per-session variables.

``run`` resolves fetches (Tensors, Operations, names, variables, nested
lists/tuples/dicts/namedtuples) to graph elements, converts feeds to the fed
tensor's dtype and checks their shapes, then runs a cached ``Plan``; results
come back in the fetch structure, as NumPy arrays (0-d as NumPy scalars, as
TensorFlow returns them), ops as None. Before a plan is built, the ops it
would need are checked against the op types nanotf implements (an imported
graph may contain others), so such a run fails before anything executes.
"""

from __future__ import annotations

import contextlib

import numpy as np


from nanotf.framework import op_support
from nanotf.framework import session_hook
from nanotf.framework import tensor_util
from nanotf.framework.graph import Graph
from nanotf.framework.graph import Operation
from nanotf.framework.graph import Tensor
from nanotf.framework.graph import get_default_graph
from nanotf.runtime.executor import Executor
from nanotf.runtime.variable_store import VariableStore

__all__ = ["Session", "InteractiveSession", "get_default_session"]

get_default_session = session_hook.get_default_session


class _FetchMapper:
    """Flattens a fetch structure to unique graph elements and rebuilds results."""

    def __init__(self, graph: Graph, fetches):
        self.elements: list = []
        self._index: dict = {}
        self.structure = self._flatten(graph, fetches)

    def _add(self, element) -> int:
        i = self._index.get(element)
        if i is None:
            i = self._index[element] = len(self.elements)
            self.elements.append(element)
        return i

    def _flatten(self, graph, fetch):
        if fetch is None:
            raise TypeError(f"Fetch argument None has invalid type {type(None)}")
        if isinstance(fetch, (list, tuple)) and not isinstance(fetch, Tensor):
            items = [self._flatten(graph, f) for f in fetch]
            if hasattr(fetch, "_fields"):
                return ("namedtuple", type(fetch), items)
            return ("list" if isinstance(fetch, list) else "tuple", None, items)
        if isinstance(fetch, dict):
            return ("dict", type(fetch), [(k, self._flatten(graph, v)) for k, v in fetch.items()])
        if not isinstance(fetch, (Tensor, Operation, str)) and hasattr(fetch, "_as_graph_element"):
            fetch = fetch._as_graph_element()
        try:
            element = graph.as_graph_element(fetch)
        except (KeyError, ValueError) as err:
            raise type(err)(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor. ({err})") from None
        except TypeError as err:
            raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}. ({err})") from None
        return ("leaf", None, self._add(element))

    def build(self, values, node=None):
        kind, cls, payload = node or self.structure
        if kind == "leaf":
            return values[payload]
        if kind == "list":
            return [self.build(values, n) for n in payload]
        if kind == "tuple":
            return tuple(self.build(values, n) for n in payload)
        if kind == "namedtuple":
            return cls(*[self.build(values, n) for n in payload])
        out = cls()
        for k, n in payload:
            out[k] = self.build(values, n)
        return out


def _to_result(value):
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
        return value if value.flags.writeable else value.copy()
    return value


class Session:
    """A TF1 session over a graph (``tf.Session(target='', graph=None, config=None)``)."""

    def __init__(self, target="", graph=None, config=None):
        del target, config
        self._graph = graph if graph is not None else get_default_graph()
        self._store = VariableStore()
        self._executor = Executor(self._graph, self._store)
        self._plans: dict = {}
        self._closed = False
        self._context_stack: list = []

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    @property
    def variable_store(self) -> VariableStore:
        """This session's variable state (see runtime/variable_store.py)."""
        return self._store

    @property
    def sess_str(self) -> str:
        return ""

    def list_devices(self) -> list:
        return []

    # -- running ----------------------------------------------------------
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs the graph to compute ``fetches``.

        Args:
            fetches: a graph element (Tensor, Operation, "name:0", "op_name",
                variable) or a nested list/tuple/namedtuple/dict of them.
            feed_dict: {Tensor or "name:0": value}; values are converted to
                the tensor's dtype and must fit its static shape.
            options, run_metadata: accepted for compatibility and ignored.

        Returns:
            The fetched values in the structure of ``fetches``.

        Raises:
            RuntimeError: if the session is closed.
            ValueError / TypeError: for bad fetches or feeds, as TF.
            UnregisteredOpError: if the fetches need nodes of op types nanotf
                does not implement (listed per fetch); nothing has run then.
            OpError subclasses: from the kernels (e.g. FailedPreconditionError
                for an uninitialised variable).
        """
        del options, run_metadata
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        mapper = _FetchMapper(self._graph, fetches)
        feed_tensors, feed_values = self._feeds(feed_dict)
        tensors = tuple(e for e in mapper.elements if isinstance(e, Tensor))
        targets = tuple(e for e in mapper.elements if isinstance(e, Operation))
        key = (tensors, targets, tuple(feed_tensors), self._graph._version)
        plan = self._plans.get(key)
        if plan is None:
            op_support.check_runnable(mapper.elements, feed_tensors)
            plan = self._plans[key] = self._executor.plan(tensors, targets, feed_tensors)
        fetched = iter(self._executor.run(plan, feed_values))
        values = [None if isinstance(e, Operation) else _to_result(next(fetched)) for e in mapper.elements]
        return mapper.build(values)

    def _feeds(self, feed_dict):
        tensors, values = [], []
        for key, value in (feed_dict or {}).items():
            if not isinstance(key, (Tensor, str)) and hasattr(key, "_as_graph_element"):
                key = key._as_graph_element()
            try:
                tensor = self._graph.as_graph_element(key, allow_operation=False)
            except (KeyError, ValueError, TypeError) as err:
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {err}") from None
            if isinstance(value, Tensor):
                raise TypeError(
                    "The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                    "Python scalars, strings, lists, numpy ndarrays, or TensorHandles."
                )
            # None: an output of an imported op nanotf does not register; TF's default types apply.
            dtype = tensor.dtype.base_dtype if tensor.dtype is not None else None
            try:
                array = tensor_util.to_numpy(value, dtype)
            except TypeError as err:
                raise TypeError(f"Cannot feed value for Tensor '{tensor.name}': {err}") from None
            if not tensor.shape.is_compatible_with(array.shape):
                raise ValueError(
                    f"Cannot feed value of shape {array.shape} for Tensor {tensor.name}, "
                    f"which has shape {tensor.shape}"
                )
            tensors.append(tensor)
            values.append(array)
        return tensors, values

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running ``fetches`` with positional values for ``feed_list``."""
        feed_list = list(feed_list or [])

        def call(*args, **kwargs):
            return self.run(fetches, dict(zip(feed_list, args)))

        return call

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        """Releases this session's variables; later ``run`` calls raise RuntimeError."""
        self._closed = True
        self._plans.clear()

    @contextlib.contextmanager
    def as_default(self):
        """Makes this the default session (for ``Tensor.eval``/``Operation.run``)."""
        session_hook.push(self)
        try:
            yield self
        finally:
            session_hook.pop(self)

    def __enter__(self):
        stack = contextlib.ExitStack()
        stack.enter_context(self._graph.as_default())
        stack.enter_context(self.as_default())
        self._context_stack.append(stack)
        return self

    def __exit__(self, exc_type, exc, tb):
        self._context_stack.pop().close()
        self.close()

    def __del__(self):
        self._closed = True


class InteractiveSession(Session):
    """A session that installs itself (and its graph) as the default on creation."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._interactive = contextlib.ExitStack()
        self._interactive.enter_context(self._graph.as_default())
        self._interactive.enter_context(self.as_default())

    def close(self) -> None:
        if not self._closed:
            self._interactive.close()
        super().close()


