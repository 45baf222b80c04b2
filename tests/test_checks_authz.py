"""AuthorizationPolicy checks on fixture cases: exact findings per case."""

from __future__ import annotations

from tests.case_helpers import findings, report_for


def test_allow_all_rules() -> None:
    assert findings("authz/allow-all.yaml", ("AUTHZ004",)) == {
        ("AUTHZ004", "AuthorizationPolicy", "marketing", "allow-all", "medium"),
        ("AUTHZ004", "AuthorizationPolicy", "istio-system", "mesh-allow-all", "high"),
        ("AUTHZ004", "AuthorizationPolicy", "shop", "frontend-open", "medium"),
    }
    by_name = {
        f["resource"]["name"]: f
        for f in report_for("authz/allow-all.yaml")["findings"]
        if f["check"] == "AUTHZ004"
    }
    assert by_name["frontend-open"]["path"] == "spec.rules[1]"
    assert by_name["frontend-open"]["message"] == (
        "AuthorizationPolicy shop/frontend-open has an empty ALLOW rule (spec.rules[1]): any "
        "caller may send any request to workloads labelled app=frontend in namespace shop"
    )
    assert by_name["mesh-allow-all"]["message"].endswith(
        "every workload in the mesh (root namespace, no selector)"
    )
