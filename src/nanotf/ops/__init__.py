"""The op library: one registration per TensorFlow op type, grouped by family.

Importing this package registers every op; the Python API functions live in
the family modules and are re-exported by ``nanotf/__init__.py``.
"""

from nanotf.ops import array_ops  # noqa: F401
from nanotf.ops import batch_norm_ops  # noqa: F401
from nanotf.ops import control_flow_ops  # noqa: F401
from nanotf.ops import control_ops  # noqa: F401
from nanotf.ops import conv_ops  # noqa: F401
from nanotf.ops import data_flow_ops  # noqa: F401
from nanotf.ops import io_ops  # noqa: F401
from nanotf.ops import math_ops  # noqa: F401
from nanotf.ops import nn_ops  # noqa: F401
from nanotf.ops import pooling_ops  # noqa: F401
from nanotf.ops import random_ops  # noqa: F401
from nanotf.ops import scatter_ops  # noqa: F401
from nanotf.ops import set_ops  # noqa: F401
from nanotf.ops import state_ops  # noqa: F401
from nanotf.ops import training_ops  # noqa: F401
