"""Graph core: naming, scopes, collections, control deps, devices, lookups, GraphDef export."""

import pytest

import nanotf as tf
from nanotf.framework import registry


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_unique_names_are_case_insensitive_like_tensorflow():
    a = tf.placeholder(tf.float32, name="w1")
    b = tf.add(a, a)
    c = a + 1.0
    d = a + 2.0
    assert (b.op.name, c.op.name, d.op.name) == ("Add", "add_1", "add_2")
    assert c.op.inputs[1].op.name == "add_1/y"


def test_name_scope_nesting_and_reentry():
    with tf.name_scope("outer") as outer:
        x = tf.constant(1.0, name="x")
        with tf.name_scope("inner"):
            y = tf.constant(1.0, name="y")
    with tf.name_scope("outer"):
        z = tf.constant(1.0, name="x")
    with tf.name_scope(outer):
        w = tf.constant(1.0, name="x")
    assert outer == "outer/"
    assert [t.op.name for t in (x, y, z, w)] == ["outer/x", "outer/inner/y", "outer_1/x", "outer/x_1"]


def test_get_tensor_and_operation_by_name_errors():
    g = tf.get_default_graph()
    x = tf.constant(3, name="x")
    assert g.get_tensor_by_name("x:0") is x
    assert g.get_operation_by_name("x") is x.op
    with pytest.raises(KeyError):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(KeyError):
        g.get_tensor_by_name("x:1")
    with pytest.raises(ValueError):
        g.get_tensor_by_name("x")
    with pytest.raises(ValueError):
        g.get_operation_by_name("x:0")


def test_collections_scope_filter_and_ref():
    a = tf.constant(1.0, name="s/a")
    b = tf.constant(1.0, name="t/b")
    tf.add_to_collection("mine", a)
    tf.add_to_collections(["mine", "other"], b)
    assert tf.get_collection("mine") == [a, b]
    assert tf.get_collection("mine", scope="s") == [a]
    ref = tf.get_collection_ref("mine")
    ref.append(3)
    assert tf.get_collection("mine")[-1] == 3
    assert tf.get_collection("missing") == []


def test_control_dependencies_and_manual_marker():
    a = tf.constant(1.0, name="a")
    with tf.control_dependencies([a]):
        b = tf.constant(2.0, name="b")
        c = tf.identity(b, name="c")  # fed by an op of the same block: no extra control input
    assert b.op.control_inputs == [a.op]
    assert c.op.control_inputs == []
    assert a.op.get_attr("_has_manual_control_dependencies") is True
    with tf.control_dependencies([a]):
        with tf.control_dependencies(None):
            d = tf.constant(0.0)
    assert d.op.control_inputs == []


def test_device_strings_are_canonical_and_merge():
    with tf.device("/job:ps/task:1"):
        with tf.device("/cpu:0"):
            x = tf.constant(1.0)
    assert x.op.device == "/job:ps/task:1/device:CPU:0"
    assert x.op.node_def.device == "/job:ps/task:1/device:CPU:0"


def test_device_strings_without_index_like_tensorflow():
    # TF 2.21: a bare device type means index '*'; an inner spec without index keeps the outer index.
    expected = {"CPU": "/device:CPU:*", "cpu": "/device:CPU:*", "/cpu": "/device:CPU:*", "GPU": "/device:GPU:*",
                "/job:ps/CPU": "/job:ps/device:CPU:*", "/gpu:*": "/device:GPU:*"}  # fmt: skip
    for spec, device in expected.items():
        with tf.device(spec):
            assert tf.no_op().device == device, spec
    nested = [("/cpu:1", "/cpu:*", "/device:CPU:1"), ("/gpu:1", "CPU", "/device:CPU:1"),
              ("/job:ps/task:1", "CPU", "/job:ps/task:1/device:CPU:*"),
              ("/device:CPU:*", "/job:w", "/job:w/device:CPU:*"), ("CPU", "/cpu:0", "/device:CPU:0")]  # fmt: skip
    for outer, inner, device in nested:
        with tf.device(outer), tf.device(inner):
            assert tf.no_op().device == device, (outer, inner)


def test_graph_def_sorts_control_inputs_by_name_node_def_keeps_order():
    # TF: op.node_def lists control inputs as added; Graph::ToGraphDef sorts them by name after the data inputs.
    z, a, m = tf.no_op(name="z"), tf.no_op(name="a"), tf.no_op(name="m")
    with tf.control_dependencies([z, a]), tf.control_dependencies([m]):
        x = tf.constant(1.0, name="x")
        tf.identity(tf.constant(2.0, name="w"), name="y")  # y: no control input, w already has them
    assert list(x.op.node_def.input) == ["^z", "^a", "^m"]
    assert [c.name for c in x.op.control_inputs] == ["z", "a", "m"]
    nodes = {n.name: n for n in tf.get_default_graph().as_graph_def().node}
    assert list(nodes["x"].input) == ["^a", "^m", "^z"]
    assert list(nodes["y"].input) == ["w"]
    assert list(nodes["w"].input) == ["^a", "^m", "^z"]


def test_group_builds_one_noop_per_device_like_tensorflow():
    with tf.device("/cpu:1"):
        b = tf.no_op(name="b")
    with tf.device("/cpu:0"):
        a = tf.no_op(name="a")
    c = tf.no_op(name="c")
    with tf.device("/job:ps"):
        d = tf.no_op(name="d")
    init = tf.group(b, a, c, d, name="init")
    with tf.device("/cpu:1"):
        tf.group(a, c, name="outer")  # c's '' device group inherits the enclosing device, as in TF
        tf.group(a, name="single")
    empty = tf.group(name="empty")
    got = [(n.name, n.device, list(n.input)) for n in tf.get_default_graph().as_graph_def().node[4:]]
    assert got == [  # TF 2.21's GraphDef for the same calls
        ("init/NoOp", "", ["^c"]),
        ("init/NoOp_1", "/device:CPU:0", ["^a"]),
        ("init/NoOp_2", "/device:CPU:1", ["^b"]),
        ("init/NoOp_3", "/job:ps", ["^d"]),
        ("init", "", ["^init/NoOp", "^init/NoOp_1", "^init/NoOp_2", "^init/NoOp_3"]),
        ("outer/NoOp", "/device:CPU:1", ["^c"]),
        ("outer/NoOp_1", "/device:CPU:0", ["^a"]),
        ("outer", "/device:CPU:1", ["^outer/NoOp", "^outer/NoOp_1"]),
        ("single", "/device:CPU:0", ["^a"]),
        ("empty", "", []),
    ]
    assert init.type == "NoOp" and empty.control_inputs == []


def test_get_all_collection_keys_returns_only_string_keys():
    tf.add_to_collection("foo", 1)
    tf.add_to_collection(("tuple", "key"), 2)
    tf.add_to_collection(3, 3)
    assert tf.get_default_graph().get_all_collection_keys() == ["foo"]


def test_graph_def_has_output_shapes_only_when_asked():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    tf.reduce_sum(x, axis=1, name="s")
    g = tf.get_default_graph()
    plain = g.as_graph_def()
    shaped = g.as_graph_def(add_shapes=True)
    assert all("_output_shapes" not in n.attr for n in plain.node)
    s = next(n for n in shaped.node if n.name == "s")
    assert [d.size for d in s.attr["_output_shapes"].list.shape[0].dim] == [-1]
    assert shaped.versions.producer == 2474


def test_default_attrs_are_filled_and_type_attrs_inferred():
    x = tf.placeholder(tf.int64, name="x")
    y = tf.reduce_max(x, axis=0)
    assert y.op.get_attr("T") == tf.int64
    assert y.op.get_attr("Tidx") == tf.int32
    assert y.op.get_attr("keep_dims") is False
    with pytest.raises(TypeError):
        tf.sqrt(x)  # int64 is not in Sqrt's allowed types


def test_mismatched_input_types_raise_type_error():
    a = tf.constant(1.0)
    b = tf.constant(1)
    with pytest.raises(TypeError):
        tf.add(a, b)


def test_graph_as_default_and_reset_rules():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(1.0)
        assert tf.get_default_graph() is g
        with pytest.raises(AssertionError):
            tf.reset_default_graph()
    assert x.graph is g and tf.get_default_graph() is not g


def test_tensor_is_not_a_bool():
    with pytest.raises(TypeError):
        bool(tf.constant(True))


def test_registry_rejects_unknown_and_duplicates():
    with pytest.raises(tf.errors.NotFoundError):
        registry.get("NoSuchOp")
    with pytest.raises(ValueError):
        registry.register_op("AddV2")


def test_python_ints_become_int32_when_the_type_attr_has_no_default():
    # GatherV2's Tindices allows {int16, int32, int64} without a default; TF converts 40000 to int32.
    from nanotf.framework.op_def_library import apply_op

    with tf.Graph().as_default():
        out = apply_op("GatherV2", params=tf.range(50000), indices=[40000], axis=0)
        assert out.op.inputs[1].dtype == tf.int32
        with tf.Session() as sess:
            assert sess.run(out).tolist() == [40000]
