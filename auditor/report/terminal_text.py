"""Text pieces of the terminal summary: untrusted text made inert, and lines wrapped, never cut.

A finding's message is printed whole at any width: a line longer than the terminal is wrapped
at spaces onto indented continuation lines (a word longer than the width, such as a long host
name, stays whole on a line of its own). Nothing is shortened with an ellipsis; only a tenant
string beyond the rendered-text cap (docs/limits.md) is shortened, and says how much is left
out, so a 50 MB host never becomes a 50 MB log line.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from auditor.base.limits import LIMITS
from auditor.base.text import inert

# a whole finding message holds several tenant strings: room for a few of them at the cap
MESSAGE_CAP_FACTOR = 4


def printable(text: object, cap: int | None = None) -> str:
    """Untrusted text for the terminal: control characters escaped (auditor/base/text.py),
    and beyond `cap` characters (default: the rendered-text cap) shortened with a note of how
    many characters report.json holds beyond it."""
    limit = LIMITS.max_rendered_chars if cap is None else cap
    s = inert(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]} [{len(s) - limit:,} more characters in report.json]"


def message(text: object) -> str:
    """A finding's message: whole, up to a cap that only a pathological tenant string reaches."""
    return printable(text, LIMITS.max_rendered_chars * MESSAGE_CAP_FACTOR)


def wrap(text: str, width: int | None, indent: str = "", more: str | None = None) -> list[str]:
    """`text` as lines of at most `width` columns (None: one line), the first starting with
    `indent`, the rest with `more` (default: `indent` and two spaces). Breaks only at spaces:
    joining the lines with single spaces gives the text back."""
    more = indent + "  " if more is None else more
    if width is None or len(indent) + len(text) <= width:
        return [indent + text]
    lines = textwrap.wrap(
        text,
        width=max(width, len(more) + 10),
        initial_indent=indent,
        subsequent_indent=more,
        break_long_words=False,
        break_on_hyphens=False,
        drop_whitespace=True,
    )
    return lines or [indent]


def joined(items: Iterable[str], limit: int | None = None, noun: str = "more") -> str:
    """`a, b, c and 4 more`: the first `limit` items (all with None) and a count of the rest."""
    items = list(items)
    if limit is None or len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} {noun}"
