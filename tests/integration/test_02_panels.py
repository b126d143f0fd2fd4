"""Test 2: every dashboard panel query returns data from the live Prometheus.

Queries come from the built dashboards (dashboards.queries.all_panel_queries), with Grafana's
variables substituted as Grafana would ($__rate_interval from the 1s scrape interval and the
query step). Range panels are queried over the game day so far (as Grafana draws them), instant
panels at "now". Panels about components absent here carry their reason
(dashboards.queries.EMPTY_WHEN_HEALTHY) and are listed, not silently skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboards.queries import PanelQuery, all_panel_queries, grafana_rate_interval
from tests.integration.conftest import Target
from tests.integration.gameday import GameDay

QUERIES = all_panel_queries()
STEP_SECONDS = 2.0
SCRAPE_SECONDS = 1.0


def _id(q: PanelQuery) -> str:
    return f"{q.dashboard_uid}/{q.panel_title}/{q.ref_id}"


@pytest.fixture(scope="module")
def fed(target: Target, gameday: GameDay) -> Iterator[GameDay]:
    """The game day's bad burst and healthy dilution have run: every panel has its data."""
    assert gameday.wait_phase("diluted", timeout=480), gameday.errors
    yield gameday
    gameday.phases["panels_checked"].set()


def _absent_here(q: PanelQuery, target: Target) -> str | None:
    if q.empty_reason is None or target.stack is None:
        return None
    # Tempo on PATH makes its panels mandatory.
    if "Tempo" in q.panel_title and target.stack.tempo_binary:
        return None
    return q.empty_reason


@pytest.mark.parametrize("query", QUERIES, ids=_id)
def test_panel_query_returns_data(target: Target, fed: GameDay, query: PanelQuery) -> None:
    reason = _absent_here(query, target)
    expr = query.substituted(
        rate_interval=grafana_rate_interval(SCRAPE_SECONDS, STEP_SECONDS),
        interval=f"{int(STEP_SECONDS)}s",
        range=f"{max(60, int(time.time() - fed.t0))}s",
    )
    if query.instant:
        result = target.prom.query(expr)
    else:
        result = target.prom.query_range(expr, fed.t0, time.time(), STEP_SECONDS)
    if reason is not None:
        # Listed with its reason (visible with -rA / -s); no data is expected here.
        print(f"{_id(query)}: no data locally by design: {reason}")
        assert not any(s["metric"].get("job") == "mission-app" for s in result)
        return
    values = [v for series in result for v in series.get("values", [series.get("value")])]
    assert values, f"{_id(query)} returned no data: {expr}"
