"""The egress map (report.json `egress[]`) on fixture meshes, entry by entry."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.case_helpers import report_for

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "auditor" / "schema" / "report.schema.json").read_text()
)
SE = "networking.istio.io/v1"


def _se(ns: str, name: str) -> dict[str, object]:
    return {"apiVersion": SE, "kind": "ServiceEntry", "namespace": ns, "name": name}


MESH_WIDE_LEAKS = [
    "no egress NetworkPolicy in namespace: apps",
    "no egress NetworkPolicy in namespace: legacy",
    "outside the mesh: Deployment legacy/batch (namespace not labelled for injection)",
    "capture excluded: Deployment apps/web (excludeOutboundIPRanges)",
]


def test_hardened_mesh_routes_its_host_through_the_gateway_with_no_bypass() -> None:
    data = report_for("egress/hardened-mesh.yaml")
    jsonschema.validate(data, SCHEMA)
    assert data["egress"] == [
        {
            "host": "edition.cnn.com",
            "ports": [
                {"number": 80, "protocol": "HTTP", "name": "http-port"},
                {"number": 443, "protocol": "TLS", "name": "tls"},
            ],
            "registered_by": [_se("apps", "cnn")],
            "via_egress_gateway": {
                "kind": "Gateway",
                "namespace": "istio-egress",
                "name": "istio-egressgateway",
            },
            "tls_origination": "none",
            "bypass": [],
        }
    ]


def test_leaky_mesh_shows_each_way_out() -> None:
    data = report_for("egress/leaky-mesh.yaml")
    jsonschema.validate(data, SCHEMA)
    assert data["egress"] == [
        {
            "host": "api.github.com",
            "ports": [{"number": 80, "protocol": "HTTP", "name": "http"}],
            "registered_by": [_se("apps", "github")],
            "via_egress_gateway": None,
            "tls_origination": "sidecar",
            "bypass": ["not routed through an egress gateway", *MESH_WIDE_LEAKS],
        },
        {
            "host": "api.payments-partner.io",
            "ports": [{"number": 8443, "protocol": "TCP", "name": ""}],
            "registered_by": [],
            "via_egress_gateway": None,
            "tls_origination": "none",
            "bypass": ["not registered by any ServiceEntry", *MESH_WIDE_LEAKS],
        },
        {
            "host": "httpbin.org",
            "ports": [{"number": 443, "protocol": "TLS", "name": "tls"}],
            "registered_by": [_se("apps", "httpbin")],
            "via_egress_gateway": None,
            "tls_origination": "none",
            "bypass": [
                "egress gateway wiring incomplete on port 443: Gateway istio-system/egress has "
                "no server for httpbin.org on port 443/8443",
                "egress gateway wiring incomplete on port 443: no VirtualService routes "
                "httpbin.org from Gateway istio-system/egress to the external host",
                *MESH_WIDE_LEAKS,
                "capture excluded: Deployment apps/worker (excludeOutboundPorts 443)",
            ],
        },
        {
            "host": "loop.example.com",
            "ports": [{"number": 80, "protocol": "HTTP", "name": "http"}],
            "registered_by": [_se("apps", "loop")],
            "via_egress_gateway": {
                "kind": "Gateway",
                "namespace": "istio-system",
                "name": "egress",
            },
            "tls_origination": "none",
            "bypass": MESH_WIDE_LEAKS,
        },
    ]


def test_terminal_summary_lists_the_egress_map() -> None:
    from auditor.report.terminal import render

    text = render(report_for("egress/leaky-mesh.yaml"))
    assert "Egress: 4 external hosts, 1 through an egress gateway" in text
    assert "  api.github.com 80/HTTP DIRECT [TLS origination: sidecar]" in text
    assert "  api.payments-partner.io 8443/TCP DIRECT [TLS origination: none] UNREGISTERED" in text
    assert "  loop.example.com 80/HTTP via istio-system/egress [TLS origination: none]" in text
