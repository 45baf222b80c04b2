"""VirtualService checks: how routes bind to gateways."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks.registry import CheckContext, check
from auditor.index import K_GATEWAY, K_VS
from auditor.istio.refs import resolve_gateway_name
from auditor.model import Category, Result, Severity

VS_DOCS = "https://istio.io/latest/docs/reference/config/networking/virtual-service/"


@check(
    id="VS001",
    title="VirtualService references a Gateway that does not exist",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_VS, K_GATEWAY),
    remediation=(
        "Point spec.gateways at an existing Gateway as `namespace/name` (a bare name means the "
        "VirtualService's own namespace), or create the Gateway."
    ),
    references=(VS_DOCS, "https://istio.io/latest/docs/reference/config/analysis/ist0101/"),
    ist_codes=("IST0101",),
)
def virtual_service_unknown_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A VirtualService bound to a Gateway that does not exist routes nothing through it.

    The routes the team expects at the edge are not served, and they will be as soon as someone
    creates a Gateway of that name: in a shared-edge setup, possibly someone else. A bare name
    means the Gateway in the VirtualService's own namespace, which is the usual mistake when the
    Gateway lives in the ingress namespace. Fires per `spec.gateways` entry and per
    `http[].match[].gateways` entry that names a missing Gateway (IST0101).
    """
    for vs in ctx.snapshot.objects(K_VS):
        spec = vs.spec
        refs: list[tuple[str, str]] = [
            (f"spec.gateways[{i}]", g) for i, g in enumerate(spec.get("gateways") or ())
        ]
        for section in ("http", "tls", "tcp"):
            for r, route in enumerate(spec.get(section) or ()):
                for m, match in enumerate(route.get("match") or ()):
                    for g, name in enumerate(match.get("gateways") or ()):
                        refs.append((f"spec.{section}[{r}].match[{m}].gateways[{g}]", name))
        for path, value in refs:
            ref = resolve_gateway_name(value, vs.namespace)
            if ref is None or ref in ctx.index.gateways:
                continue
            written = "" if value == str(ref) else f" (written {value!r})"
            yield Result(
                resource=vs.ref,
                path=path,
                detail=f"{path}={ref}",
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} is bound to Gateway {ref}{written}, "
                    "which does not exist"
                ),
                evidence={"gateway": value, "resolved": str(ref)},
            )
