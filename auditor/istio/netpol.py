"""Kubernetes NetworkPolicy egress semantics, as the API documents them.

Source: https://kubernetes.io/docs/concepts/services-networking/network-policies/

- A policy selects pods in its own namespace by `podSelector` (`{}` selects every pod there).
- `policyTypes` defaults to `[Ingress]`, plus `Egress` when the policy has `egress` rules; a pod
  selected by any policy with type Egress is isolated for egress, and may send only what some
  selecting policy's rule allows (policies add up).
- An egress rule with no `to` (or an empty peer) allows every destination; an `ipBlock` whose
  prefix length is 0 (`0.0.0.0/0`, `::/0`) allows the internet even with `except` entries.
- A rule that names only port 53 and no `to` is the usual DNS allowance; Istio's egress task
  pairs it with a rule to the egress gateway's namespace
  (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/#apply-kubernetes-network-policies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.istio import annotations as ann
from auditor.istio.selectors import label_selector_matches

DNS_PORTS = frozenset({53})


def policy_types(spec: Mapping[str, Any]) -> set[str]:
    types = spec.get("policyTypes")
    if types:
        return set(types)
    out = {"Ingress"}
    if spec.get("egress"):
        out.add("Egress")
    return out


def _is_any_cidr(cidr: object) -> bool:
    """A tenant-written ipBlock.cidr read by the one parser (auditor/istio/annotations.py)."""
    net = ann.cidr(cidr.strip()) if isinstance(cidr, str) else None
    return net is not None and net.prefixlen == 0


def _dns_only(ports: Sequence[Mapping[str, Any]]) -> bool:
    return bool(ports) and all(p.get("port") in DNS_PORTS for p in ports)


def open_rule(rule: Mapping[str, Any]) -> str:
    """Why an egress rule lets pods reach any address ("" when it does not)."""
    peers = rule.get("to") or []
    ports = rule.get("ports") or []
    if not peers or any(not p for p in peers):
        if _dns_only(ports):
            return ""
        shown = ",".join(str(p.get("port", "*")) for p in ports) or "any port"
        return f"allows every destination ({shown})"
    for peer in peers:
        cidr = (peer.get("ipBlock") or {}).get("cidr", "")
        if cidr and _is_any_cidr(cidr):
            return f"allows ipBlock {cidr}"
    return ""


@dataclass(frozen=True, slots=True)
class EgressPosture:
    restricted: bool  # selected by at least one Egress policy
    open_by: tuple[str, ...]  # "policy-name: reason" for rules that allow any destination

    @property
    def contained(self) -> bool:
        return self.restricted and not self.open_by


def egress_posture(policies: Sequence[Any], labels: Mapping[str, str]) -> EgressPosture:
    """How the NetworkPolicies of the pod's namespace limit its egress (policies: KObjects)."""
    restricted = False
    open_by: list[str] = []
    for pol in policies:
        spec = pol.spec
        if "Egress" not in policy_types(spec):
            continue
        if not label_selector_matches(spec.get("podSelector"), labels):
            continue
        restricted = True
        for i, rule in enumerate(spec.get("egress") or ()):
            why = open_rule(rule)
            if why:
                open_by.append(f"{pol.name} egress[{i}] {why}")
    return EgressPosture(restricted=restricted, open_by=tuple(open_by))
