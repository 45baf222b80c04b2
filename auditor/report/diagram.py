"""The maps as inline SVG: columns of boxes joined by curves, drawn from plain data.

Every string that reaches the SVG passes through markupsafe.escape here; only the finished SVG is
marked safe. Labels wrap inside their box at dots, slashes, hyphens and spaces (a name is never
cut in the middle), so a box is as tall as its text; the full text is also the box's <title>, which
a browser shows on hover. A label longer than MAX_LABEL_LINES lines (only hostile or generated
names are) ends in "…" and keeps the whole text in the <title>.

A map that does not fit one printed page is drawn as a series of sheets (`sheets`): each sheet
is a map of its own, no taller than `max_height`, so none is drawn over the page footer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

FONTS = "DejaVu Sans, Helvetica, Arial, sans-serif"
HEAD = 30  # column headings
PAD_Y = 6  # inside a box, above and below its text
LINE_H = 15  # a label line (12.5px text)
SUB_H = 13  # a sub line (10px text)
GAP_Y = 8  # between boxes of a column
GAP_X = 28  # between columns
MAX_LABEL_LINES = 4
MAX_SUB_LINES = 2
# Average glyph widths of DejaVu Sans at 12.5px and 10px (the font the PDF embeds and the
# first of the SVG's font-family list): what decides how many characters a line holds.
CHAR_W = 7.6
SUB_CHAR_W = 6.1
TEXT_PAD = 14  # left and right of the text inside a box
_BREAK_AFTER = re.compile(r"(?<=[./\-_:,= ])")

STYLES: dict[str, tuple[str, str]] = {  # class -> (fill, stroke)
    "source": ("#eef1f6", "#5b6b82"),
    "neutral": ("#f4f6f9", "#8a97aa"),
    "tls": ("#e7f5ec", "#2e7d4f"),
    "plain": ("#fdeceb", "#c0392b"),
    "redirect": ("#fff4e0", "#c77c02"),
    "internal": ("#f1f1f1", "#7d7d7d"),
    "bypass": ("#fff1e0", "#d35400"),
    "blocked": ("#f1f1f1", "#7d7d7d"),
    "missing": ("#ffffff", "#b0b8c4"),
}
DASHED = frozenset({"bypass", "plain"})
DOTTED = frozenset({"blocked"})


def wrap(
    text: str, width: float, char_w: float = CHAR_W, max_lines: int = MAX_LABEL_LINES
) -> list[str]:
    """`text` in lines that fit `width` px, broken after . / - _ : , = or a space; a run with no
    such break longer than a line is split where the line ends. More than `max_lines` lines: the
    last shown ends in "…" (the caller keeps the whole text in a <title>)."""
    room = max(4, int((width - TEXT_PAD) / char_w))
    lines: list[str] = []
    line = ""
    for part in _BREAK_AFTER.split(text):
        while part:
            if len(line) + len(part) <= room:
                line += part
                part = ""
            elif line:
                lines.append(line.rstrip(" "))
                line = ""
            else:  # a run longer than a line: split it where the line ends
                lines.append(part[:room])
                part = part[room:]
    if line or not lines:
        lines.append(line.rstrip(" "))
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: room - 1] + "…"]
    return lines


@dataclass
class Node:
    key: str
    label: str
    sub: str
    style: str
    title: str
    lines: list[str] = field(default_factory=list)
    sub_lines: list[str] = field(default_factory=list)
    y: float = 0.0

    @property
    def height(self) -> float:
        return 2 * PAD_Y + LINE_H * len(self.lines) + SUB_H * len(self.sub_lines)


@dataclass
class Column:
    heading: str
    width: int
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(
        self, key: str, label: str, sub: str = "", style: str = "neutral", title: str = ""
    ) -> str:
        if key not in self.nodes:
            full = title or (f"{label} ({sub})" if sub else label)
            self.nodes[key] = Node(
                key=key,
                label=label,
                sub=sub,
                style=style,
                title=full,
                lines=wrap(label, self.width),
                sub_lines=wrap(sub, self.width, SUB_CHAR_W, MAX_SUB_LINES) if sub else [],
            )
        return key


Edge = tuple[int, str, str, str]  # (column of the source, source key, target key, style)


@dataclass
class Map:
    """One drawing: columns of nodes and the edges between neighbouring columns."""

    columns: list[Column]
    edges: set[Edge] = field(default_factory=set)

    def layout(self) -> float:
        """Order each column by the mean position of its sources (fewer crossings), stack its
        boxes, centre the columns on the tallest; returns the drawing's height."""
        for i, col in enumerate(self.columns):
            if i:
                pos = {k: n for n, k in enumerate(self.columns[i - 1].nodes)}
                incoming: dict[str, list[int]] = {}
                for ci, a, b, _ in self.edges:
                    if ci == i - 1 and a in pos:
                        incoming.setdefault(b, []).append(pos[a])
                first = {k: n for n, k in enumerate(col.nodes)}
                order = sorted(
                    col.nodes,
                    key=lambda k: (
                        sum(incoming.get(k, [0])) / len(incoming.get(k, [0])),
                        first[k],
                    ),
                )
                col.nodes = {k: col.nodes[k] for k in order}
        heights = [
            sum(n.height for n in c.nodes.values()) + GAP_Y * max(0, len(c.nodes) - 1)
            for c in self.columns
        ]
        tallest = max(heights, default=0.0)
        for col, h in zip(self.columns, heights, strict=True):
            y = HEAD + (tallest - h) / 2
            for node in col.nodes.values():
                node.y = y
                y += node.height + GAP_Y
        return HEAD + tallest + 8

    def svg(self, label: str) -> Markup:
        height = self.layout()
        xs: list[int] = []
        x = 0
        for col in self.columns:
            xs.append(x)
            x += col.width + GAP_X
        width = x - GAP_X
        out: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
            f'width="{width}" height="{height:.0f}" class="map" role="img" '
            f'aria-label="{escape(label)}" font-family="{FONTS}">',
            f"<title>{escape(label)}</title>",
        ]
        for i, col in enumerate(self.columns):
            out.append(
                f'<text x="{xs[i] + 2}" y="16" font-size="13" font-weight="bold" '
                f'fill="#3b4656">{escape(col.heading)}</text>'
            )
        for ci, a, b, style in sorted(self.edges):
            src = self.columns[ci].nodes.get(a)
            dst = self.columns[ci + 1].nodes.get(b)
            if src is None or dst is None:
                continue
            x1, x2 = xs[ci] + self.columns[ci].width, xs[ci + 1]
            y1, y2 = src.y + src.height / 2, dst.y + dst.height / 2
            mid = (x1 + x2) / 2
            stroke = STYLES.get(style, STYLES["neutral"])[1]
            dash = (
                ' stroke-dasharray="5 3"'
                if style in DASHED
                else (' stroke-dasharray="2 3"' if style in DOTTED else "")
            )
            out.append(
                f'<path d="M{x1} {y1:.1f} C{mid:.1f} {y1:.1f} {mid:.1f} {y2:.1f} {x2} {y2:.1f}" '
                f'fill="none" stroke="{stroke}" stroke-width="1.4"{dash}/>'
            )
        for i, col in enumerate(self.columns):
            for node in col.nodes.values():
                out.append(_box(node, xs[i], col.width))
        out.append("</svg>")
        return Markup("".join(out))


def _box(node: Node, x: int, width: int) -> str:
    fill, stroke = STYLES.get(node.style, STYLES["neutral"])
    parts = [
        f'<g class="node {escape(node.style)}"><title>{escape(node.title)}</title>'
        f'<rect x="{x}" y="{node.y:.1f}" width="{width}" height="{node.height:.1f}" '
        f'rx="5" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
    ]
    y = node.y + PAD_Y
    for line in node.lines:
        y += LINE_H
        parts.append(
            f'<text x="{x + 7}" y="{y - 3.5:.1f}" font-size="12.5" fill="#1d2733">'
            f"{escape(line)}</text>"
        )
    for line in node.sub_lines:
        y += SUB_H
        parts.append(
            f'<text x="{x + 7}" y="{y - 3:.1f}" font-size="10" fill="{stroke}">'
            f"{escape(line)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


@dataclass(frozen=True)
class Page:
    """The room a map sheet has on a printed page, in pt: the width it is scaled down to fit
    and the height it may take below its chapter's heading."""

    width: float
    height: float

    def fits(self, m: Map) -> bool:
        width = sum(c.width for c in m.columns) + GAP_X * (len(m.columns) - 1)
        scale = min(PX, self.width / width)  # pt per px once the sheet is fitted to the page
        return m.layout() * scale <= self.height


PX = 0.75  # pt per CSS px


def sheets(
    items: Sequence[object], build: Callable[[Sequence[object]], Map], page: Page | None
) -> list[Map]:
    """`items` drawn as maps, in order: one map of them all (no `page`), or as many sheets as it
    takes for each to fit `page` (an item that does not fit alone still gets a sheet of its own:
    the maps cap what one item draws so that it does)."""
    if page is None or not items:
        return [build(items)] if items else []
    out: list[Map] = []
    start = 0
    while start < len(items):
        end = start + 1
        best = build(items[start:end])
        while end < len(items):
            trial = build(items[start : end + 1])
            if not page.fits(trial):
                break
            best, end = trial, end + 1
        out.append(best)
        start = end
    return out
