"""Issue #21: hostile and broken API answers against the loopback FakeKubeAPI, end to end.

Per fault: the run ends in bounded time, with the documented exit code (0 with a partial audit
naming the failed kind, 3 for a cluster that cannot be read, 4 for an audit that failed closed),
the report states what happened, and the request log shows what was asked. Deadlines and
timeouts are tiny so that the whole file stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from auditor.cli import main
from auditor.input.cluster.transport import DEFAULT_MAX_BODY_BYTES
from auditor.input.kinds import KINDS
from tests.kubeapi import FakeKubeAPI
from tests.kubeapi.fixture import running_kube_api
from tests.live_support import METADATA_LIST, kubeconfig, load_demo

# Seconds a run may take beyond its --deadline: start-up, checks and report writing on a busy
# CI machine. Without the deadline these faults run for 20 s (429 storm) to 100 s (slow drip).
SLACK = 6
FAST = ["--request-timeout", "1", "--deadline", "5", "--max-retries", "0", "--no-progress"]


@pytest.fixture(scope="module")
def shared_demo() -> Iterator[FakeKubeAPI]:
    """One demo cluster for the module (starting one costs seconds); faults are per test."""
    with running_kube_api() as api:
        yield load_demo(api)


@pytest.fixture
def demo(shared_demo: FakeKubeAPI) -> Iterator[FakeKubeAPI]:
    shared_demo.clear_faults()
    shared_demo.clear_requests()
    yield shared_demo
    shared_demo.clear_faults()


@pytest.fixture
def own_demo(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    """A demo cluster of its own, for a test that adds objects."""
    return load_demo(kube_api)


def scan(api: FakeKubeAPI, tmp_path: Path, *extra: str) -> tuple[Result, float]:
    kc = kubeconfig(api, tmp_path)
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), *FAST]
    args += ["--format", "json", "--output-dir", str(tmp_path / "out"), *extra]
    started = time.monotonic()
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result, time.monotonic() - started


def report(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text())
    return data


def not_ok(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        k: (v["status"], v["message"]) for k, v in data["collection"].items() if v["status"] != "ok"
    }


def lists(api: FakeKubeAPI, path: str) -> list[int]:
    return [r.status for r in api.requests if r.path == path and "limit" in r.query]


SERVICES = "/api/v1/services"
N = len(KINDS)
ISTIO = sum(1 for k in KINDS if k.is_istio)


BAD_LIST_ANSWERS = (
    (
        "services",
        "Service",
        SERVICES,
        '{"kind":"ServiceList","items":[{"metadata":{"na',  # cut, no Content-Length
        "application/json",
        "invalid JSON (unexpected end of data, byte 47)",
    ),
    (
        "services",
        "Service",
        SERVICES,
        "<html><body>Proxy login required</body></html>",  # a corporate proxy, status 200
        "text/html; charset=utf-8",
        "answered text/html, not JSON",
    ),
    (
        "services",
        "Service",
        SERVICES,
        '{"kind":"ServiceList","items":{"a":1}}',
        "application/json",
        "items is not a list (a JSON dict)",
    ),
    (
        "services",
        "Service",
        SERVICES,
        '{"kind":"ServiceList","items":[42]}',
        "application/json",
        "items[0] is not an object with metadata.name",
    ),
    (
        "networking.istio.io/gateways",
        "networking.istio.io/Gateway",
        "/apis/networking.istio.io/v1/gateways",
        '{"kind":"SecretList","items":[]}',
        "application/json",
        "answered kind SecretList, expected GatewayList",
    ),
    (
        "secrets",
        "Secret",
        "/api/v1/secrets",
        # a server that ignores the metadata-only Accept header: nothing of it is kept
        '{"kind":"SecretList","items":[{"metadata":{"name":"x"},"data":{"k":"c2VjcmV0"}}]}',
        "application/json",
        "the server did not answer metadata only (PartialObjectMetadataList); nothing kept",
    ),
    (
        "services",
        "Service",
        SERVICES,
        "[1, 2, 3]",
        "application/json",
        "not a list document (a JSON list)",
    ),
)


def test_bad_list_answer_marks_that_kind_error_and_the_scan_goes_on(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    for resource, key, path, body, content_type, message in BAD_LIST_ANSWERS:
        demo.clear_faults()
        demo.clear_requests()
        demo.answer_raw(resource, body, content_type=content_type)
        result, took = scan(demo, tmp_path)
        assert result.exit_code == 0, result.output
        assert took < 5 + SLACK  # --deadline 5
        data = report(tmp_path)
        assert not_ok(data) == {key: ("error", message)}
        assert data["audit"]["complete"] is True
        assert f"NOT READ {key} (error): {message}" in result.stdout
        assert lists(demo, path) == [200]  # a bad answer is not retried
        assert data["summary"]["coverage"] == {"kinds_read": N - 1, "kinds_total": N}
        if key == "Secret":
            assert data["inventory"].get("Secret", 0) == 0


def test_truncated_body_with_content_length_is_a_dropped_answer(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    demo.truncate("services", '{"kind":"ServiceList","items":[', declared=5000)
    result, took = scan(demo, tmp_path)
    assert result.exit_code == 0, result.output
    assert took < 5 + SLACK  # --deadline 5
    assert not_ok(report(tmp_path)) == {
        "Service": ("error", "connection closed before the whole answer arrived")
    }


BAD_DISCOVERY = (
    ("/apis", '{"groups":{"a":1}}', "application/json", "/apis: not an APIGroupList document"),
    ("/api", '{"versions":"v1"}', "application/json", "/api: not an APIVersions document"),
    ("/apis", "<html>proxy</html>", "text/html", "/apis: answered text/html, not JSON"),
    ("/version", "[]", "application/json", "/version: not a version document"),
    ("/version", "{", "application/json", "/version: invalid JSON"),
    (
        "/apis/networking.istio.io/v1",
        '{"resources":[{"kind":"Gateway"}]}',
        "application/json",
        "/apis/networking.istio.io/v1: not an APIResourceList document",
    ),
)


def test_bad_discovery_is_exit_3_with_one_line(demo: FakeKubeAPI, tmp_path: Path) -> None:
    for path, body, content_type, reason in BAD_DISCOVERY:
        demo.clear_faults()
        demo.answer_raw(path, body, content_type=content_type)
        result, took = scan(demo, tmp_path)
        assert result.exit_code == 3, result.output
        assert took < 5 + SLACK  # --deadline 5
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(
            f"mesh-audit: error: cannot read {demo.url} (context prod): {reason}"
        )
        assert not (tmp_path / "out" / "report.json").exists()


def test_server_error_storm_fails_closed(demo: FakeKubeAPI, tmp_path: Path) -> None:
    for resource in demo.resource_keys:
        demo.fail(resource, status=500, times=None)
    for fail_on in (["--fail-on", "critical"], ["--fail-on", "info"]):
        gated, _ = scan(demo, tmp_path, *fail_on)
        assert gated.exit_code == 4, gated.output
    demo.clear_requests()
    result, took = scan(demo, tmp_path, "--format", "json,html")
    assert result.exit_code == 4, result.output
    assert took < 5 + SLACK  # --deadline 5
    data = report(tmp_path)
    audit = data["audit"]
    assert (audit["complete"], audit["kinds_read"], audit["istio_kinds_read"]) == (False, 0, 0)
    assert audit["reasons"] == [
        f"none of the {ISTIO} Istio kinds the cluster serves could be read",
        f"read 0 of {N} needed kinds (0%), below the minimum coverage of 50%",
    ]
    assert data["findings"] == []
    assert result.stderr.endswith(
        f"mesh-audit: audit incomplete (fail closed): none of the {ISTIO} Istio kinds the "
        f"cluster serves could be read; read 0 of {N} needed kinds (0%), below the minimum "
        "coverage of 50%\n"
    )
    assert "AUDIT INCOMPLETE" in result.stdout
    html = (tmp_path / "out" / "report.html").read_text()
    cover = html[html.index('class="chapter cover"') : html.index("</section>")]
    assert "Audit incomplete: this is not a pass" in cover
    assert f"none of the {ISTIO} Istio kinds the cluster serves could be read" in cover
    assert {r.method for r in demo.requests} == {"GET"}
    assert lists(demo, SERVICES) == [500]  # --max-retries 0


def test_throttle_storm_ends_at_the_deadline_and_fails_closed(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    for resource in demo.resource_keys:
        demo.throttle(resource, times=1000, retry_after=1)
    result, took = scan(demo, tmp_path, "--max-retries", "20", "--deadline", "2")
    assert result.exit_code == 4, result.output
    assert took < 2 + SLACK
    data = report(tmp_path)
    assert data["audit"]["kinds_read"] == 0
    messages = {v["message"] for v in data["collection"].values()}
    assert messages == {"not read: the overall deadline (2s) passed"}
    # each kind at most at once, then after each Retry-After: 1 before the deadline (on a busy
    # machine the deadline may pass before a kind is asked at all)
    asked = [r for r in demo.requests if "limit" in r.query]
    assert {r.status for r in asked} == {429}
    assert all(len(lists(demo, path)) <= 3 for path in {r.path for r in asked})


def test_min_coverage_is_configurable(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.forbid("secrets")
    demo.forbid("services")
    result, _ = scan(demo, tmp_path, "--min-coverage", "0.95")
    assert result.exit_code == 4, result.output
    share = round(100 * (N - 2) / N)
    assert report(tmp_path)["audit"]["reasons"] == [
        f"read {N - 2} of {N} needed kinds ({share}%), below the minimum coverage of 95%"
    ]
    result, _ = scan(demo, tmp_path, "--min-coverage", "0.9")
    assert result.exit_code == 0, result.output


def test_slow_drip_body_is_stopped_at_the_deadline(demo: FakeKubeAPI, tmp_path: Path) -> None:
    body = '{"kind":"ServiceList","items":[]}' + " " * 400  # ~100 s at 4 bytes / 0.25 s
    demo.drip("services", body, chunk=4, interval=0.25)
    result, took = scan(demo, tmp_path, "--deadline", "2", "--request-timeout", "1")
    assert took < 2 + SLACK, took
    assert result.exit_code == 0, result.output
    assert not_ok(report(tmp_path)) == {
        "Service": ("error", "not read: the overall deadline (2s) passed")
    }


def test_endless_continue_stops_at_the_page_cap(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.endless_continue("pods")
    result, took = scan(demo, tmp_path, "--max-pages", "5")
    assert result.exit_code == 0, result.output
    assert took < 5 + SLACK  # --deadline 5
    assert not_ok(report(tmp_path)) == {
        "Pod": ("error", "list continues past 5 pages (--max-pages)")
    }
    tokens = [r.query.get("continue", "") for r in demo.requests if r.path == "/api/v1/pods"]
    assert tokens == ["", "page-1", "page-2", "page-3", "page-4"]


def test_oversized_declared_body_is_refused_unread(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.oversized("pods", declared=2 * 1024**3)
    result, took = scan(demo, tmp_path)
    assert result.exit_code == 0, result.output
    assert took < 5 + SLACK  # --deadline 5
    assert not_ok(report(tmp_path)) == {
        "Pod": (
            "error",
            f"answer declares {2 * 1024**3} bytes, above the limit of "
            f"{DEFAULT_MAX_BODY_BYTES} (--max-body-bytes)",
        )
    }
    assert lists(demo, "/api/v1/pods") == [200]


def test_body_growing_past_the_cap_is_cut_off(demo: FakeKubeAPI, tmp_path: Path) -> None:
    body = '{"kind":"ServiceList","items":[]}' + " " * 100_000
    demo.answer_raw("services", body)
    result, _ = scan(demo, tmp_path, "--max-body-bytes", "65536")
    assert result.exit_code == 0, result.output
    assert not_ok(report(tmp_path)) == {
        "Service": (
            "error",
            f"answer declares {len(body)} bytes, above the limit of 65536 (--max-body-bytes)",
        )
    }
    demo.clear_faults()
    demo.drip("services", body, chunk=10_000, interval=0)  # chunked: no declared length
    result, _ = scan(demo, tmp_path, "--max-body-bytes", "65536")
    assert result.exit_code == 0, result.output
    assert not_ok(report(tmp_path)) == {
        "Service": ("error", "answer larger than the limit of 65536 bytes (--max-body-bytes)")
    }


HOSTILE_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "superscript", "namespace": "shop"},
    "spec": {
        "selector": {"matchLabels": {"app": "superscript"}},
        "template": {
            "metadata": {
                "labels": {"app": "superscript"},
                "annotations": {"traffic.sidecar.istio.io/excludeOutboundPorts": "²"},
            },
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        },
    },
}


def test_hostile_annotation_degrades_one_value_not_the_live_scan(
    own_demo: FakeKubeAPI, tmp_path: Path
) -> None:
    demo = own_demo
    demo.load_objects([HOSTILE_DEPLOYMENT])
    result, _ = scan(demo, tmp_path)
    assert result.exit_code == 0, result.output
    data = report(tmp_path)
    assert [
        (w["kind"], w["name"], w["problem"]) for w in data["warnings"] if w["kind"] == "Deployment"
    ] == [
        (
            "Deployment",
            "shop/superscript",
            "spec.template.metadata.annotations[traffic.sidecar.istio.io/excludeOutboundPorts]: "
            "not a port (0-65535, digits 0-9): '²'",
        )
    ]
    assert {r["status"] for r in data["check_runs"]} == {"ran"}


# ---- inputs that reach URLs -----------------------------------------------------------------


INVALID_NAMESPACES = (
    "a/../../../../api/v1/secrets#",
    "Shop",
    "shop?x=1",
    "-shop",
    "a" * 64,
    "",
    "sh%2Fop",
    "ns ",
)


def test_invalid_namespace_is_exit_2_before_any_request(demo: FakeKubeAPI, tmp_path: Path) -> None:
    for namespace in INVALID_NAMESPACES:
        result, _ = scan(demo, tmp_path, "-n", "shop", "-n", namespace)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1
        assert "is not a valid namespace name (a DNS-1123 label" in result.stderr
        assert demo.requests == []


def test_secrets_are_only_ever_requested_as_metadata(demo: FakeKubeAPI, tmp_path: Path) -> None:
    runs = [
        ("all", []),
        ("all", ["-n", "shop", "-n", "istio-system", "--max-pages", "1"]),
        ("namespaced", []),
        ("namespaced", ["-n", "payments"]),
        ("forbidden", []),
    ]
    for grant, options in runs:
        demo.clear_faults()
        demo.clear_requests()
        if grant == "namespaced":
            demo.forbid_cluster_wide("secrets")
        elif grant == "forbidden":
            demo.forbid("secrets")
        result, _ = scan(demo, tmp_path, *options)
        assert result.exit_code == 0, result.output
        secret_requests = [r for r in demo.requests if "secrets" in r.path]
        assert secret_requests
        assert {r.accept for r in secret_requests} == {METADATA_LIST}, (grant, options)
        assert all(r.path.endswith("/secrets") for r in secret_requests)


def test_namespaces_from_the_server_are_quoted_into_paths(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    # a hostile (or broken) server lists a namespace whose name is a path
    demo.answer_raw(
        "namespaces",
        '{"kind":"NamespaceList","items":[{"metadata":{"name":"a/../../../api/v1/secrets#"}}]}',
    )
    demo.forbid_cluster_wide("secrets")
    demo.forbid_cluster_wide("services")
    result, _ = scan(demo, tmp_path)
    assert result.exit_code == 0, result.output
    hostile = "a%2F..%2F..%2F..%2Fapi%2Fv1%2Fsecrets%23"
    raw = [r.raw_path for r in demo.requests if "/namespaces/a" in r.raw_path]
    assert sorted(raw) == [
        f"/api/v1/namespaces/{hostile}/secrets",
        f"/api/v1/namespaces/{hostile}/services",
    ]
    secret_requests = [r for r in demo.requests if r.raw_path.endswith("/secrets")]
    assert {r.accept for r in secret_requests} == {METADATA_LIST}


# ---- quiet means quiet ----------------------------------------------------------------------


def insecure_kubeconfig(api: FakeKubeAPI, tmp_path: Path) -> Path:
    import yaml

    path = kubeconfig(api, tmp_path)
    config = yaml.safe_load(path.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"].pop("certificate-authority", None)
        cluster["cluster"]["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump(config))
    return path


def test_skipped_tls_verification_is_one_collection_note(
    kube_api: FakeKubeAPI, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import warnings

    from auditor.input.cluster.live import INSECURE_TLS
    from auditor.report.terminal import render

    kc = insecure_kubeconfig(kube_api, tmp_path)
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), "--no-progress", "-q"]
    args += ["--format", "json", "--output-dir", str(tmp_path / "out")]
    with pytest.warns() as caught:
        quiet = CliRunner().invoke(main, args, catch_exceptions=False)
        warnings.warn("sentinel", UserWarning, stacklevel=1)  # pytest.warns needs one
    assert [str(w.message) for w in caught] == ["sentinel"]
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert "InsecureRequestWarning" not in capfd.readouterr().err
    data = report(tmp_path)
    assert [w["problem"] for w in data["warnings"]] == [INSECURE_TLS]
    assert render(data).count(INSECURE_TLS) == 1  # without -q: one terminal line


def test_incomplete_snapshot_and_diff_fail_closed(demo: FakeKubeAPI, tmp_path: Path) -> None:
    complete, _ = scan(demo, tmp_path)
    assert complete.exit_code == 0
    good = tmp_path / "good.json"
    (tmp_path / "out" / "report.json").rename(good)
    for resource in demo.resource_keys:
        demo.fail(resource, status=503, times=None)
    kc = kubeconfig(demo, tmp_path)
    saved = tmp_path / "snap.json"
    snap = CliRunner().invoke(
        main,
        ["snapshot", "--context", "prod", "--kubeconfig", str(kc), "-o", str(saved), *FAST[:6]],
        catch_exceptions=False,
    )
    assert snap.exit_code == 4, snap.output
    assert saved.exists()  # written, and it says what was not read
    assert snap.stderr.splitlines()[-1].startswith("mesh-audit: audit incomplete (fail closed):")
    failed, _ = scan(demo, tmp_path)
    assert failed.exit_code == 4
    bad = tmp_path / "out" / "report.json"
    diff = CliRunner().invoke(main, ["diff", str(good), str(bad)], catch_exceptions=False)
    assert diff.exit_code == 4
    assert diff.stderr.startswith(f"mesh-audit: error: {bad}: audit incomplete (fail closed): ")
    assert diff.stderr.endswith("; not compared\n")
    assert "resolved" not in diff.stdout.lower()
    # and as --baseline: the incomplete run is not compared at all
    again, _ = scan(demo, tmp_path, "--baseline", str(good))
    assert again.exit_code == 4
    data = report(tmp_path)
    assert "resolved" not in data and "baseline" not in data
    assert data["warnings"][-1]["problem"] == (
        f"baseline {good} not compared: this audit is incomplete"
    )
