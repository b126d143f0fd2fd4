"""Test 6: restarts. Prometheus stopped and started again keeps its data and resumes evaluating;
the app keeps serving while Prometheus or the trace receiver is down.

Runs last: it waits for the game day to finish so the restart cannot disturb the alert tests.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from tests.integration.conftest import Target
from tests.integration.gameday import GameDay
from tests.integration.promapi import poll

REQUESTS = 40
# Generous against this 2-core machine's noise, tiny against a blocking exporter (2 s timeout).
MAX_REQUEST_SECONDS = 0.5


def _serve_while(target: Target) -> list[float]:
    """Durations of a mix of reads and writes against the app."""
    durations = []
    with httpx.Client(base_url=target.app_url, timeout=10) as client:
        for i in range(REQUESTS):
            began = time.perf_counter()
            if i % 2:
                resp = client.get("/api/missions")
            else:
                resp = client.post("/api/missions/1/runs", json={"user_id": f"restart-{i}"})
            assert resp.status_code in (200, 201), resp.text
            durations.append(time.perf_counter() - began)
    return durations


def _timestamp(rfc3339: str) -> float:
    """Prometheus prints nanoseconds; datetime takes microseconds."""
    main, _, frac = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{main}.{(frac or '0')[:6]:0<6}+00:00").timestamp()


def _first_sample(target: Target, since: float) -> float | None:
    result = target.prom.query_range('up{job="mission-app"}', since, time.time(), 1)
    return float(result[0]["values"][0][0]) if result else None


def test_prometheus_restart_keeps_data_and_app_survives_dead_backends(
    target: Target, gameday: GameDay
) -> None:
    gameday.join(timeout=900)
    since = target.started_at - 5
    first_before = _first_sample(target, since)
    assert first_before is not None
    # Samples of the app's `up` from the stack's start to a fixed instant, before and after.
    at = time.time() - 1
    window = f"{int(at - since)}s"
    count = f'count_over_time(up{{job="mission-app"}}[{window}])'
    samples_before = target.prom.value(count, at)

    target.stop("prometheus")
    stopped_at = time.time()
    assert not target.prom.ready()
    durations = _serve_while(target)
    assert max(durations) < MAX_REQUEST_SECONDS, durations

    target.stop("traces")
    durations = _serve_while(target)
    assert max(durations) < MAX_REQUEST_SECONDS, durations
    target.start("traces")
    # Requests after the trace backend's restart are traced again: their log lines' trace ids
    # reach the backend.
    logged_before = target.app_log_trace_ids()
    _serve_while(target)
    fresh = poll(lambda: target.app_log_trace_ids() - logged_before, timeout=15)
    assert fresh, "no traced request logged after the trace backend restarted"
    assert poll(lambda: any(target.trace_services(t) for t in fresh), timeout=120), (
        "no spans reached the trace backend after its restart"
    )

    target.start("prometheus")
    # The TSDB kept its data: the first sample is still the one from before the restart.
    assert _first_sample(target, since) == first_before
    samples_after = target.prom.value(count, at)
    assert samples_before is not None and samples_before > 100
    assert samples_after == samples_before

    def evaluated_since_restart() -> bool:
        groups = target.prom.rule_groups()
        return bool(groups) and all(_timestamp(g["lastEvaluation"]) > stopped_at for g in groups)

    assert poll(evaluated_since_restart, timeout=30), target.prom.rule_groups()
    # And scraping resumed: a fresh sample of the app's `up`.
    assert poll(
        lambda: (
            target.prom.value('time() - timestamp(up{job="mission-app"})') is not None
            and (target.prom.value('time() - timestamp(up{job="mission-app"})') or 99) < 5
        ),
        30,
    )
