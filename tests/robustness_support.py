"""Helpers for the robustness tests (#20): run the CLI in-process on hostile input and assert the
promise: exit 0 or 2, never a traceback, one line for an error, and nothing from a tenant string
that can act on a terminal."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from auditor.cli import main
from tests.helpers import DEMO

# C0 controls but newline, DEL, C1 controls, bidi overrides and isolates.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

HOSTILE = (
    "\x1b]0;PWNED\x07",  # OSC: set the terminal title
    "\x1b[2J\x1b[31m",  # CSI: clear the screen, red
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\u202egnp.exe",  # right-to-left override
    "\x9b31m",  # C1 CSI
    '=HYPERLINK("http://evil/","x")',  # CSV formula
    "<b>&amp;</script>",  # markup
    "\x00nul",
)


def run(*args: str) -> Result:
    """The CLI in-process; a raised exception is kept on the result, not re-raised."""
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def assert_clean_exit(result: Result, codes: tuple[int, ...] = (0, 2)) -> None:
    """Exit 0 or 2, no traceback; an error is exactly one line starting `mesh-audit: error:`."""
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (
        f"crashed: {type(exc).__name__}: {exc}\n{result.stderr}"
    )
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert result.exit_code in codes, (result.exit_code, text[-2000:])
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("mesh-audit: error: "), lines[0]


def demo_copy(tmp_path: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """A copy of the demo mesh with textual edits {file: [(old, new), ...]} (each must apply)."""
    out = tmp_path / "mesh"
    shutil.copytree(DEMO, out, ignore=shutil.ignore_patterns("*.md"))
    for name, pairs in (edits or {}).items():
        path = out / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return out
