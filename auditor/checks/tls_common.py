"""Shared by the TLS check modules: the documentation links, what an edge gateway check reads, and
how a gateway server's TLS settings and certificate Secrets are read."""

from __future__ import annotations

from typing import Any

from auditor.base.model import Severity
from auditor.input import certinfo
from auditor.input.snapshot import KObject
from auditor.mesh.index import K_DEPLOYMENT, K_GATEWAY, K_KGATEWAY, K_POD, K_SERVICE

IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
GATEWAY_DOCS = "https://istio.io/latest/docs/reference/config/networking/gateway/"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
SECURE_INGRESS = "https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/"
GATEWAY_API_DOCS = "https://gateway-api.sigs.k8s.io/reference/spec/"
MESH_DOCS = "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/"

ISTIO_GATEWAY_NEEDS = (K_GATEWAY, K_POD, K_DEPLOYMENT, K_SERVICE)
K8S_GATEWAY_NEEDS = (K_KGATEWAY, K_SERVICE, "gateway.networking.k8s.io/GatewayClass")
PASSTHROUGH = ("PASSTHROUGH", "AUTO_PASSTHROUGH")
TLS_VERSIONS = ("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
WEAK_VERSIONS = ("TLSV1_0", "TLSV1_1")


def external_severity(external: bool, high: Severity, low: Severity) -> Severity:
    return high if external else low


def terminates(server: dict[str, Any]) -> bool:
    """An Istio Gateway server that terminates TLS with a certificate of its own."""
    protocol = str((server.get("port") or {}).get("protocol") or "").upper()
    mode = str((server.get("tls") or {}).get("mode") or "SIMPLE")
    return protocol in ("HTTPS", "TLS") and mode not in (*PASSTHROUGH, "ISTIO_MUTUAL")


def credential_names(tls: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path suffix, secret name) for credentialName and credentialNames[]."""
    out = []
    if tls.get("credentialName"):
        out.append(("credentialName", str(tls["credentialName"])))
    for i, name in enumerate(tls.get("credentialNames") or ()):
        out.append((f"credentialNames[{i}]", str(name)))
    return out


def split_secret_name(name: str, namespace: str) -> tuple[str, str]:
    """Istio's NewShortOrFullName: `ns/name` names another namespace, else `namespace`."""
    if "/" in name:
        ns, _, short = name.partition("/")
        return ns, short
    return namespace, name


def secret_problem(secret: KObject, as_of: str | None) -> str | None:
    """Why a gateway cannot serve this Secret's certificate, or None (also when unknown)."""
    keys = secret.raw.get("dataKeys")
    if keys is None:
        return None  # the Secret's data was not in the input
    usable = [pair for pair in certinfo.CERT_KEYS if set(pair) <= set(keys)]
    if not usable:
        return (
            f"has keys {sorted(keys)} but neither tls.crt/tls.key nor cert/key "
            f"(type {secret.raw.get('type') or 'Opaque'})"
        )
    cert = secret.raw.get("certificate")
    if not isinstance(cert, dict):
        return "has empty certificate or key values"
    if cert.get("format") == "not-pem":
        return f"key {cert.get('key')} does not hold a PEM certificate"
    not_after = cert.get("not_after")
    if as_of and isinstance(not_after, str) and not_after < as_of:
        return f"certificate expired at {not_after}"
    return None
