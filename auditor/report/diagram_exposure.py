"""The exposure map: who reaches each entry point, through which gateway, to which backends.

Source (reachability class) → addresses → gateway → listener (host:port) → route → backend,
for the riskiest listeners (report.json `exposure[]` in the risk order, auditor/report/risk.py):
what is left out is left out from the bottom of that order, and the map says how many.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from auditor.report.diagram import Column, Map, Page, sheets

MAX_LISTENERS = 40
# What one listener draws at most (the rest are one "+N more" box each), so that a listener
# always fits a printed sheet
MAX_ROUTES = 3
MAX_BACKENDS = 2  # per route
CLUSTER_SUFFIX = re.compile(r"\.svc\.cluster\.local(?=(:\d+)?$)")

# The first column: who reaches the entry (its reachability class).
SOURCE_LABELS = {
    "internet": "Internet",
    "restricted": "Allowed ranges",
    "internal": "Private network",
    "node-local": "Node addresses",
    "cluster": "In-cluster",
}


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


def _build(entries: Sequence[Any]) -> Map:
    cols = [
        Column("Source", 110),
        Column("Addresses", 130),
        Column("Gateway", 210),
        Column("Listener (host:port)", 230),
        Column("Route", 200),
        Column("Backend service", 230),
    ]
    m = Map(cols)
    for e in entries:
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
        addr = cols[1].add(
            "a:" + "\x1f".join(addrs) + ("" if external else "\x1finternal"),
            addrs[0] if addrs else ("no address" if external else "ClusterIP only"),
            f"+{len(addrs) - 1} more" if len(addrs) > 1 else "",
            style="neutral" if external else "internal",
            title=", ".join(addrs),
        )
        gwk = cols[2].add("g:" + gw["kind"] + "\x1f" + gw_name, gw_name, gw["kind"])
        style = _listener_style(e)
        lst = cols[3].add(
            f"l:{gwk}\x1f{e['host']}\x1f{e['port']}",
            f"{e['host']}:{e['port']}",
            _listener_sub(e),
            style=style,
        )
        m.edges.update({(0, src, addr, "neutral"), (1, addr, gwk, "neutral"), (2, gwk, lst, style)})
        routes = list(e["routes"]) or [None]
        for r in routes[:MAX_ROUTES]:
            if r is None:
                rk = cols[4].add("r:none", "no route", "nothing bound", style="missing")
            else:
                name = f"{r['namespace']}/{r['name']}" if r.get("namespace") else r["name"]
                rk = cols[4].add(f"r:{r['kind']}\x1f{name}", name, r["kind"])
            m.edges.add((3, lst, rk, style))
            backends = list(e["backends"])
            for b in backends[:MAX_BACKENDS]:
                short = CLUSTER_SUFFIX.sub("", b)  # also before a `:port`
                sub = "Service" if short != b else "host"
                m.edges.add((4, rk, cols[5].add("b:" + b, short, sub, title=b), "neutral"))
            if len(backends) > MAX_BACKENDS:
                more = len(backends) - MAX_BACKENDS
                bk = cols[5].add(f"b+:{rk}", f"+{more} more backends", "in the table")
                m.edges.add((4, rk, bk, "neutral"))
        if len(routes) > MAX_ROUTES:
            rk = cols[4].add(
                f"r+:{lst}", f"+{len(routes) - MAX_ROUTES} more routes", "in the table"
            )
            m.edges.add((3, lst, rk, style))
    return m


def exposure_svgs(entries: Sequence[Mapping[str, Any]], page: Page | None) -> list[Markup]:
    """The riskiest MAX_LISTENERS listeners (`entries` come worst first) as one map, or as
    sheets that each fit a printed `page`."""
    shown = list(entries[:MAX_LISTENERS])
    maps = sheets(shown, _build, page)
    return [m.svg("Exposure map") for m in maps]


def exposure_note(total: int) -> str:
    shown = min(total, MAX_LISTENERS)
    if total <= shown:
        return ""
    return (
        f"The map draws the {shown} riskiest of {total:,} listeners (risk order: severity, then "
        "reachability); the table lists every listener that carries a weakness."
    )


def note_markup(text: str) -> Markup:
    return Markup(f'<p class="map-note">{escape(text)}</p>') if text else Markup("")
