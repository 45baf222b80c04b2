"""Egress registration checks: which outside hosts the mesh lets workloads reach unregistered."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.mesh.egress_reach import proxies
from auditor.mesh.egress_routing import (
    external_service_entry,
    over_broad_host,
    registered_ports,
    route_destinations,
)
from auditor.mesh.index import K_CONFIGMAP, K_DR, K_SE, K_SERVICE, K_SIDECAR, K_VS

EGRESS_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/"
MESH_DOCS = "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/"
SIDECAR_DOCS = "https://istio.io/latest/docs/reference/config/networking/sidecar/"
SE_DOCS = "https://istio.io/latest/docs/reference/config/networking/service-entry/"
VS_DOCS = "https://istio.io/latest/docs/reference/config/networking/virtual-service/"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"


@check(
    id="EGR001",
    title="Mesh allows traffic to unregistered external hosts (outboundTrafficPolicy ALLOW_ANY)",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    needs=(K_CONFIGMAP,),
    remediation=(
        "Set `outboundTrafficPolicy: {mode: REGISTRY_ONLY}` in the mesh config (istioctl install "
        "--set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY) after registering every "
        "external host the mesh needs with a ServiceEntry."
    ),
    references=(EGRESS_DOCS, MESH_DOCS),
)
def mesh_allow_any(ctx: CheckContext) -> Iterator[Result]:
    """With ALLOW_ANY, the mesh's proxies pass traffic to any host no ServiceEntry declares.

    Istio's default is ALLOW_ANY, so a mesh that never set `outboundTrafficPolicy` lets every
    workload reach any destination on the internet, and the egress inventory (ServiceEntries) says
    nothing about what is really contacted. Fires once when the mesh config in force sets
    ALLOW_ANY or leaves the mode unset (the finding says which).
    """
    mesh = ctx.mesh
    if mesh.outbound_mode != "ALLOW_ANY":
        return
    name = "istio"
    namespace = mesh.root_namespace
    # the ConfigMap that set the mode in force, else the revision's own (merged ones: the
    # first of mesh.configmaps takes precedence)
    where = mesh.outbound_mode_from or (mesh.configmaps[0] if mesh.configmaps else "")
    if where:
        namespace, _, name = where.partition("/")
    ref = ResourceRef(group="", kind="ConfigMap", namespace=namespace, name=name, api_version="v1")
    how = (
        "sets outboundTrafficPolicy.mode ALLOW_ANY"
        if mesh.outbound_mode_set
        else "does not set outboundTrafficPolicy.mode, so Istio's default ALLOW_ANY applies"
    )
    carriers = proxies(ctx.index)
    verb = "forwards" if carriers == "ztunnel" else "forward"
    yield Result(
        resource=ref,
        path="data.mesh.outboundTrafficPolicy.mode",
        message=(
            f"The mesh config ({mesh.source}) {how}: "
            f"{carriers} {verb} traffic to hosts that no ServiceEntry registers"
        ),
        evidence={
            "mode": mesh.outbound_mode,
            "explicit": mesh.outbound_mode_set,
            "source": mesh.source,
        },
    )


@check(
    id="EGR002",
    title="Sidecar resource allows traffic to unregistered hosts (outboundTrafficPolicy ALLOW_ANY)",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    needs=(K_SIDECAR,),
    remediation=(
        "Remove `outboundTrafficPolicy` from the Sidecar (the mesh's REGISTRY_ONLY then applies) "
        "or set `mode: REGISTRY_ONLY`, and register the hosts the workloads need with "
        "ServiceEntries."
    ),
    references=(SIDECAR_DOCS, EGRESS_DOCS),
)
def sidecar_allow_any(ctx: CheckContext) -> Iterator[Result]:
    """A Sidecar's outboundTrafficPolicy overrides the mesh's for the workloads it selects.

    A Sidecar with `outboundTrafficPolicy.mode: ALLOW_ANY` re-opens unregistered egress for a
    namespace (no workloadSelector) or a set of workloads, even in a mesh configured
    REGISTRY_ONLY, and nothing in the mesh config shows it. Fires for each such Sidecar.
    """
    for sc in ctx.snapshot.objects(K_SIDECAR):
        mode = (sc.spec.get("outboundTrafficPolicy") or {}).get("mode")
        if str(mode or "").upper() != "ALLOW_ANY":
            continue
        scope = _sidecar_scope(sc)
        yield Result(
            resource=sc.ref,
            path="spec.outboundTrafficPolicy.mode",
            message=(
                f"Sidecar {sc.namespace}/{sc.name} sets outboundTrafficPolicy ALLOW_ANY for "
                f"{scope}: those sidecars forward traffic to hosts no ServiceEntry registers "
                f"(mesh mode: {ctx.mesh.outbound_mode})"
            ),
            evidence={"scope": scope, "mesh_mode": ctx.mesh.outbound_mode},
        )


def _sidecar_scope(sc: KObject) -> str:
    labels = (sc.spec.get("workloadSelector") or {}).get("labels") or {}
    if not labels:
        return f"every workload in namespace {sc.namespace}"
    shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"workloads labelled {shown} in namespace {sc.namespace}"


@check(
    id="EGR003",
    title="VirtualService routes to a host no Service or ServiceEntry registers",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    severity_range=(Severity.LOW, Severity.MEDIUM),
    needs=(K_VS, K_SERVICE, K_SE),
    remediation=(
        "Register the destination host with a ServiceEntry (external hosts) or fix the host "
        "name / port so it names an existing Service port; check exportTo when the Service or "
        "ServiceEntry lives in another namespace."
    ),
    references=(VS_DOCS, SE_DOCS, IST_DOCS.format(code="ist0101")),
    ist_codes=("IST0101",),
)
def destination_unregistered(ctx: CheckContext) -> Iterator[Result]:
    """A route or mirror destination must name a host (and port) the mesh's registry knows.

    Istio builds no cluster for an unknown host, so the route fails (503), and an external name
    left unregistered is egress nobody inventoried: under ALLOW_ANY it may still leave the mesh
    directly. Fires per destination whose host no Service or ServiceEntry visible to the
    VirtualService defines (visibility as istioctl reads it: the VirtualService's exportTo
    namespaces, else its own), and per destination port the registered host does not declare
    (IST0101). An unregistered external host is medium severity.
    """
    for vs in ctx.snapshot.objects(K_VS):
        for path, dest, mirror in route_destinations(vs.spec):
            host = str(dest.get("host") or "")
            what = "mirror host" if mirror else "destination host"
            found = (
                ctx.index.resolve_destination(host, vs.namespace, vs.spec.get("exportTo"))
                if host
                else None
            )
            if found is None:
                external = bool(host) and H.is_external_name(H.fqdn(host, vs.namespace))
                yield Result(
                    resource=vs.ref,
                    path=f"{path}.host",
                    detail=f"{path}:{host}",
                    message=(
                        f"VirtualService {vs.namespace}/{vs.name} routes to {what} "
                        f"{host or '(empty)'!r}, which no Service or ServiceEntry visible to it "
                        "registers"
                    ),
                    evidence={"host": host, "external": external},
                    severity=Severity.MEDIUM if external else None,
                    severity_reason="the host is an external name",
                )
                continue
            number = (dest.get("port") or {}).get("number")
            ports = registered_ports(found)
            if number is not None and ports and number not in ports:
                yield Result(
                    resource=vs.ref,
                    path=f"{path}.port.number",
                    detail=f"{path}:{host}:{number}",
                    message=(
                        f"VirtualService {vs.namespace}/{vs.name} routes to {host}:{number}, but "
                        f"{found.kind} {found.namespace}/{found.name} declares only ports {ports}"
                    ),
                    evidence={"host": host, "port": number, "ports": ports},
                )


@check(
    id="EGR004",
    title="DestinationRule host matches no Service or ServiceEntry",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    needs=(K_DR, K_SERVICE, K_SE),
    remediation=(
        "Fix the DestinationRule's host, register the host with a ServiceEntry, or delete the "
        "DestinationRule."
    ),
    references=(DR_DOCS, IST_DOCS.format(code="ist0174")),
    ist_codes=("IST0174",),
)
def destination_rule_unknown_host(ctx: CheckContext) -> Iterator[Result]:
    """A DestinationRule for an unknown host applies to nothing.

    Its TLS settings (for example TLS origination to an external host) silently do not apply,
    so traffic the team believes encrypted or pinned is not. Fires for each DestinationRule
    whose host no visible Service or ServiceEntry defines (IST0174).
    """
    for dr in ctx.snapshot.objects(K_DR):
        host = str(dr.spec.get("host") or "")
        if ctx.index.resolve_destination(host, dr.namespace, dr.spec.get("exportTo")) is not None:
            continue
        yield Result(
            resource=dr.ref,
            path="spec.host",
            message=(
                f"DestinationRule {dr.namespace}/{dr.name} is for host {host!r}, which no "
                "Service or ServiceEntry visible to it registers"
            ),
            evidence={"host": host},
        )


@check(
    id="EGR005",
    title="Sidecar egress host matches no Service or ServiceEntry",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    needs=(K_SIDECAR, K_SERVICE, K_SE),
    remediation=(
        "Register the host with a ServiceEntry in the named namespace, or fix the "
        "`namespace/host` entry."
    ),
    references=(SIDECAR_DOCS,),
)
def sidecar_egress_unknown_host(ctx: CheckContext) -> Iterator[Result]:
    """A Sidecar egress `namespace/host` entry should name a host registered in that namespace.

    The entry imports nothing, so the workloads cannot reach the host the entry was written
    for, or reach it only through whatever else is imported; a typo here is easy to miss.
    Fires for each non-wildcard host not defined by a Service or ServiceEntry in the named
    namespace (`./` is the Sidecar's own, `*/` any namespace).
    """
    for sc in ctx.snapshot.objects(K_SIDECAR):
        for i, egress in enumerate(sc.spec.get("egress") or ()):
            for j, entry in enumerate(egress.get("hosts") or ()):
                ns, _, host = entry.partition("/")
                if not host or "*" in host or ns == "~":
                    continue
                ns = sc.namespace if ns == "." else ns
                found = ctx.index.host_registered(
                    host, sc.namespace if ns == "*" else ns, resolve_in=sc.namespace
                )
                if ns != "*":
                    found = [o for o in found if o.namespace == ns]
                if found:
                    continue
                yield Result(
                    resource=sc.ref,
                    path=f"spec.egress[{i}].hosts[{j}]",
                    detail=entry,
                    message=(
                        f"Sidecar {sc.namespace}/{sc.name} imports egress host {entry!r}, but no "
                        f"Service or ServiceEntry in {'any namespace' if ns == '*' else ns} "
                        f"registers {host}"
                    ),
                    evidence={"entry": entry},
                )


@check(
    id="EGR006",
    title="ServiceEntry registers an over-broad wildcard host",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_SE,),
    remediation=(
        "List the external hosts the workloads need (`api.example.com`, or at most "
        "`*.example.com`) instead of `*` or a whole top-level domain."
    ),
    references=(SE_DOCS, EGRESS_DOCS),
)
def service_entry_over_broad(ctx: CheckContext) -> Iterator[Result]:
    """A ServiceEntry for `*` or `*.com` registers the internet, undoing REGISTRY_ONLY.

    With such an entry exported to a namespace, every workload there may reach any host under
    it, so the registry no longer limits egress and the inventory says nothing. Fires per
    over-broad host of a MESH_EXTERNAL ServiceEntry: `*` is high severity, a top-level-domain
    wildcard medium.
    """
    for se in ctx.snapshot.objects(K_SE):
        if not external_service_entry(se):
            continue
        for i, host in enumerate(se.spec.get("hosts") or ()):
            if not over_broad_host(host):
                continue
            yield Result(
                resource=se.ref,
                path=f"spec.hosts[{i}]",
                detail=host,
                message=(
                    f"ServiceEntry {se.namespace}/{se.name} registers {host!r}: every workload it "
                    "is exported to may reach any matching external host"
                ),
                evidence={"host": host, "exportTo": list(se.spec.get("exportTo") or ["*"])},
                severity=Severity.HIGH if H.normalize(host) == "*" else None,
                severity_reason="it registers every host",
            )


@check(
    id="EGR007",
    title="Sidecar imports every namespace's hosts (`*/*`) under REGISTRY_ONLY",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    needs=(K_SIDECAR, K_CONFIGMAP),
    remediation=(
        "List the namespaces (and hosts) the workloads need, e.g. `./*` and "
        "`istio-system/*`, plus the namespace holding their ServiceEntries."
    ),
    references=(SIDECAR_DOCS, EGRESS_DOCS),
)
def sidecar_imports_everything(ctx: CheckContext) -> Iterator[Result]:
    """Under REGISTRY_ONLY the Sidecar's egress hosts decide which external hosts are reachable.

    `*/*` imports every ServiceEntry of every namespace, so a ServiceEntry any tenant adds in
    any namespace (exported by default to all) opens that host to these workloads too. Fires
    for each Sidecar egress listener with `*/*` when the effective outbound mode is
    REGISTRY_ONLY (under ALLOW_ANY, EGR001/EGR002 already report the wider opening).
    """
    for sc in ctx.snapshot.objects(K_SIDECAR):
        mode = (sc.spec.get("outboundTrafficPolicy") or {}).get("mode") or ctx.mesh.outbound_mode
        if str(mode).upper() != "REGISTRY_ONLY":
            continue
        for i, egress in enumerate(sc.spec.get("egress") or ()):
            hosts = egress.get("hosts") or []
            for j, entry in enumerate(hosts):
                if entry.strip() not in ("*/*", "*"):
                    continue
                yield Result(
                    resource=sc.ref,
                    path=f"spec.egress[{i}].hosts[{j}]",
                    detail=f"{i}",
                    message=(
                        f"Sidecar {sc.namespace}/{sc.name} imports {entry!r}: "
                        f"{_sidecar_scope(sc)} may reach every external host registered in any "
                        "namespace"
                    ),
                    evidence={"entry": entry},
                )
                break


@check(
    id="EGR008",
    title="ServiceEntry TCP port without addresses captures the whole port",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    needs=(K_SE, K_CONFIGMAP),
    remediation=(
        "Add `addresses` (the host's IPs or CIDRs), give the port an application protocol "
        "(HTTP, HTTPS, TLS), or enable DNS proxying with address auto-allocation "
        "(ISTIO_META_DNS_CAPTURE and ISTIO_META_DNS_AUTO_ALLOCATE)."
    ),
    references=(SE_DOCS, IST_DOCS.format(code="ist0134")),
    ist_codes=("IST0134",),
)
def service_entry_addresses_required(ctx: CheckContext) -> Iterator[Result]:
    """A TCP ServiceEntry port with no addresses matches by port alone.

    Without an address (and without auto-allocation) the sidecar cannot tell this host's
    traffic from any other on the port: it builds a 0.0.0.0 listener for it, so every
    destination on that port is treated as this registered host, which opens egress on the
    port and breaks other services using it. Fires per ServiceEntry with a port whose protocol
    is TCP or unset, no `addresses`, no allocated `status.addresses`, unless the mesh enables
    DNS capture with auto-allocation (IST0134).
    """
    if ctx.mesh.dns_capture and ctx.mesh.dns_auto_allocate:
        return
    for se in ctx.snapshot.objects(K_SE):
        if se.spec.get("addresses") or (se.raw.get("status") or {}).get("addresses"):
            continue
        for i, port in enumerate(se.spec.get("ports") or ()):
            protocol = str(port.get("protocol") or "").upper()
            if protocol not in ("", "TCP"):
                continue
            yield Result(
                resource=se.ref,
                path=f"spec.ports[{i}]",
                detail=str(port.get("number")),
                message=(
                    f"ServiceEntry {se.namespace}/{se.name} port {port.get('number')} is "
                    f"{protocol or 'of unset protocol (TCP)'} with no addresses: sidecars match it "
                    "by port alone"
                ),
                evidence={"port": port.get("number"), "protocol": protocol or None},
            )


@check(
    id="EGR009",
    title="ServiceEntries give one host and port conflicting protocols",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    needs=(K_SE,),
    remediation="Use one protocol for the host and port in every ServiceEntry that declares it.",
    references=(SE_DOCS, IST_DOCS.format(code="ist0177")),
    ist_codes=("IST0177",),
)
def service_entry_conflicting_protocols(ctx: CheckContext) -> Iterator[Result]:
    """Two ServiceEntries visible together declare one host and port with different protocols.

    Istio keeps one of them, so either the HTTP routing and TLS origination, or the TLS
    passthrough, the other team configured silently stops applying. Fires for each
    ServiceEntry involved, once (IST0177); entries whose exportTo scopes do not overlap do not
    conflict.
    """
    index: dict[tuple[str, str, int], list[tuple[str, KObject]]] = {}
    for se in ctx.snapshot.objects(K_SE):
        export = se.spec.get("exportTo") or []
        scopes = (
            {"*"}
            if not export or "*" in export
            else {se.namespace if e == "." else e for e in export}
        )
        for scope in scopes:
            for host in se.spec.get("hosts") or ():
                for port in se.spec.get("ports") or ():
                    if isinstance(port.get("number"), int):
                        key = (scope, host, port["number"])
                        index.setdefault(key, []).append(
                            (str(port.get("protocol") or "").upper(), se)
                        )
    reported: set[tuple[str, str]] = set()
    for (scope, host, number), entries in sorted(index.items(), key=lambda kv: kv[0]):
        if scope != "*":
            entries = entries + index.get(("*", host, number), [])
        protocols = sorted({p for p, _ in entries})
        if len(protocols) < 2:
            continue
        names = sorted({f"{se.namespace}/{se.name}" for _, se in entries})
        for _, se in entries:
            if (se.namespace, se.name) in reported:
                continue
            reported.add((se.namespace, se.name))
            yield Result(
                resource=se.ref,
                path="spec.ports",
                detail=f"{host}:{number}",
                message=(
                    f"ServiceEntry {se.namespace}/{se.name} declares {host}:{number}, which "
                    f"ServiceEntries {', '.join(names)} give different protocols "
                    f"({', '.join(protocols)})"
                ),
                evidence={"host": host, "port": number, "protocols": protocols},
            )
