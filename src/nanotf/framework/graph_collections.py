"""Named collections of a graph (``tf.add_to_collection``, ``tf.get_collection``, ...).

A collection is a list under a key: TF's ``GraphKeys`` strings for the
variables, train ops, summaries and the like, any string a user picks, and
tuple keys for nanotf's own per-graph stores (hidden from
``get_all_collection_keys``, as TF hides non-string keys). Meta graphs save
and restore the string-keyed ones (``train/meta_graph.py``).
"""

from __future__ import annotations

import re

__all__ = ["Collections"]


class Collections:
    """The collection methods of ``Graph``."""

    def __init__(self):
        self._collections: dict = {}

    def add_to_collection(self, name, value) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        names = (names,) if isinstance(names, str) else set(names)
        for name in names:
            self.add_to_collection(name, value)

    def get_collection_ref(self, name) -> list:
        """The live list for collection ``name`` (created empty if absent)."""
        return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None) -> list:
        """A copy of collection ``name``; with ``scope``, only items whose name matches it."""
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [x for x in items if hasattr(x, "name") and pattern.match(x.name)]

    def get_all_collection_keys(self) -> list:
        """The string collection keys (nanotf's private stores use tuple keys; TF hides non-strings too)."""
        return [k for k in self._collections if isinstance(k, str)]

    def clear_collection(self, name) -> None:
        self._collections.pop(name, None)
