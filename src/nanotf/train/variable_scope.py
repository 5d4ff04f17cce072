"""``variable_scope`` / ``get_variable``: named, reusable variables, optionally partitioned.

A graph keeps one ``_VarStore`` (full name -> variable) in a private
collection. ``variable_scope("s")`` extends the variable-name prefix (always
``s``) and opens a name scope (made unique: ``s``, ``s_1``...), as TF does.
``get_variable`` creates the variable at the root name scope under its full
name with a callable initial value, so its initializer ops sit under
``<name>/Initializer/`` like TensorFlow's. With a partitioner it creates
``<name>/part_<i>`` slices carrying ``SaveSliceInfo`` and returns a
``PartitionedVariable``.
"""

from __future__ import annotations

import contextlib
import functools
import threading

from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework.graph import GraphKeys
from nanotf.framework.tensor_shape import as_shape
from nanotf.train import initializers
from nanotf.train.variables import SaveSliceInfo
from nanotf.train.variables import Variable

__all__ = [
    "AUTO_REUSE",
    "VariableScope",
    "PartitionedVariable",
    "get_variable",
    "get_variable_scope",
    "variable_scope",
    "fixed_size_partitioner",
]


class _ReuseMode:
    def __repr__(self):
        return "AUTO_REUSE"


AUTO_REUSE = _ReuseMode()
_STORE_KEY = ("__variable_store",)


class VariableScope:
    """The settings ``get_variable`` reads: name prefix, reuse, default initializer, ..."""

    def __init__(self, reuse=None, name="", initializer=None, regularizer=None, partitioner=None, dtype=dtypes.float32,
                 use_resource=None, name_scope=""):  # fmt: skip
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.partitioner = partitioner
        self.dtype = dtypes.as_dtype(dtype)
        self.use_resource = use_resource
        self.original_name_scope = name_scope

    def reuse_variables(self) -> None:
        self.reuse = True

    def get_variable(self, name, **kwargs):
        return get_variable(name, **kwargs)


class PartitionedVariable:
    """A variable split into slices along one axis (``emb/part_0``, ``emb/part_1`` ...)."""

    def __init__(self, name, shape, dtype, variable_list, partitions):
        self._name = name
        self._shape = as_shape(shape)
        self._dtype = dtype
        self._variable_list = list(variable_list)
        self._partitions = list(partitions)

    name = property(lambda self: self._name)
    dtype = property(lambda self: self._dtype)
    shape = property(lambda self: self._shape)

    def get_shape(self):
        return self._shape

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self):
        return len(self._variable_list)

    def _get_variable_list(self) -> list:
        return list(self._variable_list)

    def _get_partitions(self) -> list:
        return list(self._partitions)

    def as_tensor(self):
        """The full value: the slices concatenated along the partitioned axis."""
        from nanotf.ops import array_ops

        axis = next((i for i, p in enumerate(self._partitions) if p > 1), 0)
        with graph_lib.name_scope(None):
            return array_ops.concat([v.value() for v in self._variable_list], axis, name=self._name + "/ConcatPartitions/concat")

    def _as_tensor(self, dtype=None, name=None, as_ref=False):
        return self.as_tensor()


class _VarStore:
    def __init__(self):
        self.vars: dict = {}


def _store(graph) -> _VarStore:
    ref = graph.get_collection_ref(_STORE_KEY)
    if not ref:
        ref.append(_VarStore())
    return ref[0]


_scope_local = threading.local()


def _scope_stack(graph) -> list:
    stacks = getattr(_scope_local, "stacks", None)
    if stacks is None:
        stacks = _scope_local.stacks = {}
    return stacks.setdefault(id(graph), [VariableScope()])


def get_variable_scope() -> VariableScope:
    """The innermost variable scope of the default graph."""
    return _scope_stack(graph_lib.get_default_graph())[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
                   caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                   use_resource=None, constraint=None, auxiliary_name_scope=True):  # fmt: skip
    """Opens a variable scope (and a name scope); yields the ``VariableScope``.

    Args:
        name_or_scope: a name, or a ``VariableScope`` to re-enter; None uses
            ``default_name`` made unique.
        reuse: True, ``AUTO_REUSE`` or None (inherit).
        initializer, regularizer, partitioner, dtype, use_resource: defaults
            for ``get_variable`` inside.
    """
    del values, caching_device, custom_getter, constraint
    graph = graph_lib.get_default_graph()
    stack = _scope_stack(graph)
    parent = stack[-1]
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        name_scope_arg = name_or_scope.original_name_scope or full
        base = name_or_scope
    else:
        if name_or_scope is None:
            if default_name is None:
                raise TypeError("If default_name is None then name_or_scope is required")
            name_or_scope = _unique_scope_name(graph, parent, default_name)
        full = f"{parent.name}/{name_or_scope}" if parent.name else name_or_scope
        name_scope_arg = name_or_scope
        base = parent
    new = VariableScope(
        reuse=reuse if reuse is not None else (True if parent.reuse is True else base.reuse if base is not parent else parent.reuse),
        name=full,
        initializer=initializer or base.initializer,
        regularizer=regularizer or base.regularizer,
        partitioner=partitioner or base.partitioner,
        dtype=dtype or base.dtype,
        use_resource=use_resource if use_resource is not None else base.use_resource,
    )
    if auxiliary_name_scope:
        ns_ctx = graph.name_scope(name_scope_arg)
    else:
        ns_ctx = contextlib.nullcontext(parent.original_name_scope)
    counts = _scope_counts(graph)
    counts[full] = counts.get(full, 0) + 1
    saved = dict(counts) if isinstance(name_or_scope, VariableScope) else None
    with ns_ctx as ns:
        new.original_name_scope = ns
        stack.append(new)
        try:
            yield new
        finally:
            stack.pop()
            _close_scope(graph, full, saved)


def _scope_counts(graph) -> dict:
    # Full scope name -> times opened, per graph: what default names are made unique against.
    holder = graph.get_collection_ref(("__variable_scope_counts",))
    if not holder:
        holder.append({})
    return holder[0]


def _close_scope(graph, full: str, saved: dict | None) -> None:
    # Leaving a named scope forgets the default names used inside it, so
    # re-entering "model" makes "model/dense" again (and can reuse it); a
    # re-entered VariableScope object puts the counts back as they were.
    holder = graph.get_collection_ref(("__variable_scope_counts",))
    if saved is not None:
        holder[0] = saved
        return
    inside = full + "/"
    for key in holder[0]:
        if key.startswith(inside):
            holder[0][key] = 0


def _unique_scope_name(graph, parent, default_name) -> str:
    # "dense", then "dense_1", ...: the first name no open or earlier scope under the parent used.
    counts = _scope_counts(graph)
    prefix = f"{parent.name}/" if parent.name else ""
    if not counts.get(prefix + default_name):
        return default_name
    i = 1
    while counts.get(f"{prefix}{default_name}_{i}"):
        i += 1
    return f"{default_name}_{i}"


def fixed_size_partitioner(num_shards, axis=0):
    """A partitioner splitting ``axis`` into ``num_shards`` slices."""

    def partitioner(shape, dtype=None):
        parts = [1] * len(as_shape(shape))
        parts[axis] = min(num_shards, as_shape(shape).as_list()[axis])
        return parts

    return partitioner


class _PartitionInfo:
    """What an initializer learns about the slice it fills (TF's ``_PartitionInfo``)."""

    def __init__(self, full_shape, var_offset):
        self.full_shape = list(full_shape)
        self.var_offset = list(var_offset)

    def slices(self, shape):
        return tuple(slice(o, o + int(s)) for o, s in zip(self.var_offset, shape))


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None, collections=None,
                 caching_device=None, partitioner=None, validate_shape=True, use_resource=None, custom_getter=None,
                 constraint=None, synchronization=None, aggregation=None):  # fmt: skip
    """Gets or creates the variable ``<scope>/<name>``.

    Raises:
        ValueError: creating one that exists without reuse, or reusing one
            that does not exist, with TF's messages.
    """
    del caching_device, custom_getter, constraint, synchronization, aggregation
    graph = graph_lib.get_default_graph()
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    store = _store(graph).vars
    reuse = scope.reuse
    if full in store:
        if reuse is None or reuse is False:
            raise ValueError(
                f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                "reuse=tf.AUTO_REUSE in VarScope?"
            )
        found = store[full]
        if shape is not None and not as_shape(shape).is_compatible_with(found.get_shape()):
            raise ValueError(f"Trying to share variable {full}, but specified shape {as_shape(shape)} and found shape "
                             f"{found.get_shape()}.")  # fmt: skip
        return found
    if reuse is True:
        raise ValueError(
            f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you mean to set "
            "reuse=tf.AUTO_REUSE in VarScope?"
        )
    dtype = dtypes.as_dtype(dtype or scope.dtype)
    initializer = initializer if initializer is not None else scope.initializer
    if initializer is None:
        initializer = initializers.glorot_uniform_initializer() if dtype.is_floating else initializers.zeros_initializer()
    elif isinstance(initializer, type):
        initializer = initializer()
    use_resource = use_resource if use_resource is not None else scope.use_resource
    partitioner = partitioner or scope.partitioner
    if collections is None:
        collections = [GraphKeys.GLOBAL_VARIABLES]
    kwargs = dict(trainable=trainable, collections=collections, validate_shape=validate_shape, use_resource=use_resource)
    if partitioner is not None:
        var = _partitioned(graph, full, shape, dtype, initializer, partitioner, kwargs)
    else:
        var = _single(graph, full, shape, dtype, initializer, None, kwargs)
    store[full] = var
    if regularizer is not None:
        with graph.name_scope(full + "/Regularizer/"):
            loss = regularizer(var)
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return var


def _single(graph, full, shape, dtype, initializer, partition_info, kwargs):
    if callable(initializer):
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was None.")
        dims = as_shape(shape).as_list()
        init = functools.partial(initializer, dims, dtype=dtype, partition_info=partition_info)
    else:
        init = initializer  # a Tensor or constant value
        kwargs = dict(kwargs, shape=shape)
    with graph.name_scope(None):
        return Variable(initial_value=init, name=full, dtype=dtype, **kwargs)


def _partitioned(graph, full, shape, dtype, initializer, partitioner, kwargs):
    dims = as_shape(shape).as_list()
    parts = partitioner(shape=as_shape(shape), dtype=dtype)
    axis = next((i for i, p in enumerate(parts) if p > 1), 0)
    n = parts[axis]
    base, extra = divmod(dims[axis], n)
    variables, offset = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        part_shape = list(dims)
        part_shape[axis] = size
        var_offset = [0] * len(dims)
        var_offset[axis] = offset
        info = _PartitionInfo(dims, var_offset)
        var = _single(graph, f"{full}/part_{i}", part_shape, dtype, initializer, info, kwargs)
        var._set_save_slice_info(SaveSliceInfo(full, dims, var_offset, part_shape))
        variables.append(var)
        offset += size
    return PartitionedVariable(full, dims, dtype, variables, parts)
