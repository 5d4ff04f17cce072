"""What an op's registered ``OpDef`` says about a node being created.

``Graph._create_op`` asks three things of it: every attr (defaults filled,
Python values encoded), the dtype of every output, and, for an op with a
ref input, the op it must be colocated with.
"""

from __future__ import annotations

from nanotf.framework import dtypes
from nanotf.framework.attr_value import to_attr_value
from nanotf.protos import graph_pb2

__all__ = ["complete_attrs", "output_dtypes", "ref_input_op"]


def ref_input_op(op_def, inputs):
    """The op a new op is colocated with for its ref input, or None.

    TF colocates an op that takes a ref input with that input's op (an
    ``Assign`` with its variable).
    """
    if any(arg.is_ref for arg in op_def.input_arg):
        for t in inputs:
            if t.dtype.is_ref_dtype:
                return t.op
    return None


def complete_attrs(reg, attrs: dict, op_name: str) -> dict:
    """Attr name -> AttrValue, with OpDef defaults filled and Python values encoded."""
    out = {}
    for attr_def in reg.op_def.attr:
        if attr_def.name in attrs:
            out[attr_def.name] = to_attr_value(attrs[attr_def.name], attr_def.type)
        elif attr_def.HasField("default_value"):
            out[attr_def.name] = attr_def.default_value
        else:
            raise ValueError(f"No attr named '{attr_def.name}' given for {reg.name} op '{op_name}'")
    for key, value in attrs.items():
        if key not in out:
            if not isinstance(value, graph_pb2.AttrValue):
                raise ValueError(f"{reg.name} op '{op_name}' has no attr '{key}'")
            out[key] = value
    return out


def output_dtypes(op_def, attrs: dict, op_name: str) -> list:
    """The dtype of each output, from the OpDef's output args and the op's complete attrs."""
    out = []
    for arg in op_def.output_arg:
        if arg.type_list_attr:
            types = [dtypes.as_dtype(t) for t in attrs[arg.type_list_attr].list.type]
        else:
            base = dtypes.as_dtype(attrs[arg.type_attr].type if arg.type_attr else arg.type)
            n = attrs[arg.number_attr].i if arg.number_attr else 1
            types = [base] * n
        out.extend(t._as_ref if arg.is_ref else t for t in types)
    return out
