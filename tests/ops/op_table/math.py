"""Op-table rows for math ops (see tests/ops/op_table/__init__.py)."""

import numpy as np

import nanotf as tf
from tests.ops.op_table import OpCase

RNG = np.random.default_rng(42)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
ROW = RNG.standard_normal((4,))

CASES = [
    OpCase("add_broadcast", ("AddV2",), lambda x, y: x + y, [A, ROW], lambda x, y: x + y, grad=True),
    OpCase("sub_broadcast", ("Sub",), lambda x, y: x - y, [A, ROW], lambda x, y: x - y, grad=True),
    OpCase("mul_broadcast", ("Mul",), lambda x, y: x * y, [A, ROW], lambda x, y: x * y, grad=True),
    OpCase("matmul", ("MatMul",), tf.matmul, [A, B], lambda x, y: x @ y, grad=True),
    OpCase("matmul_transpose_a", ("MatMul",), lambda x, y: tf.matmul(x, y, transpose_a=True), [A, A],
           lambda x, y: x.T @ y, grad=True),
    OpCase("matmul_transpose_both", ("MatMul",), lambda x, y: tf.matmul(x, y, transpose_a=True, transpose_b=True),
           [B, A], lambda x, y: x.T @ y.T, grad=True),
]  # fmt: skip
