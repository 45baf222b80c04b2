"""A fast path for YAML as `kubectl get -o yaml` prints it: rapidyaml parses, orjson builds.

PyYAML (auditor/input/yamlref.py) is the reference loader and stays the only one that reports
errors.
This path answers only for text it can judge to give exactly the reference's objects, and
answers None for anything else, so the caller parses that file with the reference:

- rapidyaml (a C++ parser, `ryml`) parses the bytes and emits each document as JSON, which
  orjson reads. Quoted scalars come out as JSON strings; plain scalars that rapidyaml reads as
  numbers, booleans or null come out as JSON literals, every other plain scalar as a string.
- PyYAML resolves plain scalars by YAML 1.1 (`yes`, `0777`, `1_000`, `~` are not strings), and
  mesh-audit turns non-string keys into strings. So every JSON string that PyYAML would read
  as something else when plain (a value), or as another key text (a key), and every JSON literal
  whose text PyYAML reads differently (`1e3` is a string to PyYAML), sends the file to the
  reference. Each distinct text is judged once, against PyYAML's own resolver.
- Text with what this path does not model goes to the reference before parsing: tags (`!`),
  anchors and aliases (`&`, `*`: also the alias budget), merge keys, complex keys, directives,
  tabs, carriage returns, control characters, YAML 1.1's extra line breaks, a document that is
  not a mapping or a list (empty documents included), and any text rapidyaml or orjson refuses
  (errors are always the reference's, with its line and column).

- A mapping that repeats a key: kubectl refuses it, where rapidyaml and orjson keep the last
  value. Each document's key count in rapidyaml's JSON travels with it (FastDocument.keys), and
  `load` compares it with the keys of what orjson built; a difference declines the text, and the
  reference refuses it with the line of each occurrence (auditor/input/yamlref.py).

tests/input/test_yaml_fast_path.py checks both paths give identical objects over every fixture and
the peer corpus, and that each construct above takes the reference.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from auditor.input.yamlref import _key_text, _Loader

try:
    import ryml

    AVAILABLE = True
except ImportError:  # pragma: no cover - rapidyaml is a dependency; without it, the reference
    ryml = None
    AVAILABLE = False

# Constructs the fast path does not model (an occurrence only means "let the reference read
# it"): a tag, anchor, alias or reserved indicator starting a token, a complex key, a merge key, a
# directive or document-end marker, tabs and carriage returns (indentation and line-break rules
# rapidyaml and libyaml might read differently). Bytes are found with `bytes.find`, far cheaper
# than a regex over the whole text; the byte before an indicator says whether it starts a token.
# `<<`, a `%` starting a line and ` #` are looked for only when their rarest byte (`<`, `%`, `#`)
# is in the text at all: a one-byte search (memchr) is many times faster than a search for two
# bytes, and nearly always ends the check (`%` is in `maxSurge: 25%`: its few places are tried).
_ANYWHERE = (b"\t", b"\r", b"\n...")
_INDICATORS = b"!&*@`?"
_TOKEN_START = frozenset(b" \n[]{},")
_PRINTABLE_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])
# YAML 1.1 line breaks (NEL, LS, PS), a BOM inside the text, and what PyYAML's reader refuses
_NOT_MODELLED_TEXT = re.compile(
    "[\x85\u2028\u2029\ufeff]|[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

# Every JSON string whose text PyYAML might resolve to something else when plain: empty, starting
# like a number, `~`, `<<`, `=`, or one of YAML 1.1's boolean and null words (a superset: each
# distinct match is then judged exactly by `_string_agrees`). The group is the text, its closing
# quote and, for a key, its colon (one bytes object a match, no tuple: a fifth faster).
# Possessive repeats (`*+`, `{1,4}+`) throughout: what follows a repeat can never match a
# character it gave back, so backtracking could only waste time (the indentation after each
# `,` of rapidyaml's JSON made the `,\s*` pass three times slower); the matches are the same.
_STRING_CANDIDATE = re.compile(rb'"((?:[-+.0-9~<=][^"\\]*+|[YyNnTtFfOo][a-zA-Z]{1,4}+|)":?)')
# Every JSON literal rapidyaml emitted (a number, true, false, null): a mapping value after
# `": `, a list item after `[` or `,` (block lists put items on their own lines). Text inside a
# string may look like one too; it is judged the same way, which can only send a file to the
# reference. Three patterns with a literal start each are several times faster than one.
_LITERALS = tuple(
    re.compile(prefix + rb'([-+.0-9][^\s,\]}"]*+)') for prefix in (rb'": ', rb"\[\s*+", rb",\s*+")
)


@functools.cache
def _resolver() -> yaml.resolver.Resolver:
    return _Loader("")


def _plain(text: str) -> Any:
    """What the reference loader makes of `text` as a plain scalar (a value)."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@functools.lru_cache(maxsize=4096)
def _ryml_plain_is_string(text: str) -> bool:
    """Whether rapidyaml emits the plain scalar `text` as a JSON string."""
    assert ryml is not None
    with _quiet_stderr():
        tree = ryml.parse_in_arena(f"k: {text}\n".encode())
    out = orjson.loads(_emit(tree, tree.root_id()))
    return isinstance(out.get("k"), str)


# Decimal integers: rapidyaml emits them plain as JSON numbers (so a JSON string of one was
# quoted), and they are the common case (`resourceVersion: "48213"`, ports in annotations).
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")


@functools.cache
def _maybe_not_str() -> re.Pattern[str]:
    """Matches every text an implicit resolver of the reference might tag as other than a
    string: the union of all their patterns (the reference tries those of the first character)."""
    patterns = sorted(
        {
            rx.pattern
            for resolvers in _Loader.yaml_implicit_resolvers.values()
            for _, rx in resolvers
        }
    )
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.X)


@functools.lru_cache(maxsize=1 << 16)
def _string_agrees(text: str, is_key: bool) -> bool:
    """Whether a JSON string `text` from rapidyaml is what the reference reads, quoted or not."""
    if not _maybe_not_str().match(text):
        return True  # a string to the reference, plain or quoted (most uids, addresses)
    if not is_key and _DECIMAL.fullmatch(text):
        return True  # see below: a quoted decimal (`resourceVersion: "48213"`)
    resolver = _resolver()
    tag = resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == "tag:yaml.org,2002:str":
        return True
    if is_key:
        try:
            return bool(_key_text(_plain(f"{text}")) == text)
        except Exception:
            return False
    # A value: rapidyaml emits this text as a string only when it was quoted, or when it was
    # plain and rapidyaml does not read it as a literal; only the latter disagrees.
    if _DECIMAL.fullmatch(text):
        return True
    try:
        return not _ryml_plain_is_string(text)
    except Exception:
        return False


@functools.lru_cache(maxsize=1 << 16)
def _literal_agrees(text: str) -> bool:
    if text.startswith("-0."):
        return False  # rapidyaml writes plain `-.5` as -0.5, a string to PyYAML
    try:
        ours = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True  # not a JSON literal: text inside a string, or a document orjson refuses
    try:
        theirs = _plain(text)
    except Exception:
        return False
    return type(ours) is type(theirs) and bool(ours == theirs)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """rapidyaml's C++ error handler writes to file descriptor 2 before raising; the reference
    reports the error instead, in mesh-audit's own words."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _not_modelled(data: bytes) -> bool:
    if data.startswith((b"%", b"...", b"?", *(bytes([b]) for b in _INDICATORS))):
        return True
    if any(marker in data for marker in _ANYWHERE):
        return True
    if b"<" in data and b"<<" in data:
        return True
    if _starts_a_line(data, b"%"):
        return True
    for byte in _INDICATORS:
        at = data.find(byte)
        while at != -1:
            if (
                data[at - 1] in _TOKEN_START
                and (byte != 0x3F or at + 1 == len(data) or data[at + 1] in b" \n")
                and not _in_comment(data, at)
            ):
                return True
            at = data.find(byte, at + 1)
    # a comment on the line of a flow collection: `{k: 1 # c}` is an error to PyYAML, text to
    # rapidyaml
    at = data.find(b" #") if b"#" in data else -1
    while at != -1:
        line = data[data.rfind(b"\n", 0, at) + 1 : at]
        if b"{" in line or b"[" in line:
            return True
        at = data.find(b" #", at + 2)
    return False


# how many places of a byte are tried one by one before searching for it after a line break
_FEW = 64


def _starts_a_line(data: bytes, byte: bytes) -> bool:
    """Whether `byte` starts a line of `data`: its first few places are tried, and the rest of a
    text that holds it more often is searched for it after a line break (as a whole)."""
    at = data.find(byte)
    for _ in range(_FEW):
        if at == -1:
            return False
        if at == 0 or data[at - 1] == 0x0A:
            return True
        at = data.find(byte, at + 1)
    return b"\n" + byte in data


def _in_comment(data: bytes, at: int) -> bool:
    """Whether position `at` is inside a comment: the line before it, past its indentation,
    starts with `#`, or has ` #` with no quote before it (a `#` inside quotes is text)."""
    line = data[data.rfind(b"\n", 0, at) + 1 : at]
    if line.lstrip(b" ").startswith(b"#"):
        return True
    hash_at = line.find(b" #")
    return hash_at != -1 and b"'" not in line[:hash_at] and b'"' not in line[:hash_at]


def fast_documents(data: bytes) -> list[Any] | None:
    """The documents of `data` exactly as the reference loader reads them, or None when this
    path cannot judge the text (the caller then uses the reference)."""
    parsed = fast_json(data)
    if parsed is None:
        return None
    try:
        return [load(document.json, document.keys) for document in parsed]
    except (orjson.JSONDecodeError, DuplicateKey):
        return None


@dataclass(frozen=True, slots=True)
class FastDocument:
    """One document as JSON text that reads (orjson) exactly as the reference reads the YAML."""

    json: bytearray
    # a mapping with a top-level `items` key holding a sequence: the documents whose List items
    # may have lines to find (a superset of the `kind: *List` ones, decided without reading it)
    has_item_list: bool
    # how many mapping keys rapidyaml wrote, repeated ones included (see `load`)
    keys: int


class DuplicateKey(ValueError):
    """The JSON held a key twice in one object: the reference refuses the YAML, with its line."""


# rapidyaml writes each key as `"key": ` and orjson as `"key":`; a quote inside a string is
# escaped (`\"`), so counting the separator, less its escaped form, counts the keys. A key
# ending in a backslash (`\\": `) would be miscounted: fast_json declines such text.
_RYML_KEY = b'": '
_ORJSON_KEY = b'":'


def _ryml_keys(emitted: bytearray) -> int | None:
    escaped = emitted.count(b"\\" + _RYML_KEY)
    # the search for a key ending in a backslash only when an escaped quote came before `: `
    # (rare: one pass over the JSON fewer for nearly every document)
    if escaped and b'\\\\": ' in emitted:
        return None
    return emitted.count(_RYML_KEY) - escaped


def load(json: bytes | bytearray, keys: int) -> Any:
    """One document's JSON as orjson reads it, refusing one that repeated a key: orjson keeps
    the last value silently, where kubectl (and the reference loader) refuse the YAML. The keys
    of what orjson built are counted in its own output (C speed, no walk in Python) and compared
    with the count rapidyaml wrote; DuplicateKey when some were dropped."""
    document = orjson.loads(json)
    dumped = orjson.dumps(document)
    if dumped.count(_ORJSON_KEY) - dumped.count(b"\\" + _ORJSON_KEY) != keys:
        raise DuplicateKey("a mapping repeats a key")
    return document


def fast_json(data: bytes) -> list[FastDocument] | None:
    """Each document of `data` as JSON text (see FastDocument), or None when this path cannot
    judge the text. A JSON text orjson then refuses also means: use the reference."""
    if ryml is None:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.isascii():
        if data.translate(None, _PRINTABLE_ASCII):
            return None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _NOT_MODELLED_TEXT.search(text):
            return None
        del text
    if _not_modelled(data):
        return None
    try:
        with _quiet_stderr():
            tree = ryml.parse_in_arena(data)
    except Exception:
        return None
    root = tree.root_id()
    if tree.is_stream(root):
        ids = [tree.child(root, i) for i in range(tree.num_children(root))]
    else:
        ids = [root]
    if not ids or not all(tree.is_map(i) or tree.is_seq(i) for i in ids):
        return None
    docs: list[FastDocument] = []
    scratch = bytearray(_SCRATCH_PER_BYTE * len(data) + _SCRATCH_EXTRA)
    for node in ids:
        try:
            emitted = _emit(tree, node, scratch)
        except Exception:
            return None
        keys = _ryml_keys(emitted)
        if keys is None or not _agrees(emitted, data):
            return None
        docs.append(FastDocument(emitted, _has_item_list(tree, node), keys))
    return docs


def _has_item_list(tree: Any, node: int) -> bool:
    if not tree.is_map(node):
        return False
    for i in range(tree.num_children(node)):
        child = tree.child(node, i)
        if tree.is_seq(child) and bytes(tree.key(child)) == b"items":
            return True
    return False


# rapidyaml writes the plain scalars `inf`, `infinity`, `nan`, `.Inf` (and their negatives) as
# these strings, keys included: PyYAML reads `infinity` as a string and `.Inf` as a float.
_REWRITTEN = frozenset((".inf", "-.inf", ".nan"))


# The JSON of a file's documents is first written into one buffer this large (rapidyaml's JSON of
# kubectl's YAML is about 1.6 times the YAML): one traversal of the tree instead of two (measuring
# the length, then writing); a document that does not fit is measured and written again.
_SCRATCH_PER_BYTE = 2
_SCRATCH_EXTRA = 4096


def _emit(tree: Any, node: int, scratch: bytearray | None = None) -> bytearray:
    """The JSON of one node, into a buffer this process owns (`ryml.emit_json` returns a copy
    of a C buffer it never frees: 0.3 MB lost per namespace file of a large mesh): a copy of
    what was written into `scratch` when it fits there."""
    assert ryml is not None
    if scratch is not None:
        failed, size = ryml.emit_json_to_substr(tree, node, scratch)
        if not failed:
            return scratch[:size]
    buf = bytearray(ryml.compute_json_length(tree, node))
    ryml.emit_json_in_place(tree, buf, node)
    return buf


def _agrees(emitted: bytearray, source: bytes) -> bool:
    for found in set(_STRING_CANDIDATE.findall(emitted)):
        is_key = found.endswith(b":")
        text = found[: -2 if is_key else -1].decode("utf-8", "replace")
        if text in _REWRITTEN:
            return False
        if not _string_agrees(text, is_key) and _maybe_plain(text, source):
            return False
    return all(
        _literal_agrees(raw.decode("utf-8", "replace"))
        for pattern in _LITERALS
        for raw in set(pattern.findall(emitted))
    )


# What may precede a plain scalar on its line (after spaces): a key's colon, a sequence dash,
# a flow indicator, a complex-key mark, or nothing.
_PLAIN_BEFORE = frozenset(b":-[{,?")


def _maybe_plain(text: str, source: bytes) -> bool:
    """Whether `text` might occur as a plain scalar in `source` (a value or a key), rather than
    only quoted. `status: "True"` (every Kubernetes condition) is a string to both parsers, where
    `ready: True` is a boolean to PyYAML and a string to rapidyaml: the JSON cannot tell them
    apart, the source can. Any occurrence not closed by a quote and preceded, past spaces, by
    what may precede a plain scalar counts (more than strictly plain ones: it only sends the file
    to the reference)."""
    needle = text.encode()
    if not needle:
        return True  # an empty plain scalar is null; a "" in the JSON came from quotes, but be safe
    pattern = _after_pattern(needle)
    for match in pattern.finditer(source):
        i = match.start() - 1
        while i >= 0 and source[i] == 0x20:
            i -= 1
        if i < 0 or source[i] == 0x0A or source[i] in _PLAIN_BEFORE:
            return True
    return False


@functools.lru_cache(maxsize=256)
def _after_pattern(needle: bytes) -> re.Pattern[bytes]:
    # the text, then spaces, then the end of the line, a comment, a flow indicator or a key colon
    return re.compile(re.escape(needle) + rb" *(?:$|[\],}:#])", re.MULTILINE)
