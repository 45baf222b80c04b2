"""Finding groups (one weakness, one entry) and the risk score's sanity properties."""

from __future__ import annotations

import random
from typing import Any

from auditor.report import groups as G
from auditor.report.score import score
from tests.helpers import CASES, DEMO, scan_paths


def _data(path: Any) -> dict[str, Any]:
    return dict(scan_paths(path).data)


def _score(data: dict[str, Any], findings: list[dict[str, Any]] | None = None) -> int:
    return score(
        data["findings"] if findings is None else findings,
        data["exposure"],
        data["summary"]["coverage"],
    ).value


def test_plaintext_wildcard_listener_is_one_weakness() -> None:
    data = _data(CASES / "entrypoints" / "demo-shop.yaml")
    by_check = {f["check"]: f for f in data["findings"]}
    tls001 = by_check["TLS001"]
    assert tls001["group"] == {
        "primary": tls001["id"],
        "related": sorted([by_check["GW004"]["id"], by_check["VS004"]["id"]]),
    }
    assert by_check["GW004"]["group"] == tls001["group"]
    assert by_check["VS004"]["group"] == tls001["group"]
    # the finding ids themselves do not change; GW005 (governance) and GW006 stand alone
    assert by_check["GW005"]["group"] == {"primary": by_check["GW005"]["id"], "related": []}
    assert by_check["GW006"]["group"]["related"] == []
    # ten findings (AUTHZ006 and the gateway's PRX003 included), eight weaknesses: the
    # listener's three count once
    assert data["summary"]["total"] == 10
    assert data["summary"]["groups"] == {
        "total": 8,
        "by_severity": {"critical": 0, "high": 3, "medium": 3, "low": 2, "info": 0},
    }


def test_authz001_per_gateway_of_one_egress_workload_is_one_weakness() -> None:
    findings = [
        {
            "id": f"AUTHZ001-{i}",
            "check": "AUTHZ001",
            "severity": "medium",
            "resource": {"kind": "Gateway", "namespace": ns, "name": "egress"},
            "evidence": {"workloads": ["istio-system/istio-egressgateway"]},
        }
        for i, ns in enumerate(("shop", "payments", "default"))
    ]
    (group,) = G.groups(findings)
    assert [f["id"] for f in group] == ["AUTHZ001-0", "AUTHZ001-1", "AUTHZ001-2"]
    marked = G.with_groups(findings)
    assert {tuple(sorted(f["group"]["related"])) for f in marked} == {("AUTHZ001-1", "AUTHZ001-2")}


def test_nothing_internet_facing_and_default_deny_scores_better_than_public_plaintext() -> None:
    platform = _data(CASES / "entrypoints" / "ml-platform.yaml")
    shop = _data(CASES / "entrypoints" / "demo-shop.yaml")
    assert _score(platform) > _score(shop)
    assert _score(platform) >= 80  # B or better: what remains is mesh-wide hardening
    assert _score(shop) < 70


def test_adding_a_finding_never_raises_the_score() -> None:
    rng = random.Random(14)
    for path in (DEMO, CASES / "entrypoints" / "demo-shop.yaml", CASES / "egress"):
        data = _data(path)
        findings = list(data["findings"])
        for _ in range(40):
            rng.shuffle(findings)
            previous = 101
            for k in range(len(findings) + 1):
                value = _score(data, findings[:k])
                assert value <= previous, (path, k)
                previous = value


def test_waiving_lowers_nothing() -> None:
    data = _data(DEMO)
    rng = random.Random(7)
    for _ in range(30):
        waived = [
            {**f, "waiver": {"index": 0, "reason": "r"}} if rng.random() < 0.4 else f
            for f in data["findings"]
        ]
        assert _score(data, waived) >= _score(data)


def test_exposure_weighs_by_reachability_class() -> None:
    shop = _data(CASES / "entrypoints" / "demo-shop.yaml")
    internal = [dict(e, reachability="internal") for e in shop["exposure"]]
    assert score([], internal).value == 100
    public = score([], shop["exposure"])
    assert public.value < 100
    assert dict(public.deductions) == {"EXPOSURE": 18}  # two plaintext entries: 10 + 10 * 0.8
