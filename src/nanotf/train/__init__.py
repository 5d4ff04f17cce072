"""nanotf.train: checkpoints and (later) the Saver, as ``tf.compat.v1.train`` offers them."""

from .checkpoint_management import (
    CheckpointRelocatedWarning,
    CheckpointStateWarning,
    checkpoint_exists,
    generate_checkpoint_state_proto,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)
from .checkpoint_reader import (
    CheckpointReader,
    NewCheckpointReader,
    list_variables,
    load_checkpoint,
    load_variable,
)
from .checkpoint_writer import write_checkpoint

__all__ = [
    "CheckpointReader",
    "CheckpointRelocatedWarning",
    "CheckpointStateWarning",
    "NewCheckpointReader",
    "checkpoint_exists",
    "generate_checkpoint_state_proto",
    "get_checkpoint_state",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "update_checkpoint_state",
    "write_checkpoint",
]
from .meta_graph import write_graph  # noqa: E402
from .saver import Saver, export_meta_graph, import_meta_graph, remove_checkpoint  # noqa: E402
from ..protos.meta_graph_pb2 import SaverDef  # noqa: E402

__all__ += ["Saver", "SaverDef", "export_meta_graph", "import_meta_graph", "remove_checkpoint", "write_graph"]
from .optimizer import Optimizer  # noqa: E402
from .gradient_descent import GradientDescentOptimizer  # noqa: E402
from .momentum import MomentumOptimizer  # noqa: E402
from .adam import AdamOptimizer  # noqa: E402
from .adagrad import AdagradOptimizer  # noqa: E402
from .rmsprop import RMSPropOptimizer  # noqa: E402
from .training_util import (  # noqa: E402
    assert_global_step,
    create_global_step,
    get_global_step,
    get_or_create_global_step,
    global_step,
)

__all__ += ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "AdagradOptimizer",
            "RMSPropOptimizer", "assert_global_step", "create_global_step", "get_global_step",
            "get_or_create_global_step", "global_step"]  # fmt: skip
