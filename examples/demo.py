"""nanotf in one minute: train-free save, restore in a fresh process, inspect the files.

This is the seed tutorial's placeholder model, written as TensorFlow 1 code with
one change, ``import nanotf as tf``. The files it writes are the files
TensorFlow writes: TensorFlow can restore them, and nanotf restores TensorFlow's.

    python examples/demo.py [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

import nanotf as tf


def save_model(directory: str) -> str:
    w1 = tf.placeholder("float", name="w1")
    w2 = tf.placeholder("float", name="w2")
    b1 = tf.Variable(2.0, name="bias")
    w3 = tf.add(w1, w2)
    w4 = tf.multiply(w3, b1, name="op_to_restore")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print("(4 + 8) * bias =", sess.run(w4, {w1: 4, w2: 8}))
        saver = tf.train.Saver()
        return saver.save(sess, os.path.join(directory, "my_test_model"), global_step=1000)


RESTORE = """
import nanotf as tf
sess = tf.Session()
saver = tf.train.import_meta_graph({meta!r})
saver.restore(sess, tf.train.latest_checkpoint({directory!r}))
graph = tf.get_default_graph()
w1 = graph.get_tensor_by_name("w1:0")
w2 = graph.get_tensor_by_name("w2:0")
op_to_restore = graph.get_tensor_by_name("op_to_restore:0")
print("restored in a fresh process: (13 + 17) * bias =", sess.run(op_to_restore, {{w1: 13.0, w2: 17.0}}))
print("with an op added to the restored graph:", sess.run(tf.multiply(op_to_restore, 2), {{w1: 13.0, w2: 17.0}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write the model (default: a temporary directory)")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="nanotf-demo-")
    os.makedirs(directory, exist_ok=True)

    prefix = save_model(directory)
    print("saved", prefix)
    for name in sorted(os.listdir(directory)):
        print(f"  {name:40s} {os.path.getsize(os.path.join(directory, name)):>8d} bytes")

    code = textwrap.dedent(RESTORE).format(meta=prefix + ".meta", directory=directory)
    subprocess.run([sys.executable, "-c", code], check=True)

    print("what the checkpoint holds:")
    for name, shape in tf.train.list_variables(directory):
        value = tf.train.load_variable(directory, name)
        print(f"  {name}: shape {shape}, value {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
