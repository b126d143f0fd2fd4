"""Integration fixtures: the `target` the tests run against, and the game day that drives it.

Default target: infra.local.LocalStack on free ports with the fast timings of
infra.local.stack.fast_options (scrape and evaluation every 1s, group_wait/group_interval 1s,
every alert `for` multiplied by FAST_FOR_SCALE = 0.01; expressions unchanged).

`--stack NAME` / `--ephemeral` (options of tests/conftest.py) point the same tests at a deployed
Pulumi stack instead (tests/integration/deployed.py); without a Pulumi CLI or a reachable
cluster they skip with the reason. The game day (every fault, tests 2-4 and 6) runs against a
deployed stack deployed with `e2eTestMode: true` (what --ephemeral deploys); only the comparison
with the local files (test 5) needs the local stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.stack import LocalStack, fast_options
from tests.integration.gameday import GameDay
from tests.integration.promapi import poll
from tests.integration.target import LocalTarget, Target


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
        tgt = LocalTarget(stack)
        # Prometheus applies static targets after its 5s discovery throttle.
        poll(lambda: len(tgt.prom.targets()) >= 3, timeout=30)
        yield tgt
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gameday(target: Target) -> Iterator[GameDay]:
    if target.gameday_unsupported:
        pytest.skip(f"no game day against {target.name}: {target.gameday_unsupported}")
    day = GameDay(target).start()
    yield day
    # Whatever the tests did, let the background threads finish before the stack stops.
    day.join(timeout=60)
