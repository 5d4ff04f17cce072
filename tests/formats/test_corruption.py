"""Corrupted checkpoints must give the exact values or a typed nanotf error, never anything else."""

import random
import shutil

import pytest

from nanotf.errors import OpError
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.v1 import V1Reader

from fixture_io import FIXTURES, assert_tensor_equal, load_expected

CASES_PER_FILE = 60
TARGETS = [
    ("dtypes", "model", ".index"), ("dtypes", "model", ".data-00000-of-00001"),
    ("partitioned", "model", ".index"), ("partitioned", "model", ".data-00000-of-00001"),
    ("sharded", "model", ".index"), ("sharded", "model", ".data-00001-of-00002"),
    ("v1", "model", ""),
]


def _mutations(data: bytes, rng: random.Random):
    n = len(data)
    for _ in range(CASES_PER_FILE // 2):
        pos, bit = rng.randrange(n), 1 << rng.randrange(8)
        yield f"flip byte {pos} bit {bit}", data[:pos] + bytes([data[pos] ^ bit]) + data[pos + 1:]
    for _ in range(CASES_PER_FILE // 3):
        cut = rng.randrange(n)
        yield f"truncate to {cut}", data[:cut]
    yield "append garbage", data + bytes(rng.randrange(256) for _ in range(17))
    yield "prepend garbage", bytes(rng.randrange(256) for _ in range(17)) + data
    yield "zeroed", bytes(n)


def _read_all(fixture, prefix, path, tensors):
    reader = (V1Reader if fixture == "v1" else BundleReader)(path)
    try:
        for key, t in tensors.items():
            assert_tensor_equal(reader.read(key), t)
    finally:
        reader.close()


@pytest.mark.parametrize("fixture,prefix,suffix", TARGETS)
def test_corrupted_files_fail_cleanly(tmp_path, fixture, prefix, suffix):
    tensors = load_expected(fixture)["checkpoints"][prefix]["tensors"]
    for f in (FIXTURES / fixture).glob(prefix + "*"):
        shutil.copy(f, tmp_path / f.name)
    victim = tmp_path / (prefix + suffix)
    original = victim.read_bytes()
    rng = random.Random(f"{fixture}/{prefix}{suffix}")
    for label, data in _mutations(original, rng):
        victim.write_bytes(data)
        try:
            _read_all(fixture, prefix, tmp_path / prefix, tensors)
        except OpError as exc:
            assert str(exc), label
        except AssertionError:
            pytest.fail(f"{victim.name}, {label}: read wrong values without an error")
