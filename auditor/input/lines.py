"""Where each YAML document (and each item of a `kind: List`) starts in its file: 1-based lines.

SARIF consumers such as GitHub code scanning place an alert on a line (`region.startLine`), so
the file loader records, per origin (`file#document`, `file#document.items[i]`), the line of the
object's first key. Found by one pass over the text, the way PyYAML splits documents (`---`
starts one, `...` ends one, comments and blank lines belong to none); the caller uses the lines
only when their count agrees with the documents the parser yielded.

Text that is plain ASCII with only spaces, tabs and newlines as control characters (what
`kubectl get -o yaml` prints) is answered by searching the text instead of walking its lines
(a large mesh has millions); anything else takes the line walk. tests/input/test_lines_fast_path.py
holds both to the same answers.
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"^(\s*)- ")


def _is_marker(line: str) -> bool:
    return line.startswith("---") and (len(line) == 3 or line[3] in " \t\r")


_PLAIN_TEXT_BYTES = bytes([9, 10, *range(0x20, 0x7F)])


def is_plain_text(data: bytes) -> bool:
    """ASCII whose only control characters are tab and newline: its lines are its `\n`s."""
    return data.isascii() and not data.translate(None, _PLAIN_TEXT_BYTES)


def document_starts(text: str, *, plain: bool = False) -> list[int]:
    """The first content line of each document (an empty document: its `---` line).

    `plain`: the caller checked `is_plain_text` on the bytes of `text`.
    """
    markers = text.startswith(("---", "...")) or "\n---" in text or "\n..." in text
    if plain and not markers:
        return _single_document_start(text)
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


def _single_document_start(text: str) -> list[int]:
    """document_starts of text without `---` or `...` lines: its first content line, if any."""
    number, pos = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        if end == -1:
            end = len(text)
        number += 1
        line = text[pos:end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not line.startswith("%"):
            return [number]
        pos = end + 1
    return []


# Searched from a line start; a pattern with a literal start ("\n...") is many times faster in
# `re` than one anchored with `^` and MULTILINE.
_ITEMS_KEY = re.compile(r"\nitems:")
_TOP_LEVEL = re.compile(r"\n[^ \t\n-]")
_FIRST_ITEM = re.compile(r"([ \t]*)- ")


def _line_offset(text: str, number: int) -> int:
    pos = 0
    for _ in range(number - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def item_starts(text: str, first: int, last: int | None, *, plain: bool = False) -> list[int]:
    """Lines of the items of a top-level `items:` list between lines first..last (inclusive).

    `plain`: the caller checked `is_plain_text` on the bytes of `text`.
    """
    if plain:
        found = _plain_item_starts(text, first, last)
        if found is not None:
            return found
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


def _plain_item_starts(text: str, first: int, last: int | None) -> list[int] | None:
    """item_starts by searching plain text; None where the line walk must decide."""
    start = _line_offset(text, first)
    end = len(text) if last is None else _line_offset(text, last + 1)
    # the patterns match a "\n" and the line it starts, so a search starts at the "\n" before
    if text.startswith("items:", start):
        body = text.find("\n", start, end)
    else:
        key = _ITEMS_KEY.search(text, max(start - 1, 0), end)
        if key is None:
            return []
        body = text.find("\n", key.end(), end)
    if body == -1:
        return []
    stop_match = _TOP_LEVEL.search(text, body, end)
    stop = end if stop_match is None else stop_match.start() + 1
    if stop_match is not None and text.startswith("items:", stop):
        return None  # a second `items:` key: the walk's rules decide
    # the first item's indentation is the list's; only items at exactly that indentation count
    line = first + text.count("\n", start, body + 1)
    pos = body + 1
    while pos < stop:
        match = _FIRST_ITEM.match(text, pos)
        if match is not None:
            break
        line += 1
        pos = text.find("\n", pos, stop) + 1
        if pos == 0:
            return []
    else:
        return []
    needle = "\n" + match.group(1) + "- "
    out = [line]
    at = text.find(needle, pos, stop)
    while at != -1:
        line += text.count("\n", pos, at + 1)
        pos = at + 1
        out.append(line)
        at = text.find(needle, pos, stop)
    return out


# The lines of one file: each document's start, and for each document asked about, the start of
# each item of its top-level `items:` list (None for a document not asked about).
FileLines = tuple[list[int], list[list[int] | None]]


def file_lines(data: bytes, item_lists: list[bool]) -> FileLines | None:
    """Where each of the file's documents starts and, where `item_lists[i]`, each item of
    document i's `items:` list; None when the text shows a different number of documents than
    the parser read (`len(item_lists)`)."""
    text = data.decode("utf-8-sig", errors="replace")
    plain = is_plain_text(data)
    starts = document_starts(text, plain=plain)
    if len(starts) != len(item_lists):
        return None
    items: list[list[int] | None] = []
    for index, (wanted, line) in enumerate(zip(item_lists, starts, strict=True), start=1):
        if not wanted:
            items.append(None)
            continue
        last = starts[index] - 1 if index < len(starts) else None
        items.append(item_starts(text, line, last, plain=plain))
    return starts, items
