"""Op-table rows for set ops (see tests/ops/op_table/__init__.py)."""

import numpy as np

from nanotf.ops.set_ops import setdiff1d
from tests.ops.op_table import OpCase


def _setdiff_ref(x, y):
    keep = ~np.isin(x, y)
    return [x[keep], np.flatnonzero(keep).astype(np.int32)]


CASES = [
    OpCase("setdiff1d", ("ListDiff",), lambda x, y: list(setdiff1d(x, y)),
           [np.array([5, 1, 4, 1, 9], np.int32), np.array([1, 9], np.int32)], _setdiff_ref),
    OpCase("setdiff1d_nothing_removed", ("ListDiff",), lambda x, y: list(setdiff1d(x, y)),
           [np.array([0.5, 2.0]), np.array([3.0])], _setdiff_ref),
]  # fmt: skip
