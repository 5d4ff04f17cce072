"""The graph core: dtypes, shapes, the op registry, Graph/Operation/Tensor, GraphDef import.

This layer never imports ``nanotf.ops``; ops are created by type name through
the registry.
"""
