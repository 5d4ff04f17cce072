"""The op library: one registration per TensorFlow op type, grouped by family.

Importing this package registers every op; the Python API functions live in
the family modules and are re-exported by ``nanotf/__init__.py``.
"""

from nanotf.ops import array_ops  # noqa: F401
from nanotf.ops import control_ops  # noqa: F401
from nanotf.ops import io_ops  # noqa: F401
from nanotf.ops import math_ops  # noqa: F401
from nanotf.ops import random_ops  # noqa: F401
from nanotf.ops import state_ops  # noqa: F401
