"""Live tier: real TensorFlow reads what nanotf's Saver writes, and the other way round.

Needs NANOTF_TF_PYTHON (see tests/conftest.py).
"""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seed_programs import EXPECTED, steps  # noqa: E402

import nanotf as tf  # noqa: E402
from nanotf.framework import registry  # noqa: E402

TF_V1 = "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()"
TF_RESOURCE = "# keep-v2\nimport tensorflow.compat.v1 as tf\ntf.disable_eager_execution()"
NANOTF_RESOURCE = "import nanotf as tf\ntf.disable_eager_execution()"

SEED_BUILD = """
w1 = tf.placeholder("float", name="w1")
w2 = tf.placeholder("float", name="w2")
b1 = tf.Variable(2.0, name="bias")
w4 = tf.multiply(tf.add(w1, w2), b1, name="op_to_restore")
saver = tf.train.Saver()
sess = tf.Session()
sess.run(tf.global_variables_initializer())
saver.save(sess, "my_test_model", global_step=1000)
"""

SEED_RESTORE = """
sess = tf.Session()
saver = tf.train.import_meta_graph("my_test_model-1000.meta")
saver.restore(sess, tf.train.latest_checkpoint("./"))
out = graph = tf.get_default_graph()
feeds = {"w1:0": 13.0, "w2:0": 17.0}
op = graph.get_tensor_by_name("op_to_restore:0")
print(sess.run(op, {"w1:0": 4.0, "w2:0": 8.0}), sess.run(op, feeds), sess.run(tf.multiply(op, 2), feeds))
"""

FREEZE = """
frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["op_to_restore"])
tf.io.write_graph(frozen, ".", "frozen.pb", as_text=False)
"""

RUN_FROZEN = """
gd = tf.GraphDef()
gd.ParseFromString(open("frozen.pb", "rb").read())
print([(n.name, n.op) for n in gd.node])
tf.import_graph_def(gd, name="")
with tf.Session() as sess:
    print(sess.run("op_to_restore:0", {"w1:0": 4.0, "w2:0": 8.0}))
"""


def run_nanotf(code: str, cwd) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e is not None))
def test_tensorflow_prints_the_expected_seed_output(name, tf_runner, tmp_path):
    out = "".join(tf_runner.run(step, cwd=tmp_path) for step in steps(name, TF_V1))
    assert out == EXPECTED[name]


@pytest.mark.parametrize("nanotf_head, tf_head", [("import nanotf as tf", TF_V1), (NANOTF_RESOURCE, TF_RESOURCE)],
                         ids=["ref", "resource"])
def test_tensorflow_restores_and_runs_nanotf_checkpoint(nanotf_head, tf_head, tf_runner, tmp_path):
    run_nanotf(nanotf_head + SEED_BUILD, tmp_path)
    assert tf_runner.run(tf_head + SEED_RESTORE, cwd=tmp_path) == "24.0 60.0 120.0\n"


@pytest.mark.parametrize("nanotf_head, tf_head", [("import nanotf as tf", TF_V1), (NANOTF_RESOURCE, TF_RESOURCE)],
                         ids=["ref", "resource"])
def test_nanotf_restores_and_runs_tensorflow_checkpoint(nanotf_head, tf_head, tf_runner, tmp_path):
    tf_runner.run(tf_head + SEED_BUILD, cwd=tmp_path)
    assert run_nanotf(nanotf_head + SEED_RESTORE, tmp_path) == "24.0 60.0 120.0\n"


@pytest.mark.parametrize("nanotf_head, tf_head", [("import nanotf as tf", TF_V1), (NANOTF_RESOURCE, TF_RESOURCE)],
                         ids=["ref", "resource"])
def test_same_program_writes_the_same_files(nanotf_head, tf_head, tf_runner, tmp_path):
    (tmp_path / "tf").mkdir()
    (tmp_path / "nano").mkdir()
    tf_runner.run(tf_head + SEED_BUILD, cwd=tmp_path / "tf")
    run_nanotf(nanotf_head + SEED_BUILD, tmp_path / "nano")
    names = sorted(p.name for p in (tmp_path / "tf").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "nano").iterdir())
    for name in names:
        assert (tmp_path / "tf" / name).read_bytes() == (tmp_path / "nano" / name).read_bytes(), name


@pytest.mark.parametrize("nanotf_head, tf_head", [("import nanotf as tf", TF_V1), (NANOTF_RESOURCE, TF_RESOURCE)],
                         ids=["ref", "resource"])
def test_frozen_graph_both_ways(nanotf_head, tf_head, tf_runner, tmp_path):
    (tmp_path / "tf").mkdir()
    (tmp_path / "nano").mkdir()
    run_nanotf(nanotf_head + SEED_BUILD + FREEZE, tmp_path / "nano")
    tf_runner.run(tf_head + SEED_BUILD + FREEZE, cwd=tmp_path / "tf")
    assert (tmp_path / "nano" / "frozen.pb").read_bytes() == (tmp_path / "tf" / "frozen.pb").read_bytes()
    by_tf = tf_runner.run(tf_head + RUN_FROZEN, cwd=tmp_path / "nano")
    by_nanotf = run_nanotf(nanotf_head + RUN_FROZEN, tmp_path / "tf")
    assert by_tf == by_nanotf
    assert by_tf.endswith("\n24.0\n")


SHARDED_BUILD = """
import numpy as np
with tf.device("/cpu:0"):
    tf.Variable(np.array([1.0, 2.0, 3.0], np.float32), name="a")
    tf.Variable(np.array([b"zero", b"\\xc3\\xa9"], object), name="s0")
with tf.device("/cpu:1"):
    tf.Variable(np.array([[10, 20], [30, 40]], np.int64), name="b")
    tf.Variable(np.float64(0.125), name="c")
saver = tf.train.Saver(sharded=True)
"""


def _sharded_saves(tf_runner, tmp_path):
    (tmp_path / "tf").mkdir()
    (tmp_path / "nano").mkdir()
    tf_runner.run(SHARDED_BUILD + """
with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as sess:
    sess.run(tf.global_variables_initializer())
    print(saver.save(sess, "model"))
""", cwd=tmp_path / "tf")
    run_nanotf("import nanotf as tf\n" + SHARDED_BUILD + """
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(saver.save(sess, "model"))
""", tmp_path / "nano")
    return tmp_path / "tf", tmp_path / "nano"


def _nodes(meta_path):
    mgd = tf.MetaGraphDef.FromString(meta_path.read_bytes())
    return {n.name: n for n in mgd.graph_def.node}


def test_sharded_save_matches_tensorflow(tf_runner, tmp_path):
    by_tf, by_nanotf = _sharded_saves(tf_runner, tmp_path)
    for name in ("model.index", "model.data-00000-of-00002", "model.data-00001-of-00002", "checkpoint"):
        assert (by_tf / name).read_bytes() == (by_nanotf / name).read_bytes(), name
    theirs, ours = _nodes(by_tf / "model.meta"), _nodes(by_nanotf / "model.meta")
    save_nodes = sorted(n for n in theirs if n.startswith("save/"))
    assert save_nodes == sorted(n for n in ours if n.startswith("save/"))
    for name in save_nodes:
        for node in (theirs[name], ours[name]):
            controls = sorted(i for i in node.input if i.startswith("^"))
            del node.input[len(node.input) - len(controls):]
            node.input.extend(controls)
        assert theirs[name] == ours[name], name


def test_sharded_meta_graph_bytes_match_tensorflow(tf_runner, tmp_path):
    by_tf, by_nanotf = _sharded_saves(tf_runner, tmp_path)
    assert (by_tf / "model.meta").read_bytes() == (by_nanotf / "model.meta").read_bytes()


IO_OPS = ["SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "ShardedFilespec", "StringJoin",
          "StaticRegexFullMatch", "SaveSlices", "Save", "Restore", "RestoreSlice"]


def test_io_op_defs_are_tensorflows(tf_runner):
    got = tf_runner.run_json(f"""
import json, base64
from tensorflow.python.framework import op_def_registry
out = {{}}
for name in {IO_OPS!r}:
    op = op_def_registry.get(name)
    stripped = type(op)()
    stripped.CopyFrom(op)
    stripped.ClearField("summary")
    stripped.ClearField("description")
    for arg in list(stripped.input_arg) + list(stripped.output_arg):
        arg.ClearField("description")
    for attr in stripped.attr:
        attr.ClearField("description")
    out[name] = base64.b64encode(stripped.SerializeToString(deterministic=True)).decode()
print(json.dumps(out))
""")
    for name in IO_OPS:
        assert registry.op_def(name).SerializeToString(deterministic=True) == base64.b64decode(got[name]), name


def test_tensorflow_reads_nanotf_v1_checkpoint(tf_runner, tmp_path):
    run_nanotf("""
import numpy as np
import nanotf as tf
tf.Variable(np.array([1.5, -2.0], np.float32), name="f32")
tf.Variable(np.array([b"x", b""], object), name="s")
saver = tf.train.Saver(write_version=tf.train.SaverDef.V1)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    saver.save(sess, "model")
""", tmp_path)
    got = tf_runner.run_json("""
import json
with tf.Session() as sess:
    tf.train.import_meta_graph("model.meta").restore(sess, "model")
    print(json.dumps([sess.run("f32:0").tolist(), [v.decode() for v in sess.run("s:0")]]))
""", cwd=tmp_path)
    assert got == [[1.5, -2.0], ["x", ""]]
    assert json.loads(json.dumps(tf.train.list_variables(str(tmp_path / "model")))) == [["f32", [2]], ["s", [2]]]
