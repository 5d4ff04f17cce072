"""Runs the op table (tests/ops/op_table): forward against NumPy, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import registry
from tests.ops.op_table import EXEMPT
from tests.ops.op_table import family_cases

CASES = family_cases()


def _build(case):
    g = tf.Graph()
    with g.as_default():
        holders = [tf.placeholder(tf.as_dtype(np.asarray(a).dtype), np.shape(a), name=f"in{i}")
                   for i, a in enumerate(case.inputs)]  # fmt: skip
        out = case.build(*holders)
    return g, holders, out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward(case):
    g, holders, out = _build(case)
    with tf.Session(graph=g) as sess:
        got = sess.run(out, dict(zip(holders, case.inputs)))
    if case.reference is not None:
        expected = case.reference(*case.inputs)
        for e, r in zip(_flat(expected), _flat(got)):
            np.testing.assert_allclose(np.asarray(r, np.float64) if np.asarray(r).dtype.kind in "fc" else r,
                                       e, rtol=case.rtol, atol=case.atol, err_msg=case.id)  # fmt: skip
            if np.asarray(e).dtype != object:
                assert np.asarray(r).dtype.kind == np.asarray(e).dtype.kind or np.asarray(e).dtype.kind in "fc", case.id
    if case.static_shape:
        for t, r in zip(_flat(out), _flat(got)):
            assert t.shape.is_compatible_with(np.shape(r)), f"{case.id}: static {t.shape} vs {np.shape(r)}"


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


GRAD_CASES = [c for c in CASES if c.grad]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.id for c in GRAD_CASES])
def test_gradient_matches_finite_differences(case):
    g, holders, out = _build(case)
    which = case.grad_inputs
    if which is None:
        which = [i for i, a in enumerate(case.inputs) if np.asarray(a).dtype.kind == "f"]
    rng = np.random.default_rng(0)
    with g.as_default():
        out = _flat(out)[0]
        # A random projection makes every output element matter to the checked scalar.
        w = tf.placeholder(out.dtype, name="weights")
        loss = tf.reduce_sum(out * w)
        grads = tf.gradients(loss, [holders[i] for i in which])
    with tf.Session(graph=g) as sess:
        feeds = dict(zip(holders, case.inputs))
        out_shape = np.shape(sess.run(out, feeds))
        weights = rng.standard_normal(out_shape).astype(out.dtype.as_numpy_dtype)
        feeds[w] = weights
        symbolic = sess.run([gr for gr in grads if gr is not None], feeds)
        assert all(gr is not None for gr in grads), f"{case.id}: an input got no gradient"
        for i, sym in zip(which, symbolic):
            x = np.array(case.inputs[i])
            eps = 1e-6 if x.dtype == np.float64 else 1e-3
            numeric = np.zeros(x.shape, np.float64)
            for idx in np.ndindex(*x.shape):
                for sign in (1, -1):
                    bumped = x.copy()
                    bumped[idx] += sign * eps
                    feeds[holders[i]] = bumped
                    numeric[idx] += sign * float(sess.run(loss, feeds)) / (2 * eps)
                feeds[holders[i]] = case.inputs[i]
            np.testing.assert_allclose(sym, numeric, rtol=case.grad_rtol, atol=case.grad_atol,
                                       err_msg=f"{case.id}: d/d input {i}")  # fmt: skip


def test_every_registered_op_is_in_the_table():
    covered = {op for c in CASES for op in c.ops} | set(EXEMPT)
    missing = sorted(set(registry.registered_op_types()) - covered)
    assert not missing, f"registered op types without an op-table row or exemption: {missing}"
