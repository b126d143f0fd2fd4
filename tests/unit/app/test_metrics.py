"""The metric contract at GET /api/metrics: names, labels, exemplars, and that recording is safe."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from app.observability.metrics import AppMetrics
from tests.unit.app.helpers import CITY_HALL, FAR_AWAY, earn, gps, start_run

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
CONTRACT = [
    "mission_run_started_total",
    "mission_run_completed_total",
    "mission_run_duration_seconds",
    "wallet_transactions_total",
    "wallet_balance",
    "http_request_duration_seconds",
]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
            assert m, line
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
            out[(m.group(1), labels)] = float(m.group(4))
    return out


def drive_every_outcome(client: TestClient) -> None:
    app = client.app
    earn(client, "alice", times=2)
    client.post("/api/wallets/alice/withdrawals", json={"amount": 30})
    rejected = start_run(client, "bob")
    gps(client, rejected["id"], *FAR_AWAY)
    late = start_run(client, "carol", mission_id=4)
    inst = app.state.instruments  # type: ignore[attr-defined]
    real = inst.clock
    inst.clock = lambda: real() + 7.5
    try:
        gps(client, late["id"], 37.57, 126.992)
    finally:
        inst.clock = real


def test_every_contract_metric_is_exposed_with_values(client: TestClient) -> None:
    drive_every_outcome(client)
    client.get("/api/missions/1")
    client.get("/api/metrics")  # the scrape itself is recorded too
    r = client.get("/api/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    s = samples(r.text)
    assert s[("mission_run_started_total", frozenset({("status", "pending_gps")}))] == 4
    for status, n in (("approved", 2), ("rejected", 1), ("expired", 1)):
        assert s[("mission_run_completed_total", frozenset({("status", status)}))] == n
    assert s[("mission_run_duration_seconds_count", frozenset())] == 4
    # the expired run took 7.5 s (clock moved), the others milliseconds
    assert s[("mission_run_duration_seconds_bucket", frozenset({("le", "5.0")}))] == 3
    assert s[("mission_run_duration_seconds_bucket", frozenset({("le", "10.0")}))] == 4
    assert s[("wallet_transactions_total", frozenset({("type", "mission_reward")}))] == 2
    assert s[("wallet_transactions_total", frozenset({("type", "withdrawal")}))] == 1
    assert s[("wallet_balance", frozenset())] == 170
    key = frozenset(
        {("path", "/api/missions/{mission_id}"), ("method", "GET"), ("status_code", "200")}
    )
    assert s[("http_request_duration_seconds_count", key)] == 1
    metrics_key = frozenset({("path", "/api/metrics"), ("method", "GET"), ("status_code", "200")})
    assert s[("http_request_duration_seconds_count", metrics_key)] == 1
    names = {name for name, _ in s}
    assert any(n.startswith("process_") for n in names)
    assert any(n.startswith("python_") for n in names)


def test_http_labels_use_route_templates_and_collapse_unknown_paths(client: TestClient) -> None:
    run = start_run(client, "u1")
    client.get(f"/api/runs/{run['id']}")
    for junk in ("/wp-admin", "/api/x/1", "/api/missions/1/nope", "/%ff"):
        client.get(junk)
    client.post("/api/missions/1/runs", json={"user_id": "u" * 20000})  # 413 before routing
    text = client.get("/api/metrics").text
    paths = set(re.findall(r'http_request_duration_seconds_count\{[^}]*path="([^"]*)"', text))
    assert paths == {"/api/missions/{mission_id}/runs", "/api/runs/{run_id}", "unmatched"}
    assert run["id"] not in text
    s = samples(text)
    unmatched = frozenset({("path", "unmatched"), ("method", "GET"), ("status_code", "404")})
    assert s[("http_request_duration_seconds_count", unmatched)] == 4
    too_large = frozenset(
        {("path", "/api/missions/{mission_id}/runs"), ("method", "POST"), ("status_code", "413")}
    )
    assert s[("http_request_duration_seconds_count", too_large)] == 1


def test_openmetrics_has_trace_id_exemplars(make_app: Any) -> None:
    app = make_app(otel_traces_exporter="otlp", otel_exporter_otlp_endpoint="http://127.0.0.1:9")
    client = TestClient(app)
    earn(client, "alice")
    r = client.get("/api/metrics", headers={"Accept": OPENMETRICS})
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.endswith("# EOF\n")
    exemplars: dict[str, list[str]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.exemplar is not None:
                exemplars.setdefault(family.name, []).append(sample.exemplar.labels["trace_id"])
    assert set(exemplars) >= {"mission_run_duration_seconds", "http_request_duration_seconds"}
    for ids in exemplars.values():
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_no_exemplars_when_tracing_is_off(make_app: Any) -> None:
    client = TestClient(make_app(observability_enabled=False))
    earn(client, "alice")
    text = client.get("/api/metrics", headers={"Accept": OPENMETRICS}).text
    assert "trace_id" not in text
    s = samples(client.get("/api/metrics").text)
    # business metrics stay, the HTTP middleware is off
    assert s[("mission_run_completed_total", frozenset({("status", "approved")}))] == 1
    assert not any(name.startswith("http_request_duration") for name, _ in s)


def test_apps_have_independent_registries(make_app: Any, tmp_path: Any) -> None:
    a = TestClient(make_app())
    b = TestClient(make_app(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    earn(a, "alice", times=2)
    earn(b, "bob")
    sa, sb = samples(a.get("/api/metrics").text), samples(b.get("/api/metrics").text)
    approved = ("mission_run_completed_total", frozenset({("status", "approved")}))
    assert (sa[approved], sb[approved]) == (2, 1)


def test_metric_recording_never_raises_into_a_request(client: TestClient) -> None:
    metrics = client.app.state.metrics  # type: ignore[attr-defined]

    def boom(*_a: Any, **_k: Any) -> Any:
        raise ValueError("broken instrument")

    metrics.http_duration.labels = boom
    metrics.run_completed.labels = boom
    metrics.wallet_transactions.labels = boom
    run = start_run(client, "alice")
    r = gps(client, run["id"], *CITY_HALL)
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    assert client.get("/api/wallets/alice").json()["balance"] == 100


def test_failing_database_only_drops_wallet_balance() -> None:
    def read_total() -> int:
        raise ConnectionError("database is down")

    metrics = AppMetrics(read_total)
    metrics.run_started_inc()
    body, content_type = metrics.render(None)
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'mission_run_started_total{status="pending_gps"} 1.0' in text
    assert "wallet_balance" not in text
    assert AppMetrics(lambda: 42).render(None)[0].decode().count("wallet_balance 42.0") == 1
