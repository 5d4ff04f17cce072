"""Set ops: ``ListDiff`` (``tf.setdiff1d``), which TF's Prod gradient uses for axes known only at run time."""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape


def _list_diff(attrs, x, y):
    # The elements of x not in y, in x's order, with their positions in x.
    keep = ~np.isin(x, y)
    idx_type = dtypes.as_dtype(attrs["out_idx"]).as_numpy_dtype
    return x[keep], np.flatnonzero(keep).astype(idx_type)


def _list_diff_shape(op):
    for t in op.inputs:
        if t.shape.ndims not in (None, 1):
            raise ValueError(f"ListDiff needs 1-D inputs, got {t.shape} for '{op.name}'")
    return [TensorShape([None]), TensorShape([None])]


register_op("ListDiff", ["x: T", "y: T"], ["out: T", "idx: out_idx"], ["T: type", "out_idx: {int32, int64} = DT_INT32"],
            shape=_list_diff_shape, kernel=_list_diff, grad=NOT_DIFFERENTIABLE)  # fmt: skip


def setdiff1d(x, y, index_dtype=dtypes.int32, name=None):
    """The values of 1-D ``x`` not in ``y`` and their indices in ``x`` (``ListDiff``)."""
    return apply_op("ListDiff", x=x, y=y, out_idx=index_dtype, name=name or "ListDiff")
