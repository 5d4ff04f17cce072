"""Turning tests/fixtures/*/expected.json into NumPy values and SaveV2 arguments."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from nanotf.formats import dtypes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_expected(name: str) -> dict:
    path = FIXTURES / name / "expected.json"
    if not path.exists():
        pytest.skip(f"fixture {name} not generated yet")
    return json.loads(path.read_text())


def to_array(t: dict) -> np.ndarray:
    """The value of one expected.json tensor record (``hex`` or ``b64``)."""
    if "b64" in t:
        out = np.empty(len(t["b64"]), dtype=object)
        out[:] = [base64.b64decode(x) for x in t["b64"]]
        return out.reshape(t["shape"])
    return np.frombuffer(bytes.fromhex(t["hex"]), dtype=dtypes.BY_NAME[t["dtype"]].numpy).reshape(t["shape"])


def assert_tensor_equal(actual: np.ndarray, t: dict) -> None:
    """Exact comparison: dtype, shape and raw bytes (or the byte strings)."""
    assert list(actual.shape) == t["shape"]
    if "b64" in t:
        assert [bytes(x) for x in actual.ravel()] == [base64.b64decode(x) for x in t["b64"]]
    else:
        assert actual.dtype == dtypes.BY_NAME[t["dtype"]].numpy
        assert np.ascontiguousarray(actual).tobytes().hex() == t["hex"]


def save_args(op: dict) -> tuple[list, list, list, list]:
    """SaveV2's (names, shape_and_slices, arrays, dtypes) for one recorded save op."""
    ts = op["tensors"]
    return ([t["key"] for t in ts], [t["shape_and_slice"] for t in ts], [to_array(t) for t in ts],
            [t["dtype"] for t in ts])


def multiblock_args(expected: dict) -> tuple[list, list, list, list]:
    """The 7000 scalar float32 tensors of the multiblock fixture, as its "generated" rule says."""
    gen = expected["generated"]
    names = [gen["key_format"].format(i) for i in range(gen["count"])]
    arrays = [np.array(i, dtype=np.float32) for i in range(gen["count"])]
    return names, [""] * len(names), arrays, ["float32"] * len(names)
