"""The default-session stack, so ``Tensor.eval()`` works without the framework importing the runtime.

``runtime.session.Session.as_default()`` pushes onto this stack; ``eval``/``run``
call whatever session is on top.
"""

from __future__ import annotations

import threading

_local = threading.local()


def _stack() -> list:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def push(session) -> None:
    _stack().append(session)


def pop(session) -> None:
    stack = _stack()
    if stack and stack[-1] is session:
        stack.pop()
    elif session in stack:
        stack.remove(session)


def get_default_session():
    """The innermost default session, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def run_in_default_session(fetches, feed_dict, graph, session=None):
    """Runs ``fetches`` in ``session`` or the default one (for ``eval``/``Operation.run``).

    Raises:
        ValueError: with no session, or a session over another graph, as TF.
    """
    session = session or get_default_session()
    if session is None:
        raise ValueError(
            "Cannot evaluate tensor using `eval()`: No default session is registered. "
            "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`"
        )
    if session.graph is not graph:
        raise ValueError(
            "Cannot use the given session to evaluate tensor: the tensor's graph is different from the session's graph."
        )
    return session.run(fetches, feed_dict)
