"""The op table: one row per behaviour of a registered op, checked by ``tests/ops/test_op_table.py``.

Each family module (``math.py``, ``array.py``, ``nn.py``, ...) defines
``CASES``, a list of ``OpCase``. A row builds a small graph from placeholders
fed with ``inputs``; the runner checks the forward value against
``reference`` (an independent NumPy implementation) and, when ``grad`` is
set, the symbolic gradient (``tf.gradients``) against central finite
differences of the forward computation, for each floating input.

``EXEMPT`` (below) names registered op types that are covered elsewhere
(checkpoint I/O, variables, random streams), each with the test that covers
it; every other registered op type must appear in some row's ``ops``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Callable

import numpy as np


@dataclass
class OpCase:
    """One row of the op table.

    Attributes:
        id: the test id, e.g. ``"matmul_transpose_b"``.
        ops: the op types this row exercises (checked against the registry).
        build: ``fn(*tensors) -> Tensor`` building the op(s) with nanotf from
            one placeholder per input.
        inputs: the arrays fed to the placeholders (their dtypes and shapes
            set the placeholders').
        reference: ``fn(*arrays) -> array``, the expected forward value; None
            when only the gradient is checked.
        grad: check the gradient of the output w.r.t. every floating input
            (or those in ``grad_inputs``) against finite differences.
        grad_inputs: indices of the inputs to differentiate; default all floating ones.
        rtol, atol: forward tolerances; ``grad_rtol``/``grad_atol`` for gradients.
        static_shape: assert the built tensor's static shape agrees with the result.
    """

    id: str
    ops: tuple
    build: Callable
    inputs: list
    reference: Callable | None = None
    grad: bool = False
    grad_inputs: tuple | None = None
    rtol: float = 1e-6
    atol: float = 1e-6
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-5
    static_shape: bool = True
    feed_shapes: list = field(default_factory=list)


# Registered op types whose behaviour is tested outside the table, with where.
EXEMPT = {
    "Const": "every row (constants), tests/framework",
    "Placeholder": "every row feeds placeholders",
    "NoOp": "tests/runtime/test_session.py (group, init)",
    "VariableV2": "tests/train/test_variables.py",
    "VarHandleOp": "tests/train/test_variables.py",
    "ReadVariableOp": "tests/train/test_variables.py",
    "AssignVariableOp": "tests/train/test_variables.py",
    "AssignAddVariableOp": "tests/train/test_variables.py",
    "AssignSubVariableOp": "tests/train/test_variables.py",
    "VarIsInitializedOp": "tests/train/test_variables.py",
    "IsVariableInitialized": "tests/train/test_variables.py",
    "DestroyResourceOp": "tests/train/test_variables.py",
    "Assign": "tests/train/test_variables.py",
    "AssignAdd": "tests/train/test_variables.py",
    "AssignSub": "tests/train/test_variables.py",
    "SaveV2": "tests/train/test_saver.py",
    "RestoreV2": "tests/train/test_saver.py",
    "Save": "tests/train/test_saver.py (V1)",
    "SaveSlices": "tests/train/test_saver.py (V1)",
    "Restore": "tests/train/test_saver.py (V1)",
    "RestoreSlice": "tests/train/test_saver.py (V1)",
    "MergeV2Checkpoints": "tests/train/test_saver.py (sharded)",
    "ShardedFilename": "tests/train/test_saver.py (sharded)",
    "ShardedFilespec": "tests/train/test_saver.py (sharded)",
    "StringJoin": "tests/train/test_saver.py (sharded)",
    "StaticRegexFullMatch": "tests/train/test_saver.py (sharded)",
    "RandomStandardNormal": "tests/ops/test_random_ops.py (bit-exact with TF)",
    "RandomUniform": "tests/ops/test_random_ops.py (bit-exact with TF)",
    "RandomUniformInt": "tests/ops/test_random_ops.py (bit-exact with TF)",
    "TruncatedNormal": "tests/ops/test_random_ops.py (bit-exact with TF)",
    **dict.fromkeys(["Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter", "Exit", "RefExit",
                     "NextIteration", "RefNextIteration", "LoopCond", "ControlTrigger", "Assert"],
                    "tests/runtime/test_dataflow.py, tests/ops/test_control_flow.py (dead tensors, frames)"),
    **dict.fromkeys(["TensorArrayV3", "TensorArrayWriteV3", "TensorArrayReadV3", "TensorArrayGatherV3",
                     "TensorArrayScatterV3", "TensorArrayConcatV3", "TensorArraySplitV3", "TensorArraySizeV3",
                     "TensorArrayGradV3", "TensorArrayCloseV3", "StackV2", "StackPushV2", "StackPopV2",
                     "StackCloseV2"],
                    "tests/ops/test_tensor_array.py, tests/runtime/test_control_flow_fixtures.py (LSTM)"),
}


def family_cases() -> list:
    """All rows of every family module in this package."""
    import importlib
    import pkgutil

    cases = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases


def as_float64(*arrays):
    """The arrays as float64, for references computed in higher precision."""
    return [np.asarray(a, np.float64) for a in arrays]
