"""Line recording's search over plain text gives exactly what the line walk gives.

auditor/input/lines.py answers `kubectl get -o yaml` text (ASCII, no control characters but
tab and newline) by searching it; every fixture, the peer corpus, a generated mesh and edge cases
here are answered both ways and compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from auditor.input.lines import document_starts, is_plain_text, item_starts
from tests.helpers import FIXTURES, ROOT

CORPUS = ROOT / "tests" / "data" / "peer-corpus"


def _both(text: str) -> None:
    plain = is_plain_text(text.encode())
    slow = document_starts(text)
    assert document_starts(text, plain=plain) == slow
    for index, line in enumerate(slow):
        last = slow[index + 1] - 1 if index + 1 < len(slow) else None
        assert item_starts(text, line, last, plain=plain) == item_starts(text, line, last)


def _texts() -> list[Path]:
    return sorted(
        p for p in [*FIXTURES.rglob("*"), *CORPUS.rglob("*")] if p.suffix in (".yaml", ".yml")
    )


@pytest.mark.parametrize("path", _texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_fixtures_and_peer_corpus(path: Path) -> None:
    _both(path.read_bytes().decode("utf-8-sig", errors="replace"))


EDGES = [
    "",
    "\n\n# c\n",
    "# header\n\napiVersion: v1\nkind: List\nitems:\n- a: 1\n- b: 2\n",
    "kind: List\nitems:\n  - a: 1\n    b:\n    - x\n  - c: 3\nmetadata: {}\n",
    "items:\n- a\n# comment\n- b\n",
    "items: []\nkind: List\n",
    "items:\n- a\nitems:\n- b\n",
    "%YAML 1.1\n---\nitems:\n- a\n",
    "a: 1\n---\nitems:\n- a\n- b\n...\n",
    "----\nitems:\n- a\n",
    "items:\n\t- a\n- b\n",
    "x: 1\n   \nitems:\n-  a\n- b\n-\n- c\n",
    "items:\n- a\n  - nested\n- b",
]


@pytest.mark.parametrize("text", EDGES)
def test_edge_cases(text: str) -> None:
    _both(text)


def test_generated_mesh(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    generate.write_yaml_dir(generate.generate(1000, seed=5), tmp_path)
    files = sorted(tmp_path.glob("*.yaml"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert is_plain_text(data)
        text = data.decode()
        _both(text)
        assert len(item_starts(text, document_starts(text)[0], None, plain=True)) > 0
