"""The egress map: which workloads leave the mesh, by which way out, to which host:port.

Workloads (grouped by namespace and way) → way out → host:port, from report.json `egress[]`:

- through an egress gateway (or an ambient egress waypoint): the port's path is the gateway, so
  every workload whose proxy captures its traffic is sent there (drawn green);
- the proxy sends it straight out (the port is not routed through a gateway, or an unregistered
  host is passed through under ALLOW_ANY);
- not captured (capture excluded, or the workload runs as the proxy's UID);
- outside the mesh (no proxy at all).

A host:port takes the colour of its verdict: a way out that no NetworkPolicy stops (orange,
dashed), only through the gateway (green), or every direct sender blocked (grey, dotted). A host
that leaves only through the gateway is never drawn as a bypass. Hosts come in the risk order
(auditor/report/risk.py); a large mesh shows the riskiest MAX_PORTS host:ports and counts the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from auditor.report import risk
from auditor.report.diagram import Column, Map, Page, sheets

MAX_PORTS = 40  # host:port boxes
# Namespace boxes of workloads (the rest of each way share one box): with the four ways' "more"
# boxes, what one host:port draws always fits a printed sheet
MAX_GROUPS = 8
GATEWAY_PATHS = ("egress-gateway", "egress-waypoint")

# 27a's fine ways (risk.way_out) folded into the four a map can show
WAY_OF: dict[str, str] = {
    "outside-mesh": "outside",
    "proxy-uid": "uncaptured",
    "capture-excluded": "uncaptured",
    "not-captured": "uncaptured",
    "allow-any": "direct",
    "not-routed": "direct",
    "no-egress-gateway": "direct",
    "proxy-direct": "direct",
}
WAY_LABELS: dict[str, tuple[str, str]] = {
    "direct": ("Proxy sends it direct", "not routed through an egress gateway"),
    "uncaptured": ("Not captured", "capture excluded, or runs as the proxy's UID"),
    "outside": ("Outside the mesh", "no proxy"),
}
EDGE_RANK = {"bypass": 0, "tls": 1, "blocked": 2, "neutral": 3}

PortItem = tuple[Mapping[str, Any], Mapping[str, Any]]  # (egress entry, one of its ports)


def _reachable(group: Mapping[str, Any]) -> bool:
    return group.get("verdict") != "blocked"


def port_style(port: Mapping[str, Any]) -> str:
    """bypass: some sender reaches it and nothing stops it; tls: only through the gateway;
    blocked: every direct sender is blocked; neutral: nobody sends to it."""
    groups = list(port.get("direct") or ())
    capped_open = bool(port.get("direct_more")) and bool(groups) and _reachable(groups[-1])
    if any(_reachable(g) for g in groups) or capped_open:
        return "bypass"
    if port.get("path") in GATEWAY_PATHS:
        return "tls"
    return "blocked" if groups else "neutral"


PORT_WORDS = {
    "bypass": "a way out no NetworkPolicy stops",
    "tls": "only through the egress gateway",
    "blocked": "direct senders blocked by NetworkPolicy",
    "neutral": "no workload sends to it",
}


def _workload(namespace: str, workload: str) -> str:
    """`Deployment billing` of namespace `legacy` as `Deployment legacy/billing`."""
    kind, _, name = workload.partition(" ")
    return f"{kind} {namespace}/{name}" if name else f"{namespace}/{kind}"


def _build(items: Sequence[Any]) -> Map:
    cols = [Column("Workloads", 230), Column("Way out", 220), Column("Host:port", 290)]
    m = Map(cols)
    styles: dict[tuple[int, str, str], str] = {}
    counts: dict[str, dict[tuple[str, str], int]] = {}  # group box -> (namespace, why) -> count
    names: dict[str, list[str]] = {}

    def edge(ci: int, a: str, b: str, style: str) -> None:
        old = styles.get((ci, a, b))
        if old is None or EDGE_RANK[style] < EDGE_RANK[old]:
            styles[(ci, a, b)] = style

    groups_drawn: set[str] = set()
    for entry, port in items:
        host, number = str(entry.get("host", "")), port.get("number")
        style = port_style(port)
        cls = str(entry.get("destination_class") or "public")
        sub = PORT_WORDS[style] + ("" if cls == "public" else f" · {cls}")
        hp = cols[2].add(f"h:{host}:{number}", f"{host}:{number}", sub, style=style)
        if port.get("path") in GATEWAY_PATHS:
            gw = port.get("gateway") or {}
            gw_name = "/".join(str(v) for v in (gw.get("namespace"), gw.get("name")) if v)
            waypoint = port.get("path") == "egress-waypoint"
            wk = cols[1].add(
                f"w:gw:{gw_name}",
                f"Egress {'waypoint' if waypoint else 'gateway'} {gw_name or '(not found)'}",
                "ambient workloads' traffic" if waypoint else "sidecars send it here",
                style="tls",
            )
            sk = cols[0].add("s:mesh", "Workloads with a proxy", "traffic captured", "source")
            edge(0, sk, wk, "tls")
            edge(1, wk, hp, "tls")
        for g in port.get("direct") or ():
            way = WAY_OF.get(risk.way_out(g), "direct")
            label, why = WAY_LABELS[way]
            wk = cols[1].add(f"w:{way}", label, why, style="neutral")
            ns = str(g.get("namespace") or "")
            gk = f"s:{way}:{ns}"
            if gk not in groups_drawn and len(groups_drawn) >= MAX_GROUPS:
                gk = f"s:{way}:*"
            groups_drawn.add(gk)
            counts.setdefault(gk, {})[(ns, str(g.get("why")))] = int(g.get("count") or 0)
            names.setdefault(gk, []).extend(_workload(ns, str(w)) for w in g.get("workloads") or ())
            s = "bypass" if _reachable(g) else "blocked"
            edge(0, gk, wk, s)
            edge(1, wk, hp, s)
        if port.get("direct_more"):
            wk = cols[1].add("w:more", "More groups", "listed in report.json", style="neutral")
            edge(1, wk, hp, "bypass" if style == "bypass" else "blocked")
    for gk, by in counts.items():
        total = sum(by.values())
        ns = gk.split(":", 2)[2]
        spaces = {n for n, _ in by}
        label = f"{len(spaces)} more namespaces" if ns == "*" else ns
        cols[0].add(
            gk,
            f"{label}: {total} workload{'s' if total != 1 else ''}",
            style="source",
            title=f"{label}: " + ", ".join(dict.fromkeys(names.get(gk, []))),
        )
    m.edges = {(ci, a, b, s) for (ci, a, b), s in styles.items()}
    return m


def port_items(entries: Sequence[Mapping[str, Any]]) -> list[PortItem]:
    """(entry, port) pairs in the entries' order (risk order), each host's ports in order."""
    return [(e, p) for e in entries for p in e.get("ports") or ()]


def egress_svgs(entries: Sequence[Mapping[str, Any]], page: Page | None) -> list[Markup]:
    items = port_items(entries)[:MAX_PORTS]
    return [m.svg("Egress map") for m in sheets(items, _build, page)]


def egress_note(entries: Sequence[Mapping[str, Any]]) -> str:
    total = len(port_items(entries))
    if total <= MAX_PORTS:
        return ""
    return (
        f"The map draws the {MAX_PORTS} riskiest of {total:,} host:ports (risk order); "
        "the table lists each host."
    )
