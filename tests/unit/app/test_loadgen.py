"""The traffic simulator against an in-process app (httpx ASGI transport)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from app import loadgen
from app.domain.missions import create_mission
from app.loadgen import build_parser, run_load


def drive(app: Any, scenario: str, duration: float = 2.0, **kw: Any) -> loadgen.LoadResult:
    kw.setdefault("think_time", 0.0)
    kw.setdefault("out", None)
    return run_load(
        "http://app",
        scenario=scenario,
        duration=duration,
        transport=httpx.ASGITransport(app=app),
        seed=7,
        **kw,
    )


def test_normal_scenario_completes_and_rewards_runs(make_app: Any) -> None:
    app = make_app(log_level="WARNING")
    result = drive(app, "normal", users=4)
    assert result.requests > 50
    assert result.errors_5xx == 0 and result.transport_errors == 0
    assert result.runs_completed["approved"] > 10
    assert result.runs_completed["approved"] > 5 * result.runs_completed["rejected"]
    metrics = app.state.metrics
    approved = metrics.run_completed.labels("approved")._value.get()
    assert approved == result.runs_completed["approved"]
    assert metrics.run_started.labels("pending_gps")._value.get() == result.runs_started
    assert result["requests"] == result.requests


def test_rejections_scenario_mostly_rejects(make_app: Any) -> None:
    result = drive(make_app(log_level="WARNING"), "rejections", users=4)
    assert result.runs_completed["rejected"] > result.runs_completed["approved"] > 0


def test_errors_scenario_injects_server_faults(make_app: Any) -> None:
    app = make_app(fault_injection_enabled=True, log_level="WARNING")
    result = drive(app, "errors", users=4, error_rate=0.3)
    assert result.injected_faults > 10
    assert result.by_status[500] == result.injected_faults  # the only source of 500s
    assert 0.15 < result.injected_faults / result.requests < 0.45


def test_errors_scenario_is_harmless_without_the_setting(make_app: Any) -> None:
    result = drive(make_app(log_level="WARNING"), "errors", users=2, duration=1.0)
    assert result.injected_faults > 0
    assert result.errors_5xx == 0


def test_slow_scenario_completes_late_and_expires(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shrink "late" from 10.5-14 s to 1.05-1.2 s and add a 1 s mission to expire.
    monkeypatch.setattr(loadgen, "SLOW_WAIT_S", (1.05, 1.2))
    app = make_app(log_level="WARNING")
    with app.state.session_factory() as session:
        create_mission(
            session,
            title="Blink",
            reward_points=1,
            latitude=0.0,
            longitude=0.0,
            radius_m=100.0,
            time_limit_seconds=1,
        )
        session.commit()
    result = drive(app, "slow", users=12, duration=3.0)
    assert result.runs_completed["expired"] > 0
    assert result.runs_completed["approved"] > 0
    hist = app.state.metrics.run_duration
    buckets = {
        s.labels["le"]: s.value for s in hist.collect()[0].samples if s.name.endswith("_bucket")
    }
    assert buckets["1.0"] == 0  # every run took longer than a second


def test_rate_cap_and_progress_lines(make_app: Any) -> None:
    out = io.StringIO()
    result = drive(
        make_app(log_level="WARNING"), "normal", users=4, rate=20, out=out, progress_interval=0.5
    )
    assert 20 <= result.requests <= 45
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3
    assert all(line.startswith("[loadgen normal] t=") and " req/s " in line for line in lines)


def test_cli_help_documents_the_fault_injection_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "FAULT_INJECTION_ENABLED=true" in help_text
    for option in ("--base-url", "--scenario", "--duration", "--users", "--rate"):
        assert option in help_text
    with pytest.raises(ValueError, match="unknown scenario"):
        run_load("http://x", scenario="chaos")
