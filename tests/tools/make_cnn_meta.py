"""Writes tests/tools/fixtures/cnn/cnn.meta: a small CNN training graph, exported by real TensorFlow.

Two conv/ReLU/max-pool blocks, a dense layer and softmax cross-entropy,
trained with Adam, each layer in its own variable scope. The graph uses op
types nanotf does not implement (Conv2D, MaxPool, ...), which is the point:
``nanotf meta`` and ``nanotf graph`` read it as a proto without importing it.

Run with a TensorFlow interpreter (the file is deterministic for one build):

    python tests/tools/make_cnn_meta.py
"""

import os

import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "cnn", "cnn.meta")


def conv_block(x, name, channels_in, channels_out):
    with tf.variable_scope(name):
        kernel = tf.get_variable("kernel", [3, 3, channels_in, channels_out])
        bias = tf.get_variable("bias", [channels_out], initializer=tf.zeros_initializer())
        conv = tf.nn.bias_add(tf.nn.conv2d(x, kernel, strides=[1, 1, 1, 1], padding="SAME"), bias)
        return tf.nn.max_pool(tf.nn.relu(conv), ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def main():
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        net = conv_block(images, "conv1", 1, 8)
        net = conv_block(net, "conv2", 8, 16)
        net = tf.reshape(net, [-1, 7 * 7 * 16], name="flatten")
        with tf.variable_scope("dense"):
            weights = tf.get_variable("kernel", [7 * 7 * 16, 10])
            bias = tf.get_variable("bias", [10], initializer=tf.zeros_initializer())
            logits = tf.nn.bias_add(tf.matmul(net, weights), bias, name="logits")
        tf.nn.softmax(logits, name="probabilities")
        with tf.name_scope("loss"):
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        global_step = tf.train.get_or_create_global_step()
        tf.train.AdamOptimizer(1e-3).minimize(loss, global_step=global_step, name="train")
        tf.global_variables_initializer()
        tf.train.Saver().export_meta_graph(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
