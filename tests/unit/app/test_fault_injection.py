"""Game-day fault injection: honoured only when FAULT_INJECTION_ENABLED is on."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.app.test_metrics import samples


def test_header_is_ignored_when_the_setting_is_off(make_app: Any) -> None:
    client = TestClient(make_app())
    r = client.get("/api/missions", headers={"X-Fault-Inject": "error"})
    assert r.status_code == 200
    t0 = time.perf_counter()
    client.get("/api/missions", headers={"X-Fault-Inject": "delay-ms=500"})
    assert time.perf_counter() - t0 < 0.4


def test_injected_error_is_a_json_500_recorded_under_the_route(make_app: Any) -> None:
    client = TestClient(make_app(fault_injection_enabled=True))
    r = client.post(
        "/api/missions/1/runs", json={"user_id": "u1"}, headers={"X-Fault-Inject": "error"}
    )
    assert r.status_code == 500
    assert r.json() == {"error": "injected_fault", "message": "fault injected by X-Fault-Inject"}
    # nothing happened: the run was not started
    s = samples(client.get("/api/metrics").text)
    assert s[("mission_run_started_total", frozenset({("status", "pending_gps")}))] == 0
    key = frozenset(
        {("path", "/api/missions/{mission_id}/runs"), ("method", "POST"), ("status_code", "500")}
    )
    assert s[("http_request_duration_seconds_count", key)] == 1


def test_injected_delay(make_app: Any) -> None:
    client = TestClient(make_app(fault_injection_enabled=True))
    t0 = time.perf_counter()
    r = client.get("/api/missions/1", headers={"X-Fault-Inject": "delay-ms=300"})
    assert r.status_code == 200
    assert time.perf_counter() - t0 >= 0.3
    s = samples(client.get("/api/metrics").text)
    key = frozenset(
        {("path", "/api/missions/{mission_id}"), ("method", "GET"), ("status_code", "200")}
    )
    assert s[("http_request_duration_seconds_sum", key)] >= 0.3
    # an unknown fault value is ignored
    assert client.get("/api/missions/1", headers={"X-Fault-Inject": "explode"}).status_code == 200
