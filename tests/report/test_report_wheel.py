"""Templates ship in the wheel: an installed copy renders the same HTML as the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from auditor.report.html import render_html
from tests.report_support import scan_case

RENDER = """
import json, sys
from pathlib import Path
import auditor, report_templates
assert Path(auditor.__file__).is_relative_to(sys.argv[1]), auditor.__file__
assert Path(report_templates.__file__).is_relative_to(sys.argv[1]), report_templates.__file__
from auditor.report.html import render_html
sys.stdout.write(render_html(json.loads(Path(sys.argv[2]).read_text())))
"""


def test_installed_wheel_renders_like_the_checkout(built_wheel: Path, tmp_path: Path) -> None:
    wheel = built_wheel  # tests/conftest.py: the one wheel of this run
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in (
        "report.html.j2",
        "macros.html.j2",
        "report.css",
        "changes.css",
        "print.css",
        "report.js",
    ):
        assert f"report_templates/{asset}" in names
    assert "auditor/schema/report.schema.json" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    data = dict(scan_case("small-mesh").data)
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(data))
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(target)!r})\n{RENDER}",
         str(target), str(saved)],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.stdout == render_html(data)
