"""``tf.layers`` (``tf.compat.v1.layers``): the functional layers, building the graphs legacy Keras builds.

Each call opens the layer's variable scope (``dense``, ``dense_1``, ... or
its ``name``), creates its variables with ``get_variable`` under that scope
(``dense/kernel``, ``dense/bias``) and its ops under the matching name scope,
so variable names, initializer subgraphs and seeded initial values equal
TensorFlow's.
"""

from nanotf.layers.core import average_pooling2d
from nanotf.layers.core import conv2d
from nanotf.layers.core import dense
from nanotf.layers.core import dropout
from nanotf.layers.core import flatten
from nanotf.layers.core import max_pooling2d
from nanotf.layers.normalization import batch_normalization

__all__ = ["average_pooling2d", "batch_normalization", "conv2d", "dense", "dropout", "flatten", "max_pooling2d"]
