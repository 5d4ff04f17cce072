"""Nested structures (lists, tuples, namedtuples, dicts) as TF's ``nest``: flatten and rebuild.

Dicts flatten in sorted key order, as TensorFlow does; anything else is a leaf.
"""

from __future__ import annotations

__all__ = ["is_nested", "flatten", "pack_sequence_as", "map_structure"]


def is_nested(x) -> bool:
    return isinstance(x, (list, tuple, dict))


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure, flat):
    """``flat`` (leaves in ``flatten`` order) rebuilt in the shape of ``structure``.

    Raises:
        ValueError: if the number of leaves differs.
    """
    def build(s):
        if isinstance(s, dict):
            values = {k: build(s[k]) for k in sorted(s)}
            return type(s)((k, values[k]) for k in s)
        if isinstance(s, (list, tuple)):
            items = [build(item) for item in s]
            if hasattr(s, "_fields"):
                return type(s)(*items)
            return type(s)(items)
        return next(leaves)

    n_expected, flat = len(flatten(structure)), list(flat)
    if n_expected != len(flat):
        raise ValueError(f"Structure had {n_expected} elements, but flat_sequence had {len(flat)} elements.")
    leaves = iter(flat)
    return build(structure)


def map_structure(fn, structure):
    """``structure`` with ``fn`` applied to every leaf."""
    return pack_sequence_as(structure, [fn(leaf) for leaf in flatten(structure)])
