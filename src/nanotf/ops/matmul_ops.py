"""Matrix products: ``MatMul`` (rank 2) and ``BatchMatMulV2`` (batched, broadcasting the batch axes)."""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops.gradient_util import conj
from nanotf.ops.gradient_util import reduce_to_shape
from nanotf.ops.gradient_util import static_reduction_axes

__all__ = ["matmul"]


# -- MatMul -------------------------------------------------------------------
def _matmul_shape(op):
    a, b = op.inputs[0].shape, op.inputs[1].shape
    if a.ndims is None or b.ndims is None:
        return [TensorShape([None, None])]
    a, b = a.as_list(), b.as_list()
    if op.get_attr("transpose_a"):
        a = a[::-1]
    if op.get_attr("transpose_b"):
        b = b[::-1]
    if a[1] is not None and b[0] is not None and a[1] != b[0]:
        raise ValueError(f"Dimensions must be equal, but are {a[1]} and {b[0]} for '{op.name}' (op: 'MatMul')")
    return [TensorShape([a[0], b[1]])]


def _matmul(attrs, a, b):
    if attrs["transpose_a"]:
        a = a.T
    if attrs["transpose_b"]:
        b = b.T
    if a.shape[1] != b.shape[0]:
        raise errors.InvalidArgumentError(f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)}")
    return np.matmul(a, b)


register_op(
    "MatMul", ["a: T", "b: T"], ["product: T"],
    ["transpose_a: bool = false", "transpose_b: bool = false",
     "T: {bfloat16, half, float, double, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}",
     "grad_a: bool = false", "grad_b: bool = false"],
    shape=_matmul_shape, kernel=_matmul,
)  # fmt: skip


@register_gradient("MatMul")
def _matmul_grad(op, grad):
    # d(a@b): grad@b.T and a.T@grad, with the transposes folded into MatMul's attrs as TF does.
    a, b = conj(op.inputs[0]), conj(op.inputs[1])
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")

    def mm(x, y, tx, ty, name, **flag):
        return apply_op("MatMul", a=x, b=y, transpose_a=tx, transpose_b=ty, name=name, **flag)

    if not ta and not tb:
        return [mm(grad, b, False, True, "MatMul", grad_a=True), mm(a, grad, True, False, "MatMul_1", grad_b=True)]
    if not ta:
        return [mm(grad, b, False, False, "MatMul", grad_a=True), mm(grad, a, True, False, "MatMul_1", grad_b=True)]
    if not tb:
        return [mm(b, grad, False, True, "MatMul", grad_a=True), mm(a, grad, False, False, "MatMul_1", grad_b=True)]
    return [mm(b, grad, True, True, "MatMul", grad_a=True), mm(grad, a, True, True, "MatMul_1", grad_b=True)]


# -- BatchMatMulV2 --------------------------------------------------------------------
def _batch_matmul_shape(op):
    x, y = op.inputs[0].shape, op.inputs[1].shape
    if x.ndims is None or y.ndims is None:
        return [TensorShape(None)]
    if x.ndims < 2 or y.ndims < 2:
        raise ValueError(f"Shape must be at least rank 2 for both inputs of '{op.name}', got {x} and {y}")
    xs, ys = x.as_list(), y.as_list()
    if op.get_attr("adj_x"):
        xs[-2:] = xs[:-3:-1]
    if op.get_attr("adj_y"):
        ys[-2:] = ys[:-3:-1]
    if xs[-1] is not None and ys[-2] is not None and xs[-1] != ys[-2]:
        raise ValueError(f"Dimensions must be equal, but are {xs[-1]} and {ys[-2]} for '{op.name}' "
                         "(op: 'BatchMatMulV2')")  # fmt: skip
    batch = common_shapes.broadcast_shape(TensorShape(xs[:-2]), TensorShape(ys[:-2]))
    return [TensorShape(batch.as_list() + [xs[-2], ys[-1]])]


def _batch_matmul(attrs, x, y):
    if attrs["adj_x"]:
        x = np.conj(np.swapaxes(x, -1, -2))
    if attrs["adj_y"]:
        y = np.conj(np.swapaxes(y, -1, -2))
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-2]:
        raise errors.InvalidArgumentError(f"Matrix size-incompatible: In[0]: {list(x.shape)}, In[1]: {list(y.shape)}")
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise errors.InvalidArgumentError(
            f"In[0] and In[1] must have compatible batch dimensions: {list(x.shape)} vs. {list(y.shape)}"
        ) from None
    return np.matmul(x, y)


register_op(
    "BatchMatMulV2", ["x: T", "y: T"], ["output: T"],
    ["T: {bfloat16, half, float, double, int16, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}",
     "adj_x: bool = false", "adj_y: bool = false", "grad_x: bool = false", "grad_y: bool = false"],
    shape=_batch_matmul_shape, kernel=_batch_matmul,
)  # fmt: skip


def _batch_shape(shape_tensor, name):
    # All but the last two entries of a shape vector.
    return apply_op("StridedSlice", input=shape_tensor, begin=np.array([0], np.int32), end=np.array([-2], np.int32),
                    strides=np.array([1], np.int32), begin_mask=1, name=name)  # fmt: skip


@register_gradient("BatchMatMulV2")
def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")

    def mm(a, b, adj_a, adj_b, name, **flag):
        return apply_op("BatchMatMulV2", x=a, y=b, adj_x=adj_a, adj_y=adj_b, name=name, **flag)

    if not adj_x and not adj_y:
        gx, gy = mm(grad, y, False, True, "MatMul", grad_x=True), mm(x, grad, True, False, "MatMul_1", grad_y=True)
    elif not adj_x:
        gx, gy = mm(grad, y, False, False, "MatMul", grad_x=True), mm(grad, x, True, False, "MatMul_1", grad_y=True)
    elif not adj_y:
        gx, gy = mm(y, grad, False, True, "MatMul", grad_x=True), mm(x, grad, False, False, "MatMul_1", grad_y=True)
    else:
        gx, gy = mm(y, grad, True, True, "MatMul", grad_x=True), mm(grad, x, True, True, "MatMul_1", grad_y=True)
    # Sum over the batch axes an input was broadcast along.
    xb, yb = x.shape[:-2], y.shape[:-2]
    if xb.is_fully_defined() and yb.is_fully_defined() and xb == yb:
        return [gx, gy]
    rx, ry = static_reduction_axes(xb, yb), static_reduction_axes(yb, xb)
    if rx is not None and ry is not None:
        return [reduce_to_shape(gx, x, rx), reduce_to_shape(gy, y, ry, "_1")]
    sx = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape")
    sy = apply_op("Shape", input=y, out_type=dtypes.int32, name="Shape_1")
    bx, by = _batch_shape(sx, "strided_slice"), _batch_shape(sy, "strided_slice_1")
    r0, r1 = apply_op("BroadcastGradientArgs", s0=bx, s1=by, name="BroadcastGradientArgs")
    gx = apply_op("Sum", input=gx, reduction_indices=r0, name="Sum")
    gy = apply_op("Sum", input=gy, reduction_indices=r1, name="Sum_1")
    gx = apply_op("Reshape", tensor=gx, shape=sx, name="Reshape")
    return [gx, apply_op("Reshape", tensor=gy, shape=sy, name="Reshape_1")]


# -- Python API -----------------------------------------------------------------
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, a_is_sparse=False,
           b_is_sparse=False, output_type=None, grad_a=False, grad_b=False, name=None):  # fmt: skip
    """Matrix product: ``MatMul`` for two rank-2 operands, else ``BatchMatMulV2``; default name ``MatMul``.

    ``adjoint_*`` conjugate-transposes an operand; ``transpose_*`` transposes it
    (only one of the two per operand). ``a_is_sparse``/``b_is_sparse`` are
    hints nanotf ignores.

    Raises:
        ValueError: both ``transpose_a`` and ``adjoint_a`` (or ``_b``) set.
        NotImplementedError: an ``output_type`` other than the inputs' type.
    """
    del a_is_sparse, b_is_sparse
    if transpose_a and adjoint_a:
        raise ValueError("Only one of transpose_a and adjoint_a can be True.")
    if transpose_b and adjoint_b:
        raise ValueError("Only one of transpose_b and adjoint_b can be True.")
    with name_scope(name, "MatMul", [a, b]) as scope:
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, dtype=a.dtype.base_dtype, name="b")
        if output_type is not None and dtypes.as_dtype(output_type) != a.dtype.base_dtype:
            raise NotImplementedError("matmul with an output_type other than the inputs' (a BatchMatMulV3) "
                                      "is not supported")  # fmt: skip
        ranks = (a.shape.ndims, b.shape.ndims)
        if any(r is None or r > 2 for r in ranks):
            # BatchMatMulV2 has no transpose: conjugate and take the adjoint instead.
            if transpose_a:
                a = conj(a)
            if transpose_b:
                b = conj(b)
            return apply_op("BatchMatMulV2", x=a, y=b, adj_x=adjoint_a or transpose_a, adj_y=adjoint_b or transpose_b,
                            name=scope)  # fmt: skip
        # MatMul has no adjoint: conjugate and transpose instead (a no-op conjugate for real types).
        if adjoint_a:
            a = conj(a)
        if adjoint_b:
            b = conj(b)
        return apply_op("MatMul", a=a, b=b, transpose_a=transpose_a or adjoint_a, transpose_b=transpose_b or adjoint_b,
                        grad_a=grad_a, grad_b=grad_b, name=scope)  # fmt: skip
