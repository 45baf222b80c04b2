"""Shape specs compiled into one straight-line Python function per kind.

`compile_spec` (auditor/input/shape_lang.py) builds a tree of small closures: checking a Pod
called one per field and per list item, and those calls were most of what shape checking cost
(about half of compacting a large snapshot's objects, benchmarks/README.md "#33 load in one
pass"). Here a spec is written out as the source of one function (nested `for` loops over lists
and mappings, one `if` per field) and compiled once per kind, as fastjsonschema does for JSON
Schema. The function answers the same question as the closures: "would `validate` report
nothing?"; it may say no where `validate` finds nothing (it costs time, not truth), never the
reverse (tests/input/test_load_fast_paths.py holds it to the full validation, mutation by
mutation).

Types are tested with `type(x) is T`: a parser gives exact dicts, lists, strings and integers,
and a subclass (never seen) only makes the answer a cautious no. A missing field reads as an
empty mapping or list (`_EMPTY_MAP`, `_EMPTY_LIST`, never written to), so a field needs no
`if present:` block and the code nests only as deep as the spec's lists and mappings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.input.shape_lang import ANY, INT_OR_STR, PORT, PORT_MAX, PORT_MIN, MapOf, Nullable

Predicate = Callable[[Any], bool]

_EMPTY_MAP: dict[str, Any] = {}
_EMPTY_LIST: list[Any] = []


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names = 0

    def var(self) -> str:
        self.names += 1
        return f"v{self.names}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def _scalar_test(spec: Any, x: str) -> str | None:
    """The condition under which a present, non-null `x` fails a scalar spec; None: not one."""
    if spec is ANY:
        return "False"
    if spec is str:
        return f"type({x}) is not str"
    if spec is int:
        return f"type({x}) is not int"
    if spec is bool:
        return f"type({x}) is not bool"
    if spec is INT_OR_STR:
        return f"(type({x}) is not int and type({x}) is not str)"
    if spec is PORT:
        return f"(type({x}) is not int or not {PORT_MIN} <= {x} <= {PORT_MAX})"
    return None


def _field(w: _Writer, depth: int, spec: Any, holder: str, key: str) -> None:
    """Code checking `holder[key]` against `spec` when the key is present."""
    x = w.var()
    if isinstance(spec, Nullable):
        w.emit(depth, f"{x} = {holder}.get({key!r})")
        inner = spec.value
        default = "_EMPTY_LIST" if isinstance(inner, list) else "_EMPTY_MAP"
        w.emit(depth, f"{x} = {default} if {x} is None else {x}")
        _present(w, depth, inner, x)
        return
    test = _scalar_test(spec, x)
    if test is not None:
        if test != "False":
            w.emit(depth, f"{x} = {holder}.get({key!r})")
            w.emit(depth, f"if {x} is not None and {test}:")
            w.emit(depth + 1, "return False")
        return
    # a list or mapping: missing reads as empty, null fails (`validate` warns about it)
    default = "_EMPTY_LIST" if isinstance(spec, list) else "_EMPTY_MAP"
    w.emit(depth, f"{x} = {holder}.get({key!r}, {default})")
    _present(w, depth, spec, x)


def _present(w: _Writer, depth: int, spec: Any, x: str) -> None:
    """Code checking a present, non-null value `x` (null fails) against a list or mapping spec,
    or a scalar spec (an item of a list or a mapping's value)."""
    if isinstance(spec, Nullable):  # only meaningful as a field: an item is never null here
        spec = spec.value
    test = _scalar_test(spec, x)
    if test is not None:
        if spec is ANY:
            w.emit(depth, f"if {x} is None:")
        else:
            w.emit(depth, f"if {test}:")
        w.emit(depth + 1, "return False")
        return
    if isinstance(spec, list):
        w.emit(depth, f"if type({x}) is not list:")
        w.emit(depth + 1, "return False")
        item = w.var()
        w.emit(depth, f"for {item} in {x}:")
        _present(w, depth + 1, spec[0], item)
        return
    if isinstance(spec, MapOf):
        w.emit(depth, f"if type({x}) is not dict:")
        w.emit(depth + 1, "return False")
        key, value = w.var(), w.var()
        w.emit(depth, f"for {key}, {value} in {x}.items():")
        w.emit(depth + 1, f"if type({key}) is not str:")
        w.emit(depth + 2, "return False")
        _present(w, depth + 1, spec.value, value)
        return
    if isinstance(spec, dict):
        w.emit(depth, f"if type({x}) is not dict:")
        w.emit(depth + 1, "return False")
        for key_name, sub in spec.items():
            _field(w, depth, sub, x, key_name)
        return
    raise TypeError(f"bad shape spec: {spec!r}")


def compile_specs(*specs: Any, required: tuple[str, ...] = (), name: str = "ok") -> Predicate:
    """One predicate for an object (a dict) that must pass every spec of `specs` (mapping specs
    of the object's root), with the top-level fields in `required` present and non-null."""
    w = _Writer()
    w.emit(0, f"def {name}(obj):")
    w.emit(1, "if type(obj) is not dict:")
    w.emit(2, "return False")
    for key in required:
        w.emit(1, f"if obj.get({key!r}) is None:")
        w.emit(2, "return False")
    for spec in specs:
        if not isinstance(spec, dict):
            raise TypeError(f"an object spec must be a mapping: {spec!r}")
        for key, sub in spec.items():
            _field(w, 1, sub, "obj", key)
    w.emit(1, "return True")
    source = "\n".join(w.lines) + "\n"
    namespace: dict[str, Any] = {"_EMPTY_MAP": _EMPTY_MAP, "_EMPTY_LIST": _EMPTY_LIST}
    # the source is written here from our own specs, never from input
    exec(compile(source, f"<shape {name}>", "exec"), namespace)
    predicate: Predicate = namespace[name]
    return predicate
