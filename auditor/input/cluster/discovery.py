"""Discovery: which served version of each kind mesh-audit reads, and the RBAC it needs.

Reads /version, /api, /apis and the resource lists through a `Requester`, shape-checking each
document (a DiscoveryError when the cluster cannot be read). `decode` and `shown_text` check and
quote any API answer; auditor/input/cluster/lists.py uses them for the paged lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from auditor.input.cluster.names import segment
from auditor.input.cluster.transport import (
    JSON,
    BadAnswer,
    Requester,
    Response,
    StatusError,
    status_message,
)
from auditor.input.kinds import KINDS, KindSpec
from auditor.input.snapshot import STATUS_ERROR, STATUS_NOT_INSTALLED, CollectionStatus

__all__ = [
    "DISCOVERY_URLS",
    "DiscoveryError",
    "Plan",
    "decode",
    "discover",
    "rbac_resources",
    "server_version",
    "shown_text",
]


@dataclass(frozen=True, slots=True)
class Plan:
    """How one kind is read: its served version and URL prefix, or why it cannot be."""

    spec: KindSpec
    version: str = ""
    unavailable: CollectionStatus | None = None

    @property
    def prefix(self) -> str:
        version = segment(self.version)
        return (
            f"/apis/{segment(self.spec.group)}/{version}" if self.spec.group else f"/api/{version}"
        )

    @property
    def api_version(self) -> str:
        return f"{self.spec.group}/{self.version}" if self.spec.group else self.version


class DiscoveryError(Exception):
    """/version or a discovery document mesh-audit cannot use: the cluster cannot be read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(resp: Response) -> Any:
    """The JSON body of a 200 answer; BadAnswer when it is not JSON (an HTML proxy page...)."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != JSON:
        raise BadAnswer(
            f"answered {shown_text(ctype) if ctype else 'without a content type'}, not JSON"
        )
    try:
        return orjson.loads(resp.body)
    except orjson.JSONDecodeError as exc:
        return _invalid_json(exc)


def _invalid_json(exc: orjson.JSONDecodeError) -> Any:
    raise BadAnswer(f"invalid JSON ({str(exc).split(':')[0]}, byte {exc.pos})")


def shown_text(text: str) -> str:
    cut = text[:60]
    return repr(cut) if not cut.isprintable() or not cut.isascii() else cut


def _json(req: Requester, path: str) -> Any:
    try:
        resp = req.get(path)
        if resp.status != 200:
            raise StatusError(resp.status, status_message(resp))
        return decode(resp)
    except BadAnswer as exc:
        raise DiscoveryError(f"{path}: {exc.reason}") from None


def server_version(req: Requester) -> dict[str, Any]:
    """The /version document; a DiscoveryError when it is not a JSON object."""
    version_doc = _json(req, "/version")
    if not isinstance(version_doc, dict):
        raise DiscoveryError("/version: not a version document (a JSON object)")
    return version_doc


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _discovery_doc(req: Requester, path: str, check: str) -> dict[str, Any]:
    """A discovery document, shape-checked: `check` names the list it must hold."""
    doc = _json(req, path)
    if not isinstance(doc, dict):
        raise DiscoveryError(f"{path}: not a discovery document (a JSON object)")
    if check == "versions" and not _strings(doc.get("versions")):
        raise DiscoveryError(f"{path}: not an APIVersions document (versions: list of strings)")
    if check == "groups":
        groups = doc.get("groups")
        if groups is None:
            groups = doc["groups"] = []
        ok = _objects(groups) and all(
            isinstance(g.get("name"), str)
            and _objects(g.get("versions"))
            and all(isinstance(v.get("version"), str) for v in g["versions"])
            for g in groups
        )
        if not ok:
            raise DiscoveryError(f"{path}: not an APIGroupList document (groups with versions)")
    if check == "resources":
        resources = doc.get("resources")
        if resources is None:
            resources = doc["resources"] = []
        if not _objects(resources) or not all(isinstance(r.get("name"), str) for r in resources):
            raise DiscoveryError(f"{path}: not an APIResourceList document (named resources)")
    return doc


def discover(req: Requester, kinds: Sequence[KindSpec] = KINDS) -> dict[str, Plan]:
    """Pick, per kind, the preferred served version that mesh-audit understands.

    Versions are tried in the server's order (its preferred version first); a version is usable
    when its resource list names the kind's plural and the kind's KindSpec lists it. A discovery
    document of the wrong shape is a DiscoveryError (the cluster cannot be read).
    """
    served: dict[str, list[str]] = {"": list(_discovery_doc(req, "/api", "versions")["versions"])}
    for group in _discovery_doc(req, "/apis", "groups")["groups"]:
        versions = [v["version"] for v in group["versions"]]
        preferred_doc = group.get("preferredVersion")
        preferred = preferred_doc.get("version") if isinstance(preferred_doc, dict) else None
        ordered = [preferred] if preferred in versions else []
        ordered += [v for v in versions if v != preferred]
        served[str(group["name"])] = [str(v) for v in ordered]
    wanted: dict[tuple[str, str], set[str]] = {}
    for spec in kinds:
        for version in served.get(spec.group, ()):
            if version in spec.versions:
                wanted.setdefault((spec.group, version), set()).add(spec.plural)
    resources: dict[tuple[str, str], set[str]] = {}
    for group, version in sorted(wanted):
        path = f"/apis/{segment(group)}/{segment(version)}" if group else f"/api/{segment(version)}"
        doc = _discovery_doc(req, path, "resources")
        resources[(group, version)] = {
            str(r["name"]) for r in doc["resources"] if "/" not in str(r["name"])
        }
    plans: dict[str, Plan] = {}
    for spec in kinds:
        group_versions = served.get(spec.group)
        if group_versions is None:
            plans[spec.key] = Plan(
                spec, unavailable=_not_installed(f"API group {spec.group} is not served")
            )
            continue
        usable = [
            v
            for v in group_versions
            if v in spec.versions and spec.plural in resources.get((spec.group, v), ())
        ]
        if usable:
            plans[spec.key] = Plan(spec, usable[0])
        else:
            plans[spec.key] = Plan(spec, unavailable=_not_installed_in(spec, group_versions))
    return plans


def _not_installed(message: str) -> CollectionStatus:
    return CollectionStatus(status=STATUS_NOT_INSTALLED, message=message)


def _not_installed_in(spec: KindSpec, versions: list[str]) -> CollectionStatus:
    names = f"{spec.plural}.{spec.group}" if spec.group else spec.plural
    if versions and not set(versions) & set(spec.versions):
        return CollectionStatus(
            status=STATUS_ERROR,
            message=(
                f"{spec.group} is served only as {', '.join(versions)}; "
                f"mesh-audit reads {', '.join(spec.versions)}"
            ),
        )
    return _not_installed(f"{names} is not served (CRD not installed)")


# Discovery paths every authenticated user may read (the `system:discovery` ClusterRole).
DISCOVERY_URLS = ("/version", "/api", "/api/*", "/apis", "/apis/*")


def rbac_resources() -> list[tuple[str, str]]:
    """The (apiGroup, resource) pairs the collector lists (verb `list` only), sorted.

    Secrets are listed as metadata only, which RBAC still authorizes as `list secrets`: a
    ClusterRole generated from this must say so, and nothing ever asks `get` for a Secret.
    """
    return sorted({(spec.group, spec.plural) for spec in KINDS})
