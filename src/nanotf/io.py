"""``tf.io``: the file helpers of TensorFlow's ``tf.compat.v1.io`` that nanotf provides."""

from nanotf.train.meta_graph import write_graph

__all__ = ["write_graph"]
