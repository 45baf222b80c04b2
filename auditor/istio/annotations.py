"""The one parsing layer for values a tenant writes into annotations and labels.

Every check that reads a port list, an IP range list, a boolean, a duration or a JSON document
out of an annotation or label calls this module. Each parser returns a `Parsed`: the value it
could read (never raising), and a problem phrase when the text was not valid. A caller that knows
which object and field the value came from turns a problem into a `ValueWarning` (`warning()`),
which the report lists in `warnings[]`. A bad value degrades the one answer that needed it and
never aborts a check or a scan.

Grammar follows Istio's injector (istio/istio pkg/kube/inject/validate.go):
- ports: comma-separated, each `strconv.ParseUint(strings.TrimSpace(p), 10, 16)`, so ASCII
  digits only (a superscript "²" or a fullwidth digit is not a port), 0-65535;
- CIDR lists: comma-separated, each `netip.ParsePrefix` (an address needs its `/bits`);
  `includeOutboundIPRanges` also takes `*`;
- booleans: `strconv.ParseBool` (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False);
- durations: Go `time.ParseDuration` (`1h30m`, `250ms`, `10s`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

EXCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/excludeOutboundPorts"
EXCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/excludeInboundPorts"
INCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/includeInboundPorts"
INCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/includeOutboundPorts"
EXCLUDE_OUTBOUND_IPS = "traffic.sidecar.istio.io/excludeOutboundIPRanges"
INCLUDE_OUTBOUND_IPS = "traffic.sidecar.istio.io/includeOutboundIPRanges"
SIDECAR_STATUS = "sidecar.istio.io/status"
PROXY_CONFIG = "proxy.istio.io/config"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_SHOWN = 40  # characters of a bad value quoted in a warning
ASCII_DIGITS = re.compile(r"[0-9]+")
BOOL_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
BOOL_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """What could be read (`value`), and why the text was not entirely valid (`problem`)."""

    value: T
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueWarning:
    """A tenant-written value that could not be read, named by object and field."""

    kind: str
    namespace: str
    name: str
    field: str  # e.g. spec.template.metadata.annotations[traffic.sidecar.istio.io/...]
    problem: str

    def text(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}: {self.field}: {self.problem}"


def warning(
    parsed: Parsed[Any], *, kind: str, namespace: str, name: str, field: str
) -> ValueWarning | None:
    if parsed.ok:
        return None
    return ValueWarning(
        kind=kind, namespace=namespace, name=name, field=field, problem=parsed.problem
    )


def shown(value: object) -> str:
    """A bad value as quoted in a warning: repr (so control characters are escaped), cut short."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _not_text(value: object) -> str:
    return f"expected a string, got {type(value).__name__} {shown(value)}"


def port(text: str) -> int | None:
    """One port as Istio's `parsePort` reads it, or None."""
    text = text.strip()
    if not ASCII_DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > 5:  # never a port; and int() refuses more than 4,300 digits
        return None
    number = int(digits)
    return number if number <= 65535 else None


def port_list(value: object, *, star: bool = False) -> Parsed[frozenset[int]]:
    """A comma-separated port list; invalid entries are left out and named in `problem`.

    With `star`, `*` (all ports, as `includeInboundPorts` allows) is an empty set and no problem.
    """
    if value is None:
        return Parsed(frozenset())
    text = _text(value)
    if text is None:
        return Parsed(frozenset(), _not_text(value))
    if not text.strip() or (star and text.strip() == "*"):
        return Parsed(frozenset())
    ports: set[int] = set()
    bad: list[str] = []
    for part in text.split(","):
        number = port(part)
        if number is None:
            bad.append(part)
        else:
            ports.add(number)
    problem = ""
    if bad:
        problem = f"not a port (0-65535, digits 0-9): {', '.join(shown(b) for b in bad[:3])}"
        if len(bad) > 3:
            problem += f" and {len(bad) - 3} more"
    return Parsed(frozenset(ports), problem)


def cidr(text: str) -> Network | None:
    """One prefix as Go's `netip.ParsePrefix` reads it (address/bits, no spaces), or None."""
    if "/" not in text or text != text.strip():
        return None
    bits = text.partition("/")[2]
    if not ASCII_DIGITS.fullmatch(bits) or (len(bits) > 1 and bits.startswith("0")):
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def cidr_list(value: object, *, star: bool = False) -> Parsed[tuple[Network, ...] | None]:
    """A comma-separated CIDR list. `None` as value means "every address" (`*` with `star`).

    Istio's injector trims nothing inside the list; mesh-audit is lenient with spaces around
    commas (the value is still read) but names entries that are not prefixes.
    """
    if value is None:
        return Parsed(())
    text = _text(value)
    if text is None:
        return Parsed((), _not_text(value))
    if star and text.strip() == "*":
        return Parsed(None)
    if not text.strip():
        return Parsed(())
    nets: list[Network] = []
    bad: list[str] = []
    for part in text.split(","):
        net = cidr(part.strip())
        if net is None:
            bad.append(part)
        else:
            nets.append(net)
    problem = ""
    if bad:
        problem = f"not an IP prefix (address/bits): {', '.join(shown(b) for b in bad[:3])}"
        if len(bad) > 3:
            problem += f" and {len(bad) - 3} more"
    return Parsed(tuple(nets), problem)


def covers_everything(nets: tuple[Network, ...] | None) -> bool:
    """True for `*` (None) or a list holding a /0."""
    return nets is None or any(n.prefixlen == 0 for n in nets)


def boolean(value: object) -> Parsed[bool | None]:
    """Go's `strconv.ParseBool`; None (with a problem) for anything else."""
    if value is None:
        return Parsed(None)
    if isinstance(value, bool):  # a YAML file may hold an unquoted true
        return Parsed(value)
    text = _text(value)
    if text is None:
        return Parsed(None, _not_text(value))
    if text in BOOL_TRUE:
        return Parsed(True)
    if text in BOOL_FALSE:
        return Parsed(False)
    return Parsed(None, f"not a boolean (true or false): {shown(value)}")


def duration(value: object) -> Parsed[float | None]:
    """Go's `time.ParseDuration`, in seconds; None (with a problem) when not a duration."""
    if value is None:
        return Parsed(None)
    text = _text(value)
    if text is None:
        return Parsed(None, _not_text(value))
    body = text[1:] if text[:1] in "+-" else text
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return Parsed(0.0)
    parts = DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        return Parsed(None, f"not a duration (e.g. 10s, 1m30s, 250ms): {shown(value)}")
    return Parsed(sign * sum(float(n) * DURATION_UNITS[u] for n, u in parts))


def json_object(value: object) -> Parsed[dict[str, Any] | None]:
    """A JSON object held in an annotation (e.g. `sidecar.istio.io/status`)."""
    if value is None:
        return Parsed(None)
    text = _text(value)
    if text is None:
        return Parsed(None, _not_text(value))
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return Parsed(None, f"not valid JSON: {shown(value)}")
    if not isinstance(doc, dict):
        return Parsed(None, f"not a JSON object: {shown(value)}")
    return Parsed(doc)


def text_value(value: object) -> Parsed[str]:
    """A plain string annotation; anything else (a number in a YAML file) is a problem."""
    if value is None:
        return Parsed("")
    text = _text(value)
    if text is None:
        return Parsed("", _not_text(value))
    return Parsed(text)


# What each pod annotation the audit reads holds, for `pod_annotation_warnings`.
POD_ANNOTATIONS: dict[str, Any] = {
    EXCLUDE_OUTBOUND_PORTS: port_list,
    EXCLUDE_INBOUND_PORTS: port_list,
    INCLUDE_INBOUND_PORTS: lambda v: port_list(v, star=True),
    INCLUDE_OUTBOUND_PORTS: port_list,
    EXCLUDE_OUTBOUND_IPS: cidr_list,
    INCLUDE_OUTBOUND_IPS: lambda v: cidr_list(v, star=True),
    SIDECAR_STATUS: json_object,
}


def pod_annotation_warnings(
    annotations: Mapping[str, Any] | object, *, kind: str, namespace: str, name: str, path: str
) -> list[ValueWarning]:
    """Every unreadable value among the pod annotations the audit reads.

    `path` is where the annotations live (`metadata.annotations` for a Pod,
    `spec.template.metadata.annotations` for a pod template)."""
    if not isinstance(annotations, Mapping):
        if annotations is None:
            return []
        return [
            ValueWarning(
                kind=kind,
                namespace=namespace,
                name=name,
                field=path,
                problem=f"expected a mapping, got {type(annotations).__name__}",
            )
        ]
    out: list[ValueWarning] = []
    for key, parse in POD_ANNOTATIONS.items():
        if key not in annotations:
            continue
        found = warning(
            parse(annotations[key]),
            kind=kind,
            namespace=namespace,
            name=name,
            field=f"{path}[{key}]",
        )
        if found is not None:
            out.append(found)
    return out
