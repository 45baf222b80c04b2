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
    # from the istiod Deployment's `discovery` image, docker.io/istio/pilot:1.24.2
    assert demo.data["source"]["istio_version"] == "1.24.2"
    assert all(run["status"] == "ran" for run in demo.data["check_runs"])


def test_ingress_and_tls_checks_on_demo(demo: Report) -> None:
    families = {k for k in finding_keys(demo) if k[0].startswith(("GW", "VS", "GAPI", "TLS"))}
    assert families - {
        ("GW001", "Gateway", "marketing", "promo-gateway", "low"),
        ("GW002", "Gateway", "istio-ingress", "payments-gateway", "low"),
        ("VS001", "VirtualService", "payments", "payments-legacy", "low"),
    } == {
        # X1: legacy billing on a NodePort in plaintext, around the gateway
        ("GW006", "Service", "legacy", "legacy-billing-nodeport", "medium"),
        # X2: payments-api behind an internal (Azure) load balancer: low, not internet-facing
        ("GW006", "Service", "payments", "payments-api-backoffice", "low"),
        # E1: host * on the shared public edge
        ("GW004", "Gateway", "marketing", "wildcard-gateway", "medium"),
        # E3: marketing binds the istio-ingress workload
        ("GW005", "Gateway", "marketing", "wildcard-gateway", "low"),
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
        # T4: no caCertificates, no subjectAltNames; istiod 1.24.2 verifies against the system
        # roots and the Host by default (Istio >= 1.21), so both are info
        ("TLS009", "DestinationRule", "payments", "payments-plain", "info"),
        ("TLS011", "DestinationRule", "payments", "payments-plain", "info"),
        # T5: insecureSkipVerify (and not also TLS009/TLS011)
        ("TLS010", "DestinationRule", "payments", "unknown-partner-tls", "medium"),
        # T6: TCP 5432 to a public name, nothing originates TLS on the way out (low: Postgres
        # may negotiate its own TLS inside the connection)
        ("TLS012", "ServiceEntry", "payments", "settlement-db", "low"),
        # D2: ExternalName crm-api aliases an internet host over plain HTTP
        ("TLS012", "Service", "marketing", "crm-api", "medium"),
    }


EGRESS_MTLS_AUTHZ = {
    # R2: a route to api.unknown-partner.io, which no ServiceEntry registers
    ("EGR003", "VirtualService", "payments", "unknown-partner", "medium"),
    # T5's DestinationRule is for that same unregistered host (IST0174)
    ("EGR004", "DestinationRule", "payments", "unknown-partner-tls", "low"),
    # R3: ServiceEntry *.com
    ("EGR006", "ServiceEntry", "payments", "wildcard-com", "medium"),
    # R4: TCP port 5432, resolution NONE, no addresses (IST0134)
    ("EGR008", "ServiceEntry", "payments", "settlement-db", "medium"),
    # B1/B1b: every external ServiceEntry but shop/api-stripe skips the egress gateway
    ("BYP001", "ServiceEntry", "payments", "api-github", "medium"),
    ("BYP001", "ServiceEntry", "payments", "acquirer-api", "medium"),
    ("BYP001", "ServiceEntry", "payments", "wildcard-com", "medium"),
    ("BYP001", "ServiceEntry", "payments", "settlement-db", "medium"),
    # B2: excludeOutboundIPRanges 0.0.0.0/0 (every address escapes: high)
    ("BYP005", "Deployment", "payments", "payments-batch", "high"),
    # B3: sidecar.istio.io/inject "false" in an injected namespace
    ("BYP006", "Deployment", "payments", "payments-reconciler", "medium"),
    # B4: an app container runs as UID 1337 (IST0144)
    ("BYP008", "Pod", "payments", "payments-debug", "medium"),
    # B5: legacy is not labelled for injection (IST0102)
    ("BYP009", "Namespace", "", "legacy", "medium"),
    # B6: namespaces with workloads and no egress NetworkPolicy (shop has one: clean)
    ("BYP004", "Namespace", "", "payments", "medium"),
    ("BYP004", "Namespace", "", "marketing", "medium"),
    ("BYP004", "Namespace", "", "partner-api", "medium"),
    ("BYP004", "Namespace", "", "legacy", "medium"),
    # M1: no mesh-wide STRICT PeerAuthentication in istio-system
    ("MTLS001", "Namespace", "", "istio-system", "medium"),
    # M2: PERMISSIVE namespace policy where PERMISSIVE already applies (no mesh-wide policy):
    # it changes nothing, so it is info, not medium (#12: verdicts follow the effective state)
    ("MTLS002", "PeerAuthentication", "payments", "default", "info"),
    # M3: DISABLE on port 9090 under PERMISSIVE: mesh clients drop to plaintext there too
    ("MTLS002", "PeerAuthentication", "payments", "payments-api-metrics", "medium"),
    # M4: DestinationRule tls.mode DISABLE toward an in-mesh service
    ("MTLS003", "DestinationRule", "payments", "payments-api-no-mtls", "medium"),
    # A1: ALLOW with rules: [{}]
    ("AUTHZ004", "AuthorizationPolicy", "marketing", "allow-all", "medium"),
    # A2: nothing restricts who may use the egress gateway
    ("AUTHZ001", "Deployment", "istio-egress", "istio-egressgateway", "medium"),
    # A3: no AuthorizationPolicy applies in payments or partner-api, whose workloads the public
    # gateways route to (shop and marketing have policies)
    ("AUTHZ006", "Namespace", "", "payments", "high"),
    ("AUTHZ006", "Namespace", "", "partner-api", "high"),
    # A4: the RequestAuthentication trusts Istio's published sample key
    ("AUTHZ012", "RequestAuthentication", "payments", "payments-jwt", "high"),
    # A5: ... and no policy requires a token on the publicly routed payments-api
    ("AUTHZ010", "RequestAuthentication", "payments", "payments-jwt", "high"),
    # D1: the GCE metadata server registered for payments, reachable with no NetworkPolicy
    ("EGR010", "ServiceEntry", "payments", "gce-metadata", "high"),
}


def test_egress_mtls_and_authorization_checks_on_demo(demo: Report) -> None:
    prefixes = ("EGR", "BYP", "MTLS", "AUTHZ", "CFG")
    found = {k for k in finding_keys(demo) if k[0].startswith(prefixes)}
    assert found - {("EGR001", "ConfigMap", "istio-system", "istio", "medium")} == (
        EGRESS_MTLS_AUTHZ
    )


def test_gateway_namespaces_and_control_plane_are_not_flagged(demo: Report) -> None:
    # istio-ingress runs only gateway proxies (one of them labelled istio=internal-gateway and
    # recognised by its `proxy router` args), istio-egress and istio-system only Istio itself
    for f in demo.data["findings"]:
        if f["check"].startswith(("BYP", "MTLS002")):
            ref = f["resource"]
            assert "istio-ingress" not in (ref["namespace"], ref["name"]), f["message"]
            assert "istio-egress" not in (ref["namespace"], ref["name"]), f["message"]


def test_demo_egress_map(demo: Report) -> None:
    entries = {e["host"]: e for e in demo.data["egress"]}
    assert sorted(entries) == [
        "*.com",
        "api.acquirer.example.net",
        "api.crm-vendor.example.com",
        "api.github.com",
        "api.stripe.com",
        "api.unknown-partner.io",
        "mainframe.legacy.svc.cluster.local",
        "metadata.google.internal",
        "settlement-db.bank-partner.example.net",
    ]
    # D1-D3: classes and registrations of the destinations that are not internet ServiceEntries
    assert {
        h: (entries[h]["registration"], entries[h]["destination_class"])
        for h in (
            "api.crm-vendor.example.com",
            "mainframe.legacy.svc.cluster.local",
            "metadata.google.internal",
        )
    } == {
        "api.crm-vendor.example.com": ("external-name", "public"),
        "mainframe.legacy.svc.cluster.local": ("service-endpoints", "private"),
        "metadata.google.internal": ("service-entry", "metadata"),
    }
    # D3 (correct): a private mainframe is never told to use the egress gateway
    assert not any(
        "egress gateway" in b for b in entries["mainframe.legacy.svc.cluster.local"]["bypass"]
    )
    # shop's NetworkPolicy blocks its direct reach to the metadata server
    (metadata_port,) = entries["metadata.google.internal"]["ports"]
    assert [
        (g["namespace"], g["verdict"], g["policies"])
        for g in metadata_port["direct"]
        if g["namespace"] == "shop"
    ] == [("shop", "blocked", ["shop/restrict-egress"])]
    stripe = entries["api.stripe.com"]
    assert stripe["via_egress_gateway"] == {
        "kind": "Gateway",
        "namespace": "istio-egress",
        "name": "egress-gateway",
    }
    assert stripe["registered_by"] == [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "namespace": "shop",
            "name": "api-stripe",
        }
    ]
    # a ServiceEntry for *.com is not routed through the gateway by a route for one of its hosts
    assert entries["*.com"]["via_egress_gateway"] is None
    assert entries["*.com"]["bypass"][0] == "not routed through an egress gateway"
    assert entries["*.com"]["destination_class"] == "public"
    unknown = entries["api.unknown-partner.io"]
    assert (unknown["registered_by"], unknown["bypass"][0]) == (
        [],
        "not registered by any ServiceEntry",
    )
    assert entries["api.github.com"]["bypass"][0] == "not routed through an egress gateway"


def test_demo_findings_are_exactly_the_planted_problems(demo: Report) -> None:
    """Nothing beyond the planted problems: every finding on the demo is accounted for above."""
    ingress_tls = {k for k in finding_keys(demo) if k[0].startswith(("GW", "VS", "GAPI", "TLS"))}
    core = {("EGR001", "ConfigMap", "istio-system", "istio", "medium")}
    assert finding_keys(demo) == ingress_tls | core | EGRESS_MTLS_AUTHZ | HARDENING


# README "hardening": Istio's security best practices the demo cluster does not follow
HARDENING = {
    # H1: istiod as the chart installs it
    ("CP001", "Deployment", "istio-system", "istiod", "medium"),
    ("CP002", "Deployment", "istio-system", "istiod", "high"),
    # H2: Pod payments-debug injected without the Istio CNI plugin (istio-init, NET_ADMIN, NET_RAW):
    # the default injector's setting, whose ConfigMap the demo does not include, so the mesh
    # (root namespace) carries it
    ("PRX001", "Namespace", "", "istio-system", "low"),
    # H3: the payments hosts, labelled sensitive, share the public gateway with shop and marketing
    ("ISO002", "VirtualService", "payments", "payments-api", "medium"),
    # H4: Istio 1.24 reached end of life on 2025-06-24, before the tests' fixed clock
    ("REL001", "Deployment", "istio-system", "istiod", "high"),
    # H5: the LoadBalancer gateways accept downstream connections without limit
    ("PRX003", "Deployment", "istio-ingress", "istio-ingressgateway", "low"),
    ("PRX003", "Deployment", "partner-api", "partner-gw-istio", "low"),
    # H6: istiod and the installed gateways name the default, non-distroless image in their own
    # spec; payments-debug's sidecar (from the default injector) and partner-gw-istio (rendered
    # by istiod for a Gateway) got it from the default revision's values: one finding, on the
    # mesh
    ("IMG001", "Deployment", "istio-system", "istiod", "low"),
    ("IMG001", "Deployment", "istio-ingress", "istio-ingressgateway", "low"),
    ("IMG001", "Deployment", "istio-ingress", "internal-gateway", "low"),
    ("IMG001", "Deployment", "istio-egress", "istio-egressgateway", "low"),
    ("IMG001", "Namespace", "", "istio-system", "low"),
    # H7: no NetworkPolicy isolates istiod or a gateway for ingress
    ("NP001", "Deployment", "istio-system", "istiod", "low"),
    ("NP001", "Deployment", "istio-ingress", "istio-ingressgateway", "low"),
    ("NP001", "Deployment", "istio-ingress", "internal-gateway", "low"),
    ("NP001", "Deployment", "istio-egress", "istio-egressgateway", "low"),
    ("NP001", "Deployment", "partner-api", "partner-gw-istio", "low"),
}


def test_demo_hardening_findings(demo: Report) -> None:
    """The README's hardening items, each with its exact finding."""
    prefixes = ("CP", "PRX", "SVC", "ISO", "REL", "FEAT", "IMG", "NP")
    ours = {k for k in finding_keys(demo) if k[0].startswith(prefixes)}
    assert ours == {k for k in HARDENING if k[0].startswith(prefixes)}
