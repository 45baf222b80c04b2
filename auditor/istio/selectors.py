"""Label selectors, as Kubernetes and Istio evaluate them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """matchLabels semantics: every pair present. An empty selector matches everything."""
    if not selector:
        return True
    return all(labels.get(k) == v for k, v in selector.items())


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist).

    An empty selector matches everything; an unknown operator makes the selector invalid, and an
    invalid selector matches nothing (as the API server's labels.Selector conversion fails).
    """
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op = expr.get("key"), expr.get("operator")
        values = expr.get("values") or []
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


class LabelIndex(Generic[T]):
    """Find the items whose labels satisfy a selector without scanning every item.

    Items are indexed by each (key, value) label pair; a selector is answered from the smallest
    posting list, then verified.
    """

    __slots__ = ("_all", "_by_pair")

    def __init__(self) -> None:
        self._by_pair: dict[tuple[str, str], list[tuple[Mapping[str, str], T]]] = {}
        self._all: list[tuple[Mapping[str, str], T]] = []

    def add(self, labels: Mapping[str, str], item: T) -> None:
        entry = (labels, item)
        self._all.append(entry)
        for pair in labels.items():
            self._by_pair.setdefault(pair, []).append(entry)

    def select(self, selector: Mapping[str, str] | None) -> list[T]:
        if not selector:
            return [item for _, item in self._all]
        postings = [self._by_pair.get(pair, []) for pair in selector.items()]
        if len(postings) == 1:
            return [item for _, item in postings[0]]  # the posting list is the answer
        smallest = min(postings, key=len)
        return [item for labels, item in smallest if selector_matches(selector, labels)]


class SelectorIndex(Generic[T]):
    """The reverse: find the selectors (e.g. Services) that select a given label set."""

    __slots__ = ("_by_pair", "_empty")

    def __init__(self) -> None:
        self._by_pair: dict[tuple[str, str], list[tuple[Mapping[str, str], T]]] = {}
        self._empty: list[T] = []

    def add(self, selector: Mapping[str, str] | None, item: T) -> None:
        if not selector:
            self._empty.append(item)
            return
        # index under one pair only: every match must contain it
        first = next(iter(selector.items()))
        self._by_pair.setdefault(first, []).append((selector, item))

    def matching(self, labels: Mapping[str, str], include_empty: bool = False) -> list[T]:
        out: list[T] = list(self._empty) if include_empty else []
        for pair in labels.items():
            for selector, item in self._by_pair.get(pair, ()):
                if selector_matches(selector, labels):
                    out.append(item)
        return out


def unique(items: Iterable[T]) -> list[T]:
    seen: set[int] = set()
    out: list[T] = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out
