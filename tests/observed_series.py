"""The metrics Istio's proxies would report for fixtures/cases/observed/mesh.yaml, as OpenMetrics.

Metric names and labels follow Istio's standard metrics (istio/istio.io
content/en/docs/reference/config/metrics/index.md, commit
0d3a9e890c553efbbcd9b6d4f9ebb594bd23c81d). What the labels hold for egress follows the proxy's
stats filter (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc, commit
00aaa6e7900560d32b2923cddb04ebcfa02c822b, `populatePeerInfo`) and Istio's blog
"Monitoring blocked and passthrough external service traffic" (istio/istio.io
content/en/blog/2019/monitoring-external-service-traffic/index.md, commit
25aaf042b2ed956e91003a190d1b871616f5ec2d):
- client proxies and gateways report `reporter="source"`;
- a ServiceEntry host's cluster carries the host as the Istio service's host and name (Istio names
  a ServiceEntry service after its host: istio/istio
  pilot/pkg/serviceregistry/serviceentry/conversion.go), so `destination_service` and
  `destination_service_name` are the host, `destination_service_namespace` the entry's namespace;
- a sidecar routed to the egress gateway reports the gateway's Service as `destination_service`;
  the gateway's own hop out reports the external host with the gateway as `source_workload`;
- PassthroughCluster / BlackHoleCluster set `destination_service_name`; HTTP keeps the Host header
  in `destination_service`, TCP has `unknown`; a TCP connection to the BlackHoleCluster is counted
  by `istio_tcp_connections_closed_total` (the blog), not opened.

Each counter rises linearly from 0 over SAMPLES one-minute steps ending TAIL seconds before now,
so `increase(...[7d])` at now is the final value times (SAMPLES*60 + 30) / (SAMPLES*60):
Prometheus extrapolates a range that ends more than 1.1 sample intervals after the last sample by
half an interval, and not before a counter that starts at 0 (promql/functions.go
extrapolatedRate).
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLES = 20
STEP = 60
TAIL = 600
GATEWAY_SVC = "istio-egressgateway.istio-system.svc.cluster.local"


@dataclass(frozen=True)
class Flow:
    metric: str  # istio_requests_total | istio_tcp_connections_opened_total | ...
    source: str  # namespace/workload
    service: str  # destination_service
    service_name: str  # destination_service_name
    service_namespace: str
    total: int
    reporter: str = "source"
    response_code: str = "200"
    drop: tuple[str, ...] = ()  # labels a Telemetry resource or relabelling removed


FLOWS = (
    # apps/sleep calls edition.cnn.com: its sidecar sends it to the egress gateway ...
    Flow(
        "istio_requests_total",
        "apps/sleep",
        GATEWAY_SVC,
        "istio-egressgateway",
        "istio-system",
        120,
    ),
    # ... and the gateway sends it on
    Flow(
        "istio_requests_total",
        "istio-system/istio-egressgateway",
        "edition.cnn.com",
        "edition.cnn.com",
        "apps",
        120,
    ),
    Flow(
        "istio_requests_total",
        "istio-system/istio-egressgateway",
        "httpbin.org",
        "httpbin.org",
        "apps",
        40,
    ),
    # apps/reporter reached httpbin.org straight from its sidecar: routed through the gateway
    # by the configuration, yet it left directly
    Flow("istio_requests_total", "apps/reporter", "httpbin.org", "httpbin.org", "apps", 80),
    # api.github.com (TLS, not routed): straight out from apps/sleep's sidecar
    Flow(
        "istio_tcp_connections_opened_total",
        "apps/sleep",
        "api.github.com",
        "api.github.com",
        "apps",
        40,
    ),
    Flow(
        "istio_tcp_sent_bytes_total",
        "apps/sleep",
        "api.github.com",
        "api.github.com",
        "apps",
        51200,
    ),
    # ALLOW_ANY: an HTTP call to an unregistered host keeps its Host header ...
    Flow("istio_requests_total", "apps/sleep", "example.org", "PassthroughCluster", "unknown", 200),
    # ... a TCP one does not
    Flow(
        "istio_tcp_connections_opened_total",
        "apps/worker",
        "unknown",
        "PassthroughCluster",
        "unknown",
        8,
    ),
    # REGISTRY_ONLY (Sidecar in `locked`): refused
    Flow(
        "istio_requests_total",
        "locked/batch",
        "evil.example",
        "BlackHoleCluster",
        "unknown",
        40,
        response_code="502",
    ),
    Flow(
        "istio_tcp_connections_closed_total",
        "locked/batch",
        "unknown",
        "BlackHoleCluster",
        "unknown",
        4,
    ),
    # in-mesh traffic, both reporters: never egress
    Flow(
        "istio_requests_total",
        "apps/sleep",
        "reporter.apps.svc.cluster.local",
        "reporter",
        "apps",
        400,
    ),
    Flow(
        "istio_requests_total",
        "apps/sleep",
        "reporter.apps.svc.cluster.local",
        "reporter",
        "apps",
        400,
        reporter="destination",
    ),
)


def observed(total: int) -> int:
    """What `increase(...[window])` reports for a flow's total (see the module docstring)."""
    return round(total * (SAMPLES * STEP + STEP / 2) / (SAMPLES * STEP))


def _labels(flow: Flow) -> str:
    ns, workload = flow.source.split("/")
    labels = {
        "reporter": flow.reporter,
        "source_workload": workload,
        "source_workload_namespace": ns,
        "source_app": workload,
        "source_principal": f"spiffe://cluster.local/ns/{ns}/sa/{workload}",
        "destination_workload": "unknown",
        "destination_workload_namespace": "unknown",
        "destination_service": flow.service,
        "destination_service_name": flow.service_name,
        "destination_service_namespace": flow.service_namespace,
        "connection_security_policy": "unknown",
        "response_flags": "-",
        "request_protocol": "http" if flow.metric == "istio_requests_total" else "tcp",
    }
    if flow.metric == "istio_requests_total":
        labels["response_code"] = flow.response_code
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in flow.drop)


def openmetrics(now: float, flows: tuple[Flow, ...] = FLOWS) -> str:
    """OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`."""
    last = int(now) - TAIL
    first = last - SAMPLES * STEP
    lines: list[str] = []
    for metric in sorted({f.metric for f in flows}):
        lines.append(f"# TYPE {metric.removesuffix('_total')} counter")
        for flow in (f for f in flows if f.metric == metric):
            labels = _labels(flow)
            for i in range(SAMPLES + 1):
                value = flow.total * i // SAMPLES if i < SAMPLES else flow.total
                lines.append(f"{metric}{{{labels}}} {value} {first + i * STEP}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
