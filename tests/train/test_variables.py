"""Variables: ref and resource graphs, VariableDef round trips, collections, get_variable, partitioning."""

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import behavior
from nanotf.train.variables import Variable


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    behavior.disable_resource_variables()


def _ops(graph=None):
    return [(op.name, op.type) for op in (graph or tf.get_default_graph()).get_operations()]


def test_ref_variable_graph_and_variable_def():
    v = tf.Variable(2.0, name="bias")
    assert _ops() == [("bias/initial_value", "Const"), ("bias", "VariableV2"), ("bias/Assign", "Assign"),
                      ("bias/read", "Identity")]  # fmt: skip
    assert v.dtype == tf.float32 and v.name == "bias:0" and v.op.name == "bias"
    assert v.initializer.get_attr("_class") == [b"loc:@bias"]
    proto = v.to_proto()
    assert (proto.variable_name, proto.initializer_name, proto.snapshot_name, proto.initial_value_name) == (
        "bias:0", "bias/Assign", "bias/read:0", "bias/initial_value:0")
    assert proto.trainable and not proto.is_resource
    assert tf.global_variables() == [v] and tf.trainable_variables() == [v]


def test_resource_variable_graph_and_variable_def():
    v = tf.Variable(2.0, name="bias", use_resource=True)
    assert _ops() == [("bias/Initializer/initial_value", "Const"), ("bias", "VarHandleOp"),
                      ("bias/IsInitialized/VarIsInitializedOp", "VarIsInitializedOp"),
                      ("bias/Assign", "AssignVariableOp"), ("bias/Read/ReadVariableOp", "ReadVariableOp")]  # fmt: skip
    handle = v.op
    assert handle.get_attr("shared_name") == b"bias" and handle.get_attr("debug_name") == b"bias/"
    assert handle.get_attr("allowed_devices") == [] and handle.get_attr("_class") == [b"loc:@bias"]
    proto = v.to_proto()
    assert proto.snapshot_name == "bias/Read/ReadVariableOp:0" and proto.is_resource
    assert proto.initial_value_name == "bias/Initializer/initial_value:0"


def test_disable_eager_execution_switches_to_resource_variables():
    tf.disable_eager_execution()
    assert tf.Variable(1.0).op.type == "VarHandleOp"
    tf.disable_v2_behavior()
    assert tf.Variable(1.0).op.type == "VariableV2"


@pytest.mark.parametrize("use_resource", [False, True])
def test_assign_family_and_load(use_resource):
    v = tf.Variable([1.0, 2.0], name="v", use_resource=use_resource)
    a = v.assign([5.0, 6.0])
    add = v.assign_add([1.0, 1.0])
    sub = v.assign_sub([0.5, 0.5])
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(a).tolist() == [5.0, 6.0]
        assert sess.run(add).tolist() == [6.0, 7.0]
        assert sess.run(sub).tolist() == [5.5, 6.5]
        v.load([9.0, 9.0], sess)
        assert sess.run(v).tolist() == [9.0, 9.0]
        assert sess.run(v.is_initialized())


@pytest.mark.parametrize("use_resource", [False, True])
def test_uninitialized_read_names_the_variable(use_resource):
    v = tf.Variable(1.0, name="lonely", use_resource=use_resource)
    with tf.Session() as sess:
        assert not sess.run(v.is_initialized())
        with pytest.raises(tf.errors.FailedPreconditionError, match="lonely"):
            sess.run(v.value() + 1)


@pytest.mark.parametrize("use_resource", [False, True])
def test_variable_def_round_trip_through_import(use_resource):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(tf.random_normal([2]), name="w", trainable=False, use_resource=use_resource)
        proto = v.to_proto()
        gd = g.as_graph_def()
    assert not proto.trainable and proto.initial_value_name == "random_normal:0"
    g2 = tf.Graph()
    with g2.as_default():
        tf.import_graph_def(gd, name="imp")
        back = Variable.from_proto(proto, import_scope="imp")
        assert back.name == "imp/w:0" and back.initializer.name == "imp/w/Assign"
        assert back.to_proto(export_scope="imp") == proto
        with tf.Session() as sess:
            sess.run(back.initializer)
            assert sess.run(back).shape == (2,)


def test_variables_initializer_and_collections():
    a = tf.Variable(1, name="a")
    b = tf.Variable(2, name="b", trainable=False)
    c = tf.Variable(3, name="c", collections=[tf.GraphKeys.LOCAL_VARIABLES], trainable=False)
    init = tf.global_variables_initializer()
    assert init.name == "init" and init.type == "NoOp"
    assert [op.name for op in init.control_inputs] == ["a/Assign", "b/Assign"]
    assert tf.trainable_variables() == [a] and tf.local_variables() == [c]
    with tf.Session() as sess:
        sess.run([init, tf.local_variables_initializer()])
        assert sess.run([a, b, c]) == [1, 2, 3]


def test_get_variable_scopes_and_reuse():
    with tf.variable_scope("scope"):
        g = tf.get_variable("g", [2, 3], initializer=tf.random_normal_initializer())
        h = tf.get_variable("h", [2, 3])
        k = tf.get_variable("k", [3], dtype=tf.int32)
    assert g.name == "scope/g:0" and g.shape.as_list() == [2, 3]
    assert g.op.get_attr("_class") == [b"loc:@scope/g"]
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert "scope/h/Initializer/random_uniform/RandomUniform" in names  # glorot_uniform default
    assert "scope/k/Initializer/zeros" in names  # ints default to zeros
    with tf.variable_scope("scope", reuse=True):
        assert tf.get_variable("g") is g
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("nope", [1])
    with tf.variable_scope("scope"):
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("g", [2, 3])
    with tf.variable_scope("scope", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("h", [2, 3]) is h
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        limit = np.sqrt(6.0 / 5.0)
        assert np.all(np.abs(sess.run(h)) <= limit) and sess.run(k).tolist() == [0, 0, 0]


def test_default_scope_names_reset_when_a_named_scope_is_reentered():
    # The names TF 2.21 gives for this program: re-entering "model" with
    # reuse=True finds model/dense again instead of making model/dense_1.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        with tf.variable_scope("model"):
            tf.layers.dense(x, 3, name="out")
            tf.layers.dense(x, 3)
        with tf.variable_scope("model", reuse=True):
            tf.layers.dense(x, 3, name="out")
            tf.layers.dense(x, 3)
        with tf.variable_scope(None, default_name="blk"):
            pass
        with tf.variable_scope(None, default_name="blk") as scope:
            assert scope.name == "blk_1"
        assert [v.name for v in tf.global_variables()] == [
            "model/out/kernel:0", "model/out/bias:0", "model/dense/kernel:0", "model/dense/bias:0",
        ]


def test_initializers_values():
    with tf.variable_scope("i"):
        c = tf.get_variable("c", [2, 2], initializer=tf.constant_initializer(3.0))
        o = tf.get_variable("o", [3], initializer=tf.ones_initializer())
        t = tf.get_variable("t", [1000], initializer=tf.truncated_normal_initializer(stddev=0.5, seed=1))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(c).tolist() == [[3.0, 3.0], [3.0, 3.0]]
        assert sess.run(o).tolist() == [1.0, 1.0, 1.0]
        assert np.abs(sess.run(t)).max() <= 1.0


def test_partitioned_variable_slices():
    emb = tf.get_variable("emb", [10, 4], partitioner=tf.fixed_size_partitioner(3),
                          initializer=tf.constant_initializer(np.arange(40).reshape(10, 4)))  # fmt: skip
    parts = list(emb)
    assert [p.name for p in parts] == ["emb/part_0:0", "emb/part_1:0", "emb/part_2:0"]
    assert [p._get_save_slice_info().spec for p in parts] == ["10 4 0,4:0,4", "10 4 4,3:0,4", "10 4 7,3:0,4"]
    info = parts[1].to_proto().save_slice_info_def
    assert (info.full_name, list(info.full_shape), list(info.var_offset), list(info.var_shape)) == (
        "emb", [10, 4], [4, 0], [3, 4])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(emb.as_tensor()), np.arange(40).reshape(10, 4))
