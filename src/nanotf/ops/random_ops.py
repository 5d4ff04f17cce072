"""Random ops and TensorFlow's seed derivation (graph-level + op-level seeds -> ``seed``/``seed2`` attrs).

The attrs match what TensorFlow writes for the same program, and so do the
numbers: the kernels are TensorFlow's Philox streams (``ops/philox.py``), one
per op and session, advancing on every run as TF's do.
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import get_default_graph
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.ops._types import FLOAT
from nanotf.ops._types import INDEX
from nanotf.ops import philox

def get_seed(op_seed):
    """The (seed, seed2) pair TensorFlow derives from the graph seed and ``op_seed``.

    Returns:
        ``(None, None)`` when neither is set; otherwise a pair of ints. Without
        an op seed, TF 2.x takes the graph's seed counter (0, 1, 2, ... per
        random op asking), not the op count as TF 1 did.
    """
    graph = get_default_graph()
    seeds = philox.op_seeds(graph.seed, op_seed, graph._seed_offset)
    if graph.seed is not None and op_seed is None:
        graph._seed_offset += 1
    return seeds


def set_random_seed(seed):
    """Sets the graph-level seed of the default graph."""
    get_default_graph().seed = seed


def _shape_from_input(op):
    return [common_shapes.constant_value_as_shape(op.inputs[0])]


def _random_kernel(sample):
    """A kernel drawing from the op's Philox stream; each run moves the stream on."""

    def kernel(ctx, attrs, shape, *bounds):
        stream = ctx.random_stream(attrs["seed"], attrs["seed2"])
        out_type = attrs["dtype"] if "dtype" in attrs else attrs["Tout"]
        shape = tuple(int(d) for d in shape)
        out = sample(shape, *(int(b) for b in bounds), out_type, stream.seed, stream.seed2, skip=stream.skip)
        stream.skip += philox.reserved_blocks(out.size)
        return out

    return kernel


_SEEDS = ["seed: int = 0", "seed2: int = 0"]
for _name, _sample in (("RandomStandardNormal", philox.random_standard_normal),
                       ("TruncatedNormal", philox.truncated_normal),
                       ("RandomUniform", philox.random_uniform)):  # fmt: skip
    register_op(_name, ["shape: T"], ["output: dtype"], _SEEDS + [f"dtype: {FLOAT}", f"T: {INDEX}"],
                shape=_shape_from_input, kernel=_random_kernel(_sample), uses_store=True, is_stateful=True,
                grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("RandomUniformInt", ["shape: T", "minval: Tout", "maxval: Tout"], ["output: Tout"],
            _SEEDS + [f"Tout: {INDEX}", f"T: {INDEX}"], shape=_shape_from_input, uses_store=True, is_stateful=True,
            kernel=_random_kernel(philox.random_uniform_int), grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _seed_attrs(seed):
    seed1, seed2 = get_seed(seed)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def _shape_tensor(shape):
    if isinstance(shape, (list, tuple)) and not any(hasattr(d, "op") for d in shape):
        return convert_to_tensor(np.array(shape, dtype=np.int32), name="shape")
    return convert_to_tensor(shape, name="shape")


def _normal(op_type, default_name, shape, mean, stddev, dtype, seed, name):
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, default_name, [shape, mean, stddev]) as scope:
        shape_t = _shape_tensor(shape)
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = apply_op(op_type, shape=shape_t, dtype=dtype, **_seed_attrs(seed))
        mul = apply_op("Mul", x=rnd, y=stddev_t, name="mul")
        return apply_op("AddV2", x=mul, y=mean_t, name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal samples: ``RandomStandardNormal * stddev + mean`` under scope ``random_normal``."""
    return _normal("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal samples within two stddevs, under scope ``truncated_normal``."""
    return _normal("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Uniform samples in [minval, maxval) under scope ``random_uniform``.

    As TF: the default float range [0, 1) is the bare ``RandomUniform``;
    ``minval=0`` (int) with another max is ``RandomUniform * max``.
    """
    dtype = dtypes.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"Must specify maxval for integer dtype {dtype!r}")
        maxval = 1
    min_is_zero = type(minval) is int and minval == 0
    max_is_one = type(maxval) is int and maxval == 1
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        shape_t = _shape_tensor(shape)
        if dtype.is_integer or not (min_is_zero and max_is_one):
            lo = convert_to_tensor(minval, dtype=dtype, name="min")
            hi = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            return apply_op("RandomUniformInt", shape=shape_t, minval=lo, maxval=hi, name=scope, **_seed_attrs(seed))
        rnd = apply_op("RandomUniform", shape=shape_t, dtype=dtype, **_seed_attrs(seed))
        if min_is_zero:
            return rnd if max_is_one else apply_op("Mul", x=rnd, y=hi, name="Mul")
        span = apply_op("Sub", x=hi, y=lo, name="sub")
        mul = apply_op("Mul", x=rnd, y=span, name="mul")
        return apply_op("AddV2", x=mul, y=lo, name=scope)
