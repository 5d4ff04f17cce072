"""Where checkpoint files live: the local filesystem, or an object store reached through fsspec.

A path is one of::

    model.ckpt-10, /runs/model.ckpt-10   local: os calls, mmap reads, temp file + fsync + rename (atomic.py)
    file:///runs/model.ckpt-10           the same local file (the URL is turned into the plain path)
    s3://bucket/runs/model.ckpt-10       remote, through fsspec and its backend (s3fs, gcsfs, adlfs, ...);
    gs://..., az://..., memory://...     also chained URLs such as simplecache::s3://... (a local cache)

Local paths never import fsspec, so ``import nanotf`` stays light; the first
remote path imports it (``pip install 'nanotf[remote]'``). Backends are
configured the way fsspec is (its config files, ``FSSPEC_<PROTOCOL>_<OPTION>``
variables, or the backend's own, e.g. ``AWS_ENDPOINT_URL_S3``).

Object stores have no rename, so a remote file is written under its final
name by one upload that the store publishes only when it completes:

* ``put_bytes`` (index, ``.meta``, state file): one PUT;
* ``open_output`` (data files): a multipart (s3) or resumable (gs) upload,
  completed by ``commit`` and aborted by ``discard`` (a killed process
  leaves an incomplete upload, which readers never see); other backends
  buffer the file in memory and store it in one call at ``commit``.

Deleting is limited as for local files (``journal.py``): every object
written here is remembered with its size and ETag (or time), and
``written_here`` says whether an object is still that one.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob as _glob
import io
import os
import re

from .. import errors
from . import journal
from .fileerrors import typed_os_error

__all__ = ["is_remote", "resolve", "local_path", "open_output", "put_bytes", "read_bytes", "read_into", "download", "size",
           "exists", "isdir", "makedirs", "listdir", "glob", "getmtime", "remove", "copy", "written_here", "forget"]  # fmt: skip

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*(::[A-Za-z][A-Za-z0-9+.\-]*)*://")
# Backends whose files opened with autocommit=False upload in parts and publish the
# object only at commit() (s3fs: a multipart upload; gcsfs: a resumable upload).
# Others (adlfs deletes the old blob when an upload starts) get the buffered path.
_MULTIPART = {"s3", "s3a", "gs", "gcs"}
UPLOAD_PART = 64 << 20  # bytes per uploaded part
READ_PIECE = 16 << 20  # bytes per ranged GET
READ_BATCH = 8  # ranged GETs in flight at once for one read (bounds the memory of a large read)
_MAX_RECORDED = 1 << 16

_written: dict[str, tuple] = {}


def is_remote(path) -> bool:
    """Whether ``path`` is a URL served by fsspec (any scheme but ``file://``)."""
    return isinstance(path, str) and bool(_URL.match(path)) and not path.startswith("file://")


def local_path(path) -> str:
    """``path`` as a plain local path: ``file://`` URLs lose their scheme, others are unchanged."""
    return os.fspath(path).removeprefix("file://")


def resolve(path) -> tuple[bool, str]:
    """``(is_remote, path)`` with ``file://`` URLs turned into plain paths."""
    path = os.fspath(path)
    return (True, path) if is_remote(path) else (False, local_path(path))


def _fs(url: str):
    """``(filesystem, path inside it)`` for a remote URL; imports fsspec on first use."""
    try:
        import fsspec
    except ImportError:
        raise errors.UnimplementedError(
            f"{url}: remote paths need fsspec and a backend for the protocol: pip install 'nanotf[remote]' "
            "(s3) or fsspec plus gcsfs / adlfs") from None  # fmt: skip
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise errors.UnimplementedError(f"{url}: no fsspec backend for this protocol ({exc})") from None


@contextlib.contextmanager
def remote_errors(url: str, action: str):
    """Re-raise a backend's error as a typed nanotf error naming ``url``.

    fsspec backends turn most failures into OSError subclasses; the rest
    (network, credentials, service errors) come as their client library's own
    exception types, which share no base class but ``Exception``.
    """
    try:
        yield
    except errors.OpError:
        raise
    except FileNotFoundError:
        raise errors.NotFoundError(f"{action} {url}: no such object (or bucket)") from None
    except PermissionError as exc:
        raise errors.PermissionDeniedError(f"{action} {url}: access denied ({exc}); check the credentials "
                                           "and the bucket's policy") from None  # fmt: skip
    except OSError as exc:
        raise typed_os_error(exc, url, action) from exc
    except Exception as exc:  # see the docstring
        raise errors.UnavailableError(f"{action} {url}: {type(exc).__name__}: {exc}") from exc


def _remember(fs, path: str, url: str) -> None:
    info = fs.info(path)
    _written.pop(url, None)
    _written[url] = _identity(info)
    while len(_written) > _MAX_RECORDED:
        _written.pop(next(iter(_written)))


def _identity(info: dict) -> tuple:
    # Whatever the backend reports of content and time; an object rewritten
    # with the same bytes within the store's time resolution is the same.
    keys = ("ETag", "etag", "md5Hash", "generation", "VersionId", "LastModified", "mtime", "updated", "created")
    return (info.get("size"),) + tuple(str(info.get(k)) for k in keys)


# -- writing ---------------------------------------------------------------------------
class RemoteOutput:
    """A remote file being written: ``write`` pieces, then ``commit`` (publish) or ``discard``.

    Until ``commit`` returns, no object exists under the name (or the old one
    is still there).
    """

    def __init__(self, url: str):
        self.url = url
        self._fs, self._path = _fs(url)
        protocols = self._fs.protocol if isinstance(self._fs.protocol, (tuple, list)) else (self._fs.protocol,)
        self._parts = bool(set(protocols) & _MULTIPART)
        with remote_errors(url, "starting the upload of"):
            if self._parts:
                self._file = self._fs.open(self._path, "wb", autocommit=False, block_size=UPLOAD_PART)
            else:
                self._file = io.BytesIO()

    def write(self, data) -> None:
        with remote_errors(self.url, "uploading"):
            self._file.write(data)

    def commit(self) -> None:
        """Finish the upload; the object appears whole under its name."""
        with remote_errors(self.url, "completing the upload of"):
            if self._parts:
                self._file.close()
                self._file.commit()
            else:
                self._fs.pipe_file(self._path, self._file.getvalue())
            _remember(self._fs, self._path, self.url)

    def discard(self) -> None:
        """Abandon the upload (its parts are deleted); nothing appears under the name."""
        with contextlib.suppress(Exception):  # cleanup after a failure must not hide the failure
            if self._parts:
                self._file.discard()
                self._file.closed = True  # a later close() would upload the rest
        self._file = io.BytesIO()


def open_output(url: str) -> RemoteOutput:
    """Start writing the remote file ``url`` (see ``RemoteOutput``)."""
    return RemoteOutput(url)


def put_bytes(url: str, data: bytes) -> None:
    """Store ``data`` as the object ``url`` in one request (readers see the old object or all of the new)."""
    fs, path = _fs(url)
    with remote_errors(url, "writing"):
        fs.pipe_file(path, bytes(data))
        _remember(fs, path, url)


# -- reading ---------------------------------------------------------------------------
def read_bytes(url: str, limit: int) -> bytes:
    """The whole object ``url``, refused before downloading if over ``limit`` bytes.

    Raises:
        NotFoundError: if it does not exist.
        DataLossError: if it is larger than ``limit``.
    """
    fs, path = _fs(url)
    with remote_errors(url, "reading"):
        fs.invalidate_cache(path)
        n = fs.size(path)
        if n > limit:
            raise errors.DataLossError(f"{url}: {n} bytes is more than the {limit} a file of this kind can hold")
        return fs.cat_file(path)


def read_into(url: str, offset: int, target, on_piece=None) -> None:
    """Fill ``target`` (a writable buffer) with the bytes of ``url`` from ``offset`` on.

    Pieces of ``READ_PIECE`` bytes are fetched by concurrent ranged reads
    where the backend supports it. ``on_piece(view)`` is called for each
    piece in order right after it is copied in, while it is in the CPU's
    cache (the caller's checksum pass).

    Raises:
        DataLossError: if the object ends before ``target`` is full.
    """
    view = memoryview(target).cast("B")
    starts = list(range(0, len(view), READ_PIECE)) or [0]
    fs, path = _fs(url)
    for first in range(0, len(starts), READ_BATCH):
        batch = starts[first : first + READ_BATCH]
        ends = [min(s + READ_PIECE, len(view)) for s in batch]
        with remote_errors(url, "reading"):
            pieces = fs.cat_ranges([path] * len(batch), [offset + s for s in batch], [offset + e for e in ends])
            for piece in pieces:
                if isinstance(piece, Exception):
                    raise piece
        for start, end, piece in zip(batch, ends, pieces):
            if len(piece) != end - start:
                raise errors.DataLossError(
                    f"{url}: object ended at offset {offset + start + len(piece)} while reading bytes "
                    f"[{offset}, {offset + len(view)}) (truncated?)")  # fmt: skip
            view[start:end] = piece
            if on_piece is not None:
                on_piece(view[start:end])


def download(url: str, local_path: str) -> None:
    """Copy the object ``url`` to the local file ``local_path``, streamed.

    Raises:
        NotFoundError: if the object does not exist.
    """
    fs, path = _fs(url)
    with remote_errors(url, "downloading"):
        fs.get_file(path, local_path)


def size(path: str) -> int:
    """The size in bytes of the file or object ``path`` (local or remote).

    Raises:
        NotFoundError: if it does not exist.
    """
    remote, path = resolve(path)
    if not remote:
        try:
            return os.stat(path).st_size
        except OSError as exc:
            raise typed_os_error(exc, path, "checking") from None
    fs, inner = _fs(path)
    with remote_errors(path, "checking"):
        fs.invalidate_cache(inner)
        return fs.size(inner)


def exists(path: str) -> bool:
    """Whether the file or object ``path`` exists (an object store is asked afresh, not its cached listing)."""
    remote, path = resolve(path)
    if not remote:
        return os.path.exists(path)
    fs, inner = _fs(path)
    with remote_errors(path, "checking"):
        fs.invalidate_cache(inner)
        return fs.isfile(inner)


def isdir(path: str) -> bool:
    """Whether ``path`` is a directory; in an object store, whether objects exist under ``path/``."""
    remote, path = resolve(path)
    if not remote:
        return os.path.isdir(path)
    fs, inner = _fs(path)
    with remote_errors(path, "listing"):
        fs.invalidate_cache(inner)
        return fs.isdir(inner)


def makedirs(path: str) -> None:
    """Create the directory ``path`` and its parents (nothing to do in an object store)."""
    remote, path = resolve(path)
    if not remote and path:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise typed_os_error(exc, path, "creating the directory") from None


def listdir(url: str) -> list[tuple[str, int]]:
    """``(URL, size)`` of every object directly under the remote directory ``url``, sorted by name."""
    fs, inner = _fs(url)
    base = url.rstrip("/")
    with remote_errors(url, "listing"):
        fs.invalidate_cache(inner)
        try:
            entries = fs.ls(inner, detail=True)
        except FileNotFoundError:
            return []
    names = [(e["name"].rstrip("/").rsplit("/", 1)[-1], e.get("size") or 0) for e in entries if e.get("type") == "file"]
    return sorted((f"{base}/{name}", n) for name, n in names)


def glob(pattern: str) -> list[str]:
    """The files or objects matching ``pattern`` (remote: ``?``, ``*``, ``[]`` in the last component only), sorted."""
    remote, pattern = resolve(pattern)
    if not remote:
        return sorted(_glob.glob(pattern))
    directory, _, name = pattern.rpartition("/")
    return [url for url, _ in listdir(directory) if fnmatch.fnmatchcase(url.rpartition("/")[2], name)]


def getmtime(path: str) -> float | None:
    """When the file or object ``path`` was last written (seconds since the epoch), None if it does not exist."""
    remote, path = resolve(path)
    if not remote:
        try:
            return os.path.getmtime(path)
        except OSError:
            return None
    fs, inner = _fs(path)
    with remote_errors(path, "checking"):
        fs.invalidate_cache(inner)
        try:
            return fs.modified(inner).timestamp()
        except FileNotFoundError:
            return None


def remove(path: str) -> None:
    """Delete the file or object ``path`` and forget that this process wrote it.

    Raises:
        NotFoundError: if it does not exist (other refusals are typed too).
    """
    remote, path = resolve(path)
    if not remote:
        try:
            os.remove(path)
        except OSError as exc:
            raise typed_os_error(exc, path, "deleting") from None
        journal.forget(path)
        return
    fs, inner = _fs(path)
    with remote_errors(path, "deleting"):
        fs.rm_file(inner)
    forget(path)


def copy(source: str, target: str) -> None:
    """Copy the object ``source`` to ``target`` inside one store (server side where the store can)."""
    fs, inner = _fs(source)
    _, target_inner = _fs(target)
    with remote_errors(target, f"copying {source} to"):
        fs.copy(inner, target_inner)
        _remember(fs, target_inner, target)


def written_here(path: str) -> bool:
    """Whether ``path`` is, right now, a file or object this process wrote (``journal.written_here`` for
    local files; for objects the same size and ETag or time)."""
    remote, path = resolve(path)
    if not remote:
        return journal.written_here(path)
    identity = _written.get(path)
    if identity is None:
        return False
    fs, inner = _fs(path)
    try:
        with remote_errors(path, "checking"):
            fs.invalidate_cache(inner)
            return _identity(fs.info(inner)) == identity
    except errors.OpError:
        return False


def forget(url: str) -> None:
    """Drop ``url`` from the record of objects written here."""
    _written.pop(url, None)
