"""The shape language: specs for the fields mesh-audit reads and `validate` to say what is wrong
(auditor/input/shape_code.py compiles specs into one predicate per kind for the common
no-problem case; auditor/input/shapes.py applies them).

The API server validates objects against their schema before it stores them, but files hold
whatever someone typed: `hosts: foo` instead of a list, a port number of "eighty". An object whose
fields have the wrong type could never exist in a cluster, so the loader leaves it out of the audit
and reports why in `warnings[]`. A `null` where a list or mapping belongs is read as absent (as the
API server does) and also reported.

A null *inside* a list or as a mapping's value (`servers: [null]`, `labels: {app: null}`) has no
"absent" reading, so it is fatal like a wrong type. Integers are bounded where they are used:
`PORT` is 1-65535 (what the API server and Istio's validation accept).

Specs are small: `str`, `int`, `bool`, `INT_OR_STR`, `PORT`, `ANY`, a one-element list `[spec]`
for a list, a dict for an object (unknown keys are ignored), `MapOf(spec)` for a string-keyed
mapping, and `Nullable(spec)` for a list or mapping the API server writes as `null` when empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MapOf:
    value: Any


@dataclass(frozen=True, slots=True)
class Nullable:
    """A list or mapping the API server itself writes as `null` when empty (Go fields without
    `omitempty`, e.g. EndpointSlice `endpoints` and `ports`): null is absent, with no warning."""

    value: Any


class _IntOrStr:
    pass


class _Any:
    pass


class _Port:
    pass


INT_OR_STR = _IntOrStr()
PORT = _Port()
PORT_MIN, PORT_MAX = 1, 65535
ANY = _Any()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class ShapeProblem:
    path: str
    message: str
    fatal: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate(value: Any, spec: Any, path: str, out: list[ShapeProblem]) -> None:
    if isinstance(spec, Nullable):
        if value is not None:
            validate(value, spec.value, path, out)
        return
    if value is None:
        if isinstance(spec, list | dict | MapOf):
            out.append(ShapeProblem(path, "is null; read as absent", fatal=False))
        return
    if spec is ANY:
        return
    if spec is PORT:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = f" {value!r}" if isinstance(value, str) else ""
            out.append(
                ShapeProblem(path, f"expected an integer, got {_type_name(value)}{shown}", True)
            )
        elif not PORT_MIN <= value <= PORT_MAX:
            out.append(ShapeProblem(path, f"port {value} is outside {PORT_MIN}-{PORT_MAX}", True))
        return
    if spec is str:
        if not isinstance(value, str):
            out.append(ShapeProblem(path, f"expected a string, got {_type_name(value)}", True))
        return
    if spec is int:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = f" {value!r}" if isinstance(value, str) else ""
            out.append(
                ShapeProblem(path, f"expected an integer, got {_type_name(value)}{shown}", True)
            )
        return
    if spec is bool:
        if not isinstance(value, bool):
            out.append(ShapeProblem(path, f"expected true or false, got {_type_name(value)}", True))
        return
    if spec is INT_OR_STR:
        if isinstance(value, bool) or not isinstance(value, int | str):
            out.append(
                ShapeProblem(path, f"expected an integer or string, got {_type_name(value)}", True)
            )
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            out.append(ShapeProblem(path, f"expected a list, got {_type_name(value)}", True))
            return
        for i, item in enumerate(value):
            if item is None:
                out.append(ShapeProblem(f"{path}[{i}]", "is null", True))
            else:
                validate(item, spec[0], f"{path}[{i}]", out)
        return
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            out.append(ShapeProblem(path, f"expected a mapping, got {_type_name(value)}", True))
            return
        for key, item in value.items():
            if not isinstance(key, str):
                out.append(ShapeProblem(f"{path}", f"key {key!r} is not a string", True))
            elif item is None:
                out.append(ShapeProblem(f"{path}.{key}", "is null", True))
            else:
                validate(item, spec.value, f"{path}.{key}", out)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            out.append(ShapeProblem(path, f"expected a mapping, got {_type_name(value)}", True))
            return
        for key, sub in spec.items():
            if key in value:
                validate(value[key], sub, f"{path}.{key}" if path else key, out)
        return
    raise TypeError(f"bad shape spec at {path}: {spec!r}")
