"""The exposure and egress maps as inline SVG: columns of boxes joined by curves.

Every string that reaches the SVG passes through markupsafe.escape here; only the finished SVG is
marked safe. Labels are shortened to fit their box and the full text is kept in a <title>.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

MAX_LISTENERS = 40
MAX_EGRESS_HOSTS = 40
# Source namespaces drawn in the egress map; the rest share one box. A host that 1,600
# namespaces register drew a 49,000-pixel map (benchmarks/README.md).
MAX_EGRESS_SOURCES = 40
ROW = 40
BOX_H = 32
HEAD = 30
GAP = 26
CLUSTER_SUFFIX = re.compile(r"\.svc\.cluster\.local(?=(:\d+)?$)")
CHAR_W = 7.4  # average glyph width of DejaVu Sans at 12.5px, for fitting labels

STYLES: dict[str, tuple[str, str]] = {  # class -> (fill, stroke)
    "source": ("#eef1f6", "#5b6b82"),
    "neutral": ("#f4f6f9", "#8a97aa"),
    "tls": ("#e7f5ec", "#2e7d4f"),
    "plain": ("#fdeceb", "#c0392b"),
    "redirect": ("#fff4e0", "#c77c02"),
    "internal": ("#f1f1f1", "#7d7d7d"),
    "bypass": ("#fff1e0", "#d35400"),
    "missing": ("#ffffff", "#b0b8c4"),
}


@dataclass
class _Node:
    key: str
    label: str
    sub: str
    style: str
    title: str
    suffix: str = ""  # kept when the label is shortened (a listener's ":port")
    y: float = 0.0


@dataclass
class _Column:
    heading: str
    width: int
    nodes: dict[str, _Node] = field(default_factory=dict)

    def add(
        self,
        key: str,
        label: str,
        sub: str = "",
        style: str = "neutral",
        title: str = "",
        suffix: str = "",
    ) -> str:
        if key not in self.nodes:
            full = label + suffix
            title = title or (f"{full} ({sub})" if sub else full)
            self.nodes[key] = _Node(
                key=key, label=label, sub=sub, style=style, title=title, suffix=suffix
            )
        return key


def _fit(text: str, width: float) -> str:
    """Cut from the middle: names differ at both ends (`ns/name`, `svc.ns:port`)."""
    room = max(4, int((width - 14) / CHAR_W))
    if len(text) <= room:
        return text
    head = (room - 1) * 3 // 5
    return text[:head] + "…" + text[len(text) - (room - 1 - head) :]


def _svg(
    columns: Sequence[_Column],
    edges: set[tuple[int, str, str, str]],
    label: str,
    note: str,
) -> Markup:
    """Lay out the columns (barycentre order) and draw boxes and edges, all text escaped."""
    for i, col in enumerate(columns):
        if i == 0:
            order = list(col.nodes)
        else:
            prev = columns[i - 1].nodes
            pos = {k: n for n, k in enumerate(prev)}
            incoming: dict[str, list[int]] = {}
            for ci, a, b, _ in edges:
                if ci == i - 1 and a in pos:
                    incoming.setdefault(b, []).append(pos[a])
            first = {k: n for n, k in enumerate(col.nodes)}
            order = sorted(
                col.nodes,
                key=lambda k: (sum(incoming.get(k, [0])) / len(incoming.get(k, [0])), first[k]),
            )
        col.nodes = {k: col.nodes[k] for k in order}
    rows = max((len(c.nodes) for c in columns), default=1) or 1
    height = HEAD + rows * ROW + 8
    xs: list[int] = []
    x = 0
    for col in columns:
        xs.append(x)
        x += col.width + GAP
    width = x - GAP
    for col in columns:
        offset = (rows - len(col.nodes)) * ROW / 2
        for n, node in enumerate(col.nodes.values()):
            node.y = HEAD + offset + n * ROW
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="map" role="img" '
        f'aria-label="{escape(label)}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f"<title>{escape(label)}</title>",
    ]
    for i, col in enumerate(columns):
        out.append(
            f'<text x="{xs[i] + 2}" y="16" font-size="13" font-weight="bold" '
            f'fill="#3b4656">{escape(_fit(col.heading, col.width + GAP))}</text>'
        )
    for ci, a, b, style in sorted(edges):
        src = columns[ci].nodes.get(a)
        dst = columns[ci + 1].nodes.get(b)
        if src is None or dst is None:
            continue
        x1 = xs[ci] + columns[ci].width
        x2 = xs[ci + 1]
        y1 = src.y + BOX_H / 2
        y2 = dst.y + BOX_H / 2
        mid = (x1 + x2) / 2
        stroke = STYLES.get(style, STYLES["neutral"])[1]
        dash = ' stroke-dasharray="5 3"' if style in ("bypass", "plain") else ""
        out.append(
            f'<path d="M{x1} {y1:.1f} C{mid:.1f} {y1:.1f} {mid:.1f} {y2:.1f} {x2} {y2:.1f}" '
            f'fill="none" stroke="{stroke}" stroke-width="1.4"{dash}/>'
        )
    for i, col in enumerate(columns):
        for node in col.nodes.values():
            fill, stroke = STYLES.get(node.style, STYLES["neutral"])
            text = _fit(node.label, col.width - CHAR_W * len(node.suffix)) + node.suffix
            sub = _fit(node.sub, col.width) if node.sub else ""
            out.append(
                f'<g class="node {escape(node.style)}"><title>{escape(node.title)}</title>'
                f'<rect x="{xs[i]}" y="{node.y:.1f}" width="{col.width}" height="{BOX_H}" '
                f'rx="5" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
            )
            if sub:
                out.append(
                    f'<text x="{xs[i] + 7}" y="{node.y + 14:.1f}" font-size="12.5" '
                    f'fill="#1d2733">{escape(text)}</text>'
                    f'<text x="{xs[i] + 7}" y="{node.y + 27:.1f}" font-size="10" '
                    f'fill="{stroke}">{escape(sub)}</text>'
                )
            else:
                out.append(
                    f'<text x="{xs[i] + 7}" y="{node.y + 20.5:.1f}" font-size="12.5" '
                    f'fill="#1d2733">{escape(text)}</text>'
                )
            out.append("</g>")
    out.append("</svg>")
    svg = "".join(out)
    if note:
        svg += f'<p class="map-note">{escape(note)}</p>'
    return Markup(svg)


def _listener_style(e: Mapping[str, Any]) -> str:
    if e["tls"]:
        return "tls"
    if e.get("redirect_only"):
        return "redirect"
    return "plain" if e.get("external") else "internal"


def _listener_sub(e: Mapping[str, Any]) -> str:
    if e["tls"]:
        return f"{e['protocol']} · TLS {e['tls_mode']}"
    if e.get("redirect_only"):
        return f"{e['protocol']} · redirect to HTTPS"
    return f"{e['protocol']} · plaintext"


# The exposure diagram's first column: who reaches the entry (its reachability class).
SOURCE_LABELS = {
    "internet": "Internet",
    "restricted": "Allowed ranges",
    "internal": "Private network",
    "node-local": "Node addresses",
    "cluster": "In-cluster",
}


def exposure_svg(entries: Sequence[Mapping[str, Any]]) -> Markup:
    """Internet (or inside the cluster) → addresses → gateway → host:port → route → backend."""
    if not entries:
        return Markup("")
    cols = [
        _Column("Source", 96),
        _Column("Addresses", 124),
        _Column("Gateway", 224),
        _Column("Listener (host:port)", 216),
        _Column("Route", 190),
        _Column("Backend service", 232),
    ]
    edges: set[tuple[int, str, str, str]] = set()
    shown = entries[:MAX_LISTENERS]
    for e in shown:
        gw = e["gateway"]
        gw_name = f"{gw['namespace']}/{gw['name']}" if gw.get("namespace") else gw["name"]
        external = bool(e.get("external"))
        reach = str(e.get("reachability") or ("internet" if external else "cluster"))
        src = cols[0].add(
            reach,
            SOURCE_LABELS.get(reach, reach),
            style="source" if reach in ("internet", "node-local") else "internal",
        )
        addrs = list(e["addresses"])
        addr_label = addrs[0] if addrs else ("no address" if external else "ClusterIP only")
        addr_sub = f"+{len(addrs) - 1} more" if len(addrs) > 1 else ""
        addr = cols[1].add(
            "a:" + "\x1f".join(addrs) + ("" if external else "\x1finternal"),
            addr_label,
            addr_sub,
            style="neutral" if external else "internal",
        )
        gwk = cols[2].add("g:" + gw["kind"] + "\x1f" + gw_name, gw_name, gw["kind"])
        style = _listener_style(e)
        lst = cols[3].add(
            f"l:{gwk}\x1f{e['host']}\x1f{e['port']}",
            str(e["host"]),
            _listener_sub(e),
            style=style,
            suffix=f":{e['port']}",
        )
        edges.update({(0, src, addr, "neutral"), (1, addr, gwk, "neutral"), (2, gwk, lst, style)})
        routes = e["routes"] or [None]
        for r in routes:
            if r is None:
                rk = cols[4].add("r:none", "no route", "nothing bound", style="missing")
            else:
                name = f"{r['namespace']}/{r['name']}" if r.get("namespace") else r["name"]
                rk = cols[4].add(f"r:{r['kind']}\x1f{name}", name, r["kind"])
            edges.add((3, lst, rk, style))
            for b in e["backends"]:
                short = CLUSTER_SUFFIX.sub("", b)  # also before a `:port`
                sub = "Service" if short != b else "host"
                edges.add((4, rk, cols[5].add("b:" + b, short, sub, title=b), "neutral"))
    note = ""
    if len(entries) > len(shown):
        note = (
            f"The map shows the first {len(shown)} of {len(entries)} listeners; "
            "the table below lists them all."
        )
    return _svg(cols, edges, "Exposure map", note)


def egress_svg(entries: Sequence[Mapping[str, Any]]) -> Markup:
    """Namespaces → egress gateway or straight out → external hosts; bypass in warning colour."""
    if not entries:
        return Markup("")
    cols = [
        _Column("From namespace", 200),
        _Column("Path out", 230),
        _Column("External host", 300),
    ]
    edges: set[tuple[int, str, str, str]] = set()
    sources: dict[str, set[tuple[str, str]]] = {}  # namespace -> (path node, style)
    shown = entries[:MAX_EGRESS_HOSTS]
    for e in shown:
        host = str(e.get("host", ""))
        ports = ", ".join(str(p.get("number")) for p in e.get("ports") or [])
        bypass = bool(e.get("bypass"))
        via = e.get("via_egress_gateway")
        tls = str(e.get("tls_origination") or "none")
        style = "bypass" if bypass else ("tls" if isinstance(via, Mapping) else "neutral")
        cls = str(e.get("destination_class") or "public")
        hk = cols[2].add(
            "h:" + host,
            host,
            ("BYPASS · " if bypass else "")
            + ("" if cls == "public" else f"{cls} · ")
            + f"TLS origination: {tls}",
            style=style if bypass else "neutral",
            suffix=f":{ports}" if ports else "",
        )
        if isinstance(via, Mapping):
            name = "/".join(str(v) for v in (via.get("namespace"), via.get("name", "")) if v)
            pk = cols[1].add("p:" + name, name, "egress gateway", style="tls")
        else:
            pk = cols[1].add("p:direct", "direct", "no egress gateway")
        namespaces = sorted(
            {str(r.get("namespace") or "cluster-wide") for r in e.get("registered_by") or []}
        ) or ["not registered"]
        for ns in namespaces:
            sources.setdefault(ns, set()).add((pk, style))
        edges.add((1, pk, hk, style))
    drawn = list(sources)[:MAX_EGRESS_SOURCES]
    for ns in drawn:
        sk = cols[0].add("s:" + ns, ns, "namespace", style="source")
        edges.update((0, sk, pk, style) for pk, style in sources[ns])
    rest = list(sources)[MAX_EGRESS_SOURCES:]
    if rest:
        sk = cols[0].add(
            "s:*", f"{len(rest):,} more namespaces", "listed in the table", style="source"
        )
        edges.update((0, sk, pk, style) for ns in rest for pk, style in sources[ns])
    notes = []
    if len(entries) > len(shown):
        notes.append(
            f"The map shows the first {len(shown)} of {len(entries)} external hosts; "
            "the table below lists them all."
        )
    if rest:
        notes.append(
            f"It draws {len(drawn)} of {len(sources):,} source namespaces; "
            "the table lists each host's registrations."
        )
    return _svg(cols, edges, "Egress map", " ".join(notes))
