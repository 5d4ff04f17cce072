"""nanotf.train: checkpoints and (later) the Saver, as ``tf.compat.v1.train`` offers them."""

from .checkpoint_management import (
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
from .saver import Saver, export_meta_graph, import_meta_graph  # noqa: E402
from ..protos.meta_graph_pb2 import SaverDef  # noqa: E402

__all__ += ["Saver", "SaverDef", "export_meta_graph", "import_meta_graph", "write_graph"]
