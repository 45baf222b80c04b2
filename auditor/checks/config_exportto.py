"""exportTo entries that name a namespace that does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import STATUS_OK
from auditor.istio.refs import (
    RESERVED_EXPORT_TO,
    SERVICE_EXPORT_TO,
    named_export_targets,
    service_export_to,
)
from auditor.mesh.index import K_DR, K_NAMESPACE, K_SE, K_SERVICE, K_VS

VS_DOCS = "https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
SE_DOCS = "https://istio.io/latest/docs/reference/config/networking/service-entry/"
ANNOTATIONS = "https://istio.io/latest/docs/reference/config/annotations/"
KIALI_EXPORT_TO = (
    "https://kiali.io/docs/features/validations/"
    "#kia0005---no-matching-namespace-found-or-namespace-is-not-accessible"
)


def namespaces_unknown(ctx: CheckContext) -> str:
    """Why the Namespace list cannot be trusted as complete ("" when it can)."""
    status = ctx.snapshot.collection.get(K_NAMESPACE)
    if status is None:
        return (
            "the Namespace list was not read from a cluster (file input), so a namespace "
            "missing from it may still exist"
        )
    if status.status != STATUS_OK:
        return f"Namespaces were not read in full ({status.status})"
    return ""


@check(
    id="CFG011",
    title="exportTo names a namespace that does not exist",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_VS, K_DR, K_SE, K_SERVICE, K_NAMESPACE),
    remediation=(
        "Fix the namespace name in `exportTo` (or the Service annotation "
        "`networking.istio.io/exportTo`), or remove the entry; `.` is the resource's own "
        "namespace and `*` every namespace."
    ),
    references=(VS_DOCS, DR_DOCS, SE_DOCS, ANNOTATIONS, KIALI_EXPORT_TO),
    unjudged=namespaces_unknown,
)
def export_to_missing_namespace(ctx: CheckContext) -> Iterator[Result]:
    """`exportTo` makes a VirtualService, DestinationRule, ServiceEntry or (by annotation) a
    Service visible in the namespaces it lists. An entry naming a namespace that does not exist
    exports to no one: usually a typo, so the namespace that was meant does not get the route,
    traffic policy or host it expects (Kiali KIA0005).

    Fires per `spec.exportTo` entry (and per entry of the Service annotation
    `networking.istio.io/exportTo`) that is not `.`, `*` or `~` and names no Namespace of the
    input. Judged only when the Namespace list is known complete (read from the cluster with
    status ok, or a saved snapshot of such a read); with file input the check's run says
    "not judged" and why.
    """
    names = {ns.name for ns in ctx.snapshot.objects(K_NAMESPACE)}
    for key in (K_VS, K_DR, K_SE):
        for obj in ctx.snapshot.objects(key):
            for i, target in named_export_targets(obj.spec.get("exportTo")):
                if target in names:
                    continue
                path = f"spec.exportTo[{i}]"
                yield Result(
                    resource=obj.ref,
                    path=path,
                    detail=path,
                    message=(
                        f"{obj.kind} {obj.namespace}/{obj.name} exports to namespace "
                        f"{target!r} ({path}), which does not exist: that entry reaches no one"
                    ),
                    evidence={"namespace": target},
                )
    for svc in ctx.snapshot.objects(K_SERVICE):
        for target in service_export_to(svc.annotations):
            if target in names or target in RESERVED_EXPORT_TO:
                continue
            path = f"metadata.annotations[{SERVICE_EXPORT_TO}]"
            yield Result(
                resource=svc.ref,
                path=path,
                detail=f"{path}:{target}",
                message=(
                    f"Service {svc.namespace}/{svc.name} is exported (annotation "
                    f"{SERVICE_EXPORT_TO}) to namespace {target!r}, which does not exist"
                ),
                evidence={"namespace": target},
            )
