"""The exposure (ingress) and egress tables of the HTML and PDF reports.

Plain data from the report.json mapping; the templates escape every string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.base.text import resource_text
from auditor.report import diagram_egress, risk

REACH_LABELS = {
    "internet": "internet",
    "restricted": "allowed source ranges",
    "internal": "private network",
    "node-local": "node addresses",
    "cluster": "cluster-internal",
}


def exposure_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        gw = e["gateway"]
        if e["tls"]:
            tls, tls_class = f"TLS {e['tls_mode']}", "tls"
        elif e.get("redirect_only"):
            tls, tls_class = "redirect to HTTPS", "redirect"
        else:
            tls, tls_class = "plaintext", "plain" if e.get("external") else "plain-internal"
        rows.append(
            {
                "host": e["host"],
                "port": e["port"],
                "protocol": e["protocol"],
                "tls": tls,
                "tls_class": tls_class,
                "external": bool(e.get("external")),
                "reach": REACH_LABELS.get(
                    str(e.get("reachability") or ""),
                    "external" if e.get("external") else "cluster-internal",
                )
                + (", around the Istio gateway" if e.get("via_istio_gateway") is False else ""),
                "addresses": list(e["addresses"]),
                "gateway": (f"{gw['kind']} {gw['namespace']}/{gw['name']}")
                if gw.get("namespace")
                else f"{gw['kind']} {gw['name']}",
                "listener": e.get("listener", ""),
                "routes": [resource_text(r) for r in e["routes"]],
                "backends": _rule_lines(e),
            }
        )
    return rows


def _rule_lines(entry: Mapping[str, Any]) -> list[str]:
    """Backends by route match (`path PathPrefix /debug → web:8080`), or plain backends for
    reports written before exposure entries carried their rules."""
    rules = entry.get("rules")
    if not rules:
        return list(entry["backends"])
    lines = []
    for rule in rules:
        target = ", ".join(rule["backends"]) or (
            "redirect to https" if rule.get("redirect") else "no backend"
        )
        lines.append(target if rule["match"] == "any request" else f"{rule['match']} → {target}")
    return list(dict.fromkeys(lines))


def _egress_port_line(port: Mapping[str, Any]) -> str:
    """`443 TLS: egress gateway ns/name, TLS origination application`."""
    gw = port.get("gateway")
    if port.get("path") == "egress-gateway" and isinstance(gw, Mapping):
        path = f"egress gateway {gw.get('namespace') or ''}/{gw.get('name', '')}".replace(" /", " ")
    elif port.get("path") == "egress-waypoint" and isinstance(gw, Mapping):
        path = f"egress waypoint {gw.get('namespace') or ''}/{gw.get('name', '')}"
    elif port.get("path") in ("black-hole", "in-pod"):
        path = "black hole (route to nothing)" if port["path"] == "black-hole" else "in the pod"
    else:
        path = "direct"
    return (
        f"{port.get('number')} {port.get('protocol', '')}: {path}, "
        f"TLS origination {port.get('tls_origination', 'none')}"
    )


ENFORCEMENT = {
    "no-policy": "no egress NetworkPolicy",
    "allowed": "allowed by NetworkPolicy",
    "partial": "allowed by NetworkPolicy for some addresses",
    "blocked": "blocked by NetworkPolicy",
}


def _egress_way_lines(port: Mapping[str, Any]) -> list[str]:
    """One line per way out of a port and what NetworkPolicy says, naming its workloads:
    `443 outside the mesh: legacy/legacy-billing, payments/payments-reconciler (no egress
    NetworkPolicy)`. Workload groups of one way and verdict share the line."""
    lines: dict[tuple[str, str], list[str]] = {}
    for g in port.get("direct") or []:
        verdict = str(g.get("verdict", ""))
        policies = ", ".join(str(p) for p in g.get("policies") or [])
        enforcement = ENFORCEMENT.get(verdict, verdict) + (f" {policies}" if policies else "")
        way = diagram_egress.WAY_OF.get(risk.way_out(g), "direct")
        names = [
            f"{g.get('namespace', '')}/{w.split(' ', 1)[-1]}" for w in g.get("workloads") or []
        ]
        more = int(g.get("count") or 0) - len(names)
        if more > 0:
            names.append(f"{more} more in {g.get('namespace', '')}")
        lines.setdefault((diagram_egress.WAY_LABELS[way][0], enforcement), []).extend(names)
    out = [
        f"{port.get('number')} {way.lower()}: {', '.join(names)} ({enforcement})"
        for (way, enforcement), names in lines.items()
    ]
    more = int(port.get("direct_more") or 0)
    if more:
        out.append(f"{port.get('number')}: and {more} more groups in report.json")
    return out


def _cell(lines: list[str], limit: int | None) -> list[str]:
    """A table cell's lines, the first `limit` of them and a line saying how many more."""
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit:,} more in report.json/HTML"]


def egress_rows(
    entries: Sequence[Mapping[str, Any]], cell_limit: int | None = None
) -> list[dict[str, Any]]:
    """One row per host: its registrations, its path out per port, and every other way out
    (one line per port, way and NetworkPolicy verdict); `bypass` only marks the row."""
    rows = []
    for e in entries:
        via = e.get("via_egress_gateway")
        rows.append(
            {
                "host": str(e.get("host", "")),
                "ports": [
                    " ".join(
                        str(p)
                        for p in (port.get("number"), port.get("protocol"), port.get("name"))
                        if p not in (None, "")
                    )
                    for port in e.get("ports") or []
                ],
                "registered_by": _cell(
                    [
                        resource_text(
                            {
                                "kind": r.get("kind", "ServiceEntry"),
                                "namespace": r.get("namespace"),
                                "name": r.get("name", ""),
                            }
                        )
                        for r in e.get("registered_by") or []
                    ],
                    cell_limit,
                ),
                "via": (
                    resource_text(
                        {
                            "kind": via.get("kind", "Gateway"),
                            "namespace": via.get("namespace"),
                            "name": via.get("name", ""),
                        }
                    )
                    if isinstance(via, Mapping)
                    else "direct from sidecar"
                ),
                "tls_origination": str(e.get("tls_origination") or "none"),
                "destination_class": str(e.get("destination_class") or "unknown"),
                "paths": [_egress_port_line(p) for p in e.get("ports") or []],
                "ways": _cell(
                    [line for p in e.get("ports") or [] for line in _egress_way_lines(p)],
                    cell_limit,
                ),
                "notes": [str(n) for n in e.get("notes") or []],
                "bypass": bool(e.get("bypass")),
            }
        )
    return rows
