"""Ask Prometheus what left the mesh: Istio's standard metrics over a window, as plain data.

The metrics and labels are Istio's standard ones
(istio.io content/en/docs/reference/config/metrics/index.md): `istio_requests_total`,
`istio_tcp_connections_opened_total`, `istio_tcp_sent_bytes_total` with `reporter`,
`source_workload`, `source_workload_namespace`, `destination_service`,
`destination_service_name`. What those labels hold for traffic leaving the mesh follows the
proxy's stats filter (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc,
`populatePeerInfo`): a client proxy or gateway reports `reporter="source"`;
`destination_service` is the host of the upstream cluster's Istio service (a ServiceEntry's
host; Istio names a ServiceEntry service after its host, so `destination_service_name` is the
host too), or the request's Host header when the cluster carries none; traffic on the
`allow_any` route or to the PassthroughCluster has `destination_service_name="PassthroughCluster"`,
on `block_all` or to the BlackHoleCluster `"BlackHoleCluster"`. Istio's blog "Monitoring blocked
and passthrough external service traffic" (istio.io content/en/blog/2019/
monitoring-external-service-traffic/index.md) adds that a TCP connection to the BlackHoleCluster
is counted by `istio_tcp_connections_closed_total`, not opened: so that one is asked too.

Every query is an instant query at the end of the window over `increase(...[window])`, summed
by the labels above and bounded by `topk`. Standard metrics carry no destination port, so
observed traffic is per host. Nothing here raises: when Prometheus cannot be asked, or gives
an answer that is not valid (a non-finite number, a malformed vector, an error), the whole
section is "not assessed" with that one-line reason and no series are kept: a broken or hostile
answer to one query makes the others no more trustworthy, and a partial view would read as fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.input.prometheus.client import PrometheusClient, PrometheusError, Sample

LIMIT = 500
BY = (
    "source_workload",
    "source_workload_namespace",
    "destination_service",
    "destination_service_name",
)
PASSTHROUGH = "PassthroughCluster"
BLACKHOLE = "BlackHoleCluster"
# (name in the report, Istio metric)
EXTERNAL_METRICS = (
    ("requests", "istio_requests_total"),
    ("connections", "istio_tcp_connections_opened_total"),
    ("bytes", "istio_tcp_sent_bytes_total"),
)
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z: the last second a report can print
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
_PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PROM_DURATION = re.compile(r"^(?:(\d+)(ms|s|m|h|d|w|y))+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One summed series: what one source workload sent to one destination in the window."""

    metric: str  # requests | connections | bytes | blocked_connections
    source_workload: str
    source_namespace: str
    destination_service: str
    destination_service_name: str
    value: float


@dataclass(slots=True, kw_only=True)
class Telemetry:
    """What Prometheus said, with the queries that asked it and what it could not say."""

    url: str
    since: str
    window_seconds: float
    start: float
    end: float
    available: bool = False
    version: str | None = None
    retention: str | None = None
    covered_from: float | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    external: list[Series] = field(default_factory=list)
    to_gateway: list[Series] = field(default_factory=list)
    coverage: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    not_assessed: str | None = None  # why the section says nothing, one line

    def give_up(self, reason: str) -> Telemetry:
        """Nothing observed: every series dropped, the reason recorded (and as a coverage note)."""
        self.available = False
        self.external.clear()
        self.to_gateway.clear()
        self.covered_from = None
        self.not_assessed = reason
        self.coverage.append(reason)
        return self


def promql_string(text: str) -> str:
    """A PromQL double-quoted string literal of `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def re2_literal(text: str) -> str:
    """`text` as an RE2 pattern that matches only itself."""
    return _RE2_SPECIAL.sub(r"\\\1", text)


def prom_duration(text: str) -> float | None:
    """Seconds of a Prometheus duration such as `15d` or `1w2d` (None if it is not one)."""
    value = text.strip()
    if not _PROM_DURATION.match(value):
        return None
    return float(
        sum(int(n) * _PROM_UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", value))
    )


def _summed(selector: str, window: int, by: tuple[str, ...] = BY) -> str:
    return f"topk({LIMIT}, sum by ({', '.join(by)}) (increase({selector}[{window}s])) > 0)"


def build_queries(
    window_seconds: float, domain: str, gateway_hosts: list[str]
) -> list[dict[str, str]]:
    """The PromQL mesh-audit sends, by name (recorded in report.json `observed.queries`)."""
    window = max(60, int(window_seconds))
    internal = promql_string(f".*\\.svc\\.{re2_literal(domain)}")
    out: list[dict[str, str]] = []
    for name, metric in EXTERNAL_METRICS:
        selector = f'{metric}{{reporter="source",destination_service!~{internal}}}'
        out.append(
            {"name": f"external_{name}", "metric": name, "promql": _summed(selector, window)}
        )
    blocked = (
        f'istio_tcp_connections_closed_total{{reporter="source",'
        f'destination_service_name="{BLACKHOLE}"}}'
    )
    out.append(
        {
            "name": "blackhole_tcp",
            "metric": "blocked_connections",
            "promql": _summed(blocked, window),
        }
    )
    if gateway_hosts:
        hosts = promql_string("|".join(re2_literal(h) for h in sorted(set(gateway_hosts))))
        for name, metric in EXTERNAL_METRICS[:2]:
            selector = f'{metric}{{reporter="source",destination_service=~{hosts}}}'
            out.append(
                {"name": f"to_gateway_{name}", "metric": name, "promql": _summed(selector, window)}
            )
    return out


def collect(
    client: PrometheusClient,
    *,
    since: str,
    window_seconds: float,
    end: float,
    domain: str,
    gateway_hosts: list[str],
) -> Telemetry:
    """Ask Prometheus; never raises (what failed is in `coverage`)."""
    tel = Telemetry(
        url=client.display_url,
        since=since,
        window_seconds=window_seconds,
        start=end - window_seconds,
        end=end,
    )
    try:
        build = client.buildinfo()
        tel.version = _text(build.get("version"))
        _retention(client, tel)
        names = '"istio_requests_total|istio_tcp_connections_opened_total"'
        window = max(60, int(window_seconds))
        probe = f"group by (reporter) (last_over_time({{__name__=~{names}}}[{window}s]))"
        tel.reporters = sorted(
            _text(s.labels.get("reporter")) or "" for s in client.query(probe, end)
        )
    except PrometheusError as exc:
        return tel.give_up(f"Prometheus not queried: {exc}; no traffic was observed")
    tel.queries.append({"name": "reporters", "promql": probe, "series": len(tel.reporters)})
    if "source" not in tel.reporters:
        return tel.give_up(
            "Prometheus holds no Istio standard metrics reported by client proxies "
            '(reporter="source") in the window: it does not scrape the proxies, or their '
            "metrics are renamed or dropped; no traffic was observed"
        )
    tel.available = True
    missing: set[str] = set()
    for q in build_queries(window_seconds, domain, gateway_hosts):
        try:
            samples = client.query(q["promql"], end)
        except PrometheusError as exc:
            tel.queries.append({**q, "series": None, "error": str(exc)})
            return tel.give_up(f"query {q['name']} failed: {exc}")
        tel.queries.append({**q, "series": len(samples)})
        if len(samples) >= LIMIT:
            tel.coverage.append(
                f"query {q['name']} returned its limit of {LIMIT} series (topk): smaller flows "
                "are not shown"
            )
        rows = [_series(q["metric"], s, missing) for s in samples]
        (tel.to_gateway if q["name"].startswith("to_gateway") else tel.external).extend(rows)
    for label in sorted(missing):
        tel.coverage.append(
            f"some series lack the label {label} (a Telemetry resource or relabelling removed "
            "it?): their traffic is counted but not attributed"
        )
    return tel


def _text(value: object, limit: int = 200) -> str | None:
    """A string Prometheus sent, capped; anything else (a number, a nested value) is None."""
    return value[:limit] or None if isinstance(value, str) else None


def _series(metric: str, sample: Sample, missing: set[str]) -> Series:
    labels = sample.labels
    for label in BY:
        if not labels.get(label):
            missing.add(label)
    return Series(
        metric=metric,
        source_workload=labels.get("source_workload") or "unknown",
        source_namespace=labels.get("source_workload_namespace") or "unknown",
        destination_service=labels.get("destination_service") or "unknown",
        destination_service_name=labels.get("destination_service_name") or "unknown",
        value=sample.value,
    )


def _retention(client: PrometheusClient, tel: Telemetry) -> None:
    """How much of the window Prometheus can still hold: its retention setting and, when it
    scrapes itself, the oldest sample it keeps (prometheus_tsdb_lowest_timestamp_seconds)."""
    try:
        info = client.runtimeinfo()
    except PrometheusError:
        info = {}  # older Prometheus versions have no runtimeinfo; the retention is unknown
    retention = _text(info.get("storageRetention"), 100)
    tel.retention = retention
    if retention:
        seconds = prom_duration(retention.split(" or ")[0])
        if seconds is not None and seconds < tel.window_seconds:
            tel.covered_from = max(tel.start, tel.end - seconds)
            tel.coverage.append(
                f"Prometheus retention {retention} is shorter than the window {tel.since}: "
                f"only the last {retention} can be observed"
            )
    lowest = client.query("min(prometheus_tsdb_lowest_timestamp_seconds)", tel.end)
    if lowest and not 0 <= lowest[0].value <= MAX_TIME:
        raise PrometheusError(
            f"the oldest sample time it answered ({lowest[0].value:g}) is not a time"
        )
    if lowest and lowest[0].value > tel.start:
        oldest = lowest[0].value
        tel.covered_from = max(tel.covered_from or tel.start, oldest)
        tel.coverage.append(
            f"Prometheus holds samples only from {_iso(oldest)} "
            f"(prometheus_tsdb_lowest_timestamp_seconds): the window {tel.since} is cut short"
        )


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
