"""Traces and JSON logs: custom spans, log lines correlated with spans and exemplars, OTLP export
(decoded at the wire level), a dead collector neither slowing requests nor holding up shutdown."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from app.observability.logging import JsonFormatter, configure_logging
from tests.unit.app.conftest import free_port
from tests.unit.app.helpers import CITY_HALL, gps, start_run

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def traced_app(make_app: Any, **overrides: Any) -> tuple[FastAPI, InMemorySpanExporter]:
    app = make_app(otel_traces_exporter="none", **overrides)
    exporter = InMemorySpanExporter()
    app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return app, exporter


def test_business_spans_carry_attributes(make_app: Any) -> None:
    app, exporter = traced_app(make_app)
    client = TestClient(app)
    run = start_run(client, "alice")
    gps(client, run["id"], *CITY_HALL)
    client.post("/api/wallets/alice/withdrawals", json={"amount": 40})
    spans = {s.name: s for s in exporter.get_finished_spans()}
    start = spans["mission_run.start"].attributes or {}
    assert (start["mission.id"], start["user.id"], start["run.id"], start["run.status"]) == (
        1,
        "alice",
        run["id"],
        "pending_gps",
    )
    submit = spans["mission_run.submit_gps"].attributes or {}
    assert submit["run.status"] == "approved"
    approve = spans["mission_run.approve_and_reward"]
    assert (approve.attributes or {})["reward.amount"] == 100
    assert approve.parent is not None
    assert approve.parent.span_id == spans["mission_run.submit_gps"].context.span_id
    withdraw = spans["wallet.withdraw"].attributes or {}
    assert (withdraw["user.id"], withdraw["withdrawal.amount"]) == ("alice", 40)
    # server spans named by route template, SQL spans, and no per-message receive/send spans
    assert "POST /api/runs/{run_id}/gps" in spans
    assert any((s.attributes or {}).get("db.system") == "sqlite" for s in spans.values())
    assert not [n for n in spans if n.endswith((" http receive", " http send"))]
    assert spans["mission_run.start"].resource.attributes["service.name"] == "mission-app"


def test_log_trace_id_equals_span_and_exemplar_trace_id(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app, exporter = traced_app(make_app)
    client = TestClient(app)
    run = start_run(client, "alice")
    with caplog.at_level(logging.INFO, logger="app"):
        gps(client, run["id"], *CITY_HALL)
    record = next(r for r in caplog.records if r.getMessage() == "mission_run.approve.success")
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "mission_run.approve.success"
    assert (line["user_id"], line["mission_id"], line["run_id"]) == ("alice", 1, run["id"])
    assert line["reward_amount"] == 100
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
    approve = next(
        s for s in exporter.get_finished_spans() if s.name == "mission_run.approve_and_reward"
    )
    assert line["trace_id"] == format(approve.context.trace_id, "032x")
    assert line["span_id"] == format(approve.context.span_id, "016x")

    text = client.get("/api/metrics", headers={"Accept": OPENMETRICS}).text
    family = next(
        f for f in text_string_to_metric_families(text) if f.name == "mission_run_duration_seconds"
    )
    exemplar_ids = {s.exemplar.labels["trace_id"] for s in family.samples if s.exemplar}
    assert exemplar_ids == {line["trace_id"]}


def test_json_lines_on_stdout_honour_log_level(
    make_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(make_app(log_level="WARNING"))
    run = start_run(client, "alice")
    gps(client, run["id"], *CITY_HALL)
    assert "mission_run" not in capsys.readouterr().out  # info suppressed
    configure_logging("DEBUG")
    logging.getLogger("uvicorn.error").info("uvicorn says hi")
    logging.getLogger("app.test").warning("thing.happened", extra={"fields": {"user_id": "u9"}})
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["message"], x["level"]) for x in lines] == [
        ("uvicorn says hi", "info"),
        ("thing.happened", "warning"),
    ]
    assert lines[1]["user_id"] == "u9"
    assert lines[1]["trace_id"] is None


class _Collector(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP receiver that decodes what it is sent."""

    received: list[ExportTraceServiceRequest] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        type(self).received.append(req)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_spans_are_exported_over_otlp_http(make_app: Any) -> None:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = make_app(
            otel_traces_exporter="otlp",
            otel_exporter_otlp_protocol="http/protobuf",
            otel_exporter_otlp_endpoint=f"http://127.0.0.1:{server.server_port}",
            otel_service_name="mission-app-test",
        )
        client = TestClient(app)
        run = start_run(client, "alice")
        gps(client, run["id"], *CITY_HALL)
        app.state.tracer_provider.force_flush(5000)
    finally:
        server.shutdown()
        server.server_close()
    names: set[str] = set()
    services: set[str] = set()
    for req in _Collector.received:
        for rs in req.resource_spans:
            for attr in rs.resource.attributes:
                if attr.key == "service.name":
                    services.add(attr.value.string_value)
            for ss in rs.scope_spans:
                names.update(s.name for s in ss.spans)
    assert services == {"mission-app-test"}
    assert {
        "mission_run.start",
        "mission_run.approve_and_reward",
        "POST /api/runs/{run_id}/gps",
    } <= names


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_dead_collector_neither_slows_requests_nor_shutdown(make_app: Any, protocol: str) -> None:
    app = make_app(
        otel_traces_exporter="otlp",
        otel_exporter_otlp_protocol=protocol,
        otel_exporter_otlp_endpoint=f"http://127.0.0.1:{free_port()}",  # nobody listens
    )
    client = TestClient(app)
    client.get("/api/missions")  # warm-up
    durations = []
    for _ in range(30):
        t0 = time.perf_counter()
        assert client.get("/api/missions/1").status_code == 200
        durations.append(time.perf_counter() - t0)
    time.sleep(1.2)  # let the batch processor start exporting (and failing)
    for _ in range(30):
        t0 = time.perf_counter()
        assert client.get("/api/missions/1").status_code == 200
        durations.append(time.perf_counter() - t0)
    assert max(durations) < 0.25, max(durations)
    t0 = time.perf_counter()
    app.state.shutdown()
    assert time.perf_counter() - t0 < 3.0


def test_traces_exporter_none_and_observability_off(make_app: Any) -> None:
    assert make_app(observability_enabled=False).state.tracer_provider is None
    provider = make_app(otel_traces_exporter="none").state.tracer_provider
    assert provider is not None
    assert provider._active_span_processor._span_processors == ()
