"""CronJob-shaped runs: the image's entry point (deploy/mesh-audit-scheduled.sh) with the
environment and arguments the rendered S3 overlay gives the Job, against the loopback API server
(the base install's RBAC: Secrets forbidden) and the loopback S3-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, find_tool
from tests.kubeapi import FakeKubeAPI
from tests.live_support import kubeconfig, load_demo
from tests.s3.fixture import BUCKET, S3Server

KUBECTL = find_tool("kubectl")
SCRIPT = ROOT / "deploy" / "mesh-audit-scheduled.sh"
STAMP = "20261125T031700Z"

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def job_container(overlay: str) -> dict[str, Any]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "examples" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    [cron] = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "CronJob"]
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return dict(container)


def run_job(
    container: dict[str, Any],
    api: FakeKubeAPI,
    tmp_path: Path,
    s3: S3Server,
    **overrides: str,
) -> subprocess.CompletedProcess[str]:
    """Run the Job's command with its env; only the mounts' paths and the cluster differ."""
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["MESH_AUDIT_REPORTS_DIR"] = str(tmp_path / "reports")  # the PVC mount
    env["MESH_AUDIT_WAIVERS"] = str(tmp_path / "waivers.yaml")  # the ConfigMap mount
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    env.update(overrides)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "date").write_text(f"#!/bin/sh\necho {STAMP}\n")
    (bin_dir / "date").chmod(0o755)
    if not (bin_dir / "mesh-audit").exists():
        (bin_dir / "mesh-audit").symlink_to(Path(sys.executable).parent / "mesh-audit")
    env.update(s3.env)
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    env["HOME"] = str(tmp_path)
    assert container["command"] == ["mesh-audit-scheduled"]
    # --in-cluster reads the pod's token; here the same API comes through a kubeconfig
    args = [a for a in container["args"] if a != "--in-cluster"]
    assert args != container["args"]
    kc = kubeconfig(api, tmp_path)
    return subprocess.run(
        ["sh", str(SCRIPT), *args, "--context", "prod", "--kubeconfig", str(kc)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def objects(server: S3Server) -> dict[str, bytes]:
    client = server.client()
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents") or []
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture
def base_install(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    api = load_demo(kube_api)
    api.forbid("secrets")  # the base ClusterRole has no Secrets
    return api


def test_cronjob_run_uploads_byte_identical_objects(
    base_install: FakeKubeAPI, tmp_path: Path, s3: S3Server
) -> None:
    container = job_container("s3")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MESH_AUDIT_UPLOAD"].startswith("s3://")
    assert env["MESH_AUDIT_CLUSTER"] == "prod-eu-1"
    assert env["MESH_AUDIT_PARTIAL_OK"] == "Secret"
    result = run_job(container, base_install, tmp_path, s3, MESH_AUDIT_UPLOAD=f"s3://{BUCKET}/a")
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "reports" / STAMP
    report = json.loads((run_dir / "report.json").read_text())
    assert report["collection"]["Secret"]["status"] == "forbidden"
    stamp = report["generated_at"].replace("-", "").replace(":", "")
    local = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert sorted(local) == [
        "report.csv",
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.pdf",
        "report.sarif",
    ]
    stored = objects(s3)
    assert sorted(stored) == sorted(
        [f"a/prod-eu-1/{stamp}/{n}" for n in local]
        + ["a/prod-eu-1/latest.json", "a/prod-eu-1/index.json"]
    )
    for name, body in local.items():
        assert stored[f"a/prod-eu-1/{stamp}/{name}"] == body
    # latest switches in one step: one pointer object names the run's folder
    assert json.loads(stored["a/prod-eu-1/latest.json"])["run"] == stamp
    index = json.loads(stored["a/prod-eu-1/index.json"])
    assert [r["timestamp"] for r in index["runs"]] == [stamp]
    assert index["runs"][0]["unread"] == ["Secret"]
    # the local copy is refreshed as before
    assert (tmp_path / "reports" / "latest" / "report.json").read_bytes() == local["report.json"]
    assert "Uploaded 6 report files to s3://" in result.stderr


def test_cronjob_failed_upload_keeps_the_report_and_exits_6(
    base_install: FakeKubeAPI, tmp_path: Path, s3: S3Server
) -> None:
    result = run_job(
        job_container("s3"),
        base_install,
        tmp_path,
        s3,
        MESH_AUDIT_UPLOAD="s3://no-such-bucket/a",
        MESH_AUDIT_FORMATS="json,html",
    )
    assert result.returncode == 6
    run_dir = tmp_path / "reports" / STAMP
    assert sorted(p.name for p in run_dir.iterdir()) == ["report.html", "report.json"]
    assert (tmp_path / "reports" / "latest" / "report.json").read_bytes() == (
        run_dir / "report.json"
    ).read_bytes()
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [
        "mesh-audit: error: upload to s3://no-such-bucket/a/prod-eu-1 failed: NoSuchBucket: "
        f"The specified bucket does not exist; the report files are kept in {run_dir}"
    ]


def test_cronjob_with_secret_access_expected_fails_partial_runs(
    base_install: FakeKubeAPI, tmp_path: Path, s3: S3Server
) -> None:
    # the secret-metadata component empties MESH_AUDIT_PARTIAL_OK; the Secrets are still denied
    result = run_job(
        job_container("s3"),
        base_install,
        tmp_path,
        s3,
        MESH_AUDIT_PARTIAL_OK="",
        MESH_AUDIT_UPLOAD=f"s3://{BUCKET}/a",
        MESH_AUDIT_FORMATS="json",
    )
    assert result.returncode == 5
    assert "mesh-audit: partial audit: not read: Secret (forbidden): " in result.stderr
    # the partial run is kept (and uploaded: the fleet shows it as partial) but is not latest/
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [STAMP]
    assert any(k.endswith("/latest.json") for k in objects(s3))
