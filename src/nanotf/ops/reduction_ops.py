"""Reductions (Sum, Mean, Prod, Max, Min, All, Any), ArgMax/ArgMin and the scans Cumsum/Cumprod.

A reduction's gradient spreads the output gradient back over the reduced
axes: reshape it to the ``keep_dims`` shape and tile (or broadcast) it to the
input's shape, as TensorFlow does. Shapes are constants when the static
shapes and axes allow it (see ``gradient_util.reduced_shape``).
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import INDEX
from nanotf.ops._types import NUMBER
from nanotf.ops.gradient_util import conj
from nanotf.ops.gradient_util import reduced_shape
from nanotf.ops.gradient_util import shape_of
from nanotf.ops.gradient_util import static_axes

# The top-level (tf.*) API; reduce_variance and reduce_std exist only as tf.math.*.
__all__ = [
    "argmax", "argmin", "count_nonzero", "cumprod", "cumsum", "norm", "reduce_all", "reduce_any",
    "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum",
]  # fmt: skip


def _axes(axis, rank, error=errors.InvalidArgumentError):
    axes = np.asarray(axis).reshape(-1)
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise error(f"Invalid reduction dimension {a} for input with {rank} dimensions.")
    return tuple(int(a) % rank for a in axes) if rank else ()


def _reduction_shape(op):
    shape = op.inputs[0].shape
    keep = op.get_attr("keep_dims")
    axis = common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None:
        return [TensorShape(None)]
    if axis is None:
        return [TensorShape([None] * shape.ndims) if keep else TensorShape(None)]
    axes = set(_axes(axis, shape.ndims, ValueError))  # a static error, as TF's shape inference
    dims = shape.as_list()
    return [TensorShape([1 if i in axes else d for i, d in enumerate(dims)] if keep else
                        [d for i, d in enumerate(dims) if i not in axes])]  # fmt: skip


def _reduction(name, fn, types=NUMBER, input_type="T", grad=None):
    def kernel(attrs, x, axis):
        out = fn(x, axis=_axes(axis, x.ndim), keepdims=attrs["keep_dims"])
        return np.asarray(out, dtype=x.dtype)

    t_attr = [f"T: {types}"] if input_type == "T" else []
    register_op(name, [f"input: {input_type}", "reduction_indices: Tidx"], [f"output: {input_type}"],
                ["keep_dims: bool = false"] + t_attr + ["Tidx: {int32, int64} = DT_INT32"],
                shape=_reduction_shape, kernel=kernel, grad=grad)  # fmt: skip


def _spread(op, grad, tile: bool = True):
    """The gradient of a reduction's output spread evenly over its input: Sum's gradient.

    With static multiples it is a ``Tile`` (``tile=False``: a ``BroadcastTo``, as TF's Prod rule has it).
    """
    x, axis = op.inputs
    rank = x.shape.ndims
    axes = static_axes(axis, rank)
    if axes == [] and grad.shape.ndims == rank:
        return grad
    if not op.get_attr("keep_dims"):
        grad = apply_op("Reshape", tensor=grad, shape=reduced_shape(x, axis), name="Reshape")
    if tile and axes is not None:
        multiples = [d if i in axes else 1 for i, d in enumerate(x.shape.as_list())]
        if None not in multiples:
            return apply_op("Tile", input=grad, multiples=np.array(multiples, np.int32), name="Tile")
    return apply_op("BroadcastTo", input=grad, shape=shape_of(x), name="BroadcastTo")


def _sum(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


_reduction("Sum", _sum, grad=lambda op, grad: [_spread(op, grad), None])


def _mean(x, axis, keepdims):
    if x.dtype.kind not in "iu":
        return np.mean(x, axis=axis, keepdims=keepdims)
    # Integer means truncate toward zero, as TF's.
    n = max(int(np.prod([x.shape[a] for a in axis])), 1)
    total = np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
    q = np.abs(total) // n
    return np.where(total < 0, -q, q)


def _static_count(op) -> int | None:
    # How many input elements make one output element, if known when building.
    x, y = op.inputs[0], op.outputs[0]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        return x.shape.num_elements() // max(y.shape.num_elements(), 1)
    axes = static_axes(op.inputs[1], x.shape.ndims)
    if axes is None:
        return None
    sizes = [x.shape.as_list()[a] for a in axes]
    return None if None in sizes else int(np.prod(sizes, dtype=np.int64))


def _mean_grad(op, grad):
    total = _spread(op, grad)
    count = _static_count(op)
    if count is not None:
        divisor = constant(count, dtype=total.dtype.base_dtype, name="Const")
    else:
        sizes = [apply_op("Size", input=t, out_type=dtypes.int32, name="Size") for t in (op.inputs[0], op.outputs[0])]
        out_size = apply_op("Maximum", x=sizes[1], y=np.int32(1), name="Maximum")
        count = apply_op("FloorDiv", x=sizes[0], y=out_size, name="floordiv")
        divisor = apply_op("Cast", x=count, DstT=total.dtype.base_dtype, Truncate=False, name="Cast")
    return [apply_op("RealDiv", x=total, y=divisor, name="truediv"), None]


_reduction("Mean", _mean, grad=_mean_grad)


def _prod_layout(x, axis):
    """(perm, inverse perm, [reduced count, other count]) moving the reduced axes of ``x`` first."""
    axes = static_axes(axis, x.shape.ndims)
    if axes is not None:
        other = [i for i in range(x.shape.ndims) if i not in axes]
        perm = np.array(axes + other, np.int32)
        inverse = np.argsort(perm).astype(np.int32)
        if x.shape.is_fully_defined():
            dims = x.shape.as_list()
            counts = [np.prod([dims[i] for i in part]) for part in (axes, other)]
            return perm, inverse, np.array(counts, np.int32)
        reduced, other = np.array(axes, np.int32), np.array(other, np.int32)
    else:
        # TensorFlow's construction for axes or rank known only at run time.
        rank = apply_op("Rank", input=x, name="Rank")
        if axis.dtype.base_dtype != dtypes.int32:
            axis = apply_op("Cast", x=axis, DstT=dtypes.int32, Truncate=False, name="Cast")
        flat_axis = apply_op("Reshape", tensor=axis, shape=np.array([-1], np.int32), name="Reshape")
        reduced = apply_op("FloorMod", x=apply_op("AddV2", x=flat_axis, y=rank, name="add"), y=rank, name="mod")
        every = apply_op("Range", start=np.int32(0), limit=rank, delta=np.int32(1), name="range")
        other, _ = apply_op("ListDiff", x=every, y=reduced, out_idx=dtypes.int32, name="ListDiff")
        perm = apply_op("ConcatV2", values=[reduced, other], axis=np.int32(0), name="concat")
        inverse = apply_op("InvertPermutation", x=perm, name="InvertPermutation")
    shape = shape_of(x)
    counts = []
    for part in (reduced, other):
        sizes = apply_op("GatherV2", params=shape, indices=part, axis=np.int32(0), name="GatherV2")
        counts.append(apply_op("Prod", input=sizes, reduction_indices=np.array([0], np.int32), name="Prod"))
    return perm, inverse, apply_op("Pack", values=counts, axis=0, name="Pack")


def _prod_grad(op, grad):
    # d prod / d x_i = the product of the other entries: an exclusive cumulative product from the left
    # times one from the right, over the reduced axes flattened into one leading axis.
    x, axis = op.inputs
    grad = _spread(op, grad, tile=False)
    perm, inverse, flat = _prod_layout(x, axis)
    permuted = apply_op("Transpose", x=x, perm=perm, name="transpose")
    reshaped = apply_op("Reshape", tensor=permuted, shape=flat, name="Reshape")
    left = apply_op("Cumprod", x=reshaped, axis=np.int32(0), exclusive=True, name="Cumprod")
    right = apply_op("Cumprod", x=reshaped, axis=np.int32(0), exclusive=True, reverse=True, name="Cumprod_1")
    others = apply_op("Reshape", tensor=conj(left) * conj(right), shape=shape_of(permuted, "Shape_1"), name="Reshape_1")
    return [grad * apply_op("Transpose", x=others, perm=inverse, name="transpose_1"), None]


_reduction("Prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype), grad=_prod_grad)


def _min_max_grad(op, grad):
    # The gradient goes to the entries equal to the extreme value, split evenly between ties.
    x, axis = op.inputs
    y = op.outputs[0]
    if not op.get_attr("keep_dims"):
        kept = reduced_shape(x, axis)
        y = apply_op("Reshape", tensor=y, shape=kept, name="Reshape")
        grad = apply_op("Reshape", tensor=grad, shape=kept, name="Reshape_1")
    equal = apply_op("Equal", x=y, y=x, name="Equal")
    indicators = apply_op("Cast", x=equal, DstT=grad.dtype.base_dtype, Truncate=False, name="Cast")
    selected = apply_op("Sum", input=indicators, reduction_indices=axis, keep_dims=True, name="Sum")
    return [indicators / selected * grad, None]


def _bound(dtype, highest: bool):
    # The identity of max (min): what an empty reduction gives, as in TF.
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return np.iinfo(dt).max if highest else np.iinfo(dt).min
    return np.inf if highest else -np.inf


def _max(x, axis, keepdims):
    return np.max(x, axis=axis, keepdims=keepdims, initial=_bound(x.dtype, False))


def _min(x, axis, keepdims):
    return np.min(x, axis=axis, keepdims=keepdims, initial=_bound(x.dtype, True))


_MAX_TYPES = ("{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, "
              "qint8, quint8, qint32, qint16, quint16}")  # fmt: skip
_reduction("Max", _max, _MAX_TYPES, grad=_min_max_grad)
_reduction("Min", _min, _MAX_TYPES, grad=_min_max_grad)
_reduction("All", np.all, input_type="bool", grad=NOT_DIFFERENTIABLE)
_reduction("Any", np.any, input_type="bool", grad=NOT_DIFFERENTIABLE)


# -- ArgMax, ArgMin ------------------------------------------------------------------
def _arg_shape(op):
    shape = op.inputs[0].shape
    axis = common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or axis is None:
        return [TensorShape(None)]
    a = int(axis) % shape.ndims
    return [TensorShape([d for i, d in enumerate(shape.as_list()) if i != a])]


_ARG_T = ("{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, "
          "qint8, quint8, qint32, qint16, quint16, bool}")  # fmt: skip
def _arg_kernel(fn):
    return lambda attrs, x, axis: fn(x, axis=int(axis)).astype(attrs["output_type"].as_numpy_dtype)


for _name, _fn, _tidx, _out in (("ArgMax", np.argmax, "{int16, int32, int64}", "{int16, uint16, int32, int64}"),
                                ("ArgMin", np.argmin, INDEX, INDEX)):  # fmt: skip
    register_op(_name, ["input: T", "dimension: Tidx"], ["output: output_type"],
                [f"T: {_ARG_T}", f"Tidx: {_tidx} = DT_INT32", f"output_type: {_out} = DT_INT64"],
                shape=_arg_shape, grad=NOT_DIFFERENTIABLE, kernel=_arg_kernel(_fn))  # fmt: skip


# -- Cumsum, Cumprod -----------------------------------------------------------------
def _scan(fn, identity):
    def kernel(attrs, x, axis):
        axis = int(axis)
        if not -x.ndim <= axis < x.ndim:
            raise errors.InvalidArgumentError(f"Expected scan axis in the range [{-x.ndim}, {x.ndim}), but got {axis}")
        if attrs["reverse"]:
            x = np.flip(x, axis)
        out = fn(x, axis=axis, dtype=x.dtype)
        if attrs["exclusive"] and x.shape[axis]:
            # Shift by one along the axis, starting from the identity.
            first = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([first, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
        return np.flip(out, axis) if attrs["reverse"] else out

    return kernel


def _scan_op(name, fn, identity, grad):
    register_op(name, ["x: T", "axis: Tidx"], ["out: T"],
                ["exclusive: bool = false", "reverse: bool = false", f"T: {NUMBER}", "Tidx: {int32, int64} = DT_INT32"],
                shape=common_shapes.same_as_input, kernel=_scan(fn, identity), grad=grad)  # fmt: skip


def _cumsum_grad(op, grad):
    # Each input reaches the outputs after (before, when reversed) it: a scan the other way.
    return [_scan_apply("Cumsum", grad, op.inputs[1], op.get_attr("exclusive"), not op.get_attr("reverse")), None]


def _cumprod_grad(op, grad):
    # TF's rule: sum of (cumprod * grad) the other way, divided by x (0 where x is 0).
    x, axis = op.inputs
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = _scan_apply("Cumprod", x, axis, exclusive, reverse)
    out = _scan_apply("Cumsum", prod * grad, axis, exclusive, not reverse)
    return [apply_op("DivNoNan", x=out, y=x, name="div_no_nan"), None]


def _scan_apply(op_type, x, axis, exclusive, reverse, name=None):
    return apply_op(op_type, x=x, axis=axis, exclusive=exclusive, reverse=reverse, name=name or op_type)


_scan_op("Cumsum", np.cumsum, 0, _cumsum_grad)
_scan_op("Cumprod", np.cumprod, 1, _cumprod_grad)


# -- Python API -----------------------------------------------------------------
def _all_axes(x):
    # As TF: the all-axes list is a Const named ``Const`` in the caller's scope.
    rank = x.shape.ndims
    if rank is not None:
        return convert_to_tensor(np.arange(rank, dtype=np.int32))
    return apply_op("Range", start=np.int32(0), limit=apply_op("Rank", input=x), delta=np.int32(1))


def _reduce_api(op_type, public_name):
    def fn(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        axis = reduction_indices if axis is None else axis
        keep = bool(keep_dims if keepdims is None else keepdims)
        x = convert_to_tensor(input_tensor, name="input_tensor")
        if axis is None:
            axis = _all_axes(x)
        return apply_op(op_type, input=x, reduction_indices=axis, keep_dims=keep, name=name or op_type)

    fn.__name__ = fn.__qualname__ = public_name
    fn.__doc__ = f"``{op_type}`` over ``axis`` (all axes if None), default op name ``{op_type}``."
    return fn


reduce_sum = _reduce_api("Sum", "reduce_sum")
reduce_mean = _reduce_api("Mean", "reduce_mean")
reduce_prod = _reduce_api("Prod", "reduce_prod")
reduce_max = _reduce_api("Max", "reduce_max")
reduce_min = _reduce_api("Min", "reduce_min")
reduce_all = _reduce_api("All", "reduce_all")
reduce_any = _reduce_api("Any", "reduce_any")


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """``log(sum(exp(x)))`` over ``axis``, computed stably by shifting by the (finite) maximum, as TF."""
    axis = reduction_indices if axis is None else axis
    keep = bool(keep_dims if keepdims is None else keepdims)
    with name_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor, name="input_tensor")
        raw_max = reduce_max(x, axis, keepdims=True)
        finite = apply_op("IsFinite", x=raw_max, name="IsFinite")
        zero = np.zeros((), x.dtype.as_numpy_dtype)
        shift = apply_op("SelectV2", condition=finite, t=raw_max, e=zero, name="SelectV2")
        shift = apply_op("StopGradient", input=shift, name="StopGradient")
        exps = apply_op("Exp", x=apply_op("Sub", x=x, y=shift, name="Sub"), name="Exp")
        result = apply_op("Log", x=reduce_sum(exps, axis, keepdims=keep), name="Log")
        if not keep:
            out_shape = apply_op("Shape", input=result, name="Shape")
            shift = apply_op("Reshape", tensor=shift, shape=out_shape, name="Reshape")
        return apply_op("AddV2", x=result, y=shift, name=scope)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The variance over ``axis``: ``mean((x - mean(x))^2)``."""
    with name_scope(name, "reduce_variance", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input_tensor")
        deviations = x - reduce_mean(x, axis, keepdims=True)
        return reduce_mean(apply_op("Square", x=deviations, name="Square"), axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The standard deviation over ``axis``: ``sqrt(reduce_variance)``."""
    with name_scope(name, "reduce_std", [input_tensor]):
        return apply_op("Sqrt", x=reduce_variance(input_tensor, axis, keepdims=keepdims), name="Sqrt")


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=dtypes.int64, name=None, reduction_indices=None,
                  keep_dims=None):  # fmt: skip
    """How many entries along ``axis`` are not zero, as ``dtype``."""
    axis = reduction_indices if axis is None else axis
    keep = bool(keep_dims if keepdims is None else keepdims)
    with name_scope(name, "count_nonzero", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input_tensor")
        zero = constant(0, dtype=x.dtype.base_dtype, name="zeros")
        nonzero = apply_op("NotEqual", x=x, y=zero, name="NotEqual")
        counts = apply_op("Cast", x=nonzero, DstT=dtypes.as_dtype(dtype), Truncate=False, name="Cast")
        return reduce_sum(counts, axis, keepdims=keep)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    return apply_op("ArgMax", input=input, dimension=0 if axis is None else axis, output_type=output_type,
                    name=name or "ArgMax")  # fmt: skip


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    return apply_op("ArgMin", input=input, dimension=0 if axis is None else axis, output_type=output_type,
                    name=name or "ArgMin")  # fmt: skip


def _scan_api(op_type):
    def fn(x, axis=0, exclusive=False, reverse=False, name=None):
        with name_scope(name, op_type, [x]) as scope:
            x = convert_to_tensor(x, name="x")
            return _scan_apply(op_type, x, axis, exclusive, reverse, name=scope)

    fn.__name__ = fn.__qualname__ = op_type.lower()
    fn.__doc__ = f"``{op_type}`` along ``axis`` (``exclusive`` leaves each entry out; ``reverse`` scans from the end)."
    return fn


cumsum = _scan_api("Cumsum")
cumprod = _scan_api("Cumprod")


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):  # noqa: A002
    """Vector norms (``ord`` euclidean/2, 1, inf or any p > 0) and matrix norms (fro, 1, inf), as TF builds them.

    Args:
        tensor: the input.
        ord: the norm's order.
        axis: None (the whole tensor as a vector), an int (vectors along it) or
            two ints (matrices over those axes).
        keepdims: keep the reduced axes as size 1.
        name: the scope name (default ``norm``).

    Returns:
        The norm tensor.

    Raises:
        ValueError: for an unsupported ``ord`` or ``axis`` (the spectral matrix norm ``ord=2`` is one).
    """
    keep = bool(keep_dims if keepdims is None else keepdims)
    matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if matrix:
        axis = tuple(axis)
        if not all(isinstance(a, int) for a in axis) or axis[0] == axis[1]:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if ord not in ("euclidean", "fro", 1, np.inf):
            raise ValueError(f"'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, inf], got {ord}")
    else:
        if not (axis is None or isinstance(axis, int)):
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if ord not in ("euclidean", 1, 2, np.inf) and (isinstance(ord, str) or not ord > 0):
            raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
        axis = None if axis is None else (axis,)
    with name_scope(name, "norm", [tensor]):
        x = convert_to_tensor(tensor, name="tensor")
        sum_axes = None if axis is None else list(axis)
        if ord in ("fro", "euclidean", 2):
            squares = x * conj(x)
            result = apply_op("Sqrt", x=reduce_sum(squares, sum_axes, keepdims=True), name="Sqrt")
        else:
            result = apply_op("Abs", x=x, name="Abs")
            if ord == 1:
                result = reduce_sum(result, None if axis is None else axis[0], keepdims=True)
                if matrix:
                    result = reduce_max(result, axis[-1], keepdims=True)
            elif ord == np.inf:
                if matrix:
                    result = reduce_sum(result, axis[1], keepdims=True)
                result = reduce_max(result, None if axis is None else axis[0], keepdims=True)
            else:
                powered = apply_op("Pow", x=result, y=np.asarray(ord, x.dtype.as_numpy_dtype), name="Pow")
                result = apply_op("Pow", x=reduce_sum(powered, sum_axes, keepdims=True),
                                  y=np.asarray(1.0 / ord, x.dtype.as_numpy_dtype), name="Pow_1")  # fmt: skip
        if not keep:
            result = apply_op("Squeeze", input=result, squeeze_dims=[] if axis is None else list(axis), name="Squeeze")
        return result
