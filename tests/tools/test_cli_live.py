"""The command line against real TensorFlow: TF reads what nanotf converted, renamed and froze."""

import ml_dtypes
import numpy as np
import safetensors.numpy

import nanotf as tf
from nanotf.formats import dtypes
from nanotf.protos import graph_pb2

from cli_helpers import FIXTURES, run

VALUES = {
    "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4) / 7, "dense/bias": np.array([1.5, -2.0], ml_dtypes.bfloat16),
    "half": np.array([0.25, 65504], np.float16), "step": np.array(42, np.int64), "mask": np.array([True, False]),
    "z": np.array([1 - 1j], np.complex64), "empty": np.zeros((2, 0), np.float64), "u16": np.array([7], np.uint16),
}  # fmt: skip


def test_tensorflow_reads_a_checkpoint_converted_from_safetensors(tmp_path, capsys, tf_runner):
    safetensors.numpy.save_file(VALUES, tmp_path / "in.safetensors")
    assert run(capsys, "convert", tmp_path / "in.safetensors", tmp_path / "ck" / "model")[0] == 0
    seen = tf_runner.run_json(f"""
        import json, numpy as np
        reader = tf.train.load_checkpoint({str(tmp_path / "ck")!r})
        out = {{}}
        for name, dtype in reader.get_variable_to_dtype_map().items():
            value = reader.get_tensor(name)
            shape = list(value.shape)
            if value.dtype.kind == "c":
                value = np.stack([value.real, value.imag], -1)
            out[name] = [dtype.name, shape, value.astype(np.float64).ravel().tolist()]
        print(json.dumps(out))
    """)
    assert set(seen) == set(VALUES)
    for name, value in VALUES.items():
        dtype, shape, flat = seen[name]
        assert dtype == dtypes.from_numpy(value.dtype).name
        assert shape == list(value.shape)
        expected = np.stack([value.real, value.imag], -1) if value.dtype.kind == "c" else value
        np.testing.assert_array_equal(np.array(flat), expected.astype(np.float64).ravel())


def test_tensorflow_restores_a_renamed_checkpoint(tmp_path, capsys, tf_runner):
    out = tmp_path / "renamed" / "model"
    assert run(capsys, "rename", FIXTURES / "mlp_adam", out, "--map", "W1=layer1/kernel", "--map", "b1=layer1/bias")[0] == 0
    restored = tf_runner.run_json(f"""
        import json
        prefix = {str(out)!r}
        names = [n for n, _ in tf.train.list_variables(prefix)]
        reader = tf.train.load_checkpoint(prefix)
        dtypes, shapes = reader.get_variable_to_dtype_map(), reader.get_variable_to_shape_map()
        variables = {{n: tf.Variable(tf.zeros(shapes[n], dtypes[n]), name=n.replace("/", "_")) for n in names}}
        with tf.Session() as sess:
            tf.train.Saver(var_list=variables).restore(sess, prefix)
            print(json.dumps({{n: sess.run(v).tolist() for n, v in variables.items()}}))
    """)
    assert sorted(restored)[:6] == ["W2", "W2/Adam", "W2/Adam_1", "b2", "b2/Adam", "b2/Adam_1"]
    np.testing.assert_array_equal(restored["layer1/kernel/Adam_1"], tf.train.load_variable(FIXTURES / "mlp_adam", "W1/Adam_1"))
    np.testing.assert_array_equal(restored["layer1/bias"], tf.train.load_variable(FIXTURES / "mlp_adam", "b1"))


def test_tensorflow_runs_the_frozen_graph_as_it_would_freeze_it(tmp_path, capsys, tf_runner):
    seed = FIXTURES / "seed_resource"
    args = (seed / "my_test_model-1000.meta", seed, "--outputs", "op_to_restore", "-o", tmp_path / "frozen.pb")
    assert run(capsys, "freeze", *args)[0] == 0
    result = tf_runner.run_json(f"""
        import json
        graph_def = tf.GraphDef.FromString(open({str(tmp_path / "frozen.pb")!r}, "rb").read())
        with tf.Graph().as_default(), tf.Session() as sess:
            tf.import_graph_def(graph_def, name="")
            ours = float(sess.run("op_to_restore:0", {{"w1:0": 4.0, "w2:0": 5.0}}))
        with tf.Graph().as_default(), tf.Session() as sess:
            saver = tf.train.import_meta_graph({str(seed / "my_test_model-1000.meta")!r}, clear_devices=True)
            saver.restore(sess, {str(seed / "my_test_model-1000")!r})
            theirs = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["op_to_restore"])
        print(json.dumps({{"ours": ours, "nodes": [[n.name, n.op] for n in theirs.node]}}))
    """)
    frozen = graph_pb2.GraphDef.FromString((tmp_path / "frozen.pb").read_bytes())
    assert result["ours"] == 18.0
    assert [[n.name, n.op] for n in frozen.node] == result["nodes"]
