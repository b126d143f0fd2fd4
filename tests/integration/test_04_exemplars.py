"""Test 4: exemplars link the run-duration histogram to real traces and log lines.

Prometheus' exemplar API returns trace ids for mission_run_duration_seconds_bucket; each must be
among the spans the app exported over OTLP (locally decoded from the real protobuf by the OTLP
receiver; in a cluster looked up in Tempo or Jaeger by trace id) and in the app's JSON log lines
(locally its log file; in a cluster its pods' logs, kept across the game day's restart).
"""

from __future__ import annotations

import time

from tests.integration.conftest import Target
from tests.integration.gameday import GameDay
from tests.integration.promapi import poll


def test_exemplar_trace_ids_are_exported_spans_and_log_lines(
    target: Target, gameday: GameDay
) -> None:
    assert gameday.wait_phase("burst_fired", timeout=300), gameday.errors

    def exemplar_ids() -> set[str]:
        data = target.prom.exemplars(
            "mission_run_duration_seconds_bucket", gameday.t0 - 60, time.time()
        )
        return {
            ex["labels"]["trace_id"]
            for series in data
            for ex in series["exemplars"]
            if "trace_id" in ex["labels"]
        }

    ids = poll(exemplar_ids, timeout=30)
    assert ids, "no exemplars with trace_id for mission_run_duration_seconds_bucket"
    for trace_id in ids:
        assert len(trace_id) == 32 and int(trace_id, 16) > 0
    # The batch span processor exports within its schedule delay: poll briefly.
    services: dict[str, set[str]] = {}

    def all_exported() -> bool:
        for trace_id in ids - services.keys():
            found = target.trace_services(trace_id)
            if found:
                services[trace_id] = found
        return services.keys() == ids

    poll(all_exported, timeout=30, interval=1)
    missing = ids - services.keys()
    assert not missing, f"exemplar trace ids not in the trace backend: {sorted(missing)[:5]}"
    logged = target.app_log_trace_ids()
    assert ids <= logged, f"exemplar trace ids not in app log lines: {sorted(ids - logged)[:5]}"
    # The spans are the app's own: exported under its service name, and nothing else.
    assert set().union(*services.values()) == {"mission-app"}
