"""Loaded objects share what they repeat: interned strings, and equal subtrees while loading.

A large mesh repeats the same values and whole subtrees across thousands of objects; the
snapshot keeps one copy of each (benchmarks/README.md: about half the memory of a large mesh's
objects). `bulk_load()` wraps every load (file loader, live collector): the cyclic garbage
collector is off, and equal subtrees are shared (`sharing()`). Sound only because nothing
changes a loaded object (tests/input/test_snapshot_sharing.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from sys import intern
from typing import Any

import orjson


def share_strings(node: dict[str, Any] | list[Any]) -> None:
    """Intern every string value in `node`, in place, and, while a load is sharing (`sharing()`),
    replace every dict and list below it by the first equal one seen.

    A mesh repeats the same values (label values, images, ports' names, `IfNotPresent`) across
    thousands of objects, and a parser makes a new string for each occurrence (orjson shares
    only keys): one copy of each saves about a fifth of a large snapshot's memory. Whole subtrees
    repeat as well: a Deployment's replicas carry the same containers, ports and security
    contexts, selectors equal labels, every DestinationRule has the same traffic policy. Objects
    are read-only once loaded (tests/input/test_snapshot_sharing.py holds every fixture's scan to
    that), so equal subtrees can be one object: this about halves the memory a large mesh's
    objects take (benchmarks/README.md).
    """
    table = _SHARING.table
    if table is None:
        _intern_below(node)
        return
    target: Any = node
    for slot, value in target.items() if isinstance(target, dict) else enumerate(target):
        kind = type(value)
        if kind is str:
            target[slot] = intern(value)
        elif kind is dict and slot == "metadata":
            # an object's metadata names it (and a cluster's gives it a uid): looking it up
            # would only fill the table
            _share_below(value, table)
        elif kind is dict or kind is list:
            target[slot] = _shared(value, table)


def _intern_below(node: Any) -> None:
    """Intern every string below `node` (no sharing table: a load outside `sharing()`)."""
    for slot, value in node.items() if isinstance(node, dict) else enumerate(node):
        kind = type(value)
        if kind is str:
            node[slot] = intern(value)
        elif kind is dict or kind is list:
            _intern_below(value)


# Metadata strings the API server makes unique to each object (a uid, an etcd revision):
# interning them shares nothing and only grows the interpreter's table of interned strings.
# (creationTimestamp repeats wherever objects were created in the same second: interned.)
_UNIQUE_METADATA = frozenset(("uid", "resourceVersion"))


def _share_below(node: dict[str, Any], table: dict[int, Any]) -> None:
    """Intern the strings of an object's metadata (`node`) and share the dicts and lists below
    it."""
    for slot, value in node.items():  # replacing a dict's value in place keeps its size and order
        kind = type(value)
        if kind is str:
            if slot not in _UNIQUE_METADATA:
                node[slot] = intern(value)
        elif kind is dict or kind is list:
            node[slot] = _shared(value, table)


_EXACT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _shared(node: Any, table: dict[int, Any], dumps: Any = orjson.dumps) -> Any:
    """The first node seen that is equal to `node` (a dict or list), else `node` itself with its
    strings interned and its children shared.

    Equal means the same JSON text: same keys in the same order, `1`, `1.0` and `true` apart.
    Looking the whole subtree up first means a repeated subtree (most of a replica's spec) is
    matched without walking it. A node holding anything JSON has no exact text for (a YAML
    timestamp or set) is never shared, though its children may be. One function for the
    lookup and the walk: this runs for about ten nodes of every object loaded."""
    try:
        text: bytes | None = dumps(node, option=_EXACT)
    except TypeError:
        text = None
    if text is not None:
        digest = hash(text)
        got = table.get(digest)
        if got is not None and dumps(got) == text:
            return got
    # replacing a dict's value in place keeps its size and order
    for slot, value in node.items() if type(node) is dict else enumerate(node):
        kind = type(value)
        if kind is str:
            node[slot] = intern(value)
        elif kind is dict or kind is list:
            node[slot] = _shared(value, table)
    if text is not None:
        table.setdefault(digest, node)
    return node


class _Sharing:
    """The table of shared subtrees while a load runs (`sharing()`); None otherwise."""

    __slots__ = ("depth", "table")

    def __init__(self) -> None:
        self.depth = 0
        self.table: dict[int, Any] | None = None


_SHARING = _Sharing()


@contextmanager
def sharing() -> Iterator[None]:
    """Share equal subtrees among the objects compacted inside this block (`share_strings`).
    The table (the hash of a subtree's JSON text -> that subtree) goes when the block ends. The
    live collector compacts pages on its reader threads inside one block: dict reads and
    `setdefault` are atomic, and a subtree enters the table only once it is complete."""
    if _SHARING.depth == 0:
        _SHARING.table = {}
    _SHARING.depth += 1
    try:
        yield
    finally:
        _SHARING.depth -= 1
        if _SHARING.depth == 0:
            _SHARING.table = None


@contextmanager
def bulk_load() -> Iterator[None]:
    """Build a snapshot without CPython's cyclic garbage collector walking it over and over.

    Parsing a snapshot allocates millions of dicts, lists and strings that all stay alive. Each
    allocation burst triggers a collection, and every few of them a full one walks the whole heap
    built so far: on a 100k-object mesh that was 4 of the 5 seconds `orjson.loads` took, and it
    went on taxing every allocation of the scan. Parsed manifests hold no reference cycles, so
    nothing is lost by not collecting; afterwards `gc.freeze()` moves what was loaded out of the
    collector's generations (reference counting still frees it), so later collections walk only
    objects made after loading. Equal subtrees are shared while it lasts (`sharing()`).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with sharing():
            yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
