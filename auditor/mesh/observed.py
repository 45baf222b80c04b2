"""Observed egress: the egress model (auditor/mesh/egress.py) joined with what Istio's metrics saw.

Plain data in, plain data out: the model's entries (host, ports, path), the egress gateways'
workloads and Service hosts, and the summed series of auditor/input/prometheus/egress_queries.py.

- Traffic to a host reported by a workload that is not an egress gateway left *directly* from
  that workload's proxy (`did bypass`); reported by an egress gateway's workload it went
  *through the gateway*. Traffic a sidecar sends to the egress gateway carries the gateway's
  Service as `destination_service` (the cluster it is routed to), so which workloads used the
  gateway is known per gateway, not per host (`to_gateway`).
- `destination_service_name` PassthroughCluster: a workload's proxy passed traffic to a
  destination nothing registers (ALLOW_ANY); BlackHoleCluster: the proxy refused it
  (REGISTRY_ONLY). Both by source workload; HTTP keeps the Host header as
  `destination_service`, TCP says `unknown`.
- A registered host with no traffic at all in a fully covered window is `not-observed`.

The severity rule (`annotate`, docs/usage/telemetry.md): a finding about a host that *did*
bypass is raised one level; a bypass finding about a host observed only through the egress
gateway is lowered one level; EGR001/EGR002 (ALLOW_ANY) are raised one level when
PassthroughCluster traffic was observed. Every such finding gets `evidence.observed`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.base.model import Finding, Severity
from auditor.input.prometheus.egress_queries import BLACKHOLE, PASSTHROUGH, Series, Telemetry

if TYPE_CHECKING:
    from auditor.mesh.egress import EgressEntry

TOP = 5
DID_BYPASS = "did-bypass"
THROUGH_GATEWAY = "through-gateway"
NOT_OBSERVED = "not-observed"
HOST_CHECKS = frozenset({"BYP001", "BYP002", "BYP003", "EGR010", "TLS012"})
BYPASS_CHECKS = frozenset({"BYP001", "BYP002", "BYP003"})
ALLOW_ANY_CHECKS = frozenset({"EGR001", "EGR002"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    namespace: str
    workload: str
    requests: float = 0.0
    connections: float = 0.0
    bytes: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.namespace}/{self.workload}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "workload": self.workload,
            "requests": round(self.requests),
            "connections": round(self.connections),
            "bytes": round(self.bytes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """Totals over the window and the top sources (by requests + connections)."""

    requests: float = 0.0
    connections: float = 0.0
    bytes: float = 0.0
    sources: tuple[Source, ...] = ()  # the top TOP
    sources_total: int = 0
    everyone: tuple[Source, ...] = ()  # every source, same order (not in report.json)

    @property
    def any(self) -> bool:
        return self.requests + self.connections + self.bytes > 0

    def describe(self) -> str:
        parts = [f"{round(self.requests)} requests"] if self.requests else []
        if self.connections:
            parts.append(f"{round(self.connections)} TCP connections")
        if self.bytes:
            parts.append(f"{round(self.bytes)} bytes")
        return ", ".join(parts) or "no traffic"

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": round(self.requests),
            "connections": round(self.connections),
            "bytes": round(self.bytes),
            "sources": [s.to_json() for s in self.sources],
            "sources_total": self.sources_total,
        }


def traffic(rows: Iterable[Series]) -> Traffic:
    by: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        counts = by.setdefault((row.source_namespace, row.source_workload), {})
        key = "connections" if row.metric == "blocked_connections" else row.metric
        counts[key] = counts.get(key, 0.0) + row.value
    sources = [
        Source(
            namespace=ns,
            workload=wl,
            requests=c.get("requests", 0.0),
            connections=c.get("connections", 0.0),
            bytes=c.get("bytes", 0.0),
        )
        for (ns, wl), c in by.items()
    ]
    sources.sort(key=lambda s: (-(s.requests + s.connections), -s.bytes, s.namespace, s.workload))
    return Traffic(
        requests=sum(s.requests for s in sources),
        connections=sum(s.connections for s in sources),
        bytes=sum(s.bytes for s in sources),
        sources=tuple(sources[:TOP]),
        sources_total=len(sources),
        everyone=tuple(sources),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HostObserved:
    host: str
    verdict: str  # did-bypass | through-gateway | not-observed
    direct: Traffic
    via_gateway: Traffic
    routed: bool  # the configuration sends every port through an egress gateway or waypoint
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "verdict": self.verdict,
            "direct": self.direct.to_json(),
            "via_gateway": self.via_gateway.to_json(),
            "routed": self.routed,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedEgress:
    telemetry: Telemetry
    hosts: Mapping[str, HostObserved]
    passthrough: Traffic
    passthrough_destinations: tuple[str, ...]
    blackhole: Traffic
    blackhole_destinations: tuple[str, ...]
    to_gateway: Traffic
    unused: tuple[str, ...]
    other: tuple[str, ...]  # external destinations seen that nothing in the model names
    notes: tuple[str, ...]

    @property
    def available(self) -> bool:
        return self.telemetry.available

    @property
    def full_window(self) -> bool:
        return self.available and self.telemetry.covered_from is None

    def to_json(self) -> dict[str, Any]:
        tel = self.telemetry
        return {
            "prometheus": {"url": tel.url, "version": tel.version, "retention": tel.retention},
            "available": tel.available,
            "not_assessed": tel.not_assessed,
            "window": {
                "since": tel.since,
                "seconds": int(tel.window_seconds),
                "start": _iso(tel.start),
                "end": _iso(tel.end),
                "covered_from": _iso(tel.covered_from) if tel.covered_from is not None else None,
            },
            "queries": [dict(q) for q in tel.queries],
            "coverage": list(tel.coverage) + list(self.notes),
            "hosts": [self.hosts[h].to_json() for h in sorted(self.hosts)],
            "passthrough": {
                **self.passthrough.to_json(),
                "destinations": list(self.passthrough_destinations),
            },
            "blackhole": {
                **self.blackhole.to_json(),
                "destinations": list(self.blackhole_destinations),
            },
            "to_gateway": self.to_gateway.to_json(),
            "unused": list(self.unused),
            "other_destinations": list(self.other),
        }


def join(
    telemetry: Telemetry,
    entries: Sequence[EgressEntry],
    *,
    gateway_workloads: Iterable[tuple[str, str]],
    unobservable: Iterable[str] = (),
    notes: Iterable[str] = (),
) -> ObservedEgress:
    """Join the series with the model's hosts. `gateway_workloads`: (namespace, name) of the
    egress gateways' workloads; `unobservable`: workloads without a proxy that can send out."""
    gateways = set(gateway_workloads)
    by_host: dict[str, list[Series]] = {}
    passthrough: list[Series] = []
    blackhole: list[Series] = []
    for row in telemetry.external:
        if row.destination_service_name == PASSTHROUGH:
            passthrough.append(row)
        elif row.destination_service_name == BLACKHOLE:
            blackhole.append(row)
        else:
            by_host.setdefault(row.destination_service.lower().rstrip("."), []).append(row)
    known = {e.host.lower(): e for e in entries}
    # an HTTP passthrough keeps the Host header: an unregistered route target is seen by name
    for row in passthrough:
        host = row.destination_service.lower().split(":")[0]
        if host in known:
            by_host.setdefault(host, []).append(row)
    hosts: dict[str, HostObserved] = {}
    unused: list[str] = []
    for entry in entries:
        rows = by_host.get(entry.host.lower(), [])
        via = traffic(r for r in rows if (r.source_namespace, r.source_workload) in gateways)
        direct = traffic(r for r in rows if (r.source_namespace, r.source_workload) not in gateways)
        routed = bool(entry.ports) and all(p.path != "direct" for p in entry.ports)
        host_notes: list[str] = []
        if len(entry.ports) > 1 and (direct.any or via.any):
            host_notes.append(
                "Istio's standard metrics carry no destination port: counts are for the host, "
                f"ports {', '.join(str(p.number) for p in entry.ports)} together"
            )
        if direct.any:
            verdict = DID_BYPASS
        elif via.any:
            verdict = THROUGH_GATEWAY
        else:
            verdict = NOT_OBSERVED
            if telemetry.available and entry.registration != "unregistered":
                unused.append(entry.host)
        hosts[entry.host] = HostObserved(
            host=entry.host,
            verdict=verdict,
            direct=direct,
            via_gateway=via,
            routed=routed,
            notes=tuple(host_notes),
        )
    other = sorted(h for h in by_host if h not in known and h != "unknown")
    said: list[str] = list(notes) if telemetry.available else []
    hidden = sorted(set(unobservable))
    if hidden and telemetry.available:
        shown = ", ".join(hidden[:TOP]) + (
            f" and {len(hidden) - TOP} more" if len(hidden) > TOP else ""
        )
        said.append(
            f"{len(hidden)} workloads that can send out have no proxy, so no metrics: their "
            f"egress is not observed ({shown})"
        )
    if unused and telemetry.covered_from is not None:
        said.append("hosts without traffic are judged over the covered part of the window only")
    return ObservedEgress(
        telemetry=telemetry,
        hosts=hosts,
        passthrough=traffic(passthrough),
        passthrough_destinations=_destinations(passthrough),
        blackhole=traffic(blackhole),
        blackhole_destinations=_destinations(blackhole),
        to_gateway=traffic(telemetry.to_gateway),
        unused=tuple(unused),
        other=tuple(other[:50]),
        notes=tuple(said),
    )


def _destinations(rows: Iterable[Series]) -> tuple[str, ...]:
    return tuple(
        sorted({r.destination_service for r in rows if r.destination_service != "unknown"})
    )


# ---- the severity rule ----------------------------------------------------------------------


def _step(severity: Severity, by: int) -> Severity:
    return Severity(max(int(Severity.INFO), min(int(Severity.CRITICAL), int(severity) + by)))


def annotate(findings: Sequence[Finding], observed: ObservedEgress) -> list[Finding]:
    """Each egress finding with its `observed` evidence and the severity rule applied."""
    if not observed.available:
        return list(findings)
    window = observed.telemetry.since
    out: list[Finding] = []
    for finding in findings:
        part: dict[str, Any] | None = None
        step = 0
        host = str(finding.evidence.get("host", "")) if finding.check in HOST_CHECKS else ""
        seen = observed.hosts.get(host) if host else None
        if seen is not None:
            part = {"verdict": seen.verdict, "window": window, **_parts(seen)}
            if seen.verdict == DID_BYPASS:
                step = 1
                part["rule"] = "did bypass: raised one level"
            elif seen.verdict == THROUGH_GATEWAY and finding.check in BYPASS_CHECKS:
                step = -1
                part["rule"] = "observed only through the egress gateway: lowered one level"
            else:
                part["rule"] = "unchanged"
        elif finding.check in ALLOW_ANY_CHECKS:
            p = observed.passthrough
            part = {
                "verdict": "passthrough" if p.any else NOT_OBSERVED,
                "window": window,
                "passthrough": p.to_json(),
                "rule": "unregistered traffic observed: raised one level" if p.any else "unchanged",
            }
            step = 1 if p.any else 0
        if part is None:
            out.append(finding)
            continue
        severity = _step(finding.severity, step)
        if severity != finding.severity:
            part["severity_from"] = finding.severity.label
        out.append(
            dataclasses.replace(
                finding,
                severity=severity,
                message=f"{finding.message} [observed, last {window}: {_sentence(part)}]",
                evidence={**finding.evidence, "observed": part},
            )
        )
    return sorted(out, key=Finding.sort_key)


def _sentence(part: Mapping[str, Any]) -> str:
    """The observed part in words, for the finding's message."""
    said: list[str] = []
    for key, how in (
        ("direct", "directly"),
        ("via_gateway", "through the egress gateway"),
        ("passthrough", "to unregistered destinations"),
    ):
        t = part.get(key)
        if not t or not (t["requests"] or t["connections"] or t["bytes"]):
            continue
        amount = Traffic(requests=t["requests"], connections=t["connections"], bytes=t["bytes"])
        names = ", ".join(f"{s['namespace']}/{s['workload']}" for s in t["sources"])
        more = t["sources_total"] - len(t["sources"])
        names += f" and {more} more" if more > 0 else ""
        said.append(f"{amount.describe()} {how} from {names}")
    return "; ".join(said) or "no traffic"


def _parts(seen: HostObserved) -> dict[str, Any]:
    return {"direct": seen.direct.to_json(), "via_gateway": seen.via_gateway.to_json()}


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
