"""The documentation site (mkdocs.yml, docs/) says what the code does: the generated pages equal
the check registry and the CLI, every option and every check is documented, every page is in
the navigation. `mkdocs build --strict` (scripts/test.sh) checks the links and anchors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import yaml

from auditor import cli
from auditor.checks import all_checks
from auditor.checks.docs import severity_text
from tests.helpers import ROOT

DOCS = ROOT / "docs"


def prose() -> str:
    """Every page a person wrote (the generated CLI reference left out)."""
    return "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")) if p.name != "cli.md"
    )


def nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages += nav_pages(value) if isinstance(value, list) else [str(value)]
    return pages


def test_generated_pages_equal_the_registry_and_the_cli() -> None:
    # in a fresh interpreter: --help as a user gets it, whatever other tests did to click's
    # per-command state (a command run outside the group caches its own help option names)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_every_check_has_its_entry_in_the_checks_page() -> None:
    page = (DOCS / "checks.md").read_text(encoding="utf-8")
    for c in all_checks():
        assert f"| {c.meta.id} | {c.meta.category} | {severity_text(c.meta)} |" in page
        assert f"### {c.meta.id}: {c.meta.title} {{#{c.meta.id.lower()}}}" in page
        assert c.meta.remediation in page
    documented = set(re.findall(r"^### ([A-Z]+\d{3}):", page, re.M))
    assert documented == {c.meta.id for c in all_checks()}


def test_every_option_of_every_command_is_described_in_the_docs() -> None:
    text = prose()
    missing = []
    for name, command in cli.main.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            spelled = [o for o in param.opts if o.startswith("--")] or param.opts
            if not any(re.search(rf"{re.escape(o)}(?![\w-])", text) for o in spelled):
                missing.append(f"{name} {spelled[0]}")
    assert missing == []


def test_every_page_is_in_the_navigation_and_every_nav_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = nav_pages(config["nav"])
    files = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == files
    assert config["strict"] is True
    assert config["validation"]["nav"]["omitted_files"] == "warn"
    assert config["validation"]["links"]["anchors"] == "warn"


def test_the_test_command_builds_the_site_strictly() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert re.search(r"^NO_MKDOCS_2_WARNING=1 \.venv/bin/mkdocs build --strict", script, re.M)
    assert Path(ROOT / "mkdocs.yml").is_file()


def test_readme_is_short_and_every_link_reaches_a_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    # the two commands (the demo, the tests) and the one-line live audit
    assert ".venv/bin/mesh-audit scan --from fixtures/demo-mesh" in readme
    assert "./scripts/test.sh" in readme
    assert "mesh-audit --context prod" in readme
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", readme)]
    assert "docs/images/report-demo-html.png" in targets
    for target in targets:
        assert not target.startswith("http"), target
        assert (ROOT / target).is_file(), target
    # every page of the site is one link away
    pages = {str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md")}
    assert pages - {"docs/index.md"} <= set(targets)
