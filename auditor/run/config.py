"""The configuration file: defaults for `scan` (formats, gates, waivers, suppressions).

`--config FILE`, or `.mesh-audit.yaml` in the working directory when it exists. Validated against
auditor/schema/config.schema.json; a bad file is one InputError line naming the key. Options given
on the command line win; `--suppress` values add to the file's. Relative paths in the file are
taken relative to the file's directory, so a repository can keep it beside its manifests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.base.errors import InputError
from auditor.base.model import Severity
from auditor.base.text import inert
from auditor.input.files import read_single_yaml
from auditor.run.waivers import Waiver, parse_waivers

DEFAULT_NAME = ".mesh-audit.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanConfig:
    source: str
    format: str | None = None
    output_dir: str | None = None
    fail_on: str | None = None
    fail_on_new: str | None = None
    fail_under: int | None = None
    baseline: str | None = None
    waivers_file: str | None = None
    waivers: tuple[Waiver, ...] | None = None  # inline entries
    suppress: tuple[str, ...] = field(default_factory=tuple)


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(
        resources.files("auditor.schema").joinpath("config.schema.json").read_text("utf-8")
    )
    return jsonschema.Draft202012Validator(schema)


def find_config(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """The file to read: --config, else .mesh-audit.yaml in the working directory if present."""
    if explicit is not None:
        return Path(explicit)
    default = (cwd or Path.cwd()) / DEFAULT_NAME
    return default if default.is_file() else None


def load_config(path: Path) -> ScanConfig:
    name = str(path)
    # the one YAML loader (auditor/input/yamlsafe.py): the input cap, the alias budget, one-line
    # errors, and timestamps kept as text so inline waivers' dates parse as in a waivers file
    data = read_single_yaml(path)
    if data is None:
        data = {}
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InputError(f"{name}: at {inert(where, 200)}: {inert(error.message, 200)}")
    base = path.parent

    def rel(value: str | None) -> str | None:
        return None if value is None else str(base / value)

    fmt = data.get("format")
    waivers = data.get("waivers")
    return ScanConfig(
        source=name,
        format=",".join(fmt) if isinstance(fmt, list) else fmt,
        output_dir=rel(data.get("output_dir")),
        fail_on=data.get("fail_on"),
        fail_on_new=data.get("fail_on_new"),
        fail_under=data.get("fail_under"),
        baseline=rel(data.get("baseline")),
        waivers_file=rel(waivers) if isinstance(waivers, str) else None,
        waivers=(
            tuple(parse_waivers({"waivers": waivers}, name)) if isinstance(waivers, list) else None
        ),
        suppress=tuple(data.get("suppress") or ()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSettings:
    """What `scan` runs with: the command line over the config file."""

    formats: str | None
    output_dir: str | None
    fail_on: Severity | None
    fail_on_new: Severity | None
    fail_under: int | None
    baseline_file: str | None
    waivers_file: str | None
    inline_waivers: tuple[Waiver, ...] | None
    suppress: tuple[str, ...]


def merge(
    cfg: ScanConfig | None,
    *,
    formats: str | None,
    output_dir: str | None,
    fail_on: Severity | None,
    fail_on_new: Severity | None,
    fail_under: int | None,
    baseline_file: str | None,
    waivers_file: str | None,
    suppress: tuple[str, ...],
) -> ScanSettings:
    """Each option given on the command line wins; the file fills in the rest."""
    c = cfg or ScanConfig(source="")

    def sev(given: Severity | None, text: str | None) -> Severity | None:
        return given if given is not None else (Severity.parse(text) if text else None)

    use_file_waivers = waivers_file is None
    return ScanSettings(
        formats=formats if formats is not None else c.format,
        output_dir=output_dir if output_dir is not None else c.output_dir,
        fail_on=sev(fail_on, c.fail_on),
        fail_on_new=sev(fail_on_new, c.fail_on_new),
        fail_under=fail_under if fail_under is not None else c.fail_under,
        baseline_file=baseline_file if baseline_file is not None else c.baseline,
        waivers_file=waivers_file if waivers_file is not None else c.waivers_file,
        inline_waivers=c.waivers if use_file_waivers else None,
        suppress=tuple(dict.fromkeys((*c.suppress, *suppress))),
    )
