"""Capture and membership checks: workloads whose traffic never meets a sidecar.

A workload with outbound capture exclusions, with injection turned off, on the host network,
running as the proxy's own UID, in a namespace without injection, or a pod created before its
namespace was injected sends traffic straight out: no registry, no egress gateway, no mTLS, no
policy. Istio cannot stop that; only a NetworkPolicy can
(https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/#additional-security-considerations).
The egress-path checks are in checks/bypass.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.bypass import SECURITY_NOTE, namespace_ref
from auditor.checks.registry import CheckContext, check
from auditor.istio import annotations as ann
from auditor.istio import injection as inj
from auditor.mesh.egress_reach import app_workloads, excluded_namespace
from auditor.mesh.index import (
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_NAMESPACE,
    K_POD,
    K_STATEFULSET,
)
from auditor.mesh.outside import OutsideContext, outside

ANNOTATION_DOCS = "https://istio.io/latest/docs/reference/config/annotations/"
INJECTION_DOCS = "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/"
IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
WORKLOAD_KINDS = (K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD)


def _covers_everything(ranges: str) -> bool:
    if ranges.strip() == "*" or "*" in (p.strip() for p in ranges.split(",")):
        return True
    return ann.covers_everything(ann.cidr_list(ranges).value)


@check(
    id="BYP005",
    title="Workload excludes outbound traffic from sidecar capture",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=WORKLOAD_KINDS,
    remediation=(
        "Remove the traffic.sidecar.istio.io outbound annotations; register the destinations "
        "with ServiceEntries instead. If an exclusion is required, back it with a NetworkPolicy "
        "limiting the excluded ranges or ports."
    ),
    references=(ANNOTATION_DOCS, SECURITY_NOTE),
)
def capture_excluded(ctx: CheckContext) -> Iterator[Result]:
    """Outbound capture exclusions send that traffic around the sidecar: no registry, no
    egress gateway, no mTLS, no policy, no telemetry.

    Fires per workload whose pod template (or bare pod) sets
    `traffic.sidecar.istio.io/excludeOutboundIPRanges`, `excludeOutboundPorts`, or
    `includeOutboundIPRanges` other than `*`. High when every address escapes (a `/0`
    exclusion, or an empty include list). Not for ambient workloads: ztunnel's redirection
    ignores these annotations (istio/istio#49829, maintainer's answer: "all 7 of those do not
    work"), so they open nothing there.
    """
    for w in ctx.index.workloads:
        if w.owned or ctx.index.is_gateway(w):
            continue
        if ctx.index.mesh_status(w).mode == "ambient":
            continue
        found = inj.capture_exclusions(w.annotations)
        if not found:
            continue
        everything = _covers_everything(found.get(inj.EXCLUDE_IPS, "")) or (
            inj.INCLUDE_IPS in found and not found[inj.INCLUDE_IPS]
        )
        prefix = w.meta_path
        shown = "; ".join(f"{k.rsplit('/', 1)[1]}={v!r}" for k, v in sorted(found.items()))
        yield Result(
            resource=w.obj.ref,
            path=f"{prefix}.annotations",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} excludes outbound traffic from "
                f"sidecar capture ({shown}): it leaves without the egress gateway"
            ),
            evidence=dict(found),
            severity=Severity.HIGH if everything else None,
            severity_reason="every outbound address escapes capture",
        )


@check(
    id="BYP006",
    title="Workload opts out of sidecar injection in an injected namespace",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.LOW, Severity.MEDIUM),
    needs=(*WORKLOAD_KINDS, K_NAMESPACE),
    remediation=(
        'Remove `sidecar.istio.io/inject: "false"` from the pod template, or isolate the '
        "workload's egress with a NetworkPolicy."
    ),
    references=(INJECTION_DOCS, SECURITY_NOTE),
)
def injection_disabled(ctx: CheckContext) -> Iterator[Result]:
    """A pod without a sidecar in a meshed namespace ignores every egress control Istio has.

    Fires per workload whose pod label or annotation `sidecar.istio.io/inject` is not "true"
    in a namespace that injects sidecars (gateway pods excluded). Medium when the workload
    takes traffic the mesh sends it (an entry point's backend, a route's destination) or its
    egress goes around a control the mesh enforces (auditor/mesh/outside.py); low when it is
    deliberately outside and does neither (a job, a controller), since no mesh traffic or
    control depends on it.
    """
    for w in ctx.index.workloads:
        if w.owned or ctx.index.is_gateway(w):
            continue
        ns_labels = ctx.index.namespace_labels.get(w.namespace) or {}
        if inj.namespace_mode(ns_labels, ctx.index.injection_by_default) not in (
            "sidecar",
            "ambient",
        ):
            continue
        status = ctx.index.mesh_status(w)
        if status.in_mesh or inj.INJECT not in status.reason:
            continue
        where = "labels" if inj.INJECT in w.labels else "annotations"
        prefix = w.meta_path
        context = outside(ctx.index).context(w)
        yield Result(
            resource=w.obj.ref,
            path=f"{prefix}.{where}.{inj.INJECT}",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} disables sidecar injection "
                f"({status.reason}) in mesh namespace {w.namespace}: " + _consequence(context)
            ),
            evidence={"reason": status.reason, **context.to_evidence()},
            severity=None if context.matters else Severity.LOW,
            severity_reason="it takes no mesh traffic and goes around no egress control",
        )


@check(
    id="BYP007",
    title="Workload uses the host network, outside the mesh",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=WORKLOAD_KINDS,
    remediation=(
        "Run the workload on the pod network so it can be injected; if it must use the host "
        "network, restrict the node's egress outside Kubernetes."
    ),
    references=(INJECTION_DOCS, SECURITY_NOTE),
)
def host_network(ctx: CheckContext) -> Iterator[Result]:
    """Pods with `hostNetwork: true` get no sidecar and share the node's network namespace.

    Istio does not inject host-network pods, and NetworkPolicy does not select them on most
    network plugins (its behaviour for host-network pods is undefined by Kubernetes), so their
    egress reaches any destination without passing a proxy or a policy. Fires per workload (pod
    template, or bare Pod) with hostNetwork outside the Kubernetes system namespaces.
    """
    for w in ctx.index.workloads:
        if w.owned or w.pod_spec.get("hostNetwork") is not True:
            continue
        if w.namespace in inj.SYSTEM_NAMESPACES:
            continue
        prefix = w.spec_path
        ns_labels = ctx.index.namespace_labels.get(w.namespace) or {}
        # an ambient namespace has no sidecars to speak of: ztunnel never captures host network
        proxy = (
            "no ztunnel capture"
            if inj.namespace_mode(ns_labels, ctx.index.injection_by_default) == "ambient"
            else "no sidecar"
        )
        yield Result(
            resource=w.obj.ref,
            path=f"{prefix}.hostNetwork",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} uses the host network: {proxy}, no "
                "NetworkPolicy, direct egress"
            ),
            evidence={},
        )


@check(
    id="BYP008",
    title="Application container runs as the proxy's UID 1337",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=(K_POD, K_DEPLOYMENT),
    remediation="Run the application under another UID; 1337 is reserved for the sidecar.",
    references=(IST_DOCS.format(code="ist0144"),),
    ist_codes=("IST0144",),
)
def runs_as_proxy_uid(ctx: CheckContext) -> Iterator[Result]:
    """Sidecar capture skips traffic from UID 1337 so the proxy does not capture itself: an
    application running as 1337 sends everything directly, past the sidecar.

    Fires per Deployment or Pod whose pod or non-proxy container securityContext sets runAsUser
    1337 (control-plane and gateway workloads excluded) (IST0144).
    """
    for w in ctx.index.workloads:
        if w.owned or w.obj.kind not in ("Deployment", "Pod"):
            continue
        if ctx.index.is_gateway(w) or inj.is_control_plane_pod(w.labels):
            continue
        where = inj.runs_as_proxy_uid(w.pod_spec)
        if not where:
            continue
        prefix = w.spec_path
        yield Result(
            resource=w.obj.ref,
            path=f"{prefix}.{where}",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} runs as UID 1337 ({where}), the "
                "proxy's UID: its traffic is not captured by the sidecar"
            ),
            evidence={"field": where},
        )


@check(
    id="BYP009",
    title="Namespace is not in the mesh",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.INFO, Severity.MEDIUM),
    needs=(K_NAMESPACE, K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Label the namespace `istio-injection=enabled` (or `istio.io/rev=<revision>`) and "
        "restart its workloads, or keep it out deliberately and isolate its egress with "
        "NetworkPolicy."
    ),
    references=(INJECTION_DOCS, IST_DOCS.format(code="ist0102")),
    ist_codes=("IST0102",),
)
def namespace_not_injected(ctx: CheckContext) -> Iterator[Result]:
    """Workloads in a namespace without sidecar injection are outside the mesh: no mTLS, no
    registry, no egress gateway.

    Fires per namespace without `istio-injection=enabled`, `istio.io/rev` or ambient mode,
    leaving out system namespaces, the Istio root namespace, namespaces holding only
    control-plane or gateway pods, or only host-network pods (BYP007 reports those: they can
    never be injected), and namespaces whose every workload is in the mesh by what it runs (a
    statically injected istio-proxy) (IST0102). Medium when one of its workloads outside the
    mesh takes traffic the mesh sends it or goes around an egress control the mesh enforces
    (auditor/mesh/outside.py); low when they do neither (components kept out on purpose that
    serve no mesh traffic); an empty unlabelled namespace is informational, and a namespace with
    injection explicitly disabled is reported only when it holds workloads.
    """
    for ns in ctx.snapshot.objects(K_NAMESPACE):
        if excluded_namespace(ctx.index, ns.name):
            continue
        mode = inj.namespace_mode(ns.labels, ctx.index.injection_by_default)
        if mode in ("sidecar", "ambient") or inj.multiple_injection_labels(ns.labels):
            continue
        workloads = app_workloads(ctx.index, ns.name)
        # membership is judged from what runs: a statically injected (kube-inject, GitOps)
        # or ambient workload in an unlabelled namespace is in the mesh
        # host-network pods can never be injected: BYP007 reports them (one fact, one finding)
        outsiders = [
            w
            for w in workloads
            if not ctx.index.mesh_status(w).in_mesh and w.pod_spec.get("hostNetwork") is not True
        ]
        if workloads and not outsiders:
            continue
        workloads = outsiders
        if mode == "disabled" and not workloads:
            continue
        names = [f"{w.obj.kind} {w.obj.name}" for w in workloads]
        how = (
            f"label istio-injection={ns.labels.get(inj.INJECTION_LABEL)!r}"
            if mode == "disabled"
            else "no injection label"
        )
        contexts = [outside(ctx.index).context(w) for w in workloads]
        reached = sorted({r for c in contexts for r in c.reached_by})
        escapes = any(c.escapes for c in contexts)
        matters = bool(reached) or escapes
        yield Result(
            resource=namespace_ref(ns.name),
            path="metadata.labels",
            message=(
                f"Namespace {ns.name} is not in the mesh ({how})"
                + (f": {', '.join(names)} run without a sidecar" if names else "")
                + (
                    f"; {_consequence(OutsideContext(tuple(reached), escapes), them=True)}"
                    if names
                    else ""
                )
            ),
            evidence={
                "workloads": names,
                "reached_by": reached,
                "escapes_egress_control": escapes,
            },
            severity=None if matters else (Severity.LOW if workloads else Severity.INFO),
            severity_reason=(
                "its workloads take no mesh traffic and go around no egress control"
                if workloads
                else "no workload runs in it"
            ),
        )


def _consequence(context: OutsideContext, them: bool = False) -> str:
    """What being outside the mesh means for this workload (or these), in words."""
    it, its = ("them", "their") if them else ("it", "its")
    parts = []
    if context.reached_by:
        parts.append(
            f"traffic reaches {it} without mesh identity or policy "
            f"({', '.join(context.reached_by)})"
        )
    if context.escapes:
        parts.append(f"{its} egress goes around the egress controls the mesh enforces")
    if not parts:
        return f"no mesh traffic is routed to {it}, and {its} egress escapes no mesh control"
    return "; ".join(parts)


@check(
    id="BYP010",
    title="Pod in an injected namespace runs without a sidecar",
    category=Category.EGRESS_BYPASS,
    severity=Severity.MEDIUM,
    needs=(K_NAMESPACE, K_POD),
    remediation=(
        "Restart the pod's workload so the injector adds the sidecar (kubectl rollout restart)."
    ),
    references=(INJECTION_DOCS, IST_DOCS.format(code="ist0103")),
    ist_codes=("IST0103",),
)
def pod_missing_proxy(ctx: CheckContext) -> Iterator[Result]:
    """A pod started before its namespace was labelled (or while the injector was down) runs
    without a proxy until restarted, and its egress is unmediated meanwhile.

    Fires per Pod in a sidecar-injected namespace with no istio-proxy container, unless the pod
    opts out of injection or uses the host network (IST0103).
    """
    injecting: dict[str, bool] = {}  # per namespace, asked once
    for pod in ctx.snapshot.objects(K_POD):
        injects = injecting.get(pod.namespace)
        if injects is None:
            ns_labels = ctx.index.namespace_labels.get(pod.namespace) or {}
            injects = injecting[pod.namespace] = inj.namespace_mode(
                ns_labels
            ) == "sidecar" and not inj.multiple_injection_labels(ns_labels)
        if not injects:
            continue
        value = pod.labels.get(inj.INJECT, pod.annotations.get(inj.INJECT, ""))
        if value.strip().lower() == "false" or pod.spec.get("hostNetwork") is True:
            continue
        if inj.has_proxy(pod.spec):
            continue
        yield Result(
            resource=pod.ref,
            path="spec.containers",
            message=(
                f"Pod {pod.namespace}/{pod.name} runs without an istio-proxy container although "
                f"namespace {pod.namespace} injects sidecars"
            ),
            evidence={},
        )
