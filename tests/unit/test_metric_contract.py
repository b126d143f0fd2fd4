"""The metric contract: every metric an alert, a recording rule or a dashboard query reads exists.

Names are collected through a real PromQL parser (promql-parser) from every rule in alerts/ and
every panel target and query variable of the dashboards (`dashboards.build_all()`, after
substituting Grafana's variables). Each name must be
- recorded by one of our recording rules, or
- in the app's real exposition: the app is created in-process, exercised (missions, runs approved,
  rejected and expired, a reward, a withdrawal, an unknown path, a 5xx) and /api/metrics is
  parsed with prometheus-client's own parser, or
- in SELF_METRICS below: the explicit, commented list of what Prometheus, Alertmanager and the
  trace backend expose about themselves. The Prometheus and Alertmanager entries are checked
  against the real binaries by a test in this module.
Equality matchers on app metrics (status="rejected", type="withdrawal"...) must match a label
value the app really exposes. A renamed metric or label value fails this test.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from alerts import load_rules, recording_rules
from app.main import create_app
from app.settings import AppSettings
from dashboards import build_all

# Labels Prometheus attaches at scrape time (target labels, Kubernetes relabelling): not the app's.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod"})

# What the monitoring stack exposes about itself (not the app). Source of each group in the comment.
SELF_METRICS: dict[str, str] = {
    # Synthesised by Prometheus for every scrape and every alert (not scraped from anywhere).
    "up": "prometheus: 1 if the last scrape of the target succeeded",
    "scrape_duration_seconds": "prometheus: duration of the last scrape of the target",
    "ALERTS": "prometheus: one series per pending/firing alert",
    # Prometheus 2.42 (Debian) own /metrics, job "prometheus"; verified against the binary below.
    "prometheus_rule_evaluation_failures_total": "prometheus: failed rule evaluations per group",
    "prometheus_rule_evaluations_total": "prometheus: rule evaluations per group",
    "prometheus_rule_group_last_duration_seconds": "prometheus: last evaluation time of a group",
    "prometheus_notifications_errors_total": "prometheus: failed sends per Alertmanager",
    "prometheus_notifications_sent_total": "prometheus: alerts sent per Alertmanager",
    "prometheus_notifications_dropped_total": "prometheus: alerts dropped (no/failed AM)",
    "prometheus_notifications_latency_seconds_count": "prometheus: send attempts per Alertmanager",
    "prometheus_notifications_alertmanagers_discovered": "prometheus: Alertmanagers in use",
    "prometheus_tsdb_head_samples_appended_total": "prometheus: ingested samples",
    "prometheus_tsdb_head_series": "prometheus: series in the head block",
    # Alertmanager 0.25 (Debian) own /metrics, job "alertmanager"; verified against the binary.
    "alertmanager_notifications_total": "alertmanager: notification attempts per integration",
    "alertmanager_notifications_failed_total": "alertmanager: failed notifications per integration",
    "alertmanager_alerts": "alertmanager: alerts held, by state",
    # Trace backend, job "traces". No binaries on this machine, so not verified here: the names
    # are from Tempo's operations docs (distributor metrics) and the OpenTelemetry Collector's
    # internal telemetry (Jaeger v2 is built on it; the _total suffix depends on the version).
    "tempo_distributor_spans_received_total": "tempo: spans received by the distributor, by tenant",
    "otelcol_receiver_accepted_spans_total": "jaeger v2 (OTel collector core), newer naming",
    "otelcol_receiver_accepted_spans": "jaeger v2 (OTel collector core), older naming",
    "otelcol_receiver_refused_spans_total": "jaeger v2 (OTel collector core), newer naming",
    "otelcol_receiver_refused_spans": "jaeger v2 (OTel collector core), older naming",
}
PROMETHEUS_SELF = sorted(n for n in SELF_METRICS if n.startswith("prometheus_"))
ALERTMANAGER_SELF = sorted(n for n in SELF_METRICS if n.startswith("alertmanager_"))

# Grafana's global variables, replaced by representative values before parsing.
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "datasource": "prometheus",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


@dataclass(frozen=True)
class Query:
    source: str  # where it comes from, for the failure message
    expr: str  # parseable PromQL (Grafana variables substituted)


@dataclass(frozen=True)
class Selector:
    metric: str
    equals: tuple[tuple[str, str], ...]  # equality matchers (label, value) other than __name__


def substitute_grafana_variables(expr: str, variables: dict[str, str] | None = None) -> str:
    values = {**GRAFANA_VARIABLES, **(variables or {})}

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def rule_queries() -> list[Query]:
    return [Query(f"{rule.file}: {rule.name}", rule.expr) for rule in load_rules()]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])  # panels collapsed inside rows


def variable_query(query: Any) -> str | None:
    """The PromQL inside a Grafana query variable (None for label_values(label) without one)."""
    text = str(query.get("query") if isinstance(query, dict) else query).strip()
    match = re.fullmatch(r"label_values\((.*),\s*\w+\s*\)", text, flags=re.DOTALL)
    if match:
        return match.group(1)
    if re.fullmatch(r"label_values\(\s*\w+\s*\)", text):
        return None
    match = re.fullmatch(r"query_result\((.*)\)", text, flags=re.DOTALL)
    return match.group(1) if match else text


def dashboard_queries(dashboards: dict[str, dict[str, Any]] | None = None) -> list[Query]:
    queries: list[Query] = []
    for uid, dashboard in (dashboards if dashboards is not None else build_all()).items():
        variables: dict[str, str] = {}
        raw: list[Query] = []
        for var in dashboard.get("templating", {}).get("list", []):
            # custom/constant/interval/query variables: their current value stands in for them
            current = (var.get("current") or {}).get("value")
            variables[var["name"]] = current if isinstance(current, str) and current else ".+"
            if var.get("type") == "query" and (expr := variable_query(var.get("query"))):
                raw.append(Query(f"{uid}: variable {var['name']}", expr))
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    source = f"{uid}: panel {panel.get('title')!r} {target.get('refId')}"
                    raw.append(Query(source, target["expr"]))
        queries += [Query(q.source, substitute_grafana_variables(q.expr, variables)) for q in raw]
    return queries


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of an expression (also those inside range selectors/subqueries)."""
    found: list[Selector] = []

    def visit(node: promql_parser.Expr) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        names = [node.name] if node.name else []
        equals: list[tuple[str, str]] = []
        for matcher in node.matchers.matchers:
            if matcher.op != promql_parser.MatchOp.Equal:
                continue
            if matcher.name == "__name__":
                names.append(matcher.value)
            else:
                equals.append((matcher.name, matcher.value))
        assert names, f"selector without a literal metric name in {expr!r}"
        found.extend(Selector(name, tuple(sorted(equals))) for name in names)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


Exposition = dict[str, list[dict[str, str]]]  # series name -> label sets of its samples


def parse_exposition(text: str) -> Exposition:
    """Sample names as Prometheus stores them (x_total, x_bucket, x_sum, x_count, x_created)."""
    series: Exposition = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, []).append(dict(sample.labels))
    return series


def contract_violations(
    queries: list[Query], exposition: Exposition, recorded: set[str]
) -> list[str]:
    """Why queries read metrics nobody produces ([] when the contract holds)."""
    problems: list[str] = []
    for query in queries:
        for sel in selectors(query.expr):
            if sel.metric in recorded or sel.metric in SELF_METRICS:
                continue
            if sel.metric not in exposition:
                problems.append(f"{query.source}: metric {sel.metric} is not exposed by the app")
                continue
            for label, value in sel.equals:
                if label in TARGET_LABELS:
                    continue
                seen = {labels.get(label) for labels in exposition[sel.metric]}
                if value not in seen:
                    problems.append(
                        f"{query.source}: {sel.metric}{{{label}={value!r}}} never exposed "
                        f"(seen: {sorted(v for v in seen if v is not None)})"
                    )
    return problems


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Exposition:
    """The real app, exercised through every outcome, scraped once."""
    db = tmp_path_factory.mktemp("contract") / "app.db"
    settings = AppSettings(
        database_url=f"sqlite:///{db}",
        otel_traces_exporter="none",
        fault_injection_enabled=True,
        access_log=False,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        missions = client.get("/api/missions").json()
        assert missions, "the app seeds missions"
        mission = missions[0]
        here = {"latitude": mission["latitude"], "longitude": mission["longitude"]}
        far = {"latitude": -mission["latitude"], "longitude": mission["longitude"] / 2}

        def start(mission_id: int, user: str) -> str:
            r = client.post(f"/api/missions/{mission_id}/runs", json={"user_id": user})
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        approved = client.post(f"/api/runs/{start(mission['id'], 'alice')}/gps", json=here)
        assert approved.json()["status"] == "approved", approved.text
        rejected = client.post(f"/api/runs/{start(mission['id'], 'bob')}/gps", json=far)
        assert rejected.json()["status"] == "rejected", rejected.text
        short = client.post(
            "/api/missions",
            json={
                "title": "contract: one-second mission",
                "reward_points": 10,
                "latitude": mission["latitude"],
                "longitude": mission["longitude"],
                "radius_m": 100,
                "time_limit_seconds": 1,
            },
        )
        assert short.status_code in (200, 201), short.text
        late_run = start(short.json()["id"], "carol")
        time.sleep(1.2)  # past the time limit
        expired = client.post(f"/api/runs/{late_run}/gps", json=here)
        assert expired.json()["status"] == "expired", expired.text
        withdrawal = client.post("/api/wallets/alice/withdrawals", json={"amount": 10})
        assert withdrawal.status_code in (200, 201), withdrawal.text
        assert client.get("/api/wallets/alice").status_code == 200
        assert client.get("/api/no/such/path").status_code == 404
        assert client.get("/api/missions", headers={"X-Fault-Inject": "error"}).status_code == 500
        client.get("/api/metrics")  # the scrape itself is recorded too
        scrape = client.get("/api/metrics")
        assert scrape.status_code == 200
    return parse_exposition(scrape.text)


@pytest.fixture(scope="module")
def recorded() -> set[str]:
    return {rule.name for rule in recording_rules()}


def all_queries() -> list[Query]:
    return rule_queries() + dashboard_queries()


def test_queries_are_collected_from_rules_and_dashboards() -> None:
    queries = all_queries()
    sources = {q.source.split(":")[0] for q in queries}
    assert {"mission.rules.yml", "api.rules.yml", "slo.rules.yml", "stack.rules.yml"} <= sources
    assert {"mission-overview", "api-red", "runtime", "stack-health"} <= sources
    names = {sel.metric for q in queries for sel in selectors(q.expr)}
    # spot checks that the walk reaches inside functions, aggregations and range selectors
    assert {
        "mission_run_duration_seconds_bucket",
        "http_request_duration_seconds_count",
        "wallet_balance",
        "wallet_transactions_total",
        "process_resident_memory_bytes",
        "slo:error_budget:remaining_ratio",
        "up",
    } <= names


def test_every_metric_used_exists(exposition: Exposition, recorded: set[str]) -> None:
    assert contract_violations(all_queries(), exposition, recorded) == []


def test_app_exposes_the_contract_label_values(exposition: Exposition) -> None:
    def values(metric: str, label: str) -> set[str]:
        return {labels[label] for labels in exposition[metric] if label in labels}

    assert values("mission_run_completed_total", "status") == {"approved", "rejected", "expired"}
    assert values("mission_run_started_total", "status") == {"pending_gps"}
    assert values("wallet_transactions_total", "type") == {"mission_reward", "withdrawal"}
    assert "unmatched" in values("http_request_duration_seconds_count", "path")
    assert "/api/missions/{mission_id}/runs" in values(
        "http_request_duration_seconds_count", "path"
    )
    assert "/api/metrics" in values("http_request_duration_seconds_count", "path")
    assert "500" in values("http_request_duration_seconds_count", "status_code")


def test_a_renamed_metric_fails(exposition: Exposition, recorded: set[str]) -> None:
    # Renamed in a query (a typo in a rule or panel) ...
    renamed = Query("renamed", 'sum(rate(mission_runs_completed_total{status="rejected"}[5m]))')
    assert contract_violations([renamed], exposition, recorded) == [
        "renamed: metric mission_runs_completed_total is not exposed by the app"
    ]
    # ... or in the app (the queries stay, the exposition changes).
    app_renamed = {
        ("mission_run_finished_total" if name == "mission_run_completed_total" else name): series
        for name, series in exposition.items()
    }
    problems = contract_violations(all_queries(), app_renamed, recorded)
    assert problems
    assert all("mission_run_completed_total" in problem for problem in problems)
    assert any(
        problem.startswith("mission.rules.yml: HighMissionFailureRate") for problem in problems
    )
    # A renamed label value fails as well.
    relabelled = Query("relabelled", 'mission_run_completed_total{status="denied"}')
    assert len(contract_violations([relabelled], exposition, recorded)) == 1
    # A name matcher is a metric name too.
    by_name = Query("by-name", '{__name__="wallet_balances"}')
    assert len(contract_violations([by_name], exposition, recorded)) == 1


def test_grafana_variables_are_substituted_before_parsing() -> None:
    expr = "rate(x[$__rate_interval]) + rate(x[${__interval}]) + increase(x[$__range])"
    assert substitute_grafana_variables(expr) == "rate(x[1m]) + rate(x[15s]) + increase(x[1h])"
    with pytest.raises(ValueError, match="unknown Grafana variable"):
        substitute_grafana_variables("rate(x[$nope])")


def test_every_self_metric_is_used() -> None:
    # The allow-list must not grow into a place where anything is accepted.
    used = {sel.metric for q in all_queries() for sel in selectors(q.expr)}
    assert set(SELF_METRICS) - used == set()


# --- the allow-list against the real Prometheus and Alertmanager binaries ----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape_until(url: str, wanted: list[str], deadline: float) -> set[str]:
    """Metric sample names at `url`, polled until all of `wanted` appear or the deadline."""
    names: set[str] = set()
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                names = set(parse_exposition(response.read().decode()))
        except OSError:
            names = set()
        if set(wanted) <= names:
            break
        time.sleep(0.5)
    return names


@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real Prometheus sending to a real Alertmanager (Debian binaries); their /metrics URLs."""
    prometheus = shutil.which("prometheus")
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    # Not a skip: `make test` installs both (scripts/install-system-deps.sh).
    assert prometheus and alertmanager, "prometheus / prometheus-alertmanager not on PATH"
    work: Path = tmp_path_factory.mktemp("selfmetrics")
    prom_port, am_port = _free_port(), _free_port()
    # JSON is YAML: the configs are written as plain data.
    sink = {"name": "sink", "webhook_configs": [{"url": "http://127.0.0.1:9/"}]}
    am_config = {"route": {"receiver": "sink"}, "receivers": [sink]}
    rules = {"groups": [{"name": "g", "rules": [{"alert": "Watchdog", "expr": "vector(1)"}]}]}
    prom_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
    }
    (work / "am.yml").write_text(json.dumps(am_config))
    (work / "rules.yml").write_text(json.dumps(rules))
    (work / "prometheus.yml").write_text(json.dumps(prom_config))
    processes = [
        subprocess.Popen(
            [
                alertmanager,
                f"--config.file={work / 'am.yml'}",
                f"--storage.path={work / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                prometheus,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                # send firing alerts every second instead of every minute: the send metrics
                # (latency summary) appear after the first send
                "--rules.alert.resend-delay=1s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        yield f"http://127.0.0.1:{prom_port}/metrics", f"http://127.0.0.1:{am_port}/metrics"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_prometheus_self_metrics_exist_in_the_real_binary(real_stack: tuple[str, str]) -> None:
    names = _scrape_until(real_stack[0], PROMETHEUS_SELF, time.monotonic() + 30)
    assert sorted(set(PROMETHEUS_SELF) - names) == []


def test_alertmanager_self_metrics_exist_in_the_real_binary(real_stack: tuple[str, str]) -> None:
    names = _scrape_until(real_stack[1], ALERTMANAGER_SELF, time.monotonic() + 30)
    assert sorted(set(ALERTMANAGER_SELF) - names) == []
