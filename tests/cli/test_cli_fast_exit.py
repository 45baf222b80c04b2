"""The console script ends with os._exit: exit codes and buffered output must survive it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import DEMO

RUN = [sys.executable, "-c", "from auditor.cli import run; run()"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, timeout=120)


def test_findings_at_fail_on_exit_1_with_the_summary_printed(tmp_path: Path) -> None:
    done = _run("scan", "--from", str(DEMO), "--fail-on", "low", "--output-dir", str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert "Findings at medium and above, worst first:" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())  # written whole before exit
    assert report["findings"]


def test_input_error_exits_2_with_its_message() -> None:
    done = _run("scan", "--from", "/nonexistent/mesh")
    assert done.returncode == 2
    assert "no such file or directory" in done.stderr


def test_long_piped_output_is_flushed_whole() -> None:
    done = _run("checks", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) > 10


def test_usage_error_keeps_clicks_exit_code() -> None:
    done = _run("scan", "--format")
    assert done.returncode == 2
    assert "requires an argument" in done.stderr
