"""deploy/: the kustomize base renders, validates offline against the Kubernetes schemas, grants
read-only access to exactly the kinds the collector reads, and runs the audit hardened; the
scheduled wrapper writes timestamped folders and a `latest` copy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from auditor.input.cluster.discovery import rbac_resources
from auditor.input.kinds import KINDS, RBAC_CLUSTER, RBAC_OPT_IN, RBAC_ROOT_NAMESPACE
from tests.helpers import ROOT, find_tool
from tests.pipeline_helpers import COMMON, WAIVERS

DEPLOY = ROOT / "deploy"
SECRET_COMPONENT = DEPLOY / "components" / "secret-metadata"
SCRIPT = DEPLOY / "mesh-audit-scheduled.sh"
KUBECTL = find_tool("kubectl")
READ_VERBS = {"get", "list", "watch"}

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kustomize(path: Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


def overlay(tmp_path: Path, body: str) -> Path:
    """An overlay directory whose kustomization.yaml is `body` with {base} = deploy/."""
    out = tmp_path / "overlay"
    out.mkdir()
    (out / "kustomization.yaml").write_text(
        body.format(
            base=os.path.relpath(DEPLOY, out),
            components=os.path.relpath(DEPLOY / "components", out),
        )
    )
    return out


def only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def expected_rules(scope: str) -> dict[str, set[str]]:
    """API group -> resources granted at `scope`, straight from the collector's table of kinds."""
    out: dict[str, set[str]] = {}
    for spec in KINDS:
        if spec.rbac == scope:
            out.setdefault(spec.group, set()).add(spec.plural)
    return out


def test_every_kind_has_one_rbac_scope() -> None:
    scopes = (RBAC_CLUSTER, RBAC_ROOT_NAMESPACE, RBAC_OPT_IN)
    assert {spec.rbac for spec in KINDS} <= set(scopes)
    every = sorted((g, r) for s in scopes for g, rs in expected_rules(s).items() for r in rs)
    # the collector's own statement of what it lists says the same
    assert every == rbac_resources()
    # least privilege: Secrets are opt-in, ConfigMaps only in the root namespace
    assert expected_rules(RBAC_OPT_IN) == {"": {"secrets"}}
    assert expected_rules(RBAC_ROOT_NAMESPACE) == {"": {"configmaps"}}


def granted_by(role: dict[str, Any]) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no URLs, no names
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert not any("/" in r for r in rule["resources"]), rule  # no subresources
        for group in rule["apiGroups"]:
            granted.setdefault(group, set()).update(rule["resources"])
    # the collector only lists (paged); it never gets one object or watches
    assert {v for rule in role["rules"] for v in rule["verbs"]} == {"list"}
    return granted


@needs_kubectl
def test_base_renders_the_expected_objects(rendered: list[dict[str, Any]]) -> None:
    assert sorted((d["kind"], d["metadata"].get("namespace", "")) for d in rendered) == [
        ("ClusterRole", ""),
        ("ClusterRoleBinding", ""),
        ("ConfigMap", "mesh-audit"),
        ("CronJob", "mesh-audit"),
        ("Namespace", ""),
        ("PersistentVolumeClaim", "mesh-audit"),
        ("Role", "istio-system"),
        ("RoleBinding", "istio-system"),
        ("ServiceAccount", "mesh-audit"),
    ]
    assert only(rendered, "Namespace")["metadata"]["name"] == "mesh-audit"


@needs_kubectl
def test_cluster_role_is_exactly_the_collectors_kinds_read_only(
    rendered: list[dict[str, Any]],
) -> None:
    role = only(rendered, "ClusterRole")
    expected = expected_rules(RBAC_CLUSTER)
    assert granted_by(role) == expected, (
        "deploy/clusterrole.yaml and auditor/input/kinds.py KINDS differ; the rules should be:\n"
        + yaml.safe_dump(
            [
                {"apiGroups": [g], "resources": sorted(r), "verbs": ["list"]}
                for g, r in sorted(expected.items())
            ]
        )
    )


@needs_kubectl
def test_base_never_grants_secrets(rendered: list[dict[str, Any]]) -> None:
    for doc in rendered:
        if doc["kind"] in ("ClusterRole", "Role"):
            assert "secrets" not in {r for rule in doc["rules"] for r in rule["resources"]}
    env = only(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]["env"]
    # without the grant, an unreadable Secret list is expected and does not fail the Job
    assert {"name": "MESH_AUDIT_PARTIAL_OK", "value": "Secret"} in env


@needs_kubectl
def test_mesh_config_is_read_through_a_role_in_the_root_namespace(
    rendered: list[dict[str, Any]],
) -> None:
    role = only(rendered, "Role")
    binding = only(rendered, "RoleBinding")
    sa = only(rendered, "ServiceAccount")
    assert role["metadata"]["namespace"] == "istio-system"
    assert granted_by(role) == expected_rules(RBAC_ROOT_NAMESPACE)
    assert binding["metadata"]["namespace"] == "istio-system"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "mesh-audit", "namespace": sa["metadata"]["namespace"]}
    ]


@needs_kubectl
def test_secret_metadata_component_adds_exactly_secret_list(tmp_path: Path) -> None:
    docs = kustomize(
        overlay(tmp_path, "resources: [{base}]\ncomponents: [{components}/secret-metadata]\n")
    )
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    assert set(roles) == {"mesh-audit-reader", "mesh-audit-secret-metadata"}
    assert granted_by(roles["mesh-audit-secret-metadata"]) == expected_rules(RBAC_OPT_IN)
    bindings = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRoleBinding"}
    assert bindings["mesh-audit-secret-metadata"]["roleRef"]["name"] == (
        "mesh-audit-secret-metadata"
    )
    assert bindings["mesh-audit-secret-metadata"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "mesh-audit", "namespace": "mesh-audit"}
    ]
    # with the base, every kind the collector lists is granted exactly once
    all_granted: dict[str, set[str]] = {}
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "Role"):
            for group, resources in granted_by(doc).items():
                all_granted.setdefault(group, set()).update(resources)
    assert sorted((g, r) for g, rs in all_granted.items() for r in rs) == rbac_resources()
    # and an unreadable Secret list fails the scheduled run again
    container = only(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert {"name": "MESH_AUDIT_PARTIAL_OK", "value": ""} in container["env"]
    assert "--fail-on-partial" in container["args"]


@needs_kubectl
def test_binding_ties_the_role_to_the_cronjobs_service_account(
    rendered: list[dict[str, Any]],
) -> None:
    role = only(rendered, "ClusterRole")
    binding = only(rendered, "ClusterRoleBinding")
    sa = only(rendered, "ServiceAccount")
    pod = only(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": sa["metadata"]["name"],
            "namespace": sa["metadata"]["namespace"],
        }
    ]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]


@needs_kubectl
def test_cronjob_is_hardened_and_never_fails_on_findings(rendered: list[dict[str, Any]]) -> None:
    cron = only(rendered, "CronJob")
    spec = cron["spec"]
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert isinstance(job["backoffLimit"], int) and job["backoffLimit"] <= 2
    assert isinstance(job["activeDeadlineSeconds"], int) and job["activeDeadlineSeconds"] > 0
    assert pod["restartPolicy"] == "Never"
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] != 0
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    csc = container["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc["runAsNonRoot"] is True
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert csc["seccompProfile"] == {"type": "RuntimeDefault"}
    for section in ("requests", "limits"):
        assert set(container["resources"][section]) == {"cpu", "memory"}
    command = container["command"] + container.get("args", [])
    assert command[0] == "mesh-audit-scheduled"
    # findings never fail the Job; an audit that could not read a kind does (exit 5)
    assert not any(a.startswith("--fail-on") and a != "--fail-on-partial" for a in command)
    assert "--fail-on-partial" in command
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MESH_AUDIT_REPORTS_DIR"] == "/reports"
    assert container["image"] == "mesh-audit:0.1.0"
    # volumes: the PVC and the generated waivers ConfigMap (hash-suffixed name) of this base
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    pvc = only(rendered, "PersistentVolumeClaim")
    assert (
        volumes[mounts["/reports"]]["persistentVolumeClaim"]["claimName"]
        == (pvc["metadata"]["name"])
    )
    config_map = only(rendered, "ConfigMap")
    assert volumes[mounts["/etc/mesh-audit"]]["configMap"]["name"] == config_map["metadata"]["name"]
    assert config_map["metadata"]["name"].startswith("mesh-audit-waivers-")
    assert env["MESH_AUDIT_WAIVERS"] == "/etc/mesh-audit/" + next(iter(config_map["data"]))
    assert "emptyDir" in volumes[mounts["/tmp"]]


@needs_kubectl
def test_image_user_matches_the_pod_user(rendered: list[dict[str, Any]]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    pod = only(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert users == [(str(psc["runAsUser"]), str(psc["runAsGroup"]))]
    assert "/usr/local/bin/mesh-audit-scheduled" in dockerfile


SCHEMA_VERSIONS = [
    v
    for v in sorted(
        {kv_utils.major_minor(v) for v in kv_utils.all_versions()},
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
    # CronJob timeZone is GA from 1.27
    if tuple(int(p) for p in v.split(".")) >= (1, 27)
]


@needs_kubectl
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_rendered_manifests_validate_offline(rendered: list[dict[str, Any]], version: str) -> None:
    for doc in rendered:
        # strict: unknown fields are errors too; the schemas ship inside the package
        kubernetes_validate.validate(doc, version, strict=True)


def test_schema_versions_are_bundled() -> None:
    assert len(SCHEMA_VERSIONS) >= 3


@needs_kubectl
def test_validation_catches_a_broken_manifest(rendered: list[dict[str, Any]]) -> None:
    cron = json.loads(json.dumps(only(rendered, "CronJob")))
    cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cron, SCHEMA_VERSIONS[-1], strict=True)


# ---- the scheduled wrapper -----------------------------------------------------------------


@pytest.fixture
def wrapper_env(tmp_path: Path) -> dict[str, str]:
    """PATH with the installed mesh-audit and a `date` that prints $FAKE_STAMP."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    date = bin_dir / "date"
    date.write_text('#!/bin/sh\necho "$FAKE_STAMP"\n')
    date.chmod(0o755)
    mesh_audit = Path(sys.executable).parent / "mesh-audit"
    assert mesh_audit.exists()
    (bin_dir / "mesh-audit").symlink_to(mesh_audit)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "MESH_AUDIT_REPORTS_DIR": str(tmp_path / "reports"),
        "MESH_AUDIT_FORMATS": "json,sarif,junit,csv",
        "MESH_AUDIT_WAIVERS": str(tmp_path / "no-waivers.yaml"),
        "MESH_AUDIT_KEEP": "2",
    }


def run_wrapper(
    env: dict[str, str], stamp: str, *args: str, source: Path = COMMON
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), "--from", str(source), *args],
        env={**env, "FAKE_STAMP": stamp},
        capture_output=True,
        text=True,
        check=False,
    )


def test_wrapper_timestamped_runs_latest_baseline_retention(
    wrapper_env: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    first = run_wrapper(wrapper_env, "20261101T031700Z")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["20261101T031700Z", "latest"]
    run1 = reports / "20261101T031700Z"
    assert sorted(p.name for p in run1.iterdir()) == [
        "report.csv",
        "report.json",
        "report.junit.xml",
        "report.sarif",
    ]
    assert (reports / "latest" / "report.json").read_bytes() == (run1 / "report.json").read_bytes()
    assert not (reports / "latest").is_symlink()
    assert "baseline" not in json.loads((run1 / "report.json").read_text())

    # the second run is compared with the first (via latest/) and applies the waivers file
    wrapper_env["MESH_AUDIT_WAIVERS"] = str(WAIVERS)
    second = run_wrapper(wrapper_env, "20261102T031700Z")
    assert second.returncode == 0, second.stderr
    data = json.loads((reports / "20261102T031700Z" / "report.json").read_text())
    assert data["baseline"]["source"] == str(reports / "latest" / "report.json")
    assert data["baseline"]["new"] == 0 and data["baseline"]["resolved"] == 0
    assert "waiver_audit" in data
    latest = json.loads((reports / "latest" / "report.json").read_text())
    assert latest == data

    # a third run: only the newest two (MESH_AUDIT_KEEP=2) are kept
    assert run_wrapper(wrapper_env, "20261103T031700Z").returncode == 0
    assert sorted(p.name for p in reports.iterdir()) == [
        "20261102T031700Z",
        "20261103T031700Z",
        "latest",
    ]


def test_wrapper_failure_keeps_latest_and_exits_with_mesh_audits_code(
    wrapper_env: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    assert run_wrapper(wrapper_env, "20261101T031700Z").returncode == 0
    before = (reports / "latest" / "report.json").read_bytes()
    bad = tmp_path / "bad-waivers.yaml"
    bad.write_text("waivers:\n- check: GW001\n")
    wrapper_env["MESH_AUDIT_WAIVERS"] = str(bad)
    failed = run_wrapper(wrapper_env, "20261102T031700Z")
    assert failed.returncode == 2
    assert f"mesh-audit: error: {bad}: waivers[0]: 'reason' is required" in failed.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["20261101T031700Z", "latest"]
    assert (reports / "latest" / "report.json").read_bytes() == before


def test_wrapper_incomplete_run_keeps_latest_and_resolves_nothing(
    wrapper_env: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    assert run_wrapper(wrapper_env, "20261101T031700Z").returncode == 0
    before = (reports / "latest" / "report.json").read_bytes()
    assert json.loads(before)["findings"]
    # the same objects as a live read that could read none of the Istio kinds (500s, say)
    blind = tmp_path / "blind.json"
    blind.write_text(json.dumps(failed_istio_snapshot(COMMON)))
    failed = run_wrapper(wrapper_env, "20261102T031700Z", source=blind)
    assert failed.returncode == 4, failed.stderr
    assert "mesh-audit: audit incomplete (fail closed): none of the" in failed.stderr
    assert sorted(p.name for p in reports.iterdir()) == [
        "20261101T031700Z",
        "20261102T031700Z",
        "latest",
    ]
    assert (reports / "latest" / "report.json").read_bytes() == before
    data = json.loads((reports / "20261102T031700Z" / "report.json").read_text())
    assert data["audit"]["complete"] is False
    assert "baseline" not in data and "resolved" not in data
    assert all("baseline_status" not in f for f in data["findings"])


def failed_istio_snapshot(path: Path) -> dict[str, Any]:
    """A snapshot document of `path` whose Istio kinds all failed to be read."""
    from auditor.input.files import load_paths
    from auditor.input.snapshot import CollectionStatus
    from auditor.input.snapshot_file import document_for

    snapshot = load_paths([str(path)])
    for spec in KINDS:
        if spec.is_istio:
            snapshot.collection[spec.key] = CollectionStatus(
                status="error", message="HTTP 500: injected failure"
            )
    doc = document_for(snapshot)
    istio = {(s.group, s.kind) for s in KINDS if s.is_istio}
    doc["objects"] = [
        o
        for o in doc["objects"]
        if (str(o.get("apiVersion", "")).rpartition("/")[0], o.get("kind")) not in istio
    ]
    return doc


def test_wrapper_findings_do_not_fail_the_job(wrapper_env: dict[str, str]) -> None:
    # common.yaml has medium and low findings; without --fail-on the run still exits 0
    result = run_wrapper(wrapper_env, "20261101T031700Z")
    assert result.returncode == 0
    assert "mesh-audit-scheduled: wrote" in result.stdout


@pytest.mark.parametrize("keep", ["0", "x", "-1"])
def test_wrapper_rejects_a_bad_keep(wrapper_env: dict[str, str], keep: str) -> None:
    wrapper_env["MESH_AUDIT_KEEP"] = keep
    result = run_wrapper(wrapper_env, "20261101T031700Z")
    assert result.returncode == 2
    assert "MESH_AUDIT_KEEP must be 1 or more" in result.stderr


@needs_kubectl
def test_readme_overlay_replaces_image_and_waivers(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "waivers.yaml").write_text("waivers:\n- check: GW001\n  reason: accepted\n")
    base = os.path.relpath(DEPLOY, overlay)
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{base}]\n"
        "images:\n- name: mesh-audit\n"
        "  newName: registry.example.com/platform/mesh-audit\n  newTag: 0.1.0\n"
        "configMapGenerator:\n- name: mesh-audit-waivers\n  behavior: replace\n"
        "  files: [waivers.yaml]\n"
    )
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(overlay)], check=True, capture_output=True, text=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    config_map = only(docs, "ConfigMap")
    assert config_map["data"] == {"waivers.yaml": "waivers:\n- check: GW001\n  reason: accepted\n"}
    pod = only(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com/platform/mesh-audit:0.1.0"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["waivers"]["configMap"]["name"] == config_map["metadata"]["name"]


# ---- the delivery-mode example overlays (examples/) ------------------------------------------

EXAMPLES = ROOT / "examples"


def container_env(docs: list[dict[str, Any]], cron: str = "mesh-audit") -> dict[str, Any]:
    [job] = [d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == cron]
    [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@needs_kubectl
@pytest.mark.parametrize("overlay", ["pvc", "s3", "webhook", "fleet"])
def test_example_overlays_render_and_validate(overlay: str) -> None:
    docs = kustomize(EXAMPLES / overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, SCHEMA_VERSIONS[-1], strict=True)
    env = container_env(docs)
    # every mode keeps the base's least privilege and its partial-run gate
    assert env["MESH_AUDIT_PARTIAL_OK"] == "Secret"
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "Role"):
            assert "secrets" not in {r for rule in doc["rules"] for r in rule["resources"]}
    images = {
        c["image"]
        for d in docs
        if d["kind"] == "CronJob"
        for c in d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.example.com/platform/mesh-audit:0.1.0"}
    if overlay in ("s3", "fleet"):
        assert env["MESH_AUDIT_UPLOAD"].startswith("s3://")
        assert env["MESH_AUDIT_CLUSTER"]
    if overlay == "webhook":
        # the webhook URL is a credential: from a Secret, never a literal
        assert env["MESH_AUDIT_NOTIFY_URL"] == {
            "secretKeyRef": {"name": "mesh-audit-webhook", "key": "url"}
        }
    if overlay == "fleet":
        fleet = [d for d in docs if d["metadata"]["name"] == "mesh-audit-fleet"]
        assert sorted(d["kind"] for d in fleet) == [
            "CronJob",
            "PersistentVolumeClaim",
            "ServiceAccount",
        ]
        [job] = [d for d in fleet if d["kind"] == "CronJob"]
        [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["args"][:2] == ["fleet", env["MESH_AUDIT_UPLOAD"]]
        # the fleet job reads object storage only: no Kubernetes RBAC is bound to it
        for doc in docs:
            for subject in doc.get("subjects") or []:
                assert subject["name"] != "mesh-audit-fleet"


def measured_peak_mb(size: str, step: str) -> int:
    """Peak RSS MB of a step in benchmarks/README.md's measured table."""
    table = (ROOT / "benchmarks" / "README.md").read_text()
    for line in table.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0] == size and cells[2] == step:
            return int(cells[5].replace(",", ""))
    raise AssertionError(f"no {size}/{step} row in benchmarks/README.md")


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise AssertionError(f"unexpected memory quantity {quantity}")


@needs_kubectl
def test_cronjob_memory_is_sized_from_the_benchmark(rendered: list[dict[str, Any]]) -> None:
    [container] = only(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ]
    limit_mb = mebibytes(container["resources"]["limits"]["memory"]) * 2**20 / 1e6
    request_mb = mebibytes(container["resources"]["requests"]["memory"]) * 2**20 / 1e6
    # the Job renders a PDF by default: its measured peak at 253k objects, plus 25%
    assert "pdf" in container_env(rendered)["MESH_AUDIT_FORMATS"]
    assert limit_mb >= 1.25 * measured_peak_mb("250k", "pdf")
    # the request covers a 100k-object audit with its PDF
    assert request_mb >= measured_peak_mb("large", "pdf")
    # the docs' sizing table (docs/deployment.md) quotes the same measurements
    sizing = (ROOT / "docs" / "deployment.md").read_text().split("## Sizing the CronJob")[1]
    assert f"{measured_peak_mb('250k', 'pdf'):,} MB measured at 252k (PDF on)" in sizing
    assert f"{measured_peak_mb('large', 'pdf'):,} MB measured at 101k (PDF on)" in sizing
