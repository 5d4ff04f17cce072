"""tf.train optimizers: the graphs they build, the updates they make, slots, the global step, errors.

The update arithmetic of each op is covered by the op table
(tests/ops/op_table/training.py); here the optimizers are run end to end on
a tiny model, ``z = x @ w``, ``loss = z * z + b``, whose gradients are known
in closed form (``dloss/dw = 2 z x^T``, ``dloss/db = 1``), against NumPy
replays of TF's update rules. The graphs are compared with the node lists
TensorFlow 2.21 builds for the same program (tests/train/test_optimizers_live.py
compares whole GraphDefs against a running TF).
"""

from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.framework import behavior
from nanotf.framework import registry
from nanotf.framework.op_def_library import apply_op
from nanotf.train import meta_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

X = np.array([[0.5, -1.5]], np.float32)
W0 = np.array([[1.0], [2.0]], np.float32)
B0 = np.array([0.5], np.float32)


def _model(resource=False):
    x = tf.constant(X, name="x")
    w = tf.Variable(W0, name="w", use_resource=resource)
    b = tf.Variable(B0, name="b", use_resource=resource)
    loss = _loss(x, w.value(), b.value())
    return w, b, loss


def _loss(x, w, b):
    z = tf.matmul(x, w)
    return z * z + b


def _grads(w):
    z = X @ w
    return [2 * X.T @ z, np.ones(1)]


def _ops(graph, prefix):
    return [(op.name, op.type, [t.name for t in op.inputs], sorted(c.name for c in op.control_inputs))
            for op in graph.get_operations() if op.name.startswith(prefix)]  # fmt: skip


# -- NumPy replays of the update rules, float64 ----------------------------------------------
def replay(rule, steps, **hyper):
    w, b = W0.astype(np.float64), B0.astype(np.float64)
    state = [dict(), dict()]
    for t in range(1, steps + 1):
        gw, gb = _grads(w)
        w = rule(w, gw, state[0], t, **hyper)
        b = rule(b, gb, state[1], t, **hyper)
    return w, b


def sgd(var, g, s, t, lr):
    return var - lr * g


def momentum(var, g, s, t, lr, mu, nesterov=False):
    s["a"] = mu * s.get("a", 0) + g
    return var - lr * (g + mu * s["a"] if nesterov else s["a"])


def adam(var, g, s, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    return var - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * s["m"] / (np.sqrt(s["v"]) + eps)


def adagrad(var, g, s, t, lr, init=0.1):
    s["acc"] = s.get("acc", init) + g * g
    return var - lr * g / np.sqrt(s["acc"])


def rmsprop(var, g, s, t, lr, rho=0.9, mu=0.0, eps=1e-10, centered=False):
    s["ms"] = rho * s.get("ms", 1.0) + (1 - rho) * g * g
    s["mg"] = rho * s.get("mg", 0.0) + (1 - rho) * g
    denominator = s["ms"] - s["mg"] ** 2 if centered else s["ms"]
    s["mom"] = mu * s.get("mom", 0.0) + lr * g / np.sqrt(denominator + eps)
    return var - s["mom"]


OPTIMIZERS = {
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), sgd, dict(lr=0.1)),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.1, 0.9), momentum, dict(lr=0.1, mu=0.9)),
    "nesterov": (lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True), momentum,
                 dict(lr=0.1, mu=0.9, nesterov=True)),
    "adam": (lambda: tf.train.AdamOptimizer(0.1), adam, dict(lr=0.1)),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.1), adagrad, dict(lr=0.1)),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5), rmsprop, dict(lr=0.01, mu=0.5)),
    "rmsprop_centered": (lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True), rmsprop,
                         dict(lr=0.01, mu=0.5, centered=True)),
}  # fmt: skip


def _run(train, w, b, steps):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
        return sess.run([w, b])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_minimize_ref_variables_follows_the_update_rule(name):
    make, rule, hyper = OPTIMIZERS[name]
    w, b, loss = _model()
    train = make().minimize(loss)
    got = _run(train, w, b, steps=4)
    for g, e in zip(got, replay(rule, 4, **hyper)):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6)
        assert g.dtype == np.float32


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_apply_gradients_to_resource_variables_follows_the_update_rule(name):
    make, rule, hyper = OPTIMIZERS[name]
    x = tf.constant(X)
    w = tf.Variable(W0, name="w", use_resource=True)
    b = tf.Variable(B0, name="b", use_resource=True)
    w_value, b_value = w.value(), b.value()
    grads = tf.gradients(_loss(x, w_value, b_value), [w_value, b_value])
    train = make().apply_gradients(zip(grads, [w, b]))
    assert train.type == "NoOp"
    got = _run(train, w, b, steps=4)
    for g, e in zip(got, replay(rule, 4, **hyper)):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6)


def test_minimize_resource_variables():
    if registry.get("ReadVariableOp").grad is None:
        pytest.skip("needs the ReadVariableOp gradient rule (ops/state_ops.py)")
    w, b, loss = _model(resource=True)
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    got = _run(train, w, b, steps=3)
    for g, e in zip(got, replay(adam, 3, lr=0.1)):
        np.testing.assert_allclose(g, e, rtol=2e-5)


# -- graph structure (TensorFlow 2.21's node lists for the same program) ------------------------
def test_adam_graph_matches_tensorflows():
    loss = _model()[2]
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
    graph = tf.get_default_graph()
    assert train.name == "Adam" and train.type == "AssignAdd"
    updates = ["^Adam/update_b/ApplyAdam", "^Adam/update_w/ApplyAdam"]
    hyper = ["Adam/learning_rate:0", "Adam/beta1:0", "Adam/beta2:0", "Adam/epsilon:0"]
    assert _ops(graph, "Adam") == [
        ("Adam/learning_rate", "Const", [], []), ("Adam/beta1", "Const", [], []), ("Adam/beta2", "Const", [], []),
        ("Adam/epsilon", "Const", [], []),
        ("Adam/update_w/ApplyAdam", "ApplyAdam", ["w:0", "w/Adam:0", "w/Adam_1:0", "beta1_power/read:0",
                                                  "beta2_power/read:0", *hyper,
                                                  "gradients/MatMul_grad/tuple/control_dependency_1:0"], []),
        ("Adam/update_b/ApplyAdam", "ApplyAdam", ["b:0", "b/Adam:0", "b/Adam_1:0", "beta1_power/read:0",
                                                  "beta2_power/read:0", *hyper,
                                                  "gradients/add_grad/tuple/control_dependency_1:0"], []),
        ("Adam/mul", "Mul", ["beta1_power/read:0", "Adam/beta1:0"], [u[1:] for u in updates]),
        ("Adam/Assign", "Assign", ["beta1_power:0", "Adam/mul:0"], []),
        ("Adam/mul_1", "Mul", ["beta2_power/read:0", "Adam/beta2:0"], [u[1:] for u in updates]),
        ("Adam/Assign_1", "Assign", ["beta2_power:0", "Adam/mul_1:0"], []),
        ("Adam/update", "NoOp", [], sorted(["Adam/Assign", "Adam/Assign_1"] + [u[1:] for u in updates])),
        ("Adam/value", "Const", [], ["Adam/update"]),
        ("Adam", "AssignAdd", ["global_step:0", "Adam/value:0"], []),
    ]  # fmt: skip
    # The beta accumulators sit with the variable whose name sorts first ("b" < "w").
    assert graph.get_operation_by_name("beta1_power").get_attr("_class") == [b"loc:@b"]
    assert graph.get_operation_by_name("w/Adam_1/Initializer/zeros").get_attr("_class") == [b"loc:@w"]
    assert graph.get_operation_by_name("Adam/update_w/ApplyAdam").get_attr("_class") == [b"loc:@w"]
    assert graph.get_operation_by_name("Adam/value").get_attr("_class") == [b"loc:@global_step"]
    assert [v.op.name for v in tf.global_variables()] == ["w", "b", "global_step", "beta1_power", "beta2_power",
                                                         "w/Adam", "w/Adam_1", "b/Adam", "b/Adam_1"]  # fmt: skip
    assert tf.get_collection(tf.GraphKeys.TRAIN_OP) == [train]


def test_mlp_adam_graph_outside_gradients_equals_tensorflows_fixture():
    # The program tests/fixtures/generate.py ran under TF to write mlp_adam/model-3.meta.
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.float32, [None, 2], name="y")
    w1 = tf.Variable(tf.random_normal([4, 8], seed=1), name="W1")
    b1 = tf.Variable(tf.zeros([8]), name="b1")
    w2 = tf.Variable(tf.random_normal([8, 2], seed=2), name="W2")
    b2 = tf.Variable(tf.zeros([2]), name="b2")
    pred = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.square(pred - y), name="mse")
    tf.group(tf.train.AdamOptimizer(0.01).minimize(loss, global_step=tf.train.get_or_create_global_step()),
             name="train_op")  # fmt: skip
    saver = tf.train.Saver()
    tf.global_variables_initializer()
    ours = saver.export_meta_graph()
    theirs = meta_graph.read_meta_graph_file(str(FIXTURES / "mlp_adam/model-3.meta"))

    def outside_gradients(mgd):
        return [n for n in mgd.graph_def.node if not n.name.startswith("gradients/")]

    assert [n.name for n in outside_gradients(ours)] == [n.name for n in outside_gradients(theirs)]
    for a, b in zip(outside_gradients(ours), outside_gradients(theirs)):
        assert a == b, a.name
    assert ours.saver_def == theirs.saver_def
    for key in ("trainable_variables", "train_op"):
        assert ours.collection_def[key] == theirs.collection_def[key], key


def test_resource_gradient_descent_graph_matches_tensorflows():
    behavior.enable_resource_variables()
    x = tf.constant(X, name="x")
    w = tf.Variable(W0, name="w")
    w_value = w.value()
    (grad,) = tf.gradients(tf.matmul(x, w_value), [w_value])
    step = tf.train.get_or_create_global_step()
    train = tf.train.GradientDescentOptimizer(0.1).apply_gradients([(grad, w)], global_step=step)
    assert train.type == "AssignAddVariableOp" and train.name == "GradientDescent"
    assert _ops(tf.get_default_graph(), "GradientDescent") == [
        ("GradientDescent/learning_rate", "Const", [], []),
        ("GradientDescent/update_w/ResourceApplyGradientDescent", "ResourceApplyGradientDescent",
         ["w:0", "GradientDescent/learning_rate:0", grad.name], []),
        ("GradientDescent/update", "NoOp", [], ["GradientDescent/update_w/ResourceApplyGradientDescent"]),
        ("GradientDescent/Const", "Const", [], ["GradientDescent/update"]),
        ("GradientDescent", "AssignAddVariableOp", ["global_step:0", "GradientDescent/Const:0"], []),
    ]  # fmt: skip


@pytest.mark.parametrize("resource", [False, True])
def test_slots_are_named_as_tensorflows_and_match_the_variable_kind(resource):
    w, b, loss = _model(resource)
    opt = tf.train.RMSPropOptimizer(0.1, centered=True)
    opt.minimize(loss, var_list=[w]) if not resource else opt.apply_gradients([(tf.ones([2, 1]), w)])
    assert opt.get_slot_names() == ["mg", "momentum", "rms"]
    rms, mg, mom = (opt.get_slot(w, n) for n in ("rms", "mg", "momentum"))
    assert [rms.op.name, mg.op.name, mom.op.name] == ["w/RMSProp", "w/RMSProp_1", "w/RMSProp_2"]
    assert all(s._is_resource == resource for s in (rms, mg, mom))
    assert [v.op.name for v in opt.variables()] == ["w/RMSProp", "w/RMSProp_1", "w/RMSProp_2"]
    assert opt.get_slot(b, "rms") is None and opt.get_slot(w, "nope") is None
    assert all(s in tf.global_variables() and s not in tf.trainable_variables() for s in (rms, mg, mom))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(rms), np.ones((2, 1), np.float32))
        np.testing.assert_array_equal(sess.run(mom), np.zeros((2, 1), np.float32))


def test_adagrad_accumulator_starts_at_initial_value():
    w, _, loss = _model()
    opt = tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.25)
    opt.minimize(loss, var_list=[w])
    acc = opt.get_slot(w, "accumulator")
    assert acc.op.name == "w/Adagrad"
    assert tf.get_default_graph().get_operation_by_name("w/Adagrad/Initializer/Const").type == "Const"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(acc), np.full((2, 1), 0.25, np.float32))
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)


def test_slots_of_a_partitioned_variable_save_as_slices_of_one_slot(tmp_path):
    with tf.variable_scope("emb", partitioner=tf.fixed_size_partitioner(2)):
        emb = tf.get_variable("table", [4, 3], initializer=tf.ones_initializer())
    loss = tf.matmul(tf.constant(np.ones((1, 4), np.float32)), emb.as_tensor())
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    opt.minimize(tf.reduce_sum(loss), var_list=list(emb))
    slots = [opt.get_slot(p, "momentum") for p in emb]
    assert [s.op.name for s in slots] == ["emb/table/part_0/Momentum", "emb/table/part_1/Momentum"]
    infos = [s._get_save_slice_info() for s in slots]
    assert [(i.full_name, i.full_shape, i.var_offset, i.var_shape) for i in infos] == [
        ("emb/table/Momentum", [4, 3], [0, 0], [2, 3]), ("emb/table/Momentum", [4, 3], [2, 0], [2, 3])]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, str(tmp_path / "model"))
    keys = dict(tf.train.list_variables(str(tmp_path / "model")))
    assert keys["emb/table/Momentum"] == [4, 3]


# -- behaviour -------------------------------------------------------------------------------
def test_a_variable_without_gradient_is_left_alone():
    w, b, loss = _model()
    unused = tf.Variable(3.0, name="unused")
    opt = tf.train.GradientDescentOptimizer(0.1)
    grads_and_vars = opt.compute_gradients(loss)
    assert [(g is None, v) for g, v in grads_and_vars] == [(False, w), (False, b), (True, unused)]
    train = opt.apply_gradients(grads_and_vars)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        assert sess.run(unused) == 3.0
        np.testing.assert_allclose(sess.run(w), W0 - 0.1 * _grads(W0)[0], rtol=1e-6)


def test_var_list_limits_the_update():
    w, b, loss = _model()
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[b])
    got_w, got_b = _run(train, w, b, steps=2)
    np.testing.assert_array_equal(got_w, W0)
    np.testing.assert_allclose(got_b, B0 - 0.2, rtol=1e-6)


def test_global_step_increments_once_per_step():
    loss = _model()[2]
    step = tf.train.get_or_create_global_step()
    train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert tf.train.global_step(sess, step) == 3


def test_names_and_the_train_op_collection():
    loss = _model()[2]
    opt = tf.train.GradientDescentOptimizer(0.1)
    first = opt.minimize(loss)
    second = opt.minimize(loss, name="again")
    third = opt.minimize(loss)
    assert [first.name, second.name, third.name] == ["GradientDescent", "again", "GradientDescent_1"]
    assert tf.get_default_graph().get_operation_by_name("GradientDescent_1/update_w/ApplyGradientDescent")
    assert tf.get_collection(tf.GraphKeys.TRAIN_OP) == [first, second, third]


def test_gate_gradients_modes():
    loss = _model()[2]
    graph = tf.get_default_graph()
    tf.train.GradientDescentOptimizer(0.1).compute_gradients(loss, gate_gradients=tf.train.Optimizer.GATE_NONE)
    assert not [op for op in graph.get_operations() if "tuple" in op.name]
    grads = tf.train.GradientDescentOptimizer(0.1).compute_gradients(loss, gate_gradients=tf.train.Optimizer.GATE_GRAPH)
    assert [g.op.name for g, _ in grads] == ["tuple/control_dependency", "tuple/control_dependency_1"]
    with pytest.raises(ValueError, match="gate_gradients must be one of"):
        tf.train.GradientDescentOptimizer(0.1).compute_gradients(loss, gate_gradients=7)


def test_errors_name_the_problem():
    w, _, loss = _model()
    opt = tf.train.AdamOptimizer()
    unrelated = tf.Variable(1.0, name="unrelated")
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.minimize(loss, var_list=[unrelated])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, w)])
    with pytest.raises(ValueError, match="No variables provided"):
        opt.apply_gradients([])
    with pytest.raises(ValueError, match="No variables to optimize"):
        opt.compute_gradients(loss, var_list=[])
    with pytest.raises(ValueError, match="Invalid type int32"):
        opt.compute_gradients(tf.constant(1))
    with pytest.raises(ValueError, match="Must specify the optimizer name"):
        tf.train.GradientDescentOptimizer(0.1, name="")


# -- the global step ---------------------------------------------------------------------------
def test_get_or_create_global_step_makes_tensorflows_variable():
    assert tf.train.get_global_step() is None
    with tf.name_scope("somewhere"):
        step = tf.train.get_or_create_global_step()
    assert step.op.name == "global_step" and step.dtype == tf.int64 and step.shape == tf.TensorShape([])
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
    assert step in tf.global_variables() and step not in tf.trainable_variables()
    assert tf.get_default_graph().get_operation_by_name("global_step/Initializer/zeros").type == "Const"
    assert tf.train.get_or_create_global_step() is step and tf.train.get_global_step() is step
    with pytest.raises(ValueError, match='"global_step" already exists'):
        tf.train.create_global_step()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert tf.train.global_step(sess, step) == 0


def test_global_step_is_found_by_name_and_checked():
    with tf.Graph().as_default():
        step = tf.Variable(0, name="global_step", trainable=False, dtype=tf.int64)
        assert tf.train.get_global_step() is step.op.outputs[0]
    with tf.Graph().as_default():
        tf.Variable(0.0, name="global_step")
        with pytest.raises(TypeError, match="does not have integer type"):
            tf.train.get_global_step()
    with tf.Graph().as_default():
        tf.add_to_collection(tf.GraphKeys.GLOBAL_STEP, tf.Variable([1, 2], name="step"))
        with pytest.raises(TypeError, match="is not scalar"):
            tf.train.get_global_step()


def test_resource_global_step():
    behavior.enable_resource_variables()
    step = tf.train.get_or_create_global_step()
    assert step.op.type == "VarHandleOp"
    w = tf.Variable(W0, name="w")
    train = tf.train.GradientDescentOptimizer(0.1).apply_gradients([(tf.ones([2, 1]), w)], global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        sess.run(train)
        assert sess.run(step) == 2


# -- kernel errors -------------------------------------------------------------------------------
def test_update_ops_reject_mismatched_static_shapes_when_built():
    var = tf.Variable(np.zeros((2, 3), np.float32), name="var")
    accum = tf.Variable(np.zeros((3, 2), np.float32), name="accum")
    with pytest.raises(ValueError, match="not compatible"):
        apply_op("ApplyAdagrad", var=var, accum=accum, lr=0.1, grad=np.zeros((2, 3), np.float32))


def test_update_kernels_reject_bad_inputs():
    var = tf.Variable(np.zeros((2, 3), np.float32), name="var")
    init = tf.placeholder(tf.float32, name="init")
    accum = tf.Variable(init, name="accum", validate_shape=False)
    any_shape = tf.placeholder(tf.float32, name="any_shape")
    with tf.Session() as sess:
        sess.run(var.initializer)
        sess.run(accum.initializer, {init: np.zeros((3, 2), np.float32)})
        bad_slot = apply_op("ApplyAdagrad", var=var, accum=accum, lr=0.1, grad=np.zeros((2, 3), np.float32))
        with pytest.raises(errors.InvalidArgumentError, match=r"var and accum do not have the same shape\[2, 3\] \[3,"):
            sess.run(bad_slot)
        bad_lr = apply_op("ApplyGradientDescent", var=var, alpha=any_shape, delta=tf.zeros([2, 3]))
        with pytest.raises(errors.InvalidArgumentError, match=r"alpha is not a scalar: \[2\]"):
            sess.run(bad_lr, {any_shape: [0.1, 0.2]})
        bad_grad = apply_op("ApplyGradientDescent", var=var, alpha=0.1, delta=any_shape)
        with pytest.raises(errors.InvalidArgumentError, match="var and grad do not have the same shape"):
            sess.run(bad_grad, {any_shape: np.zeros((3,))})
        sparse = apply_op("SparseApplyAdagrad", var=var, accum=var, lr=0.1, grad=np.ones((1, 3), np.float32),
                          indices=np.array([2], np.int32))  # fmt: skip
        with pytest.raises(errors.InvalidArgumentError, match="Index 2 at offset 0 in indices is out of range"):
            sess.run(sparse)
        scatter = tf.scatter_add(var, [5], np.ones((1, 3), np.float32))
        with pytest.raises(errors.InvalidArgumentError, match=r"indices\[0\] = 5 is not in \[0, 2\)"):
            sess.run(scatter)
        wrong_rows = tf.scatter_update(var, [0, 1], np.ones((1, 3), np.float32))
        with pytest.raises(errors.InvalidArgumentError, match="updates.shape = indices.shape"):
            sess.run(wrong_rows)


def test_an_uninitialized_slot_fails_as_in_tensorflow():
    w, b, loss = _model()
    train = tf.train.AdamOptimizer().minimize(loss)
    with tf.Session() as sess:
        sess.run([w.initializer, b.initializer])
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value"):
            sess.run(train)


def test_scatter_api_on_both_variable_kinds():
    for resource in (False, True):
        v = tf.Variable(np.zeros((3, 2), np.float32), use_resource=resource)
        added = tf.scatter_add(v, [0, 0, 2], np.ones((3, 2), np.float32))
        with tf.Session() as sess:
            sess.run(v.initializer)
            np.testing.assert_array_equal(sess.run(added), [[2, 2], [0, 0], [1, 1]])
            np.testing.assert_array_equal(sess.run(tf.scatter_sub(v, [1], [[1.0, 1.0]])), [[2, 2], [-1, -1], [1, 1]])
            np.testing.assert_array_equal(sess.run(tf.scatter_update(v, [2], [[5.0, 6.0]])), [[2, 2], [-1, -1], [5, 6]])


def test_slots_of_a_variable_without_static_shape_take_its_runtime_shape():
    init = tf.placeholder(tf.float64, name="init")
    v = tf.Variable(init, validate_shape=False, name="v")
    grad = tf.ones_like(v.value())
    momentum, adagrad, rmsprop = (tf.train.MomentumOptimizer(0.1, 0.9), tf.train.AdagradOptimizer(0.1),
                                  tf.train.RMSPropOptimizer(0.1))  # fmt: skip
    updates = [opt.apply_gradients([(grad, v)]) for opt in (momentum, adagrad, rmsprop)]
    slots = [momentum.get_slot(v, "momentum"), adagrad.get_slot(v, "accumulator"), rmsprop.get_slot(v, "rms")]
    assert [s.op.name for s in slots] == ["v/Momentum", "v/Adagrad", "v/RMSProp"]
    assert all(s.dtype.base_dtype == tf.float64 and s.shape.ndims is None for s in slots)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer(), {init: np.zeros(3)})
        np.testing.assert_array_equal(sess.run(slots), [np.zeros(3), np.full(3, 0.1), np.ones(3)])
        sess.run(updates[0])
        np.testing.assert_array_equal(sess.run(slots[0]), np.ones(3))
