"""The global step: ``tf.train.get_or_create_global_step`` and friends.

The global step is an int64 scalar variable named ``global_step``, created at
the root name scope with a zeros initializer, not trainable, in the
GLOBAL_VARIABLES and GLOBAL_STEP collections, as TensorFlow makes it.
"""

from __future__ import annotations

import logging

from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework.graph import GraphKeys
from nanotf.framework.tensor import Tensor
from nanotf.train import initializers
from nanotf.train import variable_scope
from nanotf.train import variables

__all__ = ["global_step", "get_global_step", "create_global_step", "get_or_create_global_step",
           "assert_global_step"]  # fmt: skip


def global_step(sess, global_step_tensor) -> int:
    """The global step's current value in ``sess``, as a Python int."""
    return int(sess.run(global_step_tensor))


def assert_global_step(global_step_tensor) -> None:
    """Checks that ``global_step_tensor`` can be a global step.

    Raises:
        TypeError: it is not a variable or tensor, not an integer, or not a scalar.
    """
    if not isinstance(global_step_tensor, (variables.Variable, Tensor)):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not dtypes.as_dtype(global_step_tensor.dtype).base_dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype}')
    shape = global_step_tensor.get_shape()
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def get_global_step(graph=None):
    """The global step of ``graph`` (default graph): the GLOBAL_STEP collection's entry or ``global_step:0``.

    Returns:
        The variable or tensor, or None if there is none (or several).
    """
    graph = graph or graph_lib.get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        logging.getLogger("nanotf").error("Multiple tensors in global_step collection.")
        return None
    if found:
        step = found[0]
    else:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
    assert_global_step(step)
    return step


def create_global_step(graph=None):
    """Creates the global step variable in ``graph`` (default graph).

    Raises:
        ValueError: the graph already has one.
    """
    graph = graph or graph_lib.get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        return variable_scope.get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64,
                                           initializer=initializers.zeros_initializer(), trainable=False,
                                           collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])  # fmt: skip


def get_or_create_global_step(graph=None):
    """The global step of ``graph`` (default graph), created if missing."""
    graph = graph or graph_lib.get_default_graph()
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step
