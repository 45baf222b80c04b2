"""Gateway isolation (ISO001 relaxed SNI, ISO002 sensitive hosts): exact findings per case."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    "isolation/relaxed-sni-routed.yaml": {
        ("ISO001", "Gateway", "default", "admingateway", "high"),
    },
    "isolation/relaxed-sni-latent.yaml": {
        ("ISO001", "Gateway", "default", "admingateway", "medium"),
    },
    "isolation/relaxed-sni-disabled.yaml": set(),
    "isolation/sensitive-shared.yaml": {
        ("ISO002", "VirtualService", "default", "admin", "medium"),
    },
    "isolation/sensitive-dedicated.yaml": set(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_isolation_findings(case: str) -> None:
    assert findings(case, ("ISO001", "ISO002")) == CASES[case]


def test_relaxed_sni_names_the_host_the_wildcard_and_the_route() -> None:
    (found,) = [
        f
        for f in report_for("isolation/relaxed-sni-routed.yaml")["findings"]
        if f["check"] == "ISO001"
    ]
    assert found["path"] == "spec.servers[0].hosts[0]"
    assert found["evidence"] == {
        "host": "admin.example.com",
        "simple": ["default/guestgateway (*.example.com)"],
        "routes": ["default/guest"],
    }


def test_sensitive_host_names_what_it_shares_the_gateway_with() -> None:
    (found,) = [
        f
        for f in report_for("isolation/sensitive-shared.yaml")["findings"]
        if f["check"] == "ISO002"
    ]
    assert found["evidence"] == {
        "hosts": ["admin.example.com"],
        "shared_with": ["default/guestgateway (*.example.com)"],
    }
