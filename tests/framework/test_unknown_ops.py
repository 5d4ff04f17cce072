"""Graphs with op types nanotf lacks: import with one warning, refuse only the runs that need them.

The unknown types are made up ("MyCustomOp", "FancyApplyAdam"), so these tests do
not depend on which real TensorFlow ops nanotf registers.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format

import nanotf as tf
from nanotf.framework import op_support
from nanotf.protos import graph_pb2
from nanotf.train import meta_graph

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# x -> custom (MyCustomOp) -> y; a -> b (all registered); orphan (UnusedOp) feeds nothing.
GRAPH = """
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
node { name: "custom" op: "MyCustomOp" input: "x" attr { key: "T" value { type: DT_FLOAT } }
       attr { key: "_class" value { list { s: "loc:@x" } } } }
node { name: "y" op: "Identity" input: "custom" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "a" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
       attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 3 } } } }
node { name: "b" op: "Mul" input: "a" input: "a" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "orphan" op: "UnusedOp" input: "^b" }
"""


def _graph_def(text=GRAPH) -> graph_pb2.GraphDef:
    return text_format.Parse(text, graph_pb2.GraphDef())


def _import(graph_def, **kwargs) -> tf.Graph:
    g = tf.Graph()
    with g.as_default(), pytest.warns(tf.errors.UnregisteredOpWarning):
        tf.import_graph_def(graph_def, **kwargs)
    return g


# -- import --------------------------------------------------------------------------------------
def test_import_warns_once_naming_every_unknown_type_with_counts_and_names():
    g = tf.Graph()
    with g.as_default(), pytest.warns(tf.errors.UnregisteredOpWarning) as record:
        tf.import_graph_def(_graph_def())
    assert len(record) == 1
    warning = record[0].message
    assert warning.nodes == {"MyCustomOp": ["import/custom"], "UnusedOp": ["import/orphan"]}
    assert warning.op_types == ["MyCustomOp", "UnusedOp"]
    assert "MyCustomOp (1 node: 'import/custom')" in str(warning) and "cannot run" in str(warning)
    assert isinstance(warning, UserWarning)
    assert g.get_operation_by_name("import/custom").type == "MyCustomOp"


def test_import_of_supported_graph_does_not_warn(recwarn):
    with tf.Graph().as_default():
        tf.import_graph_def(_graph_def(GRAPH.replace("MyCustomOp", "Identity").replace("UnusedOp", "NoOp")))
    assert not [w for w in recwarn if issubclass(w.category, tf.errors.UnregisteredOpWarning)]


def test_strict_import_raises_and_imports_nothing():
    g = tf.Graph()
    with g.as_default(), pytest.raises(tf.errors.UnregisteredOpError) as info:
        tf.import_graph_def(_graph_def(), allow_unregistered=False)
    assert info.value.nodes == {"MyCustomOp": ["custom"], "UnusedOp": ["orphan"]}
    assert isinstance(info.value, tf.errors.NotFoundError)
    assert "allow_unregistered=True" in str(info.value)
    assert g.get_operations() == []


def test_unknown_node_round_trips_unchanged():
    gd = _graph_def()
    g = _import(gd, name="")
    by_name = {n.name: n for n in g.as_graph_def().node}
    for original in gd.node:
        if original.op in ("MyCustomOp", "UnusedOp"):
            assert by_name[original.name] == original
    assert g.get_operation_by_name("custom").op_def is None
    assert g.get_operation_by_name("custom").get_attr("_class") == [b"loc:@x"]


# -- output types --------------------------------------------------------------------------------
def _single(node_text: str, consumers: str = "") -> tf.Graph:
    return _import(_graph_def(f'node {{ name: "u" op: "MyCustomOp" {node_text} }}\n{consumers}'), name="")


def test_outputs_counted_from_the_highest_consumed_index_and_typed_by_the_consumer():
    g = _single("", 'node { name: "c" op: "Identity" input: "u:2" attr { key: "T" value { type: DT_INT64 } } }')
    assert [t.dtype for t in g.get_operation_by_name("u").outputs] == [None, None, tf.int64]


def test_outputs_typed_by_output_type_attrs():
    g = _single('attr { key: "out_type" value { type: DT_INT32 } } attr { key: "T" value { type: DT_FLOAT } }')
    assert [t.dtype for t in g.get_operation_by_name("u").outputs] == [tf.int32]
    g = _single('attr { key: "output_types" value { list { type: DT_BOOL type: DT_STRING } } }')
    assert [t.dtype for t in g.get_operation_by_name("u").outputs] == [tf.bool, tf.string]


def test_output_shapes_give_count_and_static_shapes():
    shapes = 'list { shape { dim { size: 2 } } shape { unknown_rank: true } }'
    g = _single(f'attr {{ key: "_output_shapes" value {{ {shapes} }} }}')
    outputs = g.get_operation_by_name("u").outputs
    assert [t.shape.as_list() for t in outputs[:1]] == [[2]] and len(outputs) == 2
    assert "dtype=unknown" in repr(outputs[1])


def test_carried_op_def_types_outputs_exactly_and_is_exported_again():
    op_def = text_format.Parse(
        'name: "MyCustomOp" output_arg { name: "a" type_attr: "T" } '
        'output_arg { name: "b" type: DT_INT64 number_attr: "N" } '
        'attr { name: "T" type: "type" } attr { name: "N" type: "int" default_value { i: 2 } }',
        graph_pb2.OpDef(),
    )
    g = tf.Graph()
    with g.as_default(), pytest.warns(tf.errors.UnregisteredOpWarning):
        tf.import_graph_def(_graph_def('node { name: "u" op: "MyCustomOp" attr { key: "T" value { type: DT_HALF } } }'),
                            name="", producer_op_list=graph_pb2.OpList(op=[op_def]))
    op = g.get_operation_by_name("u")
    assert [t.dtype for t in op.outputs] == [tf.float16, tf.int64, tf.int64]
    assert op.op_def == op_def
    assert "N" not in op.node_def.attr  # the default is used, not written into the node
    exported = meta_graph.export_meta_graph(graph=g)
    assert op_def in exported.meta_info_def.stripped_op_list.op


# -- running -------------------------------------------------------------------------------------
def test_parts_without_unknown_ops_run_and_fetches_needing_them_fail_up_front():
    g = _import(_graph_def(), name="")
    with tf.Session(graph=g) as sess:
        assert sess.run("b:0") == 9.0
        with pytest.raises(tf.errors.UnregisteredOpError) as info:
            sess.run(["b:0", "y:0"], {"x:0": [1.0]})
        assert info.value.nodes == {"MyCustomOp": ["custom"]}
        assert "fetch 'y:0' needs MyCustomOp (1 node: 'custom')" in str(info.value)
        assert "b:0" not in str(info.value)
        with pytest.raises(tf.errors.UnregisteredOpError, match="fetch 'orphan' needs UnusedOp"):
            sess.run("orphan")
        # Feeding the unknown op's output cuts it out of the run.
        assert sess.run("y:0", {"custom:0": [4.0, 5.0]}).tolist() == [4.0, 5.0]


def test_output_of_unknown_dtype_can_be_fed_and_fetched():
    g = _single('input: "^v"', 'node { name: "v" op: "NoOp" }\nnode { name: "w" op: "OtherOp" input: "u" }')
    with tf.Session(graph=g) as sess:
        assert sess.run("u:0", {"u:0": [1, 2]}).tolist() == [1, 2]
        with pytest.raises(tf.errors.UnregisteredOpError) as info:
            sess.run("w")
        assert info.value.nodes == {"MyCustomOp": ["u"], "OtherOp": ["w"]}


# -- the support query ---------------------------------------------------------------------------
def test_supported_op_types_is_sorted_and_lists_only_kernels():
    supported = tf.supported_op_types()
    assert supported == sorted(supported) and {"Const", "MatMul", "VariableV2"} <= set(supported)
    assert "MyCustomOp" not in supported


def test_unsupported_ops_of_graph_graph_def_meta_graph_def_and_files(tmp_path):
    gd = _graph_def()
    expected = {"MyCustomOp": ["custom"], "UnusedOp": ["orphan"]}
    assert tf.unsupported_ops(gd) == expected
    assert tf.unsupported_ops(_import(gd, name="")) == expected
    mgd = tf.MetaGraphDef(graph_def=gd)
    assert tf.unsupported_ops(mgd) == expected
    meta_graph.write_graph(gd, tmp_path, "g.pb", as_text=False)
    meta_graph.write_graph(gd, tmp_path, "g.pbtxt")
    meta_graph.write_graph(mgd, tmp_path, "m.meta", as_text=False)
    meta_graph.write_graph(mgd, tmp_path, "m.pbtxt")
    for name in ("g.pb", "g.pbtxt", "m.meta", "m.pbtxt"):
        assert tf.unsupported_ops(tmp_path / name) == expected, name
    assert tf.unsupported_ops(str(FIXTURES / "julia_meta" / "graph.pbtxt")) == {}


def test_unsupported_ops_reports_bad_arguments(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match="no_such.pb"):
        tf.unsupported_ops(tmp_path / "no_such.pb")
    (tmp_path / "bad.meta").write_bytes(b"\xff\xff not a proto")
    with pytest.raises(tf.errors.DataLossError, match="bad.meta"):
        tf.unsupported_ops(tmp_path / "bad.meta")
    with pytest.raises(TypeError):
        op_support.unsupported_ops(42)


# -- a TensorFlow-trained graph with a made-up training op ---------------------------------------
def _mlp_with_fancy_adam():
    mgd = meta_graph.read_meta_graph_file(FIXTURES / "mlp_adam" / "model-3.meta")
    for node in mgd.graph_def.node:
        if node.op == "ApplyAdam":
            node.op = "FancyApplyAdam"
    for op_def in mgd.meta_info_def.stripped_op_list.op:
        if op_def.name == "ApplyAdam":
            op_def.name = "FancyApplyAdam"
    return mgd


def _checkpoint_value(name: str) -> np.ndarray:
    return tf.train.load_variable(str(FIXTURES / "mlp_adam" / "model-3"), name)


@pytest.fixture
def mlp_session():
    with tf.Graph().as_default() as g:
        with pytest.warns(tf.errors.UnregisteredOpWarning) as record:
            saver = tf.train.import_meta_graph(_mlp_with_fancy_adam())
        with tf.Session(graph=g) as sess:
            saver.restore(sess, str(FIXTURES / "mlp_adam" / "model-3"))
            yield sess, record[0].message


def test_mlp_import_warns_with_the_fancy_training_nodes(mlp_session):
    sess, warning = mlp_session
    assert warning.nodes["FancyApplyAdam"] == [f"Adam/update_{v}/ApplyAdam" for v in ("W1", "b1", "W2", "b2")]
    op = sess.graph.get_operation_by_name("Adam/update_W1/ApplyAdam")
    assert op.outputs[0].dtype == tf.as_dtype("float32_ref")  # typed by the carried OpDef


def test_mlp_export_gives_the_fancy_nodes_and_their_op_def_back(mlp_session):
    sess, _ = mlp_session
    original = _mlp_with_fancy_adam()
    exported = meta_graph.export_meta_graph(graph=sess.graph)
    fancy = {n.name: n for n in original.graph_def.node if n.op == "FancyApplyAdam"}
    assert {n.name: n for n in exported.graph_def.node if n.op == "FancyApplyAdam"} == fancy
    carried = [d for d in original.meta_info_def.stripped_op_list.op if d.name == "FancyApplyAdam"]
    assert [d for d in exported.meta_info_def.stripped_op_list.op if d.name == "FancyApplyAdam"] == carried


def test_mlp_train_op_is_refused_before_any_variable_changes(mlp_session):
    sess, _ = mlp_session
    w1 = sess.run("W1:0")
    np.testing.assert_array_equal(w1, _checkpoint_value("W1"))
    feeds = _mlp_feeds()
    with pytest.raises(tf.errors.UnregisteredOpError) as info:
        sess.run(["train_op", "loss/mse:0"], feeds)
    assert info.value.nodes["FancyApplyAdam"] == [f"Adam/update_{v}/ApplyAdam" for v in ("W1", "b1", "W2", "b2")]
    assert "fetch 'train_op' needs" in str(info.value)
    np.testing.assert_array_equal(sess.run("W1:0"), w1)
    assert sess.run("global_step:0") == 3


def test_mlp_forward_loss_runs_after_restore(mlp_session):
    sess, _ = mlp_session
    loss = sess.graph.get_tensor_by_name("loss/mse:0")
    real_missing = {t for t in _needed_types(loss) if not op_support.is_implemented(t)}
    if real_missing:
        pytest.skip(f"the forward pass needs op types nanotf does not register yet: {sorted(real_missing)}")
    after = _expected()["training"]["approx"][3]  # the loss right after restoring model-3
    assert sess.run(loss, _mlp_feeds()) == pytest.approx(after, rel=1e-5)


def _needed_types(tensor) -> set:
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return {op.type for op in seen}


def _expected() -> dict:
    return json.loads((FIXTURES / "mlp_adam" / "expected.json").read_text())


def _mlp_feeds() -> dict:
    feeds = _expected()["training"]["feeds"]
    return {name: np.frombuffer(bytes.fromhex(v["hex"]), np.float32).reshape(v["shape"]) for name, v in feeds.items()}


def test_strict_import_meta_graph_raises():
    with tf.Graph().as_default() as g, pytest.raises(tf.errors.UnregisteredOpError) as info:
        tf.train.import_meta_graph(_mlp_with_fancy_adam(), allow_unregistered=False)
    assert "FancyApplyAdam" in info.value.op_types
    assert g.get_operations() == []
