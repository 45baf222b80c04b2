"""`scan --prometheus`: observed egress against a real Prometheus on loopback.

The mesh is fixtures/cases/observed/mesh.yaml; the series are tests/observed_series.py (both
name the Istio sources they follow), backfilled with promtool and served by the Debian
package's prometheus (tests/prometheus_support.py). The CLI's own client queries it over HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.case_helpers import CASES
from tests.helpers import finding_key
from tests.hostile_http import peer, redirect_to
from tests.observed_series import GATEWAY_SVC, Flow, observed, openmetrics
from tests.prometheus_support import free_port, prometheus_with

MESH = str(CASES / "observed" / "mesh.yaml")
HARDENED = str(CASES / "egress" / "hardened-mesh.yaml")
Key = tuple[str, str, str, str, str]
NO_PROXY = (
    "1 workloads that can send out have no proxy, so no metrics: their egress is not observed "
    "(Deployment apps/legacy-cron)"
)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prometheus_with(openmetrics(time.time()), tmp_path_factory.mktemp("prom")) as url:
        yield url


def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["scan", *args, "--output-dir", str(out), "--format", "json", "--no-progress"]
    )
    data = json.loads((out / "report.json").read_text())
    return result.exit_code, data, result.output


def keys(data: dict[str, Any], prefixes: tuple[str, ...] = ("BYP", "EGR", "TLS")) -> set[Key]:
    return {finding_key(f) for f in data["findings"] if f["check"].startswith(prefixes)}


def finding(data: dict[str, Any], check: str, name: str) -> dict[str, Any]:
    (found,) = [
        f for f in data["findings"] if f["check"] == check and f["resource"]["name"] == name
    ]
    return found


def src(ns: str, wl: str, requests: int = 0, connections: int = 0, bytes_: int = 0) -> dict:
    return {
        "namespace": ns,
        "workload": wl,
        "requests": requests,
        "connections": connections,
        "bytes": bytes_,
    }


# ---- exact findings -------------------------------------------------------------------------

WITHOUT_TELEMETRY: set[Key] = {
    ("BYP001", "ServiceEntry", "apps", "github", "medium"),
    ("BYP001", "ServiceEntry", "apps", "pypi", "medium"),
    ("BYP004", "Namespace", "", "apps", "medium"),
    ("BYP004", "Namespace", "", "locked", "medium"),
    ("BYP006", "Deployment", "apps", "legacy-cron", "medium"),
    ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
    ("TLS012", "ServiceEntry", "apps", "cnn", "medium"),
    ("TLS012", "ServiceEntry", "apps", "httpbin", "medium"),
}

WITH_TELEMETRY: set[Key] = {
    # did bypass: raised one level
    ("BYP001", "ServiceEntry", "apps", "github", "high"),
    # registered, never used in the window: unchanged, and EGR013 names it
    ("BYP001", "ServiceEntry", "apps", "pypi", "medium"),
    ("EGR013", "ServiceEntry", "apps", "pypi", "info"),
    ("BYP004", "Namespace", "", "apps", "medium"),
    ("BYP004", "Namespace", "", "locked", "medium"),
    ("BYP006", "Deployment", "apps", "legacy-cron", "medium"),
    # PassthroughCluster traffic observed under ALLOW_ANY: raised
    ("EGR001", "ConfigMap", "istio-system", "istio", "high"),
    ("EGR011", "Deployment", "apps", "sleep", "medium"),
    ("EGR011", "Deployment", "apps", "worker", "medium"),
    # BlackHoleCluster: who tried
    ("EGR012", "Deployment", "locked", "batch", "low"),
    # routed through the egress gateway, yet apps/reporter sent it directly
    ("BYP011", "ServiceEntry", "apps", "httpbin", "high"),
    ("TLS012", "ServiceEntry", "apps", "httpbin", "high"),
    # only through the gateway: TLS012 is not a bypass finding, so unchanged
    ("TLS012", "ServiceEntry", "apps", "cnn", "medium"),
}


def test_without_prometheus_the_observed_checks_have_no_input(tmp_path: Path) -> None:
    code, data, _ = scan(tmp_path, "--from", MESH)
    assert code == 0
    assert keys(data) == WITHOUT_TELEMETRY
    assert "observed" not in data
    runs = {r["check"]: r for r in data["check_runs"]}
    for check in ("BYP011", "EGR011", "EGR012", "EGR013"):
        assert runs[check]["status"] == "ran"
        assert runs[check]["message"] == "no telemetry: scan --prometheus not given"


def test_observed_findings_are_exact(prom: str, tmp_path: Path) -> None:
    code, data, out = scan(tmp_path, "--from", MESH, "--prometheus", prom, "--since", "7d")
    assert code == 0
    assert keys(data) == WITH_TELEMETRY
    assert data["observed"]["coverage"] == [NO_PROXY]
    assert [w["problem"] for w in data["warnings"]] == [f"observed egress: {NO_PROXY}"]
    assert (
        "Observed egress (last 7d): 2 hosts did bypass, 1 only through the egress gateway, 1 "
        "without traffic; PassthroughCluster from 2 workloads, BlackHoleCluster from 1 workloads"
    ) in out


def test_a_redirect_to_another_origin_reaches_prometheus_without_the_token(
    prom: str, tmp_path: Path
) -> None:
    """The configured URL (origin A) redirects to B, which redirects to the real Prometheus:
    the findings are those of a direct scan, and B's request log shows no token."""
    token = tmp_path / "token"
    token.write_text("s3cr3t-sa-token\n")
    with peer(redirect_to(prom)) as other, peer(redirect_to(other.url)) as first:
        code, data, _ = scan(
            tmp_path,
            "--from",
            MESH,
            "--prometheus",
            first.url,
            "--prometheus-token-file",
            str(token),
        )
    assert code == 0
    assert data["observed"]["available"] is True
    assert keys(data) == WITH_TELEMETRY
    assert first.seen and {s.authorization for s in first.seen} == {"Bearer s3cr3t-sa-token"}
    assert other.seen and {s.authorization for s in other.seen} == {None}
    assert len(other.seen) == len(first.seen)


def test_documented_egress_gateway_pattern_observed_through_the_gateway_is_quiet(
    tmp_path: Path,
) -> None:
    """Istio's egress gateway task, end state (hardened-mesh.yaml): traffic only through the
    gateway adds no finding and the host counts as used."""
    flows = (
        Flow(
            "istio_requests_total",
            "apps/sleep",
            "istio-egressgateway.istio-egress.svc.cluster.local",
            "istio-egressgateway",
            "istio-egress",
            80,
        ),
        Flow(
            "istio_requests_total",
            "istio-egress/istio-egressgateway",
            "edition.cnn.com",
            "edition.cnn.com",
            "apps",
            80,
        ),
    )
    with prometheus_with(openmetrics(time.time(), flows), tmp_path / "prom") as url:
        _, plain, _ = scan(tmp_path / "a", "--from", HARDENED)
        code, data, _ = scan(tmp_path / "b", "--from", HARDENED, "--prometheus", url)
    assert code == 0
    # the same findings, none of the observed checks; the task's plaintext HTTP leg (TLS012)
    # stays what it was: observed through the gateway changes only bypass findings
    assert keys(data) == keys(plain) == {("TLS012", "ServiceEntry", "apps", "cnn", "medium")}
    (host,) = data["observed"]["hosts"]
    assert host["verdict"] == "through-gateway"
    assert host["via_gateway"]["sources"] == [
        src("istio-egress", "istio-egressgateway", observed(80))
    ]
    assert data["observed"]["to_gateway"]["sources"] == [src("apps", "sleep", observed(80))]


# ---- Done when: did bypass, through the gateway, passthrough and blackhole -------------------


def test_a_host_reached_directly_did_bypass_with_counts_and_sources(
    prom: str, tmp_path: Path
) -> None:
    _, data, out = scan(tmp_path, "--from", MESH, "--prometheus", prom)
    hosts = {h["host"]: h for h in data["observed"]["hosts"]}
    github = hosts["api.github.com"]
    assert github["verdict"] == "did-bypass"
    assert github["direct"]["sources"] == [
        src("apps", "sleep", connections=observed(40), bytes_=observed(51200))
    ]
    byp = finding(data, "BYP001", "github")
    assert byp["evidence"]["observed"]["verdict"] == "did-bypass"
    assert byp["evidence"]["observed"]["severity_from"] == "medium"
    assert byp["evidence"]["observed"]["rule"] == "did bypass: raised one level"
    assert byp["message"].endswith(
        f"[observed, last 7d: {observed(40)} TCP connections, {observed(51200)} bytes directly "
        "from apps/sleep]"
    )
    # routed through the gateway, and yet: the contradiction is its own finding
    httpbin = hosts["httpbin.org"]
    assert httpbin["verdict"] == "did-bypass" and httpbin["routed"] is True
    assert httpbin["direct"]["sources"] == [src("apps", "reporter", observed(80))]
    assert httpbin["via_gateway"]["sources"] == [
        src("istio-system", "istio-egressgateway", observed(40))
    ]
    assert finding(data, "BYP011", "httpbin")["message"] == (
        "httpbin.org (ServiceEntry apps/httpbin): the configuration routes it through an egress "
        f"gateway, but in the last 7d workloads sent it directly: {observed(80)} requests from "
        f"apps/reporter ({observed(80)} requests)"
    )
    assert "BYP011" in out


def test_a_host_only_through_the_gateway_is_observed_through_the_gateway(
    prom: str, tmp_path: Path
) -> None:
    _, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", prom)
    hosts = {h["host"]: h for h in data["observed"]["hosts"]}
    cnn = hosts["edition.cnn.com"]
    assert cnn["verdict"] == "through-gateway"
    assert cnn["direct"]["sources"] == []
    assert cnn["via_gateway"]["sources"] == [
        src("istio-system", "istio-egressgateway", observed(120))
    ]
    # which workloads used the gateway is known per gateway Service (sidecar -> gateway hop)
    assert data["observed"]["to_gateway"]["sources"] == [src("apps", "sleep", observed(120))]
    tls = finding(data, "TLS012", "cnn")
    assert tls["evidence"]["observed"]["verdict"] == "through-gateway"
    assert tls["evidence"]["observed"]["rule"] == "unchanged"
    egress = {e["host"]: e for e in data["egress"]}
    assert egress["edition.cnn.com"]["observed"]["verdict"] == "through-gateway"
    assert hosts["pypi.org"]["verdict"] == "not-observed"
    assert data["observed"]["unused"] == ["pypi.org"]


def test_passthrough_and_blackhole_are_attributed_to_source_workloads(
    prom: str, tmp_path: Path
) -> None:
    _, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", prom)
    passthrough = data["observed"]["passthrough"]
    assert passthrough["sources"] == [
        src("apps", "sleep", observed(200)),
        src("apps", "worker", connections=observed(8)),
    ]
    assert passthrough["destinations"] == ["example.org"]
    blackhole = data["observed"]["blackhole"]
    assert blackhole["sources"] == [src("locked", "batch", observed(40), observed(4))]
    assert blackhole["destinations"] == ["evil.example"]
    assert finding(data, "EGR011", "sleep")["evidence"]["destinations"] == ["example.org"]
    assert finding(data, "EGR012", "batch")["message"] == (
        f"locked/batch tried {observed(40)} requests, {observed(4)} TCP connections to "
        "unregistered destinations the mesh refused (BlackHoleCluster) in the last 7d: "
        "evil.example"
    )
    egr001 = finding(data, "EGR001", "istio")["evidence"]["observed"]
    assert egr001["verdict"] == "passthrough"
    assert egr001["severity_from"] == "medium"


def test_report_json_carries_the_queries_window_version_and_validates(
    prom: str, tmp_path: Path
) -> None:
    from tests.report.test_schema import schema

    _, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", prom, "--since", "2d")
    obs = data["observed"]
    assert obs["available"] is True
    assert obs["prometheus"] == {"url": prom, "version": "2.42.0+ds", "retention": "30d"}
    assert obs["window"]["since"] == "2d" and obs["window"]["seconds"] == 172800
    names = [q["name"] for q in obs["queries"]]
    assert names == [
        "reporters",
        "external_requests",
        "external_connections",
        "external_bytes",
        "blackhole_tcp",
        "to_gateway_requests",
        "to_gateway_connections",
    ]
    by_name = {q["name"]: q for q in obs["queries"]}
    assert by_name["external_requests"]["promql"] == (
        "topk(500, sum by (source_workload, source_workload_namespace, destination_service, "
        'destination_service_name) (increase(istio_requests_total{reporter="source",'
        'destination_service!~".*\\\\.svc\\\\.cluster\\\\.local"}[172800s])) > 0)'
    )
    assert GATEWAY_SVC.replace(".", "\\\\.") in by_name["to_gateway_requests"]["promql"]
    assert by_name["external_requests"]["series"] == 5
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(data))
    assert [e.message for e in errors] == []


# ---- honest limits ---------------------------------------------------------------------------


def test_unreachable_prometheus_is_a_coverage_note_and_the_exit_code_is_unchanged(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    plain_code, plain, _ = scan(tmp_path / "a", "--from", MESH, "--fail-on", "medium")
    code, data, out = scan(
        tmp_path / "b", "--from", MESH, "--fail-on", "medium", "--prometheus", url
    )
    assert code == plain_code == 1  # gated by the configuration's own findings, as before
    assert keys(data) == keys(plain) == WITHOUT_TELEMETRY
    note = (
        f"Prometheus not queried: cannot reach {url}/api/v1/status/buildinfo: connection "
        "refused; no traffic was observed"
    )
    assert data["observed"]["coverage"] == [note]
    assert data["observed"]["available"] is False
    assert [w["problem"] for w in data["warnings"]] == [f"observed egress: {note}"]
    runs = {r["check"]: r for r in data["check_runs"]}
    assert runs["BYP011"]["status"] == "skipped"
    assert "observed egress: Prometheus not queried" in out
    code, _, _ = scan(tmp_path / "c", "--from", MESH, "--prometheus", url)
    assert code == 0


def test_retention_shorter_than_the_window_is_a_coverage_note(tmp_path: Path) -> None:
    with prometheus_with(openmetrics(time.time()), tmp_path / "prom", retention="1d") as url:
        code, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", url, "--since", "7d")
    assert code == 0
    assert data["observed"]["coverage"] == [
        "Prometheus retention 1d is shorter than the window 7d: only the last 1d can be observed",
        NO_PROXY,
        "hosts without traffic are judged over the covered part of the window only",
    ]
    assert data["observed"]["window"]["covered_from"] is not None
    # what was observed still counts; "never used" is not claimed over a window it cannot see
    assert keys(data) == WITH_TELEMETRY - {("EGR013", "ServiceEntry", "apps", "pypi", "info")}


def test_prometheus_without_istio_metrics_is_a_coverage_note(tmp_path: Path) -> None:
    flows = (
        Flow(
            "istio_requests_total",
            "apps/sleep",
            "reporter.apps.svc.cluster.local",
            "reporter",
            "apps",
            10,
            reporter="destination",
        ),
    )
    with prometheus_with(openmetrics(time.time(), flows), tmp_path / "prom") as url:
        code, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", url)
    assert code == 0
    assert data["observed"]["available"] is False
    assert data["observed"]["coverage"] == [
        "Prometheus holds no Istio standard metrics reported by client proxies "
        '(reporter="source") in the window: it does not scrape the proxies, or their metrics '
        "are renamed or dropped; no traffic was observed"
    ]
    assert keys(data) == WITHOUT_TELEMETRY


def test_series_without_the_source_labels_are_counted_not_attributed(tmp_path: Path) -> None:
    flows = (
        Flow("istio_tcp_connections_opened_total", "apps/sleep", "api.github.com",
             "api.github.com", "apps", 40, drop=("source_workload",)),
    )  # fmt: skip
    with prometheus_with(openmetrics(time.time(), flows), tmp_path / "prom") as url:
        _, data, _ = scan(tmp_path, "--from", MESH, "--prometheus", url)
    assert data["observed"]["coverage"] == [
        "some series lack the label source_workload (a Telemetry resource or relabelling "
        "removed it?): their traffic is counted but not attributed",
        NO_PROXY,
    ]
    (github,) = [h for h in data["observed"]["hosts"] if h["host"] == "api.github.com"]
    assert github["verdict"] == "did-bypass"
    assert github["direct"]["sources"] == [src("apps", "unknown", connections=observed(40))]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--prometheus", "http://127.0.0.1:9", "--context", "a", "--context", "b"],
            "--prometheus observes one cluster",
        ),
        (["--prometheus", "ftp://x"], "expected an http:// or https:// URL"),
        (["--prometheus", "http://127.0.0.1:9", "--since", "7x"], "--since: '7x' is not"),
        (["--prometheus", "http://127.0.0.1:9", "--since", "30s"], "shorter than 1m"),
        (["--prometheus-token-file", "t"], "--prometheus-token-file needs --prometheus URL"),
        (
            ["--prometheus", "http://127.0.0.1:9", "--prometheus-ca-file", "/nonexistent/ca"],
            "--prometheus-ca-file /nonexistent/ca: no such file",
        ),
    ],
)
def test_bad_prometheus_options_are_one_line_exit_2(args: list[str], message: str) -> None:
    source = [] if "--context" in args else ["--from", MESH]
    result = CliRunner().invoke(main, ["scan", *source, *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_egress_gateway_whose_pods_are_not_in_the_input_is_a_coverage_note(
    prom: str, tmp_path: Path
) -> None:
    """Istio deploys a Gateway API gateway's pods itself, so manifests often lack them; then
    nothing says which source workload is the gateway, and the report says so."""
    import yaml

    source = CASES / "egress" / "gateway-api-egress.yaml"
    docs = [
        d
        for d in yaml.safe_load_all(source.read_text())
        if not (d["kind"] == "Deployment" and d["metadata"]["name"] == "cnn-egress-gateway-istio")
    ]
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(yaml.safe_dump_all(docs))
    _, data, _ = scan(tmp_path, "--from", str(mesh), "--prometheus", prom)
    assert data["observed"]["coverage"] == [
        "egress gateway Gateway default/cnn-egress-gateway: its pods are not in the input, so "
        "traffic it sends on counts as direct"
    ]
