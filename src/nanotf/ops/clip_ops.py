"""Clipping: ``clip_by_value``, ``clip_by_norm``, ``global_norm``, ``clip_by_global_norm``; the ``ClipByValue`` op.

The Python functions build the graphs TensorFlow's build (``clip_by_value``
is a ``Minimum`` then a ``Maximum``; the norms come from ``Sum``, ``Sqrt``,
``Select`` and ``L2Loss``), so their gradients are those of the ops they use.
The fused ``ClipByValue`` op, which graphs from other TF front ends may
contain, is registered here with its kernel and gradient.
"""

from __future__ import annotations

import collections.abc

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import register_op
from nanotf.ops._types import NUMBER
from nanotf.ops.gradient_util import ones_like
from nanotf.ops.gradient_util import sum_to
from nanotf.ops.gradient_util import zeros_like
from nanotf.ops.reduction_ops import reduce_sum

__all__ = ["clip_by_global_norm", "clip_by_norm", "clip_by_value", "global_norm"]


def _clip_by_value(attrs, t, lo, hi):
    for bound in (lo, hi):
        if bound.ndim and bound.shape != t.shape:
            raise errors.InvalidArgumentError(
                "clip_value_min and clip_value_max must be either scalars or have the same shape as t: "
                f"t shape {list(t.shape)}, bound shape {list(bound.shape)}"
            )
    # Upper bound first, then the lower one: with min > max every entry becomes min, as in TF.
    return np.maximum(np.minimum(t, hi), lo)


def _clip_by_value_grad(op, grad):
    # The gradient passes where t is inside the bounds, and goes to the bound that clipped it elsewhere.
    t, lo, hi = op.inputs
    zeros = zeros_like(grad)
    below = apply_op("Less", x=t, y=lo, name="Less")
    above = apply_op("Greater", x=t, y=hi, name="Greater")
    clipped = apply_op("LogicalOr", x=below, y=above, name="LogicalOr")
    t_grad = apply_op("Select", condition=clipped, t=zeros, e=grad, name="Select")
    lo_grad = apply_op("Select", condition=below, t=grad, e=zeros, name="Select_1")
    hi_grad = apply_op("Select", condition=above, t=grad, e=zeros, name="Select_2")
    return [t_grad, sum_to(lo_grad, lo), sum_to(hi_grad, hi, "_1")]


register_op("ClipByValue", ["t: T", "clip_value_min: T", "clip_value_max: T"], ["output: T"], [f"T: {NUMBER}"],
            shape=common_shapes.same_as_input, kernel=_clip_by_value, grad=_clip_by_value_grad)  # fmt: skip


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with entries below ``clip_value_min`` raised to it and those above ``clip_value_max`` lowered.

    Built as ``Maximum(Minimum(t, max), min)``, as TF builds it.

    Raises:
        ValueError: a bound of a shape that would broadcast ``t`` to a bigger shape.
    """
    with name_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = apply_op("Minimum", x=values, y=clip_value_max, name="Minimum")
        values.shape.assert_is_compatible_with(t_min.shape)
        t_max = apply_op("Maximum", x=t_min, y=clip_value_min, name=scope)
        values.shape.assert_is_compatible_with(t_max.shape)
        return t_max


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t * clip_norm / max(l2norm(t), clip_norm)``, the L2 norm taken over ``axes`` (all if None).

    Where the norm is 0 the input comes back unchanged, with finite gradients (TF's two-``Select`` guard).
    """
    with name_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = convert_to_tensor(t, name="t")
        l2sum = reduce_sum(values * values, axes, keepdims=True)
        positive = l2sum > 0
        l2sum_safe = apply_op("Select", condition=positive, t=l2sum, e=ones_like(l2sum), name="Select")
        l2norm = apply_op("Select", condition=positive, t=apply_op("Sqrt", x=l2sum_safe, name="Sqrt"), e=l2sum,
                          name="Select_1")  # fmt: skip
        intermediate = values * clip_norm
        values.shape.assert_is_compatible_with(intermediate.shape)
        clipped = intermediate / apply_op("Maximum", x=l2norm, y=clip_norm, name="Maximum")
        return apply_op("Identity", input=clipped, name=scope)


def _as_tensor_list(t_list, what: str) -> list:
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, str):
        raise TypeError(f"`{what}` should be a sequence of tensors. Received {type(t_list)}.")
    return list(t_list)


def global_norm(t_list, name=None):
    """``sqrt(sum(l2norm(t)**2 for t in t_list))``, skipping None entries (built from ``L2Loss`` as TF)."""
    t_list = _as_tensor_list(t_list, "t_list")
    with name_scope(name, "global_norm", [t for t in t_list if t is not None]):
        values = [convert_to_tensor(t, name=f"t_{i}") for i, t in enumerate(t_list) if t is not None]
        half_squared = [apply_op("L2Loss", t=v, name="L2Loss") for v in values]
        total = reduce_sum(apply_op("Pack", values=half_squared, axis=0, name="stack"))
        two = constant(2.0, dtype=total.dtype.base_dtype, name="Const")
        return apply_op("Sqrt", x=total * two, name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales every tensor of ``t_list`` by ``clip_norm / max(global_norm, clip_norm)``.

    Args:
        t_list: tensors (None entries stay None).
        clip_norm: the largest global norm to allow.
        use_norm: the global norm, if already computed.
        name: the scope name (default ``clip_by_global_norm``).

    Returns:
        ``(clipped tensors, global norm)``; with an infinite or NaN norm every clipped entry is NaN, as in TF.
    """
    t_list = _as_tensor_list(t_list, "t_list")
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    with name_scope(name, "clip_by_global_norm", [t for t in t_list if t is not None] + [clip_norm]) as scope:
        one = constant(1.0, dtype=use_norm.dtype.base_dtype, name="Const")
        limit = apply_op("Minimum", x=1.0 / use_norm, y=one / clip_norm, name="Minimum")
        # (use_norm - use_norm) is 0 for a finite norm and NaN otherwise.
        scale = clip_norm * limit + (use_norm - use_norm)
        clipped = []
        for i, t in enumerate(t_list):
            if t is None:
                clipped.append(None)
                continue
            v = convert_to_tensor(t, name=f"t_{i}", preferred_dtype=dtypes.float32)
            clipped.append(apply_op("Identity", input=v * scale, name=f"{scope}_{i}"))
        return clipped, use_norm
