"""Meta graphs: TensorFlow's bytes on export, collections both ways, write_graph, freezing."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import behavior
from nanotf.framework import registry
from nanotf.train import meta_graph

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def build_julia_graph():
    x = tf.constant(1)
    return tf.add(x, 1, name="y")


def test_julia_meta_graph_and_write_graph_are_tensorflows_bytes(fresh_graph):
    build_julia_graph()
    tf.train.export_meta_graph(filename="my_model.meta")
    tf.train.export_meta_graph(filename="my_model.pbtxt", as_text=True)
    tf.train.write_graph(fresh_graph.as_graph_def(), ".", "graph.pbtxt")
    tf.io.write_graph(fresh_graph, ".", "graph.pb", as_text=False)
    for name in ("my_model.meta", "my_model.pbtxt", "graph.pbtxt", "graph.pb"):
        assert Path(name).read_bytes() == (FIXTURES / "julia_meta" / name).read_bytes(), name
    assert sorted(os.listdir(".")) == ["graph.pb", "graph.pbtxt", "my_model.meta", "my_model.pbtxt"]


@pytest.mark.parametrize("name", ["my_model.meta", "my_model.pbtxt"])
def test_import_julia_meta_graph_binary_and_text(name):
    assert tf.train.import_meta_graph(str(FIXTURES / "julia_meta" / name)) is None  # no variables, no Saver
    with tf.Session() as sess:
        assert sess.run("y:0") == 2


def test_unparseable_and_missing_meta_files_raise_oserror(tmp_path):
    (tmp_path / "bad.meta").write_bytes(b"\xff\xfe not a proto {")
    with pytest.raises(OSError, match="Cannot parse"):
        tf.train.import_meta_graph("bad.meta")
    with pytest.raises(OSError, match="does not exist"):
        tf.train.import_meta_graph("missing.meta")


def test_meta_info_and_stripped_op_list(fresh_graph):
    build_julia_graph()
    mgd = tf.train.export_meta_graph()
    assert mgd.meta_info_def.tensorflow_version == "2.21.0"
    assert [op.name for op in mgd.meta_info_def.stripped_op_list.op] == ["AddV2", "Const"]
    assert mgd.meta_info_def.stripped_op_list.op[0] == registry.op_def("AddV2")
    assert all(n.attr["_output_shapes"].list.shape for n in mgd.graph_def.node)
    assert mgd.graph_def.versions.producer == 2474


def test_collections_round_trip_as_tensorflow_restores_them(fresh_graph):
    y = build_julia_graph()
    v = tf.Variable(1.5, name="v")
    step = tf.Variable(0, name="global_step", trainable=False, dtype=tf.int64,
                       collections=[tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.GLOBAL_STEP])  # fmt: skip
    tf.add_to_collection("hyperparameters", 0.01)
    tf.add_to_collection("hyperparameters", 0.9)
    tf.add_to_collection("names", "adam")
    tf.add_to_collection("units", 8)
    tf.add_to_collection("outputs", y)
    tf.add_to_collection("train_op", y.op)
    tf.add_to_collection(("tuple", "key"), 1)  # TF skips non-string keys
    mgd = tf.train.export_meta_graph(filename="m.meta")
    assert sorted(mgd.collection_def) == ["global_step", "hyperparameters", "names", "outputs", "train_op",
                                          "trainable_variables", "units", "variables"]  # fmt: skip
    assert mgd.collection_def["variables"].bytes_list.value[0] == v.to_proto().SerializeToString()
    assert list(mgd.collection_def["outputs"].node_list.value) == ["y:0"]
    assert list(mgd.collection_def["train_op"].node_list.value) == ["y"]
    with tf.Graph().as_default() as g2:
        saver = tf.train.import_meta_graph("m.meta")
        assert saver is not None  # variables but no SaverDef: a new Saver
        assert tf.get_collection("hyperparameters") == [np.float32(0.01).item(), np.float32(0.9).item()]
        assert tf.get_collection("names") == [b"adam"]
        assert tf.get_collection("units") == [8]
        assert tf.get_collection("outputs") == [g2.get_tensor_by_name("y:0")]
        assert tf.get_collection("train_op") == [g2.get_operation_by_name("y")]
        assert [x.name for x in tf.trainable_variables()] == ["v:0"]
        assert [x.name for x in tf.global_variables()] == ["v:0", "global_step:0"]
        assert tf.trainable_variables()[0] is tf.global_variables()[0]
        assert [x.name for x in tf.get_collection("global_step")] == ["global_step:0"]
    del step


def test_export_scope_clear_devices_and_strip_default_attrs(fresh_graph):
    with tf.name_scope("outer"), tf.device("/cpu:0"):
        build_julia_graph()
    tf.constant(3, name="elsewhere")
    mgd = tf.train.export_meta_graph(export_scope="outer", clear_devices=True)
    assert [(n.name, n.device, list(n.input)) for n in mgd.graph_def.node] == [
        ("Const", "", []), ("y/y", "", []), ("y", "", ["Const", "y/y"])]
    stripped = tf.train.export_meta_graph(strip_default_attrs=True)
    assert stripped.meta_info_def.stripped_default_attrs
    placeholder = tf.placeholder(tf.float32, name="p")
    node = {n.name: n for n in tf.train.export_meta_graph(strip_default_attrs=True).graph_def.node}["p"]
    assert "shape" not in node.attr and "dtype" in node.attr
    del placeholder


def test_savers_collection_round_trips(fresh_graph):
    tf.Variable(1.0, name="v")
    saver = tf.train.Saver(max_to_keep=3)
    tf.add_to_collection(tf.GraphKeys.SAVERS, saver)
    mgd = tf.train.export_meta_graph(filename="m.meta")
    assert mgd.collection_def["savers"].bytes_list.value[0] == saver.saver_def.SerializeToString()
    with tf.Graph().as_default():
        tf.train.import_meta_graph("m.meta", import_scope="imp")
        (restored,) = tf.get_collection("savers")
        assert restored.saver_def.restore_op_name == "imp/save/restore_all"
        assert restored.saver_def.max_to_keep == 3


def test_meta_graph_write_is_atomic(tmp_path, fresh_graph):
    build_julia_graph()
    tf.train.export_meta_graph(filename=str(tmp_path / "sub" / "m.meta"))
    assert os.listdir(tmp_path / "sub") == ["m.meta"]


# -- freezing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
def test_convert_variables_to_constants_on_the_seed_model(resource):
    if resource:
        behavior.enable_resource_variables()
    w1 = tf.placeholder("float", name="w1")
    w2 = tf.placeholder("float", name="w2")
    b1 = tf.Variable(2.0, name="bias")
    tf.multiply(tf.add(w1, w2), b1, name="op_to_restore")
    tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["op_to_restore"])
    nodes = [("w1", "Placeholder"), ("w2", "Placeholder"), ("bias", "Const"), ("Add", "AddV2"),
             ("op_to_restore/ReadVariableOp", "Identity"), ("op_to_restore", "Mul")]  # fmt: skip
    if not resource:  # the ref variable's snapshot is kept, right after the variable
        nodes[3:5] = [("bias/read", "Identity"), ("Add", "AddV2")]
    assert [(n.name, n.op) for n in frozen.node] == nodes
    bias = frozen.node[2]
    assert set(bias.attr) == {"dtype", "value"} and bias.attr["value"].tensor.float_val == [2.0]
    tf.train.write_graph(frozen, ".", "frozen.pb", as_text=False)
    with tf.Graph().as_default():
        gd = tf.GraphDef.FromString(Path("frozen.pb").read_bytes())
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            assert sess.run("op_to_restore:0", {"w1:0": 4.0, "w2:0": 8.0}) == 24.0


def test_extract_sub_graph_requires_a_list():
    build_julia_graph()
    gd = tf.get_default_graph().as_graph_def()
    with pytest.raises(TypeError):
        tf.graph_util.extract_sub_graph(gd, "y")
    assert [n.name for n in tf.graph_util.extract_sub_graph(gd, ["Const"]).node] == ["Const"]


# -- SundayNet (seed 004) on TensorFlow's training meta graph ----------------------------------
def test_sundaynet_resume_on_tensorflows_mlp_adam_meta_graph(tmp_path):
    mgd = meta_graph.read_meta_graph_file(str(FIXTURES / "mlp_adam/model-3.meta"))
    missing = sorted({n.op for n in mgd.graph_def.node if registry.lookup(n.op) is None})
    if missing:
        pytest.skip(f"mlp_adam needs op types nanotf does not register yet: {missing}")
    shutil.copytree(FIXTURES / "mlp_adam", tmp_path / "results")
    saver = tf.train.import_meta_graph("results/model-3.meta")
    graph = tf.get_default_graph()
    global_step = graph.get_tensor_by_name("global_step:0")
    assert graph.get_operation_by_name("train_op").type == "NoOp"
    assert tf.get_collection("hyperparameters") == [np.float32(0.01).item(), np.float32(0.9).item()]
    assert tf.get_collection("optimizer_name") == [b"adam"] and tf.get_collection("hidden_units") == [8]
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint("results"))
        assert sess.run(global_step) == 3
