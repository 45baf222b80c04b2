"""The one risk order of every list a reviewer reads: worst first.

Findings, exposure (ingress) entries and egress hosts are ordered by **severity**, then
**reachability**, then **weight**, then a stable tie-break, so whatever is cut for space (the
terminal's first rows, a PDF table's cap, a map's riskiest N) is cut from the bottom.

- Reachability classes, most exposed first (`REACH_ORDER`): an internet entry point served in
  plaintext, the internet, allowed source ranges, every node's address, the private network,
  the cluster (auditor/istio/reachability.py's classes, the internet split by plaintext); what
  cannot be placed ranks after them.
- An exposure entry has no severity of its own: it takes the worst unwaived finding joined to
  it (entries without one rank after those with one), then its class, then its form
  (plaintext, unknown protocol, TLS, redirect only) and its number of backends.
- A finding's reachability is the most exposed class among the exposure entries joined to it,
  else the class its evidence records; its weight is the size of its weakness (the findings of
  one root cause, auditor/report/groups.py), then the number of entries joined.
- A finding and an exposure entry are joined exactly, never by likeness of names: the
  finding's resource is the entry's gateway (Gateway, Service, Ingress, Pod), narrowed by the
  server or listener index of the finding's path and by the port its evidence names; or the
  finding's resource is one of the routes bound to the entry.
- An egress host takes the worst unwaived finding whose evidence names that host; its class is
  how it leaves (`EGRESS_ORDER`): directly in plaintext, directly, only through an egress
  gateway or waypoint, not at all; its weight is the workloads that reach it directly.

Everything here reads the report.json mapping alone, so a saved report sorts the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.istio import reachability as R
from auditor.mesh.egress import PROXY_SENDS

INTERNET_PLAINTEXT = "internet-plaintext"
REACH_ORDER: tuple[str, ...] = (INTERNET_PLAINTEXT, *R.ORDER)
REACH_LABELS: dict[str, str] = {
    INTERNET_PLAINTEXT: "internet, plaintext",
    R.INTERNET: "internet",
    R.RESTRICTED: "allowed source ranges",
    R.NODE_LOCAL: "node addresses",
    R.INTERNAL: "private network",
    R.CLUSTER: "cluster only",
}
DIRECT_PLAINTEXT, DIRECT, GATEWAY, BLOCKED = "direct-plaintext", "direct", "gateway", "blocked"
EGRESS_ORDER: tuple[str, ...] = (DIRECT_PLAINTEXT, DIRECT, GATEWAY, BLOCKED)
SEVERITY_RANK: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
# ports whose bytes leave readable unless TLS is originated for them (auditor/mesh/egress.py
# calls HTTPS and TLS the application's own TLS)
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
ROUTED_PATHS = frozenset({"egress-gateway", "egress-waypoint"})

_INDEXED = re.compile(r"^spec\.(servers|listeners)\[(\d+)\]")
_UNPLACED = len(REACH_ORDER)
_NONE = -1  # no severity: ranks after every severity

Ref = tuple[str, str, str]
Item = Mapping[str, Any]


def _ref(obj: object) -> Ref:
    m: Mapping[str, Any] = obj if isinstance(obj, Mapping) else {}
    return (str(m.get("kind") or ""), str(m.get("namespace") or ""), str(m.get("name") or ""))


def _rank(severity: object) -> int:
    return SEVERITY_RANK.get(str(severity), _NONE)


def _label(rank: int) -> str | None:
    return next((s for s, r in SEVERITY_RANK.items() if r == rank), None)


def _waived(f: Item) -> bool:
    return isinstance(f.get("waiver"), Mapping)


def _entry_id(e: Item) -> tuple[Any, ...]:
    """What tells exposure entries apart (a copy of an entry is the same entry)."""
    return (_ref(e.get("gateway")), str(e.get("listener") or ""), str(e.get("host")), e.get("port"))


def exposure_class(entry: Item) -> str:
    """The entry's reachability class (one of REACH_ORDER), the internet split by plaintext."""
    reach = str(entry.get("reachability") or (R.INTERNET if entry.get("external") else R.CLUSTER))
    if reach == R.INTERNET and not entry.get("tls") and not entry.get("redirect_only"):
        return INTERNET_PLAINTEXT
    return reach if reach in REACH_ORDER else R.CLUSTER


def _form(entry: Item) -> int:
    """Plaintext 3, unknown protocol 2, TLS 1, redirect to HTTPS only 0."""
    if entry.get("redirect_only"):
        return 0
    if entry.get("tls"):
        return 1
    return 3 if str(entry.get("tls_mode") or "") == "NONE" else 2


def reaching_groups(entry: Item) -> list[tuple[Item, Item]]:
    """(port, group) for every direct group of an egress host that no NetworkPolicy blocks."""
    return [
        (p, g)
        for p in entry.get("ports") or ()
        for g in p.get("direct") or ()
        if g.get("verdict") != "blocked"
    ]


def _capped_open(port: Item) -> bool:
    """Direct groups beyond the model's cap may reach the port: the model lists unblocked groups
    first (auditor/mesh/egress.py), so they are blocked only when the last one listed is."""
    direct = list(port.get("direct") or ())
    return bool(port.get("direct_more")) and (not direct or direct[-1].get("verdict") != "blocked")


def egress_class(entry: Item) -> str:
    """How the host leaves the mesh (one of EGRESS_ORDER): directly on a port whose bytes
    leave readable (no TLS of the application's, none originated), directly, only through an
    egress gateway or waypoint, or not at all (every direct sender blocked)."""
    ports = list(entry.get("ports") or ())
    reaching = reaching_groups(entry)
    if reaching or any(_capped_open(p) for p in ports):
        open_ports = [p for p, _ in reaching] + [p for p in ports if _capped_open(p)]
        plain = any(
            str(p.get("protocol") or "").upper() not in TLS_PROTOCOLS
            and p.get("tls_origination") in (None, "", "none")
            for p in open_ports
        )
        return DIRECT_PLAINTEXT if plain else DIRECT
    if any(p.get("path") in ROUTED_PATHS for p in ports):
        return GATEWAY
    return BLOCKED


class RiskOrder:
    """The order of one report's lists; build once per report (the joins are indexed)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self._exposure: list[Item] = list(data.get("exposure") or ())
        findings: list[Item] = list(data.get("findings") or ())
        self._position = {_entry_id(e): i for i, e in enumerate(self._exposure)}
        by_gateway: dict[Ref, list[int]] = {}
        by_route: dict[Ref, list[int]] = {}
        for i, e in enumerate(self._exposure):
            by_gateway.setdefault(_ref(e.get("gateway")), []).append(i)
            for r in e.get("routes") or ():
                by_route.setdefault(_ref(r), []).append(i)
        self._group_size: dict[str, int] = {}
        self._joined: dict[str, tuple[int, ...]] = {}
        self._entry_worst: dict[int, int] = {}
        self._entry_findings: dict[int, list[Item]] = {}
        self._host_worst: dict[str, int] = {}
        for f in findings:
            fid = str(f.get("id"))
            group = f.get("group")
            if isinstance(group, Mapping):
                self._group_size[fid] = 1 + len(group.get("related") or ())
            joined = self._join(f, by_gateway, by_route)
            self._joined[fid] = joined
            if _waived(f):
                continue
            rank = _rank(f.get("severity"))
            for i in joined:
                self._entry_worst[i] = max(self._entry_worst.get(i, _NONE), rank)
                self._entry_findings.setdefault(i, []).append(f)
            host = (f.get("evidence") or {}).get("host")
            if isinstance(host, str):
                self._host_worst[host] = max(self._host_worst.get(host, _NONE), rank)

    def _join(
        self, f: Item, by_gateway: Mapping[Ref, list[int]], by_route: Mapping[Ref, list[int]]
    ) -> tuple[int, ...]:
        ref = _ref(f.get("resource"))
        found = list(by_gateway.get(ref, ()))
        if found:
            m = _INDEXED.match(str(f.get("path") or ""))
            if m:
                prefix = f"{m.group(1)}[{m.group(2)}]"
                found = [
                    i
                    for i in found
                    if str(self._exposure[i].get("listener") or "").startswith(prefix)
                ]
            port = (f.get("evidence") or {}).get("port")
            if isinstance(port, int) and not isinstance(port, bool):
                found = [i for i in found if self._exposure[i].get("port") == port]
        found.extend(i for i in by_route.get(ref, ()) if i not in found)
        return tuple(found)

    # ---- findings ---------------------------------------------------------------------------

    def finding_reach(self, f: Item) -> str | None:
        """The most exposed class of the entries joined to the finding, else its evidence's."""
        joined = self._joined.get(str(f.get("id")), ())
        if joined:
            return min((exposure_class(self._exposure[i]) for i in joined), key=REACH_ORDER.index)
        reach = (f.get("evidence") or {}).get("reachability")
        return reach if isinstance(reach, str) and reach in REACH_ORDER else None

    def finding_key(self, f: Item) -> tuple[Any, ...]:
        reach = self.finding_reach(f)
        fid = str(f.get("id"))
        return (
            -_rank(f.get("severity")),
            REACH_ORDER.index(reach) if reach is not None else _UNPLACED,
            -self._group_size.get(fid, 1),
            -len(self._joined.get(fid, ())),
            str(f.get("check")),
            _ref(f.get("resource")),
            str(f.get("path") or ""),
            fid,
        )

    def findings(self, items: Iterable[Item] | None = None) -> list[Item]:
        """The findings (default: the report's), worst first."""
        chosen = self.data.get("findings") or () if items is None else items
        return sorted(chosen, key=self.finding_key)

    # ---- exposure ---------------------------------------------------------------------------

    def _worst(self, e: Item) -> int:
        return self._entry_worst.get(self._position.get(_entry_id(e), -1), _NONE)

    def exposure_severity(self, e: Item) -> str | None:
        """The severity of the worst unwaived finding joined to the entry (None: none)."""
        return _label(self._worst(e))

    def entry_findings(self, e: Item) -> list[Item]:
        """The unwaived findings joined to the entry, worst first."""
        found = self._entry_findings.get(self._position.get(_entry_id(e), -1), [])
        return self.findings(found)

    def exposure_key(self, e: Item) -> tuple[Any, ...]:
        return (
            -self._worst(e),
            REACH_ORDER.index(exposure_class(e)),
            -_form(e),
            -len(e.get("backends") or ()),
            str(e.get("host")),
            int(e.get("port") or 0),
            _ref(e.get("gateway")),
            str(e.get("listener") or ""),
        )

    def exposure(self, items: Iterable[Item] | None = None) -> list[Item]:
        """The exposure entries (default: the report's), worst first."""
        return sorted(self._exposure if items is None else items, key=self.exposure_key)

    # ---- egress -----------------------------------------------------------------------------

    def egress_severity(self, e: Item) -> str | None:
        """The severity of the worst unwaived finding whose evidence names the host."""
        return _label(self._host_worst.get(str(e.get("host")), _NONE))

    def egress_key(self, e: Item) -> tuple[Any, ...]:
        workloads = sum(int(g.get("count") or 0) for _, g in reaching_groups(e))
        return (
            -self._host_worst.get(str(e.get("host")), _NONE),
            EGRESS_ORDER.index(egress_class(e)),
            -workloads,
            str(e.get("host")),
        )

    def egress(self, items: Iterable[Item] | None = None) -> list[Item]:
        """The egress hosts (default: the report's), worst first."""
        chosen = self.data.get("egress") or () if items is None else items
        return sorted(chosen, key=self.egress_key)


def sort_findings(data: Mapping[str, Any], items: Iterable[Item] | None = None) -> list[Item]:
    return RiskOrder(data).findings(items)


def sort_exposure(data: Mapping[str, Any], items: Iterable[Item] | None = None) -> list[Item]:
    return RiskOrder(data).exposure(items)


def sort_egress(data: Mapping[str, Any], items: Iterable[Item] | None = None) -> list[Item]:
    return RiskOrder(data).egress(items)


# ---- ways out of the mesh ------------------------------------------------------------------

# How a group of workloads reaches an external host without the egress gateway, most escaping
# first, read from the egress model's `why` (auditor/mesh/egress.py and egress_reach.py write
# it from a closed vocabulary; tests/report/test_risk.py holds every `why` of the demo and a
# generated mesh to a known way).
OUTSIDE_MESH, PROXY_UID, CAPTURE_EXCLUDED, NOT_CAPTURED = (
    "outside-mesh",
    "proxy-uid",
    "capture-excluded",
    "not-captured",
)
ALLOW_ANY, NOT_ROUTED, NO_EGRESS_GATEWAY, PROXY_DIRECT, OTHER_WAY = (
    "allow-any",
    "not-routed",
    "no-egress-gateway",
    "proxy-direct",
    "other",
)
WAYS: tuple[str, ...] = (
    OUTSIDE_MESH,
    PROXY_UID,
    CAPTURE_EXCLUDED,
    NOT_CAPTURED,
    ALLOW_ANY,
    NOT_ROUTED,
    NO_EGRESS_GATEWAY,
    PROXY_DIRECT,
    OTHER_WAY,
)
# ways out that the proxy never sees: fixed on the workload, not on the host's routing
WORKLOAD_WAYS = frozenset({OUTSIDE_MESH, PROXY_UID, CAPTURE_EXCLUDED, NOT_CAPTURED})
WAY_LABELS: dict[str, str] = {
    OUTSIDE_MESH: "not in the mesh",
    PROXY_UID: "runs as the proxy's UID 1337",
    CAPTURE_EXCLUDED: "capture excluded",
    NOT_CAPTURED: "outside includeOutboundIPRanges",
    ALLOW_ANY: "ALLOW_ANY passthrough",
    NOT_ROUTED: "port not routed through the egress gateway",
    NO_EGRESS_GATEWAY: "no egress gateway in the mesh",
    PROXY_DIRECT: "sent directly by the proxy",
    OTHER_WAY: "other way out",
}
_WAY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("outside the mesh", OUTSIDE_MESH),
    ("runs as the proxy's UID", PROXY_UID),
    ("capture excluded", CAPTURE_EXCLUDED),
    ("not captured", NOT_CAPTURED),
    ("unregistered host passed through", ALLOW_ANY),
)


def way_out(group: Item) -> str:
    """The way out (one of WAYS) of one `egress[].ports[].direct[]` group."""
    why = str(group.get("why") or "")
    for prefix, way in _WAY_PREFIXES:
        if why.startswith(prefix):
            return way
    if not why.startswith(PROXY_SENDS):
        return OTHER_WAY
    if why.endswith("(port not routed through an egress gateway)"):
        return NOT_ROUTED
    if why.endswith("(the mesh has no egress gateway)"):
        return NO_EGRESS_GATEWAY
    return PROXY_DIRECT
