"""References between Istio resources: VirtualService `gateways`, exportTo visibility."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MESH = "mesh"


@dataclass(frozen=True, slots=True, order=True)
class GatewayRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def resolve_gateway_name(value: str, namespace: str) -> GatewayRef | None:
    """Resolve one `gateways:` entry of a VirtualService in `namespace` (None for `mesh`).

    Istio's resolveGatewayName: `name` is in the VirtualService's namespace, `ns/name` and
    `./name` are explicit, and the legacy FQDN form `name.ns[.svc.cluster.local]` means ns/name.
    """
    value = value.strip()
    if value == MESH:
        return None
    if "/" in value:
        ns, _, name = value.partition("/")
        return GatewayRef(namespace if ns == "." else ns, name)
    if "." in value:
        name, _, rest = value.partition(".")
        ns = rest.split(".", 1)[0]
        return GatewayRef(ns, name)
    return GatewayRef(namespace, value)


def virtual_service_gateways(
    gateways: Sequence[str] | None, namespace: str
) -> tuple[bool, tuple[GatewayRef, ...]]:
    """(applies to mesh sidecars, gateways bound). Omitted `gateways` means `mesh` only."""
    if not gateways:
        return True, ()
    mesh = False
    refs: list[GatewayRef] = []
    for value in gateways:
        ref = resolve_gateway_name(value, namespace)
        if ref is None:
            mesh = True
        else:
            refs.append(ref)
    return mesh, tuple(refs)


def exported_to(
    export_to: Sequence[str] | None, owner_namespace: str, default: Sequence[str] = ("*",)
) -> tuple[str, ...]:
    """Normalise `exportTo`: `.` becomes the owner's namespace; empty means the mesh default."""
    values = list(export_to) if export_to else list(default)
    return tuple(owner_namespace if v == "." else v for v in values)


def visible_in(
    export_to: Sequence[str] | None,
    owner_namespace: str,
    namespace: str,
    default: Sequence[str] = ("*",),
) -> bool:
    """Whether an object with this exportTo can be seen from `namespace`."""
    values = exported_to(export_to, owner_namespace, default)
    if "~" in values:
        return False
    return "*" in values or namespace in values


def lookup_scopes(export_to: Sequence[str] | None, namespace: str) -> tuple[str, ...]:
    """The namespaces from which istioctl's destination-host lookup looks a host up.

    `util.GetDestinationHost`: a resource without exportTo looks from its own namespace; with
    exportTo, from each namespace it is exported to (`.` is its own, `*` sees only hosts
    exported to every namespace).
    """
    if not export_to:
        return (namespace,)
    return tuple(namespace if e == "." else e for e in export_to)
