"""End to end: `python -m app` as a real process, the simulator drives it, then the scrape shows
every contract metric with non-zero values, and trace ids from its JSON log lines appear as
exemplars in the OpenMetrics output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from app.loadgen import run_load
from tests.unit.app.conftest import free_port

CONTRACT = [
    "mission_run_started",
    "mission_run_completed",
    "mission_run_duration_seconds",
    "wallet_transactions",
    "wallet_balance",
    "http_request_duration_seconds",
]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = tmp_path / "app.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "OTEL_TRACES_EXPORTER": "none",
        "LOG_LEVEL": "INFO",
        "RUN_SWEEP_INTERVAL_SECONDS": "1",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "app did not become ready"
            time.sleep(0.2)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_simulated_traffic_shows_in_metrics_and_exemplars_match_logs(
    server: tuple[str, Path],
) -> None:
    base, log_path = server
    result = run_load(base, "normal", duration=5, users=6, think_time=0.2, out=None, seed=3)
    assert result.runs_completed["approved"] > 0 and result.withdrawals > 0

    text = httpx.get(f"{base}/api/metrics").text
    for name in CONTRACT:
        values = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith(f"{name}_created")
        ]
        assert values and max(values) > 0, name
    assert "process_cpu_seconds_total" in text and "python_gc_objects_collected_total" in text

    om = httpx.get(
        f"{base}/api/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    ).text
    exemplar_ids = {
        s.exemplar.labels["trace_id"]
        for f in text_string_to_metric_families(om)
        if f.name == "mission_run_duration_seconds"
        for s in f.samples
        if s.exemplar
    }
    lines = [json.loads(x) for x in log_path.read_text().splitlines() if x.startswith("{")]
    assert all({"timestamp", "level", "message", "trace_id", "span_id"} <= set(x) for x in lines)
    log_ids = {x["trace_id"] for x in lines if x["message"].startswith("mission_run.")}
    assert exemplar_ids and exemplar_ids <= log_ids
    # uvicorn's own lines are JSON too
    assert any(x["logger"].startswith("uvicorn") for x in lines)


def test_loadgen_cli_prints_progress_and_stops_on_ctrl_c(server: tuple[str, Path]) -> None:
    base, _ = server
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.loadgen",
            "--base-url",
            base,
            "--scenario",
            "rejections",
            "--users",
            "3",
            "--progress-interval",
            "1",
            "--think-time",
            "0.1",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(3.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    progress = [line for line in out.splitlines() if line.startswith("[loadgen rejections] t=")]
    assert len(progress) >= 2, out
    assert "req/s" in progress[-1] and "5xx=0" in progress[-1]
    assert "[loadgen] done:" in out
