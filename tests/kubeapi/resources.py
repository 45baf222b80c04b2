"""The resource types the fake API server serves: a fixed table of built-ins plus the CRDs.

Discovery documents are derived from these records, so that what ``/apis`` advertises and what
the list endpoints answer can never disagree.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CRD_DIR = Path(__file__).resolve().parent.parent / "data" / "crds"
CRD_FILES = ("istio-crds.yaml", "gateway-api-crds.yaml", "argo-rollouts-crd.yaml")

# The verbs a real API server advertises; the fake only implements get and list, but clients
# (and the collector) decide what to call from discovery, so advertise what a cluster would.
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")
CRD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource (a plural under a group), with everything discovery needs."""

    group: str  # "" for the core group
    versions: tuple[str, ...]  # served versions, in kube-aware order (preferred first)
    storage_version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    custom: bool = False  # custom resources keep apiVersion/kind on list items
    crd_name: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        """The name fault injection uses: ``secrets`` or ``networking.istio.io/gateways``."""
        return f"{self.group}/{self.plural}" if self.group else self.plural

    @property
    def qualified(self) -> str:
        """``plural.group`` as the API server spells it in Status messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def discovery_entries(self, version: str) -> list[dict[str, Any]]:
        """APIResource entries for this resource (and its subresources) in one group/version."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entry["storageVersionHash"] = storage_version_hash(
            self.group, self.storage_version, self.kind
        )
        subs = [
            {
                "name": f"{self.plural}/{name}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": list(verbs),
            }
            for name, verbs in self.subresources
        ]
        return [entry, *subs]


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """The same hash apiserver publishes (first 8 bytes of sha256 of ``group/version/kind``)."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_STABILITY = {None: 2, "beta": 1, "alpha": 0}


def kube_version_key(version: str) -> tuple[int, int, int, str]:
    """Sort key giving apimachinery's kube-aware order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1.

    Non-kube versions sort after all kube ones, alphabetically. Use with ``sorted(...)``
    (ascending key = preferred first).
    """
    match = _KUBE_VERSION.match(version)
    if not match:
        return (1, 0, 0, version)
    major, stability, minor = match.group(1), match.group(2), match.group(3)
    return (0, -_STABILITY[stability], -int(major) * 1000 - int(minor or 0), "")


def sort_versions(versions: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(versions), key=kube_version_key))


def _core(plural: str, kind: str, *, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", ("v1",), "v1", plural, kind.lower(), kind, namespaced, **kw)


def _apps(plural: str, kind: str, short: str) -> ResourceType:
    return ResourceType(
        "apps",
        ("v1",),
        "v1",
        plural,
        kind.lower(),
        kind,
        True,
        short_names=(short,),
        categories=("all",),
        subresources=(("scale", STATUS_VERBS), ("status", STATUS_VERBS)),
    )


# Built-ins a v1.30 cluster serves (a subset: what the auditor reads). Order within a group
# follows the real server, which sorts resources by name.
BUILTIN_RESOURCES: tuple[ResourceType, ...] = (
    _core("configmaps", "ConfigMap", verbs=ALL_VERBS, short_names=("cm",)),
    _core("endpoints", "Endpoints", short_names=("ep",)),
    _core(
        "namespaces",
        "Namespace",
        namespaced=False,
        verbs=NAMESPACE_VERBS,
        short_names=("ns",),
        subresources=(("finalize", ("update",)), ("status", STATUS_VERBS)),
    ),
    _core(
        "nodes",
        "Node",
        namespaced=False,
        short_names=("no",),
        subresources=(
            ("proxy", ("create", "delete", "get", "patch", "update")),
            ("status", STATUS_VERBS),
        ),
    ),
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        categories=("all",),
        subresources=(("log", ("get",)), ("status", STATUS_VERBS)),
    ),
    _core("secrets", "Secret"),
    _core(
        "services",
        "Service",
        short_names=("svc",),
        categories=("all",),
        subresources=(("status", STATUS_VERBS),),
    ),
    _apps("daemonsets", "DaemonSet", "ds"),
    _apps("deployments", "Deployment", "deploy"),
    _apps("replicasets", "ReplicaSet", "rs"),
    _apps("statefulsets", "StatefulSet", "sts"),
    ResourceType(
        "batch",
        ("v1",),
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        True,
        short_names=("cj",),
        categories=("all",),
        subresources=(("status", STATUS_VERBS),),
    ),
    ResourceType(
        "batch",
        ("v1",),
        "v1",
        "jobs",
        "job",
        "Job",
        True,
        categories=("all",),
        subresources=(("status", STATUS_VERBS),),
    ),
    ResourceType(
        "networking.k8s.io",
        ("v1",),
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        True,
        short_names=("netpol",),
    ),
    ResourceType(
        "networking.k8s.io",
        ("v1",),
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        True,
        short_names=("ing",),
        subresources=(("status", STATUS_VERBS),),
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        ("v1",),
        "v1",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        "MutatingWebhookConfiguration",
        False,
        categories=("api-extensions",),
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        ("v1",),
        "v1",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        "ValidatingWebhookConfiguration",
        False,
        categories=("api-extensions",),
    ),
    ResourceType(
        "discovery.k8s.io",
        ("v1",),
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        True,
    ),
    ResourceType(
        "apiextensions.k8s.io",
        ("v1",),
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=(("status", STATUS_VERBS),),
    ),
)

# The priority order kube-aggregator gives built-in groups in /apis (CRD groups come after).
BUILTIN_GROUP_ORDER = (
    "",
    "apps",
    "batch",
    "networking.k8s.io",
    "admissionregistration.k8s.io",
    "discovery.k8s.io",
    "apiextensions.k8s.io",
)


@functools.cache
def _load_crd_file(path: Path) -> tuple[dict[str, Any], ...]:
    """Parse a CRD bundle once per process; callers must treat the result as read-only."""
    with path.open(encoding="utf-8") as handle:
        docs = yaml.load_all(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return tuple(
            doc
            for doc in docs
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
        )


def load_crds(crd_dir: Path = CRD_DIR, files: Sequence[str] = CRD_FILES) -> list[dict[str, Any]]:
    """All CRD documents from the bundles (other kinds in the files, e.g. policies, skipped)."""
    return [crd for name in files for crd in _load_crd_file(crd_dir / name)]


def select_crds(crds: list[dict[str, Any]], wanted: bool | Sequence[str]) -> list[dict[str, Any]]:
    """Pick CRDs by ``True``/``False`` or by names: a CRD name (``gateways.networking.istio.io``)
    or a whole group (``security.istio.io``). Unknown names raise, so a typo cannot silently
    start a cluster without the resource a test meant to have."""
    if isinstance(wanted, bool):
        return list(crds) if wanted else []
    chosen = []
    names = set(wanted)
    for crd in crds:
        if crd["metadata"]["name"] in names or crd["spec"]["group"] in names:
            chosen.append(crd)
    known = {crd["metadata"]["name"] for crd in crds} | {crd["spec"]["group"] for crd in crds}
    unknown = names - known
    if unknown:
        raise ValueError(f"unknown CRDs or groups: {sorted(unknown)}")
    return chosen


def resource_from_crd(crd: dict[str, Any]) -> ResourceType | None:
    """The resource a CRD makes the API server serve, or None if it serves no version."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec["versions"] if v.get("served")]
    if not served:
        return None
    storage = next((v["name"] for v in spec["versions"] if v.get("storage")), served[0]["name"])
    has_status = any("status" in (v.get("subresources") or {}) for v in served)
    has_scale = any("scale" in (v.get("subresources") or {}) for v in served)
    subresources = ((("status", STATUS_VERBS),) if has_status else ()) + (
        (("scale", STATUS_VERBS),) if has_scale else ()
    )
    return ResourceType(
        group=spec["group"],
        versions=sort_versions(v["name"] for v in served),
        storage_version=storage,
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        kind=names["kind"],
        namespaced=spec["scope"] == "Namespaced",
        verbs=CRD_VERBS,
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=subresources,
        custom=True,
        crd_name=crd["metadata"]["name"],
    )


def crd_as_served(crd: dict[str, Any]) -> dict[str, Any]:
    """A CRD object as the cluster returns it: with an Established status (shallow copy)."""
    spec = crd["spec"]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    conditions = [
        {
            "type": kind,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastTransitionTime": "2024-06-12T08:00:00Z",
        }
        for kind, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    stored = [v["name"] for v in spec["versions"] if v.get("storage")]
    return {
        **crd,
        "metadata": dict(crd["metadata"]),
        "status": {"acceptedNames": names, "conditions": conditions, "storedVersions": stored},
    }
