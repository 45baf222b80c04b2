"""report_templates/ lives at the top of the repo but must ship inside the wheel.

Builds the wheel, installs it into a fresh virtual environment (not editable, outside the
checkout) and runs the installed `mesh-audit` on the demo mesh from another directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from tests.helpers import DEMO, ROOT


def test_wheel_contains_templates_and_schema(built_wheel: Path) -> None:
    names = set(zipfile.ZipFile(built_wheel).namelist())
    assert "report_templates/__init__.py" in names
    assert "auditor/schema/report.schema.json" in names
    assert "auditor/py.typed" in names
    templates = {n for n in names if n.startswith("report_templates/")}
    on_disk = {
        f"report_templates/{p.name}"
        for p in (ROOT / "report_templates").iterdir()
        if p.suffix in (".j2", ".css", ".html", ".py")
    }
    assert on_disk <= templates


def test_installed_wheel_runs_the_demo(built_wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # dependencies come from the index (or pip's cache); the project itself only from the wheel.
    # The test environment's pip installs into the new one (--python): no pip of its own to
    # bootstrap, and nothing byte-compiled ahead (what runs compiles on import), about 10 s of
    # CPU less
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-compile",
         str(built_wheel)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [
            str(env_dir / "bin" / "mesh-audit"),
            "scan",
            "--from",
            str(DEMO),
            "--format",
            "json",
            "--output-dir",
            str(out),
            "-q",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text())
    assert data["tool"] == {"name": "mesh-audit", "version": "0.1.0"}
    located = subprocess.run(
        [str(py), "-c", "import report_templates, auditor; print(report_templates.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env_dir) in located
