"""YAML parsed in worker processes reads exactly as YAML parsed in this one (collect/yamlpool.py).

Each comparison loads the same input twice, with `jobs=1` (every file in this process) and with
worker processes, and holds every object (kind, name, origin, exact JSON, in order), every
recorded line, every warning and every error message to be the same. The workers are real
forked processes; the tests also pin that they did the parsing (not a silent fallback), that a
file they decline or fail on is read by the main process with its own error, and when workers
are started at all.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.input import yamlpool
from auditor.input.files import load_paths
from auditor.input.yamlpool import (
    Loaded,
    Parsed,
    cgroup_cpu_quota,
    parsed_files,
    worker_count,
)
from auditor.input.yamlsplit import Split, split
from tests.helpers import CASES, DEMO, ROOT

CORPUS = ROOT / "tests" / "data" / "peer-corpus"


_started: list[int] = []


@pytest.fixture(autouse=True)
def _single_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's loopback API server runs in a thread of this process, and yamlpool does not
    fork a process with threads; that idle server thread holds nothing a worker needs, so these
    tests let it fork, and record how many workers each load started."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    real = yamlpool.worker_count

    def recorded(paths: list[Path], jobs: int | None) -> int:
        _started.append(real(paths, jobs))
        return _started[-1]

    monkeypatch.setattr(yamlpool, "worker_count", recorded)
    _started.clear()


def _outcome(paths: list[Path], jobs: int) -> Any:
    """Everything load_paths gives for `paths`, as plain data, or its error message."""
    try:
        snapshot = load_paths([str(p) for p in paths], jobs=jobs)
    except InputError as exc:
        return f"error: {exc}"
    return {
        "objects": [
            (o.group, o.kind, o.namespace, o.name, o.origin, orjson.dumps(o.raw))
            for o in snapshot.all_objects()
        ],
        "lines": snapshot.lines,
        "warnings": [w.to_json() for w in snapshot.warnings],
        "inventory": dict(snapshot.inventory),
        "source": snapshot.source.to_json(),
    }


INPUTS = [
    [DEMO],
    *([area] for area in sorted(CASES.iterdir()) if area.is_dir()),
    *([case] for case in sorted((CASES / "input").iterdir()) if case.is_dir()),
    [CORPUS],
]


@pytest.mark.parametrize("paths", INPUTS, ids=lambda ps: ",".join(p.name for p in ps))
def test_workers_read_every_fixture_exactly_as_this_process(paths: list[Path]) -> None:
    with_workers = _outcome(paths, jobs=2)
    yaml_files = [
        p for d in paths for p in d.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    ]
    expected = 2 if len(yaml_files) >= 2 else 0
    assert _started == [expected]
    assert with_workers == _outcome(paths, jobs=1)
    assert _started[1:] == [0]


def test_the_comparisons_cover_lists_errors_and_warnings() -> None:
    """The inputs above include a `kind: List` with item lines, a syntax error and warnings."""
    lists = _outcome([CASES / "input" / "kubectl-list"], jobs=2)
    assert any(".items[" in origin for origin in lists["lines"])
    broken = _outcome([CASES / "input" / "syntax-error"], jobs=2)
    assert broken.startswith("error: ") and "broken.yaml:" in broken
    malformed = _outcome([CASES / "input" / "malformed"], jobs=2)
    assert malformed["warnings"]


def test_workers_parse_what_the_fast_path_answers_and_leave_the_rest() -> None:
    files = sorted(DEMO.glob("*.yaml"))
    got = dict(parsed_files(files, workers=2))
    assert list(got) == files  # in order
    # the fast path declines 50-payments.yaml (tests/input/test_yaml_fast_path.py): the main process
    # reads it; every other file came back parsed from a worker
    assert [p.name for p, parsed in got.items() if parsed is None] == ["50-payments.yaml"]
    first = got[files[0]]
    assert isinstance(first, Loaded) and first.lines is not None
    assert len(list(first.objects())) == len(first.lines[0])


def test_files_not_named_yaml_are_read_by_the_main_process(tmp_path: Path) -> None:
    shutil.copy(CASES / "input" / "kubectl-list" / "virtualservices.json", tmp_path / "a.json")
    shutil.copy(CASES / "input" / "kubectl-list" / "gateways.yaml", tmp_path / "b.yaml")
    shutil.copy(DEMO / "40-shop.yaml", tmp_path / "c.yml")
    got = list(parsed_files(sorted(tmp_path.iterdir()), workers=2))
    assert [(p.name, parsed is not None) for p, parsed in got] == [
        ("a.json", False),
        ("b.yaml", True),
        ("c.yml", True),
    ]
    assert _outcome([tmp_path], jobs=2) == _outcome([tmp_path], jobs=1)


def test_an_oversized_file_is_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot read a file within the limits leaves it to the main process, which
    refuses it with the limit's message (forked workers share this process's LIMITS)."""
    small, large = tmp_path / "a.yaml", tmp_path / "b.yaml"
    shutil.copy(DEMO / "60-marketing.yaml", small)
    shutil.copy(DEMO / "40-shop.yaml", large)
    size = large.stat().st_size
    assert small.stat().st_size < size
    monkeypatch.setattr(LIMITS, "max_file_bytes", size - 1)
    outcome = _outcome([small, large], jobs=2)
    assert outcome == _outcome([small, large], jobs=1)
    assert outcome == (
        f"error: {large}: file is larger than {size - 1} bytes, the input limit (docs/limits.md)"
    )


_PARSE = yamlpool._parse


def _dies_on_the_third(name: str) -> Parsed | None:
    """In a worker: parse, except that the worker is killed by the third file."""
    if name.endswith("2.yaml"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _PARSE(name)


def test_a_worker_that_dies_leaves_the_rest_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(6):
        shutil.copy(DEMO / "40-shop.yaml", tmp_path / f"{i}.yaml")
    monkeypatch.setattr(yamlpool, "_parse", _dies_on_the_third)
    files = sorted(tmp_path.iterdir())
    got = list(parsed_files(files, workers=2))
    assert [p for p, _ in got] == files
    # from the file that killed its worker on, every file is left to this process (the first
    # two may or may not have come back before the pool noticed the death)
    assert [parsed for _, parsed in got[2:]] == [None] * 4
    assert _outcome([tmp_path], jobs=2) == _outcome([tmp_path], jobs=1)


def test_when_workers_are_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = [tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.json"]
    for path in small:
        path.write_text("{}\n")
    monkeypatch.setattr(yamlpool, "available_cpus", lambda: 2)
    assert worker_count(small, jobs=1) == 0  # --jobs 1: this process
    assert worker_count(small, jobs=4) == 2  # asked for: at most one per YAML file
    assert worker_count(small[:1], jobs=4) == 0  # one YAML file: nothing to share
    assert worker_count(small, jobs=None) == 0  # automatic: too little YAML to pay for workers
    monkeypatch.setattr(yamlpool, "POOL_MIN_BYTES", 4)
    assert worker_count(small, jobs=None) == 2
    monkeypatch.setattr(yamlpool, "available_cpus", lambda: 1)
    assert worker_count(small, jobs=None) == 0  # one CPU (a CronJob's limit): this process


def test_cpu_quota_of_cgroup_v2_and_v1(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(tmp_path) is None
    assert cgroup_cpu_quota(tmp_path / "missing") is None


def test_a_process_with_threads_parses_in_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert worker_count(sorted(DEMO.glob("*.yaml")), jobs=4) == 0


def test_cli_jobs_option(tmp_path: Path) -> None:
    """`scan --from DIR --jobs 2` writes the report `--jobs 1` writes."""
    from click.testing import CliRunner

    from auditor.cli import main

    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        result = CliRunner().invoke(
            main,
            [
                "scan",
                "--from",
                str(DEMO),
                "--jobs",
                jobs,
                "--format",
                "json",
                "--output-dir",
                str(out),
            ],
        )
        assert result.exit_code in (0, 1), result.output
        data = orjson.loads((out / "report.json").read_bytes())
        assert data.pop("command")[4:6] == ["--jobs", jobs]
        data.pop("generated_at")  # the clock, to the second
        outputs.append(data)
    assert outputs[0] == outputs[1]
    assert _started == [0, 2]  # --jobs 1: none; --jobs 2: two workers really parsed


@pytest.fixture
def cut_everything(monkeypatch: pytest.MonkeyPatch) -> list[Split | None]:
    """Every YAML file is cut (collect/yamlsplit.py), between every two documents or List
    items; returns each cut made."""
    monkeypatch.setattr(yamlpool, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(yamlpool, "PIECE_MIN_BYTES", 1)
    monkeypatch.setattr(yamlpool, "PIECES_PER_WORKER", 1 << 40)
    return _record_cuts(monkeypatch)


def _record_cuts(monkeypatch: pytest.MonkeyPatch) -> list[Split | None]:
    cuts: list[Split | None] = []

    def recorded(data: bytes, target: int) -> Split | None:
        cuts.append(split(data, target))
        return cuts[-1]

    monkeypatch.setattr(yamlpool, "split", recorded)
    return cuts


@pytest.mark.parametrize("paths", INPUTS, ids=lambda ps: ",".join(p.name for p in ps))
def test_files_cut_at_every_document_and_item_read_exactly_as_whole(
    paths: list[Path], cut_everything: list[Split | None]
) -> None:
    """Cut pieces parsed by workers (jobs=2) or in this process (jobs=1), against the whole
    files read as they are without cutting."""
    assert _outcome(paths, jobs=2) == _uncut(paths)
    assert _outcome(paths, jobs=1) == _uncut(paths)


def _uncut(paths: list[Path]) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlpool, "SPLIT_MIN_BYTES", 1 << 62)
        return _outcome(paths, jobs=1)


def test_the_demo_mesh_and_fixtures_are_really_cut(cut_everything: list[Split | None]) -> None:
    """The comparison above is not vacuous: Lists are cut into items, streams into documents."""
    _outcome([DEMO], jobs=2)
    demo = [cut for cut in cut_everything if cut is not None]
    assert {cut.kind for cut in demo} == {"items", "documents"}
    assert sum(len(cut.pieces) for cut in demo) > 50


KUBECTL_LIST = b"""apiVersion: v1
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: a
- apiVersion: v1
  kind: Namespace
  metadata:
    name: b
- apiVersion: v1
  kind: Namespace
  metadata:
    name: c
kind: List
metadata:
  resourceVersion: ""
"""


def test_split_a_kubectl_list_into_items_and_a_skeleton() -> None:
    cut = split(KUBECTL_LIST, 1)
    assert cut is not None and cut.kind == "items"
    assert [(p.first_line, bytes(p.text).split(b"\n")[3]) for p in cut.pieces] == [
        (3, b"    name: a"),
        (7, b"    name: b"),
        (11, b"    name: c"),
    ]
    assert cut.skeleton == (
        b'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n'
    )
    indented = b"kind: List\nitems:\n  - name: a\n    x: 1\n  - name: b\n  - name: c\nz: 1\n"
    indented_cut = split(indented, 1)
    assert indented_cut is not None
    assert [bytes(p.text) for p in indented_cut.pieces] == [
        b"  - name: a\n    x: 1\n",
        b"  - name: b\n",
        b"  - name: c\n",
    ]
    assert indented_cut.skeleton == b"kind: List\nitems: []\nz: 1\n"


@pytest.mark.parametrize(
    "text",
    [
        KUBECTL_LIST.replace(
            b"- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b",
            b"# c\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b",
        ),
        KUBECTL_LIST + b"items:\n- x\n",  # a second items key
        KUBECTL_LIST.replace(b"name: a", b"name:\ta"),  # a tab
        KUBECTL_LIST.replace(b"name: a", "name: \u00e4".encode()),  # not ASCII
        KUBECTL_LIST.replace(b"items:\n", b"items: # the objects\n"),
        b"%YAML 1.1\n---\n" + KUBECTL_LIST,
    ],
    ids=[
        "comment-in-items",
        "two-items-keys",
        "tab",
        "non-ascii",
        "comment-after-key",
        "directive",
    ],
)
def test_what_is_not_cut(text: bytes) -> None:
    assert split(text, 1) is None


def test_split_a_stream_between_documents() -> None:
    stream = b"a: 1\n---\nb: 2\n--- \nc: 3\n---\n"
    cut = split(stream, 1)
    assert cut is not None and cut.kind == "documents"
    assert [(p.first_line, bytes(p.text)) for p in cut.pieces] == [
        (1, b"a: 1\n"),
        (2, b"---\nb: 2\n"),
        (4, b"--- \nc: 3\n"),
        (6, b"---\n"),
    ]


@pytest.mark.parametrize("where", ["a", "c"])
def test_a_cut_inside_a_quoted_scalar_reads_the_whole_file(
    tmp_path: Path, cut_everything: list[Split | None], where: str
) -> None:
    """PyYAML lets a double-quoted scalar continue on a line that looks like a new item; the
    piece before the cut is then unterminated and refused, and the main process reads the whole
    file for what it holds from there on (in the first item: all of it; in the third: the items
    after the two already read)."""
    text = KUBECTL_LIST.replace(
        f"    name: {where}\n".encode(), f'    name: {where}\n    x: "one\n- two"\n'.encode()
    )
    (tmp_path / "a.yaml").write_bytes(text)
    (tmp_path / "b.yaml").write_bytes(KUBECTL_LIST.replace(b"name: ", b"name: b-"))
    outcome = _outcome([tmp_path], jobs=2)
    assert cut_everything[0] is not None and len(cut_everything[0].pieces) == 4
    assert outcome == _uncut([tmp_path]) == _outcome([tmp_path], jobs=1)
    names = [o[3] for o in outcome["objects"]]
    assert names == ["a", "b", "c", "b-a", "b-b", "b-c"]
    assert b'"x":"one - two"' in outcome["objects"]["ac".index(where) * 2][5]


def test_a_generated_mesh_in_one_file_is_cut_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `kubectl get -A -o yaml > all.yaml` form of the benchmark's mesh: one List."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate  # type: ignore[import-not-found]
        import run  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    generate.write_yaml_dir(generate.generate(1000, seed=5), tmp_path / "dir")
    one = tmp_path / "one" / "all.yaml"
    one.parent.mkdir()
    run.one_file(tmp_path / "dir").rename(one)  # the benchmark's yaml-file-scan input
    monkeypatch.setattr(yamlpool, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(yamlpool, "PIECE_MIN_BYTES", 64 << 10)
    cuts = _record_cuts(monkeypatch)
    cut_up = _outcome([one.parent], jobs=2)
    [cut] = cuts
    assert cut is not None and cut.kind == "items" and len(cut.pieces) > 4
    whole = _uncut([one.parent])
    assert cut_up == whole
    assert _outcome([one.parent], jobs=1) == whole  # cut, parsed in this process
    assert len(whole["objects"]) > 1000
    assert len([k for k in whole["lines"] if ".items[" in k]) == len(whole["objects"])


_PARSE_PIECE = yamlpool._parse_piece


def _dies_on_item_c(kind: str, data: bytes) -> Parsed | None:
    """In a worker: parse a piece, except that the worker is killed by the one holding `c`."""
    if b"name: c\n" in data:
        os.kill(os.getpid(), signal.SIGKILL)
    return _PARSE_PIECE(kind, data)


def test_a_worker_that_dies_inside_a_cut_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut_everything: list[Split | None]
) -> None:
    """Items a and b come from their pieces, c from the whole file read in this process, and
    the next file is read in this process too: the same objects and lines as without cutting."""
    (tmp_path / "a.yaml").write_bytes(KUBECTL_LIST)
    (tmp_path / "b.yaml").write_bytes(KUBECTL_LIST.replace(b"name: ", b"name: b-"))
    monkeypatch.setattr(yamlpool, "_parse_piece", _dies_on_item_c)
    outcome = _outcome([tmp_path], jobs=2)
    assert cut_everything[0] is not None and len(cut_everything[0].pieces) == 3
    assert outcome == _uncut([tmp_path])
    assert [o[3] for o in outcome["objects"]] == ["a", "b", "c", "b-a", "b-b", "b-c"]


@pytest.mark.parametrize("name", ["list.yaml", "concatenated.yaml"])
def test_a_repeated_key_is_refused_by_workers_and_in_cut_pieces(
    tmp_path: Path, cut_everything: list[Split | None], name: str
) -> None:
    """A worker's fast path reads a repeated key as orjson does (the last value wins): the key
    count it sends back makes the main process decline the piece or file, and the reference
    refuses it with its line, whether the file was cut, parsed by workers or in this process."""
    source = CASES / "input" / "duplicate-keys" / name
    (tmp_path / name).write_bytes(source.read_bytes())
    (tmp_path / "z-other.yaml").write_bytes(KUBECTL_LIST)  # two files: workers are started
    line = {"list.yaml": "32:13", "concatenated.yaml": "23:1"}[name]
    for jobs in (2, 1):
        outcome = _outcome([tmp_path], jobs=jobs)
        assert outcome.startswith(f"error: {tmp_path / name}:{line}: invalid YAML: mapping key ")
    if name == "list.yaml":  # one List: cut between its items (the other file is one document)
        assert cut_everything[0] is not None and len(cut_everything[0].pieces) == 2
    assert _uncut([tmp_path]) == outcome
