"""The terminal summary: width from the terminal (nothing cut when piped), colour only on a
terminal without NO_COLOR/--no-color, and repeated bypass reasons printed once."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.base.text import inert
from auditor.input.files import load_paths
from auditor.report.terminal import render, style_for
from auditor.run.scan import scan
from tests.helpers import DEMO, FIXED_CLOCK
from tests.pipeline_helpers import AFTER, COMMON, run_cli


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return dict(scan(load_paths([str(DEMO)]), generated_at=FIXED_CLOCK).data)


@pytest.mark.parametrize(
    ("tty", "env", "no_color", "expected"),
    [
        (False, {"COLUMNS": "60"}, False, (None, False)),  # piped: nothing cut, no colour
        (True, {}, False, (132, True)),  # the terminal's own size
        (True, {"COLUMNS": "60"}, False, (60, True)),
        (True, {"COLUMNS": "wide"}, False, (132, True)),
        (True, {"NO_COLOR": "1"}, False, (132, False)),
        (True, {"NO_COLOR": ""}, False, (132, True)),  # no-color.org: set and not empty
        (True, {}, True, (132, False)),  # --no-color
    ],
)
def test_style_for(
    tty: bool, env: dict[str, str], no_color: bool, expected: tuple[int | None, bool]
) -> None:
    assert style_for(tty, env, no_color=no_color, columns=132) == expected


def test_piped_output_is_never_cut(demo: dict[str, Any]) -> None:
    data = dict(demo)
    long_name = "a-very-long-gateway-name-" * 8
    finding = dict(data["findings"][0])
    finding["resource"] = {**finding["resource"], "name": long_name}
    finding["message"] = "m" * 400
    data["findings"] = [finding]
    text = render(data, width=None)
    assert long_name in text and "m" * 400 in text
    assert "…" not in text
    narrow = render(data, width=60)
    assert all(len(line) <= 60 for line in narrow.splitlines())
    assert any(line.endswith("…") for line in narrow.splitlines())


def test_colour_only_the_severity_tag(demo: dict[str, Any]) -> None:
    data = dict(demo)
    finding = dict(data["findings"][0])
    finding["resource"] = {**finding["resource"], "name": "evil\x1b[2Jname"}
    data["findings"] = [finding]
    plain, coloured = render(data, width=None), render(data, width=None, color=True)
    assert "\x1b" not in plain
    assert inert("evil\x1b[2Jname") in coloured  # tenant escapes stay neutralised
    tag = f"[{finding['severity'].upper():8}]"
    code = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "2"}
    assert f"  \x1b[{code[finding['severity']]}m{tag}\x1b[0m" in coloured
    assert coloured.count("\x1b[") == 2  # one colour, one reset
    assert (
        coloured.replace(f"\x1b[{code[finding['severity']]}m", "").replace("\x1b[0m", "") == plain
    )


def test_bypass_reasons_are_grouped_once(demo: dict[str, Any]) -> None:
    # #11: bypass reasons are per port and name the workload that can send it out directly
    text = render(demo, width=None)
    lines = text.splitlines()
    egress = lines[lines.index("Egress: 9 external hosts, 1 through an egress gateway") :]
    reasons = [line for line in egress if line.startswith("    ") and ". " in line]
    legacy = (
        "    19. port 443: outside the mesh (namespace not labelled for injection): Deployment "
        "legacy/legacy-billing (no egress NetworkPolicy) (*.com, api.github.com, api.stripe.com)"
    )
    assert legacy in reasons
    assert (
        # hosts worst first (auditor/report/risk.py)
        "    11. not routed through an egress gateway (settlement-db.bank-partner.example.net, "
        "*.com, api.acquirer.example.net, api.github.com)"
    ) in reasons
    assert "    29. not registered by any ServiceEntry (api.unknown-partner.io)" in reasons
    assert sum(line == legacy for line in lines) == 1  # printed once, numbered on each host
    # its only route leads nowhere (sidecars answer 503): only what escapes them gets out
    assert (
        "  api.unknown-partner.io 80/HTTP BLACK-HOLE [TLS origination: sidecar] UNREGISTERED  "
        "bypass: 29,1,4,5,6" in egress
    )


def test_cli_summary_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    result = run_cli(["scan", "--from", str(COMMON), "--from", str(AFTER)], monkeypatch)
    assert "\x1b" not in result.stdout
    assert any(len(line) > 40 for line in result.stdout.splitlines())  # not cut when piped
    assert "…" not in result.stdout
