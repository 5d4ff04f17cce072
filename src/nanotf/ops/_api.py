"""What the math family's Python API functions share: elementwise wrappers with TF's default names."""

from __future__ import annotations

from nanotf.framework.op_def_library import apply_op


def elementwise_api(op_type: str, default: str, args: tuple, public_name: str):
    """A TF API function applying ``op_type`` to positional ``args`` (the input names).

    Args:
        op_type: the registered op type, e.g. ``"Sub"``.
        default: the op name used when the caller passes no ``name``.
        args: the OpDef input names the positional values bind to.
        public_name: the function's name in the ``tf`` namespace.

    Returns:
        ``fn(*values, name=None) -> Tensor``.
    """

    def fn(*values, name=None):
        if len(values) != len(args):
            raise TypeError(f"{public_name}() takes {len(args)} tensor arguments, got {len(values)}")
        return apply_op(op_type, name=name or default, **dict(zip(args, values)))

    fn.__name__ = fn.__qualname__ = public_name
    fn.__doc__ = f"Elementwise ``{op_type}`` of {', '.join(args)} (default op name ``{default}``)."
    return fn
