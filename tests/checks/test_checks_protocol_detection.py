"""Protocol detection (SVC001): one finding per Service, exact findings per case."""

from __future__ import annotations

from tests.case_helpers import findings, report_for

CASE = "protocols/protocol-selection.yaml"


def test_protocol_detection_findings() -> None:
    assert findings(CASE, ("SVC",)) == {
        ("SVC001", "Service", "shop", "my-service", "low"),
        ("SVC001", "Service", "shop", "orders", "low"),
    }


def test_one_finding_per_service_naming_every_undeclared_port() -> None:
    by_name = {
        f["resource"]["name"]: f for f in report_for(CASE)["findings"] if f["check"] == "SVC001"
    }
    assert by_name["orders"]["evidence"] == {"ports": ["web:8080", "metrics:9090"]}
    assert by_name["orders"]["path"] == "spec.ports"
    assert by_name["my-service"]["evidence"] == {"ports": ["(unnamed):80"]}
    assert by_name["my-service"]["path"] == "spec.ports[0]"
