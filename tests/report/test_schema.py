"""report.json validates against the published JSON Schema, and the registry stays consistent."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from auditor.base.model import Category
from auditor.checks import all_checks
from auditor.checks.registry import ID_PATTERN
from tests.helpers import DEMO, scan_paths


def schema() -> dict:
    text = resources.files("auditor").joinpath("schema/report.schema.json").read_text()
    return json.loads(text)


def test_demo_report_validates_against_schema() -> None:
    report = scan_paths(DEMO)
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(report.data), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_schema_rejects_a_broken_report() -> None:
    report = dict(scan_paths(DEMO).data)
    report["findings"] = [{"id": "nope"}]
    assert not jsonschema.Draft202012Validator(schema()).is_valid(report)


def test_registry_metadata_is_complete() -> None:
    checks = all_checks()
    assert checks, "no checks registered"
    for chk in checks:
        meta = chk.meta
        assert ID_PATTERN.match(meta.id), meta.id
        assert meta.title and meta.remediation and meta.rationale, meta.id
        assert isinstance(meta.category, Category)
        assert chk.needs, f"{meta.id} declares no kinds it reads"
        assert meta.references, f"{meta.id} has no references"
        assert len(chk.doc.split()) >= 30, f"{meta.id}: the docstring is its documentation page"


def test_finding_ids_are_stable_across_runs() -> None:
    first = [f["id"] for f in scan_paths(DEMO).data["findings"]]
    second = [f["id"] for f in scan_paths(DEMO).data["findings"]]
    assert first == second
    assert len(set(first)) == len(first)


def test_docs_list_every_check() -> None:
    """docs/checks.md's table is `mesh-audit checks --format markdown`, kept in step."""
    from auditor.checks.docs import render_checks
    from tests.helpers import ROOT

    assert render_checks("markdown") in (ROOT / "docs" / "checks.md").read_text()


def test_every_check_has_cases() -> None:
    """Each check is asserted on fixture cases somewhere: in a test that names its exact findings,
    or through the istioctl analyze corpus (COVERAGE in test_peer_conformance)."""
    from tests.checks.test_peer_conformance import COVERAGE
    from tests.helpers import ROOT

    covered = {cid for checks in COVERAGE.values() for cid in checks}
    text = "\n".join(
        p.read_text()
        for p in (ROOT / "tests").rglob("test_*.py")
        if p.name not in ("test_schema.py", "test_peer_conformance.py")
    )
    missing = [
        c.meta.id
        for c in all_checks()
        if c.meta.id not in covered and f'("{c.meta.id}", ' not in text
    ]
    assert missing == []
