"""The egress model's verdicts as findings: NetworkPolicy evaluation in BYP001, destination
classes (EGR010 metadata endpoints, no egress-gateway advice for private or metadata
destinations) and plaintext internet egress (TLS012). Exact findings per case."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings, report_for

EGRESS_FAMILIES = ("BYP", "EGR", "TLS")

# Exact findings of the egress, bypass and TLS check families per case (other families, e.g.
# authorization on the egress gateway, are asserted by their own tests).
CASES: dict[str, set[Finding]] = {
    # Istio's documented hardened pattern: no egress-bypass or egress-registration finding at
    # all; the doc's DestinationRule names no CA or SAN, which istiod 1.21+ (the fixture runs 1.24)
    # verifies against the system roots anyway (TLS009, TLS011 info, #14's version model); `default`
    # holds only configuration (BYP009 info). Outside these families the doc also has no
    # AuthorizationPolicy on the egress gateway nor a mesh-wide STRICT policy, and its Gateway
    # lives in `default` while the gateway pods run in istio-system (GW005).
    "egress/istio-docs-hardened-egress.yaml": {
        ("TLS009", "DestinationRule", "default", "originate-tls-for-edition-cnn-com", "info"),
        ("TLS011", "DestinationRule", "default", "originate-tls-for-edition-cnn-com", "info"),
        ("BYP009", "Namespace", "", "default", "info"),
    },
    # the Gateway API tab of the same task: no egress finding; the listener terminating Istio
    # mTLS (tls-terminate-mode ISTIO_MUTUAL) needs no certificate (no TLS002)
    "egress/gateway-api-egress.yaml": {
        ("TLS009", "DestinationRule", "default", "originate-tls-for-edition-cnn-com", "low"),
        ("TLS011", "DestinationRule", "default", "originate-tls-for-edition-cnn-com", "low"),
    },
    # github.com/npolshakova/egress-gateway-examples: port 80 rides mTLS to the egress gateway,
    # which originates TLS; port 443 is registered but not routed, and nothing stops the pod
    "egress/public-npolshakova-mtls-egress.yaml": {
        ("BYP001", "ServiceEntry", "default", "httpbin", "medium"),
        ("BYP004", "Namespace", "", "default", "medium"),
        ("TLS009", "DestinationRule", "default", "originate-tls-for-httpbin", "info"),
        ("TLS011", "DestinationRule", "default", "originate-tls-for-httpbin", "info"),
    },
    # Google's GKE egress tutorial (team-x): the metadata server is allowed on purpose by a
    # NetworkPolicy naming 169.254.169.254/32 (info); Google APIs are reached directly only
    # through the Private Google Access ranges (low); example.com goes through the gateway
    "egress/public-gke-egress-tutorial.yaml": {
        ("EGR010", "ServiceEntry", "istio-egress", "metadata-google-internal", "info"),
        ("BYP001", "ServiceEntry", "istio-egress", "private-googleapis-com", "low"),
        ("TLS012", "ServiceEntry", "istio-egress", "private-googleapis-com", "low"),
    },
    # wildcard-egress-hosts task: resolution NONE on *.wikipedia.org is no loop, because the
    # gateway sends it on to www.wikipedia.org, resolved by DNS (no BYP003); the task has no
    # NetworkPolicy (BYP004)
    "egress/istio-docs-wildcard-egress.yaml": {
        ("BYP004", "Namespace", "", "default", "medium"),
    },
    # egress-tls-origination task: the sidecar originates TLS for port 80 (no TLS012); with no
    # egress gateway and no NetworkPolicy in the task, both ports leave straight from the sidecar
    "egress/istio-docs-sidecar-tls-origination.yaml": {
        ("BYP001", "ServiceEntry", "default", "edition-cnn-com", "medium"),
        ("BYP004", "Namespace", "", "istio-system", "medium"),
        ("TLS009", "DestinationRule", "default", "edition-cnn-com", "low"),
        ("TLS011", "DestinationRule", "default", "edition-cnn-com", "low"),
    },
    "egress/destination-classes.yaml": {
        ("EGR010", "ServiceEntry", "apps", "aws-imds", "high"),
        ("EGR010", "ServiceEntry", "apps", "metadata-google-internal", "high"),
        ("BYP001", "ServiceEntry", "apps", "httpbin-ext", "medium"),
        ("BYP004", "Namespace", "", "istio-system", "medium"),
        ("TLS012", "ServiceEntry", "apps", "httpbin-ext", "medium"),
    },
}


# The new checks on the older egress fixtures (their other checks are asserted in
# test_checks_bypass.py and test_checks_egress.py).
NEW_CHECKS_ON_OLDER_CASES: dict[str, set[Finding]] = {
    # edition.cnn.com:80 goes through the egress gateway, which sends plain HTTP on to the
    # internet (the egress-gateway task's HTTP leg; TLS origination is a separate task)
    "egress/hardened-mesh.yaml": {("TLS012", "ServiceEntry", "apps", "cnn", "medium")},
    # loop.example.com:80 plain HTTP; api.github.com:80 has sidecar TLS origination
    "egress/leaky-mesh.yaml": {("TLS012", "ServiceEntry", "apps", "loop", "medium")},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_egress_path_findings(case: str) -> None:
    assert findings(case, EGRESS_FAMILIES) == CASES[case]


def test_documented_hardened_pattern_has_nothing_at_medium_or_above_in_egress() -> None:
    hardened = findings("egress/istio-docs-hardened-egress.yaml", ("",))
    assert not [f for f in hardened if f[0].startswith(("BYP", "EGR")) and f[4] != "info"]


@pytest.mark.parametrize("case", sorted(NEW_CHECKS_ON_OLDER_CASES))
def test_new_checks_on_older_cases(case: str) -> None:
    assert findings(case, ("TLS012", "EGR010")) == NEW_CHECKS_ON_OLDER_CASES[case]


def _entry(case: str, host: str) -> dict:
    (entry,) = [e for e in report_for(case)["egress"] if e["host"] == host]
    return entry


def test_hardened_pattern_map_entry_says_gateway_and_blocked_by_the_named_policy() -> None:
    entry = _entry("egress/istio-docs-hardened-egress.yaml", "edition.cnn.com")
    gateway = {"kind": "Gateway", "namespace": "default", "name": "istio-egressgateway"}
    assert entry["via_egress_gateway"] == gateway
    gateway = {**gateway, "group": "networking.istio.io"}
    assert entry["bypass"] == []
    assert entry["destination_class"] == "public"
    http, https = entry["ports"]
    assert (http["number"], http["path"], http["gateway"], http["tls_origination"]) == (
        80,
        "egress-gateway",
        gateway,
        "egress-gateway",
    )
    assert http["direct"] == []
    assert (https["number"], https["path"]) == (443, "direct")
    assert https["direct"] == [
        {
            "namespace": "test-egress",
            "why": "sent straight out by its sidecar (port not routed through an egress gateway)",
            "verdict": "blocked",
            "policies": ["test-egress/allow-egress-to-istio-system-and-kube-dns"],
            "only": [],
            "workloads": ["Deployment sleep"],
            "count": 1,
        }
    ]
    assert https["notes"] == [
        "egress gateway default/istio-egressgateway sends routed traffic for edition.cnn.com "
        "on to this port"
    ]
    assert entry["notes"] == [
        "NetworkPolicy verdicts hold only where the cluster's network plugin (CNI) enforces "
        "NetworkPolicy"
    ]


def test_metadata_and_private_destinations_are_not_the_internet() -> None:
    case = "egress/destination-classes.yaml"
    data = report_for(case)
    classes = {e["host"]: (e["destination_class"], e["addresses"]) for e in data["egress"]}
    assert classes == {
        "httpbin.org": ("public", []),
        "imds.aws.example": ("metadata", ["169.254.169.254"]),
        "metadata.google.internal": ("metadata", ["169.254.169.254"]),
        "mymongodb.somedomain": ("private", ["10.40.0.0/24", "10.40.0.2", "10.40.0.3"]),
    }
    for e in data["egress"]:
        if e["destination_class"] != "public":
            assert not any("egress gateway" in b for b in e["bypass"]), e["bypass"]
    for f in data["findings"]:
        if f["check"] == "EGR010":
            assert "egress gateway" not in f["message"]
            assert "internet" not in f["message"]
    (byp,) = [f for f in data["findings"] if f["check"] == "BYP001"]
    assert byp["message"] == (
        "httpbin.org (ServiceEntry apps/httpbin-ext) port 80 leaves without an egress gateway "
        "(the mesh has none): sidecars send it directly to the internet from apps (1 workload, "
        "no egress NetworkPolicy)"
    )


def test_gateway_api_egress_gateway_is_the_path_out() -> None:
    entry = _entry("egress/gateway-api-egress.yaml", "edition.cnn.com")
    gateway = {
        "kind": "Gateway",
        "namespace": "default",
        "name": "cnn-egress-gateway",
        "group": "gateway.networking.k8s.io",
    }
    http, https = entry["ports"]
    assert (http["path"], http["gateway"], http["tls_origination"], http["direct"]) == (
        "egress-gateway",
        gateway,
        "egress-gateway",
        [],
    )
    # an HTTPRoute on the ServiceEntry carries only its HTTP port: 443 stays direct, and the
    # NetworkPolicy blocks it
    assert (https["path"], [g["verdict"] for g in https["direct"]]) == ("direct", ["blocked"])
    assert https["notes"] == [
        "egress gateway default/cnn-egress-gateway sends routed traffic for edition.cnn.com on "
        "to this port"
    ]
    assert entry["bypass"] == []


# Ambient mode (istio.io ambient egress gateway task): the egress families only; membership
# and mTLS verdicts on ambient meshes belong to the mTLS checks.
AMBIENT = "egress/ambient-egress-waypoint.yaml"


def test_ambient_waypoint_egress_findings() -> None:
    assert findings(AMBIENT, ("BYP", "EGR", "TLS")) == {
        # the waypoint is the egress gateway of Istio's task, not an egress gateway Deployment:
        # no NetworkPolicy anywhere is one mesh-wide finding
        ("BYP004", "Namespace", "", "istio-system", "medium"),
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
        # example.com: "an external service without TLS origination", sent by the waypoint
        ("TLS012", "ServiceEntry", "istio-egress", "example-com", "medium"),
        ("TLS009", "DestinationRule", "istio-egress", "httpbin-org-tls", "low"),
        ("TLS011", "DestinationRule", "istio-egress", "httpbin-org-tls", "low"),
    }


def test_ambient_waypoint_is_the_path_and_no_message_says_sidecar() -> None:
    data = report_for(AMBIENT)
    waypoint = {
        "kind": "Gateway",
        "namespace": "istio-egress",
        "name": "waypoint",
        "group": "gateway.networking.k8s.io",
    }
    paths = {
        e["host"]: [
            (p["path"], p["gateway"], p["tls_origination"], p["direct"]) for p in e["ports"]
        ]
        for e in data["egress"]
    }
    assert paths == {
        "example.com": [("egress-waypoint", waypoint, "none", [])],
        "httpbin.org": [("egress-waypoint", waypoint, "waypoint", [])],
    }
    for f in data["findings"]:
        assert "sidecar" not in f["message"], f["message"]
    (egr,) = [f for f in data["findings"] if f["check"] == "EGR001"]
    assert "ztunnel forwards traffic" in egr["message"]
