"""Pre-merge audits: `scan --context prod --from changes/` against the loopback API server audits
the cluster as it would be after applying the files, and marks what the change introduces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor.cli import main
from auditor.input.files import load_paths
from auditor.run.scan import scan
from tests.helpers import DEMO, FIXED_CLOCK
from tests.kubeapi import FakeKubeAPI
from tests.live_support import kubeconfig, load_demo

# A change as a pull request would carry it:
# - a new VirtualService bound to a Gateway that does not exist (the VS001 case of istioctl
#   analyze's IST0101, istio/istio pkg/config/analysis/analyzers/virtualservice/gateways.go);
# - the replacement of marketing/allow-all (an empty ALLOW rule, which allows every caller:
#   istio.io content/en/docs/reference/config/security/authorization-policy/index.md) by a
#   policy that allows only the ingress gateway's identity.
NEW_VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: promo
  namespace: marketing
spec:
  hosts:
  - promo.example.com
  gateways:
  - istio-ingress/promo-gateway
  http:
  - route:
    - destination:
        host: promo.marketing.svc.cluster.local
"""
FIXED_POLICY = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-all
  namespace: marketing
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        principals:
        - cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account
"""
SECRET_DATA_CHECKS = {"TLS004", "TLS007"}  # a live read never fetches Secret data


def changes(tmp_path: Path) -> Path:
    path = tmp_path / "changes"
    path.mkdir()
    (path / "promo-vs.yaml").write_text(NEW_VS)
    (path / "allow-all.yaml").write_text(FIXED_POLICY)
    return path


def keys(findings: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {
        (f["check"], f["resource"]["namespace"], f["resource"]["name"], f["severity"])
        for f in findings
    }


def test_overlay_audits_the_cluster_after_the_change(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    api = load_demo(kube_api)
    kc = kubeconfig(api, tmp_path)
    change = changes(tmp_path)
    out = tmp_path / "out"
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), "--from", str(change)]
    result = CliRunner().invoke(main, [*args, "--output-dir", str(out), "--fail-on-new", "low"])
    data = json.loads((out / "report.json").read_text())

    new = [f for f in data["findings"] if f["baseline_status"] == "new"]
    assert keys(new) == {
        ("EGR003", "marketing", "promo", "low"),
        ("VS001", "marketing", "promo", "low"),
        ("VS002", "marketing", "promo", "low"),
        # the fixed policy ALLOWs by peer identity under PERMISSIVE: plaintext callers denied
        ("AUTHZ015", "marketing", "marketing-web", "info"),
    }
    assert keys(data["resolved"]) == {("AUTHZ004", "marketing", "allow-all", "medium")}
    assert data["not_compared"] == []
    assert data["baseline"]["source"] == (
        "live cluster prod before the change (1 objects replaced, 1 added)"
    )
    # the change's findings gate, with one line saying why
    assert result.exit_code == 1
    assert result.stderr == (
        "mesh-audit: 3 new unwaived findings at or above low since the baseline "
        "(EGR003, VS001, VS002)\n"
    )
    # the same as auditing the files of the cluster plus the change (less the checks that need
    # Secret data, which a live read never has)
    offline = scan(load_paths([str(DEMO), str(change)]), generated_at=FIXED_CLOCK).data
    assert sorted(f["id"] for f in data["findings"]) == sorted(
        f["id"] for f in offline["findings"] if f["check"] not in SECRET_DATA_CHECKS
    )
    assert data["source"]["type"] == "cluster"
    assert data["source"]["paths"] == [str(change)]
    promo = next(f for f in new if f["check"] == "VS001")
    assert promo["origin"] == f"{change / 'promo-vs.yaml'}#1"
    assert {r.method for r in api.requests} == {"GET"}  # nothing was applied


def test_overlay_refuses_a_second_baseline(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    kc = kubeconfig(load_demo(kube_api), tmp_path)
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), "--from", str(changes(tmp_path))]
    result = CliRunner().invoke(main, [*args, "--baseline", str(tmp_path / "old.json")])
    assert result.exit_code == 2
    assert result.stderr == (
        "mesh-audit: error: --context with --from audits a change against the live cluster, "
        "which is its baseline; --baseline cannot be given too\n"
    )
