"""The seed tutorials' programs (the shared seeds folder beside the repository), in Python 3, as run by tests/test_seeds.py.

Each program is a list of steps; each step is the source of one process, run in
the same working directory one after the other ("a new session" in the
tutorials is a new process). Every step starts with ``import nanotf as tf``;
the live tier runs the same steps under TensorFlow by swapping that line.
``EXPECTED`` holds what TensorFlow prints, where it is deterministic.
"""

import textwrap

IMPORT = "import nanotf as tf"

_RANDOM_MODEL = """
import os
import nanotf as tf
w1 = tf.Variable(tf.random_normal(shape=[2]), name='w1')
w2 = tf.Variable(tf.random_normal(shape=[5]), name='w2')
"""

# 001: the tutorial's "new session" prelude: import the meta graph, restore, look tensors up.
_RESTORED_PLACEHOLDER_MODEL = """
import nanotf as tf
sess = tf.Session()
saver = tf.train.import_meta_graph('my_test_model-1000.meta')
saver.restore(sess, tf.train.latest_checkpoint('./'))
graph = tf.get_default_graph()
w1 = graph.get_tensor_by_name("w1:0")
w2 = graph.get_tensor_by_name("w2:0")
feed_dict = {w1: 13.0, w2: 17.0}
op_to_restore = graph.get_tensor_by_name("op_to_restore:0")
"""

PROGRAMS = {
    # 001/002: save all variables; the files save creates.
    "save_files": [_RANDOM_MODEL + """
saver = tf.train.Saver()
sess = tf.Session()
sess.run(tf.global_variables_initializer())
print(saver.save(sess, 'my_test_model'))
print(sorted(os.listdir('.')))
print(saver.save(sess, 'my_test_model', global_step=1000))
print(sorted(os.listdir('.')))
print(open('checkpoint').read(), end='')
"""],
    # 001: later saves without the meta graph.
    "write_meta_graph_false": [_RANDOM_MODEL + """
saver = tf.train.Saver()
sess = tf.Session()
sess.run(tf.global_variables_initializer())
saver.save(sess, 'my-model', global_step=1000)
for step in (2000, 3000):
    saver.save(sess, 'my-model', global_step=step, write_meta_graph=False)
print(sorted(os.listdir('.')))
"""],
    # 001: keep the 4 newest checkpoints (and one every 2 hours, which a short run never reaches).
    "max_to_keep_4": [_RANDOM_MODEL + """
saver = tf.train.Saver(max_to_keep=4, keep_checkpoint_every_n_hours=2)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for step in range(1, 7):
    saver.save(sess, 'my-model', global_step=step)
print(saver.last_checkpoints)
print(sorted(f for f in os.listdir('.') if f.endswith('.index')))
print(open('checkpoint').read(), end='')
"""],
    # 001: a list and a dict var_list.
    "var_list": [_RANDOM_MODEL + """
saver = tf.train.Saver([w1, w2])
sess = tf.Session()
sess.run(tf.global_variables_initializer())
saver.save(sess, 'my_test_model', global_step=1000)
print(tf.train.list_variables('my_test_model-1000'))
saver = tf.train.Saver({'first': w1, 'second/w': w2})
saver.save(sess, 'renamed')
print(tf.train.list_variables('renamed'))
"""],
    # 001/000: restore random variables in a new process; print w1 by name.
    "restore_w1": [_RANDOM_MODEL + """
saver = tf.train.Saver()
sess = tf.Session()
sess.run(tf.global_variables_initializer())
saver.save(sess, 'my-model', global_step=1000)
print(sess.run('w1:0').tolist())
""", """
import nanotf as tf
with tf.Session() as sess:
    saver = tf.train.import_meta_graph('my-model-1000.meta')
    saver.restore(sess, tf.train.latest_checkpoint('./'))
    print(sess.run('w1:0').tolist())
    print(tf.trainable_variables())
"""],
    # 001: the placeholder model: 24, then 60 after import + restore, then 120 with an added op.
    "placeholder_model": ["""
import nanotf as tf
w1 = tf.placeholder("float", name="w1")
w2 = tf.placeholder("float", name="w2")
b1 = tf.Variable(2.0, name="bias")
feed_dict = {w1: 4, w2: 8}
w3 = tf.add(w1, w2)
w4 = tf.multiply(w3, b1, name="op_to_restore")
sess = tf.Session()
sess.run(tf.global_variables_initializer())
saver = tf.train.Saver()
print(sess.run(w4, feed_dict))
saver.save(sess, 'my_test_model', global_step=1000)
""", _RESTORED_PLACEHOLDER_MODEL + """
print(sess.run(op_to_restore, feed_dict))
""", _RESTORED_PLACEHOLDER_MODEL + """
add_on_op = tf.multiply(op_to_restore, 2)
print(sess.run(add_on_op, feed_dict))
"""],
    # 003 (Julia), in Python: get_variable + assign 5.0, save; restore in a new session.
    "julia_variable": ["""
import nanotf as tf
session = tf.Session()
x = tf.get_variable("x", [], tf.float32)
session.run(tf.assign(x, 5.0))
saver = tf.train.Saver()
saver.save(session, "weights")
""", """
import nanotf as tf
session = tf.Session()
x = tf.get_variable("x", [], tf.float32)
saver = tf.train.Saver()
saver.restore(session, "weights")
print(session.run(x))
"""],
    # 003: 100 saves with max_to_keep=5 leave the last five.
    "julia_max_to_keep": ["""
import os
import nanotf as tf
session = tf.Session()
x = tf.get_variable("x", [], tf.float32)
session.run(tf.global_variables_initializer())
saver = tf.train.Saver(max_to_keep=5)
for iteration in range(1, 101):
    saver.save(session, "variable_file", global_step=iteration)
print(sorted((f for f in os.listdir('.') if f.endswith('.index')), key=lambda f: int(f[14:-6])))
print(open('checkpoint').read(), end='')
"""],
    # 003: export the meta graph of y = x + 1; import it in a new session.
    "julia_meta_graph": ["""
import nanotf as tf
x = tf.constant(1)
y = tf.add(x, 1, name="y")
tf.train.export_meta_graph("my_model")
""", """
import nanotf as tf
session = tf.Session()
print(tf.train.import_meta_graph("my_model"))
y = tf.get_default_graph().get_tensor_by_name("y:0")
print(session.run(y))
"""],
    # 004 (SundayNet): resume from a meta graph: the global step, the train op, the hyperparameters.
    "sundaynet": ["""
import nanotf as tf
x = tf.placeholder(tf.float32, [None, 2], name="x")
w = tf.Variable([[1.0], [2.0]], name="w")
with tf.name_scope("loss"):
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)), name="mse")
    global_step = tf.Variable(0, name="global_step", trainable=False)
    tf.group(tf.assign_add(global_step, 1), name="train_op")
tf.add_to_collection("hyperparameters", 0.01)
tf.add_to_collection("hyperparameters", 0.9)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
sess.run("loss/train_op")
saver = tf.train.Saver()
saver.save(sess, "results/model.ckpt", global_step=10)
""", """
import nanotf as tf
saver = tf.train.import_meta_graph('results/model.ckpt-10.meta')
graph = tf.get_default_graph()
global_step_tensor = graph.get_tensor_by_name('loss/global_step:0')
train_op = graph.get_operation_by_name('loss/train_op')
hyperparameters = tf.get_collection('hyperparameters')
print(hyperparameters)
with tf.Session() as sess:
    saver.restore(sess, tf.train.latest_checkpoint('results'))
    print(sess.run(global_step_tensor))
    sess.run(train_op)
    print(sess.run(global_step_tensor))
    print(sess.run('loss/mse:0', {'x:0': [[1.0, 1.0]]}))
"""],
}

# What TensorFlow 2.21 prints (tf.compat.v1, ref variables); None = not deterministic across
# frameworks (random values), compared within a run instead.
EXPECTED = {
    "save_files": (
        "my_test_model\n"
        "['checkpoint', 'my_test_model.data-00000-of-00001', 'my_test_model.index', 'my_test_model.meta']\n"
        "my_test_model-1000\n"
        "['checkpoint', 'my_test_model-1000.data-00000-of-00001', 'my_test_model-1000.index', "
        "'my_test_model-1000.meta', 'my_test_model.data-00000-of-00001', 'my_test_model.index', "
        "'my_test_model.meta']\n"
        'model_checkpoint_path: "my_test_model-1000"\n'
        'all_model_checkpoint_paths: "my_test_model"\n'
        'all_model_checkpoint_paths: "my_test_model-1000"\n'
    ),
    "write_meta_graph_false": (
        "['checkpoint', 'my-model-1000.data-00000-of-00001', 'my-model-1000.index', 'my-model-1000.meta', "
        "'my-model-2000.data-00000-of-00001', 'my-model-2000.index', 'my-model-3000.data-00000-of-00001', "
        "'my-model-3000.index']\n"
    ),
    "max_to_keep_4": (
        "['my-model-3', 'my-model-4', 'my-model-5', 'my-model-6']\n"
        "['my-model-3.index', 'my-model-4.index', 'my-model-5.index', 'my-model-6.index']\n"
        'model_checkpoint_path: "my-model-6"\n'
        'all_model_checkpoint_paths: "my-model-3"\n'
        'all_model_checkpoint_paths: "my-model-4"\n'
        'all_model_checkpoint_paths: "my-model-5"\n'
        'all_model_checkpoint_paths: "my-model-6"\n'
    ),
    "var_list": "[('w1', [2]), ('w2', [5])]\n[('first', [2]), ('second/w', [5])]\n",
    "restore_w1": None,
    "placeholder_model": "24.0\n60.0\n120.0\n",
    "julia_variable": "5.0\n",
    "julia_max_to_keep": (
        "['variable_file-96.index', 'variable_file-97.index', 'variable_file-98.index', "
        "'variable_file-99.index', 'variable_file-100.index']\n"
        'model_checkpoint_path: "variable_file-100"\n'
        'all_model_checkpoint_paths: "variable_file-96"\n'
        'all_model_checkpoint_paths: "variable_file-97"\n'
        'all_model_checkpoint_paths: "variable_file-98"\n'
        'all_model_checkpoint_paths: "variable_file-99"\n'
        'all_model_checkpoint_paths: "variable_file-100"\n'
    ),
    "julia_meta_graph": "None\n2\n",
    "sundaynet": "[0.009999999776482582, 0.8999999761581421]\n1\n2\n9.0\n",
}


def steps(name: str, import_line: str = IMPORT) -> list:
    """The program's steps with ``import nanotf as tf`` replaced by ``import_line``."""
    return [textwrap.dedent(s).replace(IMPORT, import_line) for s in PROGRAMS[name]]
