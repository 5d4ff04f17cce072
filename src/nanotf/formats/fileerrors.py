"""Turning the operating system's OSErrors into typed nanotf errors that say what to do.

A disk that fills up or a directory that is not writable in the middle of a
save must not surface as a bare ``OSError`` from deep inside a writer: callers
catch ``nanotf.errors`` classes (TensorFlow's), and the user needs the path
and the remedy. Writers wrap their file operations in ``os_errors``.
"""

from __future__ import annotations

import contextlib
import errno
import os

from .. import errors

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM}
_OUT_OF = {errno.EMFILE, errno.ENFILE, errno.ENOMEM}


def typed_os_error(exc: OSError, path: str, action: str) -> errors.OpError:
    """The nanotf error for ``exc``, raised while ``action`` ``path``.

    Args:
        exc: the OSError.
        path: the file concerned (``exc.filename`` wins when the OS names one).
        action: what was being done, e.g. ``"writing"``.

    Returns:
        ResourceExhaustedError (disk full, quota, too many open files),
        PermissionDeniedError (no permission, read-only filesystem),
        NotFoundError, AlreadyExistsError, FailedPreconditionError (a
        directory where a file belongs or the reverse), else UnknownError.
    """
    where = os.fspath(exc.filename) if exc.filename else path
    reason = exc.strerror or str(exc)
    code = errno.errorcode.get(exc.errno, "no errno")
    head = f"{action} {where}: {reason} ({code})"
    if exc.errno in _FULL:
        return errors.ResourceExhaustedError(
            f"{head}. Free space on that filesystem (or raise the quota) or save elsewhere; "
            "files written before this one, and the previous checkpoint, are untouched"
        )
    if exc.errno in _DENIED:
        return errors.PermissionDeniedError(f"{head}. Make the directory writable for this user or choose another one")
    if exc.errno == errno.EROFS:
        return errors.PermissionDeniedError(f"{head}. The filesystem is mounted read-only; save to a writable one")
    if exc.errno in _OUT_OF:
        return errors.ResourceExhaustedError(f"{head}. Close files or free memory and retry")
    if exc.errno == errno.ENOENT:
        return errors.NotFoundError(f"{head}. Check that the directory exists")
    if exc.errno == errno.EEXIST:
        return errors.AlreadyExistsError(head)
    if exc.errno in (errno.EISDIR, errno.ENOTDIR):
        return errors.FailedPreconditionError(f"{head}. A directory and a file have the same name")
    return errors.UnknownError(head)


@contextlib.contextmanager
def os_errors(path: str, action: str):
    """Re-raise any OSError of the block as ``typed_os_error(exc, path, action)``."""
    try:
        yield
    except OSError as exc:
        raise typed_os_error(exc, path, action) from exc
