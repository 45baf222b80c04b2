"""Where a proxy pod's setting comes from: the sidecar injector at admission, or the workload.

A pod's istio-init, its istio-token mount and its proxy image are written either
- by the sidecar injector when the API server admits the pod (the pod template carries none of
  it, or `image: auto`): every pod one injector revision admitted shares the cause, and the fix
  is one change to that revision's values and a restart. Those pods make one finding per
  revision (a mesh-wide condition is one finding), naming how many workloads and the first few;
- or by the workload's own spec (a template injected with `istioctl kube-inject`, which writes
  the same `sidecar.istio.io/status` annotation into the template, or an image named
  explicitly): the fix is in that object, so the finding stays on it.

A Pod that is its own workload (no controller in the input) and carries the injector's status
annotation counts as admitted: the object is what the webhook returned, and a bare Pod written
with kube-inject cannot be told apart from it.

Ground truth, istio/istio@86c9f01: the injection templates
(manifests/charts/istio-control/istio-discovery/files/injection-template.yaml,
gateway-injection-template.yaml) annotate the pod `istio.io/rev: {{ .Revision | default
"default" }}`; pkg/kube/inject/webhook.go postProcessPod writes the status record with the same
`revision`; templates/istiod-injector-configmap.yaml names the values ConfigMap
`istio-sidecar-injector` (default revision) or `istio-sidecar-injector-<revision>`, labelled
`istio.io/rev`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.base.model import ResourceRef, Result
from auditor.checks.registry import CheckContext
from auditor.input.snapshot import KObject
from auditor.istio import injection as inj
from auditor.istio import proxy_pod as pp
from auditor.mesh.index import K_CONFIGMAP
from auditor.mesh.workload import Workload

EVIDENCE_LIMIT = 20  # workloads named in a grouped finding's evidence
SHOWN = 3  # workloads named in its message
DEFAULT_REVISION = "default"


def injectors(ctx: CheckContext) -> list[tuple[KObject, Mapping[str, Any]]]:
    """The istio-sidecar-injector[-<revision>] ConfigMaps with readable values, by name."""
    out: list[tuple[KObject, Mapping[str, Any]]] = []
    for cm in ctx.snapshot.objects(K_CONFIGMAP):
        if cm.name.startswith(pp.INJECTOR_CONFIGMAP):
            values = pp.injector_values(cm.raw.get("data") or {})
            if values is not None:
                out.append((cm, values))
    return sorted(out, key=lambda item: (item[0].namespace, item[0].name))


def revision(pod: Workload) -> str:
    """The injector revision that admitted a pod: its `istio.io/rev` annotation (the template
    writes it), else its status record's `revision`, else the default revision."""
    rev = pod.annotations.get(inj.REV_LABEL)
    if not rev:
        status = inj.sidecar_status(pod.annotations) or {}
        rev = status.get("revision") if isinstance(status.get("revision"), str) else ""
    return rev or DEFAULT_REVISION


def injector_revision(cm: KObject) -> str:
    """The revision an injector ConfigMap serves: its `istio.io/rev` label, else its name."""
    labels = cm.metadata.get("labels") or {}
    rev = labels.get(inj.REV_LABEL) if isinstance(labels, Mapping) else None
    if isinstance(rev, str) and rev:
        return rev
    suffix = cm.name.removeprefix(pp.INJECTOR_CONFIGMAP).removeprefix("-")
    return suffix or DEFAULT_REVISION


def admitted(w: Workload, pod: Workload, template_shows: bool) -> bool:
    """Whether what `pod` shows was written by the injector at admission: a running pod whose
    controller's template does not show it, or a Pod of its own with the injector's status."""
    if pod is w:
        return w.obj.kind == "Pod" and inj.sidecar_status(w.annotations) is not None
    return not template_shows


# `gateway.istio.io/managed` on the Deployments istiod renders for a Gateway (istio/istio@86c9f01
# manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml, waypoint.yaml)
ISTIOD_RENDERED = frozenset({"istio.io-gateway-controller", "istio.io-mesh-controller"})
PROXY_IMAGE = "sidecar.istio.io/proxyImage"


def rendered_by_istiod(w: Workload) -> bool:
    """A gateway or waypoint Deployment istiod renders for a Gateway: its proxy image comes from
    the revision's values (`global.proxy.image`, hub, tag, variant) as an injected sidecar's
    does, and istiod overwrites an edit to it; unless the Gateway picks its own image with
    `sidecar.istio.io/proxyImage`."""
    return (
        w.labels.get("gateway.istio.io/managed") in ISTIOD_RENDERED
        and PROXY_IMAGE not in w.annotations
    )


def workload_name(w: Workload) -> str:
    return f"{w.obj.kind} {w.namespace}/{w.obj.name}"


@dataclass(slots=True)
class Group:
    """The workloads one injector revision admitted with the same weakness."""

    revision: str
    workloads: list[str] = field(default_factory=list)

    def capped(self) -> list[str]:
        names = sorted(self.workloads)
        if len(names) > EVIDENCE_LIMIT:
            return [*names[:EVIDENCE_LIMIT], f"... and {len(names) - EVIDENCE_LIMIT} more"]
        return names

    def named(self) -> str:
        """How many workloads, and the first few, for a message."""
        names = sorted(self.workloads)
        shown = ", ".join(names[:SHOWN])
        rest = len(names) - SHOWN
        return f"{len(names):,} workload(s) ({shown}{f' and {rest:,} more' if rest > 0 else ''})"


@dataclass(frozen=True, slots=True)
class Injector:
    """Where a revision's injector setting is reported: its values ConfigMap when the input has
    it, else the mesh (the root namespace), told apart by revision."""

    resource: ResourceRef
    path: str
    detail: str
    words: str  # "Sidecar injector istio-system/istio-sidecar-injector"
    revision_words: str  # "Istio revision default (values in ConfigMap istio-system/...)"
    values: Mapping[str, Any] | None


def injector_for(ctx: CheckContext, rev: str) -> Injector:
    for cm, values in injectors(ctx):
        if injector_revision(cm) == rev:
            return Injector(
                resource=cm.ref,
                path="data.values",
                detail="",
                words=f"Sidecar injector {cm.namespace}/{cm.name}",
                revision_words=f"Istio revision {rev} (values in ConfigMap "
                f"{cm.namespace}/{cm.name})",
                values=values,
            )
    root = ctx.mesh.root_namespace
    return Injector(
        resource=ResourceRef(group="", kind="Namespace", namespace="", name=root, api_version="v1"),
        path="",
        detail=f"revision {rev}",
        words=f"The sidecar injector (revision {rev}; its ConfigMap is not in the input)",
        revision_words=f"Istio revision {rev} (its values are not in the input)",
        values=None,
    )


def result(where: Injector, members: Group, message: str, **evidence: Any) -> Result:
    """The one finding for what a revision's injector gave its pods: on the injector (or the
    root namespace), with the revision, the workload count and the first EVIDENCE_LIMIT."""
    return Result(
        resource=where.resource,
        path=where.path,
        detail=where.detail,
        message=message,
        evidence={
            "revision": members.revision,
            **evidence,
            "workload_count": len(members.workloads),
            "workloads": members.capped(),
        },
    )


def group(groups: dict[str, Group], pod: Workload, w: Workload) -> None:
    rev = revision(pod)
    groups.setdefault(rev, Group(rev)).workloads.append(workload_name(w))
