"""Kubernetes Services that lead out of the cluster, as Istio treats them.

ExternalName Services (istio/istio pilot/pkg/serviceregistry/kube/conversion.go, and the Istio
1.21 upgrade notes, istio/istio.io content/en/news/releases/1.21.x/announcing-1.21/upgrade-notes):

- Before Istio 1.21 (and on 1.20-1.23 with `ENABLE_EXTERNAL_NAME_ALIAS=false` on istiod), an
  ExternalName Service was a service of its own: MESH_EXTERNAL, DNS resolution to
  `spec.externalName`, on the ports the Service declares (a non-HTTP port matched all traffic
  on that port). Under REGISTRY_ONLY it is a registered way out.
- From 1.21 the default is `alias`: the Service's name is an alias of the host it points to;
  Istio ignores its ports. Traffic goes where traffic to the target host goes: through the
  target's ServiceEntry (and its routing) when one registers it; otherwise the sidecar has no
  route for it (blocked under REGISTRY_ONLY, passed through under ALLOW_ANY). Istio 1.24 removed
  the flag (istio/istio PR 52317): alias always.
- Kubernetes DNS answers the name with a CNAME for everyone, so a pod outside the mesh (or one
  whose traffic escapes capture) reaches the target directly either way.

Selector-less Services: a Service without `spec.selector` whose endpoints are written by hand
(EndpointSlices labelled `kubernetes.io/service-name`, or legacy Endpoints of the Service's name,
which the control plane mirrors into EndpointSlices) is an ordinary Kubernetes service to Istio,
so sidecars send to those addresses as to any registered service: a registered way out when the
addresses are outside the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.istio import hosts as H

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ALIAS_FLAG = "ENABLE_EXTERNAL_NAME_ALIAS"
# Port-name prefixes Istio maps to a protocol (protocol selection by port name).
NAME_PROTOCOLS = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "grpc-web": "GRPC-WEB",
    "tls": "TLS",
    "tcp": "TCP",
    "mongo": "MONGO",
    "redis": "REDIS",
    "mysql": "MYSQL",
}
VERSION = re.compile(r"^v?(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class ExternalNameMode:
    mode: str  # "alias" or "service"
    why: str


def _minor(tag: str) -> tuple[int, int] | None:
    match = VERSION.match(tag.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def external_name_mode(istio_version: str | None, alias_flag: str | None) -> ExternalNameMode:
    """How the Istio in force treats ExternalName Services. `istio_version` is the istiod image
    tag(s) ("1.24.2" or "1.23.1, 1.24.2"); `alias_flag` is istiod's ENABLE_EXTERNAL_NAME_ALIAS
    environment value, if set. With several revisions, the oldest decides (it still serves
    the older treatment to its proxies)."""
    versions = [v for v in (_minor(t) for t in (istio_version or "").split(",")) if v]
    flag = (alias_flag or "").strip().lower()
    if not versions:
        return ExternalNameMode("alias", "Istio version unknown: taken as 1.21 or later (alias)")
    oldest = min(versions)
    shown = f"{oldest[0]}.{oldest[1]}"
    if oldest >= (1, 24):
        return ExternalNameMode("alias", f"Istio {shown}: ExternalName is an alias")
    if oldest >= (1, 21):
        if flag == "false":
            return ExternalNameMode(
                "service", f"Istio {shown} with {ALIAS_FLAG}=false: ExternalName is a service"
            )
        return ExternalNameMode("alias", f"Istio {shown}: ExternalName is an alias")
    if oldest >= (1, 20) and flag == "true":
        return ExternalNameMode("alias", f"Istio {shown} with {ALIAS_FLAG}=true")
    return ExternalNameMode("service", f"Istio {shown}: ExternalName is a service of its own")


def alias_flag(deployments: Iterable[Mapping[str, Any]]) -> str | None:
    """istiod's ENABLE_EXTERNAL_NAME_ALIAS value (discovery container env), if any."""
    for obj in deployments:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        if not (name == "istiod" or name.startswith("istiod-")):
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        for container in (template.get("spec") or {}).get("containers") or []:
            if not isinstance(container, Mapping) or container.get("name") != "discovery":
                continue
            for env in container.get("env") or []:
                if isinstance(env, Mapping) and env.get("name") == ALIAS_FLAG:
                    return str(env.get("value") or "")
    return None


def external_name(spec: Mapping[str, Any]) -> str:
    """The host an ExternalName Service points at ("" for other Services)."""
    if str(spec.get("type") or "") != "ExternalName":
        return ""
    return H.normalize(str(spec.get("externalName") or ""))


def port_protocol(port: Mapping[str, Any]) -> str:
    """The protocol Istio gives a Service port: appProtocol, else the name's prefix, else TCP."""
    app = str(port.get("appProtocol") or "").lower()
    if app:
        return NAME_PROTOCOLS.get(app, app.upper())
    if str(port.get("protocol") or "TCP").upper() == "UDP":
        return "UDP"
    name = str(port.get("name") or "").lower()
    if name.startswith("grpc-web"):
        return "GRPC-WEB"
    return NAME_PROTOCOLS.get(name.split("-", 1)[0], "TCP")


def service_ports(spec: Mapping[str, Any]) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for p in spec.get("ports") or ():
        if isinstance(p, Mapping) and isinstance(p.get("port"), int):
            out.setdefault(p["port"], (port_protocol(p), str(p.get("name") or "")))
    return out


def selectorless(spec: Mapping[str, Any]) -> bool:
    return not spec.get("selector") and str(spec.get("type") or "ClusterIP") != "ExternalName"


def slice_addresses(slices: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every endpoint address of a Service's EndpointSlices (IPs, or names for FQDN slices)."""
    out: list[str] = []
    for es in slices:
        for ep in es.get("endpoints") or ():
            if not isinstance(ep, Mapping):
                continue
            for addr in ep.get("addresses") or ():
                text = str(addr).strip()
                if text and text not in out:
                    out.append(text)
    return out


def slice_service(labels: Mapping[str, str]) -> str:
    return str(labels.get(SERVICE_NAME_LABEL) or "")


SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"


def endpoints_addresses(endpoints: Mapping[str, Any]) -> list[str]:
    """The ready addresses of a legacy Endpoints object (`subsets[].addresses[].ip`)."""
    out: list[str] = []
    for subset in endpoints.get("subsets") or ():
        if not isinstance(subset, Mapping):
            continue
        for addr in subset.get("addresses") or ():
            ip = str(addr.get("ip") or "").strip() if isinstance(addr, Mapping) else ""
            if ip and ip not in out:
                out.append(ip)
    return out


def mirrored(labels: Mapping[str, str]) -> bool:
    """Whether Kubernetes mirrors an Endpoints object of a selector-less Service into
    EndpointSlices, which is what Istio reads (kubernetes/website content/en/docs/concepts/
    services-networking/endpoint-slices.md, "EndpointSlice mirroring": not when labelled
    `endpointslice.kubernetes.io/skip-mirror: "true"`)."""
    return str(labels.get(SKIP_MIRROR, "")).lower() != "true"
