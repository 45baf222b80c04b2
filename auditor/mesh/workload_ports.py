"""Which ports a workload serves, and which of them the Kubernetes API server calls as an
admission webhook (ValidatingWebhookConfiguration / MutatingWebhookConfiguration
`clientConfig.service`): the API server has no mesh identity, so a STRICT mTLS port there breaks
admission (the documented reason for a port-level PERMISSIVE exception).

`MeshIndex.workload_ports` and `MeshIndex.webhook_callers` delegate here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from auditor.input.kinds import K_MWC, K_VWC
from auditor.input.snapshot import KObject, Snapshot
from auditor.mesh.workload import Workload


class WorkloadPorts:
    """Ports per workload, over one snapshot (webhook configurations read once)."""

    def __init__(
        self, *, snapshot: Snapshot, services_for: Callable[[Workload], list[KObject]]
    ) -> None:
        self.snapshot = snapshot
        self.services_for = services_for

    @cached_property
    def admission_webhook_ports(self) -> dict[tuple[str, str], dict[int, list[str]]]:
        """Service ports the Kubernetes API server calls as admission webhooks: {(namespace,
        Service): {service port: ["ValidatingWebhookConfiguration name (webhook)", ...]}}.
        `clientConfig.service.port` defaults to 443."""
        out: dict[tuple[str, str], dict[int, list[str]]] = {}
        for key in (K_VWC, K_MWC):
            for cfg in self.snapshot.objects(key):
                for hook in cfg.raw.get("webhooks") or ():
                    if not isinstance(hook, dict):
                        continue
                    client = hook.get("clientConfig") or {}
                    service = client.get("service") if isinstance(client, dict) else None
                    if not isinstance(service, dict) or not service.get("name"):
                        continue
                    port = service.get("port", 443)
                    if not isinstance(port, int):
                        continue
                    target = (str(service.get("namespace") or ""), str(service["name"]))
                    label = f"{cfg.kind} {cfg.name} ({hook.get('name') or 'webhook'})"
                    out.setdefault(target, {}).setdefault(port, []).append(label)
        return out

    def workload_ports(self, workload: Workload) -> dict[int, list[str]]:
        """The ports a workload serves: {container port: [how it is reached]}. Each container
        port of a non-proxy container, and each Service port's targetPort (numbers, and names
        resolved against the container ports)."""
        named: dict[str, int] = {}
        out: dict[int, list[str]] = {}
        for c in workload.pod_spec.get("containers") or ():
            if not isinstance(c, dict) or c.get("name") == "istio-proxy":
                continue
            for p in c.get("ports") or ():
                number = p.get("containerPort") if isinstance(p, dict) else None
                if isinstance(number, int):
                    out.setdefault(number, [])
                    if p.get("name"):
                        named[str(p["name"])] = number
        for svc in self.services_for(workload):
            for p in svc.spec.get("ports") or ():
                if not isinstance(p, dict) or not isinstance(p.get("port"), int):
                    continue
                target = p.get("targetPort", p["port"])
                number = named.get(target) if isinstance(target, str) else target
                if not isinstance(number, int):
                    continue
                out.setdefault(number, []).append(
                    f"Service {svc.namespace}/{svc.name} port {p['port']}"
                )
        return out

    def webhook_callers(self, workload: Workload) -> dict[int, list[str]]:
        """Workload ports the API server calls as an admission webhook: {target port: [which
        webhook configurations]}."""
        out: dict[int, list[str]] = {}
        named: dict[str, int] = {}
        for c in workload.pod_spec.get("containers") or ():
            for p in (c.get("ports") or ()) if isinstance(c, dict) else ():
                if (
                    isinstance(p, dict)
                    and p.get("name")
                    and isinstance(p.get("containerPort"), int)
                ):
                    named[str(p["name"])] = p["containerPort"]
        for svc in self.services_for(workload):
            hooks = self.admission_webhook_ports.get((svc.namespace, svc.name))
            if not hooks:
                continue
            for p in svc.spec.get("ports") or ():
                if not isinstance(p, dict) or p.get("port") not in hooks:
                    continue
                target = p.get("targetPort", p["port"])
                number = named.get(target) if isinstance(target, str) else target
                if isinstance(number, int):
                    out.setdefault(number, []).extend(hooks[p["port"]])
        return out
