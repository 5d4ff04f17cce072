"""``Variable``: ref variables (``VariableV2``) and resource variables (``VarHandleOp``).

The ops each kind creates, their names and attrs are TensorFlow's (FORMATS.md
§6-7), so graphs and meta graphs match TF's node for node:

ref ``tf.Variable(2.0, name="bias")``::

    bias/initial_value (Const) -> bias (VariableV2) -> bias/Assign (Assign) ; bias/read (Identity)

resource (``use_resource=True`` or after ``disable_eager_execution()``)::

    bias/Initializer/initial_value, bias (VarHandleOp), bias/IsInitialized/VarIsInitializedOp,
    bias/Assign (AssignVariableOp), bias/Read/ReadVariableOp

A variable is (de)serialized as a ``VariableDef`` with ``to_proto``/``from_proto``;
``from_proto`` rebuilds the Python object over ops that already exist (after a
meta graph import).
"""

from __future__ import annotations

from nanotf import errors
from nanotf.framework import behavior
from nanotf.framework import graph as graph_lib
from nanotf.framework import tensor_shape
from nanotf.framework.graph import GraphKeys
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import control_ops
from nanotf.protos import meta_graph_pb2

__all__ = [
    "Variable",
    "VariableV1",
    "RefVariable",
    "ResourceVariable",
    "SaveSliceInfo",
    "global_variables",
    "local_variables",
    "trainable_variables",
    "model_variables",
    "moving_average_variables",
    "variables_initializer",
    "global_variables_initializer",
    "local_variables_initializer",
    "initialize_all_variables",
    "is_variable_initialized",
]


def _prepend_scope(name: str, scope: str | None) -> str:
    return f"{scope}/{name}" if scope else name


def _strip_scope(name: str, scope: str | None) -> str:
    if scope and name.startswith(scope + "/"):
        return name[len(scope) + 1 :]
    return name


class SaveSliceInfo:
    """Where a partition sits in its full variable (``SaveSliceInfoDef``)."""

    def __init__(self, full_name=None, full_shape=None, var_offset=None, var_shape=None,
                 save_slice_info_def=None, import_scope=None):  # fmt: skip
        if save_slice_info_def is not None:
            full_name = _prepend_scope(save_slice_info_def.full_name, import_scope)
            full_shape = list(save_slice_info_def.full_shape)
            var_offset = list(save_slice_info_def.var_offset)
            var_shape = list(save_slice_info_def.var_shape)
        self.full_name = full_name
        self.full_shape = list(full_shape)
        self.var_offset = list(var_offset)
        self.var_shape = list(var_shape)

    @property
    def spec(self) -> str:
        """The SaveV2 ``shape_and_slices`` string, e.g. ``"10 4 4,3:0,4"``."""
        full = " ".join(str(d) for d in self.full_shape)
        ext = ":".join(f"{o},{s}" for o, s in zip(self.var_offset, self.var_shape))
        return f"{full} {ext}"

    def to_proto(self, export_scope=None):
        if export_scope is not None and not self.full_name.startswith(export_scope):
            return None
        proto = meta_graph_pb2.SaveSliceInfoDef(full_name=_strip_scope(self.full_name, export_scope))
        proto.full_shape.extend(self.full_shape)
        proto.var_offset.extend(self.var_offset)
        proto.var_shape.extend(self.var_shape)
        return proto


class Variable:
    """A TF1 variable; ``Variable(...)`` builds a ref or resource variable per ``use_resource``.

    Args:
        initial_value: a Tensor, constant-like value, or a callable returning one.
        trainable: add to TRAINABLE_VARIABLES (default True).
        collections: collection names (default [GLOBAL_VARIABLES]).
        validate_shape: the ``Assign``'s validate_shape (ref variables).
        name: the op name (default "Variable").
        variable_def: rebuild from a ``VariableDef`` instead (see ``from_proto``).
        dtype: convert the initial value to this type.
        import_scope: scope prepended to names in ``variable_def``.
        use_resource: True for a resource variable; default per
            ``nanotf.framework.behavior``.
        shape: the variable's static shape (default the initial value's).
    """

    def __new__(cls, *args, **kwargs):
        if cls is Variable or cls is VariableV1:
            use_resource = kwargs.get("use_resource")
            variable_def = kwargs.get("variable_def")
            if variable_def is not None:
                use_resource = variable_def.is_resource
            elif use_resource is None:
                use_resource = behavior.resource_variables_enabled()
            cls = ResourceVariable if use_resource else RefVariable
        return super().__new__(cls)

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None, shape=None):  # fmt: skip
        del caching_device, expected_shape, use_resource, synchronization, aggregation
        self._save_slice_info = None
        self._constraint = constraint
        if variable_def is not None:
            self._init_from_proto(variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        self._trainable = True if trainable is None else bool(trainable)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if self._trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph = graph_lib.get_default_graph()
        # Variables are created outside any control-dependency block (TF's init_scope).
        with graph.control_dependencies(None):
            self._build(initial_value, validate_shape, name, dtype, shape, graph)
        graph.add_to_collections(collections, self)

    # -- common API -------------------------------------------------------
    name = property(lambda self: self._handle_tensor.name)
    op = property(lambda self: self._handle_tensor.op)
    graph = property(lambda self: self._handle_tensor.graph)
    device = property(lambda self: self._handle_tensor.device)
    dtype = property(lambda self: self._dtype)
    shape = property(lambda self: self._shape)
    trainable = property(lambda self: self._trainable)
    initializer = property(lambda self: self._initializer_op)
    initial_value = property(lambda self: self._initial_value)
    constraint = property(lambda self: self._constraint)

    def get_shape(self) -> tensor_shape.TensorShape:
        return self._shape

    def _as_graph_element(self):
        return self._graph_element

    def eval(self, session=None):
        return self._graph_element.eval(session=session)

    def initialized_value(self):
        """The initial value tensor (TF wraps it in a cond on ``is_initialized``; nanotf has no cond yet)."""
        return self._initial_value

    def load(self, value, session=None):
        """Assigns ``value`` in ``session`` (default session) by running the initializer with a feed."""
        from nanotf.framework import session_hook

        session = session or session_hook.get_default_session()
        if session is None:
            raise ValueError("Either session argument should be provided or default session should be established")
        session.run(self._initializer_op, {self._initializer_op.inputs[1]: value})

    def set_shape(self, shape) -> None:
        self._shape = self._shape.merge_with(shape)

    def _get_save_slice_info(self):
        return self._save_slice_info

    def _set_save_slice_info(self, save_slice_info) -> None:
        self._save_slice_info = save_slice_info

    def to_proto(self, export_scope=None):
        """This variable as a ``VariableDef`` (names relative to ``export_scope``), or None if outside it."""
        if export_scope is not None and not self._handle_tensor.name.startswith(export_scope):
            return None
        proto = meta_graph_pb2.VariableDef()
        proto.variable_name = _strip_scope(self._handle_tensor.name, export_scope)
        if self._initial_value is not None:
            proto.initial_value_name = _strip_scope(self._initial_value.name, export_scope)
        proto.initializer_name = _strip_scope(self._initializer_op.name, export_scope)
        proto.snapshot_name = _strip_scope(self._graph_element.name, export_scope)
        proto.is_resource = self._is_resource
        proto.trainable = self._trainable
        if self._save_slice_info is not None:
            proto.save_slice_info_def.CopyFrom(self._save_slice_info.to_proto(export_scope))
        return proto

    @staticmethod
    def from_proto(variable_def, import_scope=None):
        """The variable described by ``variable_def`` over ops already in the default graph."""
        cls = ResourceVariable if variable_def.is_resource else RefVariable
        return cls(variable_def=variable_def, import_scope=import_scope)

    def _init_from_proto(self, variable_def, import_scope) -> None:
        graph = graph_lib.get_default_graph()

        def tensor(name):
            return graph.get_tensor_by_name(_prepend_scope(name, import_scope))

        self._handle_tensor = tensor(variable_def.variable_name)
        self._initializer_op = graph.get_operation_by_name(_prepend_scope(variable_def.initializer_name, import_scope))
        self._initial_value = tensor(variable_def.initial_value_name) if variable_def.initial_value_name else None
        self._graph_element = tensor(variable_def.snapshot_name)
        self._trainable = variable_def.trainable
        if variable_def.HasField("save_slice_info_def"):
            self._save_slice_info = SaveSliceInfo(save_slice_info_def=variable_def.save_slice_info_def,
                                                  import_scope=import_scope)  # fmt: skip
        op = self._handle_tensor.op
        self._dtype = op.get_attr("dtype")
        self._shape = tensor_shape.TensorShape(op.get_attr("shape"))

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self._shape} dtype={self._handle_tensor.dtype.name}>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    # Arithmetic reads the variable, as TF's operator overloads on variables.
    def _binary(self, method, other):
        return getattr(self.value(), method)(other)

    def __add__(self, other):
        return self._binary("__add__", other)

    def __radd__(self, other):
        return self._binary("__radd__", other)

    def __sub__(self, other):
        return self._binary("__sub__", other)

    def __rsub__(self, other):
        return self._binary("__rsub__", other)

    def __mul__(self, other):
        return self._binary("__mul__", other)

    def __rmul__(self, other):
        return self._binary("__rmul__", other)

    def __truediv__(self, other):
        return self._binary("__truediv__", other)

    def __rtruediv__(self, other):
        return self._binary("__rtruediv__", other)

    def __matmul__(self, other):
        return self._binary("__matmul__", other)

    def __rmatmul__(self, other):
        return self._binary("__rmatmul__", other)

    def __pow__(self, other):
        return self._binary("__pow__", other)

    def __neg__(self):
        return -self.value()

    def __getitem__(self, key):
        return self.value()[key]

    def __lt__(self, other):
        return self.value() < other

    def __gt__(self, other):
        return self.value() > other

    def __le__(self, other):
        return self.value() <= other

    def __ge__(self, other):
        return self.value() >= other


def _initial_value_tensor(initial_value, dtype, name="initial_value"):
    if callable(initial_value):
        initial_value = initial_value()
    return convert_to_tensor(initial_value, dtype=dtype, name=name)


class RefVariable(Variable):
    """A ``VariableV2`` variable (TF1 / ``disable_v2_behavior()``)."""

    _is_resource = False

    def _build(self, initial_value, validate_shape, name, dtype, shape, graph):
        init_from_fn = callable(initial_value)
        with graph_lib.name_scope(name, "Variable", [] if init_from_fn else [initial_value]) as scope:
            true_name = scope[:-1]
            if init_from_fn:
                attr = {"_class": _class_attr(true_name)}
                with graph._attr_scope_ctx(attr), graph.name_scope("Initializer"):
                    self._initial_value = _initial_value_tensor(initial_value, dtype)
            else:
                self._initial_value = _initial_value_tensor(initial_value, dtype)
            self._dtype = self._initial_value.dtype.base_dtype
            self._shape = tensor_shape.as_shape(shape) if shape is not None else self._initial_value.shape
            if init_from_fn:
                with graph._attr_scope_ctx({"_class": _class_attr(true_name)}):
                    var = apply_op("VariableV2", shape=self._shape, dtype=self._dtype, name=scope)
            else:
                var = apply_op("VariableV2", shape=self._shape, dtype=self._dtype, name=scope)
            self._handle_tensor = var
            self._initializer_op = apply_op("Assign", ref=var, value=self._initial_value, validate_shape=validate_shape,
                                            use_locking=True, name="Assign").op  # fmt: skip
            with graph.colocate_with(var.op):
                self._graph_element = apply_op("Identity", input=var, name="read")

    @property
    def _variable(self):
        return self._handle_tensor

    def value(self):
        """The snapshot tensor ``<name>/read``."""
        return self._graph_element

    def read_value(self):
        return apply_op("Identity", input=self._handle_tensor, name="read")

    def _ref(self):
        return self._handle_tensor

    def _as_tensor(self, dtype=None, name=None, as_ref=False):
        return self._handle_tensor if as_ref else self._graph_element

    def is_initialized(self):
        return apply_op("IsVariableInitialized", ref=self._handle_tensor, name="IsVariableInitialized")

    def assign(self, value, use_locking=False, name=None, read_value=True):
        return apply_op("Assign", ref=self._handle_tensor, value=value, validate_shape=True,
                        use_locking=bool(use_locking) if use_locking is not None else True, name=name or "Assign")  # fmt: skip

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        return apply_op("AssignAdd", ref=self._handle_tensor, value=delta, use_locking=bool(use_locking),
                        name=name or "AssignAdd")  # fmt: skip

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        return apply_op("AssignSub", ref=self._handle_tensor, value=delta, use_locking=bool(use_locking),
                        name=name or "AssignSub")  # fmt: skip

    def count_up_to(self, limit):
        raise errors.UnimplementedError("count_up_to is not supported")


def _class_attr(name: str):
    from nanotf.framework.attr_value import to_attr_value

    return to_attr_value([f"loc:@{name}"], "list(string)")


class ResourceVariable(Variable):
    """A resource variable (``VarHandleOp`` + ``ReadVariableOp``/``AssignVariableOp``)."""

    _is_resource = True

    def _build(self, initial_value, validate_shape, name, dtype, shape, graph):
        init_from_fn = callable(initial_value)
        with graph_lib.name_scope(name, "Variable", [] if init_from_fn else [initial_value]) as scope:
            handle_name = scope[:-1]
            with graph._attr_scope_ctx({"_class": _class_attr(handle_name)}):
                with graph.name_scope("Initializer"), graph.device(""):
                    self._initial_value = _initial_value_tensor(initial_value, dtype)
                self._dtype = self._initial_value.dtype.base_dtype
                self._shape = tensor_shape.as_shape(shape) if shape is not None else self._initial_value.shape
                handle = apply_op("VarHandleOp", dtype=self._dtype, shape=self._shape, shared_name=handle_name,
                                  debug_name=scope, container="", allowed_devices=[], name=scope)  # fmt: skip
            self._handle_tensor = handle
            with graph.name_scope("IsInitialized"):
                self._is_initialized_op = apply_op("VarIsInitializedOp", resource=handle)
            with graph.name_scope("Assign") as assign_scope, graph.colocate_with(None):
                self._initializer_op = apply_op("AssignVariableOp", resource=handle, value=self._initial_value,
                                                dtype=self._dtype, name=assign_scope)  # fmt: skip
            with graph.name_scope("Read"):
                self._graph_element = apply_op("ReadVariableOp", resource=handle, dtype=self._dtype)

    @property
    def handle(self):
        return self._handle_tensor

    def value(self):
        """A fresh read (``ReadVariableOp``) in the current scope, outside any colocation scope (as TF)."""
        with self._handle_tensor.graph.colocate_with(None, ignore_existing=True):
            return self._read()

    def _read(self, name="ReadVariableOp"):
        return apply_op("ReadVariableOp", resource=self._handle_tensor, dtype=self._dtype, name=name)

    def read_value(self):
        with graph_lib.name_scope("Read"):
            value = self._read()
        return apply_op("Identity", input=value, name="Identity")

    def _as_tensor(self, dtype=None, name=None, as_ref=False):
        if as_ref:
            return self._handle_tensor
        return self.value()

    def is_initialized(self, name=None):
        return apply_op("VarIsInitializedOp", resource=self._handle_tensor, name=name or "VarIsInitializedOp")

    def _update(self, op_type, value, name, read_value, **attrs):
        value = convert_to_tensor(value, dtype=self._dtype)
        op = apply_op(op_type, resource=self._handle_tensor, value=value, dtype=self._dtype, name=name or op_type, **attrs)
        if not read_value:
            return op
        with self.graph.control_dependencies([op]):
            return self._read()

    def assign(self, value, use_locking=None, name=None, read_value=True):
        return self._update("AssignVariableOp", value, name, read_value, validate_shape=True)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignAddVariableOp", delta, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignSubVariableOp", delta, name, read_value)


VariableV1 = Variable


# -- collections and initializers ------------------------------------------------
def global_variables(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def local_variables(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def trainable_variables(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.MODEL_VARIABLES, scope)


def moving_average_variables(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """A ``NoOp`` named ``init`` that runs every variable's initializer (a plain NoOp if the list is empty)."""
    if var_list:
        return control_ops.group(*[v.initializer for v in var_list], name=name)
    return control_ops.no_op(name=name)


def global_variables_initializer():
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer():
    return variables_initializer(local_variables())


def is_variable_initialized(variable):
    return variable.is_initialized()


__all__ += ["all_variables"]
