"""Configuration correctness checks that istioctl analyze also makes (CFG area).

Routing, subset, Sidecar-selection and injection-label mistakes: each one makes the mesh behave
differently from what its configuration appears to say, which is what an auditor must know.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio import injection as inj
from auditor.istio.refs import visible_in
from auditor.mesh.egress_routing import registered_ports, route_destinations
from auditor.mesh.index import (
    K_CONFIGMAP,
    K_DEPLOYMENT,
    K_DR,
    K_NAMESPACE,
    K_POD,
    K_SE,
    K_SERVICE,
    K_SIDECAR,
    K_VS,
)

IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
VS_DOCS = "https://istio.io/latest/docs/reference/config/networking/virtual-service/"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
SIDECAR_DOCS = "https://istio.io/latest/docs/reference/config/networking/sidecar/"
INJECTION_DOCS = "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/"
ROLLOUT_HASH = "rollouts-pod-template-hash"
TOPOLOGY_KEYS = frozenset(
    {
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
        "kubernetes.io/hostname",
    }
)


@check(
    id="CFG001",
    title="Route to a multi-port service does not say which port",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_VS, K_SERVICE, K_SE),
    remediation="Set `destination.port.number` to the service port the route is meant for.",
    references=(VS_DOCS, IST_DOCS.format(code="ist0112")),
    ist_codes=("IST0112",),
)
def destination_port_required(ctx: CheckContext) -> Iterator[Result]:
    """A destination naming a host with several ports must pick one.

    Without `port`, the route applies to whichever port the traffic arrived on, which for a
    multi-port service rarely matches what its author meant. Fires per destination without a
    port whose registered host declares more than one port (IST0112).
    """
    for vs in ctx.snapshot.objects(K_VS):
        for path, dest, _mirror in route_destinations(vs.spec):
            host = str(dest.get("host") or "")
            if not host or dest.get("port") is not None:
                continue
            found = ctx.index.resolve_destination(host, vs.namespace, vs.spec.get("exportTo"))
            ports = registered_ports(found) if found is not None else []
            if len(ports) > 1:
                yield Result(
                    resource=vs.ref,
                    path=f"{path}.port",
                    detail=path,
                    message=(
                        f"VirtualService {vs.namespace}/{vs.name} routes to {host} without a "
                        f"port, but it has ports {ports}"
                    ),
                    evidence={"host": host, "ports": ports},
                )


@check(
    id="CFG002",
    title="Gateway route without subset bypasses the subset rules of the host's mesh route",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_VS,),
    remediation=(
        "Route to the same subsets from the gateway-bound VirtualService, or bind the "
        "mesh VirtualService to the gateway as well."
    ),
    references=(VS_DOCS, IST_DOCS.format(code="ist0140")),
    ist_codes=("IST0140",),
)
def ingress_route_rules_not_affected(ctx: CheckContext) -> Iterator[Result]:
    """Subset routing written for the mesh does not apply to traffic entering from a gateway.

    When a VirtualService bound to gateways routes to a host without a subset, and another
    VirtualService for that host routes by subset (a canary, a version pin), gateway traffic
    ignores the pin. Fires per such destination (IST0140). Hosts are compared as the services
    they name (short names resolved in each VirtualService's namespace), where istioctl compares
    the host strings, so `cart` in two namespaces is two services here, not one.
    """
    domain = ctx.index.domain
    pinned: dict[str, list[KObject]] = {}
    for vs in ctx.snapshot.objects(K_VS):
        own_hosts = {H.fqdn(h, vs.namespace, domain) for h in vs.spec.get("hosts") or ()}
        for rule in vs.spec.get("http") or ():
            for rd in rule.get("route") or ():
                dest = rd.get("destination") or {}
                if not dest.get("subset") or not dest.get("host"):
                    continue
                name = H.fqdn(str(dest["host"]), vs.namespace, domain)
                if name in own_hosts:
                    pinned.setdefault(name, []).append(vs)
    for vs in ctx.snapshot.objects(K_VS):
        if not vs.spec.get("gateways"):
            continue
        for i, rule in enumerate(vs.spec.get("http") or ()):
            for j, rd in enumerate(rule.get("route") or ()):
                dest = rd.get("destination") or {}
                raw_host = dest.get("host")
                if dest.get("subset") or not raw_host:
                    continue
                host = H.fqdn(str(raw_host), vs.namespace, domain)
                if host not in pinned:
                    continue
                others = sorted({f"{o.namespace}/{o.name}" for o in pinned[host]})
                yield Result(
                    resource=vs.ref,
                    path=f"spec.http[{i}].route[{j}].destination",
                    detail=f"{i}/{j}",
                    message=(
                        f"VirtualService {vs.namespace}/{vs.name} routes gateway traffic to "
                        f"{host} without a subset, so the subset routing of "
                        f"{', '.join(others)} does not apply to it"
                    ),
                    evidence={"host": host, "subset_routes": others},
                )


@check(
    id="CFG003",
    title="DestinationRule subset selects no pods of its host",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_DR, K_SERVICE, K_SE, K_POD, K_DEPLOYMENT),
    remediation="Fix the subset's labels to match the pods, or remove the unused subset.",
    references=(DR_DOCS, IST_DOCS.format(code="ist0173")),
    ist_codes=("IST0173",),
)
def subset_selects_no_pods(ctx: CheckContext) -> Iterator[Result]:
    """Traffic routed to a subset with no endpoints fails (503 no healthy upstream).

    Fires per subset of a DestinationRule for a Kubernetes Service whose labels, added to the
    Service's selector, match no pod or pod template in the Service's namespace (IST0173).
    Topology labels (`topology.kubernetes.io/region`, zone, subzone, `kubernetes.io/hostname`)
    come from the node, which mesh-audit does not read: a subset on a non-empty topology label
    is assumed to match; an empty value never does, as Istio adds none. An Argo Rollout labels
    its ReplicaSets' pods `rollouts-pod-template-hash` and writes that label into the subsets it
    manages (argoproj.github.io/argo-rollouts/features/traffic-management/istio/): when neither
    its ReplicaSets nor its pods are in the input, a subset on that label matches the Rollout
    if the hash is its current or stable one (`status.currentPodHash`, `status.stableRS`), or
    when its status was not read.
    """
    for dr in ctx.snapshot.objects(K_DR):
        host = str(dr.spec.get("host") or "")
        found = ctx.index.resolve_destination(host, dr.namespace, dr.spec.get("exportTo"))
        if found is None or found.kind != "Service":
            continue
        svc_selector = found.spec.get("selector") or {}
        for i, subset in enumerate(dr.spec.get("subsets") or ()):
            labels = dict(subset.get("labels") or {})
            if any(k in TOPOLOGY_KEYS and v == "" for k, v in labels.items()):
                matched = False
            else:
                plain = {k: v for k, v in labels.items() if k not in TOPOLOGY_KEYS}
                selector = {**svc_selector, **plain}
                matched = bool(ctx.index.select_workloads(selector, found.namespace))
                if not matched and ROLLOUT_HASH in plain:
                    matched = _rollout_runs(ctx, found.namespace, selector)
            if matched:
                continue
            yield Result(
                resource=dr.ref,
                path=f"spec.subsets[{i}].labels",
                detail=str(subset.get("name")),
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} subset {subset.get('name')!r} "
                    f"selects no pods of Service {found.namespace}/{found.name}"
                ),
                evidence={"subset": subset.get("name"), "labels": labels},
            )


def _rollout_runs(ctx: CheckContext, namespace: str, selector: dict[str, str]) -> bool:
    """Whether a Rollout in `namespace` runs pods with these labels (its template plus the
    pod-template hash of its current or stable ReplicaSet)."""
    wanted = selector[ROLLOUT_HASH]
    rest = {k: v for k, v in selector.items() if k != ROLLOUT_HASH}
    for w in ctx.index.select_workloads(rest, namespace):
        if w.obj.kind != "Rollout" or w.owned:
            continue
        status = w.obj.raw.get("status")
        if not isinstance(status, dict) or not status:
            return True  # hashes not read: taken to match, as node labels are
        if wanted in (status.get("currentPodHash"), status.get("stableRS")):
            return True
    return False


@check(
    id="CFG004",
    title="Route names a subset no DestinationRule defines",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_VS, K_DR),
    remediation="Define the subset in the host's DestinationRule or fix the subset name.",
    references=(VS_DOCS, DR_DOCS, IST_DOCS.format(code="ist0101")),
    ist_codes=("IST0101",),
)
def subset_not_defined(ctx: CheckContext) -> Iterator[Result]:
    """A route to an undefined subset sends traffic nowhere (503).

    Fires per route or mirror destination whose subset is not defined by any DestinationRule
    for the host visible from the VirtualService's namespace (IST0101).
    """
    subsets: dict[str, list[tuple[KObject, set[str]]]] = {}
    for dr in ctx.snapshot.objects(K_DR):
        name = H.fqdn(str(dr.spec.get("host") or ""), dr.namespace)
        names = {str(s.get("name")) for s in dr.spec.get("subsets") or ()}
        subsets.setdefault(name, []).append((dr, names))
    default = ctx.mesh.default_destination_rule_export_to
    for vs in ctx.snapshot.objects(K_VS):
        for path, dest, _mirror in route_destinations(vs.spec):
            subset = dest.get("subset")
            if not subset:
                continue
            host = H.fqdn(str(dest.get("host") or ""), vs.namespace)
            if any(
                subset in names
                and visible_in(dr.spec.get("exportTo"), dr.namespace, vs.namespace, default)
                for dr, names in subsets.get(host, ())
            ):
                continue
            yield Result(
                resource=vs.ref,
                path=f"{path}.subset",
                detail=path,
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} routes to subset {subset!r} of "
                    f"{dest.get('host')}, which no visible DestinationRule defines"
                ),
                evidence={"host": dest.get("host"), "subset": subset},
            )


def _sidecar_selector(sc: KObject) -> dict[str, str]:
    return dict((sc.spec.get("workloadSelector") or {}).get("labels") or {})


@check(
    id="CFG005",
    title="Sidecar workloadSelector matches no pod in its namespace",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_SIDECAR, K_POD, K_DEPLOYMENT),
    remediation="Fix the selector labels or delete the unused Sidecar.",
    references=(SIDECAR_DOCS, IST_DOCS.format(code="ist0101")),
    ist_codes=("IST0101",),
)
def sidecar_selects_nothing(ctx: CheckContext) -> Iterator[Result]:
    """A Sidecar whose selector matches nothing leaves the egress scoping it was written for
    unapplied: the workloads it meant get the namespace default instead.

    Fires per Sidecar with a workloadSelector that no pod or pod template in its namespace
    matches (IST0101).
    """
    for sc in ctx.snapshot.objects(K_SIDECAR):
        selector = _sidecar_selector(sc)
        if not selector or ctx.index.select_workloads(selector, sc.namespace):
            continue
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        yield Result(
            resource=sc.ref,
            path="spec.workloadSelector.labels",
            message=f"Sidecar {sc.namespace}/{sc.name} selects {shown}, which no pod there has",
            evidence={"selector": selector},
        )


@check(
    id="CFG006",
    title="Several Sidecars select the same workload",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(K_SIDECAR, K_POD, K_DEPLOYMENT),
    remediation="Make the Sidecars' workload selectors disjoint.",
    references=(SIDECAR_DOCS, IST_DOCS.format(code="ist0110")),
    ist_codes=("IST0110",),
)
def sidecars_conflict(ctx: CheckContext) -> Iterator[Result]:
    """With two Sidecars selecting one workload, which egress scope applies is undefined.

    Istio applies one Sidecar per workload; when several select it, the one that wins is not
    specified, so the workload's egress allow-list (and its outbound traffic policy) may not be
    the one its owners reviewed. Fires for each Sidecar whose selector matches a pod that another
    Sidecar also selects (IST0110).
    """
    by_workload: dict[tuple[str, str, str], list[KObject]] = {}
    for sc in ctx.snapshot.objects(K_SIDECAR):
        selector = _sidecar_selector(sc)
        if not selector:
            continue
        for w in ctx.index.select_workloads(selector, sc.namespace):
            by_workload.setdefault(w.key, []).append(sc)
    reported: set[tuple[str, str]] = set()
    for (kind, ns, name), sidecars in sorted(by_workload.items()):
        if len(sidecars) < 2:
            continue
        names = sorted(s.name for s in sidecars)
        for sc in sidecars:
            if (sc.namespace, sc.name) in reported:
                continue
            reported.add((sc.namespace, sc.name))
            yield Result(
                resource=sc.ref,
                path="spec.workloadSelector",
                message=(
                    f"Sidecars {', '.join(names)} in {sc.namespace} all select {kind} {ns}/{name}"
                ),
                evidence={"sidecars": names, "workload": f"{kind} {ns}/{name}"},
            )


@check(
    id="CFG007",
    title="Several Sidecars without workloadSelector in one namespace",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(K_SIDECAR,),
    remediation="Keep one namespace-wide Sidecar per namespace; give the others selectors.",
    references=(SIDECAR_DOCS, IST_DOCS.format(code="ist0111")),
    ist_codes=("IST0111",),
)
def sidecars_without_selector(ctx: CheckContext) -> Iterator[Result]:
    """Only one namespace-wide Sidecar can apply; which one is undefined.

    A Sidecar without a workloadSelector sets the default egress scope for every workload of its
    namespace. With two of them Istio picks one arbitrarily, so the namespace's reachable hosts
    are not what either resource says. Fires for each Sidecar without a workloadSelector in a
    namespace that has more than one (IST0111).
    """
    by_ns: dict[str, list[KObject]] = {}
    for sc in ctx.snapshot.objects(K_SIDECAR):
        if "workloadSelector" not in sc.spec:
            by_ns.setdefault(sc.namespace, []).append(sc)
    for ns, sidecars in sorted(by_ns.items()):
        if len(sidecars) < 2:
            continue
        names = sorted(s.name for s in sidecars)
        for sc in sidecars:
            yield Result(
                resource=sc.ref,
                path="spec",
                message=(
                    f"Namespace {ns} has several Sidecars without workloadSelector "
                    f"({', '.join(names)}); only one applies"
                ),
                evidence={"sidecars": names},
            )


@check(
    id="CFG008",
    title="Sidecar applies to ambient-mode workloads and has no effect",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_SIDECAR, K_POD, K_NAMESPACE),
    remediation=(
        "Ambient workloads have no sidecar: scope their egress with waypoint policies instead, "
        "and delete the Sidecar."
    ),
    references=(SIDECAR_DOCS, IST_DOCS.format(code="ist0167")),
    ist_codes=("IST0167",),
)
def sidecar_in_ambient(ctx: CheckContext) -> Iterator[Result]:
    """Egress scoping written in a Sidecar does nothing for ambient workloads.

    Fires for a namespace-wide Sidecar in an ambient namespace, and for a Sidecar whose selector
    picks a workload captured by ztunnel (`MeshIndex.mesh_status`: an enrolled pod, or a pod
    template in an ambient namespace) (IST0167).
    """
    for sc in ctx.snapshot.objects(K_SIDECAR):
        selector = _sidecar_selector(sc)
        ns_labels = ctx.index.namespace_labels.get(sc.namespace) or {}
        if not selector:
            if inj.namespace_mode(ns_labels) != "ambient":
                continue
            why = f"namespace {sc.namespace} is in ambient mode"
        else:
            ambient = [
                w
                for w in ctx.index.select_workloads(selector, sc.namespace)
                if ctx.index.mesh_status(w).mode == "ambient"
            ]
            if not ambient:
                continue
            what = "pod" if ambient[0].obj.kind == "Pod" else ambient[0].obj.kind
            why = f"it selects ambient {what} {ambient[0].obj.name}"
        yield Result(
            resource=sc.ref,
            path="spec.workloadSelector" if selector else "metadata.namespace",
            message=f"Sidecar {sc.namespace}/{sc.name} has no effect: {why}",
            evidence={"reason": why},
        )


def _namespace_ref(name: str) -> ResourceRef:
    return ResourceRef(group="", kind="Namespace", namespace="", name=name, api_version="v1")


@check(
    id="CFG009",
    title="Namespace carries more than one kind of injection label",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_NAMESPACE,),
    remediation=(
        "Keep one: `istio-injection=enabled` (default revision), `istio.io/rev=<rev>`, or "
        "`istio.io/dataplane-mode=ambient`."
    ),
    references=(INJECTION_DOCS, IST_DOCS.format(code="ist0123")),
    ist_codes=("IST0123",),
)
def multiple_injection_labels(ctx: CheckContext) -> Iterator[Result]:
    """Conflicting injection labels make the data plane a workload gets depend on precedence.

    `istio-injection` wins over `istio.io/rev`, so a revision upgrade does not reach the
    namespace, and a sidecar label on an ambient namespace keeps it out of ambient. Fires per
    namespace (IST0123).
    """
    for ns in ctx.snapshot.objects(K_NAMESPACE):
        if ns.name in inj.SYSTEM_NAMESPACES or not inj.multiple_injection_labels(ns.labels):
            continue
        shown = {
            k: v
            for k, v in ns.labels.items()
            if k in (inj.INJECTION_LABEL, inj.REV_LABEL, inj.DATAPLANE_LABEL)
        }
        yield Result(
            resource=_namespace_ref(ns.name),
            path="metadata.labels",
            message=f"Namespace {ns.name} has several injection labels: {shown}",
            evidence={"labels": shown},
        )


@check(
    id="CFG010",
    title="Namespace is injected only because the injector enables namespaces by default",
    category=Category.CONFIG,
    severity=Severity.INFO,
    needs=(K_NAMESPACE, K_CONFIGMAP),
    remediation="Label the namespace `istio-injection=enabled` so its mesh membership is explicit.",
    references=(INJECTION_DOCS, IST_DOCS.format(code="ist0148")),
    ist_codes=("IST0148",),
)
def injected_by_default(ctx: CheckContext) -> Iterator[Result]:
    """With `enableNamespacesByDefault`, unlabelled namespaces are injected implicitly.

    Nothing on the namespace shows it is in the mesh, and turning the setting off silently
    takes it out. Fires per unlabelled user namespace when the sidecar injector ConfigMap
    enables namespaces by default (IST0148).
    """
    if not ctx.index.injection_by_default:
        return
    for ns in ctx.snapshot.objects(K_NAMESPACE):
        if ns.name in inj.SYSTEM_NAMESPACES or ns.name == ctx.mesh.root_namespace:
            continue
        if inj.namespace_mode(ns.labels) != "unlabelled":
            continue
        yield Result(
            resource=_namespace_ref(ns.name),
            path="metadata.labels",
            message=(
                f"Namespace {ns.name} has no injection label and is injected only because "
                "the sidecar injector enables namespaces by default"
            ),
            evidence={},
        )
