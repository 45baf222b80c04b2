"""Plain-text pieces the report views share: a resource as people write it, a scan time."""

from __future__ import annotations

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
    uses for untrusted strings; HTML and PDF escape through Jinja2 autoescape instead.
    """
    s = text if isinstance(text, str) else str(text)
    if not all(ch in _SAFE_ASCII for ch in s):
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


def capped_tree(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut, saying how much was left out.

    Rendered reports (HTML, PDF) show tenant strings capped: a 256 KB annotation value or a
    20,000-character name would otherwise take minutes to lay out in the PDF. report.json keeps
    the full value. Containers without a long string are returned as they are (not copied).
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}… ({len(value) - limit:,} more characters in report.json)"
    if isinstance(value, dict):
        items = {k: capped_tree(v, limit) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, list):
        out = [capped_tree(v, limit) for v in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    return value
