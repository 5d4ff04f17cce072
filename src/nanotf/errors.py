"""The nanotf error family.

Every failure nanotf reports on purpose is an ``OpError`` subclass with the
name TensorFlow uses for the same situation, so ``except tf.errors.NotFoundError``
written for TensorFlow keeps working. Messages say what was expected, what was
found, and what to do.
"""

from __future__ import annotations

__all__ = [
    "OpError",
    "CancelledError",
    "UnknownError",
    "InvalidArgumentError",
    "DeadlineExceededError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
    "UnregisteredOpError",
    "UnregisteredOpWarning",
]


class OpError(Exception):
    """Base of all nanotf errors; mirrors ``tf.errors.OpError``.

    Args:
        node_def: unused, kept for TensorFlow's positional signature.
        op: the ``Operation`` involved, if any.
        message: the human-readable explanation.
    """

    error_code = 2  # UNKNOWN

    def __init__(self, node_def=None, op=None, message: str = "", *args):
        # Allow the short form ``NotFoundError("message")`` as well as TF's
        # ``NotFoundError(node_def, op, message)``.
        if isinstance(node_def, str) and op is None and not message:
            node_def, message = None, node_def
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message

    def __str__(self) -> str:
        return self.message


def _error(name: str, code: int, doc: str) -> type[OpError]:
    return type(name, (OpError,), {"error_code": code, "__doc__": doc, "__module__": __name__})


CancelledError = _error("CancelledError", 1, "An operation was cancelled.")
UnknownError = _error("UnknownError", 2, "An error of no more specific kind.")
InvalidArgumentError = _error("InvalidArgumentError", 3, "An argument, feed or attribute is invalid.")
DeadlineExceededError = _error("DeadlineExceededError", 4, "A deadline passed.")
NotFoundError = _error("NotFoundError", 5, "A file, tensor, key or op does not exist.")
AlreadyExistsError = _error("AlreadyExistsError", 6, "Something to be created exists already.")
PermissionDeniedError = _error("PermissionDeniedError", 7, "The operating system refused access.")
ResourceExhaustedError = _error("ResourceExhaustedError", 8, "Out of memory, disk or another resource.")
FailedPreconditionError = _error(
    "FailedPreconditionError", 9, "The system is not in the state the operation needs (e.g. an uninitialised variable)."
)
AbortedError = _error("AbortedError", 10, "The operation was aborted.")
OutOfRangeError = _error("OutOfRangeError", 11, "Iteration went past the end of valid input.")
UnimplementedError = _error("UnimplementedError", 12, "nanotf does not implement this (yet).")
InternalError = _error("InternalError", 13, "An internal invariant of nanotf broke; please report it.")
UnavailableError = _error("UnavailableError", 14, "A service is unavailable.")
DataLossError = _error("DataLossError", 15, "A file is truncated or corrupted.")
UnauthenticatedError = _error("UnauthenticatedError", 16, "Missing credentials.")


class UnregisteredOpError(NotFoundError):
    """A graph needs op types nanotf does not implement (TensorFlow: "Op type not registered").

    Raised by a strict import and by ``Session.run`` before anything runs.

    Attributes:
        nodes: {op type: [names of the nodes of that type]}, every one involved.
        op_types: the op types, sorted.
    """

    def __init__(self, message: str, nodes: dict):
        super().__init__(None, None, message)
        self.nodes = nodes
        self.op_types = sorted(nodes)


class UnregisteredOpWarning(UserWarning):
    """An imported graph uses op types nanotf does not implement; the parts needing them cannot run.

    Attributes:
        nodes: {op type: [names of the imported nodes of that type]}.
        op_types: the op types, sorted.
    """

    def __init__(self, message: str, nodes: dict):
        super().__init__(message)
        self.nodes = nodes
        self.op_types = sorted(nodes)
