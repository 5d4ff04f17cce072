"""Building ops from Python arguments: ``convert_to_tensor`` and ``apply_op``.

``apply_op("Mul", x=a, y=2.0, name="scale")`` does what TensorFlow's generated
op wrappers do: open the name scope, convert non-Tensor inputs to ``Const`` ops
named after their argument (``scale/y``) with the dtype the signature implies,
infer the type and length attrs, and create the op by type name.
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework import registry
from nanotf.framework import tensor_util
from nanotf.framework.graph import Operation
from nanotf.framework.graph import get_default_graph
from nanotf.framework.tensor import Tensor

__all__ = ["convert_to_tensor", "convert_n_to_tensor", "apply_op", "binary_op", "unary_op", "truediv",
           "constant", "strided_slice_item"]  # fmt: skip


def _graph_of(values) -> object:
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
        graph = getattr(v, "graph", None)
        if graph is not None and hasattr(graph, "_create_op"):
            return graph
    return get_default_graph()


def constant(value, dtype=None, shape=None, name="Const", graph=None) -> Tensor:
    """Creates a ``Const`` op holding ``value`` (encoded as TF encodes it)."""
    proto = tensor_util.make_tensor_proto(value, dtype=dtype, shape=shape)
    graph = graph or get_default_graph()
    op = graph._create_op("Const", [], {"value": proto, "dtype": proto.dtype}, name)
    return op.outputs[0]


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, as_ref=False, dtype_hint=None) -> Tensor:
    """Returns ``value`` as a Tensor, creating a ``Const`` for Python/NumPy values.

    Args:
        value: a Tensor, an object with ``_as_tensor`` (variables), or a
            constant-like value.
        dtype: required dtype; a mismatching Tensor raises ValueError.
        name: the name of a created Const (default ``Const``).
        preferred_dtype: dtype to try for constants, falling back to the default.
        as_ref: for ref variables, return the ref tensor itself.

    Returns:
        A ``Tensor``.
    """
    preferred_dtype = preferred_dtype or dtype_hint
    if isinstance(value, Tensor):
        tensor = value
    elif hasattr(value, "_as_tensor"):
        tensor = value._as_tensor(dtype=dtype, name=name, as_ref=as_ref)
    elif isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor (target dtype={dtype}, name={name!r})")
    elif isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) or hasattr(v, "_as_tensor") for v in value):
        return _pack(value, dtype, name)
    else:
        if dtype is None and preferred_dtype is not None:
            try:
                return constant(value, dtype=preferred_dtype, name=name or "Const")
            except (TypeError, ValueError):
                pass
        return constant(value, dtype=dtype, name=name or "Const")
    if dtype is not None and not dtypes.as_dtype(dtype).is_compatible_with(tensor.dtype):
        raise ValueError(
            f"Tensor conversion requested dtype {dtypes.as_dtype(dtype).name} for Tensor with dtype "
            f"{tensor.dtype.name}: {tensor!r}"
        )
    return tensor


def _pack(values, dtype, name) -> Tensor:
    # A list mixing tensors and numbers becomes a Pack, as TF's autopacking.
    graph = _graph_of(values)
    with graph.name_scope(name or "packed") as scope:
        elems = [convert_to_tensor(v, dtype=dtype) for v in values]
        if dtype is None:
            dt = next(e.dtype.base_dtype for e in elems)
            elems = [convert_to_tensor(v, dtype=dt) if not isinstance(v, Tensor) else e for v, e in zip(values, elems)]
        op = graph._create_op("Pack", elems, {"N": len(elems), "T": elems[0].dtype.base_dtype, "axis": 0}, scope)
    return op.outputs[0]


def convert_n_to_tensor(values, dtype=None, name=None, preferred_dtype=None) -> list:
    """Converts each of ``values``; constants are named ``<name>_<i>``."""
    return [
        convert_to_tensor(v, dtype=dtype, name=f"{name}_{i}" if name else None, preferred_dtype=preferred_dtype)
        for i, v in enumerate(values)
    ]


def _known_dtype(value):
    if isinstance(value, Tensor):
        return value.dtype.base_dtype
    dt = getattr(value, "dtype", None)
    if hasattr(value, "_as_tensor") and dt is not None:
        return dtypes.as_dtype(dt).base_dtype
    return None


def apply_op(op_type: str, name: str | None = None, **kwargs):
    """Creates an op of ``op_type`` from keyword inputs and attrs.

    Args:
        op_type: a registered op type.
        name: op name (a scope string ending in '/' is used exactly); default
            the op type.
        **kwargs: one entry per input arg (Tensor, list of Tensors for list
            args, or constant-like values) and any attrs to set.

    Returns:
        The single output Tensor, a list of Tensors for several outputs, or the
        Operation if the op has no outputs.

    Raises:
        TypeError: if inputs do not agree on a type attr or it is not allowed.
    """
    reg = registry.get(op_type)
    op_def = reg.op_def
    attrs = {}
    attr_defs = {a.name: a for a in op_def.attr}
    for key in list(kwargs):
        if key in attr_defs and key not in {a.name for a in op_def.input_arg}:
            attrs[key] = kwargs.pop(key)
    graph = _graph_of([kwargs.get(a.name) for a in op_def.input_arg])
    _prefill_type_attrs(op_def, kwargs, attrs)
    with graph.as_default(), graph.name_scope(name or op_type) as scope:
        flat = []
        for arg in op_def.input_arg:
            if arg.name not in kwargs:
                raise TypeError(f"{op_type} missing required input '{arg.name}'")
            flat.extend(_convert_arg(arg, kwargs.pop(arg.name), attrs, attr_defs, op_type))
        if kwargs:
            raise TypeError(f"{op_type} got unexpected arguments {sorted(kwargs)}")
        _check_allowed(attrs, attr_defs, op_type)
        op = graph._create_op(op_type, flat, attrs, scope)
    outs = op.outputs
    if not outs:
        return op
    return outs[0] if len(op_def.output_arg) == 1 and not _is_list_arg(op_def.output_arg[0]) else outs


def _is_list_arg(arg) -> bool:
    return bool(arg.number_attr or arg.type_list_attr)


def _prefill_type_attrs(op_def, kwargs, attrs) -> None:
    # Tensors fix a type attr before constants are converted, so 2 * x gives a float 2.
    for arg in op_def.input_arg:
        if not arg.type_attr or arg.type_attr in attrs:
            continue
        value = kwargs.get(arg.name)
        values = value if arg.number_attr and isinstance(value, (list, tuple)) else [value]
        for v in values:
            dt = _known_dtype(v)
            if dt is not None:
                attrs[arg.type_attr] = dt
                break


def _convert_arg(arg, value, attrs, attr_defs, op_type) -> list:
    if arg.type_list_attr:
        tensors = [convert_to_tensor(v) for v in value]
        attrs.setdefault(arg.type_list_attr, [t.dtype.base_dtype for t in tensors])
        return tensors
    dtype = None
    preferred = None
    if arg.type_attr:
        dtype = attrs.get(arg.type_attr)
        default = attr_defs[arg.type_attr].default_value
        if dtype is None and default.WhichOneof("value") == "type":
            preferred = dtypes.as_dtype(default.type)
        elif dtype is None and attr_defs[arg.type_attr].allowed_values.list.type:
            # Python ints become int32 as in TF; only an attr that forbids int32 gets its first integer type.
            allowed = [dtypes.as_dtype(t) for t in attr_defs[arg.type_attr].allowed_values.list.type]
            integers = [t for t in allowed if t.is_integer]
            preferred = dtypes.int32 if dtypes.int32 in allowed else (integers[0] if integers else None)
    elif arg.type:
        dtype = dtypes.as_dtype(arg.type)
    if arg.number_attr:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"Expected list for '{arg.name}' argument to '{op_type}' Op, not {value!r}.")
        tensors = convert_n_to_tensor(value, dtype=dtype, name=arg.name, preferred_dtype=preferred)
        attrs.setdefault(arg.number_attr, len(tensors))
    else:
        try:
            tensors = [convert_to_tensor(value, dtype=dtype, name=arg.name, preferred_dtype=preferred,
                                         as_ref=arg.is_ref)]  # fmt: skip
        except ValueError as err:
            raise TypeError(f"Input '{arg.name}' of '{op_type}' Op has a mismatched type: {err}") from None
    if arg.type_attr:
        for t in tensors:
            base = t.dtype.base_dtype
            if attrs.setdefault(arg.type_attr, base) != base:
                raise TypeError(
                    f"Input '{arg.name}' of '{op_type}' Op has type {base.name} that does not match "
                    f"type {dtypes.as_dtype(attrs[arg.type_attr]).name} of the other inputs."
                )
    if arg.is_ref and tensors and not tensors[0].dtype.is_ref_dtype:
        raise TypeError(f"'{op_type}' Op requires that input '{arg.name}' be a mutable tensor (e.g.: a tf.Variable)")
    return tensors


def _check_allowed(attrs, attr_defs, op_type) -> None:
    for name, value in attrs.items():
        attr_def = attr_defs.get(name)
        if attr_def is None or attr_def.type != "type" or not attr_def.allowed_values.list.type:
            continue
        dt = dtypes.as_dtype(value)
        allowed = [dtypes.as_dtype(t) for t in attr_def.allowed_values.list.type]
        if dt not in allowed:
            names = ", ".join(a.name for a in allowed)
            raise TypeError(f"Value passed to parameter '{name}' has DataType {dt.name} not in list of allowed "
                            f"values: {names} (op {op_type})")  # fmt: skip


# -- operator helpers used by Tensor's dunder methods -------------------------
def binary_op(op_type: str, default_name: str, x, y, reverse: bool = False) -> Tensor:
    """``x <op> y`` as TF's operator wrappers build it (scope ``default_name``, Const ``y``/``x``)."""
    graph = _graph_of([x, y])
    with graph.as_default(), graph.name_scope(default_name) as scope:
        if reverse:
            x = convert_to_tensor(x, dtype=_known_dtype(y), name="x")
        else:
            y = convert_to_tensor(y, dtype=_known_dtype(x), name="y")
        if op_type == "MatMul":
            return apply_op(op_type, a=x, b=y, name=scope)
        return apply_op(op_type, x=x, y=y, name=scope)


def unary_op(op_type: str, default_name: str, x) -> Tensor:
    return apply_op(op_type, x=x, name=default_name)


_INT_TO_FLOAT = {"int8": "float32", "uint8": "float32", "int16": "float32", "uint16": "float32",
                 "int32": "float64", "uint32": "float64", "int64": "float64", "uint64": "float64"}  # fmt: skip


def truediv(x, y, reverse: bool = False, name=None) -> Tensor:
    """Python 3 ``/``: integers are cast to float (int32 -> float64) before ``RealDiv``."""
    graph = _graph_of([x, y])
    with graph.as_default(), graph.name_scope(name or "truediv") as scope:
        if reverse:
            y = convert_to_tensor(y, name="y")
            x = convert_to_tensor(x, dtype=y.dtype.base_dtype, name="x")
        else:
            x = convert_to_tensor(x, name="x")
            y = convert_to_tensor(y, dtype=x.dtype.base_dtype, name="y")
        float_name = _INT_TO_FLOAT.get(x.dtype.base_dtype.name)
        if float_name is not None:
            x = apply_op("Cast", x=x, DstT=float_name, Truncate=False, name="Cast")
            y = apply_op("Cast", x=y, DstT=float_name, Truncate=False, name="Cast_1")
        return apply_op("RealDiv", x=x, y=y, name=scope)


def strided_slice_item(tensor: Tensor, key) -> Tensor:
    """``tensor[key]`` for ints, slices, ``...`` and ``None`` as a ``StridedSlice``."""
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    for i, k in enumerate(key):
        bit = 1 << i
        if isinstance(k, slice):
            begin.append(0 if k.start is None else k.start)
            end.append(0 if k.stop is None else k.stop)
            strides.append(1 if k.step is None else k.step)
            masks["begin_mask"] |= bit if k.start is None else 0
            masks["end_mask"] |= bit if k.stop is None else 0
        elif k is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif k is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            begin.append(k)
            end.append(k + 1 if not isinstance(k, Tensor) else k + 1)
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    graph = tensor.graph
    with graph.as_default(), graph.name_scope("strided_slice") as scope:
        index_type = np.int32
        b = convert_to_tensor(np.array(begin, dtype=index_type) if _all_ints(begin) else begin, name="stack")
        e = convert_to_tensor(np.array(end, dtype=index_type) if _all_ints(end) else end, name="stack_1")
        s = convert_to_tensor(np.array(strides, dtype=index_type), name="stack_2")
        return apply_op("StridedSlice", input=tensor, begin=b, end=e, strides=s, name=scope, **masks)


def _all_ints(values) -> bool:
    return all(isinstance(v, (int, np.integer)) for v in values)
