"""The data model every step shares: severities, categories, resource refs, checks, findings.

No I/O here. Everything is frozen so a finding cannot change after a check yields it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A finding's `baseline_status` in report.json (set by auditor/run/baseline.py).
NEW = "new"
UNCHANGED = "unchanged"
RESOLVED = "resolved"
NOT_COMPARED = "not_compared"

# A waiver's `status` in report.json (set by auditor/run/waivers.py).
MATCHED = "matched"
UNUSED = "unused"
EXPIRED = "expired"


class Severity(enum.IntEnum):
    """Ordered so that gating (`--fail-on high`) is a comparison."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


class Category(enum.StrEnum):
    EXPOSURE = "exposure"
    TLS = "tls"
    EGRESS_REGISTRATION = "egress-registration"
    EGRESS_BYPASS = "egress-bypass"
    MTLS = "mtls"
    AUTHORIZATION = "authorization"
    CONFIG = "config"


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ResourceRef:
    """Identifies one object. `group` is empty for the core API group."""

    group: str
    kind: str
    namespace: str
    name: str
    api_version: str = ""

    @property
    def key(self) -> str:
        ns = self.namespace or "-"
        return f"{self.group or 'core'}/{self.kind}/{ns}/{self.name}"

    def display(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace or None,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckMeta:
    """A check's documentation and identity, declared once beside its function."""

    id: str
    title: str
    category: Category
    severity: Severity
    looks_at: tuple[str, ...]
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    ist_codes: tuple[str, ...] = ()
    # the lowest and highest severity its findings take (a finding says why it is not the
    # default: Finding.severity_reason); (severity, severity) when it never varies
    severity_range: tuple[Severity, Severity] | None = None

    @property
    def severities(self) -> tuple[Severity, Severity]:
        return self.severity_range or (self.severity, self.severity)

    def to_json(self) -> dict[str, Any]:
        """The check's documentation as report.json `checks[]` and `mesh-audit checks` show it:
        `references` lists the docs and then the istioctl analyze codes."""
        low, high = self.severities
        return {
            "id": self.id,
            "title": self.title,
            "category": str(self.category),
            "severity": self.severity.label,
            "severity_range": [low.label, high.label],
            "looks_at": list(self.looks_at),
            "rationale": self.rationale,
            "remediation": self.remediation,
            "references": list(self.references)
            + [code for code in self.ist_codes if code not in self.references],
            "ist_codes": list(self.ist_codes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What a check yields; the runner adds the check's metadata to make a Finding.

    `detail` distinguishes two findings of one check on one resource (e.g. the server port)
    and is part of the finding's stable id.
    """

    resource: ResourceRef
    message: str
    path: str = ""
    detail: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    # why `severity` is not the check's default, in words that follow "high: " (e.g.
    # "reachable from the internet"); every check that sets a severity says why
    severity_reason: str = ""
    remediation: str | None = None
    ist_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    id: str
    check: str
    category: Category
    severity: Severity
    title: str
    message: str
    resource: ResourceRef
    path: str
    evidence: Mapping[str, Any]
    remediation: str
    references: tuple[str, ...]
    # why the severity differs from the check's default ("" when it does not)
    severity_reason: str = ""

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (-int(self.severity), self.check, self.resource.key, self.path, self.id)

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "check": self.check,
            "category": str(self.category),
            "severity": self.severity.label,
            "title": self.title,
            "message": self.message,
            "resource": self.resource.to_json(),
            "path": self.path,
            "evidence": dict(self.evidence),
            "remediation": self.remediation,
            "references": list(self.references),
        }
        if self.severity_reason:
            out["severity_reason"] = self.severity_reason
        return out


def finding_id(check_id: str, resource: ResourceRef, detail: str) -> str:
    """Stable fingerprint: same check, same resource, same detail give the same id on every run."""
    raw = "\x1f".join((check_id, resource.key, detail))
    return f"{check_id}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ServicePort:
    """A port of the Service in front of a gateway that carries one server's or listener's port."""

    namespace: str
    name: str
    type: str
    port: int
    target_port: int | str | None
    node_port: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "type": self.type,
            "port": self.port,
            "target_port": self.target_port,
            "node_port": self.node_port,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadBalancerTls:
    """TLS a cloud load balancer terminates on a Service port (auditor/istio/lb_tls.py): the
    internet hop is TLS; the hop from the load balancer to the pods is TLS only when it
    re-encrypts (`backend_tls`)."""

    provider: str
    annotation: str  # the annotation that asks for it, as written on the Service
    backend_tls: bool
    reference: str  # the provider's documentation or controller source

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "annotation": self.annotation,
            "backend_tls": self.backend_tls,
            "reference": self.reference,
        }


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class RouteRule:
    """One route rule behind a listener: what requests it matches and where they go."""

    route: ResourceRef
    match: str  # e.g. "uri prefix /api, method GET", or "any request"
    backends: tuple[str, ...]
    redirect: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "route": {
                "kind": self.route.kind,
                "namespace": self.route.namespace or None,
                "name": self.route.name,
            },
            "match": self.match,
            "backends": list(self.backends),
            "redirect": self.redirect,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureEntry:
    """One externally (or internally) served host and port on a gateway."""

    host: str
    port: int
    protocol: str
    tls: bool
    tls_mode: str
    gateway: ResourceRef
    listener: str
    external: bool
    addresses: tuple[str, ...]
    routes: tuple[ResourceRef, ...]
    backends: tuple[str, ...]
    redirect_only: bool = False
    service_ports: tuple[ServicePort, ...] = ()
    notes: tuple[str, ...] = ()
    rules: tuple[RouteRule, ...] = ()
    # What kind of entry point: istio-gateway, gateway-api, service (a LoadBalancer, NodePort or
    # externalIPs Service in front of an application), ingress (networking.k8s.io Ingress),
    # host-port, host-network. For entries that are not gateways, `gateway` is the Service,
    # Ingress or Pod that opens the entry.
    entry: str = "istio-gateway"
    # internet, restricted, internal, node-local or cluster (auditor.istio.reachability)
    reachability: str = "cluster"
    reach_reason: str = ""
    source_ranges: tuple[str, ...] = ()
    via_istio_gateway: bool = True
    workloads: tuple[str, ...] = ()
    # TLS the cloud load balancer terminates on every external Service port carrying the entry
    lb_tls: LoadBalancerTls | None = None

    def sort_key(self) -> tuple[bool, str, int, str]:
        return (not self.external, self.host, self.port, self.gateway.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "tls": self.tls,
            "tls_mode": self.tls_mode,
            "gateway": {
                "kind": self.gateway.kind,
                "namespace": self.gateway.namespace or None,
                "name": self.gateway.name,
            },
            "listener": self.listener,
            "external": self.external,
            "addresses": list(self.addresses),
            "routes": [r.to_json() for r in self.routes],
            "backends": list(self.backends),
            "redirect_only": self.redirect_only,
            "service_ports": [p.to_json() for p in self.service_ports],
            "notes": list(self.notes),
            "rules": [r.to_json() for r in self.rules],
            "entry": self.entry,
            "reachability": self.reachability,
            "reach_reason": self.reach_reason,
            "source_ranges": list(self.source_ranges),
            "via_istio_gateway": self.via_istio_gateway,
            "workloads": list(self.workloads),
            **({"lb_tls": self.lb_tls.to_json()} if self.lb_tls else {}),
        }
