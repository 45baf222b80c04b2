"""CFG011: exportTo entries naming a namespace that does not exist (fixtures/cases/exportto,
modelled on Kiali's exportto checker data; README.md there names the sources)."""

from __future__ import annotations

from tests.case_helpers import report_for


def _found(case: str) -> set[tuple[str, str, str, str, str, str]]:
    return {
        (
            f["check"],
            f["resource"]["kind"],
            f["resource"]["namespace"],
            f["resource"]["name"],
            f["path"],
            f["severity"],
        )
        for f in report_for(case)["findings"]
        if f["check"] == "CFG011"
    }


def _run(case: str) -> dict[str, object]:
    (run,) = [r for r in report_for(case)["check_runs"] if r["check"] == "CFG011"]
    return dict(run)


def test_missing_namespaces_when_the_list_is_complete() -> None:
    annotation = "metadata.annotations[networking.istio.io/exportTo]"
    assert _found("exportto/exportto-snapshot.json") == {
        ("CFG011", "DestinationRule", "bookinfo", "dr-exportto-invalid", "spec.exportTo[0]", "low"),
        ("CFG011", "DestinationRule", "bookinfo", "dr-exportto-invalid", "spec.exportTo[1]", "low"),
        ("CFG011", "Service", "bookinfo", "reviews", annotation, "low"),
    }
    assert _run("exportto/exportto-snapshot.json") == {
        "check": "CFG011",
        "status": "ran",
        "message": "",
        "missing_kinds": [],
        "findings": 3,
    }


def test_file_input_is_not_judged_rather_than_clean() -> None:
    assert _found("exportto/exportto-files.yaml") == set()
    run = _run("exportto/exportto-files.yaml")
    assert run["status"] == "ran"
    assert run["message"] == (
        "not judged: the Namespace list was not read from a cluster (file input), so a "
        "namespace missing from it may still exist"
    )
