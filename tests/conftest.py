"""Suite-wide pytest options: where the integration tests point (local processes or a deployed stack)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stack", "integration test target")
    group.addoption(
        "--stack",
        default=None,
        help="run the integration tests against this deployed Pulumi stack instead of local processes",
    )
    group.addoption(
        "--ephemeral",
        action="store_true",
        default=False,
        help="create a uniquely named stack, `pulumi up`, run the tests, then destroy and remove it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything under tests/integration is an integration test, marked or not.
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
