"""benchmarks/cputime.py counts the CPU of a process its command left behind (an orphan), which
`getrusage` in the command's parent alone never sees."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT

# the command starts a grandchild that burns about 0.3 s of CPU after the command has exited
ORPHAN = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c",
    "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass"])
"""


def test_an_orphans_cpu_is_counted_and_the_exit_code_kept() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cputime.py"), sys.executable, "-c",
         ORPHAN + "sys.exit(3)"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3
    match = re.fullmatch(r"cputime: wall=\S+ user=\S+ sys=\S+ cpu=(\S+) exit=3\n", proc.stderr)
    assert match, proc.stderr
    assert float(match.group(1)) >= 0.3


def test_no_command_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cputime.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: cputime.py")
