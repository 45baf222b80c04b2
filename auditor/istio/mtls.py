"""PeerAuthentication precedence and DestinationRule client TLS, as Istio applies them.

Source: https://istio.io/latest/docs/reference/config/security/peer_authentication/ and
https://istio.io/latest/docs/concepts/security/#peer-authentication

- A policy in the root namespace (meshConfig.rootNamespace, `istio-system`) without a selector
  is mesh-wide; one in a namespace without a selector is namespace-wide; one with a selector
  applies to the matching workloads of its namespace. The narrowest wins: workload > namespace >
  mesh. Mode `UNSET` (or no `mtls`) inherits from the parent; with nothing set, Istio uses
  PERMISSIVE. When several policies tie at one level, Istio takes the oldest; with no creation
  time here, the first by name.
- `portLevelMtls` overrides the mode for a workload port and is honoured only with a selector.
  A policy with a selector in the root namespace is ignored (the reference's note).
- Ambient (https://istio.io/latest/docs/reference/config/security/peer_authentication/ and
  istio/istio architecture/ambient/peer-authentication.md): ztunnel always speaks mTLS (HBONE)
  between ambient workloads; istiod turns the effective STRICT policy, port-level exceptions
  included, into a ztunnel DENY rule for unauthenticated traffic; DISABLE is not supported there
  and behaves as PERMISSIVE: plaintext from outside the mesh is accepted.
- DestinationRule `tls.mode` DISABLE sends plaintext; SIMPLE is one-way TLS without the client
  certificate that mutual TLS needs; ISTIO_MUTUAL (or auto mTLS with no tls setting) is mTLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MODE = "PERMISSIVE"
WEAK_MODES = frozenset({"PERMISSIVE", "DISABLE"})


def pa_mode(spec: Mapping[str, Any]) -> str:
    mtls = spec.get("mtls") or {}
    mode = mtls.get("mode") or "UNSET"
    return str(mode).upper()


@dataclass(frozen=True, slots=True)
class Effective:
    mode: str
    source: Any | None  # the PeerAuthentication that decided, or None for Istio's default


class PeerAuthIndex:
    """PeerAuthentications by level; `effective()` resolves precedence for one workload."""

    def __init__(self, policies: list[Any], root_namespace: str) -> None:
        self.root_namespace = root_namespace
        self.mesh_wide: list[Any] = []
        self.namespace_wide: dict[str, list[Any]] = {}
        self.workload: dict[str, list[Any]] = {}
        for pa in sorted(policies, key=_age):
            labels = (pa.spec.get("selector") or {}).get("matchLabels") or {}
            if labels:
                if pa.namespace != root_namespace:
                    self.workload.setdefault(pa.namespace, []).append(pa)
            elif pa.namespace == root_namespace:
                self.mesh_wide.append(pa)
            else:
                self.namespace_wide.setdefault(pa.namespace, []).append(pa)

    def mesh_mode(self) -> Effective:
        for pa in self.mesh_wide[:1]:
            mode = pa_mode(pa.spec)
            if mode != "UNSET":
                return Effective(mode, pa)
        return Effective(DEFAULT_MODE, None)

    def namespace_mode(self, namespace: str) -> Effective:
        if namespace != self.root_namespace:
            for pa in self.namespace_wide.get(namespace, [])[:1]:
                mode = pa_mode(pa.spec)
                if mode != "UNSET":
                    return Effective(mode, pa)
        return self.mesh_mode()

    def workload_policy(self, namespace: str, labels: Mapping[str, str]) -> Any | None:
        for pa in self.workload.get(namespace, ()):
            selector = (pa.spec.get("selector") or {}).get("matchLabels") or {}
            if all(labels.get(k) == v for k, v in selector.items()):
                return pa
        return None

    def effective(self, namespace: str, labels: Mapping[str, str]) -> Effective:
        pa = self.workload_policy(namespace, labels)
        if pa is not None:
            mode = pa_mode(pa.spec)
            if mode != "UNSET":
                return Effective(mode, pa)
        return self.namespace_mode(namespace)

    def port_mode(self, namespace: str, labels: Mapping[str, str], port: int) -> Effective:
        """The mode for one workload port: the selecting policy's `portLevelMtls` entry, else
        the workload's mode (UNSET at the port inherits it)."""
        pa = self.workload_policy(namespace, labels)
        if pa is not None:
            setting = port_level(pa.spec).get(port)
            if setting is not None and setting != "UNSET":
                return Effective(setting, pa)
        return self.effective(namespace, labels)

    def parent_mode(self, pa: Any) -> Effective:
        """What a policy inherits when its mode is UNSET."""
        labels = (pa.spec.get("selector") or {}).get("matchLabels") or {}
        if labels:
            return self.namespace_mode(pa.namespace)
        if pa.namespace == self.root_namespace:
            return Effective(DEFAULT_MODE, None)
        return self.mesh_mode()


def _age(pa: Any) -> tuple[str, str, str]:
    """Istio takes the oldest of policies that tie; without a creation time, the first by name."""
    created = str(pa.metadata.get("creationTimestamp") or "") if hasattr(pa, "metadata") else ""
    return (pa.namespace, created or "~", pa.name)


def port_level(spec: Mapping[str, Any]) -> dict[int, str]:
    """`portLevelMtls` as {port: mode}; keys that are not port numbers are left out."""
    out: dict[int, str] = {}
    raw = spec.get("portLevelMtls")
    if not isinstance(raw, Mapping):
        return out
    for key, setting in raw.items():
        text = str(key).strip()
        if not text.isdigit():
            continue
        mode = (setting or {}).get("mode") if isinstance(setting, Mapping) else None
        out[int(text)] = str(mode or "UNSET").upper()
    return out


def accepts_plaintext(mode: str, membership: str) -> bool:
    """Whether a server in this mode accepts plaintext from a client without mesh identity."""
    if membership == "none":
        return True
    return mode != "STRICT"


def weakening(parent: str, own: str) -> str:
    """How an override changes its parent's mode: `opens` (STRICT -> PERMISSIVE/DISABLE: the
    workload starts accepting plaintext), `downgrades` (PERMISSIVE -> DISABLE: mesh clients drop
    to plaintext too, as auto mTLS follows the server's DISABLE), or `none` (no weaker)."""
    if own not in WEAK_MODES:
        return "none"
    if parent == "STRICT":
        return "opens"
    if parent == "PERMISSIVE" and own == "DISABLE":
        return "downgrades"
    return "none"


def client_tls_modes(spec: Mapping[str, Any]) -> list[tuple[str, str, int | None]]:
    """(field path, tls mode, port) for every client TLS setting in a DestinationRule."""
    out: list[tuple[str, str, int | None]] = []

    def policy(tp: Mapping[str, Any] | None, prefix: str) -> None:
        if not tp:
            return
        mode = (tp.get("tls") or {}).get("mode")
        if mode:
            out.append((f"{prefix}.tls.mode", str(mode).upper(), None))
        for i, pls in enumerate(tp.get("portLevelSettings") or ()):
            pmode = (pls.get("tls") or {}).get("mode")
            if pmode:
                number = (pls.get("port") or {}).get("number")
                out.append(
                    (f"{prefix}.portLevelSettings[{i}].tls.mode", str(pmode).upper(), number)
                )

    policy(spec.get("trafficPolicy"), "spec.trafficPolicy")
    for i, subset in enumerate(spec.get("subsets") or ()):
        policy(subset.get("trafficPolicy"), f"spec.subsets[{i}].trafficPolicy")
    return out
