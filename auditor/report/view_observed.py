"""The "Observed egress" chapter (report.json `observed`): per host, direct vs through the
egress gateway over the window as a small inline SVG bar chart, the top sources, PassthroughCluster
and BlackHoleCluster use by workload, and what could not be observed.

Every string that reaches the SVG passes through markupsafe.escape here; the template
autoescapes the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

VERDICTS = {
    "did-bypass": "did bypass",
    "through-gateway": "observed through the gateway",
    "not-observed": "no traffic observed",
}
BAR_WIDTH = 120
DIRECT_COLOUR = "#c2571a"
GATEWAY_COLOUR = "#2e7d4f"


def _events(traffic: Mapping[str, Any]) -> int:
    return int(traffic.get("requests", 0)) + int(traffic.get("connections", 0))


def amount(traffic: Mapping[str, Any]) -> str:
    parts = []
    if traffic.get("requests"):
        parts.append(f"{int(traffic['requests']):,} requests")
    if traffic.get("connections"):
        parts.append(f"{int(traffic['connections']):,} connections")
    if traffic.get("bytes"):
        parts.append(f"{int(traffic['bytes']):,} bytes")
    return ", ".join(parts) or "none"


def sources(traffic: Mapping[str, Any]) -> list[str]:
    lines = [f"{s['namespace']}/{s['workload']}: {amount(s)}" for s in traffic.get("sources") or ()]
    more = int(traffic.get("sources_total", 0)) - len(lines)
    if more > 0:
        lines.append(f"… and {more:,} more in report.json")
    return lines


def host_chart(host: str, direct: Mapping[str, Any], via: Mapping[str, Any], scale: int) -> Markup:
    """Two bars: requests + connections directly and through the egress gateway."""
    rows = (
        ("direct", _events(direct), DIRECT_COLOUR),
        ("via gateway", _events(via), GATEWAY_COLOUR),
    )
    label = f"{host}: {rows[0][1]:,} direct, {rows[1][1]:,} through the egress gateway"
    out = [
        f'<svg class="observed-chart" xmlns="http://www.w3.org/2000/svg" width="230" height="40" '
        f'viewBox="0 0 230 40" role="img" aria-label="{escape(label)}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="10">',
        f"<title>{escape(label)}</title>",
    ]
    for i, (name, value, colour) in enumerate(rows):
        y = 4 + i * 18
        width = 0 if scale <= 0 else max(1 if value else 0, round(BAR_WIDTH * value / scale))
        out.append(f'<text x="0" y="{y + 10}" fill="#3b4656">{escape(name)}</text>')
        out.append(
            f'<rect class="bar-{"direct" if i == 0 else "gateway"}" x="70" y="{y}" '
            f'width="{width}" height="12" fill="{colour}"/>'
        )
        out.append(f'<text x="{74 + width}" y="{y + 10}" fill="#1d2733">{value:,}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def observed_context(data: Mapping[str, Any], limit: int | None) -> dict[str, Any] | None:
    """The template context of the chapter; None when the scan did not ask Prometheus."""
    obs = data.get("observed")
    if not isinstance(obs, Mapping):
        return None
    hosts: Sequence[Mapping[str, Any]] = obs.get("hosts") or []
    # the hosts with traffic first, most traffic first; then those without
    ordered = sorted(
        hosts,
        key=lambda h: (-(_events(h["direct"]) + _events(h["via_gateway"])), h["host"]),
    )
    shown = ordered if limit is None else ordered[:limit]
    scale = max((max(_events(h["direct"]), _events(h["via_gateway"])) for h in hosts), default=0)
    window = obs.get("window") or {}
    prom = obs.get("prometheus") or {}
    return {
        "available": bool(obs.get("available")),
        "not_assessed": obs.get("not_assessed")
        if isinstance(obs.get("not_assessed"), str)
        else None,
        "since": window.get("since", ""),
        "start": window.get("start", ""),
        "end": window.get("end", ""),
        "covered_from": window.get("covered_from"),
        "url": prom.get("url", ""),
        "version": prom.get("version") or "unknown",
        "retention": prom.get("retention") or "unknown",
        "coverage": list(obs.get("coverage") or []),
        "rows": [
            {
                "host": h["host"],
                "verdict": h["verdict"],
                "verdict_text": VERDICTS.get(h["verdict"], h["verdict"]),
                "routed": h.get("routed", False),
                "chart": host_chart(h["host"], h["direct"], h["via_gateway"], scale),
                "direct": sources(h["direct"]),
                "via": sources(h["via_gateway"]),
                "notes": list(h.get("notes") or []),
            }
            for h in shown
        ],
        "hidden": len(ordered) - len(shown),
        "bypassed": sum(1 for h in hosts if h["verdict"] == "did-bypass"),
        "through": sum(1 for h in hosts if h["verdict"] == "through-gateway"),
        "passthrough": _flow(obs.get("passthrough") or {}),
        "blackhole": _flow(obs.get("blackhole") or {}),
        "to_gateway": _flow(obs.get("to_gateway") or {}),
        "unused": list(obs.get("unused") or []),
        "queries": [
            {"name": q.get("name", ""), "promql": q.get("promql", ""), "series": q.get("series")}
            for q in obs.get("queries") or []
        ],
    }


def _flow(traffic: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "total": amount(traffic),
        "sources": sources(traffic),
        "destinations": list(traffic.get("destinations") or []),
    }
