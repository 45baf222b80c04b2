"""Least privilege against FakeKubeAPI: the base install cannot list Secrets (403), and the
certificate checks then say "not audited", never "missing"; ConfigMaps are read only in the Istio
root namespace, which a Role there is enough for; --fail-on-partial makes a lost kind loud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from auditor.base.errors import InputError
from auditor.checks import all_checks
from auditor.cli import main
from auditor.run.partial import parse_kinds, unread_kinds
from tests.kubeapi import FakeKubeAPI
from tests.live_support import kubeconfig, load_demo

SECRET_CHECKS = {"TLS003", "TLS004", "TLS007"}
NOT_AUDITED = "not audited: Secrets not readable (forbidden)"


@pytest.fixture
def demo(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    return load_demo(kube_api)


def scan(api: FakeKubeAPI, tmp_path: Path, out: str, *extra: str) -> tuple[Result, dict[str, Any]]:
    kc = kubeconfig(api, tmp_path)
    target = tmp_path / out
    result = CliRunner().invoke(
        main,
        [
            "--context",
            "prod",
            "--kubeconfig",
            str(kc),
            "--format",
            "json",
            "--output-dir",
            str(target),
            *extra,
        ],
        catch_exceptions=False,
    )
    return result, json.loads((target / "report.json").read_text())


def keys(data: dict[str, Any], drop: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    return {(f["check"], f["id"]) for f in data["findings"] if f["check"] not in drop}


def test_the_certificate_checks_are_exactly_the_secret_readers() -> None:
    assert {c.meta.id for c in all_checks() if "Secret" in c.needs} == SECRET_CHECKS


def test_secrets_forbidden_means_not_audited_never_missing(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    full_result, full = scan(demo, tmp_path, "full")
    assert full_result.exit_code == 0
    # with Secrets readable the demo's missing certificate Secret is found
    assert "TLS003" in {f["check"] for f in full["findings"]}

    demo.forbid("secrets")
    result, data = scan(demo, tmp_path, "least")
    assert result.exit_code == 0, result.output  # partial, but not asked to fail on it
    assert data["collection"]["Secret"]["status"] == "forbidden"
    runs = {r["check"]: r for r in data["check_runs"]}
    for check in SECRET_CHECKS:
        assert runs[check]["status"] == "skipped"
        assert runs[check]["message"] == NOT_AUDITED
        assert runs[check]["missing_kinds"] == ["Secret"]
    # nothing is reported missing: the certificate checks produced nothing, the rest is unchanged
    assert not {f["check"] for f in data["findings"]} & SECRET_CHECKS
    assert keys(data) == keys(full, frozenset(SECRET_CHECKS))
    assert f"check TLS003 skipped: {NOT_AUDITED}" in result.stdout


def test_fail_on_partial_exits_5_and_names_the_kind(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.forbid("secrets")
    result, data = scan(demo, tmp_path, "out", "--fail-on-partial")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        "mesh-audit: partial audit: not read: Secret (forbidden): secrets is forbidden: User "
        '"system:serviceaccount:mesh-audit:mesh-audit" cannot list resource "secrets" in API '
        'group "" at the cluster scope, nor in any namespace'
    ]
    # the report was still written in full
    assert data["collection"]["Secret"]["status"] == "forbidden"

    # Secrets expected unreadable (the base install): the run passes
    result, _ = scan(demo, tmp_path, "ok", "--fail-on-partial", "--partial-ok", "Secret")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_unread_kinds_counts_partial_reads_not_uninstalled_apis() -> None:
    data = {
        "collection": {
            "Secret": {"status": "forbidden", "message": "denied"},
            "networking.istio.io/Gateway": {
                "status": "ok",
                "message": "forbidden in namespaces: a",
            },
            "gateway.networking.k8s.io/TCPRoute": {"status": "not-installed", "message": "no CRD"},
            "Service": {"status": "ok", "message": ""},
            "Pod": {"status": "error", "message": "timeout"},
        }
    }
    assert [u.line() for u in unread_kinds(data)] == [
        "Pod (error): timeout",
        "Secret (forbidden): denied",
        "networking.istio.io/Gateway (partial): forbidden in namespaces: a",
    ]
    tolerated = parse_kinds(["secrets,gateways.networking.istio.io", "Pod"])
    assert tolerated == {"Secret", "networking.istio.io/Gateway", "Pod"}
    assert unread_kinds(data, tolerated) == []
    with pytest.raises(InputError, match="ambiguous kind"):
        parse_kinds(["Gateway"])  # Istio or Gateway API: say which


def test_fail_on_partial_passes_a_complete_audit(demo: FakeKubeAPI, tmp_path: Path) -> None:
    result, _ = scan(demo, tmp_path, "out", "--fail-on-partial")
    assert result.exit_code == 0, result.output


def test_partial_ok_rejects_an_unknown_kind(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(demo, tmp_path)
    result = CliRunner().invoke(
        main, ["--context", "prod", "--kubeconfig", str(kc), "--partial-ok", "Secrets2"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "mesh-audit: error: --partial-ok Secrets2: unknown kind (use group/Kind, e.g. Secret, "
        "networking.istio.io/Gateway)"
    )
    assert demo.requests == []  # rejected before anything was collected


def test_mesh_config_needs_only_the_root_namespace(demo: FakeKubeAPI, tmp_path: Path) -> None:
    # a Role in istio-system, no cluster-wide ConfigMap grant: the mesh config is still read
    demo.forbid_cluster_wide("configmaps")
    result, data = scan(demo, tmp_path, "out", "--fail-on-partial", "--partial-ok", "Secret")
    assert result.exit_code == 0, result.output
    assert data["collection"]["ConfigMap"]["status"] == "ok"
    assert data["collection"]["ConfigMap"].get("message", "") == ""
    assert data["mesh_config"]["source"].startswith("ConfigMap istio-system/istio")
    asked = {r.path for r in demo.requests if r.path.endswith("/configmaps")}
    assert asked == {"/api/v1/namespaces/istio-system/configmaps"}
