"""Protocol detection: Service ports whose protocol the sidecars must guess.

Istio's security best practices (#protocol-detection) recommend declaring every port's protocol
so that traffic is never misdetected, accidentally or on purpose. Explicit selection is read by
auditor/istio/protocols.py (appProtocol, else the `<protocol>[-<suffix>]` port name).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.istio import injection as inj
from auditor.istio.protocols import UNKNOWN, port_protocol
from auditor.mesh.index import (
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_NAMESPACE,
    K_POD,
    K_SERVICE,
    K_STATEFULSET,
)

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/#protocol-detection"
SELECTION = "https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/"
IST0118 = "https://istio.io/latest/docs/reference/config/analysis/ist0118/"


@check(
    id="SVC001",
    title="Service ports rely on automatic protocol detection in the mesh",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_SERVICE, K_NAMESPACE, K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Declare each port's protocol: set `appProtocol` (http, http2, grpc, tcp, tls, ...) or "
        "name the port `<protocol>[-<suffix>]` (`http-web`, `tcp-db`)."
    ),
    references=(PAGE, SELECTION, IST0118),
    ist_codes=("IST0118",),
)
def undeclared_protocol(ctx: CheckContext) -> Iterator[Result]:
    """A port without a declared protocol is sniffed by the sidecars: the first bytes a client
    sends decide whether the connection is treated as HTTP (routes, HTTP authorization rules,
    header manipulation) or opaque TCP, so a client can steer which rules apply, and
    server-first protocols stall until detection times out.

    Fires once per Service (listing its ports) whose selector picks workloads running with a
    sidecar, for the TCP ports that have neither an `appProtocol` Istio knows nor a name
    starting with a protocol. Services of gateways and the control plane, selector-less
    Services, UDP and SCTP ports, and ambient workloads (ztunnel treats undeclared ports as
    TCP and does no sniffing) are left out. Low: detection errs to TCP, losing HTTP policy
    rather than bypassing mTLS.
    """
    for svc in ctx.snapshot.objects(K_SERVICE):
        workloads = ctx.index.app_workloads_of(svc)
        if not workloads:
            continue
        if any(ctx.index.is_gateway(w) or inj.is_control_plane_pod(w.labels) for w in workloads):
            continue
        if not any(ctx.index.mesh_status(w).mode == "sidecar" for w in workloads):
            continue
        undeclared = [
            (i, p)
            for i, p in enumerate(svc.spec.get("ports") or ())
            if isinstance(p, dict) and port_protocol(p) == UNKNOWN
        ]
        if not undeclared:
            continue
        shown = [f"{p.get('name') or '(unnamed)'}:{p.get('port')}" for _, p in undeclared]
        first = undeclared[0][0]
        yield Result(
            resource=svc.ref,
            path=f"spec.ports[{first}]" if len(undeclared) == 1 else "spec.ports",
            message=(
                f"Service {svc.namespace}/{svc.name} declares no protocol on port"
                f"{'s' if len(shown) > 1 else ''} {', '.join(shown)}: the sidecars guess it "
                "from the first bytes of each connection"
            ),
            evidence={"ports": shown},
        )
