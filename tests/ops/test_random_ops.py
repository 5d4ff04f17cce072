"""Random ops in a session give TensorFlow's numbers, and move on across runs as TF's do.

Expected values were printed by TensorFlow 2.21 (CPU) for the same program.
"""

import numpy as np

import nanotf as tf


def test_seeded_random_ops_match_tensorflow_run_after_run():
    tf.reset_default_graph()
    w1 = tf.Variable(tf.random_normal(shape=[2], seed=1), name="w1")
    u = tf.random_uniform([3], seed=2)
    t = tf.truncated_normal([2], seed=3)
    i = tf.random_uniform([4], 0, 10, dtype=tf.int32, seed=4)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w1), np.array([-0.8113182, 1.4845988], np.float32))
        np.testing.assert_array_equal(sess.run(u), np.array([0.6787466, 0.7141509, 0.46981692], np.float32))
        np.testing.assert_array_equal(sess.run(u), np.array([0.7123976, 0.9956535, 0.81486213], np.float32))
        np.testing.assert_array_equal(sess.run(t), np.array([1.0616621, -0.8785783], np.float32))
        np.testing.assert_array_equal(sess.run(i), np.array([5, 9, 8, 3], np.int32))
    # A new session starts each op's stream again.
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(u), np.array([0.6787466, 0.7141509, 0.46981692], np.float32))


def test_unseeded_ops_differ_between_sessions():
    tf.reset_default_graph()
    x = tf.random_normal([64])
    with tf.Session() as a, tf.Session() as b:
        assert not np.array_equal(a.run(x), b.run(x))
