"""--help guides: `scan` options in titled groups with examples, the top level names the
one-line live audit, and every example printed is a command the CLI accepts as written."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from click.testing import CliRunner

from auditor import cli
from auditor.base.model import Severity
from auditor.cli.scan_command import scan

GROUPS = [
    "Input: what is read",
    "Scope: what the report covers",
    "Output: reports and the terminal",
    "Gates: when the exit code is not 0",
    "Baselines and waivers: what is already known or accepted",
    "Delivery: S3 and webhooks",
    "Telemetry: observed traffic from Prometheus",
    "Performance: parallelism and the bounds of a live read",
    "Debugging",
]


def help_of(*args: str) -> str:
    result = CliRunner().invoke(cli.main, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def sections(text: str) -> dict[str, str]:
    """Heading line (no indent, ends with ':') -> the lines under it."""
    found: dict[str, str] = {}
    heading = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            heading = line[:-1]
            found[heading] = ""
        elif heading:
            found[heading] += line + "\n"
    return found


def examples(text: str) -> list[list[str]]:
    block = sections(text)["Examples"]
    commands = [line.strip() for line in block.splitlines() if line.strip().startswith("mesh-")]
    return [shlex.split(c)[1:] for c in commands]


def test_scan_help_shows_the_groups_in_order_then_examples() -> None:
    text = help_of("scan")
    headings = list(sections(text))
    assert headings == [*GROUPS, "Other options", "Examples"]
    assert 4 <= len(examples(text)) <= 6


def test_every_scan_option_is_in_a_titled_group() -> None:
    text = help_of("scan")
    parts = sections(text)
    assert parts["Other options"].split() == [
        "-h,",
        "--help",
        "Show",
        "this",
        "message",
        "and",
        "exit.",
    ]
    for param in scan.params:
        assert isinstance(param, click.Option)
        owner = [
            g
            for g in GROUPS
            if re.search(rf"(^|[ ,]){max(param.opts, key=len)}[ \n]", parts[g], re.M)
        ]
        assert len(owner) == 1, (param.opts, owner)


def test_options_keep_their_names_and_destinations() -> None:
    # the grouping moved declarations, not names: a sample across every group still parses
    # under the group, as the CLI runs it (a command's help option takes the group's names)
    parent = cli.main.make_context("mesh-audit", ["scan"])
    ctx = scan.make_context(
        "scan",
        ["--from", "x.yaml", "-n", "shop", "--format", "json", "--fail-on", "high",
         "--waivers", "w.yaml", "--notify-format", "json", "--since", "2d", "--jobs", "1",
         "--max-pages", "3", "--debug"],
        parent=parent,
    )  # fmt: skip
    assert ctx.params["from_paths"] == ("x.yaml",)
    assert ctx.params["namespaces"] == ("shop",)
    assert ctx.params["fail_on"] is Severity.HIGH
    assert (ctx.params["waivers_file"], ctx.params["notify_format"]) == ("w.yaml", "json")
    assert (ctx.params["since"], ctx.params["jobs"], ctx.params["debug"]) == ("2d", 1, True)


def test_top_level_help_names_the_live_audit_and_the_commands() -> None:
    text = help_of()
    assert "mesh-audit --context prod" in text
    parts = sections(text)
    assert parts["Audit"].split()[0] == "scan"
    named = {line.split()[0] for h in ("Audit", "Reports", "Reference") for line in
             parts[h].splitlines() if line.strip()}  # fmt: skip
    assert named == set(cli.main.commands)


@pytest.mark.parametrize("where", [(), ("scan",)])
def test_every_example_parses_as_written(where: tuple[str, ...]) -> None:
    for args in examples(help_of(*where)):
        if args[-1] in ("--help", "-h"):
            continue
        ctx = cli.main.make_context("mesh-audit", list(args))
        # what the group hands on: `--context prod` becomes `scan --context prod`
        protected = getattr(ctx, "_protected_args", None) or ctx.protected_args
        name, command, rest = cli.main.resolve_command(ctx, [*protected, *ctx.args])
        assert command is not None and name in cli.main.commands, args
        command.make_context(
            str(name), rest, parent=ctx
        )  # a UsageError on an unknown option or value
