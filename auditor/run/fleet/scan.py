"""`scan --context a --context b` / `--all-contexts`: audit several clusters in one run.

Each context is scanned on a bounded pool of threads (collection is I/O-bound; the pool keeps a
large fleet from opening hundreds of API connections at once), into its own report folder; a
context that cannot be read is recorded and the others go on. The CLI builds the fleet summary
from the reports that were written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.base.errors import AuditError, InputError
from auditor.input.files import read_single_yaml

DEFAULT_PARALLEL = 4


@dataclass(slots=True, kw_only=True)
class ContextRun:
    context: str
    data: dict[str, Any] | None = None
    written: list[Path] = field(default_factory=list)
    code: int | None = None  # what delivery asked for (5, 6) or None
    error: str = ""  # one line, when the context produced no report
    error_code: int = 0


def kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    if kubeconfig:
        return [Path(kubeconfig)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def kubeconfig_contexts(kubeconfig: str | None) -> list[str]:
    """Every context name in the kubeconfig file(s), in file order, without duplicates."""
    names: list[str] = []
    for path in kubeconfig_paths(kubeconfig):
        if not path.exists():
            continue  # as kubectl: a missing file in $KUBECONFIG is skipped
        try:
            doc = read_single_yaml(path)  # the one YAML loader: cap, alias budget, one line
        except InputError as exc:
            raise InputError(f"cannot read kubeconfig: {exc}") from None
        for ctx in (doc or {}).get("contexts") or [] if isinstance(doc, dict) else []:
            if isinstance(ctx, dict) and ctx.get("name"):
                names.append(str(ctx["name"]))
    found = list(dict.fromkeys(names))
    if not found:
        where = ", ".join(str(p) for p in kubeconfig_paths(kubeconfig))
        raise InputError(f"--all-contexts: no contexts in {where}")
    return found


def folder_for(context: str) -> str:
    """A context name as a folder name (names like `arn:aws:eks:...:cluster/prod` have `/`)."""
    from auditor.run.deliver.summary import CLUSTER_NAME

    return CLUSTER_NAME.sub("-", context).strip(".-") or "context"


def scan_contexts(
    contexts: Sequence[str],
    one: Callable[[str], ContextRun],
    parallel: int = DEFAULT_PARALLEL,
) -> list[ContextRun]:
    """Run `one` per context, at most `parallel` at once; a context's AuditError is recorded."""

    def guarded(context: str) -> ContextRun:
        try:
            return one(context)
        except AuditError as exc:
            return ContextRun(context=context, error=str(exc), error_code=exc.exit_code)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(contexts)))) as pool:
        return list(pool.map(guarded, contexts))


def check_folders(contexts: Sequence[str]) -> None:
    """Two contexts must not share a report folder (`a/b` and `a-b` both become `a-b`)."""
    seen: dict[str, str] = {}
    for context in contexts:
        folder = folder_for(context)
        if folder in seen:
            raise InputError(
                f"contexts {seen[folder]} and {context} would share the report folder {folder}"
            )
        seen[folder] = context


def exit_code(runs: Sequence[ContextRun], findings_gate: Callable[[dict[str, Any]], bool]) -> int:
    """The worst context's code by the documented precedence (auditor/base/errors.py
    PRECEDENCE): 3, 2, 4 (an incomplete context: fail closed), 6, 5, 1, 0."""
    from auditor.base.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, worst
    from auditor.input.completeness import is_incomplete

    def one(run: ContextRun) -> int:
        if run.error:
            return run.error_code
        if run.data is not None and is_incomplete(run.data):
            return EXIT_INCOMPLETE
        if run.code is not None:
            return run.code
        if run.data is not None and findings_gate(run.data):
            return EXIT_FINDINGS
        return EXIT_OK

    return worst(one(r) for r in runs)


def fleet_summary(
    runs: Sequence[ContextRun],
    output_dir: Path,
    formats: Sequence[str],
    generated_at: str,
) -> tuple[dict[str, Any], list[Path]]:
    """The fleet report of this run's contexts, written beside their folders."""
    from auditor.report.fleet_render import write_fleet
    from auditor.run.fleet.model import build_fleet
    from auditor.run.fleet.sources import ClusterReport

    items = [
        ClusterReport(r.context, str(output_dir / folder_for(r.context) / "report.json"), r.data)
        for r in runs
        if r.data is not None
    ]
    errors = {r.context: r.error for r in runs if r.error}
    data = build_fleet(items, generated_at=generated_at, errors=errors)
    names = ["json", "html", *(["pdf"] if "pdf" in formats else [])]
    return data, write_fleet(data, names, output_dir)
