"""The terminal summary's traffic blocks: entry points (worst first) and egress by way out.

Egress is told by *way out*, not by host: the hosts of a mesh share a few ways around the
egress gateway (workloads outside the mesh, capture exclusions, ports not routed through it,
ALLOW_ANY passthrough, ...), so one line per way names its workloads, hosts and ports, where a
line per host repeats the same workloads on every host. Each way takes at most two lines on a
terminal: names are cut from the bottom of the risk order and counted. report.json and the HTML
report hold every group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.istio import reachability as R
from auditor.report import risk
from auditor.report.terminal_text import joined, printable, wrap

TOP_ENTRIES = 10
WAY_LINES = 2  # a way out's line may wrap once on a terminal; beyond, names are counted
# ways whose annotation value decides which hosts they reach: one line per value
DETAILED = frozenset({risk.CAPTURE_EXCLUDED, risk.NOT_CAPTURED})


def _gateway_text(gw: Mapping[str, Any]) -> str:
    ns = gw.get("namespace")
    name = f"{ns}/{gw.get('name')}" if ns else str(gw.get("name"))
    return printable(f"{gw.get('kind')} {name}")


def _form(e: Mapping[str, Any]) -> str:
    if e.get("tls"):
        return "[TLS " + printable(e.get("tls_mode")) + "]"
    return "[redirect to HTTPS]" if e.get("redirect_only") else "[PLAINTEXT]"


def exposure_lines(order: risk.RiskOrder, width: int | None) -> list[str]:
    """Every entry point worst first, the first TOP_ENTRIES of them, then a count of the rest."""
    entries = order.exposure()
    if not entries:
        return []
    outside = sum(1 for e in entries if e.get("external"))
    lines = [
        "",
        *wrap(
            f"Entry points, worst first: {len(entries)} host/port "
            + ("entry, " if len(entries) == 1 else "entries, ")
            + f"{outside} reachable "
            "from outside the cluster (first column: the worst finding on the entry)",
            width,
        ),
    ]
    for e in entries[:TOP_ENTRIES]:
        sev = order.exposure_severity(e)
        cls = risk.exposure_class(e)
        reach = risk.REACH_LABELS[R.INTERNET if cls == risk.INTERNET_PLAINTEXT else cls]
        around = ", around the Istio gateway" if e.get("via_istio_gateway") is False else ""
        backends = ", ".join(printable(b) for b in e.get("backends") or ()) or "no backend"
        text = (
            f"{printable(e['host'])}:{e['port']} {printable(e['protocol'])} {_form(e)} "
            f"({reach}{around}) via {_gateway_text(e['gateway'])} -> {backends}"
        )
        lines.extend(wrap(text, width, f"  {(sev or '-'):7} ", " " * 12))
    if len(entries) > TOP_ENTRIES:
        lines.extend(
            wrap(
                f"and {len(entries) - TOP_ENTRIES} more entry points, lower in the order (the "
                "report lists every entry)",
                width,
                "  ",
            )
        )
    return lines


# ---- egress -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Way:
    way: str
    workloads: dict[str, None] = field(default_factory=dict)  # ns/name, in order seen
    counted: dict[tuple[Any, ...], int] = field(default_factory=dict)  # group -> workloads
    targets: dict[str, list[int]] = field(default_factory=dict)  # host -> ports
    details: dict[str, None] = field(default_factory=dict)
    policies: dict[str, None] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.counted.values())


def _names(group: Mapping[str, Any]) -> list[str]:
    ns = str(group.get("namespace") or "")
    return [f"{ns}/{str(w).partition(' ')[2] or w}" for w in group.get("workloads") or ()]


def _detail(why: str) -> str:
    """The parenthesised specifics of a `why` (the annotation and its value), if any."""
    start = why.find("(")
    return why[start:] if start >= 0 and why.endswith(")") else ""


def _group_key(group: Mapping[str, Any]) -> tuple[Any, ...]:
    """One group of workloads, whichever host and port it reaches (to count it once)."""
    return (group.get("namespace"), tuple(group.get("workloads") or ()), group.get("count"))


def ways_out(entries: Sequence[Mapping[str, Any]]) -> list[_Way]:
    """The unblocked ways around the egress gateway, in risk.WAYS order (capture exclusions
    apart per annotation value: each reaches its own hosts), over hosts in the order given
    (worst first)."""
    ways: dict[tuple[str, str], _Way] = {}
    for e in entries:
        for port in e.get("ports") or ():
            for g in port.get("direct") or ():
                if g.get("verdict") == "blocked":
                    continue
                kind = risk.way_out(g)
                detail = _detail(str(g.get("why") or "")) if kind in DETAILED else ""
                way = ways.setdefault((kind, detail), _Way(kind))
                if detail:
                    way.details[detail] = None
                names = _names(g)
                way.workloads.update(dict.fromkeys(names))
                way.counted[_group_key(g)] = int(g.get("count") or len(names))
                ports = way.targets.setdefault(str(e.get("host")), [])
                if port.get("number") not in ports:
                    ports.append(int(port.get("number") or 0))
                if g.get("verdict") in ("allowed", "partial"):
                    way.policies.update(dict.fromkeys(str(p) for p in g.get("policies") or ()))
    return [ways[k] for k in sorted(ways, key=lambda k: (risk.WAYS.index(k[0]), k[1]))]


def _who(way: _Way, name_limit: int | None) -> str:
    """`ns/a, ns/b and 3 more`: the names shown, and how many workloads are not (the egress
    model names a few workloads per group and counts the rest)."""
    names = [printable(n) for n in way.workloads]
    shown = names if name_limit is None else names[:name_limit]
    rest = max(way.count, len(names)) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")


def _where(way: _Way, all_targets: int, host_limit: int | None) -> str:
    if sum(len(p) for p in way.targets.values()) == all_targets and len(way.targets) > 1:
        return f"all {len(way.targets)} hosts"
    return joined(
        (f"{printable(h)}:{','.join(map(str, p))}" for h, p in way.targets.items()), host_limit
    )


def _label(way: _Way) -> str:
    if way.details:  # the annotation and its value say it better than a label
        label = "; ".join(printable(d.strip("()")) for d in way.details)
    else:
        label = risk.WAY_LABELS[way.way]
    if way.policies:
        label += f" (NetworkPolicy allows: {', '.join(printable(p) for p in way.policies)})"
    return label


def _line_text(
    ways: Sequence[_Way],
    all_targets: int,
    host_limit: int | None,
    name_limit: int | None,
    same_as: frozenset[str] | None,
) -> str:
    where = _where(ways[0], all_targets, host_limit)
    if len(ways) == 1:
        way = ways[0]
        who = (
            f"the same {len(way.workloads)} workloads"
            if same_as is not None
            and frozenset(way.workloads) == same_as
            and len(way.workloads) > 1
            else _who(way, name_limit)
        )
        return f"{_label(way)}: {who} -> {where}"
    # ways out that reach the same hosts: one line naming each way's workloads
    return f"{where}: " + "; ".join(f"{_who(w, name_limit)} ({_label(w)})" for w in ways)


def _fitted(
    ways: Sequence[_Way], all_targets: int, width: int | None, same_as: frozenset[str] | None
) -> list[str]:
    """One line of ways out: whole when it fits in WAY_LINES per way (or there is no width);
    else hosts, then workloads, cut from the end (the least risky) and counted."""
    budget = WAY_LINES * len(ways)
    host_limit, name_limit = len(ways[0].targets), max(len(w.workloads) for w in ways)

    def lines() -> list[str]:
        return wrap(
            _line_text(ways, all_targets, host_limit, name_limit, same_as), width, "  ", "      "
        )

    # cut first what the fix does not name: a workload outside the proxy is fixed on the
    # workload, a way the proxy itself opens (ALLOW_ANY, a port not routed) on the hosts
    hosts_first = any(w.way in risk.WORKLOAD_WAYS for w in ways)
    out = lines()
    while width is not None and len(out) > budget and (host_limit > 1 or name_limit > 1):
        if (hosts_first and host_limit > 1) or name_limit <= 1:
            host_limit -= 1
        else:
            name_limit -= 1
        out = lines()
    return out


def _merged(ways: Sequence[_Way]) -> list[list[_Way]]:
    """Ways out that reach exactly the same hosts and ports, together (in WAYS order)."""
    out: dict[tuple[Any, ...], list[_Way]] = {}
    for way in ways:
        key = tuple((h, tuple(p)) for h, p in sorted(way.targets.items()))
        out.setdefault(key, []).append(way)
    return list(out.values())


def _blocked(entries: Sequence[Mapping[str, Any]]) -> tuple[_Way, dict[str, None], int, int]:
    """The direct senders NetworkPolicy blocks (as one way), the blocking policies, and the
    groups past the egress model's cap: blocked ones, and ones that may not be."""
    blocked = _Way("blocked")
    policies: dict[str, None] = {}
    more_blocked = more_open = 0
    for e in entries:
        for port in e.get("ports") or ():
            direct = list(port.get("direct") or ())
            for g in direct:
                if g.get("verdict") == "blocked":
                    names = _names(g)
                    blocked.workloads.update(dict.fromkeys(names))
                    blocked.counted[_group_key(g)] = int(g.get("count") or len(names))
                    policies.update(dict.fromkeys(str(p) for p in g.get("policies") or ()))
            more = int(port.get("direct_more") or 0)
            if more and direct and direct[-1].get("verdict") == "blocked":
                more_blocked += more  # listed unblocked first: the rest are blocked too
            else:
                more_open += more
    return blocked, policies, more_blocked, more_open


def _only_path(entry: Mapping[str, Any], path: str) -> bool:
    ports = list(entry.get("ports") or ())
    return bool(ports) and all(p.get("path") == path for p in ports)


def egress_lines(order: risk.RiskOrder, width: int | None) -> list[str]:
    """Egress hosts by way out: the ways around the egress gateway that no NetworkPolicy
    blocks, each naming workloads and hosts:ports, then what NetworkPolicy blocks."""
    entries = order.egress()
    if not entries:
        return []
    targets = sum(len(e.get("ports") or ()) for e in entries)
    routed = sum(
        1
        for e in entries
        if e.get("via_egress_gateway")
        or any(p.get("path") == "egress-waypoint" for p in e.get("ports") or ())
    )
    ways = ways_out(entries)
    blocked, policies, more_blocked, more_open = _blocked(entries)
    # routes to nothing (the proxy answers 503) and destinations in the calling pod itself
    # (auditor/mesh/egress.py): not a way out for what the proxy captures
    nowhere = [
        f"{n} {what}"
        for path, what in (("black-hole", "a route to nothing"), ("in-pod", "in the calling pod"))
        if (n := sum(1 for e in entries if _only_path(e, path)))
    ]
    around = "ways around it:" if ways or more_open else "no way around it is left open"
    lines = [
        "",
        *wrap(
            f"Egress: {len(entries)} external hosts, {routed} routed through an egress gateway"
            + "".join(f", {n}" for n in nowhere)
            + f"; {around}",
            width,
        ),
    ]
    same_as: frozenset[str] | None = None
    for group in _merged(ways):
        lines.extend(_fitted(group, targets, width, same_as))
        same_as = frozenset(group[-1].workloads)
    if more_open:
        lines.extend(
            wrap(
                f"and {more_open} more groups of workloads the egress model counts without "
                "naming (report egress[].ports[].direct_more)",
                width,
                "  ",
                "      ",
            )
        )
    if blocked.workloads:
        groups = f" and {more_blocked} more groups" if more_blocked else ""
        text = (
            f"blocked by NetworkPolicy {joined(printable(p) for p in policies)}: "
            f"{_who(blocked, None)}{groups}"
        )
        lines.extend(_fitted_text(text, width, blocked, policies, groups))
    return lines


def _fitted_text(
    text: str, width: int | None, blocked: _Way, policies: Mapping[str, None], groups: str
) -> list[str]:
    """The blocked line in WAY_LINES lines: policies and workloads cut from the end, counted."""
    lines = wrap(text, width, "  ", "      ")
    policy_limit, name_limit = len(policies), len(blocked.workloads)
    while width is not None and len(lines) > WAY_LINES and (policy_limit > 1 or name_limit > 1):
        if name_limit > 1:
            name_limit -= 1
        else:
            policy_limit -= 1
        shown = joined((printable(p) for p in policies), policy_limit)
        lines = wrap(
            f"blocked by NetworkPolicy {shown}: {_who(blocked, name_limit)}{groups}",
            width,
            "  ",
            "      ",
        )
    return lines
