"""`nanotf convert` and the safetensors / npz formats, checked against the reference libraries."""

import json
import struct

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy

import nanotf as tf
from nanotf.errors import DataLossError, UnimplementedError
from nanotf.formats import dtypes
from nanotf.tools.safetensors_io import SafetensorsFile, write_safetensors

from cli_helpers import FIXTURES, nanotf, run, run_json

# The dtypes fixture's keys safetensors has a dtype for.
SAFETENSORS_KEYS = r"^(bool|u?int(8|16|32|64)|float(16|32|64)|bfloat16|complex64|float8_e4m3fn|float8_e5m2|float32_.*|int32_empty.*)$"

VALUES = {
    "u64": np.array([1, 2**63], np.uint64), "f64": np.linspace(0, 1, 5), "c64": np.array([1 + 2j], np.complex64),
    "f32": np.arange(6, dtype=np.float32).reshape(2, 3), "scalar": np.array(7.5, np.float32),
    "empty": np.zeros((0, 3), np.float32), "bf16": np.array([1.5, -2], ml_dtypes.bfloat16),
    "f16": np.array([0.5], np.float16), "i16": np.array([-3], np.int16), "i8": np.array([-1, 1], np.int8),
    "f8": np.array([1, 2], ml_dtypes.float8_e4m3fn), "b": np.array([True, False]), "u8": np.array([255], np.uint8),
}  # fmt: skip


def _write(path, values, metadata=None):
    specs = [(k, dtypes.from_numpy(v.dtype), v.shape) for k, v in values.items()]
    write_safetensors(path, specs, values.__getitem__, metadata)


def test_safetensors_bytes_equal_the_reference_writer(tmp_path):
    # One metadata key: the reference writer orders several in a per-process random order.
    _write(tmp_path / "ours.safetensors", VALUES, {"é": "ü"})
    assert (tmp_path / "ours.safetensors").read_bytes() == safetensors.numpy.save(VALUES, metadata={"é": "ü"})
    _write(tmp_path / "meta.safetensors", {"x": VALUES["u8"]}, {"b": "1", "a": "2"})
    with safetensors.safe_open(tmp_path / "meta.safetensors", framework="np") as f:
        assert f.metadata() == {"b": "1", "a": "2"}


def test_safetensors_written_by_the_reference_reads_zero_copy(tmp_path):
    safetensors.numpy.save_file(VALUES, tmp_path / "ref.safetensors", metadata={"k": "v"})
    with SafetensorsFile(tmp_path / "ref.safetensors") as f:
        assert f.names() == sorted(VALUES) and f.metadata == {"k": "v"}
        for name, value in VALUES.items():
            got = f.read(name)
            assert got.dtype == value.dtype and got.shape == value.shape and not got.flags.writeable
            np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("edit, message", [
    (lambda b: b[:6], "too short"),
    (lambda b: struct.pack("<Q", 10**9) + b[8:], "does not fit"),
    (lambda b: b[:-1], "the header describes 24 data bytes but the file has 23"),
    (lambda b: b[:8] + b"[" + b[9:], "is not UTF-8 JSON"),
    (lambda b: struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    (lambda b: b.replace(b'"data_offsets":[0,12]', b'"data_offsets":[0,11]'), "hold 11 bytes"),
    (lambda b: b.replace(b'"data_offsets":[12,24]', b'"data_offsets":[11,23]'), "overlaps"),
    (lambda b: b.replace(b'"F32"', b'"X32"', 1), "dtype X32 is not one nanotf reads"),
    (lambda b: b.replace(b'"b"', b'"a"'), "duplicate key"),
])  # fmt: skip
def test_malformed_safetensors_raise_typed_errors(tmp_path, edit, message):
    data = safetensors.numpy.save({"a": np.zeros(3, np.float32), "b": np.ones(3, np.float32)})
    (tmp_path / "bad.safetensors").write_bytes(edit(data))
    with pytest.raises((DataLossError, UnimplementedError), match=message):
        SafetensorsFile(tmp_path / "bad.safetensors")


def test_tf_checkpoint_to_safetensors_loads_in_the_reference(tmp_path, capsys):
    proc = nanotf("convert", FIXTURES / "dtypes" / "model", tmp_path / "d.safetensors", "--include", SAFETENSORS_KEYS)
    assert proc.returncode == 0, proc.stderr
    reader = tf.train.load_checkpoint(FIXTURES / "dtypes" / "model")
    with SafetensorsFile(tmp_path / "d.safetensors") as ours:
        assert len(ours.names()) == 20
        for name in ours.names():
            np.testing.assert_array_equal(ours.read(name), reader.get_tensor(name))
    # The reference reader's NumPy backend has no bfloat16 or float8: it loads the rest.
    plain = tmp_path / "plain.safetensors"
    assert run(capsys, "convert", FIXTURES / "dtypes" / "model", plain, "--include", SAFETENSORS_KEYS,
               "--exclude", "bfloat16|float8")[0] == 0  # fmt: skip
    loaded = safetensors.numpy.load_file(plain)
    assert len(loaded) == 17
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, reader.get_tensor(name))


def test_safetensors_to_checkpoint_matches_write_checkpoint(tmp_path, capsys):
    safetensors.numpy.save_file(VALUES, tmp_path / "in.safetensors")
    report = run_json(capsys, "convert", tmp_path / "in.safetensors", tmp_path / "ck" / "model")
    assert report["format"] == "checkpoint" and len(report["tensors"]) == len(VALUES)
    tf.train.write_checkpoint(tmp_path / "ref" / "model", VALUES)
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / "ck" / f"model{suffix}").read_bytes() == (tmp_path / "ref" / f"model{suffix}").read_bytes()
    assert tf.train.latest_checkpoint(tmp_path / "ck") == str(tmp_path / "ck" / "model")


def test_string_tensors_cannot_go_to_safetensors(tmp_path, capsys):
    status, _, err = run(capsys, "convert", FIXTURES / "dtypes" / "model", tmp_path / "d.safetensors")
    assert status == 1 and not (tmp_path / "d.safetensors").exists()
    assert "InvalidArgumentError" in err and "safetensors" in err


def test_npz_round_trip_keeps_strings_without_pickle(tmp_path, capsys):
    keep = ["--exclude", "bfloat16|float8|float4|int4|int2|qu?int|variant"]
    assert run(capsys, "convert", FIXTURES / "dtypes" / "model", tmp_path / "d.npz", *keep)[0] == 0
    reader = tf.train.load_checkpoint(FIXTURES / "dtypes" / "model")
    with np.load(tmp_path / "d.npz", allow_pickle=False) as npz:
        assert npz["string"].dtype.kind == "S"
        assert list(npz["string"].ravel()) == list(reader.get_tensor("string").ravel())
    assert run(capsys, "convert", tmp_path / "d.npz", tmp_path / "back" / "m")[0] == 0
    report = run_json(capsys, "diff", tmp_path / "back" / "m", tmp_path / "d.npz")
    assert report["same"]


def test_npz_refuses_what_it_cannot_hold(tmp_path, capsys):
    status, _, err = run(capsys, "convert", FIXTURES / "dtypes" / "model", tmp_path / "d.npz")
    assert status == 1 and "bfloat16, which .npz cannot hold" in err
    np.savez(tmp_path / "obj.npz", o=np.array([{"a": 1}], dtype=object))
    status, _, err = run(capsys, "inspect", tmp_path / "obj.npz")
    assert status == 1 and "never unpickles" in err


def test_rename_include_exclude_and_cast(tmp_path, capsys):
    report = run_json(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "w.safetensors",
                      "--exclude", "Adam|power", "--include", "^[Wb]", "--rename", "^W(\\d)$=dense\\1/kernel",
                      "--rename", "^b(\\d)$=dense\\1/bias", "--dtype", "bfloat16")  # fmt: skip
    assert [(t["from"], t["to"], t["dtype"]) for t in report["tensors"]] == [
        ("W1", "dense1/kernel", "bfloat16"), ("W2", "dense2/kernel", "bfloat16"),
        ("b1", "dense1/bias", "bfloat16"), ("b2", "dense2/bias", "bfloat16")]  # fmt: skip
    header_size = struct.unpack("<Q", (tmp_path / "w.safetensors").read_bytes()[:8])[0]
    header = json.loads((tmp_path / "w.safetensors").read_bytes()[8 : 8 + header_size])
    assert header["dense1/kernel"]["dtype"] == "BF16" and header["dense1/kernel"]["shape"] == [4, 8]
    w1 = tf.train.load_variable(FIXTURES / "mlp_adam", "W1")
    with SafetensorsFile(tmp_path / "w.safetensors") as f:
        np.testing.assert_array_equal(f.read("dense1/kernel"), w1.astype(ml_dtypes.bfloat16))


def test_rename_collisions_and_bad_arguments(tmp_path, capsys):
    status, _, err = run(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "x.npz", "--rename", "Adam_1=Adam")
    assert status == 1 and "would both be written as" in err
    assert run(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "x.npz", "--rename", "noequals")[0] == 2
    assert run(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "x.npz", "--include", "(")[0] == 2
    status, _, err = run(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "x.npz", "--include", "nothing")
    assert status == 2 and "no tensor" in err


def test_partitioned_tensors_are_written_whole_to_files(tmp_path, capsys):
    assert run(capsys, "convert", FIXTURES / "partitioned", tmp_path / "p.npz")[0] == 0
    with np.load(tmp_path / "p.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["emb"], tf.train.load_variable(FIXTURES / "partitioned", "emb"))
