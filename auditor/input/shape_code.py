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
    def __init__(self, sized: frozenset[tuple[str, ...]]) -> None:
        self.lines: list[str] = []
        self.names = 0
        self.sized = sized

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


def _field(
    w: _Writer, depth: int, spec: Any, holder: str, key: str, path: tuple[str, ...] = ()
) -> None:
    """Code checking `holder[key]` (at `path`, the keys from the object's root down to `key`
    while they are all mappings) against `spec` when the key is present."""
    x = w.var()
    if path in w.sized and spec == MapOf(str):
        _sized_map(w, depth, holder, key, x)
        return
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
    _present(w, depth, spec, x, path)


def _present(w: _Writer, depth: int, spec: Any, x: str, path: tuple[str, ...] = ()) -> None:
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
            _field(w, depth, sub, x, key_name, (*path, key_name) if path else ())
        return
    raise TypeError(f"bad shape spec: {spec!r}")


def _sized_map(w: _Writer, depth: int, holder: str, key: str, x: str) -> None:
    """A string-to-string mapping whose size (keys and values) is bounded: checked and counted
    in the one loop."""
    k, v, size = w.var(), w.var(), w.var()
    w.emit(depth, f"{x} = {holder}.get({key!r}, _EMPTY_MAP)")
    w.emit(depth, f"if type({x}) is not dict:")
    w.emit(depth + 1, "return False")
    w.emit(depth, f"{size} = 0")
    w.emit(depth, f"for {k}, {v} in {x}.items():")
    w.emit(depth + 1, f"if type({k}) is not str or type({v}) is not str:")
    w.emit(depth + 2, "return False")
    w.emit(depth + 1, f"{size} += len({k}) + len({v})")
    w.emit(depth, f"if {size} > _MAX_SIZE:")
    w.emit(depth + 1, "return False")


def _reaches(specs: tuple[Any, ...], path: tuple[str, ...]) -> bool:
    """Whether some spec reaches `path` through mappings and holds a string mapping there."""
    for spec in specs:
        node = spec
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node == MapOf(str):
            return True
    return False


def _too_big(obj: dict[str, Any], paths: tuple[tuple[str, ...], ...], max_size: int) -> bool:
    """Whether the string values and keys of a mapping at one of `paths` (reached through
    mappings) are over `max_size` in all, counted as auditor/input/shapes.py counts them: for
    the paths no spec of the kind reaches."""
    for path in paths:
        node: Any = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            size = sum(len(str(k)) + len(v) for k, v in node.items() if isinstance(v, str))
            if size > max_size:
                return True
    return False


def compile_specs(
    *specs: Any,
    required: tuple[str, ...] = (),
    sized: tuple[tuple[str, ...], ...] = (),
    max_size: int = 0,
    name: str = "ok",
) -> Predicate:
    """One predicate for an object (a dict) that must pass every spec of `specs` (mapping specs
    of the object's root), with the top-level fields in `required` present and non-null, and
    each string mapping at a path of `sized` (from the root) at most `max_size` characters in
    all, keys and values (the path must be null, absent or such a mapping, and `too_big(obj)`
    says no for the ones the specs do not reach)."""
    w = _Writer(frozenset(sized))
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
            _field(w, 1, sub, "obj", key, (key,))
    unreached = [p for p in sized if not _reaches(specs, p)]
    if unreached:
        w.emit(1, f"if _too_big(obj, {tuple(unreached)!r}, _MAX_SIZE):")
        w.emit(2, "return False")
    w.emit(1, "return True")
    source = "\n".join(w.lines) + "\n"
    namespace: dict[str, Any] = {
        "_EMPTY_MAP": _EMPTY_MAP,
        "_EMPTY_LIST": _EMPTY_LIST,
        "_MAX_SIZE": max_size,
        "_too_big": _too_big,
    }
    # the source is written here from our own specs, never from input
    exec(compile(source, f"<shape {name}>", "exec"), namespace)
    predicate: Predicate = namespace[name]
    return predicate
