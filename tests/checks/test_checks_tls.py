"""TLS checks on Istio Gateway servers and DestinationRule origination, one fixture case each."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.tls_settings import weak_cipher
from auditor.input import certinfo
from auditor.input.files import load_paths
from auditor.run.scan import scan
from tests.case_helpers import findings, report_for
from tests.helpers import CASES, Key, finding_keys, scan_paths

FAMILIES = ("GW", "VS", "GAPI", "TLS")


def _ours(case: str) -> tuple[set[Key], dict[str, Any]]:
    report = scan_paths(CASES / "tls" / f"{case}.yaml")
    assert report.data["warnings"] == []
    return {k for k in finding_keys(report) if k[0].startswith(FAMILIES)}, dict(report.data)


def _paths(data: dict[str, Any], check: str) -> set[tuple[str, str]]:
    return {(f["resource"]["name"], f["path"]) for f in data["findings"] if f["check"] == check}


EXPECTED: dict[str, set[Key]] = {
    "gateway-secrets": {
        ("GW005", "Gateway", "apps", "misplaced", "low"),
        ("TLS002", "Gateway", "istio-ingress", "no-credential", "high"),
        ("TLS003", "Gateway", "apps", "misplaced", "high"),
        ("TLS004", "Gateway", "istio-ingress", "certs", "high"),
    },
    "protocol-and-ciphers": {
        ("TLS005", "Gateway", "istio-ingress", "versions", "medium"),
        ("TLS006", "Gateway", "istio-ingress", "ciphers", "medium"),
        ("TLS007", "Gateway", "istio-ingress", "mtls", "medium"),
    },
    "duplicate-certificate": {
        ("TLS008", "Gateway", "istio-ingress", "blog", "low"),
        ("TLS008", "Gateway", "istio-ingress", "shop", "low"),
    },
    "destinationrule-origination": {
        ("TLS009", "DestinationRule", "payments", "credential-no-selector", "low"),
        ("TLS009", "DestinationRule", "payments", "no-ca", "low"),
        ("TLS009", "DestinationRule", "payments", "port-level", "low"),
        ("TLS009", "DestinationRule", "payments", "subset", "low"),
        ("TLS010", "DestinationRule", "payments", "skip-verify", "medium"),
        ("TLS011", "DestinationRule", "payments", "no-ca", "low"),
    },
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_findings(case: str) -> None:
    keys, _ = _ours(case)
    assert keys == EXPECTED[case]


def test_secret_problems_per_server() -> None:
    _, data = _ours("gateway-secrets")
    assert _paths(data, "TLS004") == {
        ("certs", "spec.servers[1].tls.credentialName"),  # expired in 2021
        ("certs", "spec.servers[2].tls.credentialName"),  # cert.pem/key.pem
    }
    messages = sorted(f["message"] for f in data["findings"] if f["check"] == "TLS004")
    assert "certificate expired at 2021-01-01T00:00:00Z" in messages[0]
    assert "neither tls.crt/tls.key nor cert/key" in messages[1]
    # the Secret sits beside the Gateway (apps), but Istio reads the workload's namespace
    misplaced = next(f for f in data["findings"] if f["check"] == "TLS003")
    assert misplaced["evidence"]["secret"] == "istio-ingress/beside-gateway"


def test_mesh_tls_defaults_apply_to_servers_without_their_own() -> None:
    _, data = _ours("protocol-and-ciphers")
    findings = {f["path"]: f for f in data["findings"] if f["check"] == "TLS005"}
    assert set(findings) == {
        "spec.servers[0].tls.minProtocolVersion",
        "spec.servers[1].tls.minProtocolVersion",
    }
    assert findings["spec.servers[0].tls.minProtocolVersion"]["evidence"]["minProtocolVersion"] == (
        "TLSV1_0"
    )
    assert "tlsDefaults" in findings["spec.servers[0].tls.minProtocolVersion"]["message"]
    weak = next(f for f in data["findings"] if f["check"] == "TLS006")
    assert weak["evidence"]["weak"] == ["AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"]


def test_origination_paths_and_ist_codes() -> None:
    _, data = _ours("destinationrule-origination")
    codes = {
        (f["resource"]["name"], f["path"], next(r for r in f["references"] if r.startswith("IST")))
        for f in data["findings"]
        if f["check"] == "TLS009"
    }
    assert codes == {
        ("no-ca", "spec.trafficPolicy.tls", "IST0128"),
        ("credential-no-selector", "spec.trafficPolicy.tls", "IST0128"),
        ("port-level", "spec.trafficPolicy.portLevelSettings[0].tls", "IST0129"),
        ("subset", "spec.subsets[0].trafficPolicy.tls", "IST0128"),
    }


@pytest.mark.parametrize(
    ("suite", "weak"),
    [
        ("ECDHE-ECDSA-AES128-GCM-SHA256", False),
        ("ECDHE-RSA-CHACHA20-POLY1305", False),
        ("TLS_AES_256_GCM_SHA384", False),
        ("ECDHE-RSA-AES128-SHA", True),  # CBC with SHA-1
        ("AES256-GCM-SHA384", True),  # static RSA key exchange: no forward secrecy
        ("DES-CBC3-SHA", True),
        ("ECDHE-RSA-RC4-SHA", True),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", True),
    ],
)
def test_weak_cipher(suite: str, weak: bool) -> None:
    assert weak_cipher(suite) is weak


def test_certificate_summary_reads_validity_and_never_the_key() -> None:
    valid = (CASES / "tls" / "gateway-secrets.yaml").read_text()
    b64 = valid.split("tls.crt: ", 1)[1].split("\n", 1)[0]
    summary = certinfo.summarize({"tls.crt": b64, "tls.key": "a2V5"})
    assert summary == {
        "key": "tls.crt",
        "format": "pem",
        "not_before": "2025-01-01T00:00:00Z",
        "not_after": "2125-01-01T00:00:00Z",
    }
    # generic keys first, as Istio's ExtractCertInfo; a non-PEM value cannot be loaded
    assert certinfo.summarize({"cert": "aHVzaAo=", "key": "a2V5"}) == {
        "key": "cert",
        "format": "not-pem",
    }
    # a PEM block that does not parse (a placeholder) is not judged
    placeholder = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkZBS0UKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
    assert certinfo.summarize({"tls.crt": placeholder, "tls.key": "a2V5"}) == {
        "key": "tls.crt",
        "format": "unparsed",
    }
    assert certinfo.summarize({"tls.crt": "", "tls.key": "a2V5"}) is None


def test_reach_is_judged_per_server_port() -> None:
    # the LoadBalancer carries 443 only: the 9443 and 9080 servers are not reachable from
    # outside, so their TLS problems rate as internal and the wildcard on 9080 is not exposure
    assert findings("tls/uncarried-port.yaml", ("TLS", "GW")) == {
        ("TLS005", "Gateway", "edge", "edge", "medium"),  # port 443, TLSV1_0
        ("TLS005", "Gateway", "edge", "edge", "low"),  # port 9443, TLSV1_1
        ("TLS004", "Gateway", "edge", "edge", "high"),  # empty key material, port 443
        ("TLS004", "Gateway", "edge", "edge", "medium"),  # the same Secret, port 9443
        ("GW002", "Gateway", "edge", "edge", "low"),  # 9443 and 9080 are not on the Service
    }
    paths = {
        (f["check"], f["path"], f["severity"])
        for f in report_for("tls/uncarried-port.yaml")["findings"]
        if f["check"] in ("TLS005", "GW002", "GW004")
    }
    assert paths == {
        ("TLS005", "spec.servers[0].tls.minProtocolVersion", "medium"),
        ("TLS005", "spec.servers[1].tls.minProtocolVersion", "low"),
        ("GW002", "spec.servers[1].port.number", "low"),
        ("GW002", "spec.servers[2].port.number", "low"),
    }


def _versioned(version: str | None, *extra: str) -> set[tuple[str, str, str, str, str]]:
    snapshot = load_paths(
        [str(CASES / "tls" / "origination-versions.yaml"), *(str(CASES / "tls" / e) for e in extra)]
    )
    if version is not None:
        snapshot.source.istio_version = version
    data = scan(snapshot, generated_at="2026-01-01T00:00:00Z").data
    return finding_keys(data, ("TLS009", "TLS010", "TLS011"))


def test_origination_verdicts_follow_the_istio_version() -> None:
    cnn = ("DestinationRule", "default", "edition-cnn-com")
    sni = ("DestinationRule", "default", "explicit-sni")
    # 1.21 and later: system roots and auto SAN validation
    assert _versioned("1.24.2") == {
        ("TLS009", *cnn, "info"),
        ("TLS011", *cnn, "info"),
        ("TLS011", *sni, "low"),
    }
    assert _versioned("1.21.0") == _versioned("1.24.2")
    # before 1.21: no verification at all
    assert _versioned("1.20.8") == {
        ("TLS009", *cnn, "medium"),
        ("TLS011", *cnn, "low"),
        ("TLS011", *sni, "low"),
    }
    # unknown (no istiod, no --istio-version) and mixed revisions: low, both outcomes named
    unknown = {("TLS009", *cnn, "low"), ("TLS011", *cnn, "low"), ("TLS011", *sni, "low")}
    assert _versioned(None) == unknown
    assert _versioned("1.20.8, 1.22.1") == unknown
    # istiod's environment wins over its version (the 1.20 compatibility profile)
    assert _versioned(None, "istiod/istiod-1.24-compat-1.20.yaml") == _versioned("1.20.8")


def test_unknown_version_message_says_what_holds_for_each() -> None:
    snapshot = load_paths([str(CASES / "tls" / "origination-versions.yaml")])
    data = scan(snapshot, generated_at="2026-01-01T00:00:00Z").data
    msg = next(f["message"] for f in data["findings"] if f["check"] == "TLS009")
    assert "from Istio 1.21 on the proxy verifies the server against the system roots" in msg
    assert "before 1.21" in msg and "--istio-version" in msg
