"""``Tensor``: one output of an ``Operation``, with TF1's Python operators.

The operators create ops by TensorFlow type name (``x + y`` is an ``AddV2``
named ``add``) through ``op_def_library``; the op library is never imported.
"""

from __future__ import annotations

from nanotf.framework import tensor_shape


def _lib():
    # Imported late: op_def_library builds on graph.py, which defines Operation.
    from nanotf.framework import op_def_library

    return op_def_library


class Tensor:
    """A symbolic handle to one output of an ``Operation``."""

    # Make NumPy defer to our reflected operators (np.float32(2) * t).
    __array_priority__ = 100

    def __init__(self, op, value_index: int, dtype):
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = tensor_shape.TensorShape(None)

    op = property(lambda self: self._op)
    value_index = property(lambda self: self._value_index)
    dtype = property(lambda self: self._dtype)
    graph = property(lambda self: self._op._graph)
    device = property(lambda self: self._op._device)

    @property
    def name(self) -> str:
        return f"{self._op._name}:{self._value_index}"

    @property
    def shape(self) -> tensor_shape.TensorShape:
        return self._shape

    def get_shape(self) -> tensor_shape.TensorShape:
        return self._shape

    def set_shape(self, shape) -> None:
        """Refines the static shape; raises ValueError if incompatible."""
        self._shape = self._shape.merge_with(tensor_shape.as_shape(shape))

    def consumers(self) -> list:
        return [op for op in self._op._consumers if any(t is self for t in op._inputs)]

    def _as_node_def_input(self) -> str:
        return self._op._name if self._value_index == 0 else f"{self._op._name}:{self._value_index}"

    def eval(self, feed_dict=None, session=None):
        """The value of this tensor in ``session`` (default: the default session)."""
        from nanotf.framework import session_hook

        return session_hook.run_in_default_session(self, feed_dict, self.graph, session)

    def __repr__(self):
        # dtype is None only for an output of an imported op nanotf does not register (see importer.py).
        dtype = self._dtype.name if self._dtype is not None else "unknown"
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={dtype}>"

    __str__ = __repr__

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        # TF1 graph tensors compare by identity (so they can be dict keys).
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError(
            "Using a `tf.Tensor` as a Python `bool` is not allowed in graph mode. "
            "Use `if t is not None:` instead of `if t:`."
        )

    def __iter__(self):
        shape = self._shape
        if shape.ndims is None or shape[0].value is None:
            raise TypeError("Cannot iterate over a tensor with unknown first dimension.")
        return iter(self[i] for i in range(shape[0].value))

    def __len__(self):
        raise TypeError(f"len is not well defined for symbolic Tensors. ({self.name})")

    # -- operators (TF1 names: x + y -> AddV2 'add') ------------------------
    def __add__(self, other):
        return _lib().binary_op("AddV2", "add", self, other)

    def __radd__(self, other):
        return _lib().binary_op("AddV2", "add", other, self, reverse=True)

    def __sub__(self, other):
        return _lib().binary_op("Sub", "sub", self, other)

    def __rsub__(self, other):
        return _lib().binary_op("Sub", "sub", other, self, reverse=True)

    def __mul__(self, other):
        return _lib().binary_op("Mul", "mul", self, other)

    def __rmul__(self, other):
        return _lib().binary_op("Mul", "mul", other, self, reverse=True)

    def __truediv__(self, other):
        return _lib().truediv(self, other)

    def __rtruediv__(self, other):
        return _lib().truediv(other, self, reverse=True)

    def __floordiv__(self, other):
        return _lib().binary_op("FloorDiv", "floordiv", self, other)

    def __rfloordiv__(self, other):
        return _lib().binary_op("FloorDiv", "floordiv", other, self, reverse=True)

    def __mod__(self, other):
        return _lib().binary_op("FloorMod", "mod", self, other)

    def __rmod__(self, other):
        return _lib().binary_op("FloorMod", "mod", other, self, reverse=True)

    def __pow__(self, other):
        return _lib().binary_op("Pow", "pow", self, other)

    def __rpow__(self, other):
        return _lib().binary_op("Pow", "pow", other, self, reverse=True)

    def __matmul__(self, other):
        return _lib().binary_op("MatMul", "matmul", self, other)

    def __rmatmul__(self, other):
        return _lib().binary_op("MatMul", "matmul", other, self, reverse=True)

    def __lt__(self, other):
        return _lib().binary_op("Less", "Less", self, other)

    def __le__(self, other):
        return _lib().binary_op("LessEqual", "LessEqual", self, other)

    def __gt__(self, other):
        return _lib().binary_op("Greater", "Greater", self, other)

    def __ge__(self, other):
        return _lib().binary_op("GreaterEqual", "GreaterEqual", self, other)

    def __and__(self, other):
        return _lib().binary_op("LogicalAnd", "and", self, other)

    def __or__(self, other):
        return _lib().binary_op("LogicalOr", "or", self, other)

    def __neg__(self):
        return _lib().unary_op("Neg", "Neg", self)

    def __abs__(self):
        return _lib().unary_op("Abs", "Abs", self)

    def __invert__(self):
        return _lib().unary_op("LogicalNot", "LogicalNot", self)

    def __getitem__(self, key):
        return _lib().strided_slice_item(self, key)
