"""Where each YAML document (and each item of a `kind: List`) starts in its file: 1-based lines.

SARIF consumers such as GitHub code scanning place an alert on a line (`region.startLine`), so
the file loader records, per origin (`file#document`, `file#document.items[i]`), the line of the
object's first key. Found by one pass over the text, the way PyYAML splits documents (`---`
starts one, `...` ends one, comments and blank lines belong to none); the caller uses the lines
only when their count agrees with the documents the parser yielded.
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"^(\s*)- ")


def _is_marker(line: str) -> bool:
    return line.startswith("---") and (len(line) == 3 or line[3] in " \t\r")


def document_starts(text: str) -> list[int]:
    """The first content line of each document (an empty document: its `---` line)."""
    starts: list[int] = []
    pending: int | None = None
    in_doc = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _is_marker(line):
            if pending is not None and not in_doc:
                starts.append(pending)
            pending, in_doc = number, False
            if line[3:].strip() and not line[3:].strip().startswith("#"):
                starts.append(number)  # `--- {inline: doc}`
                pending, in_doc = None, True
        elif line.startswith("..."):
            in_doc, pending = False, None
        else:
            stripped = line.strip()
            if (
                stripped
                and not stripped.startswith("#")
                and not in_doc
                and not line.startswith("%")
            ):
                starts.append(number)
                in_doc, pending = True, None
    if pending is not None and not in_doc:
        starts.append(pending)
    return starts


def item_starts(text: str, first: int, last: int | None) -> list[int]:
    """Lines of the items of a top-level `items:` list between lines first..last (inclusive)."""
    lines = text.splitlines()[first - 1 : last]
    out: list[int] = []
    indent: str | None = None
    in_items = False
    for offset, line in enumerate(lines):
        if line.startswith("items:"):
            in_items = True
            continue
        if not in_items:
            continue
        if line and not line[0].isspace() and not line.startswith("-"):
            break  # the next top-level key
        m = _ITEM.match(line)
        if m is None:
            continue
        if indent is None:
            indent = m.group(1)
        if m.group(1) == indent:
            out.append(first + offset)
    return out
