"""Per-run containers: ``TensorArrayV3`` and its ops, ``StackV2`` and its ops.

TensorFlow keeps these objects in the step's resource container: they live
for one ``Session.run``. nanotf gets the same lifetime without a container:
the creating op's kernel builds a fresh ``TensorArray``/``Stack`` object and
outputs a resource handle (a 0-d object array) that *holds* it, so every op
that receives the handle works on the object created in this run, and the
object is gone when the run's values are.

A TensorArray's ``flow`` output is a float scalar that carries no data; ops
thread it from write to read so that the graph orders them.

Gradients go through a gradient TensorArray (``TensorArrayGradV3``), one
per forward array and per ``tf.gradients`` call (its ``source``, the
``gradients*`` scope the call builds in): reading an element backprops as
writing its gradient there, writing an element as reading it back; gather
and scatter, concat and split pair the same way. Writes to a gradient array
add up, so several reads of one element sum their gradients.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops import array_ops
from nanotf.ops.tensor_array_ops import TensorArray

__all__ = ["TensorArrayState", "StackState"]


def _wrap(obj) -> np.ndarray:
    handle = np.empty((), dtype=object)
    handle[()] = obj
    return handle


def _unwrap(handle, kind):
    obj = handle[()] if isinstance(handle, np.ndarray) else handle
    if not isinstance(obj, kind):
        raise errors.InvalidArgumentError(f"expected a {kind.__name__} handle, got {type(obj).__name__}")
    return obj


def _dims(shape_proto):
    """A shape attr as a list of dims (None unknown), or None for unknown rank."""
    if shape_proto is None or shape_proto.unknown_rank:
        return None
    return [d.size if d.size >= 0 else None for d in shape_proto.dim]


def _compatible(dims, shape) -> bool:
    return dims is None or (len(dims) == len(shape) and all(d is None or d == s for d, s in zip(dims, shape)))


def _scalar_index(index) -> int:
    index = np.asarray(index)
    if index.ndim != 0:
        raise errors.InvalidArgumentError(f"index must be a scalar, got shape {list(index.shape)}")
    return int(index)


class TensorArrayState:
    """One TensorArray of one run: its elements and TF's rules for writing and reading them."""

    def __init__(self, dtype, size: int, element_shape, dynamic_size: bool, clear_after_read: bool,
                 identical_element_shapes: bool, name: str, aggregate_writes: bool = False):  # fmt: skip
        self.dtype = np.dtype(dtype)
        self.elements: list = [None] * size
        self.cleared = [False] * size
        self.element_shape = element_shape
        self.dynamic_size = dynamic_size
        self.clear_after_read = clear_after_read
        self.identical = identical_element_shapes
        self.name = name
        self.aggregate_writes = aggregate_writes
        self.grads: dict = {}

    def _fail(self, message: str):
        raise errors.InvalidArgumentError(f"TensorArray {self.name}: {message}")

    def write(self, index: int, value) -> None:
        value = np.asarray(value)
        if value.dtype != self.dtype:
            self._fail(f"TensorArray dtype is {self.dtype} but Op is trying to write dtype {value.dtype}.")
        if index < 0:
            self._fail(f"Tried to write to index {index} but it is negative.")
        if index >= len(self.elements):
            if not self.dynamic_size:
                self._fail(f"Tried to write to index {index} but array is not resizeable and size is: "
                           f"{len(self.elements)}")  # fmt: skip
            grow = index + 1 - len(self.elements)
            self.elements += [None] * grow
            self.cleared += [False] * grow
        if not _compatible(self.element_shape, value.shape):
            self._fail(f"Could not write to TensorArray index {index} because the value shape is "
                       f"{list(value.shape)} which is incompatible with the TensorArray's inferred element "
                       f"shape: {self.element_shape} (consider setting infer_shape=False).")  # fmt: skip
        if self.identical:
            self.element_shape = list(value.shape)
        current = self.elements[index]
        if current is not None or self.cleared[index]:
            if not self.aggregate_writes or current is None:
                self._fail(f"Could not write to TensorArray index {index} because it has already been "
                           "written to.")  # fmt: skip
            if current.shape != value.shape:
                self._fail(f"Could not aggregate to TensorArray index {index} because the existing shape is "
                           f"{list(current.shape)} but the new input shape is {list(value.shape)}.")  # fmt: skip
            value = current + value
        self.elements[index] = value

    def read(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self.elements):
            self._fail(f"Tried to read from index {index} but array size is: {len(self.elements)}")
        if self.cleared[index]:
            self._fail(f"Could not read index {index} twice because it was cleared after a previous read "
                       "(perhaps try setting clear_after_read = false?)")  # fmt: skip
        value = self.elements[index]
        if value is None:
            if self.element_shape is None or None in self.element_shape:
                self._fail(f"Could not read from TensorArray index {index}. Furthermore, the element shape is "
                           f"not fully defined: {self.element_shape}. If you set the full element_shape "
                           "property on the forward TensorArray, the proper all-zeros tensor will be returned "
                           "instead of incurring this error.")  # fmt: skip
            return np.zeros(self.element_shape, self.dtype)
        if self.clear_after_read:
            self.elements[index] = None
            self.cleared[index] = True
        return value

    def grad(self, source: str) -> TensorArrayState:
        """The gradient TensorArray for ``source`` (one per source; writes to it add up)."""
        grad = self.grads.get(source)
        if grad is None:
            grad = self.grads[source] = TensorArrayState(
                self.dtype, len(self.elements), self.element_shape, False, True, self.identical,
                f"{self.name}@{source}", aggregate_writes=True)  # fmt: skip
        return grad


# -- TensorArray ops ------------------------------------------------------------------------
def _tensor_array(attrs, size):
    state = TensorArrayState(
        attrs["dtype"].as_numpy_dtype, _scalar_index(size), _dims(attrs["element_shape"]), attrs["dynamic_size"],
        attrs["clear_after_read"], attrs["identical_element_shapes"], attrs["tensor_array_name"].decode() or "ta")
    return _wrap(state), np.array(0.0, np.float32)  # fmt: skip


def _ta(handle) -> TensorArrayState:
    return _unwrap(handle, TensorArrayState)


def _write(attrs, handle, index, value, flow_in):
    _ta(handle).write(_scalar_index(index), value)
    return flow_in


def _read(attrs, handle, index, flow_in):
    return _ta(handle).read(_scalar_index(index))


def _gather(attrs, handle, indices, flow_in):
    ta = _ta(handle)
    indices = np.asarray(indices).reshape(-1)
    if indices.size == 0:
        shape = _dims(attrs["element_shape"]) or ta.element_shape
        if shape is None or None in shape:
            ta._fail(f"TensorArray has size zero, but element shape {shape} is not fully defined. Currently only "
                     "static shapes are supported when packing zero-size TensorArrays.")  # fmt: skip
        return np.zeros([0, *shape], ta.dtype)
    values = [ta.read(int(i)) for i in indices]
    if len({v.shape for v in values}) > 1:
        ta._fail(f"TensorArray has inconsistent shapes: {sorted({v.shape for v in values})}")
    return np.stack(values)


def _scatter(attrs, handle, indices, value, flow_in):
    ta = _ta(handle)
    indices = np.asarray(indices).reshape(-1)
    value = np.asarray(value)
    if value.ndim == 0 or value.shape[0] != indices.size:
        ta._fail(f"Expected len(indices) == values.shape[0], but saw: {indices.size} vs. "
                 f"{value.shape[0] if value.ndim else 'a scalar'}")  # fmt: skip
    for k, i in enumerate(indices):
        ta.write(int(i), value[k])
    return flow_in


def _concat(attrs, handle, flow_in):
    ta = _ta(handle)
    values = [ta.read(i) for i in range(len(ta.elements))]
    if not values:
        rest = _dims(attrs["element_shape_except0"])
        if rest is None or None in rest:
            ta._fail("TensorArray has size zero and element_shape_except0 is not fully defined.")
        return np.zeros([0, *rest], ta.dtype), np.zeros([0], np.int64)
    if any(v.ndim == 0 for v in values):
        ta._fail("Concat saw a scalar shape; elements must be at least vectors.")
    lengths = np.array([v.shape[0] for v in values], np.int64)
    return np.concatenate(values, axis=0), lengths


def _split(attrs, handle, value, lengths, flow_in):
    ta = _ta(handle)
    value, lengths = np.asarray(value), np.asarray(lengths).reshape(-1)
    if value.ndim == 0 or int(lengths.sum()) != value.shape[0]:
        ta._fail(f"Expected sum of lengths to be equal to values.shape[0], but sum of lengths is "
                 f"{int(lengths.sum())} and value's shape is: {list(value.shape)}")  # fmt: skip
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for i in range(lengths.size):
        ta.write(i, value[starts[i]:starts[i + 1]])
    return flow_in


def _grad(attrs, handle, flow_in):
    return _wrap(_ta(handle).grad(attrs["source"].decode())), flow_in


def _gather_shape(op):
    element = TensorShape(op.get_attr("element_shape"))
    return [TensorShape([None]).concatenate(element) if element.ndims is not None else TensorShape(None)]


# -- gradients ---------------------------------------------------------------------------------
def _grad_source(tensor) -> str:
    """The scope of the ``tf.gradients`` call that built ``tensor`` (``gradients``, ``gradients_1``, ...)."""
    tokens = tensor.name.split("/")
    positions = [i for i, token in enumerate(tokens) if token.startswith("gradients")]
    if not positions:
        raise ValueError(f"Expected op/tensor name to start with gradients (excluding scope), got: {tensor.name}. "
                         "Give every tf.gradients call that has a custom name a name starting with 'gradients'.")
    return "/".join(tokens[:positions[-1] + 1])


def _grad_array(op, dtype_attr, flow, source) -> TensorArray:
    forward = TensorArray(op.get_attr(dtype_attr), handle=op.inputs[0], flow=flow, colocate_with_first_write_call=False)
    return forward.grad(source=source, flow=flow)


def _after_forward_write(op, flow):
    # The gradient array is read only once the forward write has happened (its size is final then).
    flow_out = array_ops.identity(op.outputs[0], name="flow_out")
    with op.graph.control_dependencies([flow_out]):
        return array_ops.identity(flow, name="write_barrier")


def _read_grad(op, grad):
    g = _grad_array(op, "dtype", op.inputs[2], _grad_source(grad))
    return [None, None, g.write(op.inputs[1], grad).flow]


def _write_grad(op, flow):
    source = _grad_source(flow)
    flow = _after_forward_write(op, flow)
    return [None, None, _grad_array(op, "T", flow, source).read(op.inputs[1]), flow]


def _gather_grad(op, grad):
    g = _grad_array(op, "dtype", op.inputs[2], _grad_source(grad))
    return [None, None, g.scatter(op.inputs[1], grad).flow]


def _scatter_grad(op, flow):
    source = _grad_source(flow)
    flow = _after_forward_write(op, flow)
    return [None, None, _grad_array(op, "T", flow, source).gather(op.inputs[1]), flow]


def _concat_grad(op, grad, _):
    g = _grad_array(op, "dtype", op.inputs[1], _grad_source(grad))
    return [None, g.split(grad, lengths=op.outputs[1]).flow]


def _split_grad(op, flow):
    source = _grad_source(flow)
    flow = _after_forward_write(op, flow)
    return [None, _grad_array(op, "T", flow, source).concat(), None, flow]


_SCALAR = TensorShape([])
# TF gives resource handles of these ops the shape of the old string handle, [2].
_HANDLE = TensorShape([2])
_ELEMENT = "element_shape: shape = { unknown_rank: true }"
register_op("TensorArrayV3", ["size: int32"], ["handle: resource", "flow: float"],
            ["dtype: type", _ELEMENT, "dynamic_size: bool = false", "clear_after_read: bool = true",
             "identical_element_shapes: bool = false", "tensor_array_name: string = ''"],
            shape=lambda op: [_HANDLE, _SCALAR], kernel=_tensor_array, is_stateful=True,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("TensorArrayWriteV3", ["handle: resource", "index: int32", "value: T", "flow_in: float"],
            ["flow_out: float"], ["T: type"], shape=lambda op: [_SCALAR], kernel=_write, is_stateful=True,
            grad=_write_grad)  # fmt: skip
register_op("TensorArrayReadV3", ["handle: resource", "index: int32", "flow_in: float"], ["value: dtype"],
            ["dtype: type"], shape=lambda op: [TensorShape(None)], kernel=_read, is_stateful=True,
            grad=_read_grad)  # fmt: skip
register_op("TensorArrayGatherV3", ["handle: resource", "indices: int32", "flow_in: float"], ["value: dtype"],
            ["dtype: type", _ELEMENT], shape=_gather_shape, kernel=_gather, is_stateful=True, grad=_gather_grad)
register_op("TensorArrayScatterV3", ["handle: resource", "indices: int32", "value: T", "flow_in: float"],
            ["flow_out: float"], ["T: type"], shape=lambda op: [_SCALAR], kernel=_scatter, is_stateful=True,
            grad=_scatter_grad)  # fmt: skip
register_op("TensorArrayConcatV3", ["handle: resource", "flow_in: float"], ["value: dtype", "lengths: int64"],
            ["dtype: type", "element_shape_except0: shape = { unknown_rank: true }"],
            shape=lambda op: [TensorShape(None), TensorShape([None])],
            kernel=_concat, is_stateful=True, grad=_concat_grad)  # fmt: skip
register_op("TensorArraySplitV3", ["handle: resource", "value: T", "lengths: int64", "flow_in: float"],
            ["flow_out: float"], ["T: type"], shape=lambda op: [_SCALAR], kernel=_split, is_stateful=True,
            grad=_split_grad)  # fmt: skip
register_op("TensorArraySizeV3", ["handle: resource", "flow_in: float"], ["size: int32"],
            shape=lambda op: [_SCALAR], kernel=lambda attrs, handle, flow: np.array(len(_ta(handle).elements), np.int32),
            is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("TensorArrayGradV3", ["handle: resource", "flow_in: float"], ["grad_handle: resource", "flow_out: float"],
            ["source: string"], shape=lambda op: [_HANDLE, _SCALAR], kernel=_grad, is_stateful=True,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("TensorArrayCloseV3", ["handle: resource"], [], shape=lambda op: [],
            kernel=lambda attrs, handle: (), is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Stack ops (the history a while loop's gradient replays) -----------------------------------
class StackState:
    """One stack of one run, with TF's element type and size checks."""

    def __init__(self, elem_type, max_size: int, name: str):
        self.dtype = np.dtype(elem_type)
        self.max_size = max_size
        self.name = name
        self.items: list = []

    def push(self, value) -> np.ndarray:
        value = np.asarray(value)
        if value.dtype != self.dtype:
            raise errors.InvalidArgumentError(f"Stack[{self.name}] expects a value of type {self.dtype}, "
                                              f"got {value.dtype}")  # fmt: skip
        if 0 <= self.max_size <= len(self.items):
            raise errors.InvalidArgumentError(f"Stack[{self.name}] overflowed its max_size ({self.max_size})")
        self.items.append(value)
        return value

    def pop(self) -> np.ndarray:
        if not self.items:
            raise errors.InvalidArgumentError(f"Stack[{self.name}] is empty.")
        return self.items.pop()


def _stack(attrs, max_size):
    return _wrap(StackState(attrs["elem_type"].as_numpy_dtype, _scalar_index(max_size),
                            attrs["stack_name"].decode() or "stack"))  # fmt: skip


def _pop(attrs, handle):
    stack = _unwrap(handle, StackState)
    expected = np.dtype(attrs["elem_type"].as_numpy_dtype)
    if stack.dtype != expected:
        raise errors.InvalidArgumentError(f"Stack[{stack.name}] holds {stack.dtype}, StackPopV2 expects "
                                          f"{dtypes.as_dtype(expected).name}")  # fmt: skip
    return stack.pop()


register_op("StackV2", ["max_size: int32"], ["handle: resource"], ["elem_type: type", "stack_name: string = ''"],
            shape=lambda op: [_HANDLE], kernel=_stack, is_stateful=True, grad=NOT_DIFFERENTIABLE)
register_op("StackPushV2", ["handle: resource", "elem: T"], ["output: T"], ["T: type", "swap_memory: bool = false"],
            shape=lambda op: [op.inputs[1].shape], kernel=lambda attrs, handle, elem: _unwrap(handle, StackState).push(elem),
            is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("StackPopV2", ["handle: resource"], ["elem: elem_type"], ["elem_type: type"],
            shape=lambda op: [TensorShape(None)], kernel=_pop, is_stateful=True, grad=NOT_DIFFERENTIABLE)
register_op("StackCloseV2", ["handle: resource"], [], shape=lambda op: [], kernel=lambda attrs, handle: (),
            is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip
