"""The safetensors file format, read and written without the safetensors package.

File::

    +----------------------+  offset 0
    | u64 LE  N            |  length of the header in bytes
    +----------------------+  offset 8
    | header (N bytes)     |  UTF-8 JSON object:
    |                      |    "__metadata__": {"key": "value", ...}        (optional, str -> str)
    |                      |    "<name>": {"dtype": "F32", "shape": [2, 3],
    |                      |               "data_offsets": [begin, end]}
    |                      |  padded with spaces to a multiple of 8 bytes
    +----------------------+  offset 8 + N
    | data                 |  raw little-endian C-order tensor bytes; offsets are
    |                      |  relative to here; the tensors tile the data exactly:
    |                      |  no gaps, no overlaps, nothing after the last one
    +----------------------+

Readers return zero-copy ``np.frombuffer`` views of a read-only mapping. No
pickle is involved anywhere: the header is JSON and the data raw bytes.
"""

from __future__ import annotations

import json
import mmap
import os
import struct

import numpy as np

from ..errors import DataLossError, InvalidArgumentError, NotFoundError, UnimplementedError
from ..formats import dtypes
from ..formats.atomic import atomic_file

HEADER_LENGTH_SIZE = 8
HEADER_ALIGNMENT = 8
MAX_HEADER_SIZE = 100 << 20  # a larger header is corruption, not a model
METADATA_KEY = "__metadata__"
_U64 = struct.Struct("<Q")

# safetensors dtype name -> nanotf wire dtype name, in the order of the
# reference implementation's dtype enum: a file holds its tensors by
# descending rank here, then by name, which keeps every tensor aligned to its
# element size. TensorFlow types missing here (string, complex128, the
# quantized and 4-bit types) have no safetensors name.
SAFETENSORS_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
    "I16": "int16", "U16": "uint16", "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32",
    "F32": "float32", "C64": "complex64", "F64": "float64", "I64": "int64", "U64": "uint64",
}  # fmt: skip
_RANK = {name: rank for rank, name in enumerate(SAFETENSORS_DTYPES)}
_BY_WIRE_NAME = {wire: st for st, wire in SAFETENSORS_DTYPES.items()}


def safetensors_dtype(wire: dtypes.WireDType, what: str) -> str:
    """The safetensors name of ``wire``.

    Raises:
        InvalidArgumentError: for a dtype safetensors cannot hold, saying what to do.
    """
    name = _BY_WIRE_NAME.get(wire.name)
    if name is None:
        hint = (" (safetensors holds only numeric tensors: leave it out with --exclude, or write .npz)"
                if wire.name == "string" else " (leave it out with --exclude, or cast floats with --dtype)")
        raise InvalidArgumentError(f"{what} is {wire.name}, which safetensors has no dtype for{hint}")
    return name


class SafetensorsFile:
    """A ``.safetensors`` file opened for reading.

    Args:
        path: the file.

    Raises:
        NotFoundError: if the file does not exist.
        DataLossError: if the header is malformed or the offsets do not tile the data.
        UnimplementedError: for a safetensors dtype nanotf has no NumPy type for.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        except FileNotFoundError:
            raise NotFoundError(f"{self.path}: no such file") from None
        self._buf = memoryview(self._map) if self._map is not None else memoryview(b"")
        header, self.data_start = self._read_header(size)
        self.metadata: dict[str, str] = header.pop(METADATA_KEY, None) or {}
        if not isinstance(self.metadata, dict) or not all(isinstance(v, str) for v in self.metadata.values()):
            raise DataLossError(f"{self.path}: header: {METADATA_KEY} must map strings to strings")
        self._tensors = {name: self._parse_entry(name, info) for name, info in header.items()}
        self._check_tiling(size - self.data_start)

    def _read_header(self, size: int) -> tuple[dict, int]:
        if size < HEADER_LENGTH_SIZE:
            raise DataLossError(f"{self.path}: {size} bytes is too short for a safetensors file (no header length)")
        (length,) = _U64.unpack_from(self._buf, 0)
        if length > min(MAX_HEADER_SIZE, size - HEADER_LENGTH_SIZE):
            raise DataLossError(f"{self.path}: header length {length} at offset 0 does not fit the {size}-byte file")
        raw = bytes(self._buf[HEADER_LENGTH_SIZE : HEADER_LENGTH_SIZE + length])

        def no_duplicates(pairs):
            keys = [k for k, _ in pairs]
            if len(set(keys)) != len(keys):
                raise DataLossError(f"{self.path}: header: duplicate key in a JSON object")
            return dict(pairs)

        try:
            header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
        except (UnicodeDecodeError, ValueError) as err:
            raise DataLossError(f"{self.path}: header at offset 8 is not UTF-8 JSON ({err})") from None
        if not isinstance(header, dict):
            raise DataLossError(f"{self.path}: header at offset 8 is not a JSON object")
        return header, HEADER_LENGTH_SIZE + length

    def _parse_entry(self, name: str, info) -> tuple[dtypes.WireDType, tuple[int, ...], int, int]:
        where = f"{self.path}: tensor '{name}'"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise DataLossError(f"{where}: header entry must have exactly dtype, shape and data_offsets")
        st_dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(st_dtype, str):
            raise DataLossError(f"{where}: dtype {st_dtype!r} is not a string")
        if st_dtype not in SAFETENSORS_DTYPES:
            raise UnimplementedError(f"{where}: safetensors dtype {st_dtype} is not one nanotf reads")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise DataLossError(f"{where}: shape {shape!r} is not a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):  # fmt: skip
            raise DataLossError(f"{where}: data_offsets {offsets!r} is not [begin, end] with 0 <= begin <= end")
        wire = dtypes.BY_NAME[SAFETENSORS_DTYPES[st_dtype]]
        expected = int(np.prod(shape, dtype=object)) * wire.itemsize
        if offsets[1] - offsets[0] != expected:
            raise DataLossError(
                f"{where}: data_offsets {offsets} hold {offsets[1] - offsets[0]} bytes, but {st_dtype} "
                f"of shape {shape} needs {expected}"
            )
        return wire, tuple(shape), offsets[0], offsets[1]

    def _check_tiling(self, data_size: int) -> None:
        end = 0
        for name, (_, _, begin, stop) in sorted(self._tensors.items(), key=lambda kv: (kv[1][2], kv[1][3])):
            if begin != end:
                what = "overlaps the previous tensor" if begin < end else f"leaves a gap after offset {end}"
                raise DataLossError(
                    f"{self.path}: tensor '{name}' at file offset {self.data_start + begin} {what} "
                    "(tensors must tile the data section)"
                )
            end = stop
        if end != data_size:
            raise DataLossError(
                f"{self.path}: the header describes {end} data bytes but the file has {data_size} after "
                f"the header at offset {self.data_start} (truncated or padded?)"
            )

    def names(self) -> list[str]:
        return sorted(self._tensors)

    def dtype(self, name: str) -> dtypes.WireDType:
        return self._lookup(name)[0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self._lookup(name)[1]

    def _lookup(self, name: str):
        try:
            return self._tensors[name]
        except KeyError:
            raise NotFoundError(f"{self.path}: no tensor '{name}'") from None

    def read(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a read-only view of the mapped file."""
        wire, shape, begin, end = self._lookup(name)
        start = self.data_start + begin
        return np.frombuffer(self._buf[start : self.data_start + end], dtype=wire.numpy).reshape(shape)

    def close(self) -> None:
        self._buf.release()
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays read from it keep the mapping alive until they go

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_safetensors(path: str | os.PathLike, specs, load, metadata: dict[str, str] | None = None,
                      on_bytes=None) -> None:  # fmt: skip
    """Write a ``.safetensors`` file, streaming one tensor at a time.

    Args:
        path: the file to write (replaced atomically).
        specs: ``(name, WireDType, shape)`` per tensor.
        load: ``load(name) -> np.ndarray`` giving each tensor's value, called
            once per tensor in write order, so only one is held at a time.
        metadata: the optional ``__metadata__`` strings.
        on_bytes: called with the byte count after each tensor is written.

    Raises:
        InvalidArgumentError: for a dtype safetensors cannot hold, or a value
            whose dtype or shape differs from its spec.
    """
    named = [(name, wire, shape, safetensors_dtype(wire, f"tensor '{name}'")) for name, wire, shape in specs]
    order = sorted(named, key=lambda s: (-_RANK[s[3]], s[0]))  # the reference writer's order (see SAFETENSORS_DTYPES)
    header: dict = {METADATA_KEY: dict(metadata)} if metadata else {}
    offset = 0
    for name, wire, shape, st_dtype in order:
        size = int(np.prod(shape, dtype=object)) * wire.itemsize
        header[name] = {"dtype": st_dtype, "shape": [int(d) for d in shape], "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % HEADER_ALIGNMENT)
    with atomic_file(os.fspath(path)) as f:
        f.write(_U64.pack(len(text)) + text)
        for name, wire, shape, _ in order:
            array = np.asarray(load(name))
            if not array.flags.c_contiguous:  # (not ascontiguousarray: it turns scalars into 1-D arrays)
                array = array.copy(order="C")
            if array.dtype != wire.numpy or array.shape != tuple(shape):
                raise InvalidArgumentError(
                    f"tensor '{name}': value is {array.dtype} {list(array.shape)}, expected {wire.name} {list(shape)}"
                )
            f.write(array.reshape(-1).view(np.uint8).data)
            if on_bytes is not None:
                on_bytes(array.nbytes)
