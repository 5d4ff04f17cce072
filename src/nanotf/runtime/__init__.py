"""Running graphs: the executor (prune, order, dataflow), Session, per-session variable store."""

import nanotf.ops  # noqa: F401 - the kernels must be registered before anything runs
