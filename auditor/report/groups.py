"""One weakness, one entry: findings of different checks that share a root cause are grouped.

Every finding keeps its own stable id; report.json adds `group`: `{"primary": <id>, "related":
[<ids>]}`, the same object on every member (a finding alone is its own primary with no related
ids). The primary is the most severe member (then by check id, then id). Counts and the score
count groups.

Root causes grouped:
- a plaintext or wildcard listener on an Istio Gateway port: TLS001 and GW004 on that Gateway
  and port, and VS004 for the catch-all VirtualServices bound to that Gateway (joined to the
  Gateway's wildcard listener, else its plaintext one, lowest port first);
- an egress gateway workload without an AuthorizationPolicy: AUTHZ001 per Gateway of the same
  workload(s).

Every member carries the whole group, so a group is kept small: a root cause that every
workload shares is one mesh-level finding of its check, not a group of one per workload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

Key = tuple[Any, ...]


def _gateway_of(finding: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of the Istio Gateway a VS004 finding names in its evidence."""
    ref = (finding.get("evidence") or {}).get("gateway")
    if not isinstance(ref, str) or "/" not in ref:
        return None
    ns, _, name = ref.partition("/")
    return ns, name


def _listener_key(finding: Mapping[str, Any]) -> Key | None:
    res = finding.get("resource") or {}
    if finding.get("check") in ("TLS001", "GW004") and res.get("kind") == "Gateway":
        port = (finding.get("evidence") or {}).get("port")
        return ("listener", res.get("namespace") or "", res.get("name"), port)
    return None


def _fid(f: Mapping[str, Any], i: int) -> str:
    """The finding's id; a position stands in for findings built without one (tests, tools)."""
    return str(f.get("id") or f"#{i}")


def group_keys(findings: Sequence[Mapping[str, Any]]) -> dict[str, Key]:
    """Finding id -> the key of the root cause it belongs to (absent: a group of its own)."""
    keys: dict[str, Key] = {}
    listeners: dict[tuple[str, str], dict[Any, set[str]]] = {}
    for i, f in enumerate(findings):
        key = _listener_key(f)
        if key is not None:
            keys[_fid(f, i)] = key
            listeners.setdefault((key[1], key[2]), {}).setdefault(key[3], set()).add(f["check"])
        elif f.get("check") == "AUTHZ001":
            workloads = (f.get("evidence") or {}).get("workloads")
            if isinstance(workloads, list) and workloads:
                keys[_fid(f, i)] = ("egress-workload", tuple(sorted(str(w) for w in workloads)))
    for i, f in enumerate(findings):
        if f.get("check") != "VS004":
            continue
        gw = _gateway_of(f)
        if gw is None or not listeners.get(gw):
            continue
        ports = listeners[gw]
        ordered = sorted(ports, key=_port_order)
        chosen = next((p for p in ordered if "GW004" in ports[p]), ordered[0])
        keys[_fid(f, i)] = ("listener", gw[0], gw[1], chosen)
    return keys


def _port_order(port: Any) -> tuple[bool, int]:
    return (not isinstance(port, int), port if isinstance(port, int) else 0)


def _primary_order(f: Mapping[str, Any]) -> tuple[int, str, str]:
    return (-SEVERITY_RANK.get(str(f.get("severity")), 0), str(f.get("check")), str(f.get("id")))


def groups(findings: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The findings partitioned by root cause, each group primary first, in a stable order."""
    keys = group_keys(findings)
    by_key: dict[Key, list[Mapping[str, Any]]] = {}
    out: list[list[Mapping[str, Any]]] = []
    for i, f in enumerate(findings):
        key = keys.get(_fid(f, i))
        if key is None:
            out.append([f])
        else:
            if key not in by_key:
                by_key[key] = []
                out.append(by_key[key])
            by_key[key].append(f)
    return [sorted(g, key=_primary_order) for g in out]


def with_groups(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The findings as new mappings, each with its `group`."""
    group_of: dict[str, dict[str, Any]] = {}
    for g in groups(findings):
        primary = g[0]["id"]
        obj = {"primary": primary, "related": sorted(f["id"] for f in g[1:])}
        for f in g:
            group_of[f["id"]] = obj
    return [{**f, "group": dict(group_of[f["id"]])} for f in findings]


def active_groups(findings: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Groups of the findings that are not waived (a group counts while any member is not)."""
    active = [f for f in findings if not isinstance(f.get("waiver"), Mapping)]
    return groups(active)
