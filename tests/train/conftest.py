"""Fixtures shared by the Saver and meta-graph tests."""

import pytest

import nanotf as tf
from nanotf.framework import behavior


@pytest.fixture(autouse=True)
def fresh_graph(tmp_path, monkeypatch):
    """Each test: its own default graph, ref variables (TF1), cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    resource = behavior.resource_variables_enabled()
    behavior.disable_resource_variables()
    with tf.Graph().as_default() as graph:
        yield graph
    (behavior.enable_resource_variables if resource else behavior.disable_resource_variables)()
