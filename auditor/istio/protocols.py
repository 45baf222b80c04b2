"""The protocol of a Service port as Istio selects it (explicit protocol selection).

Istio reads `appProtocol`, else the port name's prefix `<protocol>[-<suffix>]`
(istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/). Without either,
Istio sniffs the protocol; mesh-audit then cannot tell (UNKNOWN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLAINTEXT = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY", "H2C"})
ENCRYPTED = frozenset({"HTTPS", "TLS"})
KNOWN = PLAINTEXT | ENCRYPTED | frozenset({"TCP", "MONGO", "MYSQL", "REDIS", "UDP", "SCTP"})
UNKNOWN = "UNKNOWN"

# appProtocol values Kubernetes standardises (kubernetes.io/h2c, kubernetes.io/ws, ...)
K8S_APP_PROTOCOLS = {
    "kubernetes.io/h2c": "HTTP2",
    "kubernetes.io/ws": "HTTP",
    "kubernetes.io/wss": "HTTPS",
}


def port_protocol(port: Mapping[str, Any]) -> str:
    """HTTP, HTTP2, GRPC, HTTPS, TLS, TCP, ... or UNKNOWN for one Service port."""
    if str(port.get("protocol") or "TCP").upper() in ("UDP", "SCTP"):
        return str(port["protocol"]).upper()
    app = port.get("appProtocol")
    if isinstance(app, str) and app:
        if app in K8S_APP_PROTOCOLS:
            return K8S_APP_PROTOCOLS[app]
        upper = app.upper()
        if upper in KNOWN:
            return upper
    name = str(port.get("name") or "")
    prefix = name.split("-", 1)[0].upper()
    if prefix in KNOWN:
        return prefix
    return UNKNOWN


def plaintext(protocol: str) -> bool:
    """An HTTP-family protocol without TLS: what is sent can be read on the path."""
    return protocol in PLAINTEXT


def encrypted(protocol: str) -> bool:
    return protocol in ENCRYPTED
