"""Shared test options. `pytest --update-golden` rewrites golden files instead of comparing."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.kubeapi.fixture", "tests.s3.fixture"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate golden files under tests/golden/ (review the diff like code).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
