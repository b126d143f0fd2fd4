"""Integration fixtures: the `target` the tests run against, and the game day that drives it.

Default target: infra.local.LocalStack on free ports with the fast timings of
infra.local.stack.fast_options (scrape and evaluation every 1s, group_wait/group_interval 1s,
every alert `for` multiplied by FAST_FOR_SCALE = 0.01; expressions unchanged).

`--stack NAME` / `--ephemeral` (options of tests/conftest.py) point the same tests at a deployed
Pulumi stack instead (tests/integration/deployed.py); without a Pulumi CLI or a reachable
cluster they skip with the reason. Tests that need a fault only local processes allow (stopping
Alertmanager, the test webhook receiver) say so when the target is deployed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.stack import LocalStack, fast_options
from tests.integration.gameday import GameDay
from tests.integration.promapi import AlertmanagerAPI, PrometheusAPI, poll


@dataclass
class Target:
    """Endpoints of the stack under test (local processes or a port-forwarded deployment)."""

    name: str
    app_url: str
    prometheus_url: str
    alertmanager_url: str
    stack: LocalStack | None = None  # only for the local target: process control, receivers
    started_at: float = 0.0

    @property
    def local(self) -> bool:
        return self.stack is not None

    @property
    def prom(self) -> PrometheusAPI:
        return PrometheusAPI(self.prometheus_url)

    @property
    def am(self) -> AlertmanagerAPI:
        return AlertmanagerAPI(self.alertmanager_url)

    def require_local(self, why: str) -> LocalStack:
        if self.stack is None:
            pytest.skip(f"needs the local stack ({why}); target is {self.name}")
        return self.stack


@pytest.fixture(scope="session")
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    stack_name = request.config.getoption("--stack")
    ephemeral = request.config.getoption("--ephemeral")
    if stack_name or ephemeral:
        from tests.integration.deployed import deployed_target

        with deployed_target(stack_name, ephemeral) as deployed:
            yield deployed
        return
    data_dir: Path = tmp_path_factory.mktemp("local-stack")
    stack = LocalStack(fast_options(data_dir))
    stack.start()
    try:
        tgt = Target(
            "local",
            stack.app_url,
            stack.prometheus_url,
            stack.alertmanager_url,
            stack=stack,
            started_at=time.time(),
        )
        # Prometheus applies static targets after its 5s discovery throttle.
        poll(lambda: len(tgt.prom.targets()) >= 3, timeout=30)
        yield tgt
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gameday(target: Target) -> Iterator[GameDay]:
    stack = target.require_local("real faults: stopping processes, a failing webhook receiver")
    day = GameDay(stack).start()
    yield day
    # Whatever the tests did, let the background threads finish before the stack stops.
    day.join(timeout=60)
