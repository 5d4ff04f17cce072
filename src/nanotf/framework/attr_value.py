"""Python values <-> ``AttrValue`` protos, driven by the attr's OpDef type.

The attr type strings are TensorFlow's: ``type``, ``int``, ``float``, ``bool``,
``string``, ``shape``, ``tensor``, ``func`` and ``list(...)`` of each.
"""

from __future__ import annotations

from nanotf.framework import dtypes
from nanotf.framework import tensor_shape
from nanotf.framework import tensor_util
from nanotf.protos import graph_pb2

__all__ = ["to_attr_value", "from_attr_value"]


def _scalar(av: graph_pb2.AttrValue, kind: str, value) -> None:
    if kind == "type":
        av.type = dtypes.as_dtype(value).as_datatype_enum
    elif kind == "int":
        av.i = int(value)
    elif kind == "float":
        av.f = float(value)
    elif kind == "bool":
        av.b = bool(value)
    elif kind == "string":
        av.s = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    elif kind == "shape":
        av.shape.CopyFrom(tensor_shape.as_shape(value).as_proto())
    elif kind == "tensor":
        av.tensor.CopyFrom(tensor_util.make_tensor_proto(value))
    elif kind == "func":
        av.func.CopyFrom(value if isinstance(value, graph_pb2.NameAttrList) else graph_pb2.NameAttrList(name=value))
    else:
        raise TypeError(f"unknown attr type {kind!r}")


def to_attr_value(value, attr_type: str) -> graph_pb2.AttrValue:
    """Encodes ``value`` as an ``AttrValue`` of OpDef type ``attr_type``.

    Args:
        value: a Python value (a ``DType`` or name for ``type``, a list for
            ``list(...)``, a shape-like for ``shape``, ...), or an ``AttrValue``
            which is returned as is.
        attr_type: the attr's type in the OpDef, e.g. ``"list(int)"``.

    Returns:
        The ``AttrValue`` proto.
    """
    if isinstance(value, graph_pb2.AttrValue):
        return value
    av = graph_pb2.AttrValue()
    if attr_type.startswith("list("):
        kind = attr_type[5:-1]
        lst = av.list
        lst.SetInParent()  # an empty list is still a set oneof member
        for v in value:
            if kind == "type":
                lst.type.append(dtypes.as_dtype(v).as_datatype_enum)
            elif kind == "int":
                lst.i.append(int(v))
            elif kind == "float":
                lst.f.append(float(v))
            elif kind == "bool":
                lst.b.append(bool(v))
            elif kind == "string":
                lst.s.append(v.encode("utf-8") if isinstance(v, str) else bytes(v))
            elif kind == "shape":
                lst.shape.add().CopyFrom(tensor_shape.as_shape(v).as_proto())
            elif kind == "tensor":
                lst.tensor.add().CopyFrom(tensor_util.make_tensor_proto(v))
            elif kind == "func":
                lst.func.add(name=v) if isinstance(v, str) else lst.func.add().CopyFrom(v)
            else:
                raise TypeError(f"unknown attr type {attr_type!r}")
        return av
    _scalar(av, attr_type, value)
    return av


def from_attr_value(av: graph_pb2.AttrValue):
    """Decodes an ``AttrValue`` to the Python value ``Operation.get_attr`` returns.

    ``type`` -> ``DType``, ``shape`` -> ``TensorShapeProto`` (as TF), ``tensor``
    -> ``TensorProto``, strings -> ``bytes``, lists -> Python lists.
    """
    which = av.WhichOneof("value")
    if which is None:
        return None
    if which == "type":
        return dtypes.as_dtype(av.type)
    if which == "list":
        lst = av.list
        for field in ("s", "i", "f", "b", "shape", "tensor", "func"):
            if getattr(lst, field):
                return list(getattr(lst, field))
        if lst.type:
            return [dtypes.as_dtype(t) for t in lst.type]
        return []
    return getattr(av, which)
