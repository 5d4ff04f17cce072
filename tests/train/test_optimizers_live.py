"""Live: each optimizer builds TensorFlow's graph and makes TensorFlow's updates.

One program (below) runs under TensorFlow and under nanotf for every optimizer
and both variable kinds: a linear model ``mean((x @ w + b)**2)`` with a global
step, trained 5 steps on fixed data. The optimizer's part of the GraphDef
(every node outside ``gradients/``) must equal TF's node for node, attrs
included, and the losses and final variables must agree within 1e-5.

Resource variables get their gradients with respect to the variables' reads
(gated, as ``minimize`` gates them) and ``apply_gradients``: the graph
``minimize`` builds, without differentiating through the reads.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import textwrap

import numpy as np
import pytest
from google.protobuf import text_format

import nanotf
from nanotf.framework import behavior
from nanotf.protos import graph_pb2

OPTIMIZERS = {
    "sgd": "tf.train.GradientDescentOptimizer(0.1)",
    "momentum": "tf.train.MomentumOptimizer(0.1, 0.9)",
    "nesterov": "tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True)",
    "adam": "tf.train.AdamOptimizer(0.1)",
    "adagrad": "tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.2)",
    "rmsprop": "tf.train.RMSPropOptimizer(0.05, momentum=0.5)",
    "rmsprop_centered": "tf.train.RMSPropOptimizer(0.05, decay=0.8, momentum=0.5, epsilon=1e-6, centered=True)",
}
CASES = [(name, kind) for name in OPTIMIZERS for kind in ("ref", "resource")]

PROGRAM = """
import base64, json
import numpy as np

def run(make_optimizer, resource):
    (tf.enable_resource_variables if resource else tf.disable_resource_variables)()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.Variable([[1.0], [2.0]], name="w")
        b = tf.Variable([0.5], name="b")
        step = tf.train.get_or_create_global_step()
        opt = make_optimizer()
        if resource:
            w_value, b_value = w.value(), b.value()
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w_value) + b_value), name="loss")
            grads = tf.gradients(loss, [w_value, b_value], gate_gradients=True)
            train = opt.apply_gradients(list(zip(grads, [w, b])), global_step=step)
        else:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b), name="loss")
            train = opt.minimize(loss, global_step=step)
        feed = {x: np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]], np.float32)}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = [float(sess.run([train, loss], feed)[1]) for _ in range(5)]
            values = [v.tolist() for v in sess.run([w, b])]
            slots = {n: sess.run(opt.get_slot(w, n)).tolist() for n in opt.get_slot_names()}
            final_step = int(sess.run(step))
    graph_def = base64.b64encode(graph.as_graph_def().SerializeToString()).decode()
    return {"graph_def": graph_def, "losses": losses, "values": values, "slots": slots, "step": final_step}

OPTIMIZERS = %s
print(json.dumps({f"{name}/{kind}": run(lambda: eval(make), kind == "resource")
                  for name, make in OPTIMIZERS.items() for kind in ("ref", "resource")}))
"""


@pytest.fixture(scope="module")
def results(tf_runner):
    program = textwrap.dedent(PROGRAM) % (OPTIMIZERS,)
    theirs = tf_runner.run_json(program)
    namespace = {"tf": nanotf, "__name__": "nanotf_program"}
    resource = behavior.resource_variables_enabled()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, "<optimizers program>", "exec"), namespace)
    (behavior.enable_resource_variables if resource else behavior.disable_resource_variables)()
    ours = json.loads(out.getvalue().strip().splitlines()[-1])
    return theirs, ours


def _nodes(encoded: str) -> dict:
    graph_def = graph_pb2.GraphDef.FromString(base64.b64decode(encoded))
    return {n.name: text_format.MessageToString(n) for n in graph_def.node if not n.name.startswith("gradients/")}


@pytest.mark.parametrize("name,kind", CASES)
def test_optimizer_graph_matches_tensorflows(results, name, kind):
    theirs, ours = (r[f"{name}/{kind}"] for r in results)
    tf_nodes, our_nodes = _nodes(theirs["graph_def"]), _nodes(ours["graph_def"])
    assert list(our_nodes) == list(tf_nodes)
    differing = [n for n in tf_nodes if tf_nodes[n] != our_nodes[n]]
    assert not differing, "\n".join(f"TF:\n{tf_nodes[n]}nanotf:\n{our_nodes[n]}" for n in differing)


@pytest.mark.parametrize("name,kind", CASES)
def test_optimizer_updates_match_tensorflows(results, name, kind):
    theirs, ours = (r[f"{name}/{kind}"] for r in results)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-5)
    for a, b in zip(ours["values"], theirs["values"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert ours["slots"].keys() == theirs["slots"].keys()
    for slot in theirs["slots"]:
        np.testing.assert_allclose(ours["slots"][slot], theirs["slots"][slot], rtol=1e-5, atol=1e-7)
    assert ours["step"] == theirs["step"] == 5
