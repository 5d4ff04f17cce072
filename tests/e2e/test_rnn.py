"""``tf.nn.dynamic_rnn`` and the ``tf.nn.rnn_cell`` cells: TensorFlow's graph, NumPy's numbers, training that resumes.

The cells are checked against NumPy implementations of their equations (the
variables' values read back from the session), gradients against finite
differences, the LSTM graph against the one TensorFlow wrote for the
control-flow fixture (tests/fixtures/control_flow/lstm), and a trained,
saved LSTM must continue in a fresh graph exactly as in its own session.
"""

from __future__ import annotations

import numpy as np
import pytest

import nanotf as tf
from nanotf.protos import control_flow_pb2
from nanotf.train import meta_graph

RNG = np.random.default_rng(11)
X = np.sin(np.arange(60, dtype=np.float32).reshape(4, 5, 3) * 0.37).astype(np.float32)
Y = np.stack([X.sum(axis=(1, 2)) * 0.1], axis=1).astype(np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_lstm_step(x, state, kernel, bias, forget_bias=1.0):
    c, h = state
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    c = _sigmoid(f + forget_bias) * c + _sigmoid(i) * np.tanh(j)
    h = _sigmoid(o) * np.tanh(c)
    return h, (c, h)


def _np_gru_step(x, h, gate_kernel, gate_bias, candidate_kernel, candidate_bias):
    r, u = np.split(_sigmoid(np.concatenate([x, h], 1) @ gate_kernel + gate_bias), 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ candidate_kernel + candidate_bias)
    h = u * h + (1 - u) * c
    return h, h


def _np_rnn_step(x, h, kernel, bias):
    h = np.tanh(np.concatenate([x, h], 1) @ kernel + bias)
    return h, h


def _np_dynamic_rnn(step, inputs, state, lengths):
    """Batch-major outputs and final state; entries past their length output zeros and keep their state."""
    outputs = []
    for t in range(inputs.shape[1]):
        out, new_state = step(inputs[:, t], state)
        live = (t < lengths)[:, None]
        outputs.append(np.where(live, out, 0.0))
        flat_new = new_state if isinstance(new_state, tuple) else (new_state,)
        flat_old = state if isinstance(state, tuple) else (state,)
        kept = tuple(np.where(live, n, o) for n, o in zip(flat_new, flat_old))
        state = kept if isinstance(state, tuple) else kept[0]
    return np.stack(outputs, axis=1), state


# cell name -> (make the cell, NumPy step over the cell's variable values, zero state)
CELLS = {
    "lstm_cell": (lambda: tf.nn.rnn_cell.LSTMCell(6), lambda v: lambda x, s: _np_lstm_step(x, s, *v),
                  lambda b: (np.zeros((b, 6)), np.zeros((b, 6)))),
    "basic_lstm_cell": (lambda: tf.nn.rnn_cell.BasicLSTMCell(6, forget_bias=0.5),
                        lambda v: lambda x, s: _np_lstm_step(x, s, *v, forget_bias=0.5),
                        lambda b: (np.zeros((b, 6)), np.zeros((b, 6)))),
    "gru_cell": (lambda: tf.nn.rnn_cell.GRUCell(6), lambda v: lambda x, s: _np_gru_step(x, s, *v),
                 lambda b: np.zeros((b, 6))),
    "basic_rnn_cell": (lambda: tf.nn.rnn_cell.BasicRNNCell(6), lambda v: lambda x, s: _np_rnn_step(x, s, *v),
                       lambda b: np.zeros((b, 6))),
}  # fmt: skip
VARIABLES = {
    "lstm_cell": ["kernel", "bias"],
    "basic_lstm_cell": ["kernel", "bias"],
    "gru_cell": ["gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"],
    "basic_rnn_cell": ["kernel", "bias"],
}


@pytest.mark.parametrize("lengths", [None, [5, 2, 0]], ids=["full", "sequence_length"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_cells_match_numpy(name, lengths):
    make, np_step, np_zero = CELLS[name]
    inputs = RNG.standard_normal((3, 5, 2))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [3, 5, 2], name="x")
        outputs, state = tf.nn.dynamic_rnn(make(), x, sequence_length=lengths, dtype=tf.float64)
        variables = tf.trainable_variables()
        assert [v.name for v in variables] == [f"rnn/{name}/{v}:0" for v in VARIABLES[name]]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(variables)
            got_outputs, got_state = sess.run([outputs, state], {x: inputs})
    full = np.array([5, 5, 5]) if lengths is None else np.array(lengths)
    want_outputs, want_state = _np_dynamic_rnn(np_step(values), inputs, np_zero(3), full)
    np.testing.assert_allclose(got_outputs, want_outputs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.array(got_state), np.array(want_state), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_dynamic_rnn_gradients_match_finite_differences(name):
    inputs = RNG.standard_normal((2, 4, 2))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [2, 4, 2], name="x")
        outputs, state = tf.nn.dynamic_rnn(CELLS[name][0](), x, sequence_length=[4, 3], dtype=tf.float64)
        states = list(state) if isinstance(state, tuple) else [state]
        loss = tf.reduce_sum(tf.sin(outputs)) + tf.add_n([tf.reduce_sum(s * s) for s in states])
        variables = tf.trainable_variables()
        grads = tf.gradients(loss, [x] + variables)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(grads, {x: inputs})
            np.testing.assert_allclose(got[0], _numeric(lambda v: sess.run(loss, {x: v}), inputs), atol=1e-7)
            for var, g in zip(variables, got[1:]):
                value = sess.run(var)

                def loss_at(v, var=var):
                    var.load(v, sess)
                    return sess.run(loss, {x: inputs})

                np.testing.assert_allclose(g, _numeric(loss_at, value), atol=1e-7, err_msg=var.name)
                var.load(value, sess)


def _numeric(f, value, eps=1e-6):
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[idx] += eps
        down[idx] -= eps
        grad[idx] = (f(up) - f(down)) / (2 * eps)
    return grad


def _build_lstm(optimizer):
    tf.set_random_seed(42)
    x = tf.placeholder(tf.float32, [4, 5, 3], name="x")
    y = tf.placeholder(tf.float32, [4, 1], name="y")
    outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(8), x, dtype=tf.float32)
    pred = tf.layers.dense(outputs[:, -1, :], 1, name="readout")
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.square(pred - y), name="mse")
    tf.group(optimizer.minimize(loss, global_step=tf.train.get_or_create_global_step()), name="train_op")


def _train(sess, steps=3) -> list:
    return [float(sess.run(["train_op", "loss/mse:0"], {"x:0": X, "y:0": Y})[1]) for _ in range(steps)]


def test_lstm_graph_is_tensorflows(fixtures_dir):
    mgd = meta_graph.read_meta_graph_file(str(fixtures_dir / "control_flow" / "lstm" / "model-3.meta"))
    theirs = {n.name: n for n in mgd.graph_def.node}
    with tf.Graph().as_default() as g:
        _build_lstm(tf.train.GradientDescentOptimizer(0.1))
        ours = {n.name: n for n in g.as_graph_def().node}
    names = [n for n in ours if n.startswith("rnn/while/") or n.startswith("rnn/TensorArray")
             or n.startswith("rnn/lstm_cell/") or n.startswith("rnn/transpose")]  # fmt: skip
    assert len(names) > 90
    for name in names:
        assert (ours[name].op, list(ours[name].input)) == (theirs[name].op, list(theirs[name].input)), name
    for name in ("rnn/TensorArray", "rnn/TensorArray_1", "rnn/while/Enter_1"):
        assert {k: v for k, v in theirs[name].attr.items() if k != "_output_shapes"} == dict(ours[name].attr), name
    loop_grads = [n for n in theirs if n.startswith("gradients/rnn/while/") and "_grad/" in n]
    assert set(loop_grads) - set(ours) <= {n for n in loop_grads if "/add_grad/" in n or "/concat_grad/" in n}


def test_lstm_training_graph_exports_tensorflows_while_context(fixtures_dir):
    mgd = meta_graph.read_meta_graph_file(str(fixtures_dir / "control_flow" / "lstm" / "model-3.meta"))
    with tf.Graph().as_default():
        _build_lstm(tf.train.GradientDescentOptimizer(0.1))
        ours = tf.train.export_meta_graph()
    # The forward loop's context after the gradient pass: its values include the pushes and counters.
    # (Compared parsed: TensorFlow serializes the external_values map in no fixed order.)
    (theirs,) = mgd.collection_def["while_context"].bytes_list.value
    (mine,) = ours.collection_def["while_context"].bytes_list.value
    assert control_flow_pb2.WhileContextDef.FromString(mine) == control_flow_pb2.WhileContextDef.FromString(theirs)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_lstm_trains_and_resumes_from_its_checkpoint(tmp_path, optimizer):
    make = {"sgd": lambda: tf.train.GradientDescentOptimizer(0.1), "adam": lambda: tf.train.AdamOptimizer(0.05)}
    with tf.Graph().as_default():
        _build_lstm(make[optimizer]())
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = _train(sess)
            prefix = saver.save(sess, str(tmp_path / "model"), global_step=tf.train.get_global_step())
            continued = _train(sess)
    assert before[2] < before[0]
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(prefix + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            resumed = _train(sess)
            assert sess.run("global_step:0") == 6
    np.testing.assert_allclose(resumed, continued, rtol=1e-6)


def test_dynamic_rnn_time_major_initial_state_and_dynamic_batch():
    inputs = RNG.standard_normal((5, 3, 2)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [5, None, 2], name="x")
        cell = tf.nn.rnn_cell.GRUCell(4)
        h0 = tf.placeholder(tf.float32, [None, 4], name="h0")
        outputs, state = tf.nn.dynamic_rnn(cell, x, initial_state=h0, time_major=True)
        assert outputs.shape.as_list() == [5, None, 4]
        (g,) = tf.gradients(tf.reduce_sum(outputs), [h0])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(cell.variables)
            got, final, grad = sess.run([outputs, state, g], {x: inputs, h0: np.ones((3, 4), np.float32)})
    want, want_state = _np_dynamic_rnn(lambda xt, s: _np_gru_step(xt, s, *values), inputs.transpose(1, 0, 2),
                                       np.ones((3, 4)), np.array([5, 5, 5]))  # fmt: skip
    np.testing.assert_allclose(got, want.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final, want_state, rtol=1e-5, atol=1e-6)
    assert grad.shape == (3, 4) and np.all(np.isfinite(grad))


def test_dynamic_rnn_argument_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4, 5, 3])
        with pytest.raises(ValueError, match="dtype"):
            tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicRNNCell(2), x)
        with pytest.raises(ValueError, match="depth of inputs"):
            tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicRNNCell(2), tf.placeholder(tf.float32, [4, 5, None]),
                              dtype=tf.float32)  # fmt: skip
        with pytest.raises(ValueError, match="sequence_length must be a vector"):
            tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicRNNCell(2), x, sequence_length=[[1]], dtype=tf.float32)
