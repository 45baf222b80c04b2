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
