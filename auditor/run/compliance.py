"""Control frameworks: check results restated as an auditor's controls, and the input's digest.

A framework is data (auditor/frameworks/*.yaml, or an organisation's own file with the same
shape, validated by auditor/schema/framework.schema.json): controls, each with the identifier and
title its publisher gives it, our own one-line paraphrase, the checks that assess it and the
severity from which a finding fails it. A control's status is derived from the report alone:

- failed: some mapped check has an unwaived finding at or above the control's `fail_at`;
- not assessed: otherwise, some mapped check did not run (skipped for unreadable kinds, or error);
- waived: otherwise, every such finding is waived;
- passed: every mapped check ran and none has a finding at or above `fail_at`.

A framework's score is the share of assessed controls (passed, failed, waived) that passed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from auditor.base.errors import InputError
from auditor.base.model import Severity
from auditor.base.text import inert
from auditor.input.reading import read_bounded
from auditor.input.snapshot import Snapshot
from auditor.input.yamlsafe import yaml_documents
from auditor.report.score import is_waived

FRAMEWORK_PACKAGE = "auditor.frameworks"
PASSED, FAILED, NOT_ASSESSED, WAIVED = "passed", "failed", "not assessed", "waived"
STATUSES = (FAILED, NOT_ASSESSED, WAIVED, PASSED)
DEFAULT_FAIL_AT = "low"
DIGEST_METHOD = (
    "sha256 over the canonical JSON (sorted keys) of every object read, in order of API group, "
    "kind, namespace and name; Secret values are never read, so they are not part of it"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    id: str
    title: str
    url: str
    checks: tuple[str, ...]
    fail_at: Severity
    section: str = ""
    summary: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Framework:
    id: str
    title: str
    url: str
    controls: tuple[Control, ...]
    publisher: str = ""
    revision: str = ""
    origin: str = "built-in"  # or the file it was read from
    sha256: str = ""  # of the file's bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "publisher": self.publisher,
            "url": self.url,
            "revision": self.revision,
            "origin": self.origin,
            "sha256": self.sha256,
        }


# ---- loading ---------------------------------------------------------------------------------


@cache
def _validator() -> Any:
    import jsonschema

    text = resources.files("auditor.schema").joinpath("framework.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _where(path: Sequence[object]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_framework(
    text: bytes, *, origin: str, known_checks: Iterable[str] | None = None
) -> Framework:
    """A framework from YAML bytes; any problem is one InputError line naming the field."""
    # the one YAML loader (auditor/input/yamlsafe.py): alias budget, one-line errors
    docs = list(yaml_documents(origin, text, fast=False))
    if len(docs) != 1:
        raise InputError(f"{origin}: expected one YAML document, found {len(docs)}")
    doc = docs[0]
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = inert(_where(list(err.absolute_path)), 200)
        raise InputError(f"{origin}: {where}: {inert(err.message, 200)}")
    known = set(known_checks) if known_checks is not None else None
    controls: list[Control] = []
    seen: set[str] = set()
    for i, c in enumerate(doc["controls"]):
        if c["id"] in seen:
            raise InputError(f"{origin}: controls[{i}].id: {c['id']!r} appears twice")
        seen.add(c["id"])
        for j, check in enumerate(c["checks"]):
            if known is not None and check not in known:
                raise InputError(f"{origin}: controls[{i}].checks[{j}]: unknown check {check!r}")
        controls.append(
            Control(
                id=c["id"],
                title=c["title"],
                url=c["url"],
                checks=tuple(dict.fromkeys(c["checks"])),
                fail_at=Severity.parse(c.get("fail_at", DEFAULT_FAIL_AT)),
                section=c.get("section", ""),
                summary=c.get("summary", ""),
            )
        )
    return Framework(
        id=doc["id"],
        title=doc["title"],
        url=doc["url"],
        publisher=doc.get("publisher", ""),
        revision=doc.get("revision", ""),
        controls=tuple(controls),
        origin=origin,
        sha256=hashlib.sha256(text).hexdigest(),
    )


def _known_checks() -> list[str]:
    from auditor.checks import all_checks

    return [c.meta.id for c in all_checks()]


def builtin_names() -> list[str]:
    names = [
        p.name.removesuffix(".yaml")
        for p in resources.files(FRAMEWORK_PACKAGE).iterdir()
        if p.name.endswith(".yaml")
    ]
    return sorted(names)


def load_builtin(name: str) -> Framework:
    if name not in builtin_names():
        raise InputError(
            f"--framework: unknown framework {name!r} (choose from {', '.join(builtin_names())}, "
            "or give your own with --framework-file)"
        )
    text = resources.files(FRAMEWORK_PACKAGE).joinpath(f"{name}.yaml").read_bytes()
    fw = parse_framework(text, origin=f"{name} (built-in)", known_checks=_known_checks())
    return dataclasses.replace(fw, origin="built-in")


def load_file(path: str) -> Framework:
    text = read_bounded(Path(path))  # the input cap; unreadable is one line
    return parse_framework(text, origin=path, known_checks=_known_checks())


def load_frameworks(names: Sequence[str], files: Sequence[str]) -> list[Framework]:
    """Built-in frameworks by name, then files; the same framework id twice is an input error."""
    frameworks = [load_builtin(n) for n in dict.fromkeys(names)]
    frameworks += [load_file(f) for f in dict.fromkeys(files)]
    ids: set[str] = set()
    for fw in frameworks:
        if fw.id in ids:
            raise InputError(f"framework {fw.id!r} given twice ({fw.origin})")
        ids.add(fw.id)
    return frameworks


# ---- evaluation ------------------------------------------------------------------------------


def evaluate_control(
    control: Control,
    findings_by_check: Mapping[str, Sequence[Mapping[str, Any]]],
    run_status: Mapping[str, str],
) -> dict[str, Any]:
    failing = [
        f
        for check in control.checks
        for f in findings_by_check.get(check, ())
        if Severity.parse(str(f["severity"])) >= control.fail_at
    ]
    unwaived = [f for f in failing if not is_waived(f)]
    not_run = [c for c in control.checks if run_status.get(c, "not run") != "ran"]
    at = control.fail_at.label
    if unwaived:
        status = FAILED
        checks = sorted({str(f["check"]) for f in unwaived})
        reason = (
            f"{len(unwaived)} unwaived finding{'s' if len(unwaived) != 1 else ''} at or above "
            f"{at} ({', '.join(checks)})"
        )
    elif not_run:
        status = NOT_ASSESSED
        reason = "not assessed: " + ", ".join(
            f"{c} {run_status.get(c, 'not run')}" for c in not_run
        )
    elif failing:
        status = WAIVED
        reason = (
            f"{len(failing)} finding{'s' if len(failing) != 1 else ''} at or above {at}, all waived"
        )
    else:
        status = PASSED
        reason = f"every mapped check ran with no finding at or above {at}"
    return {
        "id": control.id,
        "title": control.title,
        "section": control.section,
        "url": control.url,
        "summary": control.summary,
        "fail_at": at,
        "status": status,
        "reason": reason,
        "checks": [{"id": c, "status": run_status.get(c, "not run")} for c in control.checks],
        "findings": sorted(str(f["id"]) for f in failing),
    }


def evaluate(framework: Framework, data: Mapping[str, Any]) -> dict[str, Any]:
    """One framework's compliance entry for report.json, from the report's findings and runs."""
    by_check: dict[str, list[Mapping[str, Any]]] = {}
    for f in data["findings"]:
        by_check.setdefault(str(f["check"]), []).append(f)
    # a check that ran but could not judge this input ("not judged: <why>") assesses nothing
    runs = {
        str(r["check"]): (
            str(r.get("message"))
            if str(r.get("message") or "").startswith("not judged")
            else str(r["status"])
        )
        for r in data["check_runs"]
    }
    controls = [evaluate_control(c, by_check, runs) for c in framework.controls]
    counts = {s: sum(1 for c in controls if c["status"] == s) for s in STATUSES}
    assessed = counts[PASSED] + counts[FAILED] + counts[WAIVED]
    return {
        "framework": framework.to_json(),
        "summary": {
            "controls": len(controls),
            "passed": counts[PASSED],
            "failed": counts[FAILED],
            "waived": counts[WAIVED],
            "not_assessed": counts[NOT_ASSESSED],
            "score": round(100 * counts[PASSED] / assessed) if assessed else None,
        },
        "controls": controls,
    }


def apply_frameworks(data: Mapping[str, Any], frameworks: Sequence[Framework]) -> dict[str, Any]:
    """Report data with `compliance[]` for these frameworks (replacing any it had)."""
    out = dict(data)
    out["compliance"] = [evaluate(fw, data) for fw in frameworks]
    return out


# ---- evidence --------------------------------------------------------------------------------


DIGEST_BATCH = 256


def input_digest(snapshot: Snapshot) -> dict[str, Any]:
    """What was audited, as a digest a re-scan of the same snapshot reproduces exactly."""
    digest = hashlib.sha256()
    objects = sorted(snapshot.all_objects(), key=attrgetter("group", "kind", "namespace", "name"))
    # each object's canonical JSON and a newline, hashed a batch at a time (a call per object
    # was a tenth of the digest's time; one call would hold the whole input's JSON at once)
    batch: list[bytes] = []
    for obj in objects:
        batch.append(_canonical(obj.raw))
        if len(batch) == DIGEST_BATCH:
            digest.update(b"\n".join(batch) + b"\n")
            batch.clear()
    if batch:
        digest.update(b"\n".join(batch) + b"\n")
    return {
        "input_sha256": digest.hexdigest(),
        "input_objects": len(objects),
        "method": DIGEST_METHOD,
    }


def _canonical(raw: Any) -> bytes:
    """Sorted-key JSON of an object; anything JSON cannot hold (a lone surrogate, a set, a
    non-string key from a hand-written file) falls back to its repr, so hostile input never
    breaks the digest."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return repr(raw).encode("utf-8", "backslashreplace")


def framework_table(frameworks: Sequence[Framework], output: str) -> str:
    """`mesh-audit frameworks`: the built-in catalogues as a table, JSON or Markdown."""
    rows = [
        {
            **fw.to_json(),
            "controls": [
                {"id": c.id, "title": c.title, "url": c.url, "checks": list(c.checks)}
                for c in fw.controls
            ],
        }
        for fw in frameworks
    ]
    if output == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()
    if output == "markdown":
        lines = ["| Framework | Controls | Source |", "|---|---|---|"]
        lines += [f"| `{r['id']}` {r['title']} | {len(r['controls'])} | {r['url']} |" for r in rows]
        return "\n".join(lines)
    width = max((len(r["id"]) for r in rows), default=9)
    lines = [f"{'FRAMEWORK':<{width}}  CONTROLS  TITLE"]
    lines += [f"{r['id']:<{width}}  {len(r['controls']):>8}  {r['title']}" for r in rows]
    return "\n".join(lines)
