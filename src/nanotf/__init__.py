"""nanotf: TensorFlow 1 graph mode and model persistence in pure Python.

``import nanotf as tf`` gives the TF1 (``tf.compat.v1``) namespace. This module
only re-exports; the code lives in the layers below.
"""

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.behavior import disable_eager_execution
from nanotf.framework.behavior import disable_resource_variables
from nanotf.framework.behavior import disable_v2_behavior
from nanotf.framework.behavior import enable_eager_execution
from nanotf.framework.behavior import enable_resource_variables
from nanotf.framework.behavior import enable_v2_behavior
from nanotf.framework.behavior import executing_eagerly
from nanotf.framework.behavior import resource_variables_enabled
from nanotf.framework.dtypes import *  # noqa: F403 - float32, int64, ... as in TF
from nanotf.framework.dtypes import DType
from nanotf.framework.dtypes import as_dtype
from nanotf.framework.graph import Graph
from nanotf.framework.graph import GraphKeys
from nanotf.framework.graph import Operation
from nanotf.framework.graph import Tensor
from nanotf.framework.graph import add_to_collection
from nanotf.framework.graph import add_to_collections
from nanotf.framework.graph import colocate_with
from nanotf.framework.graph import control_dependencies
from nanotf.framework.graph import device
from nanotf.framework.graph import get_collection
from nanotf.framework.graph import get_collection_ref
from nanotf.framework.graph import get_default_graph
from nanotf.framework.graph import name_scope
from nanotf.framework.graph import reset_default_graph
from nanotf.framework.importer import import_graph_def
from nanotf.framework.op_support import supported_op_types
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.tensor_shape import Dimension
from nanotf.framework.tensor_shape import TensorShape
from nanotf.framework.tensor_util import make_ndarray
from nanotf.framework.tensor_util import make_tensor_proto
from nanotf.ops.array_ops import *  # noqa: F403
from nanotf.ops.array_ops import slice  # noqa: A004
from nanotf.ops.cond_v1 import cond
from nanotf.ops.control_flow_ops import Assert
from nanotf.ops.control_ops import group
from nanotf.ops.control_ops import no_op
from nanotf.ops.control_ops import tuple  # noqa: A004
from nanotf.ops.control_ops import with_dependencies
from nanotf.ops.clip_ops import clip_by_global_norm
from nanotf.ops.clip_ops import clip_by_norm
from nanotf.ops.clip_ops import clip_by_value
from nanotf.ops.clip_ops import global_norm
from nanotf.ops.math_ops import *  # noqa: F403
from nanotf.ops.math_ops import abs  # noqa: A004
from nanotf.ops.math_ops import pow  # noqa: A004
from nanotf.ops.math_ops import range  # noqa: A004
from nanotf.ops.math_ops import round  # noqa: A004
from nanotf.ops.random_ops import get_seed
from nanotf.ops.random_ops import random_normal
from nanotf.ops.random_ops import random_uniform
from nanotf.ops.random_ops import set_random_seed
from nanotf.ops.random_ops import truncated_normal
from nanotf.ops.scatter_ops import scatter_add
from nanotf.ops.set_ops import setdiff1d
from nanotf.ops.scatter_ops import scatter_sub
from nanotf.ops.scatter_ops import scatter_update
from nanotf.ops.state_ops import assign
from nanotf.ops.state_ops import assign_add
from nanotf.ops.state_ops import assign_sub
from nanotf.ops.tensor_array_ops import TensorArray
from nanotf.ops.while_v1 import while_loop
from nanotf.protos.graph_pb2 import AttrValue
from nanotf.protos.graph_pb2 import GraphDef
from nanotf.protos.graph_pb2 import NodeDef
from nanotf.protos.graph_pb2 import OpDef
from nanotf.protos.meta_graph_pb2 import MetaGraphDef
from nanotf.protos.tensor_pb2 import TensorProto
from nanotf.runtime.session import InteractiveSession
from nanotf.runtime.session import Session
from nanotf.runtime.session import get_default_session
from nanotf.train.gradients import AggregationMethod
from nanotf.train.gradients import gradients
from nanotf.train.initializers import *  # noqa: F403
from nanotf.train.meta_graph import unsupported_ops
from nanotf.train.variable_scope import AUTO_REUSE
from nanotf.train.variable_scope import get_variable
from nanotf.train.variable_scope import get_variable_scope
from nanotf.train.variable_scope import variable_scope
from nanotf.train.variable_scope import fixed_size_partitioner
from nanotf.train.variables import Variable
from nanotf.train.variables import VariableV1
from nanotf.train.variables import all_variables
from nanotf.train.variables import global_variables
from nanotf.train.variables import global_variables_initializer
from nanotf.train.variables import initialize_all_variables
from nanotf.train.variables import is_variable_initialized
from nanotf.train.variables import local_variables
from nanotf.train.variables import local_variables_initializer
from nanotf.train.variables import model_variables
from nanotf.train.variables import moving_average_variables
from nanotf.train.variables import trainable_variables
from nanotf.train.variables import variables_initializer
from nanotf import train  # noqa: E402 - after Variable so train/ can import it
from nanotf import nn  # noqa: E402
from nanotf import layers  # noqa: E402
from nanotf import losses  # noqa: E402
from nanotf import io  # noqa: E402
from nanotf import math  # noqa: E402
from nanotf.train import graph_util  # noqa: E402
from nanotf import compat  # noqa: E402 - tf.compat.v1 is this module

__version__ = "0.1.0"
VERSION = "2.21.0"  # the TensorFlow behaviour nanotf reproduces
GRAPH_DEF_VERSION = 2474
