"""Live: TensorFlow runs, trains and differentiates the recurrent and control-flow graphs nanotf builds.

* An LSTM (``dynamic_rnn`` + ``LSTMCell(8)``, dense readout, MSE) trained 3
  steps in nanotf and saved keeps training in TensorFlow: its next 3 losses
  equal nanotf's own continuation within 1e-4 (relative).
* TensorFlow imports nanotf's ``.meta`` and takes new gradients through
  nanotf's loops and conds (this needs the ``while_context`` and
  ``cond_context`` collections): same values as nanotf's gradients.
* Each cell, built by TensorFlow's own ``tf.nn.dynamic_rnn`` over nanotf's
  checkpoint, gives nanotf's outputs and gradients (same variable names,
  same equations).
* For the same program both write the same context protos.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import nanotf as tf
from nanotf.protos import control_flow_pb2

RTOL = 1e-4
X = np.sin(np.arange(60, dtype=np.float32).reshape(4, 5, 3) * 0.37).astype(np.float32)
Y = np.stack([X.sum(axis=(1, 2)) * 0.1], axis=1).astype(np.float32)
PRELUDE = """# keep-v2
import json, os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
"""


def _train(sess, steps=3) -> list:
    return [float(sess.run(["train_op", "loss/mse:0"], {"x:0": X, "y:0": Y})[1]) for _ in range(steps)]


def _lstm_run(directory, optimizer) -> dict:
    with tf.Graph().as_default():
        tf.set_random_seed(42)
        x = tf.placeholder(tf.float32, [4, 5, 3], name="x")
        y = tf.placeholder(tf.float32, [4, 1], name="y")
        outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(8), x, dtype=tf.float32)
        pred = tf.layers.dense(outputs[:, -1, :], 1, name="readout")
        with tf.name_scope("loss"):
            loss = tf.reduce_mean(tf.square(pred - y), name="mse")
        tf.group(optimizer.minimize(loss, global_step=tf.train.get_or_create_global_step()), name="train_op")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _train(sess)
            prefix = saver.save(sess, str(directory / "model"), global_step=tf.train.get_global_step())
            continuation = _train(sess)
    return {"prefix": prefix, "continuation": continuation}


TF_CONTINUES = PRELUDE + """
X, Y = np.array(%r, np.float32), np.array(%r, np.float32)
results = {}
for name, run in json.loads(%r).items():
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(run["prefix"] + ".meta")
        saver.restore(sess, run["prefix"])
        losses = [float(sess.run(["train_op", "loss/mse:0"], {"x:0": X, "y:0": Y})[1]) for _ in range(3)]
        results[name] = {"losses": losses, "step": int(sess.run("global_step:0"))}
print(json.dumps(results))
"""


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_tensorflow_continues_nanotfs_lstm_training(tf_runner, tmp_path, name):
    optimizer = {"sgd": tf.train.GradientDescentOptimizer(0.1), "adam": tf.train.AdamOptimizer(0.05)}[name]
    run = _lstm_run(tmp_path, optimizer)
    theirs = tf_runner.run_json(TF_CONTINUES % (X.tolist(), Y.tolist(), json.dumps({name: run})))[name]
    np.testing.assert_allclose(theirs["losses"], run["continuation"], rtol=RTOL)
    assert theirs["step"] == 6


def _build_control_flow():
    x = tf.placeholder(tf.float32, [3], name="x")
    w = tf.Variable([0.5, -1.0, 2.0], name="w")
    ta = tf.TensorArray(tf.float32, size=4)

    def body(i, v, ta):
        v = tf.cond(i % 2 < 1, lambda: tf.sin(v) * w, lambda: v + w * w)
        return i + 1, v, ta.write(i, v * x)

    _, v, ta = tf.while_loop(lambda i, v, ta: i < 4, body, [0, x, ta])
    tf.identity(tf.reduce_sum(ta.stack()) + tf.reduce_sum(v * v), name="y")


TF_DIFFERENTIATES = PRELUDE + """
run = json.loads(%r)
with tf.Graph().as_default() as g, tf.Session() as sess:
    saver = tf.train.import_meta_graph(run["prefix"] + ".meta")
    saver.restore(sess, run["prefix"])
    contexts = [len(g.get_collection(k)) for k in ("while_context", "cond_context")]
    ys, xs = [g.get_tensor_by_name(n) for n in run["ys"]], [g.get_tensor_by_name(n) for n in run["xs"]]
    grads = tf.gradients(ys, xs)
    values = sess.run(grads, {k: np.array(v, np.float32) for k, v in run["feeds"].items()})
print(json.dumps({"grads": [np.asarray(v).tolist() for v in values], "contexts": contexts}))
"""


@pytest.mark.parametrize("program", ["control_flow", "lstm"])
def test_tensorflow_differentiates_through_nanotfs_loops(tf_runner, tmp_path, program):
    with tf.Graph().as_default() as g:
        if program == "lstm":
            x = tf.placeholder(tf.float32, [4, 5, 3], name="x")
            outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(8), x, dtype=tf.float32)
            tf.identity(tf.reduce_sum(tf.tanh(outputs)), name="y")
            feeds = {"x:0": X}
        else:
            _build_control_flow()
            feeds = {"x:0": np.array([0.3, -0.2, 0.9], np.float32)}
        xs = [v.name for v in tf.trainable_variables()] + ["x:0"]
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model"))
            # nanotf's gradients come after the save: TF builds its own from the forward graph.
            mine = sess.run(tf.gradients(g.get_tensor_by_name("y:0"), [g.get_tensor_by_name(n) for n in xs]), feeds)
    run = {"prefix": prefix, "ys": ["y:0"], "xs": xs, "feeds": {k: v.tolist() for k, v in feeds.items()}}
    theirs = tf_runner.run_json(TF_DIFFERENTIATES % json.dumps(run))
    assert theirs["contexts"] == [1, 0]  # one outermost loop; the cond is nested in it
    for name, a, b in zip(xs, theirs["grads"], mine):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


# name -> (cell class, its arguments): built by nanotf, and by TensorFlow from the same spec
CELLS = {
    "lstm_cell": ("LSTMCell", {"num_units": 6}),
    "lstm_cell_peepholes": ("LSTMCell", {"num_units": 6, "use_peepholes": True, "num_proj": 4, "cell_clip": 0.5}),
    "basic_lstm_cell": ("BasicLSTMCell", {"num_units": 6, "forget_bias": 0.5}),
    "gru_cell": ("GRUCell", {"num_units": 6}),
    "basic_rnn_cell": ("BasicRNNCell", {"num_units": 6}),
    "multi_rnn_cell": ("MultiRNNCell", {"cells": [["LSTMCell", {"num_units": 4}], ["GRUCell", {"num_units": 6}]]}),
}


def _make_cell(rnn_cell, cls, args):
    """A cell from its spec; a MultiRNNCell's ``cells`` are specs too (the same code runs in TF's snippet)."""
    if "cells" in args:
        args = {**args, "cells": [_make_cell(rnn_cell, *spec) for spec in args["cells"]]}
    return getattr(rnn_cell, cls)(**args)


def _flatten(state):
    return [leaf for item in state for leaf in _flatten(item)] if isinstance(state, (tuple, list)) else [state]
TF_CELL = PRELUDE + """
run = json.loads(%r)
%s
with tf.Graph().as_default(), tf.Session() as sess:
    x = tf.placeholder(tf.float32, [3, 5, 2], name="x")
    cell = _make_cell(tf.nn.rnn_cell, run["cell"], run["args"])
    outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=[5, 3, 1], dtype=tf.float32)
    loss = tf.reduce_sum(tf.sin(outputs)) + tf.add_n([tf.reduce_sum(s) for s in tf.nest.flatten(state)])
    variables = tf.trainable_variables()
    grads = tf.gradients(loss, variables)
    tf.train.Saver().restore(sess, run["prefix"])
    out, g = sess.run([outputs, grads], {x: np.array(run["x"], np.float32)})
print(json.dumps({"names": [v.op.name for v in variables], "outputs": out.tolist(), "grads": [a.tolist() for a in g]}))
"""


@pytest.mark.parametrize("name", sorted(CELLS))
def test_tensorflows_cells_give_nanotfs_numbers(tf_runner, tmp_path, name):
    inputs = np.random.default_rng(5).standard_normal((3, 5, 2)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3, 5, 2], name="x")
        cls, args = CELLS[name]
        outputs, state = tf.nn.dynamic_rnn(_make_cell(tf.nn.rnn_cell, cls, args), x, sequence_length=[5, 3, 1],
                                           dtype=tf.float32)  # fmt: skip
        loss = tf.reduce_sum(tf.sin(outputs)) + tf.add_n([tf.reduce_sum(s) for s in _flatten(state)])
        variables = tf.trainable_variables()
        grads = tf.gradients(loss, variables)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = tf.train.Saver().save(sess, str(tmp_path / "cell"))
            out, g = sess.run([outputs, grads], {x: inputs})
    run = {"prefix": prefix, "x": inputs.tolist(), "cell": cls, "args": args}
    theirs = tf_runner.run_json(TF_CELL % (json.dumps(run), inspect.getsource(_make_cell)))
    assert theirs["names"] == [v.op.name for v in variables]
    np.testing.assert_allclose(theirs["outputs"], out, rtol=1e-5, atol=1e-6)
    for var, a, b in zip(variables, theirs["grads"], g):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=var.name)


TF_CONTEXTS = PRELUDE + """
with tf.Graph().as_default():
    x = tf.placeholder(tf.float32, [], name="x")
    w = tf.constant(1.5, name="w")

    def body(i, v):
        return [i + 1, tf.cond(i % 2 < 1, lambda: v * w, lambda: tf.sin(v) + x)]

    tf.while_loop(lambda i, v: i < 5, body, [0, x], maximum_iterations=4)
    tf.cond(x > 0.0, lambda: x * 2.0, lambda: x)
    mgd = tf.train.export_meta_graph()
print(json.dumps({k: [v.hex() for v in mgd.collection_def[k].bytes_list.value]
                  for k in ("while_context", "cond_context")}))
"""


def test_context_protos_are_tensorflows(tf_runner):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        w = tf.constant(1.5, name="w")

        def body(i, v):
            return [i + 1, tf.cond(i % 2 < 1, lambda: v * w, lambda: tf.sin(v) + x)]

        tf.while_loop(lambda i, v: i < 5, body, [0, x], maximum_iterations=4)
        tf.cond(x > 0.0, lambda: x * 2.0, lambda: x)
        mgd = tf.train.export_meta_graph()
    theirs = tf_runner.run_json(TF_CONTEXTS)
    for key, proto_type in (("while_context", control_flow_pb2.WhileContextDef),
                            ("cond_context", control_flow_pb2.CondContextDef)):  # fmt: skip
        ours = [proto_type.FromString(v) for v in mgd.collection_def[key].bytes_list.value]
        assert ours == [proto_type.FromString(bytes.fromhex(v)) for v in theirs[key]], key
