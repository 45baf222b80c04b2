"""The YAML fast path (rapidyaml + orjson) gives exactly what the reference (PyYAML) gives.

auditor/input/yamlfast.py answers only for text it can judge and returns None for the rest; these
tests hold every answer it gives to the reference loader, on every fixture and the peer corpus,
on a table of scalars in every quoting style and position, and on a generated mesh; and they pin
that each construct it does not model is left to the reference (so errors keep their wording).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.base.errors import InputError
from auditor.input.yamlfast import fast_documents
from auditor.input.yamlsafe import reference_documents, yaml_documents
from tests.helpers import DEMO, FIXTURES, ROOT

CORPUS = ROOT / "tests" / "data" / "peer-corpus"
YAML_FILES = sorted(
    p for p in [*FIXTURES.rglob("*"), *CORPUS.rglob("*")] if p.suffix in (".yaml", ".yml")
)


def _reference(data: bytes) -> list[Any] | str:
    try:
        return list(reference_documents("x.yaml", data))
    except InputError as exc:
        return f"error: {exc}"


def _same_types(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (True == 1 and 1 == 1.0 in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_there_are_fixtures_to_compare() -> None:
    assert len(YAML_FILES) > 100
    assert any(CORPUS in p.parents for p in YAML_FILES)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_path_matches_the_reference_on_fixtures_and_peer_corpus(path: Path) -> None:
    data = path.read_bytes()
    fast = fast_documents(data)
    if fast is None:
        return  # declined: the reference reads it (pinned per construct below)
    assert _same_types(fast, _reference(data))


def test_fast_path_answers_for_the_demo_mesh_and_most_fixtures() -> None:
    """The comparison above must not pass by declining everything."""
    demo = sorted(DEMO.glob("*.yaml"))
    declined_demo = [p.name for p in demo if fast_documents(p.read_bytes()) is None]
    # 50-payments.yaml runs `sleep infinity`: rapidyaml writes plain `infinity` as ".inf"
    assert declined_demo == ["50-payments.yaml"]
    answered = sum(fast_documents(p.read_bytes()) is not None for p in YAML_FILES)
    assert answered >= 0.9 * len(YAML_FILES)


SCALARS = [
    "80", "-1", "0", "-0", "007", "0777", "08", "0x1F", "0b101", "0o17", "1_000", "1:30",
    "190:20:30", "+1", "1.5", "-1.5", "1.", ".5", "-.5", "+.5", "1.0e+3", "1.0e3", "1e3", "1E-3",
    "6.8523015e+5", "685.230_15e+03", "1.50", "12345678901234567890123", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", ".inf", "-.inf", ".Inf", ".NAN", ".nan", "inf",
    "infinity", "nan", "-nan", "NaN", "true", "True", "TRUE", "false", "False", "yes", "Yes", "no",
    "NO", "on", "On", "off", "OFF", "y", "n", "null", "Null", "NULL", "~", "", "=", "<<",
    "2020-01-01", "2020-01-01T00:00:00Z", "10.0.0.1", "1.2.3", "v1", "a b", "a: b", "-", "--",
    "- a", "#x", "x#y", "é", "\\u00e9", "a'b", "1 # comment", "true # comment",
]  # fmt: skip


def _quoted(style: str, text: str) -> str:
    if style == "plain":
        return text
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


POSITIONS = [
    "key: {}\n",
    "{}: value\n",
    "items:\n- {}\n- x\n",
    "flow: [{}, x]\n",
    "flowmap: {{k: {}}}\n",
    "a:\n  b:\n    c: {}\n  d: 1\n",
    "---\nfirst: 1\n---\nsecond: {}\n",
]


def _agrees_where_answered(position: str, style: str) -> None:
    """Every scalar written at `position` in `style`: where the fast path answers, it gives the
    reference's objects (and it answers for some of them)."""
    answered = 0
    for text in SCALARS:
        data = position.format(_quoted(style, text)).encode()
        fast = fast_documents(data)
        if fast is None:
            continue
        answered += 1
        assert _same_types(fast, _reference(data)), (position, style, text)
    assert answered > 0


@pytest.mark.parametrize(
    ("position", "style"), list(itertools.product(POSITIONS, ["plain", "single", "double"]))
)
def test_every_scalar_in_every_style_and_position(position: str, style: str) -> None:
    _agrees_where_answered(position, style)


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        ('status: "True"\n', True),  # every Kubernetes condition: quoted, a string to both
        ("ready: True\n", False),  # a boolean to PyYAML (YAML 1.1), a string to rapidyaml
        ("a: 'True'\nb: True\n", False),  # the same text quoted and plain: the plain one decides
        ("port: 8080\nname: '8080'\n", True),
        ("mode: 0777\n", False),
        ("n: 1e3\n", False),  # a string to PyYAML, a number to rapidyaml
        ("cmd: [sleep, infinity]\n", False),  # rapidyaml writes ".inf"
        ("v: ~\n", False),
        ("yes: 1\n", False),  # key `yes` is "true" to mesh-audit (a boolean key made text)
        ("80: http\n", True),
        ("1.50: x\n", False),  # key 1.5 to PyYAML
        ("data: |\n  line one\n  line two\n", True),
        ("data: >-\n  folded\n  text\n", True),
        ('data: "a\\tb\\u00e9"\n', True),
    ],
)
def test_ambiguous_scalars_are_left_to_the_reference(text: str, answers: bool) -> None:
    data = text.encode()
    fast = fast_documents(data)
    assert (fast is not None) is answers
    if fast is not None:
        assert _same_types(fast, _reference(data))


@pytest.mark.parametrize(
    "text",
    [
        "a: !!binary aGVsbG8=\n",  # tags (also the !!binary refusal)
        "a: !!int abc\n",
        "a: &x 1\nb: *x\n",  # anchors and aliases (the alias budget)
        "a: &x [1]\nb: *x\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n",  # merge keys
        "<<: {x: 1}\n",
        "? [a]\n: 1\n",  # complex key
        "%YAML 1.1\n---\na: 1\n",  # directive
        "a: 1\n...\n",  # document end
        "a:\n\t- 1\n",  # tab
        "a: 1\r\nb: 2\r\n",  # carriage returns
        'a: "\\ud800"\n',  # unpaired surrogate
        "a: b\x07c\n",  # control character
        "a: b\u2028c\n",  # a YAML 1.1 line break
        "a: 1\n---\n",  # an empty document
        "- a\n---\nplain scalar\n",  # a document that is a scalar
        "",
        "# only a comment\n",
        "a: @x\n",  # reserved indicator
        "a: [1, 2\n",  # syntax errors: always the reference's message
        "a: b: c\n",
        "- a\n-b\n",
        "a:\n  b: 1\n c: 2\n",
    ],
)
def test_constructs_not_modelled_take_the_reference(text: str) -> None:
    assert fast_documents(text.encode()) is None


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2\n",
        "a: b: c\n",
        "a: !!int abc\n",
        'a: "\\ud800"\n',
        "a: &x [*x, *x]\nb: *x\n",
        b"a: \xff\n".decode("latin-1"),
        "a:\n  b: 1\n c: 2\n",
    ],
)
def test_errors_are_the_reference_s(text: str) -> None:
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    with pytest.raises(InputError) as fast_error:
        list(yaml_documents("in.yaml", data))
    with pytest.raises(InputError) as reference_error:
        list(yaml_documents("in.yaml", data, fast=False))
    assert str(fast_error.value) == str(reference_error.value)
    assert "in.yaml" in str(fast_error.value)


DUPLICATE_KEYS = [
    (
        "a: 1\nb:\n  c: 2\n  c: 3\n",
        "in.yaml:4:3: invalid YAML: mapping key 'c' already defined at line 3",
    ),
    ("x: {p: 1, p: 2}\n", "in.yaml:1:11: invalid YAML: mapping key 'p' already defined at line 1"),
    ("- k: 1\n  k: 1\n", "in.yaml:2:3: invalid YAML: mapping key 'k' already defined at line 1"),
    (
        "a: 1\n---\nb: 1\nb: 2\n",
        "in.yaml:4:1: invalid YAML: mapping key 'b' already defined at line 3",
    ),
    ('a: 1\n"a": 2\n', "in.yaml:2:1: invalid YAML: mapping key 'a' already defined at line 1"),
    ("1: a\n'1': b\n", "in.yaml:1:1: invalid YAML: mapping key '1' is defined twice"),
]


@pytest.mark.parametrize(("text", "message"), DUPLICATE_KEYS)
def test_a_repeated_key_is_refused_by_both_paths_with_its_line(text: str, message: str) -> None:
    """kubectl refuses a mapping that repeats a key (`mapping key "x" already defined at line
    N`); PyYAML and orjson would keep the last value. The fast path declines such text, and the
    reference refuses it with the line of the repeat and of the first."""
    assert fast_documents(text.encode()) is None
    for fast in (True, False):
        with pytest.raises(InputError) as error:
            list(yaml_documents("in.yaml", text.encode(), fast=fast))
        assert str(error.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "base: {k: 1}\nm: {k: 2, j: 3}\n",  # the same key in two mappings
        r'a: "x\\"' "\nb: 1\n",  # a value ending in a backslash
        r'k: "v\": w"' "\nk2: 1\n",  # a quote and a colon inside a string
        "a:\n- {b: 1}\n- {b: 1}\n",
    ],
)
def test_keys_repeated_only_across_mappings_are_read(text: str) -> None:
    fast = fast_documents(text.encode())
    assert fast is not None
    assert _same_types(fast, _reference(text.encode()))


def test_a_merge_key_may_be_overridden() -> None:
    """YAML merge keys (`<<`) bring keys a mapping may override: not a repeat."""
    text = b"base: &b {k: 1, j: 2}\nm:\n  <<: *b\n  k: 3\n"
    assert list(yaml_documents("in.yaml", text)) == [
        {"base": {"k": 1, "j": 2}, "m": {"k": 3, "j": 2}}
    ]


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.sampled_from(SCALARS), st.text(max_size=12), st.from_regex(r"[-+.0-9_:eExXbo]{1,10}")
    )
)
def test_the_not_a_string_prefilter_matches_all_the_reference_would_tag(text: str) -> None:
    """yamlfast._string_agrees answers "a string" without asking the resolver when no resolver
    pattern matches; that shortcut is sound only if the united pattern matches whatever any
    resolver would tag as other than a string."""
    from auditor.input.yamlfast import _maybe_not_str, _resolver

    tag = _resolver().resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag != "tag:yaml.org,2002:str":
        assert _maybe_not_str().match(text), (text, tag)


def test_generated_mesh_yaml_is_read_identically(tmp_path: Path) -> None:
    """The benchmark's `kubectl get -o yaml` form: every file answered, every object equal."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    mesh = generate.generate(1000, seed=3)
    generate.write_yaml_dir(mesh, tmp_path)
    files = sorted(tmp_path.glob("*.yaml"))
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        fast = fast_documents(data)
        assert fast is not None, path.name
        assert _same_types(fast, _reference(data)), path.name


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
    | st.sampled_from(SCALARS)
)
_KEYS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.sampled_from(SCALARS), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=5),
    flow=st.sampled_from([False, False, None, True]),
    style=st.sampled_from([None, None, "'", '"']),
    width=st.sampled_from([20, 80, 1000]),
    unicode=st.booleans(),
)
def test_fuzz_yaml_written_by_pyyaml(
    value: dict[str, Any], flow: bool | None, style: str | None, width: int, unicode: bool
) -> None:
    """YAML in the styles PyYAML (and so most tools) write: when the fast path answers, it
    answers what the reference reads."""
    text = yaml.safe_dump(
        value,
        default_flow_style=flow,
        default_style=style,
        width=width,
        allow_unicode=unicode,
        sort_keys=False,
    )
    data = text.encode()
    fast = fast_documents(data)
    if fast is not None:
        assert _same_types(fast, _reference(data))


# Later items of sequences, where rapidyaml's JSON puts a `,` and then (block style) a line
# break and the indentation before a literal: the candidates found after `,\s*+`.
LATER_ITEMS = [
    "a:\n  b:\n    c:\n      d:\n        e:\n        - x\n        - {}\n        - y\n",
    "a:\n  b:\n    - [x, y]\n    - [1, 2,   {}]\n",
    "items:\n- x\n- {}\n",
    "a: [x, y, {}]\n",
]


@pytest.mark.parametrize(
    ("position", "style"), list(itertools.product(LATER_ITEMS, ["plain", "single", "double"]))
)
def test_every_scalar_as_a_later_item_of_a_sequence(position: str, style: str) -> None:
    _agrees_where_answered(position, style)


@pytest.mark.parametrize(
    "text",
    [
        "a:\n  b:\n  - x\n  - 1e3\n",  # a string to PyYAML, a number to rapidyaml
        "a:\n  b:\n  - x\n  - 0777\n",
        "a: [x,   0777]\n",
        "a: [x,\n     1:30]\n",  # sexagesimal: 90 to PyYAML
        "a:\n- x\n- 1_000\n",
        "a:\n- x\n- -.5\n",
    ],
)
def test_a_literal_after_a_comma_and_indentation_takes_the_reference(text: str) -> None:
    assert fast_documents(text.encode()) is None


# The candidate patterns as they were before their repeats became possessive (and the string
# one's two groups became one): the same matches are found in any text (possessive repeats only
# skip backtracking that cannot succeed).
_GREEDY_STRING = rb'"([-+.0-9~<=][^"\\]*|[YyNnTtFfOo][a-zA-Z]{1,4}|)"(:?)'
_GREEDY_LITERAL = rb'([-+.0-9][^\s,\]}"]*)'
_JSONISH = st.binary(max_size=60) | st.text(
    st.sampled_from(list('"\\:,[]{} \n\t019-+.~<=eEyYnNtTfFoOaZx')), max_size=60
).map(str.encode)


@settings(max_examples=1000, deadline=None)
@given(_JSONISH)
def test_possessive_candidate_patterns_find_what_greedy_ones_did(data: bytes) -> None:
    import re

    from auditor.input.yamlfast import _LITERALS, _STRING_CANDIDATE

    found = [
        (raw[:-2], b":") if raw.endswith(b":") else (raw[:-1], b"")
        for raw in _STRING_CANDIDATE.findall(data)
    ]
    assert found == re.findall(_GREEDY_STRING, data)
    for pattern, prefix in zip(_LITERALS, (rb'": ', rb"\[\s*", rb",\s*"), strict=True):
        assert pattern.findall(data) == re.findall(prefix + _GREEDY_LITERAL, data)


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        ("a: 1\n%b: 2\n", False),  # `%` starting a line: a directive to PyYAML
        ("- a: 25%\n" * 100 + "%b: 2\n", False),  # past the places tried one by one
        ("- a: 25%\n  b: '%x'\n" * 100, True),  # `%` inside lines only (maxSurge: 25%)
        ("a: x<<y\n", False),  # `<<` anywhere (a superset of merge keys)
        ("a: x<y\n", True),
        ("a: [1, 2] # c\n", False),  # a comment on a flow collection's line
        ("a: 1 # c\nb: 2\n", True),
        ("a: 'x#y'\n", True),
    ],
)
def test_rare_markers_are_found_wherever_they_are(text: str, answers: bool) -> None:
    data = text.encode()
    fast = fast_documents(data)
    assert (fast is not None) is answers
    if fast is not None:
        assert _same_types(fast, _reference(data))


def test_a_byte_starting_a_line_is_found_past_the_places_tried_one_by_one() -> None:
    from auditor.input.yamlfast import _FEW, _starts_a_line

    many = b"x%" * (2 * _FEW)
    assert not _starts_a_line(many, b"%")
    assert _starts_a_line(many + b"\n%", b"%")
    assert _starts_a_line(b"%", b"%")
    assert _starts_a_line(b"a\n%", b"%")
    assert not _starts_a_line(b"a %\n", b"%")


def test_json_longer_than_the_scratch_buffer_is_written_whole() -> None:
    """Nested block lists on one line: rapidyaml's indented JSON grows with the square of the depth,
    far past the buffer sized from the YAML's length; the document is measured and written
    again, whole."""
    import ryml  # type: ignore[import-untyped]

    from auditor.input.yamlfast import _emit

    data = b"a:\n" + b"- " * 60 + b"1\n"  # lists in lists, on one line (rapidyaml: 63 at most)
    tree = ryml.parse_in_arena(data)
    whole = _emit(tree, tree.root_id())
    assert len(whole) > 2 * len(data) + 4096
    assert _emit(tree, tree.root_id(), bytearray(16)) == whole
    assert _emit(tree, tree.root_id(), bytearray(len(whole))) == whole
    fast = fast_documents(data)
    assert fast is not None
    assert _same_types(fast, _reference(data))
