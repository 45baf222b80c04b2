"""What the injected proxy brings into each pod: capture privileges and istiod credentials.

Istio's security best practices (#cni, #configure-third-party-service-account-tokens). The pod
semantics are in auditor/istio/proxy_pod.py. Judged from what runs (Pods in the input, or pod
templates injected statically), and from the injector's values where no pod shows it. What
the injector added at admission is one finding per injector revision (auditor/checks/
injected.py); what a workload's own spec carries is one finding per workload, never per pod.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.base.model import Category, Result, Severity
from auditor.checks import injected
from auditor.checks.registry import CheckContext, check
from auditor.istio import annotations as ann
from auditor.istio import injection as inj
from auditor.istio import proxy_config as pc
from auditor.istio import proxy_pod as pp
from auditor.istio.version import minor_versions
from auditor.mesh.index import (
    K_CONFIGMAP,
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_POD,
    K_SERVICE,
    K_STATEFULSET,
)
from auditor.mesh.workload import Workload

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/"
CNI_DOCS = "https://istio.io/latest/docs/setup/additional-setup/cni/"
TOKEN_DOCS = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#serviceaccount-token-volume-projection"
WORKLOADS = (K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD)


def _specs(ctx: CheckContext, w: Workload) -> list[tuple[Workload, Mapping[str, Any]]]:
    """The pod specs that show what runs: the workload's Pods, else its own (a bare Pod, or a
    template injected statically)."""
    pods = ctx.index.running_pods(w)
    return [(p, p.pod_spec) for p in pods] or [(w, w.pod_spec)]


def _sidecar_workloads(ctx: CheckContext) -> list[Workload]:
    return [
        w for w in ctx.index.workloads if not w.owned and ctx.index.mesh_status(w).mode == "sidecar"
    ]


def _cni_unjudged(ctx: CheckContext) -> str:
    if not _sidecar_workloads(ctx) or injected.injectors(ctx):
        return ""
    if any(pp.shows_injection(w.pod_spec) for w in ctx.index.workloads):
        return ""
    return (
        "no injected Pod and no istio-sidecar-injector ConfigMap in the input: the injector "
        "adds istio-init at admission, so pod templates do not show it"
    )


@check(
    id="PRX001",
    title="Injected pods get istio-init with NET_ADMIN and NET_RAW (no Istio CNI plugin)",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(*WORKLOADS, K_CONFIGMAP),
    remediation=(
        "Install the Istio CNI node agent and set `pilot.cni.enabled=true` (istioctl: "
        "`--set components.cni.enabled=true`), then restart the workloads: the injector "
        "replaces istio-init with istio-validation, which drops every capability."
    ),
    references=(PAGE + "#cni", CNI_DOCS),
    unjudged=_cni_unjudged,
)
def capture_privileges(ctx: CheckContext) -> Iterator[Result]:
    """Without the CNI plugin, every injected pod starts an `istio-init` container running as
    root with NET_ADMIN and NET_RAW to write its iptables rules, so every namespace with
    sidecars must admit those capabilities (the Pod Security baseline level forbids them) and
    a compromised init image holds them.

    Judged from the running pods (or a template injected statically) that carry istio-init
    adding NET_ADMIN or NET_RAW (or running privileged). Pods that got istio-init from the
    injector at admission share one cause, the injector revision's `pilot.cni.enabled`: fires
    once per revision, on its istio-sidecar-injector ConfigMap (on the root namespace when
    the ConfigMap is not in the input), naming how many workloads and the first 20. A
    workload whose own template carries istio-init (`istioctl kube-inject`) fires on its own:
    the fix is to inject it again. Where no pod shows injection, fires once per
    istio-sidecar-injector ConfigMap whose values leave the CNI plugin off while workloads run
    in sidecar mode. Ambient workloads are never flagged: the CNI node agent redirects them.
    Low: the capabilities sit in an init container of Istio's own image, not in the app.
    """
    seen_pod = False
    groups: dict[str, injected.Group] = {}
    caps_seen: dict[str, set[str]] = {}
    for w in ctx.index.workloads:
        if w.owned:
            continue
        for pod, spec in _specs(ctx, w):
            seen_pod = seen_pod or pp.shows_injection(spec)
            found = pp.capture_init(spec)
            if found is None:
                continue
            i, caps = found
            if injected.admitted(w, pod, pp.capture_init(w.pod_spec) is not None):
                injected.group(groups, pod, w)
                caps_seen.setdefault(injected.revision(pod), set()).update(caps)
                break
            yield Result(
                resource=w.obj.ref,
                path=f"{w.spec_path}.initContainers[{i}].securityContext.capabilities.add",
                message=(
                    f"{w.obj.kind} {w.namespace}/{w.obj.name} carries istio-init with "
                    f"{', '.join(caps)} in its own spec (injected with istioctl kube-inject): "
                    "the Istio CNI plugin is not used"
                ),
                evidence={"capabilities": caps},
            )
            break
    for rev in sorted(groups):
        where = injected.injector_for(ctx, rev)
        members = groups[rev]
        cni_on = where.values is not None and pp.cni_enabled(where.values)
        caps = sorted(caps_seen[rev])
        if cni_on:
            why = "enables the CNI plugin, but these pods were injected before it did: restart them"
        elif where.values is not None:
            why = "does not use the CNI plugin (pilot.cni.enabled is not true)"
        else:  # the values are not in the input: what the pods show is all there is to say
            why = "does not use the CNI plugin"
        yield injected.result(
            where,
            members,
            f"{where.words} {why}: {members.named()} run istio-init with {', '.join(caps)}",
            **({"pilot.cni.enabled": cni_on} if where.values is not None else {}),
            capabilities=caps,
        )
    if seen_pod or not _sidecar_workloads(ctx):
        return
    for cm, values in injected.injectors(ctx):
        if pp.cni_enabled(values):
            continue
        yield Result(
            resource=cm.ref,
            path="data.values",
            message=(
                f"Sidecar injector {cm.namespace}/{cm.name} does not use the CNI plugin "
                "(pilot.cni.enabled is not true): every injected pod gets istio-init with "
                "NET_ADMIN and NET_RAW"
            ),
            evidence={"pilot.cni.enabled": False},
        )


def _token_unjudged(ctx: CheckContext) -> str:
    if injected.injectors(ctx) or _proxy_specs(ctx):
        return ""
    versions = minor_versions(ctx.snapshot.source.istio_version)
    if versions and min(versions) >= pp.FIRST_PARTY_DROPPED:
        return ""
    return (
        "no Pod or statically injected template shows the proxy's token mount, and neither the "
        "injector's values nor an Istio version of 1.22 or later (which always projects it) is "
        "in the input"
    )


def _proxy_specs(ctx: CheckContext) -> list[tuple[Workload, Workload, Mapping[str, Any]]]:
    out = []
    for w in ctx.index.workloads:
        if w.owned:
            continue
        for pod, spec in _specs(ctx, w):
            where = inj.proxy_container(spec)  # "containers" or "initContainers" (native sidecar)
            if not where:
                continue
            image = next(
                (
                    str(c.get("image") or "")
                    for c in spec.get(where) or ()
                    if isinstance(c, Mapping) and c.get("name") == inj.PROXY_CONTAINER
                ),
                "",
            )
            # a template is judged only when injected statically (kube-inject writes the
            # status annotation); `image: auto` is replaced, and the token mounted, at admission
            static = pod is not w or w.obj.kind == "Pod" or inj.sidecar_status(w.annotations)
            if image and image != "auto" and static:
                out.append((w, pod, spec))
    return out


@check(
    id="PRX002",
    title="Proxy authenticates to istiod with a first-party service account token",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(*WORKLOADS, K_CONFIGMAP),
    remediation=(
        "Upgrade to a supported Istio (1.22 and later always project the istio-token with the "
        "istio-ca audience), or set `values.global.jwtPolicy=third-party-jwt` and restart the "
        "workloads; for a statically injected template, inject it again."
    ),
    references=(PAGE + "#configure-third-party-service-account-tokens", TOKEN_DOCS),
    unjudged=_token_unjudged,
)
def first_party_token(ctx: CheckContext) -> Iterator[Result]:
    """A proxy without the projected `istio-token` presents the pod's own service account token
    to istiod: a token with no audience of its own (valid against the Kubernetes API) and, as a
    legacy Secret token, no expiry. Anyone who lifts it from the pod holds an API credential.

    Judged from the running pods (or a template injected statically, with the injector's
    status annotation) that have a proxy container and no `istio-token` volume projecting a
    token with an audience. Pods the injector admitted that way share one cause, the injector
    revision's `global.jwtPolicy`: fires once per revision, on its istio-sidecar-injector
    ConfigMap (on the root namespace when the ConfigMap is not in the input), naming how many
    workloads and the first 20. A statically injected template fires on its own workload.
    An istio-sidecar-injector ConfigMap whose values set `global.jwtPolicy: first-party-jwt`
    (honoured until Istio 1.21) fires even when none of its pods is in the input.
    """
    flagged: set[tuple[str, str, str]] = set()
    groups: dict[str, injected.Group] = {}
    for w, pod, spec in _proxy_specs(ctx):
        if pp.token_mount(spec) == "third-party" or w.key in flagged:
            continue
        flagged.add(w.key)
        static = w.obj.kind != "Pod" and inj.sidecar_status(w.annotations) is not None
        if injected.admitted(w, pod, static):
            injected.group(groups, pod, w)
            continue
        yield Result(
            resource=w.obj.ref,
            path=f"{w.spec_path}.volumes",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} runs a proxy without the projected "
                "istio-token, injected into its own template (istioctl kube-inject): it "
                "authenticates to istiod with the pod's own token"
            ),
        )
    versions = minor_versions(ctx.snapshot.source.istio_version)
    honoured = not versions or min(versions) < pp.FIRST_PARTY_DROPPED
    reported: set[str] = set()
    for rev in sorted(groups):
        where = injected.injector_for(ctx, rev)
        members = groups[rev]
        policy = pp.jwt_policy(where.values) if where.values is not None else ""
        reported.add(where.resource.key)
        why = (
            "sets global.jwtPolicy first-party-jwt"
            if policy == "first-party-jwt"
            else "injected pods without the projected istio-token"
        )
        yield injected.result(
            where,
            members,
            f"{where.words} {why}: {members.named()} run a proxy that authenticates to istiod "
            "with the pod's own service account token",
            **({"jwtPolicy": policy} if policy else {}),
        )
    for cm, values in injected.injectors(ctx):
        if cm.ref.key in reported:
            continue
        if honoured and pp.jwt_policy(values) == "first-party-jwt":
            yield Result(
                resource=cm.ref,
                path="data.values",
                message=(
                    f"Sidecar injector {cm.namespace}/{cm.name} sets global.jwtPolicy "
                    "first-party-jwt: proxies authenticate with the pods' own tokens"
                ),
                evidence={"jwtPolicy": "first-party-jwt"},
            )


def _exposed_gateways(ctx: CheckContext) -> Iterator[tuple[Workload, list[str]]]:
    """Gateway workloads reachable from outside the cluster (a LoadBalancer or NodePort
    Service selects their pods), with those Services."""
    for w in ctx.index.workloads:
        if w.owned or not inj.is_gateway_pod(w.labels, w.annotations, w.pod_spec):
            continue
        services = [
            f"{s.name} ({s.spec.get('type')})"
            for s in ctx.index.services_for(w)
            if s.spec.get("type") in ("LoadBalancer", "NodePort")
        ]
        if services:
            yield w, sorted(services)


@check(
    id="PRX003",
    title="Internet-facing gateway has no downstream connection limit",
    category=Category.CONFIG,
    severity=Severity.LOW,
    severity_range=(Severity.INFO, Severity.LOW),
    needs=(*WORKLOADS, K_SERVICE, K_CONFIGMAP),
    remediation=(
        "Set a limit sized for the gateway: `proxy.istio.io/config: {connectionSettings: "
        "{globalDownstreamConnectionLimit: N}}` on the gateway's pods (older releases: "
        "`runtimeValues: {overload.global_downstream_max_connections: N}`), or the same in "
        "meshConfig.defaultConfig."
    ),
    references=(
        PAGE + "#configure-a-limit-on-downstream-connections",
        "https://istio.io/latest/news/security/istio-security-2020-007/",
    ),
)
def no_connection_limit(ctx: CheckContext) -> Iterator[Result]:
    """Envoy accepts connections without bound by default (Istio bootstraps it with 2^31-1):
    a client that opens connections faster than they close exhausts the gateway's memory and
    file descriptors, and every route behind it goes down (ISTIO-SECURITY-2020-007).

    Fires per gateway workload that a LoadBalancer or NodePort Service exposes when neither
    the mesh's defaultConfig nor the pod's `proxy.istio.io/config` sets
    connectionSettings.globalDownstreamConnectionLimit, proxy metadata
    ISTIO_META_GLOBAL_DOWNSTREAM_MAX_CONNECTIONS or the runtime value
    overload.global_downstream_max_connections (istio pkg/bootstrap/config.go precedence).
    Info when a custom bootstrap (`sidecar.istio.io/bootstrapOverride`) may set it. Low: the
    gain is denial of service, not access.
    """
    raw = ctx.mesh.raw or {}
    default = raw.get("defaultConfig") if isinstance(raw.get("defaultConfig"), Mapping) else {}
    for w, services in _exposed_gateways(ctx):
        config = pc.merged(default, w.annotations.get(ann.PROXY_CONFIG))
        limit, _where = pc.downstream_limit(config)
        if limit is not None and 0 < limit < pc.MAX_INT32:
            continue
        override = pc.BOOTSTRAP_OVERRIDE in w.annotations
        yield Result(
            resource=w.obj.ref,
            path=f"{w.meta_path}.annotations",
            message=(
                f"Gateway {w.obj.kind} {w.namespace}/{w.obj.name}, exposed by Service "
                f"{', '.join(services)}, accepts downstream connections without limit"
                + (" unless its custom bootstrap sets one" if override else "")
            ),
            evidence={"services": services, "limit": limit},
            severity=Severity.INFO if override else None,
            severity_reason="a custom bootstrap the audit cannot read may set a limit"
            if override
            else "",
        )
