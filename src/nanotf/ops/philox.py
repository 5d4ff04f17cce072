"""TensorFlow's stateful random kernels, bit for bit, in NumPy.

`RandomUniform`, `RandomStandardNormal`, `TruncatedNormal` and
`RandomUniformInt` all draw from Philox4x32-10 (Salmon et al., "Parallel random
numbers: as easy as 1, 2, 3", SC 2011). One Philox call maps a 128-bit counter
and a 64-bit key to 128 random bits:

    counter  = [c0 c1 c2 c3]   four uint32; c0 is the least significant word
    key      = [k0 k1]         two uint32
    output   = [x0 x1 x2 x3]   four uint32, consumed in this order

An op's attrs `seed` and `seed2` (int64, reinterpreted as uint64) set the
initial state: key = seed (k0 low half, k1 high half), counter = seed2 << 64.
Element groups are tied to counter positions, never to threads, so the numbers
do not depend on how TensorFlow shards the work:

    kernel, dtype                   values/group  group g reads counters
    uniform, normal, int (32-bit)   4             base + g
    uniform, normal, int (64-bit)   2             base + g
    truncated normal (16/32-bit)    4             base + 256 g, + 1, + 2, ...
    truncated normal (float64)      2             base + 128 g, + 1, + 2, ...

`base` is the op's counter when it runs; every run then advances the counter by
256 per output element (`reserved_blocks`), so a session running one op twice
gets fresh numbers. The kernels take that advance as `skip`.

Box-Muller needs `logf`/`sincosf` (float) and `log`/`sincos` (double) from the
C library TensorFlow links, glibc on Linux. Those are not correctly rounded, so
NumPy's own functions disagree in about 1% of float32 values. We evaluate
glibc's float algorithms in float64 (same tables and polynomials) and, for the
rare results within a whisker of a rounding tie, and for the double functions
whenever extended precision cannot decide, ask the process's own libm through
`ctypes` -- the very function TensorFlow calls. Elsewhere (macOS, Windows) the
results are still those of TensorFlow on Linux, except that rare near-tie
float64 normals may differ in the last bit.
"""

from __future__ import annotations

import math
import secrets

import ml_dtypes
import numpy as np

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.ops import libm

__all__ = [
    "DEFAULT_GRAPH_SEED",
    "op_seeds",
    "resolve_seeds",
    "reserved_blocks",
    "philox4x32",
    "random_bits",
    "random_uniform",
    "random_standard_normal",
    "truncated_normal",
    "random_uniform_int",
]

# --- seeds ---------------------------------------------------------------------

DEFAULT_GRAPH_SEED = 87654321  # op seed set, graph seed not: TF pairs it with this
_MAXINT32 = 2**31 - 1
# Every run reserves this many 128-bit counters per output element (the
# truncated normal's worst case), whatever the distribution actually uses.
_RESERVED_BLOCKS_PER_ELEMENT = 256


def op_seeds(graph_seed: int | None, op_seed: int | None, op_count: int) -> tuple[int | None, int | None]:
    """The `seed`/`seed2` attrs TF1's `random_seed.get_seed` puts on a random op.

    Args:
        graph_seed: the graph-level seed (`tf.set_random_seed`), or None.
        op_seed: the `seed=` argument of the Python call, or None.
        op_count: the graph's count of earlier calls that took an op seed from
            the graph, i.e. calls made while `graph_seed` was set with
            `op_seed` None (TF 2.21 keeps it per graph in
            `random_seed._graph_to_seed_dict`, starting at 0; it is *not*
            `graph._last_id`). It is used only in that case, and the caller
            must then increment it. Seeded calls and calls made before the
            graph seed was set do not count. Initializers count too: a
            `glorot_uniform_initializer()` without seed calls this once.

    Returns:
        `(seed, seed2)`; `(None, None)` when neither seed is set, which the op
        records as `seed=0, seed2=0` (fresh nondeterministic seeds at run time).
        Seeds are reduced modulo 2**31 - 1 (Python `%`, so negative seeds map
        to non-negative ones); a result of (0, 0) becomes (0, 2**31 - 1) so it
        is not mistaken for "unseeded".
    """
    if graph_seed is not None:
        if op_seed is None:
            op_seed = op_count
        seeds = (graph_seed % _MAXINT32, op_seed % _MAXINT32)
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, op_seed % _MAXINT32)
    else:
        return None, None
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def resolve_seeds(seed: int, seed2: int) -> tuple[int, int]:
    """The seeds a kernel actually uses for its attrs `seed`, `seed2`.

    Args:
        seed: the op's `seed` attr.
        seed2: the op's `seed2` attr.

    Returns:
        The attrs unchanged, unless both are 0: then, like TensorFlow, two
        random 64-bit seeds from the operating system's entropy source, so the
        output is nondeterministic. A runtime that wants TF's semantics (one
        stream per kernel, continuing across runs) resolves once per kernel
        and passes the result to every later run.
    """
    if seed == 0 and seed2 == 0:
        return secrets.randbits(64), secrets.randbits(64)
    return seed, seed2


def reserved_blocks(num_elements: int) -> int:
    """How far (in 128-bit Philox counters) one run of a kernel advances its stream.

    Args:
        num_elements: the number of elements the run produced.

    Returns:
        The `skip` to add for the kernel's next run: 256 per element.
    """
    return _RESERVED_BLOCKS_PER_ELEMENT * num_elements


# --- Philox4x32-10 ---------------------------------------------------------------

_PHILOX_M0 = np.uint64(0xD2511F53)  # multiplies counter word 0
_PHILOX_M1 = np.uint64(0xCD9E8D57)  # multiplies counter word 2
_PHILOX_W0 = 0x9E3779B9  # key schedule: golden ratio
_PHILOX_W1 = 0xBB67AE85  # key schedule: sqrt(3) - 1
_PHILOX_ROUNDS = 10
_U32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_MASK64 = (1 << 64) - 1


def philox4x32(counters: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox4x32-10 of many counters under one key.

    Args:
        counters: uint32 array of shape (n, 4), word 0 least significant.
        key: the two key words (k0, k1).

    Returns:
        uint32 array of shape (n, 4): the random words, in consumption order.
    """
    # uint64 lanes hold the 32x32->64 bit products exactly.
    c0, c1, c2, c3 = (counters[:, i].astype(np.uint64) for i in range(4))
    k0, k1 = key
    for _ in range(_PHILOX_ROUNDS):
        p0 = _PHILOX_M0 * c0
        p1 = _PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT32) ^ c1 ^ np.uint64(k0),
            p1 & _U32,
            (p0 >> _SHIFT32) ^ c3 ^ np.uint64(k1),
            p0 & _U32,
        )
        k0 = (k0 + _PHILOX_W0) & 0xFFFFFFFF
        k1 = (k1 + _PHILOX_W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def _counter_base(seed2: int, skip: int) -> int:
    """The op's 128-bit counter after `skip` blocks: seed2 in the high half."""
    return (((seed2 & _MASK64) << 64) + skip) & ((1 << 128) - 1)


def _philox_at(seed: int, base: int, offsets: np.ndarray) -> np.ndarray:
    """Philox output at counters `base + offsets` (mod 2**128) under key `seed`."""
    seed &= _MASK64
    base_lo, base_hi = np.uint64(base & _MASK64), np.uint64(base >> 64)
    lo = base_lo + offsets.astype(np.uint64)
    hi = base_hi + (lo < base_lo).astype(np.uint64)  # carry out of the low half
    counters = np.stack([lo & _U32, lo >> _SHIFT32, hi & _U32, hi >> _SHIFT32], axis=1)
    return philox4x32(counters, (seed & 0xFFFFFFFF, seed >> 32))


def random_bits(seed: int, seed2: int, num_blocks: int, skip: int = 0) -> np.ndarray:
    """The raw stream of an op with attrs `seed`, `seed2` (after `resolve_seeds`).

    Args:
        seed: the `seed` attr (int64 or uint64; only the low 64 bits count).
        seed2: the `seed2` attr.
        num_blocks: how many consecutive 128-bit outputs to produce.
        skip: counters already consumed by earlier runs (`reserved_blocks`).

    Returns:
        uint32 array of shape (num_blocks, 4).
    """
    return _philox_at(seed, _counter_base(seed2, skip), np.arange(num_blocks, dtype=np.uint64))


# --- uint32 -> floating point ------------------------------------------------------
# TF never divides: it pastes random bits under the exponent of 1.0, giving a
# value in [1, 2), and subtracts 1 (exact).


def _unit_float32(bits: np.ndarray) -> np.ndarray:
    """[0, 1) from the low 23 bits of each uint32."""
    return ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)


def _unit_float64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """[0, 1) from 20 bits of `hi` (mantissa top) and all 32 bits of `lo`."""
    mantissa = ((hi & np.uint32(0x000FFFFF)).astype(np.uint64) << _SHIFT32) | lo.astype(np.uint64)
    return (mantissa | np.uint64(0x3FF0000000000000)).view(np.float64) - 1.0


def _unit_float16(bits: np.ndarray) -> np.ndarray:
    """[0, 1) from the low 10 bits of each uint32."""
    return ((bits & np.uint32(0x3FF)).astype(np.uint16) | np.uint16(0x3C00)).view(np.float16) - np.float16(1.0)


def _unit_bfloat16(bits: np.ndarray) -> np.ndarray:
    """[0, 1) from the low 7 bits of each uint32."""
    one_to_two = ((bits & np.uint32(0x7F)).astype(np.uint16) | np.uint16(0x3F80)).view(ml_dtypes.bfloat16)
    return one_to_two - ml_dtypes.bfloat16(1.0)


# --- Box-Muller, as TF's kernels do it -------------------------------------------
_BOX_MULLER_FLOOR32 = np.float32(1.0e-7)  # keeps log() away from 0
_BOX_MULLER_FLOOR64 = 1.0e-7
_TWO_PI = 2.0 * math.pi  # a double in both kernels: 2.0f * M_PI promotes


def _box_muller_float32(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 normals per (x0, x1) pair of uint32: (sin-based, cos-based)."""
    u1 = np.maximum(_unit_float32(x0), _BOX_MULLER_FLOOR32)
    angle = (_TWO_PI * _unit_float32(x1).astype(np.float64)).astype(np.float32)
    radius = np.sqrt(np.float32(-2.0) * libm.logf(u1))
    sin, cos = libm.sincosf(angle)
    return sin * radius, cos * radius


def _box_muller_float64(x0, x1, x2, x3) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 normals per four uint32: u1 from (x0, x1), angle from (x2, x3)."""
    u1 = np.maximum(_unit_float64(x0, x1), _BOX_MULLER_FLOOR64)
    angle = _TWO_PI * _unit_float64(x2, x3)
    radius = np.sqrt(-2.0 * libm.log(u1))
    sin, cos = libm.sincos(angle)
    return sin * radius, cos * radius


def _normals_per_block(blocks: np.ndarray, wide: bool) -> np.ndarray:
    """The normals one Philox block yields, in TF's order: (n, 4) float32 or (n, 2) float64."""
    x0, x1, x2, x3 = blocks.T
    if wide:
        return np.stack(_box_muller_float64(x0, x1, x2, x3), axis=1)
    first, second = _box_muller_float32(np.concatenate([x0, x2]), np.concatenate([x1, x3]))
    n = len(blocks)
    return np.stack([first[:n], second[:n], first[n:], second[n:]], axis=1)


# --- the kernels -------------------------------------------------------------------
_FLOAT_TYPES = ("float16", "bfloat16", "float32", "float64")


def _float_dtype(dtype) -> str:
    name = dtypes.as_dtype(dtype).name
    if name not in _FLOAT_TYPES:
        raise errors.InvalidArgumentError(f"random float kernels take one of {', '.join(_FLOAT_TYPES)}; got {name}")
    return name


def _numpy_type(name: str):
    return dtypes.as_dtype(name).as_numpy_dtype


def _num_elements(shape) -> int:
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise errors.InvalidArgumentError(f"shape must be non-negative, got {dims}")
    return math.prod(dims)


def _stream(seed: int, seed2: int, skip: int, num_words: int) -> np.ndarray:
    """The first `num_words` uint32 of the op's stream, flattened."""
    seed, seed2 = resolve_seeds(seed, seed2)
    return random_bits(seed, seed2, -(-num_words // 4), skip).reshape(-1)[:num_words]


def random_uniform(shape, dtype, seed: int, seed2: int, skip: int = 0) -> np.ndarray:
    """The `RandomUniform` kernel: uniform floats in [0, 1).

    Args:
        shape: the output shape (sequence of ints).
        dtype: float16, bfloat16, float32 or float64 (anything `as_dtype` takes).
        seed: the op's `seed` attr.
        seed2: the op's `seed2` attr; when it and `seed` are both 0, the output is
            nondeterministic (see `resolve_seeds`).
        skip: Philox counters consumed by the kernel's earlier runs
            (the sum of `reserved_blocks` over them); 0 for the first run.

    Returns:
        An array of `shape` and `dtype` (float16 as np.float16, bfloat16 as
        ml_dtypes.bfloat16). Each value takes one uint32 (two for float64).
    """
    name = _float_dtype(dtype)
    n = _num_elements(shape)
    if name == "float64":
        words = _stream(seed, seed2, skip, 2 * n)
        values = _unit_float64(words[0::2], words[1::2])
    else:
        convert = {"float16": _unit_float16, "bfloat16": _unit_bfloat16, "float32": _unit_float32}[name]
        values = convert(_stream(seed, seed2, skip, n))
    return values.reshape(shape)


def random_standard_normal(shape, dtype, seed: int, seed2: int, skip: int = 0) -> np.ndarray:
    """The `RandomStandardNormal` kernel: Box-Muller normals with mean 0, stddev 1.

    Args:
        shape, dtype, seed, seed2, skip: as for `random_uniform`.

    Returns:
        An array of `shape` and `dtype`. float16/bfloat16 are float32 normals
        rounded to nearest even; each Philox block yields 4 values (2 for
        float64, whose every value pair takes all four words).
    """
    name = _float_dtype(dtype)
    n = _num_elements(shape)
    wide = name == "float64"
    seed, seed2 = resolve_seeds(seed, seed2)
    per_block = 2 if wide else 4
    blocks = random_bits(seed, seed2, -(-n // per_block), skip)
    values = _normals_per_block(blocks, wide).reshape(-1)[:n]
    return values.astype(_numpy_type(name)).reshape(shape)


def truncated_normal(shape, dtype, seed: int, seed2: int, skip: int = 0) -> np.ndarray:
    """The `TruncatedNormal` kernel: standard normals redrawn until |x| < 2.

    TF fills groups of 4 values (2 for float64). Each group owns a window of
    256 Philox blocks (128 for float64) starting at `base + window * g`, reads
    the window's blocks in order, turns each into Box-Muller candidates
    (4, or 2 for float64), and keeps the candidates with |x| < 2 (tested in
    float32, or float64) until the group is full; the rest of the block is
    discarded. A partial last group is computed in full and truncated.

    Args:
        shape, dtype, seed, seed2, skip: as for `random_uniform`.

    Returns:
        An array of `shape` and `dtype`.
    """
    name = _float_dtype(dtype)
    n = _num_elements(shape)
    wide = name == "float64"
    seed, seed2 = resolve_seeds(seed, seed2)
    group = 2 if wide else 4
    window = group * _RESERVED_BLOCKS_PER_ELEMENT // 4
    groups = -(-n // group)
    base = _counter_base(seed2, skip)
    values = np.zeros((groups, group), np.float64 if wide else np.float32)
    filled = np.zeros(groups, np.int64)
    pending = np.arange(groups)
    block = 0
    # All unfinished groups advance one block per pass; almost all finish in one
    # or two passes (P(|x| < 2) = 0.954).
    while pending.size:
        offsets = pending.astype(np.uint64) * np.uint64(window) + np.uint64(block)
        candidates = _normals_per_block(_philox_at(seed, base, offsets), wide)
        keep = np.abs(candidates) < candidates.dtype.type(2.0)
        slot = filled[pending, None] + np.cumsum(keep, axis=1) - 1
        take = keep & (slot < group)
        rows = np.broadcast_to(pending[:, None], slot.shape)[take]
        values[rows, slot[take]] = candidates[take]
        filled[pending] += take.sum(axis=1)
        pending = pending[filled[pending] < group]
        block += 1
    return values.reshape(-1)[:n].astype(_numpy_type(name)).reshape(shape)


def random_uniform_int(shape, minval: int, maxval: int, dtype, seed: int, seed2: int, skip: int = 0) -> np.ndarray:
    """The `RandomUniformInt` kernel: integers in [minval, maxval).

    Each value is `minval + bits % (maxval - minval)` in wrapping arithmetic,
    with 32 bits per int32 value and 64 (two words, low word first) per int64.

    Args:
        shape: the output shape.
        minval: the scalar `minval` input.
        maxval: the scalar `maxval` input.
        dtype: the `Tout` attr, int32 or int64.
        seed, seed2, skip: as for `random_uniform`.

    Returns:
        An array of `shape` and `dtype`.

    Raises:
        InvalidArgumentError: if `minval >= maxval` or dtype is not int32/int64.
    """
    name = dtypes.as_dtype(dtype).name
    if name not in ("int32", "int64"):
        raise errors.InvalidArgumentError(f"RandomUniformInt produces int32 or int64; got {name}")
    lo, hi = int(minval), int(maxval)
    if not lo < hi:
        raise errors.InvalidArgumentError(f"Need minval < maxval, got {lo} >= {hi}")
    n = _num_elements(shape)
    if name == "int32":
        bits = _stream(seed, seed2, skip, n)
        span = np.uint32((hi - lo) % 2**32)
        values = (np.uint32(lo % 2**32) + bits % span).view(np.int32)
    else:
        words = _stream(seed, seed2, skip, 2 * n)
        bits = words[0::2].astype(np.uint64) | (words[1::2].astype(np.uint64) << _SHIFT32)
        span = np.uint64((hi - lo) % 2**64)
        values = (np.uint64(lo % 2**64) + bits % span).view(np.int64)
    return values.reshape(shape)
