"""Cut one large YAML file into pieces that worker processes parse separately.

`kubectl get -A -o yaml > all.yaml` writes one `kind: List` document whose `items:` hold every
object; `helm template` and `kustomize build` write one stream of `---` documents. Either is a
single file, which one worker would parse alone (collect/yamlpool.py). This module cuts such a
file where YAML itself guarantees the parts are independent:

- a stream of documents, before a `---` line: a document marker at the start of a line ends
  whatever was open (PyYAML's scanner checks for it at column 0 before anything else, and YAML
  forbids it inside scalars), so each piece parses to exactly its documents;
- a single document whose top-level `items:` key holds a block sequence, before a line that
  starts a new item at the sequence's own indentation: nothing nested in an item can start at
  that column (block content is indented deeper; a plain scalar or block scalar ends at a less
  indented line), so each piece is a root sequence of exactly those items. The rest of the
  document (`apiVersion`, `kind`, `metadata`) is parsed as a skeleton with `items: []`, and the
  items are put back in order.

A cut inside something that continues over lines regardless of indentation (a quoted scalar or
a flow collection spanning lines) leaves a piece with an unterminated scalar or collection,
which the fast path refuses; the caller then reads the whole file as it always did. Only text
the fast path models is cut (plain ASCII, no tabs, no directives or document-end markers), and
every piece still goes through the fast path's own checks. tests/input/test_yaml_pool.py cuts every
fixture into one-document and one-item pieces and holds the result to the whole file's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from auditor.input.lines import is_plain_text

_DOCUMENT_MARKER = re.compile(rb"\n---(?=[ \n]|$)")
_ITEMS_KEY = re.compile(rb"(?:^|\n)items:\n")
# the end of the items: the first line starting at column 0 with anything but a space or `-`
_ITEMS_END = re.compile(rb"\n[^ \n-]")


@dataclass(frozen=True, slots=True)
class Piece:
    text: memoryview  # of the file's bytes: the pieces hold the file once, not twice
    first_line: int  # the line of the file the piece starts on, 1-based


@dataclass(frozen=True, slots=True)
class Split:
    """A file cut into pieces: whole documents, or the items of its one List document (then
    `skeleton` is that document with `items: []` in their place)."""

    kind: Literal["documents", "items"]
    pieces: list[Piece]
    skeleton: bytes | None = None


def split(data: bytes, target: int) -> Split | None:
    """`data` cut into pieces of about `target` bytes, or None when it is not cut (small, not
    plain text, or neither a stream of documents nor one document with an `items:` list)."""
    if len(data) < 2 * target or not is_plain_text(data) or b"\t" in data:
        return None
    if data.startswith((b"%", b"...")) or b"\n%" in data or b"\n..." in data:
        return None
    if data.startswith(b"---") or _DOCUMENT_MARKER.search(data):
        return _split_documents(data, target)
    return _split_items(data, target)


def _cut(data: bytes, starts: list[int], target: int, begin: int, end: int) -> list[Piece]:
    """Pieces of data[begin:end] cut at some of `starts` (offsets of line starts), each at least
    `target` bytes but the last."""
    view = memoryview(data)
    pieces: list[Piece] = []
    line = data.count(b"\n", 0, begin) + 1
    at = begin
    for start in starts:
        if start - at >= target and end - start >= target // 2:
            pieces.append(Piece(view[at:start], line))
            line += data.count(b"\n", at, start)
            at = start
    pieces.append(Piece(view[at:end], line))
    return pieces


def _split_documents(data: bytes, target: int) -> Split | None:
    starts = [m.start() + 1 for m in _DOCUMENT_MARKER.finditer(data)]
    pieces = _cut(data, starts, target, 0, len(data))
    return Split("documents", pieces) if len(pieces) > 1 else None


def _split_items(data: bytes, target: int) -> Split | None:
    keys = list(_ITEMS_KEY.finditer(data))
    if len(keys) != 1:
        return None  # no top-level `items:` holding a block (or two of them)
    body = keys[0].end()
    first = re.compile(rb"( *)- ").match(data, body)
    if first is None:
        return None
    end_match = _ITEMS_END.search(data, body - 1)
    end = len(data) if end_match is None else end_match.start() + 1
    if data.startswith(b"#", end) or b"\n#" in data[end:] or b"\n- " in data[end:]:
        return None  # a comment or an item after the end: the cut would not be certain
    needle = b"\n" + first.group(1) + b"- "
    starts: list[int] = []
    at = data.find(needle, body, end)
    while at != -1:
        starts.append(at + 1)
        at = data.find(needle, at + 1, end)
    pieces = _cut(data, starts, target, body, end)
    if len(pieces) < 2:
        return None
    head = data[: keys[0].start()] + (b"\n" if keys[0].start() else b"")
    return Split("items", pieces, head + b"items: []\n" + data[end:])
