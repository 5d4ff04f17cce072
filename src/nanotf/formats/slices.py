"""Tensor slices: spec strings, TensorSliceProtos, ordered-code keys, copying.

A slice of a rank-n tensor is one extent per dimension, ``(start, length)``
with ``length == FULL`` (-1) for "the whole dimension". It appears as:

* a spec string (SaveV2's ``shape_and_slices``): ``"10 4 4,3:-"`` = full shape
  10x4, rows 4..6, all columns; ``""`` means the whole tensor;
* a TensorSliceProto: one Extent per dimension, a whole dimension being an
  Extent with neither start nor length;
* a table key (``EncodeTensorNameSlice`` in TensorFlow), built from
  OrderedCode pieces so that all slices of a name sort together::

      00                          NumIncreasing(0)
      name, 00 -> 00 ff, ff -> ff 00, then 00 01     escaped string
      NumIncreasing(rank)         length byte + big-endian bytes, no leading zeros
      per dim: SignedNumIncreasing(start), SignedNumIncreasing(length or -1)

  SignedNumIncreasing(v) takes the fewest n bytes with -2**(7n-1) <= v < 2**(7n-1)
  and stores v as 8n-bit two's complement with its top n bits inverted
  (0 -> 80, 4 -> 84, -1 -> 7f, 100 -> c0 64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import DataLossError, InvalidArgumentError
from ..protos import tensor_pb2

FULL = -1
_ESCAPES = {0x00: b"\x00\xff", 0xFF: b"\xff\x00"}
_STRING_END = b"\x00\x01"


def _num_increasing(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes([len(body)]) + body


def _signed_num_increasing(value: int) -> bytes:
    n = 1
    while not -(1 << (7 * n - 1)) <= value < (1 << (7 * n - 1)):
        n += 1
    bits = 8 * n
    header = ((1 << n) - 1) << (bits - n)
    return ((value & ((1 << bits) - 1)) ^ header).to_bytes(n, "big")


@dataclass(frozen=True)
class TensorSlice:
    """One extent ``(start, length)`` per dimension; ``length == FULL`` is the whole dim."""

    extents: tuple[tuple[int, int], ...]

    @classmethod
    def full(cls, rank: int) -> "TensorSlice":
        return cls(((0, FULL),) * rank)

    @classmethod
    def parse(cls, spec: str) -> "TensorSlice":
        """Parse ``"4,3:-"`` (``start,length`` or ``-`` per dim, ``:``-separated).

        Raises:
            InvalidArgumentError: for a malformed spec.
        """
        extents = []
        for part in spec.split(":") if spec else []:
            if part == "-":
                extents.append((0, FULL))
                continue
            pieces = part.split(",")
            try:
                start, length = (int(p) for p in pieces)
            except ValueError:
                raise InvalidArgumentError(f"bad slice extent {part!r} in {spec!r}: expected 'start,length' or '-'")
            if start < 0 or length < 0:
                raise InvalidArgumentError(f"negative start or length in slice extent {part!r} of {spec!r}")
            extents.append((start, length))
        return cls(tuple(extents))

    @classmethod
    def from_proto(cls, proto: tensor_pb2.TensorSliceProto) -> "TensorSlice":
        return cls(
            tuple((e.start, e.length if e.HasField("length") else FULL) for e in proto.extent)
        )

    def to_proto(self) -> tensor_pb2.TensorSliceProto:
        proto = tensor_pb2.TensorSliceProto()
        for start, length in self.extents:
            extent = proto.extent.add()
            if length != FULL:
                extent.start = start
                extent.length = length
        return proto

    @property
    def rank(self) -> int:
        return len(self.extents)

    def __str__(self) -> str:
        return ":".join("-" if n == FULL else f"{s},{n}" for s, n in self.extents)

    def bounds(self, full_shape) -> list[tuple[int, int]]:
        """``[(start, end)]`` per dimension, whole dims resolved against ``full_shape``."""
        return [(0, d) if n == FULL else (s, s + n) for (s, n), d in zip(self.extents, full_shape)]

    def shape(self, full_shape) -> tuple[int, ...]:
        return tuple(e - s for s, e in self.bounds(full_shape))

    def is_full(self, full_shape) -> bool:
        return all(b == (0, d) for b, d in zip(self.bounds(full_shape), full_shape))

    def check(self, full_shape, what: str) -> None:
        """Raise InvalidArgumentError unless this slice has full_shape's rank and lies inside it."""
        if self.rank != len(full_shape):
            raise InvalidArgumentError(f"{what}: slice {self} has rank {self.rank}, tensor shape {list(full_shape)}")
        for (s, e), d in zip(self.bounds(full_shape), full_shape):
            if not 0 <= s <= e <= d:
                raise InvalidArgumentError(f"{what}: slice {self} does not fit in shape {list(full_shape)}")


def parse_shape_and_slice(spec: str) -> tuple[list[int] | None, TensorSlice | None]:
    """Parse SaveV2/RestoreV2's ``shape_and_slices`` entry.

    Args:
        spec: ``""`` (whole tensor) or ``"<dim> <dim> ... <slice spec>"``.

    Returns:
        ``(full_shape, slice)``, both None for ``""``.

    Raises:
        InvalidArgumentError: for a malformed spec or a slice of the wrong rank.
    """
    if spec == "":
        return None, None
    tokens = spec.split(" ")
    try:
        shape = [int(t) for t in tokens[:-1]]
    except ValueError:
        raise InvalidArgumentError(f"bad shape in shape_and_slice {spec!r}") from None
    if any(d < 0 for d in shape):
        raise InvalidArgumentError(f"negative dimension in shape_and_slice {spec!r}")
    slc = TensorSlice.parse(tokens[-1])
    slc.check(shape, f"shape_and_slice {spec!r}")
    return shape, slc


def format_shape_and_slice(full_shape, slc: TensorSlice) -> str:
    """The ``shape_and_slices`` string the Saver writes, e.g. ``"10 4 4,3:-"``."""
    return " ".join([str(d) for d in full_shape] + [str(slc)])


def encode_tensor_name_slice(name: str | bytes, slc: TensorSlice) -> bytes:
    """The table key of one slice of tensor ``name`` (TF's EncodeTensorNameSlice)."""
    raw = name.encode("utf-8") if isinstance(name, str) else bytes(name)
    out = bytearray(_num_increasing(0))
    for byte in raw:
        out += _ESCAPES.get(byte, bytes([byte]))
    out += _STRING_END
    out += _num_increasing(slc.rank)
    for start, length in slc.extents:
        out += _signed_num_increasing(start if length != FULL else 0)
        out += _signed_num_increasing(length)
    return bytes(out)


def copy_slice(dst: np.ndarray, dst_slice: TensorSlice, src: np.ndarray, src_slice: TensorSlice, full_shape) -> bool:
    """Copy the overlap of two slices of one tensor from ``src`` into ``dst``.

    Args:
        dst: array holding ``dst_slice`` of the tensor (written in place).
        dst_slice: which part of the full tensor ``dst`` holds.
        src: array holding ``src_slice``.
        src_slice: which part ``src`` holds.
        full_shape: the full tensor's shape.

    Returns:
        Whether the slices overlapped (anything was copied).
    """
    dst_index, src_index = [], []
    for (ds, de), (ss, se) in zip(dst_slice.bounds(full_shape), src_slice.bounds(full_shape)):
        lo, hi = max(ds, ss), min(de, se)
        if lo >= hi:
            return False
        dst_index.append(slice(lo - ds, hi - ds))
        src_index.append(slice(lo - ss, hi - ss))
    dst[tuple(dst_index)] = src[tuple(src_index)]
    return True


def overlap(a: TensorSlice, b: TensorSlice, full_shape) -> int:
    """Number of elements two slices of one tensor share."""
    n = 1
    for (a0, a1), (b0, b1) in zip(a.bounds(full_shape), b.bounds(full_shape)):
        n *= max(0, min(a1, b1) - max(a0, b0))
    return n


# Up to this many parts, overlaps are found by comparing every pair; beyond
# it (a hostile list of thousands of slices) a coverage mask keeps it linear.
_PAIRWISE_PARTS = 32


def _check_disjoint(parts: Sequence[TensorSlice], target: TensorSlice, full_shape, what: str) -> None:
    if len(parts) <= _PAIRWISE_PARTS:
        for n, a in enumerate(parts):
            for b in parts[n + 1 :]:
                if overlap(a, b, full_shape):
                    raise DataLossError(f"{what}: stored slices {a} and {b} overlap")
        return
    covered = np.zeros(target.shape(full_shape), dtype=bool)
    origin = target.bounds(full_shape)
    for part in parts:
        region = covered[tuple(slice(max(s, t0) - t0, min(e, t1) - t0)
                               for (s, e), (t0, t1) in zip(part.bounds(full_shape), origin))]  # fmt: skip
        if region.any():
            raise DataLossError(f"{what}: stored slice {part} overlaps another stored slice")
        region[...] = True


def assemble(full_shape, target: TensorSlice, stored: Sequence[TensorSlice], load: Callable[[int, bool], np.ndarray],
             dtype: np.dtype, what: str) -> np.ndarray:
    """Build slice ``target`` of a partitioned tensor from its stored slices.

    Memory stays bounded by the file: the parts are loaded (each checked
    against the bytes its entry really has) before the result is allocated,
    and their element counts must add up to exactly the target's.

    Args:
        full_shape: the whole tensor's shape.
        target: the slice wanted (``TensorSlice.full(rank)`` for everything).
        stored: the slices the checkpoint holds.
        load: ``load(i, direct)`` returns the array of ``stored[i]`` (checking its
            shape); ``direct`` says it will be returned as the result itself.
        dtype: NumPy dtype of the result (object for strings).
        what: names the file and tensor for error messages.

    Returns:
        The array of ``target``; the stored array itself if it is exactly one slice.

    Raises:
        DataLossError: if stored slices are out of bounds, overlap or leave gaps.
    """
    parts = []
    for i, slc in enumerate(stored):
        try:
            slc.check(full_shape, what)
        except InvalidArgumentError as exc:
            raise DataLossError(str(exc)) from None
        if overlap(slc, target, full_shape):
            parts.append(i)
    shape = target.shape(full_shape)
    if sum(overlap(stored[i], target, full_shape) for i in parts) != int(np.prod(shape, dtype=object)):
        raise DataLossError(f"{what}: the stored slices do not cover slice {target} exactly (gaps or overlaps)")
    if len(parts) == 1 and stored[parts[0]].bounds(full_shape) == target.bounds(full_shape):
        return load(parts[0], True)
    arrays = [load(i, False) for i in parts]
    _check_disjoint([stored[i] for i in parts], target, full_shape, what)
    out = np.empty(shape, dtype=dtype)
    for i, array in zip(parts, arrays):
        copy_slice(out, target, array, stored[i], full_shape)
    return out
