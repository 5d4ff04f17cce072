"""What every ``nanotf`` subcommand shares: exit codes, notes, JSON output, file reading."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings

from ..errors import NotFoundError
from ..train.checkpoint_reader import resolve_checkpoint
from .progress import Progress

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
READ_CHUNK = 16 << 20


class UsageError(Exception):
    """The command line asks for something impossible (exit status 2)."""


def note(message: str) -> None:
    """Tell the user something on stderr without failing."""
    print(f"note: {message}", file=sys.stderr)


def print_json(document) -> None:
    """Write ``document`` to stdout as the command's one JSON result."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def checkpoint_prefix(path: str | os.PathLike) -> str:
    """The prefix of the checkpoint at ``path`` (a directory, a prefix or one of its files).

    A file of the checkpoint is accepted with a note naming the prefix, so the
    user learns what to pass next time.

    Raises:
        NotFoundError: if there is no checkpoint there.
    """
    path = os.fspath(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prefix = resolve_checkpoint(path)
    one_file = path != prefix and path.startswith(prefix) and not os.path.isdir(path)
    if one_file:
        note(f"you passed the `{path[len(prefix):]}` file; the prefix is `{prefix}`")
    for warning in caught:  # the reader's own warning about the file is replaced by the note above
        if not (one_file and prefix in str(warning.message)):
            note(str(warning.message))
    return prefix


def read_file(path: str | os.PathLike, label: str) -> bytes:
    """The bytes of ``path``, read in chunks behind a progress bar when large.

    Raises:
        NotFoundError: if the file does not exist.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; opened first to turn a missing file into NotFoundError
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    with f, Progress(os.fstat(f.fileno()).st_size, label) as progress:
        chunks = []
        while chunk := f.read(READ_CHUNK):
            chunks.append(chunk)
            progress.advance(len(chunk))
    return b"".join(chunks)


def regex(text: str) -> re.Pattern:
    """argparse type: a compiled regular expression."""
    try:
        return re.compile(text)
    except re.error as err:
        raise argparse.ArgumentTypeError(f"bad regular expression {text!r}: {err}") from None


def split_mapping(text: str, what: str) -> tuple[str, str]:
    """Split ``OLD=NEW`` at its first ``=``.

    Raises:
        argparse.ArgumentTypeError: if there is no ``=`` or OLD is empty.
    """
    old, sep, new = text.partition("=")
    if not sep or not old:
        raise argparse.ArgumentTypeError(f"{what} must look like OLD=NEW, got {text!r}")
    return old, new
