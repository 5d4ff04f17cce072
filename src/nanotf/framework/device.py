"""Device strings: canonical form and merging of nested ``with tf.device(...)`` scopes.

nanotf runs everything on the CPU; devices are only recorded on NodeDefs, in
TensorFlow's canonical spelling (``/job:ps/task:0/device:CPU:0``).
"""

from __future__ import annotations

_FIELDS = ("job", "replica", "task")


def _parse(spec: str) -> dict:
    parts: dict = {}
    for piece in filter(None, spec.split("/")):
        key, _, value = piece.partition(":")
        low = key.lower()
        if low in _FIELDS:
            parts[low] = value
        elif low == "device":
            dev_type, _, index = value.partition(":")
            parts["type"], parts["index"] = dev_type.upper(), index
        elif low in ("cpu", "gpu", "tpu"):
            parts["type"], parts["index"] = low.upper(), value
        else:
            raise ValueError(f"Unknown attribute: '{piece}' in '{spec}'")
    return parts


def _format(parts: dict) -> str:
    out = "".join(f"/{f}:{parts[f]}" for f in _FIELDS if parts.get(f) not in (None, ""))
    if parts.get("type"):
        out += f"/device:{parts['type']}:{parts.get('index') or '*'}"
    return out


def canonical_name(spec: str | None) -> str:
    """``'/cpu:0'`` -> ``'/device:CPU:0'``; '' and None stay ''."""
    return _format(_parse(spec)) if spec else ""


def merge_stack(specs: list) -> str:
    """The device of an op created under nested device scopes (inner fields win; '' resets).

    An unset field, or the index ``*``, keeps the outer value: ``/cpu:1`` then ``CPU`` is ``/device:CPU:1``.
    """
    merged: dict = {}
    for spec in specs:
        if not spec:
            merged = {}
        else:
            merged.update({k: v for k, v in _parse(spec).items() if v not in (None, "", "*")})
    return _format(merged)
