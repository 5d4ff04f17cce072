"""``tf.nn.rnn_cell``: the TF1 recurrent cells, building the graphs and variables TensorFlow's legacy cells build.

A cell is called once per time step (by ``dynamic_rnn``, inside its while
loop). The first call captures the cell's variable scope: ``<scope>/<cell
name>`` for variables (``rnn/lstm_cell/kernel``, created outside the loop)
and the name scope current at that call for ops (``rnn/while/lstm_cell/``);
later calls reuse both. Cell names are TF's: ``lstm_cell``,
``basic_lstm_cell``, ``gru_cell``, ``basic_rnn_cell``, ``multi_rnn_cell``
(whose cells sit under ``cell_<i>/``).

Gate layouts (columns of the one kernel each cell multiplies by
``[inputs, state]``)::

    LSTMCell / BasicLSTMCell  kernel [in + units, 4 * units]: i | j | f | o
        c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j);  h' = sigmoid(o) * tanh(c')
    GRUCell  gates/kernel [in + units, 2 * units]: r | u;  candidate/kernel [in + units, units]
        h' = u * h + (1 - u) * tanh([x, r * h] @ candidate/kernel + candidate/bias)
    BasicRNNCell  kernel [in + units, units]:  h' = tanh([x, h] @ kernel + bias)
"""

from __future__ import annotations

import collections
import re

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework import tensor_shape
from nanotf.framework.common_shapes import constant_value
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import _nest
from nanotf.ops import array_ops
from nanotf.ops import clip_ops
from nanotf.train import initializers
from nanotf.train.variable_scope import get_variable
from nanotf.train.variable_scope import variable_scope

__all__ = ["BasicLSTMCell", "BasicRNNCell", "GRUCell", "LSTMCell", "LSTMStateTuple", "MultiRNNCell", "RNNCell"]


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM state: the cell state ``c`` and the output ``h``."""

    __slots__ = ()

    @property
    def dtype(self):
        return self.c.dtype


def _snake_case(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def _size_vector(size):
    """``size`` (an int, a shape, or a scalar/vector int32 tensor) as an int32 vector, and its static dims or None."""
    if hasattr(size, "op"):
        value = constant_value(size)
        vector = size
        if size.shape.ndims != 1:
            vector = apply_op("ExpandDims", input=size, dim=np.int32(0), name="ExpandDims")
        return vector, None if value is None else np.atleast_1d(value).tolist()
    dims = [size] if isinstance(size, (int, np.integer)) else tensor_shape.as_shape(size).as_list()
    if None in dims:
        raise ValueError(f"Prefix or suffix can't be None. Received {size}")
    return constant(np.array(dims, np.int32), name="Const"), dims


def zero_state_tensors(state_size, batch_size, dtype):
    """Zeros ``[batch_size, s]`` for every ``s`` in the (nested) ``state_size``."""

    def zeros_for(s):
        prefix, prefix_dims = _size_vector(batch_size)
        suffix, suffix_dims = _size_vector(s)
        shape = apply_op("ConcatV2", values=[prefix, suffix], axis=np.int32(0), name="concat")
        zeros = array_ops.zeros(shape, dtype)
        if prefix_dims is not None:
            zeros.set_shape(prefix_dims + suffix_dims)
        return zeros

    return _nest.map_structure(zeros_for, state_size)


class RNNCell:
    """An RNN cell: ``(output, new_state) = cell(inputs, state)``, building its variables on first call.

    Subclasses give ``state_size``, ``output_size``, ``build(input_shape)``
    (creating variables with ``add_variable``) and ``call(inputs, state)``.

    Args:
        reuse: reuse the variables of an existing scope of the same name.
        name: the cell's scope name (default: the class name in snake case).
        dtype: the variables' dtype (default: the first input's).
    """

    def __init__(self, reuse=None, name=None, dtype=None):
        self._reuse = reuse
        self._base_name = name or _snake_case(type(self).__name__)
        self._dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        self._scope = None
        self._name_scope = None
        self.built = False
        self._variables: list = []

    @property
    def state_size(self):
        raise NotImplementedError

    @property
    def output_size(self):
        raise NotImplementedError

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self) -> list:
        return list(self._variables)

    @property
    def trainable_variables(self) -> list:
        return [v for v in self._variables if getattr(v, "trainable", True)]

    weights = variables
    trainable_weights = trainable_variables

    def build(self, input_shape) -> None:
        del input_shape

    def call(self, inputs, state):
        raise NotImplementedError

    def add_variable(self, name, shape, initializer=None):
        """Creates (or reuses) variable ``name`` in the cell's scope."""
        var = get_variable(name, shape=shape, dtype=self._dtype, initializer=initializer)
        if all(var is not v for v in self._variables):
            self._variables.append(var)
        return var

    add_weight = add_variable

    def __call__(self, inputs, state, scope=None):
        inputs = _nest.map_structure(convert_to_tensor, inputs)
        if self._scope is None:
            with variable_scope(scope, default_name=self._base_name) as vs:
                self._scope = vs
                self._name_scope = vs.original_name_scope
        if self._dtype is None:
            self._dtype = _nest.flatten(inputs)[0].dtype.base_dtype
        reuse = True if self.built or self._reuse else None
        with variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False), name_scope(self._name_scope):
            if not self.built:
                self.build(_nest.flatten(inputs)[0].shape)
                self.built = True
            return self.call(inputs, state)

    def zero_state(self, batch_size, dtype):
        """Zero-filled state(s) of shape ``[batch_size, s]`` for each ``s`` in ``state_size``."""
        with name_scope(type(self).__name__ + "ZeroState"):
            return zero_state_tensors(self.state_size, batch_size, dtypes.as_dtype(dtype))


def _input_depth(input_shape, cell) -> int:
    shape = tensor_shape.as_shape(input_shape)
    if shape.ndims is None or shape.as_list()[-1] is None:
        raise ValueError(f"Expected inputs.shape[-1] to be known, received shape: {shape} ({cell})")
    return shape.as_list()[-1]


def _linear(inputs, state, kernel, bias):
    """``[inputs, state] @ kernel + bias`` with TF's op names (concat, MatMul, BiasAdd)."""
    joined = apply_op("ConcatV2", values=[inputs, state], axis=np.int32(1), name="concat")
    product = apply_op("MatMul", a=joined, b=kernel, transpose_a=False, transpose_b=False, name="MatMul")
    return apply_op("BiasAdd", value=product, bias=bias, data_format="NHWC", name="BiasAdd")


def _split(value, n: int, axis):
    return apply_op("Split", split_dim=axis, value=value, num_split=n, name="split")


def _activation(fn):
    return fn if fn is not None else (lambda x: apply_op("Tanh", x=x, name="Tanh"))


def _sigmoid(x):
    return apply_op("Sigmoid", x=x, name="Sigmoid")


class BasicRNNCell(RNNCell):
    """``h' = activation([x, h] @ kernel + bias)``; the output is the new state."""

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None):
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._activation = _activation(activation)

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def build(self, input_shape) -> None:
        depth = _input_depth(input_shape, self)
        self._kernel = self.add_variable("kernel", [depth + self._num_units, self._num_units])
        self._bias = self.add_variable("bias", [self._num_units], initializers.zeros_initializer())

    def call(self, inputs, state):
        output = self._activation(_linear(inputs, state, self._kernel, self._bias))
        return output, output


class GRUCell(RNNCell):
    """A gated recurrent unit (see the module docstring for the gates)."""

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None, bias_initializer=None,
                 name=None, dtype=None):  # fmt: skip
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._activation = _activation(activation)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def build(self, input_shape) -> None:
        depth, units = _input_depth(input_shape, self), self._num_units
        gate_bias = self._bias_initializer or initializers.constant_initializer(1.0)
        candidate_bias = self._bias_initializer or initializers.zeros_initializer()
        self._gate_kernel = self.add_variable("gates/kernel", [depth + units, 2 * units], self._kernel_initializer)
        self._gate_bias = self.add_variable("gates/bias", [2 * units], gate_bias)
        self._candidate_kernel = self.add_variable("candidate/kernel", [depth + units, units], self._kernel_initializer)
        self._candidate_bias = self.add_variable("candidate/bias", [units], candidate_bias)

    def call(self, inputs, state):
        value = _sigmoid(_linear(inputs, state, self._gate_kernel, self._gate_bias))
        r, u = _split(value, 2, np.int32(1))
        candidate = _linear(inputs, r * state, self._candidate_kernel, self._candidate_bias)
        c = self._activation(candidate)
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class BasicLSTMCell(RNNCell):
    """The basic LSTM (no peepholes, no projection); state ``LSTMStateTuple(c, h)``."""

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None):  # fmt: skip
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)

    @property
    def state_size(self):
        units = self._num_units
        return LSTMStateTuple(units, units) if self._state_is_tuple else 2 * units

    @property
    def output_size(self):
        return self._num_units

    def build(self, input_shape) -> None:
        depth, units = _input_depth(input_shape, self), self._num_units
        self._kernel = self.add_variable("kernel", [depth + units, 4 * units])
        self._bias = self.add_variable("bias", [4 * units], initializers.zeros_initializer())

    def call(self, inputs, state):
        one = constant(1, dtype=dtypes.int32)
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = _split(state, 2, one)
        i, j, f, o = _split(_linear(inputs, h, self._kernel, self._bias), 4, one)
        forget_bias = constant(self._forget_bias, dtype=f.dtype.base_dtype)

        def add(x, y):
            return apply_op("AddV2", x=x, y=y, name="Add")

        def mul(x, y):
            return apply_op("Mul", x=x, y=y, name="Mul")

        new_c = add(mul(c, _sigmoid(add(f, forget_bias))), mul(_sigmoid(i), self._activation(j)))
        new_h = mul(self._activation(new_c), _sigmoid(o))
        if self._state_is_tuple:
            return new_h, LSTMStateTuple(new_c, new_h)
        return new_h, apply_op("ConcatV2", values=[new_c, new_h], axis=np.int32(1), name="concat")


class LSTMCell(RNNCell):
    """The LSTM of ``tf.nn.rnn_cell.LSTMCell``, with optional peepholes, cell clipping and projection.

    Args:
        num_units: the cell size.
        use_peepholes: add the diagonal peephole connections (``w_f_diag``,
            ``w_i_diag``, ``w_o_diag``).
        cell_clip: clip the cell state to ``[-cell_clip, cell_clip]``.
        initializer: the kernels' initializer (default: glorot uniform).
        num_proj: project the output to this size (``projection/kernel``).
        proj_clip: clip the projected output.
        forget_bias: added to the forget gate's pre-activation.
        state_is_tuple: state as ``LSTMStateTuple(c, h)`` (else concatenated).
        activation: the cell activation (default tanh).
    """

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None, num_proj=None,
                 proj_clip=None, num_unit_shards=None, num_proj_shards=None, forget_bias=1.0, state_is_tuple=True,
                 activation=None, reuse=None, name=None, dtype=None):  # fmt: skip
        del num_unit_shards, num_proj_shards  # deprecated in TF too
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)
        out = num_proj or num_units
        self._state_size = LSTMStateTuple(num_units, out) if state_is_tuple else num_units + out
        self._output_size = out

    @property
    def state_size(self):
        return self._state_size

    @property
    def output_size(self):
        return self._output_size

    def build(self, input_shape) -> None:
        depth, units = _input_depth(input_shape, self), self._num_units
        h_depth = self._num_proj or units
        self._kernel = self.add_variable("kernel", [depth + h_depth, 4 * units], self._initializer)
        self._bias = self.add_variable("bias", [4 * units], initializers.zeros_initializer())
        if self._use_peepholes:
            self._w_f_diag = self.add_variable("w_f_diag", [units], self._initializer)
            self._w_i_diag = self.add_variable("w_i_diag", [units], self._initializer)
            self._w_o_diag = self.add_variable("w_o_diag", [units], self._initializer)
        if self._num_proj is not None:
            self._proj_kernel = self.add_variable("projection/kernel", [units, self._num_proj], self._initializer)

    def call(self, inputs, state):
        units, out = self._num_units, self._output_size
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = apply_op("Slice", input=state, begin=np.array([0, 0], np.int32),
                              size=np.array([-1, units], np.int32), name="Slice")  # fmt: skip
            m_prev = apply_op("Slice", input=state, begin=np.array([0, units], np.int32),
                              size=np.array([-1, out], np.int32), name="Slice_1")  # fmt: skip
        _input_depth(inputs.shape, self)
        i, j, f, o = _split(_linear(inputs, m_prev, self._kernel, self._bias), 4, np.int32(1))
        if self._use_peepholes:
            c = (_sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev
                 + _sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))  # fmt: skip
        else:
            c = _sigmoid(f + self._forget_bias) * c_prev + _sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = clip_ops.clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = _sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            m = _sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            m = apply_op("MatMul", a=m, b=self._proj_kernel, transpose_a=False, transpose_b=False, name="MatMul")
            if self._proj_clip is not None:
                m = clip_ops.clip_by_value(m, -self._proj_clip, self._proj_clip)
        if self._state_is_tuple:
            return m, LSTMStateTuple(c, m)
        return m, apply_op("ConcatV2", values=[c, m], axis=np.int32(1), name="concat")


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output is the next one's input; the state is the tuple of their states.

    Variables are scoped ``multi_rnn_cell/cell_<i>/<cell name>/...``.
    """

    def __init__(self, cells, state_is_tuple=True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not state_is_tuple:
            raise ValueError("nanotf's MultiRNNCell keeps its state as a tuple; pass state_is_tuple=True")
        self._cells = list(cells)

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    @property
    def variables(self) -> list:
        return [v for cell in self._cells for v in cell.variables]

    @property
    def trainable_variables(self) -> list:
        return [v for cell in self._cells for v in cell.trainable_variables]

    def zero_state(self, batch_size, dtype):
        with name_scope(type(self).__name__ + "ZeroState"):
            return tuple(cell.zero_state(batch_size, dtype) for cell in self._cells)

    def call(self, inputs, state):
        new_states = []
        for i, cell in enumerate(self._cells):
            with variable_scope(f"cell_{i}"):
                inputs, new_state = cell(inputs, state[i])
            new_states.append(new_state)
        return inputs, tuple(new_states)
