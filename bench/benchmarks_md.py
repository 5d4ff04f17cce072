"""Writes one benchmark's table into its own marked section of BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(section: str, heading: str, body: str) -> None:
    """Replace the text between ``<!-- section:begin/end -->``, or append it under ``heading``.

    Args:
        section: the marker name (e.g. ``checkpoint-io``).
        heading: the ``##`` heading to use when the section is new.
        body: the markdown to put between the markers.
    """
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else (
        "# nanotf benchmarks\n\nMeasured on the project's 2-core machine.\n")
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    BENCHMARKS_MD.write_text(text)
