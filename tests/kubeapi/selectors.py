"""Label and field selectors, parsed the way the API server reads them from a query string.

Invalid selectors raise ``SelectorError``; the server turns that into a 400 ``BadRequest``
Status, as a real cluster does, so a collector bug that builds a bad selector shows up in tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_SET_REQ = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_REQ = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)\s*$")
_EXISTS_REQ = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")
FIELD_LABELS = ("metadata.name", "metadata.namespace")


class SelectorError(ValueError):
    """A selector the API server would reject with 400 BadRequest."""


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (a,b)`` value sets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in selector:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _label_requirement(text: str) -> Predicate:
    def labels(obj: dict[str, Any]) -> dict[str, str]:
        return obj.get("metadata", {}).get("labels") or {}

    if match := _SET_REQ.match(text):
        key, op, raw = match.groups()
        values = {value.strip() for value in raw.split(",")}
        if op == "in":
            return lambda obj: labels(obj).get(key) in values
        return lambda obj: labels(obj).get(key) not in values
    if match := _EQ_REQ.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda obj: labels(obj).get(key) != value
        return lambda obj: labels(obj).get(key) == value
    if match := _EXISTS_REQ.match(text):
        negate, key = match.groups()
        if negate:
            return lambda obj: key not in labels(obj)
        return lambda obj: key in labels(obj)
    raise SelectorError(f"unable to parse requirement: {text!r}")


def parse_label_selector(selector: str) -> Predicate:
    """``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a,b)``, ANDed."""
    requirements = [_label_requirement(part) for part in _split_requirements(selector)]
    return lambda obj: all(req(obj) for req in requirements)


def parse_field_selector(selector: str, extra: Sequence[str] = ()) -> Predicate:
    """``metadata.name`` and ``metadata.namespace`` with ``=``, ``==`` or ``!=``, ANDed.

    These are the only field labels every resource supports; the real server rejects others
    per type, so the fake rejects them too rather than pretend. ``extra`` names top-level
    fields a resource type also supports (Secrets: ``type``).
    """
    requirements: list[Predicate] = []
    for part in _split_requirements(selector):
        match = _EQ_REQ.match(part)
        if not match:
            raise SelectorError(f"invalid selector: {part!r}; can't understand {part!r}")
        field, op, value = match.groups()
        if field in extra:
            requirements.append(
                lambda obj, f=field, v=value, neg=op == "!=": (obj.get(f, "") == v) != neg
            )
            continue
        if field not in FIELD_LABELS:
            known = ", ".join(f'"{f}"' for f in (*FIELD_LABELS, *extra))
            raise SelectorError(f'"{field}" is not a known field selector: only {known}')
        attr = field.split(".", 1)[1]

        def requirement(
            obj: dict[str, Any], attr: str = attr, value: str = value, neg: bool = op == "!="
        ) -> bool:
            return bool(obj.get("metadata", {}).get(attr, "") == value) != neg

        requirements.append(requirement)
    return lambda obj: all(req(obj) for req in requirements)
