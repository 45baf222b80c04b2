"""Kubernetes NetworkPolicy ingress semantics: may a pod of the cluster connect to a server pod?

Source: https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the
NetworkPolicy API reference (networking.k8s.io/v1):

- A policy selects pods of its own namespace by `podSelector`; a pod selected by some policy whose
  `policyTypes` include Ingress (the default) is isolated for ingress and accepts only what a
  rule of one of those policies allows (policies add up).
- A rule allows a connection when one of its `from` peers matches the source and one of its
  `ports` matches the server port. No `from` matches every source; no `ports` every port. A port
  entry's protocol defaults to TCP; a named port is looked up on the server pod; `endPort` makes a
  range.
- Peers: `podSelector` alone selects pods of the policy's namespace; `namespaceSelector` alone
  every pod of the selected namespaces; both in one peer, the selected pods of the selected
  namespaces. `ipBlock` matches addresses: a pod's address is not in the input, so an ipBlock
  peer is not counted as admitting it (the caller of this module wants "certainly reachable").
- Every Namespace carries the label `kubernetes.io/metadata.name` set to its name (set by the API
  server since Kubernetes 1.21), so selectors on it match even when an exported Namespace
  lacks the label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.istio.netpol import policy_types
from auditor.istio.selectors import label_selector_matches

NAME_LABEL = "kubernetes.io/metadata.name"


def selects_for_ingress(spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    return "Ingress" in policy_types(spec) and label_selector_matches(
        spec.get("podSelector") or {}, labels
    )


def _port_matches(entry: Any, port: int | None, named: Mapping[str, int]) -> bool:
    if not isinstance(entry, Mapping):
        return False
    if str(entry.get("protocol") or "TCP").upper() != "TCP":
        return False
    value = entry.get("port")
    if value is None or port is None:
        return True
    if isinstance(value, str):
        value = int(value) if value.isdigit() else named.get(value)
    if not isinstance(value, int):
        return False
    end = entry.get("endPort")
    if isinstance(end, int) and end >= value:
        return value <= port <= end
    return value == port


def _peer_matches(
    peer: Any,
    policy_namespace: str,
    caller_namespace: str,
    namespace_labels: Mapping[str, str],
    caller_labels: Mapping[str, str],
) -> bool:
    if not isinstance(peer, Mapping):
        return False
    if "ipBlock" in peer:
        return False  # pod addresses are not in the input
    pods = peer.get("podSelector")
    spaces = peer.get("namespaceSelector")
    if pods is None and spaces is None:
        return False
    ns_labels = {NAME_LABEL: caller_namespace, **namespace_labels}
    if spaces is None and caller_namespace != policy_namespace:
        return False
    if spaces is not None and not label_selector_matches(spaces, ns_labels):
        return False
    return pods is None or label_selector_matches(pods, caller_labels)


def ingress_allows(
    policies: Sequence[tuple[str, Mapping[str, Any]]],
    server_labels: Mapping[str, str],
    named_ports: Mapping[str, int],
    port: int | None,
    *,
    caller_namespace: str,
    namespace_labels: Mapping[str, str],
    caller_labels: Mapping[str, str],
) -> bool:
    """Whether the server's namespace policies ((namespace, spec) pairs) let a pod with these
    labels, in that namespace, connect to `port` (None: some port) of the server pod."""
    selecting = [(ns, spec) for ns, spec in policies if selects_for_ingress(spec, server_labels)]
    if not selecting:
        return True
    for ns, spec in selecting:
        for rule in spec.get("ingress") or ():
            if not isinstance(rule, Mapping):
                continue
            ports = rule.get("ports") or []
            if ports and not any(_port_matches(p, port, named_ports) for p in ports):
                continue
            peers = rule.get("from") or []
            if not peers or any(
                _peer_matches(p, ns, caller_namespace, namespace_labels, caller_labels)
                for p in peers
            ):
                return True
    return False
