"""`mesh-audit --context NAME` and `mesh-audit snapshot` end to end against FakeKubeAPI."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from auditor.checks import all_checks
from auditor.cli import main
from auditor.input.cluster.live import NO_ISTIO
from tests.helpers import DEMO, finding_keys
from tests.kubeapi import FakeKubeAPI
from tests.kubeapi.tls import write_tls_files
from tests.live_support import kubeconfig, load_demo


@pytest.fixture
def demo(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    return load_demo(kube_api)


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def report(args: list[str], out: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = invoke([*args, "--format", "json", "--output-dir", str(out)], env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    data["_stdout"] = result.stdout
    return data


def ids(data: dict[str, Any]) -> list[str]:
    return sorted(f["id"] for f in data["findings"])


# A live read never fetches Secret data (metadata-only lists), so the checks that need a
# Secret's keys or certificate can only judge saved manifests that carry them.
SECRET_DATA_CHECKS = {"TLS004", "TLS007"}


def without_secret_data_checks(data: dict[str, Any]) -> list[str]:
    return sorted(f["id"] for f in data["findings"] if f["check"] not in SECRET_DATA_CHECKS)


def test_live_scan_equals_file_scan(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    live = report(["--context", "prod", "--kubeconfig", str(kc)], tmp_path / "live")
    files = report(["scan", "--from", str(DEMO)], tmp_path / "files")
    assert live["findings"]
    assert ids(live) == without_secret_data_checks(files)
    # the only difference: T1 (payments-cert lacks tls.crt/tls.key) needs the Secret's keys
    assert finding_keys(files) - finding_keys(live) == {
        ("TLS004", "Gateway", "istio-ingress", "payments-gateway", "high")
    }
    assert finding_keys(live) <= finding_keys(files)
    assert live["summary"]["coverage"] == {"kinds_read": 35, "kinds_total": 35}
    source = live["source"]
    assert (source["type"], source["context"], source["server"]) == ("cluster", "prod", demo.url)
    assert (source["kubernetes_version"], source["istio_version"]) == ("v1.30.2", "1.24.2")
    assert live["_stdout"].startswith("mesh-audit 0.1.0: audited prod\n")
    assert {r.method for r in demo.requests} == {"GET"}


def test_kubeconfig_from_environment(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    live = report(["scan"], tmp_path / "out", env={"KUBECONFIG": str(kc)})  # current: prod
    assert live["source"]["context"] == "prod"
    files = report(["scan", "--from", str(DEMO)], tmp_path / "files")
    assert ids(live) == without_secret_data_checks(files)


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_snapshot_then_offline_scan_is_identical(
    demo: FakeKubeAPI, tmp_path: Path, name: str
) -> None:
    kc = str(kubeconfig(demo, tmp_path))
    target = tmp_path / name
    result = invoke(["snapshot", "--context", "prod", "--kubeconfig", kc, "-o", str(target)])
    assert result.exit_code == 0, result.output
    raw = target.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    doc = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
    assert doc["kind"] == "MeshAuditSnapshot"
    assert doc["source"]["context"] == "prod"
    assert {v["status"] for v in doc["collection"].values()} == {"ok"}
    secrets = [o for o in doc["objects"] if o["kind"] == "Secret"]
    assert secrets and all(set(s) == {"apiVersion", "kind", "metadata", "type"} for s in secrets)
    live = report(["--context", "prod", "--kubeconfig", kc], tmp_path / "live")
    offline = report(["scan", "--from", str(target)], tmp_path / "offline")
    assert ids(offline) == ids(live)
    assert offline["collection"] == live["collection"]
    assert offline["source"]["type"] == "snapshot"
    assert offline["source"]["istio_version"] == "1.24.2"


def test_forbidden_kind_is_named_and_its_checks_skipped(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.forbid("networking.istio.io/gateways")
    kc = kubeconfig(demo, tmp_path)
    data = report(["--context", "prod", "--kubeconfig", str(kc)], tmp_path / "out")
    key = "networking.istio.io/Gateway"
    assert data["collection"][key]["status"] == "forbidden"
    assert data["summary"]["coverage"] == {"kinds_read": 34, "kinds_total": 35}
    dependent = {c.meta.id for c in all_checks() if key in c.needs}
    assert dependent
    skipped = {r["check"] for r in data["check_runs"] if r["status"] == "skipped"}
    assert skipped == dependent
    assert not {f["check"] for f in data["findings"]} & dependent
    out = data["_stdout"]
    assert f"NOT READ {key} (forbidden): " in out
    for check in dependent:
        assert f"check {check} skipped" in out


def one_line_error(result: Result) -> str:
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


def test_dead_context_exits_3_with_one_line(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    result = invoke(["--context", "dead", "--kubeconfig", str(kc)])
    assert one_line_error(result) == (
        "mesh-audit: error: cannot reach https://127.0.0.1:1 (context dead): connection refused"
    )


def test_bad_token_exits_3_with_one_line(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path, stale="bad-token")
    result = invoke(["--context", "stale", "--kubeconfig", str(kc)])
    assert one_line_error(result) == (
        f"mesh-audit: error: authentication to {demo.url} (context stale) failed: Unauthorized"
    )
    assert [(r.path, r.status) for r in demo.requests] == [("/version", 401)]


def test_untrusted_certificate_exits_3(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    other = write_tls_files(tmp_path)
    config = yaml.safe_load(kc.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["certificate-authority"] = str(other.ca_cert)
    kc.write_text(yaml.safe_dump(config))
    result = invoke(["--context", "prod", "--kubeconfig", str(kc)])
    line = one_line_error(result)
    assert line.startswith(
        f"mesh-audit: error: cannot talk to {demo.url} (context prod): TLS handshake failed: "
    )
    assert "certificate verify failed" in line


def test_unknown_context_and_unreadable_kubeconfig(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    result = invoke(["--context", "staging", "--kubeconfig", str(kc)])
    assert one_line_error(result) == (
        f"mesh-audit: error: context staging not found in {kc} (contexts: prod, dead)"
    )
    missing = tmp_path / "nope"
    result = invoke(["snapshot", "--context", "prod", "--kubeconfig", str(missing), "-o", "x"])
    assert one_line_error(result) == (
        f"mesh-audit: error: cannot read kubeconfig {missing}: no such file"
    )
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    result = invoke(["--kubeconfig", str(broken)])
    assert one_line_error(result).startswith(f"mesh-audit: error: cannot parse kubeconfig {broken}")


def test_from_with_cluster_options_is_a_pre_merge_overlay(tmp_path: Path) -> None:
    # --context with --from audits the cluster with the files applied (tests/run/test_overlay.py),
    # so it reads the cluster: an unknown kubeconfig is a cluster error, not a usage error
    missing = tmp_path / "no-kubeconfig"
    result = invoke(
        ["scan", "--from", str(DEMO), "--context", "prod", "--kubeconfig", str(missing)]
    )
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1


def test_cluster_without_istio_states_it_and_runs_kubernetes_checks(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    api = load_demo(kube_api_factory(crds=False), strict=False)
    kc = kubeconfig(api, tmp_path)
    data = report(["--context", "prod", "--kubeconfig", str(kc)], tmp_path / "out")
    assert [w["problem"] for w in data["warnings"]] == [NO_ISTIO]
    assert NO_ISTIO in data["_stdout"]
    runs = {r["check"]: r["status"] for r in data["check_runs"]}
    istio_kinds = {k for k, v in data["collection"].items() if v["status"] == "not-installed"}
    for chk in all_checks():
        expected = "skipped" if set(chk.needs) & istio_kinds else "ran"
        assert runs[chk.meta.id] == expected, chk.meta.id
    assert "ran" in runs.values()
