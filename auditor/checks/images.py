"""Hardened images: Istio's control plane and proxies on the distroless variant.

Istio's security best practices (#use-hardened-docker-images): the default images carry a
shell and tools such as curl; the distroless variant (tag suffix `-distroless`,
istio.io/latest/docs/ops/configuration/security/harden-docker-images/) leaves them out. The
charts' default `global.variant` is "" (istio/istio manifests/charts/istio-control/
istio-discovery/values.yaml), so the default install is not hardened.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.mesh.index import K_DAEMONSET, K_DEPLOYMENT, K_POD, K_STATEFULSET

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/#use-hardened-docker-images"
HARDEN = "https://istio.io/latest/docs/ops/configuration/security/harden-docker-images/"
ISTIO_IMAGES = ("pilot", "proxyv2")
DISTROLESS = "-distroless"


def istio_image(image: str) -> tuple[str, str] | None:
    """(name, tag) of an Istio pilot or proxyv2 image given by tag; None for other images and
    for a digest alone (its variant cannot be read)."""
    ref = image.split("@", 1)[0]
    repo, _, tag = ref.rpartition(":")
    if not repo or "/" in tag or not tag:
        return None
    name = repo.rsplit("/", 1)[-1]
    return (name, tag) if name in ISTIO_IMAGES else None


def _images(spec: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """(field path under the pod spec, image, tag) of Istio images that are not distroless."""
    out = []
    for key in ("containers", "initContainers"):
        items = spec.get(key)
        for i, c in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(c, Mapping):
                continue
            image = str(c.get("image") or "")
            found = istio_image(image)
            if found and not found[1].endswith(DISTROLESS):
                out.append((f"{key}[{i}].image", image, found[1]))
    return out


@check(
    id="IMG001",
    title="Istio control plane or proxy image is not the distroless variant",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Install with `--set values.global.variant=distroless` (or `tag: <version>-distroless`), "
        "then restart the gateways and workloads so their proxies pick up the variant."
    ),
    references=(PAGE, HARDEN),
)
def not_distroless(ctx: CheckContext) -> Iterator[Result]:
    """Istio's default images are Ubuntu-based, with a shell, a package manager's leftovers and
    tools such as curl: what an attacker who gets code execution in istiod, a gateway or a
    sidecar uses next. The distroless variant leaves them out.

    Fires once per workload whose running pods (or its own spec, when it names an image and
    not `auto`) run Istio's pilot or proxyv2 image by a tag without the `-distroless` suffix.
    Images given by digest alone are not judged. Low: it widens what a compromise can do; it
    opens nothing by itself.
    """
    for w in ctx.index.workloads:
        if w.owned:
            continue
        pods = ctx.index.running_pods(w) or [w]
        for pod in pods:
            found = _images(pod.pod_spec)
            if not found:
                continue
            path, image, _tag = found[0]
            shown = f" (Pod {pod.obj.name})" if pod is not w else ""
            yield Result(
                resource=w.obj.ref,
                path=f"{w.spec_path}.{path}" if pod is w else f"{w.spec_path}.containers",
                message=(
                    f"{w.obj.kind} {w.namespace}/{w.obj.name} runs {image}{shown}, not the "
                    "distroless variant"
                ),
                evidence={"images": sorted({i for _, i, _ in found}), "pod": pod.obj.name},
            )
            break
