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
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant

__all__ = ["shape_of", "unbroadcast", "reduce_to_shape", "static_reduction_axes"]


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
