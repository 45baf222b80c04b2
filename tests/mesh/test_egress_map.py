"""The egress map (report.json `egress[]`) on fixture meshes, entry by entry."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.case_helpers import report_for

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "auditor" / "schema" / "report.schema.json").read_text()
)
SE = "networking.istio.io/v1"


def _se(ns: str, name: str) -> dict[str, object]:
    return {"apiVersion": SE, "kind": "ServiceEntry", "namespace": ns, "name": name}


def _gw(ns: str, name: str) -> dict[str, object]:
    return {"kind": "Gateway", "namespace": ns, "name": name}


def _pgw(ns: str, name: str) -> dict[str, object]:
    """A port's gateway, which also names its API group."""
    return {**_gw(ns, name), "group": "networking.istio.io"}


def _port(number: int, protocol: str, name: str, **fields: object) -> dict[str, object]:
    out: dict[str, object] = {
        "number": number,
        "protocol": protocol,
        "name": name,
        "path": "direct",
        "gateway": None,
        "tls_origination": "none",
        "direct": [],
        "direct_more": 0,
        "notes": [],
    }
    out.update(fields)
    return out


def _direct(ns: str, why: str, workload: str) -> dict[str, object]:
    return {
        "namespace": ns,
        "why": why,
        "verdict": "no-policy",
        "policies": [],
        "only": [],
        "workloads": [workload],
        "count": 1,
    }


def test_hardened_mesh_routes_its_host_through_the_gateway_with_no_bypass() -> None:
    data = report_for("egress/hardened-mesh.yaml")
    jsonschema.validate(data, SCHEMA)
    gw = _gw("istio-egress", "istio-egressgateway")
    pgw = _pgw("istio-egress", "istio-egressgateway")
    assert data["egress"] == [
        {
            "host": "edition.cnn.com",
            "ports": [
                _port(80, "HTTP", "http-port", path="egress-gateway", gateway=pgw),
                _port(
                    443,
                    "TLS",
                    "tls",
                    path="egress-gateway",
                    gateway=pgw,
                    tls_origination="application",
                ),
            ],
            "registration": "service-entry",
            "registered_by": [_se("apps", "cnn")],
            "destination_class": "public",
            "addresses": [],
            "via_egress_gateway": gw,
            "tls_origination": "application",
            "bypass": [],
            "notes": [],
        }
    ]


WEB_ESCAPES = "capture excluded (excludeOutboundIPRanges 0.0.0.0/0)"
BATCH_OUTSIDE = "outside the mesh (namespace not labelled for injection)"
SIDECAR_SENDS = "sent straight out by its sidecar (port not routed through an egress gateway)"


def test_leaky_mesh_shows_each_way_out() -> None:
    data = report_for("egress/leaky-mesh.yaml")
    jsonschema.validate(data, SCHEMA)
    entries = {e["host"]: e for e in data["egress"]}
    assert sorted(entries) == [
        "api.github.com",
        "api.payments-partner.io",
        "httpbin.org",
        "loop.example.com",
    ]
    github = entries["api.github.com"]
    assert github["ports"] == [
        _port(
            80,
            "HTTP",
            "http",
            tls_origination="sidecar",
            direct=[
                _direct("apps", WEB_ESCAPES, "Deployment web"),
                _direct("apps", SIDECAR_SENDS, "Deployment worker"),
                _direct("legacy", BATCH_OUTSIDE, "Deployment batch"),
            ],
        )
    ]
    assert github["bypass"] == [
        "not routed through an egress gateway",
        f"port 80: {WEB_ESCAPES}: Deployment apps/web (no egress NetworkPolicy)",
        f"port 80: {SIDECAR_SENDS}: Deployment apps/worker (no egress NetworkPolicy)",
        f"port 80: {BATCH_OUTSIDE}: Deployment legacy/batch (no egress NetworkPolicy)",
    ]
    partner = entries["api.payments-partner.io"]
    assert (partner["registration"], partner["registered_by"]) == ("unregistered", [])
    # the route to it leads nowhere: sidecars answer 503 (istio/istio route.go TranslateRoute,
    # "Traffic to such clusters will blackhole"); only what escapes the sidecar gets out
    assert partner["bypass"] == [
        "not registered by any ServiceEntry",
        f"port 8443: {WEB_ESCAPES}: Deployment apps/web (no egress NetworkPolicy)",
        f"port 8443: {BATCH_OUTSIDE}: Deployment legacy/batch (no egress NetworkPolicy)",
    ]
    assert [p["path"] for p in partner["ports"]] == ["black-hole"]
    assert partner["notes"] == [
        "VirtualService apps/payments routes to it, and no Service or ServiceEntry registers it: "
        "the proxy answers 503"
    ]
    httpbin = entries["httpbin.org"]
    # the mesh leg sends 443 to the egress gateway, whose wiring is incomplete: the sidecars
    # do not send it straight out, but the capture exclusions and the legacy namespace do
    (port,) = httpbin["ports"]
    assert (port["path"], port["gateway"]) == ("egress-gateway", _pgw("istio-system", "egress"))
    assert [(d["namespace"], d["why"]) for d in port["direct"]] == [
        ("apps", WEB_ESCAPES),
        ("apps", "capture excluded (excludeOutboundPorts 443)"),
        ("legacy", BATCH_OUTSIDE),
    ]
    assert httpbin["via_egress_gateway"] is None
    assert httpbin["bypass"][:2] == [
        "egress gateway wiring incomplete on port 443: Gateway istio-system/egress has "
        "no server for httpbin.org on port 443/8443",
        "egress gateway wiring incomplete on port 443: no VirtualService routes "
        "httpbin.org from Gateway istio-system/egress to the external host",
    ]
    loop = entries["loop.example.com"]
    assert loop["via_egress_gateway"] == _gw("istio-system", "egress")
    assert loop["bypass"] == [
        f"port 80: {WEB_ESCAPES}: Deployment apps/web (no egress NetworkPolicy)",
        f"port 80: {BATCH_OUTSIDE}: Deployment legacy/batch (no egress NetworkPolicy)",
    ]


def test_terminal_summary_lists_the_egress_map() -> None:
    """The summary tells egress by way out (auditor/report/terminal_traffic.py): each way
    names its workloads and hosts:ports; the report keeps the per-host map."""
    from auditor.report.terminal import render

    text = render(report_for("egress/leaky-mesh.yaml"))
    block = text[text.index("Egress:") :].split("\n\n")[0].splitlines()
    assert block == [
        # api.payments-partner.io: a route to nothing, only what escapes the proxies gets out
        "Egress: 4 external hosts, 1 routed through an egress gateway, 1 a route to nothing; "
        "ways around it:",
        "  all 4 hosts: legacy/batch (not in the mesh); apps/web (excludeOutboundIPRanges "
        "0.0.0.0/0)",
        "  excludeOutboundPorts 443: apps/worker -> httpbin.org:443",
        "  port not routed through the egress gateway: apps/worker -> api.github.com:80",
    ]


def test_cni_policy_objects_are_named_as_not_evaluated(tmp_path: Path) -> None:
    """A CiliumNetworkPolicy may block more than the Kubernetes NetworkPolicies say: the map says
    it exists and was not evaluated, so no verdict claims more than was judged."""
    from auditor.input.files import load_paths
    from auditor.run.scan import scan
    from tests.case_helpers import CASES, GENERATED_AT

    extra = tmp_path / "cilium.yaml"
    extra.write_text(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: to-fqdns\n"
        "  namespace: apps\nspec:\n  endpointSelector: {}\n  egress:\n"
        "  - toFQDNs:\n    - matchName: api.github.com\n"
    )
    snapshot = load_paths([str(CASES / "egress/leaky-mesh.yaml"), str(extra)])
    data = dict(scan(snapshot, generated_at=GENERATED_AT).data)
    assert data["inventory"]["cilium.io/CiliumNetworkPolicy"] == 1
    for entry in data["egress"]:
        assert entry["notes"][-1] == (
            "1 CiliumNetworkPolicy present and not evaluated: they may block more than this map "
            "shows"
        )
