"""TensorFlow's side of the corruption comparison: runs TF's own readers on the fuzz cases.

Run with TensorFlow's interpreter::

    python tf_corruption_driver.py <cases.json> <first case index>

``cases.json`` is a list of ``{"reader", "path", "pristine"}``: which TF
reader to run on ``path``, and the path of the unmutated copy that says
what an exact answer is. For every case from the given index on, one JSON
line is printed (and flushed) as soon as it is done::

    {"index": i, "outcome": "exact" | "typed" | "changed" | "untyped", "error": "<exception class>"}

``typed`` is a ``tf.errors.OpError``; ``untyped`` any other exception, or
None where the pristine file gave an answer (``error`` says which). If TF
kills the process (a CHECK failure, a segfault, an allocation over
``MEMORY_LIMIT``), the caller sees the line missing, records a crash and
restarts this script after that case.
"""

import json
import resource
import sys
import warnings

warnings.filterwarnings("ignore")
# A hostile size must make TensorFlow fail, not exhaust the machine.
MEMORY_LIMIT = 16 << 30
resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow.python.framework import meta_graph  # noqa: E402

tf.disable_v2_behavior()
tf.logging.set_verbosity(tf.logging.ERROR)


def _value(array):
    array = np.asarray(array)  # a scalar string tensor comes back as bytes
    return [str(array.dtype), list(array.shape), array.tobytes().hex() if array.dtype != object else
            [x.hex() if isinstance(x, bytes) else str(x) for x in array.ravel().tolist()]]  # fmt: skip


def read_checkpoint(path, pristine=None):
    """Every tensor; for a case, the tensors TF could read from the pristine copy (not variants, not sliced V1)."""
    reader = tf.train.load_checkpoint(path)
    if pristine is not None:
        return {name: _value(reader.get_tensor(name)) for name in pristine}
    values = {}
    for name in sorted(reader.get_variable_to_shape_map()):
        try:
            values[name] = _value(reader.get_tensor(name))
        except tf.errors.OpError:
            continue
    return values


def read_meta(path, pristine=None):
    return meta_graph.read_meta_graph_file(path).SerializeToString(deterministic=True).hex()


def import_meta(path, pristine=None):
    with tf.Graph().as_default() as graph:
        tf.train.import_meta_graph(path)
        return graph.as_graph_def().SerializeToString(deterministic=True).hex()


def import_graph(path, pristine=None):
    with open(path, "rb") as f:
        data = f.read()
    graph_def = tf.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception:  # noqa: BLE001 - as TF's tools do: binary first, then text
        graph_def = text_format.Parse(data.decode("utf-8"), tf.GraphDef())
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        return graph.as_graph_def().SerializeToString(deterministic=True).hex()


def read_state(path, pristine=None):
    state = tf.train.get_checkpoint_state(path)
    return None if state is None else state.SerializeToString(deterministic=True).hex()


READERS = {"load_checkpoint": read_checkpoint, "read_meta_graph_file": read_meta, "import_meta_graph": import_meta,
           "import_graph_def": import_graph, "get_checkpoint_state": read_state}  # fmt: skip


def main(cases_file, first):
    with open(cases_file) as f:
        cases = json.load(f)
    pristine = {}
    for index in range(first, len(cases)):
        case = cases[index]
        read = READERS[case["reader"]]
        key = (case["reader"], case["pristine"])
        if key not in pristine:
            pristine[key] = read(case["pristine"])
        try:
            got = read(case["path"], pristine[key])
        except tf.errors.OpError as exc:
            outcome, error = "typed", type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - classifying whatever TF raises is the point
            outcome, error = "untyped", type(exc).__name__
        else:
            if got == pristine[key]:
                outcome, error = "exact", ""
            elif got is None:  # get_checkpoint_state logs a parse error and returns None
                outcome, error = "untyped", "returned None (logged)"
            else:
                outcome, error = "changed", ""
        print(json.dumps({"index": index, "outcome": outcome, "error": error}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
