"""istiod's own listeners, read from its Deployment's discovery container (plain data).

Ground truth, istio/istio@86c9f01 (2026-08-22):
- pilot/cmd/pilot-discovery/app/cmd.go: `--httpAddr` defaults to ":8080" (the debug interface
  and /ready), `--grpcAddr` to ":15010" (xDS without TLS or authentication), `--secureGRPCAddr`
  to ":15012".
- pilot/pkg/bootstrap/server.go: the plaintext gRPC server is started only when
  `GRPCAddr != ""`.
- pilot/pkg/features/pilot.go: `ENABLE_DEBUG_ON_HTTP` defaults to true; pilot/pkg/xds/debug.go
  adds the /debug handlers to the HTTP mux only when it is true (parsed by strconv.ParseBool;
  an unparsable value keeps the default).
- manifests/charts/istio-control/istio-discovery/templates/service.yaml publishes 15010 as
  `grpc-xds # plaintext`; the chart never passes --grpcAddr nor sets ENABLE_DEBUG_ON_HTTP.
The security best-practices page (#control-plane) says to close both: ENABLE_DEBUG_ON_HTTP=false,
and `--grpcAddr=""`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DISCOVERY = "discovery"
DEBUG_ENV = "ENABLE_DEBUG_ON_HTTP"
GRPC_FLAG = "grpcAddr"
HTTP_FLAG = "httpAddr"
DEFAULT_GRPC_ADDR = ":15010"
DEFAULT_HTTP_ADDR = ":8080"
# strconv.ParseBool's spellings
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def discovery_container(pod_spec: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]] | None:
    """(index, container) of the `discovery` container, or None."""
    for i, c in enumerate(pod_spec.get("containers") or ()):
        if isinstance(c, Mapping) and c.get("name") == DISCOVERY:
            return i, c
    return None


def flag(args: Sequence[Any], name: str) -> tuple[int, str] | None:
    """The last value given to `--name` (pflag: `--name=v`, `--name v`, single dash too) and the
    index of the argument that set it; None when the flag is absent (its default applies)."""
    found: tuple[int, str] | None = None
    items = [str(a) for a in args]
    for i, arg in enumerate(items):
        bare = arg.lstrip("-")
        if not arg.startswith("-") or not (bare == name or bare.startswith(name + "=")):
            continue
        if "=" in bare:
            found = (i, bare.split("=", 1)[1])
        elif i + 1 < len(items):
            found = (i, items[i + 1])
    return found


def _unquoted(value: str) -> str:
    # Kubernetes passes args without a shell: the page's `--grpcAddr=""` arrives with its quotes.
    # istiod would then fail to listen on `""`; the user's intent is the empty address, and the
    # port is not served either way.
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _loopback(addr: str) -> bool:
    host = addr.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True, slots=True)
class Listener:
    """One istiod listener as configured: `serving` False when it is off or bound to loopback."""

    serving: bool
    address: str  # the address in force (the default when not set)
    path: str  # where it was set, relative to the container ("args[3]", "env[2]"), or ""
    how: str  # "default", "set", "unknown"


def plaintext_xds(container: Mapping[str, Any]) -> Listener:
    """The plaintext xDS listener (`--grpcAddr`, default :15010)."""
    args = list(container.get("command") or ()) + list(container.get("args") or ())
    offset = len(container.get("command") or ())
    found = flag(args, GRPC_FLAG)
    if found is None:
        return Listener(serving=True, address=DEFAULT_GRPC_ADDR, path="", how="default")
    i, value = found
    value = _unquoted(value)
    where = f"command[{i}]" if i < offset else f"args[{i - offset}]"
    serving = bool(value) and not _loopback(value)
    return Listener(serving=serving, address=value, path=where, how="set")


def debug_on_http(container: Mapping[str, Any]) -> Listener:
    """The debug interface on the HTTP listener: ENABLE_DEBUG_ON_HTTP (default true) and
    `--httpAddr` (default :8080). `how` is "unknown" when the variable comes from a reference
    (valueFrom) the audit cannot resolve."""
    args = list(container.get("args") or ())
    found = flag(args, HTTP_FLAG)
    address = _unquoted(found[1]) if found else DEFAULT_HTTP_ADDR
    if not address or _loopback(address):
        path = f"args[{found[0]}]" if found else ""
        return Listener(serving=False, address=address, path=path, how="set")
    last: tuple[int, Mapping[str, Any]] | None = None
    for i, env in enumerate(container.get("env") or ()):
        if isinstance(env, Mapping) and env.get("name") == DEBUG_ENV:
            last = (i, env)  # the last entry of a name wins in the container's environment
    if last is not None:
        i, env = last
        if "valueFrom" in env and "value" not in env:
            return Listener(serving=True, address=address, path=f"env[{i}]", how="unknown")
        value = str(env.get("value") if env.get("value") is not None else "")
        # true, or unparsable: env.Register keeps the default (true)
        serving = value not in _FALSE
        return Listener(serving=serving, address=address, path=f"env[{i}]", how="set")
    return Listener(serving=True, address=address, path="", how="default")


def port_number(addr: str) -> int | None:
    tail = addr.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
