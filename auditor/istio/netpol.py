"""Kubernetes NetworkPolicy egress semantics, as the API documents them.

Source: https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the
NetworkPolicy API reference (networking.k8s.io/v1):

- A policy selects pods in its own namespace by `podSelector` (`{}` selects every pod there).
- `policyTypes` defaults to `[Ingress]`, plus `Egress` when the policy has `egress` rules; a pod
  selected by any policy with type Egress is isolated for egress, and may send only what some
  selecting policy's rule allows (policies add up; order does not matter).
- A rule allows a connection when one of its `to` peers matches the destination and one of its
  `ports` matches the port. No `to` (or an empty list) matches every destination; no `ports`
  matches every port. A port entry's protocol defaults to TCP; without `port` it matches every
  port of that protocol; `endPort` makes a range; a named port is looked up on the destination
  pod, so it never matches an address outside the cluster.
- Peers: `podSelector` alone selects pods in the policy's namespace; `namespaceSelector` alone
  every pod of the selected namespaces; both in one peer, the selected pods of the selected
  namespaces. Pod peers never match an address outside the cluster. `ipBlock` matches the
  addresses inside `cidr` and outside every `except`.
- Enforcement is the network plugin's: a cluster whose CNI does not implement NetworkPolicy
  ignores every policy. Verdicts here say what the policies allow, not that something enforces
  them.

A rule that names only port 53 and no `to` is the usual DNS allowance; Istio's egress task
pairs it with a rule to the egress gateway's namespace
(https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/#apply-kubernetes-network-policies).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.istio import annotations as ann
from auditor.istio.destinations import address_class, covers_public_internet, parse_network
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


def selects_for_egress(policy_spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a policy (of the pod's namespace) isolates this pod for egress."""
    return "Egress" in policy_types(policy_spec) and label_selector_matches(
        policy_spec.get("podSelector"), labels
    )


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
        if not selects_for_egress(spec, labels):
            continue
        restricted = True
        for i, rule in enumerate(spec.get("egress") or ()):
            why = open_rule(rule)
            if why:
                open_by.append(f"{pol.name} egress[{i}] {why}")
    return EgressPosture(restricted=restricted, open_by=tuple(open_by))


# ---- can this pod reach that address outside the cluster? ----------------------------------


class Verdict(enum.StrEnum):
    NO_POLICY = "no-policy"  # no Egress policy selects the pod: everything is allowed
    ALLOWED = "allowed"  # a selecting policy's rule allows it
    PARTIAL = "partial"  # allowed only for some of the addresses the name may have
    BLOCKED = "blocked"  # selected by Egress policies, none of which allows it


@dataclass(frozen=True, slots=True)
class Target:
    """A destination outside the cluster: its known addresses (IPs or CIDRs), or none for a DNS
    name whose addresses are not known ("any public address"), a port and a protocol."""

    addresses: tuple[str, ...]
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True, slots=True)
class Reach:
    verdict: Verdict
    policies: tuple[str, ...] = ()  # the Egress policies selecting the pod, "ns/name"
    allowed_by: tuple[str, ...] = ()  # "ns/name egress[i]" rules that allow it
    only: tuple[str, ...] = ()  # PARTIAL: the ipBlocks the destination must fall in
    broad: bool = False  # ALLOWED by a rule open to every address (no `to`, or a /0 ipBlock)

    @property
    def reachable(self) -> bool:
        return self.verdict is not Verdict.BLOCKED


def _port_matches(entry: Mapping[str, Any], target: Target) -> bool:
    protocol = str(entry.get("protocol") or "TCP").upper()
    if protocol != target.protocol.upper():
        return False
    port = entry.get("port")
    if port is None:
        return True
    if isinstance(port, str):
        if not port.isdigit():
            return False  # a named port is resolved on the destination pod only
        port = int(port)
    if not isinstance(port, int):
        return False
    end = entry.get("endPort")
    if isinstance(end, int) and end >= port:
        return port <= target.port <= end
    return port == target.port


def _ports_match(rule: Mapping[str, Any], target: Target) -> bool:
    ports = rule.get("ports") or []
    return not ports or any(isinstance(p, Mapping) and _port_matches(p, target) for p in ports)


def _in_block(address: str, cidr: str, excepts: Sequence[str]) -> bool:
    net = parse_network(address)
    block = parse_network(cidr)
    if net is None or block is None or net.version != block.version:
        return False
    if not net.subnet_of(block):  # type: ignore[arg-type]
        return False
    for text in excepts:
        ex = parse_network(text)
        if ex is not None and ex.version == net.version and net.overlaps(ex):
            return False
    return True


def _peer_match(peer: Any, target: Target) -> tuple[bool, tuple[str, ...]]:
    """(matches fully, ipBlocks it partly matches through) for one `to` peer."""
    if not isinstance(peer, Mapping) or not peer:
        return True, ()
    block = peer.get("ipBlock")
    if not isinstance(block, Mapping):
        return False, ()  # pod and namespace selectors select pods, never outside addresses
    cidr = str(block.get("cidr") or "")
    excepts = [str(e) for e in block.get("except") or ()]
    if target.addresses:
        inside = [a for a in target.addresses if _in_block(a, cidr, excepts)]
        if len(inside) == len(target.addresses):
            return True, ()
        return False, ((cidr,) if inside else ())
    # a DNS name: any public address
    if covers_public_internet(cidr, excepts):
        return True, ()
    net = parse_network(cidr)
    if net is not None and (net.prefixlen == 0 or address_class(cidr) == "public"):
        shown = cidr + (f" except {', '.join(excepts)}" if excepts else "")
        return False, (shown,)
    return False, ()


def _is_broad(peer: Any) -> bool:
    if not isinstance(peer, Mapping) or not peer:
        return True
    net = parse_network(str((peer.get("ipBlock") or {}).get("cidr") or ""))
    return net is not None and net.prefixlen == 0


def external_reach(policies: Sequence[Any], labels: Mapping[str, str], target: Target) -> Reach:
    """Whether a pod with `labels` may connect to `target` under its namespace's NetworkPolicies
    (KObjects with `.spec`, `.namespace`, `.name`)."""
    selecting: list[str] = []
    broad = False
    allowed: list[str] = []
    partial: list[str] = []
    for pol in policies:
        spec = pol.spec
        if not selects_for_egress(spec, labels):
            continue
        name = f"{pol.namespace}/{pol.name}"
        selecting.append(name)
        for i, rule in enumerate(spec.get("egress") or ()):
            if not isinstance(rule, Mapping) or not _ports_match(rule, target):
                continue
            peers = rule.get("to") or [{}]
            for peer in peers:
                full, some = _peer_match(peer, target)
                if full:
                    allowed.append(f"{name} egress[{i}]")
                    broad = broad or _is_broad(peer)
                    break
                partial.extend(some)
    if not selecting:
        return Reach(Verdict.NO_POLICY)
    if allowed:
        return Reach(Verdict.ALLOWED, tuple(selecting), tuple(allowed), broad=broad)
    if partial:
        return Reach(Verdict.PARTIAL, tuple(selecting), (), tuple(dict.fromkeys(partial)))
    return Reach(Verdict.BLOCKED, tuple(selecting))


def ranges_cover(ranges: Sequence[str], addresses: Sequence[str]) -> bool | None:
    """Whether capture-exclusion CIDRs cover a destination: True/False for known addresses,
    for a DNS name True when the ranges include public space, None when they might."""
    nets = [n for n in (parse_network(r) for r in ranges if r.strip() != "*") if n is not None]
    if any(r.strip() == "*" for r in ranges):
        return True
    if addresses:
        return any(_in_block(a, str(n), ()) for a in addresses for n in nets)
    if any(n.prefixlen == 0 for n in nets):
        return True
    if any(address_class(str(n)) == "public" for n in nets):
        return None
    return False


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
