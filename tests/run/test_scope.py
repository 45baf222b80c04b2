"""`-n` never lies: it limits what is reported, references across namespaces still resolve, and
what the scan could not read is listed as not judged, never reported as missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import main
from auditor.input.files import load_paths
from auditor.run.scan import scan
from auditor.run.scope import finding_namespace
from tests.helpers import DEMO, FIXED_CLOCK
from tests.kubeapi import FakeKubeAPI
from tests.live_support import kubeconfig, load_demo
from tests.pipeline_helpers import AFTER, COMMON, EGR001, GW001, GW002, GW005, MTLS001

DEMO_NAMESPACES = sorted({o.name for o in load_paths([str(DEMO)]).objects("Namespace")})


@pytest.fixture(scope="module")
def full() -> dict[str, Any]:
    return dict(scan(load_paths([str(DEMO)]), generated_at=FIXED_CLOCK).data)


def test_demo_mesh_has_namespaces() -> None:
    assert {"istio-system", "istio-ingress", "shop", "payments"} <= set(DEMO_NAMESPACES)


@pytest.mark.parametrize("namespace", DEMO_NAMESPACES)
def test_scoped_findings_are_a_subset_of_the_full_scan(
    namespace: str, full: dict[str, Any]
) -> None:
    data = scan(load_paths([str(DEMO)]), generated_at=FIXED_CLOCK, scope=[namespace]).data
    scoped = {f["id"] for f in data["findings"]}
    everything = {f["id"] for f in full["findings"]}
    assert scoped <= everything
    # and exactly the full scan's findings about that namespace (or cluster-scoped resources)
    assert scoped == {
        f["id"] for f in full["findings"] if finding_namespace(f) in (namespace, None)
    }
    assert data["scope"]["namespaces"] == [namespace]
    assert data["scope"]["not_judged"] == []  # files: everything was read
    assert data["scope"]["outside_findings"] == len(everything) - len(scoped)


def test_file_scan_with_namespace_option(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["scan", "--from", str(COMMON), "--from", str(AFTER), "-n", "shop"]
    result = CliRunner().invoke(main, [*args, "--output-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    data = json.loads((out / "report.json").read_text())
    # the shop gateway's findings stay (GW005 names istio-ingress/istio-ingressgateway, which was
    # read, so it is judged); EGR001 (ConfigMap istio-system/istio) and MTLS001 (root namespace
    # istio-system) are outside the scope
    assert sorted(f["id"] for f in data["findings"]) == sorted([GW005, GW001, GW002])
    assert data["scope"] == {
        "namespaces": ["shop"],
        "read": None,
        "outside_findings": 2,
        "not_judged": [],
    }
    assert (
        "  scope: namespaces shop (2 findings outside it not reported; read cluster-wide)"
        in result.stdout.splitlines()
    )
    assert EGR001 not in result.stdout and MTLS001 not in result.stdout


def _limited_snapshot(tmp_path: Path, namespaces: list[str]) -> Path:
    """What `mesh-audit snapshot -n shop` records: namespaced objects of shop only."""
    objects = [
        d
        for p in (COMMON, AFTER)
        for d in yaml.safe_load_all(p.read_text())
        if d and d["metadata"].get("namespace") in (None, *namespaces)
    ]
    doc = {
        "apiVersion": "mesh-audit.dev/v1",
        "kind": "MeshAuditSnapshot",
        "source": {"type": "cluster", "context": "prod", "namespaces": namespaces},
        "collection": {},
        "objects": objects,
    }
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(doc))
    return path


def test_snapshot_read_in_one_namespace_reports_nothing_it_cannot_judge(tmp_path: Path) -> None:
    # the gateway Deployment and Service live in istio-ingress, which was not read: "selects
    # nothing" and "port not on the Service" would be false. They are listed as not judged.
    snap = _limited_snapshot(tmp_path, ["shop"])
    data = scan(load_paths([str(snap)]), generated_at=FIXED_CLOCK).data
    full = scan(load_paths([str(COMMON), str(AFTER)]), generated_at=FIXED_CLOCK).data
    assert {f["id"] for f in data["findings"]} <= {f["id"] for f in full["findings"]}
    assert data["findings"] == []
    # GW001 would call shop-gateway's selector dangling: its gateway Deployment is in the
    # unread istio-ingress. (GW002 and GW005 cannot fire without that Service and Deployment.)
    not_judged = {
        (f["check"], f["resource"]["name"]): f["not_judged_reason"]
        for f in data["scope"]["not_judged"]
    }
    assert set(not_judged) == {("GW001", "ghost-gateway"), ("GW001", "shop-gateway")}
    assert not_judged[("GW001", "shop-gateway")] == (
        "check GW001 reads networking.istio.io/Gateway, read only in namespaces shop: what it "
        "reports may only be unread, so it is not judged"
    )
    assert data["scope"]["read"] == ["shop"]
    assert data["summary"]["total"] == 0


def test_live_scan_with_namespace_names_its_scope(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    api = load_demo(kube_api)
    kc = kubeconfig(api, tmp_path)
    out = tmp_path / "live"
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), "-n", "marketing"]
    result = CliRunner().invoke(main, [*args, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    assert data["scope"]["namespaces"] == ["marketing"]
    assert data["scope"]["read"] is None  # read cluster-wide: references resolve
    assert data["scope"]["not_judged"] == []
    full = CliRunner().invoke(
        main,
        [
            "scan",
            "--context",
            "prod",
            "--kubeconfig",
            str(kc),
            "--output-dir",
            str(tmp_path / "all"),
        ],
    )
    assert full.exit_code == 0
    everything = json.loads((tmp_path / "all" / "report.json").read_text())
    assert {f["id"] for f in data["findings"]} == {
        f["id"] for f in everything["findings"] if finding_namespace(f) in ("marketing", None)
    }
    assert data["findings"]
    assert any(
        line.startswith("  scope: namespaces marketing (") for line in result.stdout.splitlines()
    )
