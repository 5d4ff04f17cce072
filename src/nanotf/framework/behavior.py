"""Process-wide TF1/TF2 behaviour switches that change what graphs look like.

TensorFlow 1 programs, and TF 2 with ``disable_v2_behavior()``, make ref
variables (``VariableV2``); TF 2 graph mode after only
``disable_eager_execution()`` makes resource variables (``VarHandleOp``).
nanotf starts in the TF1 state.
"""

from __future__ import annotations

from nanotf import errors

_state = {"resource_variables": False}


def resource_variables_enabled() -> bool:
    """Whether ``tf.Variable``/``get_variable`` default to resource variables."""
    return _state["resource_variables"]


def enable_resource_variables() -> None:
    _state["resource_variables"] = True


def disable_resource_variables() -> None:
    _state["resource_variables"] = False


def disable_eager_execution() -> None:
    """TF2 graph mode: variables become resource variables (nanotf never runs eagerly)."""
    enable_resource_variables()


def enable_eager_execution(*args, **kwargs) -> None:
    raise errors.UnimplementedError("nanotf runs TF1 graph mode only; eager execution is not available")


def disable_v2_behavior() -> None:
    """TF1 behaviour: ref variables."""
    disable_resource_variables()


def enable_v2_behavior() -> None:
    enable_resource_variables()


def executing_eagerly() -> bool:
    return False
