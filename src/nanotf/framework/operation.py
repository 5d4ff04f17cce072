"""``Operation``: one node of a graph, its attrs, inputs and outputs.

Operations are made by ``Graph._create_op`` (never directly) and know their
registration, so ``op_def`` and shape functions come from the registry. An op
imported from a GraphDef whose type nanotf does not register has no
registration: it keeps its NodeDef's attrs as they were, its ``op_def`` is the
one its meta graph carried, if any, and an output whose dtype the import could
not work out has dtype None (see importer.py).
"""

from __future__ import annotations

from nanotf.framework import device as device_lib
from nanotf.framework.attr_value import from_attr_value
from nanotf.framework.attr_value import to_attr_value
from nanotf.framework.tensor import Tensor
from nanotf.protos import graph_pb2

__all__ = ["Operation"]


class Operation:
    """A node of the graph: a typed op with inputs, attrs and outputs.

    Created by ``Graph.create_op`` / the op library, never directly.
    """

    def __init__(self, graph, name, op_type, inputs, attrs, control_inputs, device, reg, output_dtypes):
        self._graph = graph
        self._name = name
        self._type = op_type
        self._inputs = list(inputs)
        self._attrs: dict[str, graph_pb2.AttrValue] = attrs
        self._control_inputs = list(control_inputs)
        self._device = device
        self._reg = reg
        self._id = len(graph._ops)
        self._outputs = [Tensor(self, i, dt) for i, dt in enumerate(output_dtypes)]
        self._consumers: list[Operation] = []
        self._control_outputs: list[Operation] = []

    # -- identity ---------------------------------------------------------
    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    graph = property(lambda self: self._graph)
    device = property(lambda self: self._device)
    outputs = property(lambda self: list(self._outputs))
    inputs = property(lambda self: list(self._inputs))
    control_inputs = property(lambda self: list(self._control_inputs))

    @property
    def op_def(self):
        """The ``OpDef`` of this op's type; None for an unregistered type whose import carried none."""
        if self._reg is not None:
            return self._reg.op_def
        return self._graph._unregistered_op_defs.get(self._type)

    def values(self):
        return tuple(self._outputs)

    def _set_device(self, device_name: str) -> None:
        self._device = device_lib.canonical_name(device_name)

    def colocation_groups(self) -> list[bytes]:
        cls = self._attrs.get("_class")
        if cls is not None and cls.list.s:
            return list(cls.list.s)
        return [b"loc:@" + self._name.encode()]

    # -- attrs ------------------------------------------------------------
    def get_attr(self, name: str):
        """The Python value of attr ``name`` (``DType``, int, bytes, list, ...).

        Raises:
            ValueError: if the op has no such attr.
        """
        try:
            return from_attr_value(self._attrs[name])
        except KeyError:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.") from None

    def _set_attr(self, name: str, value, attr_type: str | None = None) -> None:
        """Sets attr ``name``; ``value`` is an ``AttrValue`` or a Python value of ``attr_type``."""
        self._attrs[name] = to_attr_value(value, attr_type) if attr_type else value

    @property
    def node_def(self) -> graph_pb2.NodeDef:
        """This op's NodeDef, control inputs in the order they were added (as TF's ``op.node_def``)."""
        return self._to_node_def(self._control_inputs)

    def _to_node_def(self, control_inputs) -> graph_pb2.NodeDef:
        node = graph_pb2.NodeDef(name=self._name, op=self._type, device=self._device)
        node.input.extend(t._as_node_def_input() for t in self._inputs)
        node.input.extend("^" + c._name for c in control_inputs)
        for key, value in self._attrs.items():
            node.attr[key].CopyFrom(value)
        return node

    # -- graph edits ------------------------------------------------------
    def _add_control_input(self, op: Operation) -> None:
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            op._control_outputs.append(self)
            self._graph._version += 1

    def _add_control_inputs(self, ops) -> None:
        for op in ops:
            self._add_control_input(op)

    # -- running ----------------------------------------------------------
    def run(self, feed_dict=None, session=None) -> None:
        """Runs this op in ``session`` (default: the default session)."""
        from nanotf.framework import session_hook

        session_hook.run_in_default_session([self], feed_dict, self._graph, session)

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"
