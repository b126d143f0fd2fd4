"""Suite-wide pytest setup: where integration tests point (local processes or a deployed stack)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stack", "integration test target")
    group.addoption(
        "--stack",
        default=None,
        help="run the integration tests against this deployed Pulumi stack, not local processes",
    )
    group.addoption(
        "--ephemeral",
        action="store_true",
        default=False,
        help="create a unique stack, `pulumi up`, run the tests, then destroy and remove it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything under tests/integration is an integration test, marked or not.
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _main_thread_has_an_event_loop() -> Iterator[None]:
    # asyncio.run() (the simulator's tests) leaves the main thread without a current loop, and
    # Pulumi's runtime and mocks create their futures with asyncio.get_event_loop(): give them one,
    # so the order tests run in does not matter.
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    yield
