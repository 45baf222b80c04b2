"""Route match conditions in words, for the exposure map: which requests a rule takes.

Istio VirtualService `match` entries are OR-ed and the conditions inside one are AND-ed; a
StringMatch is `{exact|prefix|regex: value}`. Gateway API HTTPRoute `matches` work the same way;
a match without `path` means `PathPrefix /`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ANY = "any request"


def _string_match(value: Any) -> str:
    if isinstance(value, Mapping):
        for kind in ("exact", "prefix", "regex"):
            if isinstance(value.get(kind), str):
                return f"{kind} {value[kind]}"
    return "present"


def istio_http_match(match: Mapping[str, Any]) -> str:
    """One Istio HTTPMatchRequest: `uri prefix /api, method exact GET`."""
    parts: list[str] = []
    for field in ("uri", "authority", "method", "scheme"):
        if match.get(field):
            parts.append(f"{field} {_string_match(match[field])}")
    for name, value in sorted((match.get("headers") or {}).items()):
        parts.append(f"header {name} {_string_match(value)}")
    if isinstance(match.get("port"), int):
        parts.append(f"port {match['port']}")
    for sni in match.get("sniHosts") or ():
        parts.append(f"SNI {sni}")
    return ", ".join(parts) or ANY


def either(descriptions: Iterable[str]) -> str:
    """OR of several matches; any one matching everything makes the rule match everything."""
    items = list(dict.fromkeys(descriptions))
    if not items or ANY in items:
        return ANY
    return " OR ".join(items)


def httproute_match(match: Mapping[str, Any]) -> str:
    """One Gateway API HTTPRouteMatch: `path PathPrefix /api, method GET`."""
    path = match.get("path") or {}
    kind = path.get("type") or "PathPrefix"
    value = path.get("value") or "/"
    parts = [] if (kind, value) == ("PathPrefix", "/") else [f"path {kind} {value}"]
    if match.get("method"):
        parts.append(f"method {match['method']}")
    for header in match.get("headers") or ():
        parts.append(
            f"header {header.get('name')} {header.get('type') or 'Exact'} {header.get('value')}"
        )
    return ", ".join(parts) or ANY
