"""Test 4: exemplars link the run-duration histogram to real traces and log lines.

Prometheus' exemplar API returns trace ids for mission_run_duration_seconds_bucket; each must be
among the spans the app exported over OTLP (decoded from the real protobuf by the local OTLP
receiver) and in the app's JSON log lines.
"""

from __future__ import annotations

import json
import time

from tests.integration.conftest import Target
from tests.integration.gameday import GameDay
from tests.integration.promapi import poll


def _log_trace_ids(target: Target) -> set[str]:
    stack = target.require_local("reads the app's log file")
    ids = set()
    for line in stack.app_log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("trace_id"):
            ids.add(str(record["trace_id"]))
    return ids


def test_exemplar_trace_ids_are_exported_spans_and_log_lines(
    target: Target, gameday: GameDay
) -> None:
    stack = target.require_local("the local OTLP receiver")
    assert gameday.wait_phase("burst_fired", timeout=180), gameday.errors
    assert stack.otlp is not None, "Tempo on PATH: spans are in Tempo, not in the test receiver"

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
    poll(lambda: ids <= stack.otlp.trace_ids(), timeout=15)
    missing = ids - stack.otlp.trace_ids()
    assert not missing, f"exemplar trace ids not among received spans: {sorted(missing)[:5]}"
    logged = _log_trace_ids(target)
    assert ids <= logged, f"exemplar trace ids not in app log lines: {sorted(ids - logged)[:5]}"
    # The spans are real app spans: the service name and a business span are there.
    spans = [s for s in stack.otlp.spans() if s.trace_id in ids]
    assert {s.service_name for s in spans} == {"mission-app"}
