"""``tf.TensorArray``: TF1's graph-mode TensorArray over the ``TensorArray*V3`` ops.

A ``TensorArray`` object is a (handle, flow) pair. Every write returns a new
object with the write's ``flow_out`` (the array itself is the same run-time
object, see data_flow_ops.py); reading through the newest flow orders the
read after the writes. While loops and conds carry a TensorArray as its flow
tensor and rebuild it on the other side (``with_flow``).
"""

from __future__ import annotations

import contextlib

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework import tensor_shape
from nanotf.framework.common_shapes import constant_value
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import array_ops
from nanotf.ops import gradient_util
from nanotf.ops import math_ops

__all__ = ["TensorArray"]


class TensorArray:
    """A list of tensors of one dtype, written and read by index inside a graph.

    Args (as TF's ``tf.TensorArray``):
        dtype: the element dtype.
        size: the number of elements (int or int32 tensor); required unless
            ``handle`` is given.
        dynamic_size: writes past the end grow the array.
        clear_after_read: an element can be read once (default True).
        tensor_array_name: the runtime name (the op's ``tensor_array_name``).
        handle, flow: wrap an existing TensorArray.
        infer_shape: all elements share one shape, inferred from writes.
        element_shape: the static shape of each element, if known.
        colocate_with_first_write_call: colocate the ops with the first value written.
        name: the name scope (default ``TensorArray``).
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):  # fmt: skip
        if (handle is None) == (size is None):
            raise ValueError("Exactly one of size and handle must be provided")
        if handle is not None and flow is None:
            raise ValueError("flow must not be None if handle is not None.")
        self._dtype = dtypes.as_dtype(dtype).base_dtype
        self._dynamic_size = bool(dynamic_size)
        self._size = size
        self._infer_shape = infer_shape
        self._element_shape = [tensor_shape.as_shape(element_shape) if element_shape is not None
                               else tensor_shape.TensorShape(None)]  # fmt: skip
        self._colocate_with = [] if colocate_with_first_write_call else None
        if handle is not None:
            self._handle, self._flow = handle, flow
            return
        graph = graph_lib.get_default_graph()
        with graph_lib.name_scope(name, "TensorArray", [size]) as scope:
            outside = (graph.device(""), graph.colocate_with(None)) if colocate_with_first_write_call else ()
            with contextlib.ExitStack() as stack:
                for ctx in outside:
                    stack.enter_context(ctx)
                self._handle, self._flow = apply_op(
                    "TensorArrayV3", size=size, dtype=self._dtype, element_shape=self._element_shape[0],
                    identical_element_shapes=infer_shape, dynamic_size=self._dynamic_size,
                    clear_after_read=True if clear_after_read is None else clear_after_read,
                    tensor_array_name=tensor_array_name or "", name=scope)  # fmt: skip

    # -- properties --------------------------------------------------------------------------
    @property
    def flow(self):
        """The flow tensor: thread it to order reads after writes."""
        return self._flow

    @property
    def handle(self):
        return self._handle

    @property
    def dtype(self):
        return self._dtype

    @property
    def element_shape(self) -> tensor_shape.TensorShape:
        return self._element_shape[0]

    def with_flow(self, flow) -> TensorArray:
        """This TensorArray with a new flow (what a write, a loop or a cond gives back)."""
        ta = object.__new__(TensorArray)
        ta.__dict__.update(self.__dict__)
        ta._flow = flow
        return ta

    def _check_element_shape(self, shape) -> None:
        if not shape.is_compatible_with(self.element_shape):
            raise ValueError(f"Inconsistent shapes: saw {shape} but expected {self.element_shape} ")
        if self._infer_shape:
            self._element_shape[0] = self.element_shape.merge_with(shape)

    def _check_dtype(self, value) -> None:
        if value.dtype.base_dtype != self._dtype:
            raise errors.InvalidArgumentError(
                f"TensorArray dtype is {self._dtype.name} but Op is trying to write dtype {value.dtype.base_dtype.name} ")

    @contextlib.contextmanager
    def _maybe_colocate_with(self, value):
        if self._colocate_with is None:
            yield
            return
        if not self._colocate_with:
            self._colocate_with.append(value)
        with graph_lib.get_default_graph().colocate_with(self._colocate_with[0]):
            yield

    # -- reading -------------------------------------------------------------------------------
    def read(self, index, name=None):
        """The element at ``index`` (cleared afterwards if ``clear_after_read``)."""
        value = apply_op("TensorArrayReadV3", handle=self._handle, index=index, flow_in=self._flow,
                         dtype=self._dtype, name=name or "TensorArrayReadV3")  # fmt: skip
        if self.element_shape.ndims is not None:
            value.set_shape(self.element_shape)
        return value

    def gather(self, indices, name=None):
        """The elements at ``indices``, stacked along a new first axis."""
        value = apply_op("TensorArrayGatherV3", handle=self._handle, indices=indices, flow_in=self._flow,
                         dtype=self._dtype, element_shape=self.element_shape, name=name or "TensorArrayGatherV3")
        if self.element_shape.ndims is not None:
            value.set_shape(tensor_shape.TensorShape([None]).concatenate(self.element_shape))
        return value

    def stack(self, name=None):
        """All elements stacked (``gather(range(size()))``), colocated with the array as in TF."""
        graph = graph_lib.get_default_graph()
        with graph.colocate_with(self._handle.op), graph_lib.name_scope(name, "TensorArrayStack", [self._handle]):
            value = self.gather(math_ops.range(0, self.size()), name=name)
        size = None if self._dynamic_size else self._size
        if hasattr(size, "op"):
            size = constant_value(size)
        if size is not None and self.element_shape.ndims is not None:
            value.set_shape(tensor_shape.TensorShape([int(size)]).concatenate(self.element_shape))
        return value

    def concat(self, name=None):
        """All elements concatenated along their first axis."""
        rest = self.element_shape[1:] if self.element_shape.ndims else tensor_shape.TensorShape(None)
        value, _ = apply_op("TensorArrayConcatV3", handle=self._handle, flow_in=self._flow, dtype=self._dtype,
                            element_shape_except0=rest, name=name or "TensorArrayConcatV3")  # fmt: skip
        return value

    def size(self, name=None):
        """The number of elements: the static size if there is one, else a ``TensorArraySizeV3``."""
        if not self._dynamic_size and self._size is not None:
            return convert_to_tensor(self._size, dtype=dtypes.int32)
        return apply_op("TensorArraySizeV3", handle=self._handle, flow_in=self._flow, name=name or "TensorArraySizeV3")

    # -- writing -------------------------------------------------------------------------------
    def write(self, index, value, name=None) -> TensorArray:
        """A TensorArray with ``value`` written at ``index``."""
        with graph_lib.name_scope(name, "TensorArrayWrite", [self._handle, index, value]):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            self._check_dtype(value)
            self._check_element_shape(value.shape)
            with self._maybe_colocate_with(value):
                flow_out = apply_op("TensorArrayWriteV3", handle=self._handle, index=index, value=value,
                                    flow_in=self._flow, name=name or "TensorArrayWriteV3")  # fmt: skip
        return self.with_flow(flow_out)

    def scatter(self, indices, value, name=None) -> TensorArray:
        """A TensorArray with ``value[i]`` written at ``indices[i]``."""
        with graph_lib.name_scope(name, "TensorArrayScatter", [self._handle, value, indices]):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            self._check_dtype(value)
            self._check_element_shape(value.shape[1:])
            with self._maybe_colocate_with(value):
                flow_out = apply_op("TensorArrayScatterV3", handle=self._handle, indices=indices, value=value,
                                    flow_in=self._flow, name=name or "TensorArrayScatterV3")  # fmt: skip
        return self.with_flow(flow_out)

    def split(self, value, lengths, name=None) -> TensorArray:
        """A TensorArray holding consecutive pieces of ``value`` (along axis 0) of the given ``lengths``."""
        with graph_lib.name_scope(name, "TensorArraySplit", [self._handle, value, lengths]):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            self._check_dtype(value)
            with self._maybe_colocate_with(value):
                lengths = convert_to_tensor(lengths, preferred_dtype=dtypes.int64)
                if lengths.dtype.base_dtype != dtypes.int64:
                    lengths = math_ops.cast(lengths, dtypes.int64)
                flow_out = apply_op("TensorArraySplitV3", handle=self._handle, value=value, lengths=lengths,
                                    flow_in=self._flow, name=name or "TensorArraySplitV3")  # fmt: skip
        return self.with_flow(flow_out)

    def unstack(self, value, name=None) -> TensorArray:
        """A TensorArray holding the slices of ``value`` along its first axis."""
        with graph_lib.name_scope(name, "TensorArrayUnstack", [self._handle, value]):
            value = convert_to_tensor(value)
            num_elements = gradient_util.shape_of(value)[0]
            return self.scatter(indices=math_ops.range(0, num_elements), value=value, name=name)

    def grad(self, source, flow=None, name=None) -> TensorArray:
        """The gradient TensorArray of this one for gradient computation ``source`` (one per source).

        ``flow`` orders the creation after the last forward write (the
        forward array's final size decides the gradient array's).
        """
        flow = self._flow if flow is None else flow
        graph = graph_lib.get_default_graph()
        with graph_lib.name_scope(name, "TensorArrayGrad", [self._handle]), graph.colocate_with(self._handle.op):
            g_handle, _ = apply_op("TensorArrayGradV3", handle=self._handle, flow_in=flow, source=source,
                                   name=name or "TensorArrayGradV3")  # fmt: skip
            with graph.control_dependencies([g_handle]):
                flow = array_ops.identity(flow, name="gradient_flow")
            g = TensorArray(self._dtype, handle=g_handle, flow=flow, infer_shape=self._infer_shape,
                            colocate_with_first_write_call=False)  # fmt: skip
            g._element_shape = self._element_shape
            return g

    def identity(self) -> TensorArray:
        """This TensorArray with its flow through an ``Identity`` (picks up control dependencies)."""
        return self.with_flow(array_ops.identity(self._flow))

    def close(self, name=None):
        return apply_op("TensorArrayCloseV3", handle=self._handle, name=name or "TensorArrayCloseV3")
