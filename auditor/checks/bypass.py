"""Egress bypass checks: where traffic can leave the mesh without passing the egress gateway.

Istio says plainly that it cannot enforce that egress goes through the egress gateway: a
workload outside the mesh, or one whose traffic escapes sidecar capture, connects directly
unless a Kubernetes NetworkPolicy stops it
(https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/#additional-security-considerations).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.kinds import ISTIO_NET
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio.destinations import DestinationClass, gateway_advice_applies
from auditor.mesh.egress import PROXY_SENDS, DirectGroup, egress_model, registrations
from auditor.mesh.egress_reach import app_workloads, excluded_namespace, uncontained
from auditor.mesh.egress_routing import PortRoute, egress_routing
from auditor.mesh.index import (
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_GATEWAY,
    K_NETPOL,
    K_POD,
    K_SE,
    K_SERVICE,
    K_STATEFULSET,
    K_VS,
)

EGRESS_GW_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/"
SECURITY_NOTE = EGRESS_GW_DOCS + "#additional-security-considerations"
NETPOL_DOCS = EGRESS_GW_DOCS + "#apply-kubernetes-network-policies"


EVIDENCE_LIMIT = 20


def namespace_ref(name: str) -> ResourceRef:
    return ResourceRef(group="", kind="Namespace", namespace="", name=name, api_version="v1")


def _external_hosts(ctx: CheckContext) -> Iterator[tuple[KObject, int, str, list[int]]]:
    for se in egress_routing(ctx.index).external_entries:
        ports = [
            p["number"] for p in se.spec.get("ports") or () if isinstance(p.get("number"), int)
        ]
        for j, host in enumerate(se.spec.get("hosts") or ()):
            yield se, j, H.fqdn(host, se.namespace), ports


@check(
    id="BYP001",
    title="External host is not routed through an egress gateway",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.LOW, Severity.MEDIUM),
    needs=(K_SE, K_VS, K_GATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Route the host through the egress gateway as Istio's egress gateway task does: a "
        "Gateway for the host on the egress gateway, and a VirtualService bound to `mesh` and "
        "that Gateway whose mesh leg sends the host's port to the egress gateway Service and "
        "whose gateway leg sends it on to the host. Or keep the pods' direct egress from "
        "reaching it with a NetworkPolicy that allows only the egress gateway's namespace and "
        "DNS."
    ),
    references=(EGRESS_GW_DOCS, NETPOL_DOCS),
)
def host_not_via_egress_gateway(ctx: CheckContext) -> Iterator[Result]:
    """Traffic to a registered internet host that goes straight from the workloads' proxies is
    not seen at the border: no central policy, no egress log.

    Fires per host of a MESH_EXTERNAL ServiceEntry, ExternalName Service or selector-less
    Service with EndpointSlices on the public internet (medium) or with a name that cannot be
    placed (low), for the ports no VirtualService mesh leg sends to an egress
    gateway, when some workload that sees the entry would send it straight out and no
    NetworkPolicy blocks that. Ports an egress gateway's own outbound hop uses, and which every
    workload's NetworkPolicy blocks (Istio's hardened egress pattern), do not fire. Private,
    link-local and cloud-metadata destinations are never told to use an egress gateway (EGR010
    judges metadata endpoints). Low when the only direct reach is through NetworkPolicy rules
    that name specific addresses (a deliberate allowance, e.g. Private Google Access ranges).
    With no workloads in the input at all, the verdict rests on the routing alone.
    """
    model = egress_model(ctx.index)
    no_workloads = not model.reachers.groups
    for obj, path, entry in registrations(ctx.index):
        host = entry.host
        if not gateway_advice_applies(entry.destination_class):
            continue
        leaking: list[int] = []
        who: list[str] = []
        sent_all: list[DirectGroup] = []
        for port in entry.ports:
            if port.path != "direct":
                continue
            sent = [g for g in port.direct if g.reachable and g.why.startswith(PROXY_SENDS)]
            if not sent and not no_workloads:
                continue
            leaking.append(port.number)
            sent_all.extend(sent)
            who.extend(
                f"{g.namespace} ({g.count} workload{'s' if g.count != 1 else ''}, "
                f"{g.enforcement()})"
                for g in sent
            )
        if not leaking:
            continue
        ambient = any(
            g.why.startswith(PROXY_SENDS) and "ztunnel" in g.why
            for p in entry.ports
            for g in p.direct
        )
        proxies = "ztunnel" if ambient else "sidecars"
        where = "directly to the internet" if entry.destination_class == "public" else "directly"
        how = (
            "is not routed through an egress gateway"
            if model.has_egress_gateway
            else "leaves without an egress gateway (the mesh has none)"
        )
        namespaces = "; ".join(dict.fromkeys(who)) or "any namespace the entry is exported to"
        yield Result(
            resource=obj.ref,
            path=path,
            detail=host,
            message=(
                f"{host} ({obj.kind} {obj.namespace}/{obj.name}) port "
                f"{', '.join(map(str, leaking))} {how}: {proxies} send it {where} from "
                f"{namespaces}"
            ),
            evidence={
                "host": host,
                "ports": leaking,
                "destination_class": str(entry.destination_class),
                "from": list(dict.fromkeys(who)),
            },
            severity=Severity.LOW
            if entry.destination_class == DestinationClass.UNKNOWN
            or (sent_all and all(g.deliberate for g in sent_all))
            else None,
            severity_reason=(
                "the destination may not be on the internet"
                if entry.destination_class == DestinationClass.UNKNOWN
                else "only a NetworkPolicy naming the destination lets it out"
            ),
        )


@check(
    id="BYP002",
    title="Egress gateway routing for a host is incomplete",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=(K_SE, K_VS, K_GATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Complete the egress gateway wiring: a Gateway server for the host and port on the "
        "egress gateway, a gateway leg routing it to the host, and the DestinationRule subset "
        "the mesh leg names."
    ),
    references=(EGRESS_GW_DOCS,),
)
def egress_wiring_incomplete(ctx: CheckContext) -> Iterator[Result]:
    """A mesh leg that sends a host to the egress gateway without the rest of the wiring drops
    that traffic at the gateway (404 or reset), which invites someone to "fix" it by routing
    around the gateway.

    Fires per VirtualService mesh leg and host whose egress gateway has no matching Gateway
    server, no gateway leg to the host, or whose named subset is undefined.
    """
    routing = egress_routing(ctx.index)
    seen: set[tuple[str, str, str]] = set()
    for _se, _j, host, ports in _external_hosts(ctx):
        for port in ports:
            route = routing.route(host, port)
            if not route.routed or not route.problems or route.mesh_leg is None:
                continue
            vs = route.mesh_leg
            key = (vs.namespace, vs.name, f"{host}:{port}")
            if key in seen:
                continue
            seen.add(key)
            yield Result(
                resource=vs.ref,
                path="spec",
                detail=f"{host}:{port}",
                message=(
                    f"{vs.kind} {vs.namespace}/{vs.name} sends {host} port {port} to the "
                    f"egress gateway, but {'; '.join(route.problems)}"
                ),
                evidence={"host": host, "port": port, "problems": list(route.problems)},
            )


@check(
    id="BYP003",
    title="ServiceEntry with resolution NONE is routed through the egress gateway",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=(K_SE, K_VS, K_GATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Use `resolution: DNS` for hosts routed through the egress gateway, as Istio's "
        "egress gateway task requires."
    ),
    references=(EGRESS_GW_DOCS,),
)
def resolution_none_loop(ctx: CheckContext) -> Iterator[Result]:
    """With `resolution: NONE` the egress gateway forwards to the original destination address,
    which is the gateway itself: Istio documents this as an infinite loop.

    Fires per such ServiceEntry host routed (by its mesh leg) to an egress gateway whose gateway
    leg sends it on to the host itself (or is missing). A gateway leg to another host that DNS
    resolves, as Istio's wildcard-egress-hosts task sends `*.wikipedia.org` on to
    `www.wikipedia.org`, is no loop.
    """
    routing = egress_routing(ctx.index)
    for se, _j, host, ports in _external_hosts(ctx):
        if str(se.spec.get("resolution") or "NONE").upper() != "NONE":
            continue
        routed = [p for p in ports if _forwards_to_original(ctx, host, routing.route(host, p))]
        if not routed:
            continue
        yield Result(
            resource=se.ref,
            path="spec.resolution",
            detail=host,
            message=(
                f"ServiceEntry {se.namespace}/{se.name} resolves {host} with NONE but routes it "
                "through the egress gateway: the gateway forwards to itself"
            ),
            evidence={"host": host, "ports": routed},
        )


def _forwards_to_original(ctx: CheckContext, host: str, route: PortRoute) -> bool:
    """Whether the egress gateway would send `host` to its original destination (itself)."""
    if not route.routed:
        return False
    gw = route.gateway
    if gw is None or gw.kind != "Gateway" or gw.group != ISTIO_NET:
        return True
    targets = egress_routing(ctx.index).gateway_leg_targets(host, gw)
    if not targets:
        return True
    for target in targets:
        if target == host or H.is_wildcard(target):
            return True
        entries = ctx.index.service_entry_hosts.lookup(target)
        if not entries or all(
            str(getattr(e, "spec", {}).get("resolution") or "NONE").upper() == "NONE"
            for e in entries
        ):
            return True
    return False


@check(
    id="BYP004",
    title="Namespace has no NetworkPolicy keeping its pods' egress to the mesh",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=(K_NETPOL, K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Add a NetworkPolicy with `policyTypes: [Egress]` selecting every pod (`podSelector: "
        "{}`) that allows egress only to the egress gateway's namespace, the namespaces the "
        "pods call, and DNS (kube-system port 53), as Istio's egress gateway task shows."
    ),
    references=(NETPOL_DOCS, SECURITY_NOTE),
)
def namespace_egress_unrestricted(ctx: CheckContext) -> Iterator[Result]:
    """Istio cannot force traffic through the egress gateway; only a NetworkPolicy can stop a
    pod (or a process that escapes its sidecar) from connecting to the internet directly.

    Considers application namespaces (not system, control-plane or gateway-only) with
    workloads that no Egress NetworkPolicy selects, or that a selecting policy lets reach any
    address (a rule without `to`, or an `ipBlock` of `0.0.0.0/0`). With an egress gateway in
    the mesh, fires per such namespace: its pods can go around the gateway. Without one there
    is no gateway to go around, and the same fact holds mesh-wide: fires once, on the mesh
    (the root namespace), saying that egress is enforced nowhere outside the proxies and
    listing the namespaces.
    """
    found: list[tuple[str, list[str], set[str]]] = []
    for ns in sorted(ctx.index.workloads_by_namespace):
        if excluded_namespace(ctx.index, ns) or not app_workloads(ctx.index, ns):
            continue
        loose, opened = uncontained(ctx.index, ns)
        # no NetworkPolicy selects a host-network pod: BYP007 reports those
        loose = [w for w in loose if w.pod_spec.get("hostNetwork") is not True]
        if loose:
            found.append((ns, [f"{w.obj.kind} {w.obj.name}" for w in loose], opened))
    if not found:
        return
    if not egress_model(ctx.index).has_egress_gateway:
        shown = [ns for ns, _, _ in found]
        if len(shown) > EVIDENCE_LIMIT:
            shown = [*shown[:EVIDENCE_LIMIT], f"... and {len(shown) - EVIDENCE_LIMIT} more"]
        yield Result(
            resource=namespace_ref(ctx.mesh.root_namespace),
            path="",
            detail="mesh",
            message=(
                f"The mesh has no egress gateway and {len(found)} namespace(s) have no "
                f"NetworkPolicy containing egress ({', '.join(shown)}): egress is enforced "
                "nowhere outside the proxies, and their pods can connect to the internet directly"
            ),
            evidence={
                "namespaces": {ns: workloads[:EVIDENCE_LIMIT] for ns, workloads, _ in found},
                "open_rules": sorted({rule for _, _, opened in found for rule in opened}),
            },
        )
        return
    for ns, unrestricted, opened in found:
        why = (
            f"policies allow any destination ({'; '.join(sorted(opened))})"
            if opened
            else "no NetworkPolicy restricts their egress"
        )
        yield Result(
            resource=namespace_ref(ns),
            path="spec",
            detail=ns,
            message=(
                f"Namespace {ns}: {', '.join(unrestricted)} can connect to the internet "
                f"directly, bypassing the egress gateway: {why}"
            ),
            evidence={"workloads": unrestricted, "open_rules": sorted(opened)},
        )
