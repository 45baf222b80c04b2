"""The bundled demo mesh: its planted problems are found and its correct parts stay clean.

fixtures/demo-mesh/README.md lists every planted problem (E*, T*, R*, B*, M*, A*) and every
correct configuration (C*). Each check family's expected findings on the demo mesh are asserted
here exactly, per check.
"""

from __future__ import annotations

import pytest

from auditor.report.model import Report
from tests.helpers import DEMO, finding_keys, scan_paths


@pytest.fixture(scope="module")
def demo() -> Report:
    return scan_paths(DEMO)


def test_core_checks_on_demo(demo: Report) -> None:
    assert finding_keys(demo, {"GW001", "GW002", "VS001", "EGR001"}) == {
        # E5: promo-gateway selects istio=ghost-gateway
        ("GW001", "Gateway", "marketing", "promo-gateway", "low"),
        # E6: server port 9443 is not on the ingress gateway Service
        ("GW002", "Gateway", "istio-ingress", "payments-gateway", "low"),
        # E7: payments-legacy is bound to payments/nonexistent-gw
        ("VS001", "VirtualService", "payments", "payments-legacy", "low"),
        # R1: outboundTrafficPolicy ALLOW_ANY in ConfigMap istio-system/istio
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
    }


def test_demo_input_is_clean(demo: Report) -> None:
    assert demo.data["warnings"] == []
    assert demo.data["mesh_config"]["source"] == "ConfigMap istio-system/istio"
    assert all(run["status"] == "ran" for run in demo.data["check_runs"])


def test_ingress_and_tls_checks_on_demo(demo: Report) -> None:
    families = {k for k in finding_keys(demo) if k[0].startswith(("GW", "VS", "GAPI", "TLS"))}
    assert families - {
        ("GW001", "Gateway", "marketing", "promo-gateway", "low"),
        ("GW002", "Gateway", "istio-ingress", "payments-gateway", "low"),
        ("VS001", "VirtualService", "payments", "payments-legacy", "low"),
    } == {
        # E1: host * on the shared public edge
        ("GW004", "Gateway", "marketing", "wildcard-gateway", "medium"),
        # E3: marketing binds the istio-ingress workload
        ("GW005", "Gateway", "marketing", "wildcard-gateway", "medium"),
        # E2: plaintext HTTP to marketing-web, no redirect
        ("TLS001", "Gateway", "marketing", "wildcard-gateway", "high"),
        # E4: hosts: ["*"] on the public gateway
        ("VS004", "VirtualService", "marketing", "marketing-site", "medium"),
        # E7 (also IST0132, as istioctl reports it) and E8: hosts not served by the Gateway
        ("VS002", "VirtualService", "payments", "payments-legacy", "low"),
        ("VS002", "VirtualService", "payments", "refunds", "low"),
        # E9: /debug served over plaintext on the Gateway API http listener
        ("TLS001", "HTTPRoute", "partner-api", "partner-debug", "high"),
        # T1: payments-cert has only cert.pem
        ("TLS004", "Gateway", "istio-ingress", "payments-gateway", "high"),
        # T2: TLSV1_0
        ("TLS005", "Gateway", "istio-ingress", "payments-gateway", "medium"),
        # T3: checkout-tls does not exist
        ("TLS003", "Gateway", "istio-ingress", "payments-gateway", "high"),
        # T4: no caCertificates, no subjectAltNames
        ("TLS009", "DestinationRule", "payments", "payments-plain", "low"),
        ("TLS011", "DestinationRule", "payments", "payments-plain", "low"),
        # T5: insecureSkipVerify (and not also TLS009/TLS011)
        ("TLS010", "DestinationRule", "payments", "unknown-partner-tls", "medium"),
    }
