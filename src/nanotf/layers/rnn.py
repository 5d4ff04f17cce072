"""``tf.nn.dynamic_rnn``: a cell unrolled by a TF1 while loop over the time axis, as TensorFlow builds it.

Under the variable scope ``rnn`` (or ``scope``)::

    rnn/transpose            batch-major inputs -> time-major [time, batch, depth]
    rnn/TensorArray_1        the inputs, unstacked by time ("rnn/dynamic_rnn/input_0")
    rnn/TensorArray          the outputs, written by time ("rnn/dynamic_rnn/output_0")
    rnn/while/...            time, iteration counter, output arrays, state: one step per
                             iteration, the cell's ops under rnn/while/<cell name>/
    rnn/TensorArrayStack     the outputs stacked back to [time, batch, units]
    rnn/transpose_1          and made batch-major again

With ``sequence_length``, a batch entry whose sequence has ended gets zero
outputs and keeps its last state (a ``Select`` per output and state).
Gradients flow through the loop like any other (see ops/control_flow_state.py).
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework import tensor_shape
from nanotf.framework.graph import control_dependencies
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.layers.rnn_cell import zero_state_tensors
from nanotf.ops import _nest
from nanotf.ops import array_ops
from nanotf.ops.control_flow_ops import Assert
from nanotf.ops.tensor_array_ops import TensorArray
from nanotf.ops.while_v1 import while_loop
from nanotf.train.variable_scope import variable_scope

__all__ = ["dynamic_rnn"]


def _static_or_shape(x, name="Shape"):
    # TF folds the shape of a fully known tensor into a constant.
    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), np.int32), name=name)
    return apply_op("Shape", input=x, out_type=dtypes.int32, name=name)


def _transpose_batch_time(x):
    """``x`` with its first two axes swapped (rank < 2: unchanged)."""
    shape = x.shape
    if shape.ndims is not None and shape.ndims < 2:
        return x
    if shape.ndims is not None:
        rank = constant(np.int32(shape.ndims), name="Rank")
    else:
        rank = apply_op("Rank", input=x, name="Rank")
    rest = apply_op("Range", start=np.int32(2), limit=rank, delta=np.int32(1), name="range")
    perm = apply_op("ConcatV2", values=[np.array([1, 0], np.int32), rest], axis=np.int32(0), name="concat")
    x_t = apply_op("Transpose", x=x, perm=perm, name="transpose")
    if shape.ndims is not None:
        dims = shape.as_list()
        x_t.set_shape([dims[1], dims[0]] + dims[2:])
    return x_t


def _batch_size(flat_input):
    """The static batch size of time-major inputs if known, else a scalar tensor."""
    for x in flat_input:
        shape = x.shape
        if shape.ndims is None:
            continue
        if shape.ndims < 2:
            raise ValueError(f"Input tensor should have rank >= 2. Received input={x} of rank {shape.ndims}")
        if shape.as_list()[1] is not None:
            return shape.as_list()[1]
    return apply_op("Shape", input=flat_input[0], out_type=dtypes.int32, name="Shape")[1]


def _state_dtype(explicit, state):
    if explicit is not None:
        return dtypes.as_dtype(explicit)
    found = {s.dtype.base_dtype for s in _nest.flatten(state)}
    if len(found) != 1:
        raise ValueError(f"Unable to infer a single dtype from state={state}: {sorted(d.name for d in found)}")
    return found.pop()


def _sizes(size) -> list:
    return [size] if isinstance(size, (int, np.integer)) else tensor_shape.as_shape(size).as_list()


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):  # fmt: skip
    """Runs ``cell`` over the time axis of ``inputs`` in a while loop (TF1 ``tf.nn.dynamic_rnn``).

    Args:
        cell: an ``RNNCell``.
        inputs: ``[batch, time, depth]`` (``[time, batch, depth]`` if
            ``time_major``), or a nested structure of such tensors.
        sequence_length: optional int vector ``[batch]``: steps past an
            entry's length give zero outputs and keep the state.
        initial_state: the starting state (default: ``cell.zero_state``).
        dtype: the state dtype; required without ``initial_state``.
        parallel_iterations: recorded on the loop (default 32).
        swap_memory: recorded on the loop.
        time_major: inputs and outputs are time-major.
        scope: the variable scope (default ``rnn``).

    Returns:
        ``(outputs, final_state)``: outputs ``[batch, time, cell.output_size]``
        (time-major if ``time_major``), the state after the last step.

    Raises:
        ValueError: no ``dtype`` and no ``initial_state``, an input's depth
            or rank is not known, or the inputs disagree on time or batch.
    """
    with variable_scope(scope or "rnn"):
        flat_input = [convert_to_tensor(x) for x in _nest.flatten(inputs)]
        if not time_major:
            flat_input = [_transpose_batch_time(x) for x in flat_input]
        parallel_iterations = parallel_iterations or 32
        if sequence_length is not None:
            sequence_length = convert_to_tensor(sequence_length)
            if sequence_length.dtype.base_dtype != dtypes.int32:
                sequence_length = apply_op("Cast", x=sequence_length, DstT=dtypes.int32, Truncate=False, name="Cast")
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"Argument sequence_length must be a vector of length batch_size. Received "
                                 f"sequence_length={sequence_length} of shape: {sequence_length.shape}")  # fmt: skip
            sequence_length = array_ops.identity(sequence_length, name="sequence_length")
        batch_size = _batch_size(flat_input)
        if initial_state is not None:
            state = initial_state
        elif not dtype:
            raise ValueError("If no initial_state is provided, argument `dtype` must be specified")
        else:
            state = cell.zero_state(batch_size, dtype)
        if sequence_length is not None:
            with control_dependencies([_assert_has_shape(sequence_length, batch_size)]):
                sequence_length = array_ops.identity(sequence_length, name="CheckSeqLen")
        inputs = _nest.pack_sequence_as(inputs, flat_input)
        outputs, final_state = _dynamic_rnn_loop(cell, inputs, state, parallel_iterations, swap_memory,
                                                 sequence_length, dtype)  # fmt: skip
        if not time_major:
            outputs = _nest.map_structure(_transpose_batch_time, outputs)
        return outputs, final_state


def _assert_has_shape(x, batch_size):
    x_shape = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape")
    packed = apply_op("Pack", values=[convert_to_tensor(batch_size, dtype=dtypes.int32)], axis=0, name="stack")
    same = apply_op("All", input=apply_op("Equal", x=x_shape, y=packed, name="Equal"),
                    reduction_indices=np.array([0], np.int32), keep_dims=False, name="All")  # fmt: skip
    return Assert(same, [f"Expected shape for Tensor {x.name} is ", packed, " but saw shape: ", x_shape])


def _dynamic_rnn_loop(cell, inputs, initial_state, parallel_iterations, swap_memory, sequence_length, dtype):
    """The while loop of ``dynamic_rnn`` over time-major ``inputs``; returns (time-major outputs, final state)."""
    state = initial_state
    flat_input = _nest.flatten(inputs)
    flat_output_size = _nest.flatten(cell.output_size)
    time_steps = _static_or_shape(flat_input[0])[0]
    batch_size = _batch_size(flat_input)
    got_shapes = [x.shape for x in flat_input]
    for x, shape in zip(flat_input, got_shapes):
        if shape.ndims is not None and shape.ndims < 3:
            raise ValueError(f"Shape {shape} of input {x} must have rank at least 3")
        if shape.ndims is None or not shape[2:].is_fully_defined():
            raise ValueError(f"Input size (depth of inputs) must be accessible via shape inference, but saw value "
                             f"None for input={x}.")  # fmt: skip
    const_time_steps, const_batch_size = got_shapes[0].as_list()[:2]
    for x, shape in zip(flat_input, got_shapes):
        if shape.as_list()[0] != const_time_steps:
            raise ValueError(f"Time steps is not the same for all the elements in the input in a batch. Received "
                             f"time steps={shape.as_list()[0]} for input={x}.")  # fmt: skip
        if shape.as_list()[1] != const_batch_size:
            raise ValueError(f"Batch_size is not the same for all the elements in the input. Received batch "
                             f"size={shape.as_list()[1]} for input={x}.")  # fmt: skip
    state_dtype = _state_dtype(dtype, state)
    zero_output = _nest.pack_sequence_as(
        cell.output_size, [zero_state_tensors(size, batch_size, state_dtype) for size in flat_output_size])
    if sequence_length is not None:
        max_len = apply_op("Max", input=sequence_length, reduction_indices=np.array([0], np.int32), keep_dims=False,
                           name="Max")  # fmt: skip
    else:
        max_len = time_steps
    time = constant(np.int32(0), name="time")
    with name_scope("dynamic_rnn") as base_name:
        pass
    output_ta = tuple(
        TensorArray(state_dtype, size=time_steps, tensor_array_name=f"{base_name}output_{i}",
                    element_shape=tensor_shape.TensorShape([const_batch_size]).concatenate(_sizes(size)))
        for i, size in enumerate(flat_output_size))  # fmt: skip
    input_ta = tuple(
        TensorArray(x.dtype.base_dtype, size=time_steps, element_shape=x.shape[1:],
                    tensor_array_name=f"{base_name}input_{i}")
        for i, x in enumerate(flat_input))  # fmt: skip
    input_ta = tuple(ta.unstack(x) for ta, x in zip(input_ta, flat_input))

    def time_step(time, output_ta_t, state):
        input_t = tuple(ta.read(time) for ta in input_ta)
        for x, shape in zip(input_t, got_shapes):
            x.set_shape(shape[1:])
        input_t = _nest.pack_sequence_as(inputs, list(input_t))
        if sequence_length is not None:
            output, new_state = _step_with_lengths(time, sequence_length, zero_output, state,
                                                   lambda: cell(input_t, state))  # fmt: skip
        else:
            output, new_state = cell(input_t, state)
        output_ta_t = tuple(ta.write(time, out) for ta, out in zip(output_ta_t, _nest.flatten(output)))
        return time + 1, output_ta_t, new_state

    loop_bound = apply_op("Minimum", x=time_steps, y=apply_op("Maximum", x=np.int32(1), y=max_len, name="Maximum"),
                          name="Minimum")  # fmt: skip
    _, output_final_ta, final_state = while_loop(
        lambda time, *_: time < loop_bound, time_step, (time, output_ta, state),
        parallel_iterations=parallel_iterations, maximum_iterations=time_steps, swap_memory=swap_memory)
    final_outputs = [ta.stack() for ta in output_final_ta]
    for output, size in zip(final_outputs, flat_output_size):
        output.set_shape([const_time_steps, const_batch_size] + _sizes(size))
    return _nest.pack_sequence_as(cell.output_size, final_outputs), final_state


def _step_with_lengths(time, sequence_length, zero_output, state, call_cell):
    """One step for a batch whose entries end at ``sequence_length``: finished entries copy through."""
    new_output, new_state = call_cell()
    flat_zero, flat_state = _nest.flatten(zero_output), _nest.flatten(state)
    finished = apply_op("GreaterEqual", x=time, y=sequence_length, name="GreaterEqual")

    def copy_through(old, new):
        if new.shape.ndims == 0:
            return new
        return apply_op("Select", condition=finished, t=old, e=new, name="Select")

    outputs = [copy_through(z, o) for z, o in zip(flat_zero, _nest.flatten(new_output))]
    states = [copy_through(s, n) for s, n in zip(flat_state, _nest.flatten(new_state))]
    for out, z in zip(outputs, flat_zero):
        out.set_shape(z.shape)
    for new, old in zip(states, flat_state):
        new.set_shape(old.shape)
    return _nest.pack_sequence_as(zero_output, outputs), _nest.pack_sequence_as(state, states)
