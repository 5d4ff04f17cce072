"""``tf.compat.v1``: the same namespace as ``nanotf`` itself (nanotf is TF1 graph mode)."""

import sys

v1 = sys.modules["nanotf"]
sys.modules[__name__ + ".v1"] = v1
