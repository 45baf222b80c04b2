"""Constants, the planted-problem catalogue and what a generator run yields."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

BASE_TS = 1_735_689_600  # 2025-01-01T00:00:00Z
ISTIO_VERSION = "1.24.2"
PROXY_IMAGE = f"docker.io/istio/proxyv2:{ISTIO_VERSION}"
DOMAIN = "example.com"
NAMESPACES_PER_SHARD = 100
NAMESPACES_PER_GATEWAY = 25
# Replicas of an app Deployment: 4 on average, so Pods are about 40% of the objects mesh-audit
# reads (issue #17: a cluster with 100k pods holds about 250k such objects)
REPLICAS = (1, 2, 2, 3, 3, 4, 4, 5, 6, 10)


def _words(text: str) -> list[str]:
    return text.split()


APP_WORDS = _words(
    "frontend cart checkout catalog search reviews ratings inventory orders shipping billing "
    "invoices accounts profile auth session notify email sms recommend pricing promo ledger "
    "reports audit export import media thumbnails upload gateway-bff graphql metrics"
)
TEAM_WORDS = _words(
    "shop payments growth identity logistics content data platform risk support partners "
    "mobile web ads analytics finance search media"
)
EXTERNAL_HOSTS = (
    "api.stripe.com",
    "api.github.com",
    "hooks.slack.com",
    "api.sendgrid.com",
    "www.googleapis.com",
    "sts.amazonaws.com",
    "s3.eu-west-1.amazonaws.com",
    "api.twilio.com",
    "login.microsoftonline.com",
    "api.datadoghq.eu",
    "o4504.ingest.sentry.io",
    "api.openai.com",
)


def _pem(label: str) -> str:
    block = f"-----BEGIN {label}-----\nRkFLRS1QTEFDRUhPTERFUg==\n-----END {label}-----\n"
    return base64.b64encode(block.encode()).decode()


# A PEM block whose body is a placeholder, as exported snapshots hold: mesh-audit reads it as
# an unparsed certificate (not a broken one), never a real key
FAKE_CERT = _pem("CERTIFICATE")
FAKE_KEY = _pem("PRIVATE KEY")

# Problem types: slug -> the checks that report it (on main when this was written). A plant can
# trip more than one check. A Gateway in an app namespace on a port its shared gateway Service
# lacks (GW002) binds another namespace's gateway workload but publishes nothing on the internet
# (no Service carries the port), so GW005 does not report it.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "gateway-selector-matches-nothing": ("GW001",),
    "gateway-port-not-on-service": ("GW002",),
    "virtualservice-unknown-gateway": ("VS001", "VS002"),
    "virtualservice-destination-missing-service": ("EGR003",),
    "gateway-https-secret-missing": ("TLS003",),
    "gateway-plaintext-http-no-redirect": ("TLS001",),
    "destinationrule-tls-disabled": ("MTLS003",),
    "peerauthentication-permissive": ("MTLS002",),
    "authorizationpolicy-allow-all": ("AUTHZ004",),
    "serviceentry-wildcard-host": ("EGR006",),
}


@dataclass
class Planted:
    problem: str
    checks: tuple[str, ...]
    kind: str
    namespace: str
    name: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "checks": list(self.checks),
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "detail": self.detail,
        }


@dataclass
class Mesh:
    """What was generated: the objects (unless a sink took them), counts, planted problems."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind key -> objects
    total: int = 0


class Sink:
    """Where generated objects go as they are made (`stream`): `add` each object, and
    `end_namespace` when an app namespace is complete (nothing more is added to it)."""

    def add(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def end_namespace(self, namespace: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Running pod as its Service's EndpointSlice lists it."""

    pod: str
    uid: str
    ip: str
    node: str
    zone: str


ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
PODS_PER_NODE = 40  # average; a /24 podCIDR per node (kube-controller-manager's default mask)


def kind_key(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{group}/{obj['kind']}" if group else obj["kind"]
