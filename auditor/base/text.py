"""Plain-text pieces the report views share: a resource as people write it, a scan time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def resource_text(ref: Mapping[str, Any]) -> str:
    ns = ref.get("namespace")
    return f"{ref['kind']} {ns}/{ref['name']}" if ns else f"{ref['kind']} {ref['name']}"


def display_time(stamp: str | None) -> str:
    if not stamp:
        return "not recorded"
    return stamp.replace("T", " ").replace("Z", " UTC")


# ---- tenant text made inert --------------------------------------------------------------
# Everything a tenant writes (names, hosts, annotation values, protocols) reaches terminals,
# CSV cells, SARIF/JUnit text and file names. A raw ESC starts a terminal control sequence
# (`\x1b]0;title\x07` retitles the window, OSC 8 forges links, CSI rewrites lines); C1 controls
# do the same on some terminals; bidi overrides reorder what a reviewer reads; NUL and other C0
# characters are invalid XML. Each such character is shown as a visible escape (`\x1b`,
# `\u202e`), so the text stays readable and auditable but can no longer act.

_SAFE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))
_NOT_SAFE_ASCII = re.compile("[^\x20-\x7e]")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def inert(text: object, limit: int | None = None, *, keep: str = "") -> str:
    """`text` with every control, format (bidi), separator and surrogate character escaped.

    Printable characters (any script) pass unchanged; `keep` names characters to pass as they
    are (e.g. "\\n" for CSV cells, which quote line breaks). With `limit`, the result is cut to at
    most `limit` characters, ending in "…" when cut. This is the one function every text output
    uses for untrusted strings; HTML and PDF use it through `capped_tree`, alongside autoescape.
    """
    s = text if isinstance(text, str) else str(text)
    if _NOT_SAFE_ASCII.search(s):
        s = "".join(
            ch if ch in _SAFE_ASCII or ch in keep or ch.isprintable() else _escape_char(ch)
            for ch in s
        )
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def inert_tree(value: Any, *, keep: str = "", limit: int | None = None) -> Any:
    """A JSON-like value with `inert` applied to every string in it (keys included)."""
    if isinstance(value, str):
        return inert(value, limit, keep=keep)
    if isinstance(value, dict):
        return {
            inert(k, limit, keep=keep) if isinstance(k, str) else k: inert_tree(
                v, keep=keep, limit=limit
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [inert_tree(v, keep=keep, limit=limit) for v in value]
    return value


_FILE_NAME_UNSAFE = frozenset('/\\:*?"<>|')


def safe_file_name(name: str, limit: int = 100) -> str:
    """A file name component derived from a resource name: inert, no separators, bounded."""
    s = inert(name)
    s = "".join("_" if ch in _FILE_NAME_UNSAFE or ch == "\\" else ch for ch in s)
    s = s.strip(". ") or "_"
    return s[:limit]


def _display_key(key: Any) -> Any:
    return inert(key, keep="\n\t") if isinstance(key, str) and _NOT_SAFE_ASCII.search(key) else key


def capped_tree(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut, saying how much was left out, and
    control, bidi and surrogate characters shown as visible escapes (`inert`).

    Rendered reports (HTML, PDF) show tenant strings capped: a 256 KB annotation value or a
    20,000-character name would otherwise take minutes to lay out in the PDF. report.json keeps
    the full value. Autoescape makes markup inert; the escapes keep a bidi override from reordering
    what a reviewer reads and keep NUL and other C0 characters out of the document. Containers
    with nothing to change are returned as they are (not copied).
    """
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit]
        if _NOT_SAFE_ASCII.search(shown):
            shown = inert(shown, keep="\n\t")
        if len(value) <= limit:
            return value if shown == value else shown
        return f"{shown}… ({len(value) - limit:,} more characters in report.json)"
    if isinstance(value, dict):
        items = {_display_key(k): capped_tree(v, limit) for k, v in value.items()}
        if len(items) == len(value) and all(k in value and items[k] is value[k] for k in items):
            return value
        return items
    if isinstance(value, list):
        out = [capped_tree(v, limit) for v in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    return value
