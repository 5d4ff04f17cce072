"""The V2 checkpoint ("tensor bundle"): file names, header and index entries.

A V2 checkpoint with prefix P is::

    P.index                      a table (see table.py):
                                   ""            -> BundleHeaderProto
                                   "<name>"      -> BundleEntryProto of a tensor
                                   "<slice key>" -> BundleEntryProto of one slice
    P.data-00000-of-0000N ...    tensor encodings, concatenated without padding

BundleHeaderProto: 1 num_shards, 2 endianness (LITTLE = 0), 3 version
(VersionDef; TF writes ``producer: 1``). One shard: ``08 01 1a 02 08 01``.

BundleEntryProto::

    1 dtype   2 shape (always written; scalar = empty TensorShapeProto)
    3 shard_id   4 offset   5 size     (zeros omitted)
    6 crc32c (fixed32, masked)        7 repeated TensorSliceProto slices

A partitioned tensor has a data-less entry under its name listing its slices
(dtype, full shape, slices) plus one ordinary entry per slice under the slice
key of ``slices.encode_tensor_name_slice``.

Tensor encodings in a data file (tensor_codec.py): numeric = raw little-endian
C-order bytes; string = varint64 lengths, fixed32 masked length checksum, the
bytes; variant = per element varint64 length, VariantTensorDataProto, fixed32
masked running checksum.
"""

from __future__ import annotations

from ..errors import DataLossError, UnimplementedError
import numpy as np

from ..protos import checkpoint_pb2, tensor_pb2
from . import dtypes
from .protoparse import parse_message

HEADER_KEY = b""
BUNDLE_VERSION = 1  # the consumer version nanotf reads as
BUNDLE_MIN_PRODUCER = 0
INDEX_SUFFIX = ".index"
# NumPy's array rank limit (TensorFlow allows 254), its size limit, and its item size for strings/variants.
MAX_RANK = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
_MAX_BYTES = (1 << 63) - 1
_OBJECT_ITEMSIZE = 8


def index_filename(prefix: str) -> str:
    return prefix + INDEX_SUFFIX


def data_filename(prefix: str, shard_id: int, num_shards: int) -> str:
    return "%s.data-%05d-of-%05d" % (prefix, shard_id, num_shards)


def new_header(num_shards: int) -> checkpoint_pb2.BundleHeaderProto:
    header = checkpoint_pb2.BundleHeaderProto(num_shards=num_shards)
    header.version.producer = BUNDLE_VERSION
    return header


def parse_header(value, path: str) -> checkpoint_pb2.BundleHeaderProto:
    """Parse and check the "" entry of an index file.

    Raises:
        DataLossError: for an unparseable header or a version nanotf cannot read.
        UnimplementedError: for a big-endian bundle.
    """
    header = parse_message(checkpoint_pb2.BundleHeaderProto(), value, f"{path}: bundle header (key \"\")")
    version = header.version
    if version.producer < BUNDLE_MIN_PRODUCER:
        raise DataLossError(f"{path}: checkpoint producer version {version.producer} is below the minimum 0")
    if version.min_consumer > BUNDLE_VERSION or BUNDLE_VERSION in version.bad_consumers:
        raise DataLossError(
            f"{path}: checkpoint needs consumer version {version.min_consumer} "
            f"(bad: {list(version.bad_consumers)}); nanotf reads version {BUNDLE_VERSION}"
        )
    if header.endianness != checkpoint_pb2.BundleHeaderProto.LITTLE:
        raise UnimplementedError(f"{path}: big-endian checkpoint; nanotf reads only little-endian bundles")
    if header.num_shards < 1:
        raise DataLossError(f"{path}: bundle header says {header.num_shards} data shards")
    return header


def parse_entry(value, path: str, key: bytes) -> checkpoint_pb2.BundleEntryProto:
    """Parse one index entry and check the fields every reader relies on.

    Raises:
        DataLossError: for an unparseable entry, unknown dtype, bad shape,
            or negative shard/offset/size.
    """
    name = key_repr(key)
    entry = parse_message(checkpoint_pb2.BundleEntryProto(), value, f"{path}: entry for key {name}")
    if entry.dtype not in dtypes.BY_ENUM:
        raise DataLossError(f"{path}: entry for key {name} has unknown dtype {entry.dtype}")
    check_shape(entry.shape, f"{path}: entry for key {name}", dtypes.wire_dtype(entry.dtype))
    if entry.shard_id < 0 or entry.offset < 0 or entry.size < 0:
        raise DataLossError(f"{path}: entry for key {name} has a negative shard, offset or size")
    return entry


def check_shape(shape: tensor_pb2.TensorShapeProto, where: str, wire: dtypes.WireDType) -> None:
    """Raise unless ``shape`` is one a stored ``wire`` tensor can have and a NumPy array can take.

    NumPy needs the product of the nonzero dimensions times the item size
    (8 for strings and variants, held as objects) to fit in 63 bits, even
    for an array without elements.

    Raises:
        DataLossError: for an unknown rank, a negative dimension, or a tensor
            of more than 2**63-1 bytes.
        UnimplementedError: for more dimensions than NumPy arrays can have,
            or a zero-element shape whose other dimensions are that large.
    """
    if shape.unknown_rank or any(d.size < 0 for d in shape.dim):
        raise DataLossError(f"{where} has an invalid shape (unknown rank or a negative dimension)")
    if len(shape.dim) > MAX_RANK:
        raise UnimplementedError(f"{where} has rank {len(shape.dim)}; NumPy arrays have at most {MAX_RANK} dimensions")
    dims = [d.size for d in shape.dim]
    limit = _MAX_BYTES // (wire.itemsize or _OBJECT_ITEMSIZE)
    elements = 1
    for d in dims:
        elements *= d or 1
        if elements > limit:
            if 0 in dims:
                raise UnimplementedError(f"{where} has no elements, but dimensions {dims} NumPy cannot represent")
            raise DataLossError(f"{where} has shape {dims}: more than 2**63-1 bytes of {wire.name}")


def entry_shape(entry: checkpoint_pb2.BundleEntryProto) -> tuple[int, ...]:
    return tuple(d.size for d in entry.shape.dim)


def key_repr(key: bytes) -> str:
    """A printable form of a table key: the name, or the raw bytes of a slice key."""
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return repr(key)
    return repr(key) if not text.isprintable() else f"'{text}'"


def key_bytes(key: str | bytes) -> bytes:
    """A tensor name as its table key (UTF-8; names from ``key_name`` round-trip)."""
    return key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)


def key_name(key: bytes) -> str:
    """A table key as a tensor name (undecodable bytes kept as surrogates)."""
    return key.decode("utf-8", "surrogateescape")
