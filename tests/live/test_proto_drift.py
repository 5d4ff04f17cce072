"""nanotf's .proto schemas agree with TensorFlow's descriptors, field for field.

For every message nanotf declares, each field must exist in TensorFlow's
message of the same name with the same number, label and wire type. A few
fields nanotf carries through as opaque bytes (a whole submessage it never
reads) are allowed to be ``bytes`` where TF has a message: the wire format of
the two is identical.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from nanotf.protos import checkpoint_pb2, control_flow_pb2, graph_pb2, meta_graph_pb2, tensor_pb2

_MODULES = (tensor_pb2, graph_pb2, meta_graph_pb2, checkpoint_pb2, control_flow_pb2)
_TF_FILES = [
    "tensorflow.core.framework.tensor_pb2",
    "tensorflow.core.framework.tensor_shape_pb2",
    "tensorflow.core.framework.resource_handle_pb2",
    "tensorflow.core.framework.full_type_pb2",
    "tensorflow.core.framework.attr_value_pb2",
    "tensorflow.core.framework.node_def_pb2",
    "tensorflow.core.framework.versions_pb2",
    "tensorflow.core.framework.tensor_slice_pb2",
    "tensorflow.core.framework.graph_pb2",
    "tensorflow.core.framework.function_pb2",
    "tensorflow.core.framework.op_def_pb2",
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow.core.protobuf.saver_pb2",
    "tensorflow.core.framework.variable_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.core.util.saved_tensor_slice_pb2",
    "tensorflow.python.training.checkpoint_state_pb2",
    "tensorflow.core.protobuf.control_flow_pb2",
]
# Fields nanotf declares as opaque bytes although TF declares a message.
_OPAQUE = {"GraphDef.debug_info", "MetaGraphDef.object_graph_def", "TensorInfo.composite_tensor"}

_TF_DUMP = """
import importlib, json
from google.protobuf.descriptor import FieldDescriptor as F
out = {}
def walk(d):
    fields = {}
    for f in d.fields:
        repeated = f.is_repeated if hasattr(f, "is_repeated") else f.label == F.LABEL_REPEATED
        fields[f.name] = [f.number, f.type, repeated,
                          f.message_type.full_name if f.message_type else None,
                          f.enum_type.full_name if f.enum_type else None]
    out[d.full_name] = fields
    for n in d.nested_types:
        walk(n)
for name in %r:
    mod = importlib.import_module(name)
    for d in mod.DESCRIPTOR.message_types_by_name.values():
        walk(d)
print(json.dumps(out))
"""


def _is_repeated(field) -> bool:
    # protobuf 7 replaced FieldDescriptor.label with is_repeated.
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == FieldDescriptor.LABEL_REPEATED


def _ours():
    found = {}

    def walk(d):
        found[d.full_name] = d
        for n in d.nested_types:
            walk(n)

    for mod in _MODULES:
        for d in mod.DESCRIPTOR.message_types_by_name.values():
            walk(d)
    return found


def _tf_name(full_name: str) -> str:
    return "tensorflow." + full_name.removeprefix("nanotf.")


def test_field_numbers_match_tensorflow(tf_runner):
    theirs = tf_runner.run_json("# keep-v2\n" + _TF_DUMP % (_TF_FILES,))
    ours = _ours()
    problems = []
    for name, desc in ours.items():
        if desc.GetOptions().map_entry:
            continue
        tf_name = _tf_name(name)
        if tf_name not in theirs:
            problems.append(f"{name}: TensorFlow has no message {tf_name}")
            continue
        for f in desc.fields:
            short = f"{desc.name}.{f.name}"
            if f.name not in theirs[tf_name]:
                problems.append(f"{short}: not in TensorFlow")
                continue
            number, ftype, repeated, message, enum = theirs[tf_name][f.name]
            if f.number != number:
                problems.append(f"{short}: number {f.number}, TensorFlow {number}")
            if _is_repeated(f) != repeated:
                problems.append(f"{short}: repeated differs")
            if short in _OPAQUE:
                continue
            if f.type != ftype:
                problems.append(f"{short}: type {f.type}, TensorFlow {ftype}")
            if message and f.message_type and _tf_name(f.message_type.full_name) != message:
                if not message.startswith("google.protobuf"):
                    problems.append(f"{short}: message {f.message_type.full_name}, TensorFlow {message}")
            if enum and f.enum_type and _tf_name(f.enum_type.full_name) != enum:
                problems.append(f"{short}: enum {f.enum_type.full_name}, TensorFlow {enum}")
    assert not problems, "\n".join(problems)
    # Every message checked: the comparison above must have covered the core ones.
    assert {"nanotf.MetaGraphDef", "nanotf.BundleEntryProto", "nanotf.NodeDef", "nanotf.WhileContextDef",
            "nanotf.CondContextDef", "nanotf.ValuesDef", "nanotf.ControlFlowContextDef"} <= set(ours)


def test_every_tensorflow_field_is_declared(tf_runner):
    """Fields TF has that nanotf lacks would survive only as unknown fields; list them."""
    theirs = tf_runner.run_json("# keep-v2\n" + _TF_DUMP % (_TF_FILES,))
    ours = _ours()
    missing = []
    for name, desc in ours.items():
        if desc.GetOptions().map_entry:
            continue
        tf_fields = theirs[_tf_name(name)]
        missing += [f"{desc.name}.{f}" for f in tf_fields if f not in desc.fields_by_name]
    assert not missing, "nanotf lacks TensorFlow fields: " + ", ".join(missing)


_TF_ENUMS = """
import importlib, json
out = {}
for name in %r:
    mod = importlib.import_module(name)
    enums = list(mod.DESCRIPTOR.enum_types_by_name.values())
    for d in mod.DESCRIPTOR.message_types_by_name.values():
        enums += list(d.enum_types)
    for e in enums:
        out[e.full_name] = {v.name: v.number for v in e.values}
print(json.dumps(out))
"""


def test_enums_match_tensorflow(tf_runner):
    from nanotf.protos import types_pb2

    files = _TF_FILES + ["tensorflow.core.framework.types_pb2"]
    theirs = tf_runner.run_json("# keep-v2\n" + _TF_ENUMS % (files,))
    ours = []
    for mod in (types_pb2, *_MODULES):
        ours += list(mod.DESCRIPTOR.enum_types_by_name.values())
        for d in mod.DESCRIPTOR.message_types_by_name.values():
            ours += list(d.enum_types)
    assert len(ours) >= 6
    for enum in ours:
        expected = theirs[_tf_name(enum.full_name)]
        assert {v.name: v.number for v in enum.values} == expected, enum.full_name
