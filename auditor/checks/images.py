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
from auditor.checks import injected
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
    # ConfigMaps only place the finding (on the injector when readable): not a need
    needs=(K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Install with `--set values.global.variant=distroless` (or `tag: <version>-distroless`), "
        "then restart the gateways and workloads so their proxies pick up the variant; where a "
        "workload names the image in its own spec, change that tag."
    ),
    references=(PAGE, HARDEN),
)
def not_distroless(ctx: CheckContext) -> Iterator[Result]:
    """Istio's default images are Ubuntu-based, with a shell, a package manager's leftovers and
    tools such as curl: what an attacker who gets code execution in istiod, a gateway or a
    sidecar uses next. The distroless variant leaves them out.

    Judged from Istio's pilot and proxyv2 images given by a tag without the `-distroless`
    suffix in the running pods, or in a workload's own spec when it names an image and not
    `auto`. Images the injector put into pods at admission share one cause, the injector
    revision's values: fires once per revision, on its istio-sidecar-injector ConfigMap (on the
    root namespace when the ConfigMap is not in the input), naming the images, how many
    workloads and the first 20; so do the gateway and waypoint Deployments istiod renders for a
    Gateway (label `gateway.istio.io/managed`), whose image comes from the same values. A
    workload that names the image in its own spec (istiod, a gateway installed with its image,
    a template injected with kube-inject) fires on its own.
    Images given by digest alone are not judged. Low: it widens what a compromise can do; it
    opens nothing by itself.
    """
    groups: dict[str, injected.Group] = {}
    images: dict[str, set[str]] = {}
    for w in ctx.index.workloads:
        if w.owned:
            continue
        own = _images(w.pod_spec)
        for pod in ctx.index.running_pods(w) or [w]:
            found = own if pod is w else _images(pod.pod_spec)
            if not found:
                continue
            if injected.admitted(w, pod, bool(own)) or injected.rendered_by_istiod(w):
                injected.group(groups, pod, w)
                images.setdefault(injected.revision(pod), set()).update(i for _, i, _ in found)
                break
            path, image, _tag = own[0] if own else found[0]
            yield Result(
                resource=w.obj.ref,
                path=f"{w.spec_path}.{path}",
                message=(
                    f"{w.obj.kind} {w.namespace}/{w.obj.name} runs {image}, not the distroless "
                    "variant"
                ),
                evidence={"images": sorted({i for _, i, _ in own or found})},
            )
            break
    for rev in sorted(groups):
        where = injected.injector_for(ctx, rev)
        members = groups[rev]
        shown = sorted(images[rev])[: injected.EVIDENCE_LIMIT]
        # not "injected": the revision's values also give istiod's gateways and waypoints
        # their image
        yield injected.result(
            where,
            members,
            f"{where.revision_words} installs {', '.join(shown)}, not the distroless variant, "
            f"in {members.named()}",
            images=shown,
        )
