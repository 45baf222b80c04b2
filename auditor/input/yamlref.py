"""The reference YAML loader: PyYAML, safe, bounded, and shaped like what the Kubernetes API
stores. Every fast path (auditor/input/yamlfast.py) is held to it; auditor/input/yamlsafe.py is
the entry point every YAML input goes through."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import yaml

from auditor.base.errors import InputError, yaml_error_text
from auditor.base.limits import LIMITS

try:  # the libyaml C loader is many times faster; PyYAML without it still works
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """Safe loader that reads YAML the way the Kubernetes API would store it.

    - Timestamps stay strings, as the API keeps them (also under an explicit `!!timestamp`).
    - Strings are interned: a mesh repeats the same keys and values (`name`, `containerPort`,
      `IfNotPresent`, label values) across thousands of objects, and YAML builds a new string
      for each occurrence, where orjson reuses its keys. The parsed objects compare the same.
    - An explicit tag whose value does not construct (`!!int abc`, `!!bool maybe`), a string
      with an unpaired surrogate (a `"\\ud800"` escape: not Unicode text) and `!!binary` are
      refused with their line and column; integers beyond 64 bits become floats, as orjson
      reads them from JSON (so a port of 2**70 is "not an integer", never an overflow); mapping
      keys that are not strings become strings, as sigs.k8s.io/yaml (kubectl) converts them.
    """

    def construct_interned_str(self, node: yaml.ScalarNode) -> str:
        value = self.construct_scalar(node)
        if not value.isascii():
            _refuse_surrogates(value, node)
        return sys.intern(value)

    def construct_checked_int(self, node: yaml.ScalarNode) -> int | float:
        if len(node.value) > 40 and node.value.lstrip("+-").isdigit():
            # beyond 64 bits anyway; Python refuses int() of over 4,300 digits
            return float(node.value)
        try:
            value = int(self.construct_yaml_int(node))
        except ValueError:
            raise _bad_scalar(node, "an integer") from None
        return value if _INT64_MIN <= value <= _INT64_MAX else float(value)

    def construct_checked_bool(self, node: yaml.ScalarNode) -> bool:
        try:
            return bool(self.construct_yaml_bool(node))
        except KeyError:
            raise _bad_scalar(node, "a boolean") from None

    def construct_checked_float(self, node: yaml.ScalarNode) -> float:
        try:
            return float(self.construct_yaml_float(node))
        except ValueError:
            raise _bad_scalar(node, "a number") from None

    def construct_refused_binary(self, node: yaml.Node) -> None:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "!!binary values are not read (no Kubernetes field holds one)",
            node.start_mark,
        )

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if len(node.value) > 1:
            _refuse_duplicate_keys(node)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if all(type(k) is str for k in mapping):
            return mapping
        converted = {_key_text(k): v for k, v in mapping.items()}
        if len(converted) < len(mapping):  # `1` and "1": one key once made text, as kubectl has it
            texts = [_key_text(k) for k in mapping]
            again = next(t for i, t in enumerate(texts) if t in texts[:i])
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {str(again)[:60]!r} is defined twice", node.start_mark
            )
        return converted


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _bad_scalar(node: yaml.ScalarNode, what: str) -> yaml.constructor.ConstructorError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return yaml.constructor.ConstructorError(
        None, None, f"{node.value[:40]!r} is not {what} (tag {tag})", node.start_mark
    )


def _refuse_surrogates(value: str, node: yaml.Node) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"unpaired surrogate {value[exc.start]!r} in a string (not Unicode text)",
            node.start_mark,
        ) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    """A key written twice in one mapping is refused, as kubectl refuses it (`mapping key "x"
    already defined at line N`): PyYAML would keep the last value silently, and a missing `---`
    between two concatenated objects would make the second swallow the first. Keys a merge
    (`<<`) brings in may be overridden; only the mapping's own keys are compared."""
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        ident = (key.tag, key.value)
        first = seen.get(ident)
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"mapping key {key.value[:60]!r} already defined at line {first + 1}",
                key.start_mark,
            )
        seen[ident] = key.start_mark.line


def _key_text(key: Any) -> Any:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    return key  # other keys (tuples from complex keys) stay; shape checks name them


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_interned_str)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_interned_str)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_checked_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", _Loader.construct_checked_bool)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_checked_float)
_Loader.add_constructor("tag:yaml.org,2002:binary", _Loader.construct_refused_binary)

_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

USING_LIBYAML = _BaseLoader.__name__.startswith("C")


def reference_documents(where: str, data: bytes | str) -> Iterator[Any]:
    """Each YAML document as PyYAML reads it (the reference every fast path is held to)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not UTF-8 text (byte {exc.start})") from exc
    else:
        text = data
    # An alias needs an anchor: without both characters there is nothing to expand.
    may_alias = "&" in text and "*" in text
    loader = _Loader(text)
    number = 0
    try:
        while loader.check_node():
            number += 1
            node = loader.get_node()
            if may_alias and node is not None:
                _check_alias_budget(where, number, node)
            yield loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise InputError(yaml_error_text(where, exc)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: invalid YAML: {exc}") from exc
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        # a value no constructor above anticipated; the document is named, never a traceback
        raise InputError(
            f"{where} document {number}: invalid YAML value: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        loader.dispose()


def _check_alias_budget(where: str, number: int, root: yaml.Node) -> None:
    """Refuse a document whose aliases would expand to more than the budget of extra nodes."""
    budget = LIMITS.max_alias_expansion
    seen: set[int] = set()
    visits = 0
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        visits += 1
        seen.add(id(node))
        if visits - len(seen) > budget:
            raise InputError(
                f"{where} document {number}: YAML aliases expand to more than {budget} extra "
                "nodes (an alias bomb?); refused (docs/limits.md)"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
