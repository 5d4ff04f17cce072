"""Building blocks shared by gradient rules: static-or-dynamic shapes and un-broadcasting.

A gradient rule is ``fn(op, *output_grads) -> [input_grad or None, ...]``,
registered next to its op (``register_op(..., grad=fn)`` or
``@register_gradient("OpType")``). It builds new graph ops with the same op
types TensorFlow's rules use, so a training graph nanotf writes runs in
TensorFlow. The driver (``train/gradients.py``) calls it inside the name
scope ``gradients/<op name>_grad`` and passes zeros for differentiable
outputs that received no gradient.

Un-broadcasting lives here once: a binary elementwise rule computes the
gradient at the broadcast output shape and calls ``unbroadcast``, which sums
over the broadcast axes and reshapes back to each input's shape. Axes are
decided at graph-build time when the static shapes allow it, otherwise by a
``BroadcastGradientArgs`` op at run time (as TensorFlow does).

Reductions need the reduced shape with the reduced axes kept as 1
(``reduced_shape``): a constant when the shapes and axes are known, a little
arithmetic on the run-time ``Shape`` when only the rank is, and TensorFlow's
``DynamicStitch`` construction only when the axes or the rank are unknown.
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.common_shapes import constant_value
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant

__all__ = [
    "conj", "ones_like", "reduce_to_shape", "reduced_shape", "shape_of", "static_axes", "static_reduction_axes",
    "sum_to", "unbroadcast", "zeros_like",
]  # fmt: skip


def shape_of(x, name: str = "Shape"):
    """``x``'s shape as an int32 tensor: a ``Const`` when static, else a ``Shape`` op."""
    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), np.int32), name=name)
    return apply_op("Shape", input=x, out_type=dtypes.int32, name=name)


def static_reduction_axes(x_shape, y_shape) -> list[int] | None:
    """Axes of the broadcast ``x ⊕ y`` output that ``x`` was broadcast along, or None if unknown yet.

    An axis of ``x`` needs a sum when ``x`` lacks it (leading axes) or has
    size 1 there. Summing a size-1 axis that was not broadcast is harmless, so
    a static 1 always counts; an unknown size in ``x`` is decidable only where
    ``y`` has no such axis or a static 1 (then ``x`` alone sets the size).
    """
    if x_shape.ndims is None or y_shape.ndims is None:
        return None
    xs, ys = x_shape.as_list(), y_shape.as_list()
    n = max(len(xs), len(ys))
    x_lead, y_lead = n - len(xs), n - len(ys)
    axes = list(range(x_lead))
    for i in range(x_lead, n):
        size = xs[i - x_lead]
        if size == 1:
            axes.append(i)
        elif size is None and i >= y_lead and ys[i - y_lead] != 1:
            return None
    return axes


def reduce_to_shape(grad, x, axes, name_suffix: str = ""):
    """Sums ``grad`` over ``axes`` and reshapes it to ``x``'s shape (identity when ``axes`` is empty)."""
    if not axes and grad.shape.ndims == x.shape.ndims:
        return grad
    total = apply_op("Sum", input=grad, reduction_indices=np.array(axes, np.int32), keep_dims=False, name="Sum" + name_suffix)
    return apply_op("Reshape", tensor=total, shape=shape_of(x, "Shape" + name_suffix),
                    name="Reshape" + name_suffix)  # fmt: skip


def unbroadcast(op, grad_x, grad_y):
    """Reduces the output-shaped grads of binary op ``op`` to the shapes of its two inputs.

    Either grad may be None (that input gets None).
    """
    x, y = op.inputs[0], op.inputs[1]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined() and x.shape == y.shape:
        return [grad_x, grad_y]
    rx = static_reduction_axes(x.shape, y.shape)
    ry = static_reduction_axes(y.shape, x.shape)
    if rx is not None and ry is not None:
        gx = None if grad_x is None else reduce_to_shape(grad_x, x, rx)
        gy = None if grad_y is None else reduce_to_shape(grad_y, y, ry, "_1")
        return [gx, gy]
    sx = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape")
    sy = apply_op("Shape", input=y, out_type=dtypes.int32, name="Shape_1")
    r0, r1 = apply_op("BroadcastGradientArgs", s0=sx, s1=sy, name="BroadcastGradientArgs")
    gx = gy = None
    if grad_x is not None:
        gx = apply_op("Reshape", tensor=apply_op("Sum", input=grad_x, reduction_indices=r0, keep_dims=False, name="Sum"),
                      shape=sx, name="Reshape")  # fmt: skip
    if grad_y is not None:
        gy = apply_op("Reshape", tensor=apply_op("Sum", input=grad_y, reduction_indices=r1, keep_dims=False, name="Sum_1"),
                      shape=sy, name="Reshape_1")  # fmt: skip
    return [gx, gy]


def sum_to(grad, x, name_suffix: str = ""):
    """Sums ``grad`` (shaped like a broadcast of ``x``) down to ``x``'s shape."""
    axes = static_reduction_axes(x.shape, grad.shape)
    if axes is not None:
        return reduce_to_shape(grad, x, axes, name_suffix)
    sx = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape" + name_suffix)
    sg = apply_op("Shape", input=grad, out_type=dtypes.int32, name="Shape_g" + name_suffix)
    rx, _ = apply_op("BroadcastGradientArgs", s0=sx, s1=sg, name="BroadcastGradientArgs" + name_suffix)
    total = apply_op("Sum", input=grad, reduction_indices=rx, keep_dims=False, name="Sum" + name_suffix)
    return apply_op("Reshape", tensor=total, shape=sx, name="Reshape" + name_suffix)


def static_axes(axis, rank: int | None) -> list[int] | None:
    """The reduction axes in tensor ``axis`` as non-negative ints (in order, no repeats), or None if unknown."""
    value = constant_value(axis)
    if value is None or rank is None:
        return None
    axes = []
    for a in np.asarray(value).reshape(-1).tolist():
        a = a % rank if rank else 0
        if a not in axes:
            axes.append(a)
    return axes


def reduced_shape(x, axis):
    """``x``'s shape with the axes in tensor ``axis`` set to 1 (a reduction's ``keep_dims`` shape), int32."""
    rank = x.shape.ndims
    axes = static_axes(axis, rank)
    if axes is not None:
        dims = [1 if i in axes else d for i, d in enumerate(x.shape.as_list())]
        unknown = dims.count(None)
        if unknown == 0 or (unknown == 1 and all(dims[i] for i in range(rank) if dims[i] is not None)):
            # A single unknown size is implied by the element count (no size 0 beside it).
            return constant(np.array([-1 if d is None else d for d in dims], np.int32), name="reduced_shape")
        # Known rank: keep the run-time sizes and set the reduced axes to 1.
        keep = np.array([0 if i in axes else 1 for i in range(rank)], np.int32)
        kept = apply_op("Mul", x=shape_of(x), y=keep, name="mul")
        return apply_op("AddV2", x=kept, y=1 - keep, name="add")
    # Axes or rank known only at run time: TensorFlow's construction.
    shape = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape")
    if axis.dtype.base_dtype != dtypes.int32:
        axis = apply_op("Cast", x=axis, DstT=dtypes.int32, Truncate=False, name="Cast")
    size = apply_op("Size", input=shape, out_type=dtypes.int32, name="Size")
    axis = apply_op("FloorMod", x=apply_op("AddV2", x=axis, y=size, name="add"), y=size, name="mod")
    ones = apply_op("Fill", dims=apply_op("Shape", input=axis, out_type=dtypes.int32, name="Shape_1"),
                    value=np.int32(1), name="ones")  # fmt: skip
    indices = [apply_op("Range", start=np.int32(0), limit=size, delta=np.int32(1), name="range"), axis]
    return apply_op("DynamicStitch", indices=indices, data=[shape, ones], name="DynamicStitch")


def conj(x):
    """``x`` for real tensors, its ``Conj`` for complex ones (as TF's gradients conjugate)."""
    return apply_op("Conj", input=x, name="Conj") if x.dtype.base_dtype.is_complex else x


def zeros_like(x, name: str = "zeros_like"):
    """Zeros shaped like ``x``: a ``Const`` when the shape is static, else ``ZerosLike``."""
    if x.shape.is_fully_defined():
        return constant(0, dtype=x.dtype.base_dtype, shape=x.shape.as_list(), name=name)
    return apply_op("ZerosLike", x=x, name=name)


def ones_like(x, name: str = "ones_like"):
    """Ones shaped like ``x``: a ``Const`` when the shape is static, else ``OnesLike``."""
    if x.shape.is_fully_defined():
        return constant(1, dtype=x.dtype.base_dtype, shape=x.shape.as_list(), name=name)
    return apply_op("OnesLike", x=x, name=name)
