"""Alpha and experimental features (FEAT001): exact findings, and the table's date."""

from __future__ import annotations

import datetime as dt

from auditor.istio import features as F
from tests.case_helpers import findings, report_for

CASE = "features/alpha-features.yaml"


def test_alpha_feature_findings() -> None:
    assert findings(CASE, ("FEAT",)) == {
        ("FEAT001", "EnvoyFilter", "istio-system", "ingress-case-insensitive", "low"),
        ("FEAT001", "VirtualService", "foo", "httpbin", "low"),
        ("FEAT001", "RequestAuthentication", "foo", "jwt-example", "low"),
        ("FEAT001", "AuthorizationPolicy", "foo", "deny-path-headers", "low"),
    }


def test_finding_names_the_feature_and_says_the_table_is_stale() -> None:
    (found,) = [
        f
        for f in report_for(CASE)["findings"]
        if f["check"] == "FEAT001" and f["resource"]["name"] == "httpbin"
    ]
    assert found["path"] == "spec.http[0].match[0].headers"
    assert found["message"] == (
        "VirtualService foo/httpbin uses JWT Claim Based Routing, Alpha in Istio's feature "
        "status table of 2022-02-11, older than six months at this audit"
    )
    assert found["evidence"]["table_stale"] is True


def test_table_is_dated_data_with_its_source() -> None:
    table = F.feature_table()
    assert table.source.startswith("https://github.com/istio/istio.io/blob/382cab3c")
    assert table.as_of == dt.date(2022, 2, 11)
    # staleness is judged at the audit's time, six months after the table's date
    assert F.stale(table.as_of, "2022-08-01T00:00:00Z") is False
    assert F.stale(table.as_of, "2022-08-31T00:00:00Z") is True
    assert F.stale(table.as_of, None) is None
