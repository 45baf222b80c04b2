"""Control-plane port lockdown: istiod's unauthenticated plaintext listeners.

Istio's security best practices (#control-plane) name two ports istiod opens by default that
anyone who can reach the pod may use without credentials: the debug interface on 8080 and xDS
over plaintext on 15010. Semantics (flags, defaults) are in auditor/istio/istiod.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.istiod_image import is_istiod
from auditor.istio import istiod
from auditor.mesh.index import K_DEPLOYMENT, K_SERVICE
from auditor.mesh.workload import Workload

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/#control-plane"
PORTS = "https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio"


def _istiods(ctx: CheckContext) -> Iterator[tuple[Workload, int, dict[str, object]]]:
    for w in ctx.index.workloads:
        if w.owned or w.obj.kind != "Deployment" or not is_istiod(w.obj.name, w.labels):
            continue
        found = istiod.discovery_container(w.pod_spec)
        if found is not None:
            yield w, found[0], dict(found[1])


@check(
    id="CP001",
    title="istiod serves its debug interface on plaintext HTTP",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    severity_range=(Severity.INFO, Severity.MEDIUM),
    needs=(K_DEPLOYMENT,),
    remediation=(
        "Set the environment variable ENABLE_DEBUG_ON_HTTP=false on istiod's discovery "
        "container (Helm: `--set pilot.env.ENABLE_DEBUG_ON_HTTP=false`). Some istioctl "
        "commands that read this interface stop working."
    ),
    references=(PAGE, PORTS),
)
def debug_on_http(ctx: CheckContext) -> Iterator[Result]:
    """istiod's HTTP port (8080) serves /debug without TLS or authentication: the mesh's
    configuration, registry, endpoints, connected proxies and profiling data to anyone who
    can reach the pod.

    Fires per istiod Deployment whose discovery container does not set ENABLE_DEBUG_ON_HTTP to
    a false value (istiod's default is true) while `--httpAddr` listens beyond loopback. Info
    when the variable comes from a reference the audit cannot read (valueFrom).
    """
    for w, i, container in _istiods(ctx):
        listener = istiod.debug_on_http(container)
        if not listener.serving:
            continue
        base = f"{w.spec_path}.containers[{i}]"
        where = f"{base}.{listener.path}" if listener.path else f"{base}.env"
        how = {
            "default": f"{istiod.DEBUG_ENV} is not set (istiod defaults it to true)",
            "set": f"{istiod.DEBUG_ENV} is not false",
            "unknown": f"{istiod.DEBUG_ENV} comes from a reference the audit cannot read",
        }[listener.how]
        yield Result(
            resource=w.obj.ref,
            path=where,
            message=(
                f"istiod {w.namespace}/{w.obj.name} serves its debug interface on plaintext "
                f"HTTP {listener.address}: {how}"
            ),
            evidence={"address": listener.address, "setting": listener.how},
            severity=Severity.INFO if listener.how == "unknown" else None,
            severity_reason="the setting comes from a reference the audit cannot read",
        )


def _publishing_services(ctx: CheckContext, w: Workload, port: int | None) -> list[str]:
    out: list[str] = []
    for svc in ctx.index.services_for(w):
        for p in svc.spec.get("ports") or ():
            target = p.get("targetPort", p.get("port"))
            # a named targetPort is the chart's container port name for 15010
            by_number = port is not None and target in (port, str(port))
            if by_number or target == "grpc-xds":
                out.append(f"{svc.name}:{p.get('port')}")
    return sorted(out)


@check(
    id="CP002",
    title="istiod serves xDS over plaintext",
    category=Category.CONFIG,
    severity=Severity.HIGH,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_DEPLOYMENT, K_SERVICE),
    remediation=(
        'Add `--grpcAddr=` (the empty address; the page writes it `--grpcAddr=""`) to '
        "istiod's discovery container args and remove port 15010 from the istiod Service; "
        "proxies use the mTLS port 15012."
    ),
    references=(PAGE, PORTS),
)
def plaintext_xds(ctx: CheckContext) -> Iterator[Result]:
    """istiod's port 15010 serves the xDS API without TLS or authentication: any client that
    reaches it can ask for the configuration istiod computes for any proxy it claims to be
    (every Service, endpoint, route and policy of the mesh) and learn the mesh's layout.
    Certificates are never served there (signing stays on 15012).

    Fires per istiod Deployment whose discovery container does not turn `--grpcAddr` off (an
    empty address) or bind it to loopback. High when istiod's Service publishes the port, so
    every pod in the cluster reaches it by name; medium when only the pod listens.
    """
    for w, i, container in _istiods(ctx):
        listener = istiod.plaintext_xds(container)
        if not listener.serving:
            continue
        services = _publishing_services(ctx, w, istiod.port_number(listener.address))
        base = f"{w.spec_path}.containers[{i}]"
        where = f"{base}.{listener.path}" if listener.path else f"{base}.args"
        published = f", published by Service {', '.join(services)}" if services else ""
        yield Result(
            resource=w.obj.ref,
            path=where,
            message=(
                f"istiod {w.namespace}/{w.obj.name} serves xDS without TLS or authentication on "
                f"{listener.address}{published}"
            ),
            evidence={"address": listener.address, "services": services},
            severity=None if services else Severity.MEDIUM,
            severity_reason="no Service publishes the port",
        )
