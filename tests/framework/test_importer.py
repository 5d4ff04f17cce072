"""import_graph_def: prefixes, input_map, return_elements, defaults, strict mode for unknown op types."""

import pytest

import nanotf as tf
from nanotf.framework.importer import UnregisteredOpError


def _seed_graph_def():
    g = tf.Graph()
    with g.as_default():
        w1 = tf.placeholder(tf.float32, name="w1")
        w2 = tf.placeholder(tf.float32, name="w2")
        b = tf.Variable(2.0, name="bias")
        tf.multiply(tf.add(w1, w2), b, name="op_to_restore")
    return g.as_graph_def()


def test_import_prefixes_rewrites_class_and_runs():
    gd = _seed_graph_def()
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd)
        tf.import_graph_def(gd)
        names = [op.name for op in g.get_operations()]
        assert "import/bias" in names and "import_1/bias" in names
        assign = g.get_operation_by_name("import/bias/Assign")
        assert assign.get_attr("_class") == [b"loc:@import/bias"]
        with tf.Session() as sess:
            sess.run("import/bias/Assign")
            assert sess.run("import/op_to_restore:0", {"import/w1:0": 4, "import/w2:0": 8}) == 24.0


def test_input_map_and_return_elements():
    gd = _seed_graph_def()
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(10.0, name="x")
        out, op = tf.import_graph_def(gd, input_map={"w1:0": x, "w2": x}, return_elements=["op_to_restore:0", "bias/Assign"], name="m")
        with tf.Session() as sess:
            sess.run(op)
            assert sess.run(out) == 40.0
        with pytest.raises(ValueError):
            tf.import_graph_def(gd, input_map={"nothere:0": x})


def test_missing_attrs_get_defaults():
    gd = _seed_graph_def()
    for node in gd.node:
        if node.op == "VariableV2":
            del node.attr["container"]
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
        assert g.get_operation_by_name("bias").get_attr("container") == b""


def test_strict_import_reports_all_unknown_op_types_at_once():
    gd = _seed_graph_def()
    gd.node[0].op = "FancyOp"
    gd.node[1].op = "OtherOp"
    gd.node[2].op = "FancyOp"
    g = tf.Graph()
    with g.as_default(), pytest.raises(UnregisteredOpError) as info:
        tf.import_graph_def(gd, allow_unregistered=False)
    assert info.value.op_types == ["FancyOp", "OtherOp"]
    assert info.value.nodes == {"FancyOp": [gd.node[0].name, gd.node[2].name], "OtherOp": [gd.node[1].name]}
    assert isinstance(info.value, tf.errors.NotFoundError)
    assert "FancyOp" in str(info.value) and "OtherOp" in str(info.value)
    assert g.get_operations() == []  # nothing half-imported


def test_unsorted_graph_def_imports():
    gd = _seed_graph_def()
    nodes = list(gd.node)[::-1]
    del gd.node[:]
    gd.node.extend(nodes)
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
        assert len(g.get_operations()) == len(nodes)


def _shaped_graph_def():
    g = tf.Graph()
    with g.as_default():
        tf.identity(tf.placeholder(tf.float32, [None, 3], name="x"), name="y")
    return g.as_graph_def(add_shapes=True)


def test_output_shapes_refine_imported_tensors_and_are_dropped():
    # TF 2.21's importer merges _output_shapes into the inferred shapes, then clears the attr.
    gd = _shaped_graph_def()
    gd.node[1].attr["_output_shapes"].list.shape[0].dim[0].size = 5
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    assert g.get_tensor_by_name("y:0").shape.as_list() == [5, 3]
    assert g.get_tensor_by_name("x:0").shape.as_list() == [None, 3]
    assert all("_output_shapes" not in n.attr for n in g.as_graph_def().node)
    assert all("_output_shapes" not in op.node_def.attr for op in g.get_operations())
    with pytest.raises(ValueError, match="no attr named '_output_shapes'"):
        g.get_operation_by_name("y").get_attr("_output_shapes")


def test_output_shapes_of_another_type_are_kept():
    # TF only reads (and clears) a list of shapes; anything else stays an ordinary attr.
    gd = _shaped_graph_def()
    gd.node[1].attr["_output_shapes"].Clear()
    gd.node[1].attr["_output_shapes"].i = 3
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    assert g.get_operation_by_name("y").get_attr("_output_shapes") == 3
