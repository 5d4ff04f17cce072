"""The ``cond_context`` / ``while_context`` collections: export, import, and gradients through imported loops.

The LSTM fixture (tests/fixtures/control_flow/lstm, written by TensorFlow)
carries TF's own ``while_context``; nanotf must rebuild it well enough to
differentiate through TF's loop and get the same numbers as TF's gradient
ops in that graph.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import nanotf as tf
from nanotf.ops.cond_v1 import CondContext
from nanotf.ops.while_v1 import WhileContext
from nanotf.protos import control_flow_pb2


def _build_loop_with_cond():
    x = tf.placeholder(tf.float32, [], name="x")
    w = tf.constant(1.5, name="w")

    def body(i, v):
        return [i + 1, tf.cond(i % 2 < 1, lambda: v * w, lambda: tf.sin(v) + x)]

    _, r = tf.while_loop(lambda i, v: i < 5, body, [0, x], maximum_iterations=4)
    top = tf.cond(x > 0.0, lambda: x * 2.0, lambda: x)
    return x, r, top


def _contexts(mgd, key, proto_type):
    return [proto_type.FromString(b) for b in mgd.collection_def[key].bytes_list.value]


def test_export_writes_outermost_contexts_with_nested_ones_inside():
    with tf.Graph().as_default():
        _build_loop_with_cond()
        mgd = tf.train.export_meta_graph()
    (loop,) = _contexts(mgd, "while_context", control_flow_pb2.WhileContextDef)
    assert loop.context_name == "while/while_context"
    assert (loop.pivot_name, loop.pivot_for_pred_name, loop.pivot_for_body_name) == (
        "while/LoopCond:0", "while/Merge:0", "while/Identity:0")
    assert list(loop.loop_enter_names) == ["while/Enter:0", "while/Enter_1:0", "while/Enter_2:0"]
    assert list(loop.loop_exit_names) == ["while/Exit:0", "while/Exit_1:0", "while/Exit_2:0"]
    assert loop.maximum_iterations_name == "while/maximum_iterations:0"
    assert (loop.parallel_iterations, loop.back_prop, loop.swap_memory) == (10, True, False)
    assert loop.values_def.external_values["w:0"] == "while/cond/mul/Enter:0"
    assert "while/Switch_2:1" in loop.values_def.values and list(loop.values_def.values) == sorted(
        loop.values_def.values)
    nested = [c.cond_ctxt for c in loop.nested_contexts]
    assert [(c.context_name, c.branch, c.pivot_name) for c in nested] == [
        ("while/cond/cond_text", 1, "while/cond/switch_t:0"), ("while/cond/cond_text_1", 0, "while/cond/switch_f:0")]
    assert all(c.pred_name == "while/cond/pred_id:0" for c in nested)
    conds = _contexts(mgd, "cond_context", control_flow_pb2.CondContextDef)
    assert [c.context_name for c in conds] == ["cond/cond_text", "cond/cond_text_1"]


def test_import_rebuilds_the_contexts_and_exports_them_again_unchanged():
    with tf.Graph().as_default():
        _build_loop_with_cond()
        mgd = tf.train.export_meta_graph()
    with tf.Graph().as_default() as g:
        tf.train.import_meta_graph(mgd)
        (loop,) = g.get_collection("while_context")
        assert isinstance(loop, WhileContext) and loop.outer_context is None
        assert loop.pivot is g.get_tensor_by_name("while/LoopCond:0")
        assert [c.branch for c in loop.nested_contexts] == [1, 0]
        assert all(isinstance(c, CondContext) and c.outer_context is loop for c in loop.nested_contexts)
        assert g.get_operation_by_name("while/Less")._control_flow_context is loop
        assert g.get_operation_by_name("while/cond/Sin")._control_flow_context is loop.nested_contexts[1]
        again = tf.train.export_meta_graph()
    for key in ("while_context", "cond_context"):
        assert again.collection_def[key] == mgd.collection_def[key]


def test_import_scope_renames_contexts_and_frames():
    with tf.Graph().as_default():
        _build_loop_with_cond()
        mgd = tf.train.export_meta_graph()
    with tf.Graph().as_default() as g:
        tf.train.import_meta_graph(mgd, import_scope="copy")
        (loop,) = g.get_collection("while_context")
        assert loop.name == "copy/while/while_context"
        assert g.get_operation_by_name("copy/while/Enter").get_attr("frame_name") == b"copy/while/while_context"
        assert loop.nested_contexts[0].pred is g.get_tensor_by_name("copy/while/cond/pred_id:0")
        with tf.Session() as sess:
            scoped = sess.run("copy/while/Exit_2:0", {"copy/x:0": 0.5})
    with tf.Graph().as_default():
        x, r, _ = _build_loop_with_cond()
        with tf.Session() as sess:
            assert scoped == sess.run(r, {x: 0.5})


def test_gradients_through_an_imported_loop_equal_the_original_ones():
    with tf.Graph().as_default():
        x, r, _ = _build_loop_with_cond()
        (g,) = tf.gradients(r, [x])
        with tf.Session() as sess:
            expected = sess.run(g, {x: 0.7})
        mgd = tf.train.export_meta_graph()
    with tf.Graph().as_default() as graph:
        tf.train.import_meta_graph(mgd, clear_devices=True)
        x, r = graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("while/Exit_2:0")
        (g,) = tf.gradients(r, [x], name="gradients_again")
        with tf.Session() as sess:
            assert sess.run(g, {x: 0.7}) == pytest.approx(expected, rel=1e-6)


def test_gradients_through_tensorflows_lstm_loop_equal_tensorflows(fixtures_dir):
    path = fixtures_dir / "control_flow" / "lstm"
    expected = json.loads((path / "expected.json").read_text())
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(str(path / "model-3.meta"))
        (loop,) = g.get_collection("while_context")
        assert loop.name == "rnn/while/while_context"
        assert loop.maximum_iterations is g.get_tensor_by_name("rnn/strided_slice:0")
        kernel, bias = tf.trainable_variables()[:2]
        # Its own scope name, so that its gradient TensorArrays are not TF's (both run in one step).
        ours = tf.gradients(g.get_tensor_by_name("loss/mse:0"), [kernel, bias], name="gradients_nanotf")
        assert ours[0].name == "gradients_nanotf/rnn/while/lstm_cell/MatMul/Enter_grad/b_acc_3:0"
        theirs = [g.get_tensor_by_name(f"gradients/rnn/while/lstm_cell/{op}/Enter_grad/b_acc_3:0")
                  for op in ("MatMul", "BiasAdd")]  # fmt: skip
        feeds = {"x:0": np.array(expected["x"], np.float32), "y:0": np.array(expected["y"], np.float32)}
        with tf.Session() as sess:
            saver.restore(sess, str(path / "model-3"))
            got, want = sess.run([ours, theirs], feeds)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
        assert np.abs(b).max() > 1e-3
