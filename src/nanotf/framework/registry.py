"""The op registry: one ``OpRegistration`` per TensorFlow op type.

A registration states the op's signature in TensorFlow's REGISTER_OP spec
syntax, parsed once into the ``OpDef`` proto TensorFlow itself would report
(so ``op_def(name)`` is what goes into a meta graph's ``stripped_op_list``, and
its defaults fill missing attrs on import), together with

* ``shape``: abstract evaluation, ``fn(op) -> [TensorShape, ...]`` per output;
* ``kernel``: the NumPy implementation. Pure kernels are
  ``fn(attrs, *inputs) -> array | tuple``; kernels registered with
  ``uses_store=True`` are ``fn(ctx, attrs, *inputs)`` and reach per-session
  state (variables, random generators) through ``ctx`` (see runtime/executor);
* ``grad``: the gradient slot, filled by ``register_gradient`` (or
  ``NOT_DIFFERENTIABLE``).

Spec syntax (TensorFlow's): inputs/outputs ``"x: T"``, ``"values: N * T"``,
``"ref: Ref(T)"``, ``"shape: int32"``, ``"args: Tlist"`` (a ``list(type)`` attr);
attrs ``"T: type"``, ``"T: {float, double} = DT_FLOAT"``, ``"N: int >= 1"``,
``"padding: {'SAME', 'VALID'}"``, ``"shape: shape = { unknown_rank: true }"``,
``"dims: list(int) = []"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from google.protobuf import text_format

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.attr_value import to_attr_value
from nanotf.protos import graph_pb2

__all__ = [
    "OpRegistration",
    "register_op",
    "register_gradient",
    "NOT_DIFFERENTIABLE",
    "get",
    "lookup",
    "op_def",
    "registered_op_types",
]

# Marks ops that have no gradient (TF's ops.NotDifferentiable).
NOT_DIFFERENTIABLE = "not differentiable"


@dataclass
class OpRegistration:
    """Everything nanotf knows about one op type."""

    name: str
    op_def: graph_pb2.OpDef
    shape: Callable | None = None
    kernel: Callable | None = None
    uses_store: bool = False
    grad: Callable | str | None = None

    def attr_def(self, name: str) -> graph_pb2.OpDef.AttrDef | None:
        for a in self.op_def.attr:
            if a.name == name:
                return a
        return None


_REGISTRY: dict[str, OpRegistration] = {}


def _parse_type(text: str) -> int:
    # Both "float" and "DT_FLOAT" spellings, as TF's REGISTER_OP accepts.
    return dtypes.as_dtype(text.strip()).as_datatype_enum


_ATTR_RE = re.compile(r"^\s*(\w+)\s*:\s*(.+?)\s*(?:>=\s*(-?\d+)\s*)?$")
_DEFAULT_SEP = re.compile(r"(?<!>)=")


def _parse_attr(spec: str) -> graph_pb2.OpDef.AttrDef:
    # Split off the default first ("N: int >= 1 = 2"): a '=' not part of '>='.
    head, *rest = _DEFAULT_SEP.split(spec, maxsplit=1)
    sep, default = bool(rest), (rest[0] if rest else "")
    m = _ATTR_RE.match(head)
    if not m:
        raise ValueError(f"bad attr spec {spec!r}")
    name, type_text, minimum = m.group(1), m.group(2).strip(), m.group(3)
    attr = graph_pb2.OpDef.AttrDef(name=name)
    if type_text.startswith("{"):
        members = [t.strip() for t in type_text[1:-1].split(",")]
        if members[0][:1] in "'\"":
            attr.type = "string"
            attr.allowed_values.list.s.extend(t.strip("'\"").encode() for t in members)
        else:
            attr.type = "type"
            attr.allowed_values.list.type.extend(_parse_type(t) for t in members)
    else:
        attr.type = type_text
    if minimum is not None:
        attr.has_minimum = True
        attr.minimum = int(minimum)
    if sep:
        attr.default_value.CopyFrom(_parse_default(default.strip(), attr.type))
    return attr


def _parse_default(text: str, attr_type: str) -> graph_pb2.AttrValue:
    if attr_type == "shape" and text.startswith("{"):
        av = graph_pb2.AttrValue()
        text_format.Parse(text[1:-1], av.shape)
        av.shape.SetInParent()
        return av
    if attr_type == "tensor":
        av = graph_pb2.AttrValue()
        text_format.Parse(text[1:-1], av.tensor)
        return av
    if attr_type.startswith("list("):
        inner = text.strip()[1:-1].strip()
        items = [x.strip() for x in inner.split(",")] if inner else []
        kind = attr_type[5:-1]
        return to_attr_value([_parse_scalar(x, kind) for x in items], attr_type)
    return to_attr_value(_parse_scalar(text, attr_type), attr_type)


def _parse_scalar(text: str, kind: str):
    if kind == "type":
        return _parse_type(text)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "string":
        return text[1:-1]
    raise ValueError(f"cannot parse a default for attr type {kind!r}: {text!r}")


def _parse_arg(spec: str, attrs: dict[str, graph_pb2.OpDef.AttrDef]) -> graph_pb2.OpDef.ArgDef:
    name, _, type_text = (s.strip() for s in spec.partition(":"))
    arg = graph_pb2.OpDef.ArgDef(name=name)
    if "*" in type_text:
        number, _, type_text = (s.strip() for s in type_text.partition("*"))
        arg.number_attr = number
    if type_text.startswith("Ref(") and type_text.endswith(")"):
        arg.is_ref = True
        type_text = type_text[4:-1].strip()
    if type_text in attrs:
        if attrs[type_text].type == "list(type)":
            arg.type_list_attr = type_text
        else:
            arg.type_attr = type_text
    else:
        arg.type = _parse_type(type_text)
    return arg


def register_op(
    name: str,
    inputs=(),
    outputs=(),
    attrs=(),
    *,
    shape: Callable | None = None,
    kernel: Callable | None = None,
    uses_store: bool = False,
    grad: Callable | str | None = None,
    is_commutative: bool = False,
    is_aggregate: bool = False,
    is_stateful: bool = False,
    allows_uninitialized_input: bool = False,
    full_types: dict | None = None,
) -> OpRegistration:
    """Registers op type ``name``; see the module docstring for the spec syntax.

    Args:
        name: TensorFlow's op type name, e.g. ``"AddV2"``.
        inputs, outputs: arg specs in OpDef order.
        attrs: attr specs in OpDef order (order matters for OpDef equality).
        shape: the shape function, ``fn(op) -> list[TensorShape]``.
        kernel: the NumPy kernel (see module docstring).
        uses_store: the kernel takes a runtime context first.
        grad: the gradient function or ``NOT_DIFFERENTIABLE``.
        is_commutative, is_aggregate, is_stateful, allows_uninitialized_input:
            the OpDef flags.

    Returns:
        The registration (also stored in the registry).

    Raises:
        ValueError: if ``name`` is already registered or a spec is malformed.
    """
    if name in _REGISTRY:
        raise ValueError(f"op type {name!r} is registered twice")
    attr_defs = [_parse_attr(a) for a in attrs]
    by_name = {a.name: a for a in attr_defs}
    op_def = graph_pb2.OpDef(name=name)
    op_def.input_arg.extend(_parse_arg(a, by_name) for a in inputs)
    op_def.output_arg.extend(_parse_arg(a, by_name) for a in outputs)
    op_def.attr.extend(attr_defs)
    for arg in list(op_def.input_arg) + list(op_def.output_arg):
        if full_types and arg.name in full_types:
            text_format.Parse(full_types[arg.name], arg.experimental_full_type)
    op_def.is_commutative = is_commutative
    op_def.is_aggregate = is_aggregate
    op_def.is_stateful = is_stateful
    op_def.allows_uninitialized_input = allows_uninitialized_input
    reg = OpRegistration(name, op_def, shape, kernel, uses_store, grad)
    _REGISTRY[name] = reg
    return reg


def register_gradient(op_type: str):
    """Decorator filling the gradient slot of ``op_type`` (TF's ``RegisterGradient``)."""

    def wrap(fn):
        get(op_type).grad = fn
        return fn

    return wrap


def lookup(op_type: str) -> OpRegistration | None:
    """The registration of ``op_type``, or None if nanotf does not know it."""
    return _REGISTRY.get(op_type)


def get(op_type: str) -> OpRegistration:
    """The registration of ``op_type``.

    Raises:
        NotFoundError: if the op type is not registered.
    """
    reg = _REGISTRY.get(op_type)
    if reg is None:
        raise errors.NotFoundError(
            f"Op type not registered '{op_type}' in nanotf; "
            "it may come from a newer TensorFlow or a custom op library"
        )
    return reg


def op_def(op_type: str) -> graph_pb2.OpDef:
    """The ``OpDef`` TensorFlow would list in ``stripped_op_list`` for ``op_type``."""
    return get(op_type).op_def


def registered_op_types() -> list[str]:
    """All registered op type names, sorted."""
    return sorted(_REGISTRY)
