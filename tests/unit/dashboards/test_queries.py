"""Every dashboard query, through the real PromQL parser: syntax, windows, and what it means."""

from __future__ import annotations

from datetime import timedelta

import promql_parser
import pytest

from alerts import recording_rules
from dashboards import build_all
from dashboards.queries import (
    EMPTY_WHEN_HEALTHY,
    PanelQuery,
    all_metric_names,
    all_panel_queries,
    grafana_rate_interval,
    iter_panels,
    metric_names,
    panel_queries,
    parse,
    range_function_windows,
    substitute_grafana_variables,
)

MODELS = build_all()
QUERIES = all_panel_queries()
QUERY_IDS = [f"{q.dashboard_uid}/{q.panel_title}/{q.ref_id}" for q in QUERIES]
# An odd window no query would use on its own: finding it proves $__rate_interval was there.
SENTINEL = "17s"


def query(uid: str, title: str, ref_id: str = "A") -> PanelQuery:
    matches = [
        q for q in QUERIES if (q.dashboard_uid, q.panel_title, q.ref_id) == (uid, title, ref_id)
    ]
    assert len(matches) == 1, (uid, title, ref_id)
    return matches[0]


def test_panel_queries_lists_every_target_of_every_panel() -> None:
    for uid, model in MODELS.items():
        targets = [t for panel, _row in iter_panels(model) for t in panel["targets"]]
        listed = panel_queries(model)
        assert len(listed) == len(targets) > 0
        assert [q.expr for q in listed] == [t["expr"] for t in targets]
        assert {q.dashboard_uid for q in listed} == {uid}
    assert len(QUERIES) == sum(len(panel_queries(m)) for m in MODELS.values())


@pytest.mark.parametrize("q", QUERIES, ids=QUERY_IDS)
@pytest.mark.parametrize("rate_interval", ["1m", "4s", "2h"])
def test_every_query_parses_after_substitution(q: PanelQuery, rate_interval: str) -> None:
    expr = q.substituted(rate_interval=rate_interval, interval="15s", range="6h")
    assert "$" not in expr
    assert isinstance(promql_parser.parse(expr), promql_parser.Expr)


@pytest.mark.parametrize("q", QUERIES, ids=QUERY_IDS)
def test_every_rate_and_increase_uses_rate_interval(q: PanelQuery) -> None:
    for function, window in range_function_windows(q.expr, rate_interval=SENTINEL):
        assert window == timedelta(seconds=17), f"{function}() in {q.expr!r}"


def test_the_rate_interval_check_can_fail() -> None:
    # The check above would accept anything if the walker found no windows; prove it finds them.
    windows = range_function_windows(
        "sum(rate(a[5m])) / sum(increase(b[$__rate_interval])) + deriv(c[1h:1m])",
        rate_interval=SENTINEL,
    )
    assert windows == [
        ("rate", timedelta(minutes=5)),
        ("increase", timedelta(seconds=17)),
        ("deriv", timedelta(hours=1)),
    ]


def test_every_dashboard_uses_rates() -> None:
    for uid in MODELS:
        assert any(range_function_windows(q.expr) for q in QUERIES if q.dashboard_uid == uid), uid


def test_substitution_covers_grafana_spellings() -> None:
    expr = "rate(x[$__rate_interval]) + rate(y[${__rate_interval}]) + z offset $__range"
    assert substitute_grafana_variables(expr, rate_interval="30s", range="2h") == (
        "rate(x[30s]) + rate(y[30s]) + z offset 2h"
    )
    assert substitute_grafana_variables("a[$__interval] * $__range_s", interval="5s") == (
        "a[5s] * 3600"
    )
    assert substitute_grafana_variables("$__interval_ms + $__range_ms", range="1m") == (
        "15000 + 60000"
    )
    assert substitute_grafana_variables('x{job="$job"}', variables={"job": "api"}) == (
        'x{job="api"}'
    )


def test_unknown_variables_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"\$__rate_intervall"):
        substitute_grafana_variables("rate(x[$__rate_intervall])")


def test_metric_names_come_from_the_parser() -> None:
    assert metric_names(
        'sum(rate(a_total{job="x"}[$__rate_interval])) / on() group_left () '
        '(1 - slo:b:rate5m) or {__name__="c"} or vector(0)'
    ) == {"a_total", "slo:b:rate5m", "c"}


def test_success_rate_is_approved_over_completed() -> None:
    expr = query("mission-overview", "Success rate (approved / completed)").expr
    # The source architecture divided by started runs: wrong window and wrong population.
    assert metric_names(expr) == {"mission_run_completed_total"}
    tree = parse(expr)
    assert isinstance(tree, promql_parser.BinaryExpr)
    assert str(tree.op) == "/"
    assert 'status="approved"' in str(tree.lhs)
    assert "status" not in str(tree.rhs).replace('job="mission-app"', "")


def _histogram_quantile_args(expr: str) -> list[promql_parser.Expr]:
    calls: list[promql_parser.Call] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
            calls.append(node)

    promql_parser.walk(parse(expr), visit)
    return [call.args[1] for call in calls]


@pytest.mark.parametrize("q", QUERIES, ids=QUERY_IDS)
def test_histogram_quantiles_aggregate_rates_by_le(q: PanelQuery) -> None:
    for arg in _histogram_quantile_args(q.expr):
        assert isinstance(arg, promql_parser.AggregateExpr), q.expr
        assert arg.modifier is not None and "le" in arg.modifier.labels, q.expr
        assert isinstance(arg.expr, promql_parser.Call) and arg.expr.func.name == "rate"


def test_run_duration_panel_has_three_quantiles_and_exemplars() -> None:
    targets = [q for q in QUERIES if q.panel_title == "Run duration p50 / p95 / p99"]
    assert [q.legend for q in targets] == ["p50", "p95", "p99"]
    assert targets[1].expr == (
        "histogram_quantile(0.95, sum by (le) "
        '(rate(mission_run_duration_seconds_bucket{job="mission-app"}[$__rate_interval])))'
    )
    assert any(q.exemplar for q in targets)
    assert all(q.panel_type == "timeseries" for q in targets)


def test_firing_alerts_are_queried_from_prometheus() -> None:
    table = query("mission-overview", "Firing alerts")
    assert table.instant
    assert metric_names(table.expr) == {"ALERTS"}
    assert 'alertstate="firing"' in table.expr


def test_wallet_balance_is_max_not_sum() -> None:
    # Every replica reports the same database total; summing would multiply it.
    assert query("mission-overview", "Outstanding wallet balance").expr == (
        'max(wallet_balance{job="mission-app"})'
    )


def test_api_latency_is_by_route() -> None:
    latency = [q for q in QUERIES if q.panel_title == "Latency p50 / p95 / p99 by route"]
    assert len(latency) == 3
    for arg in (a for q in latency for a in _histogram_quantile_args(q.expr)):
        assert isinstance(arg, promql_parser.AggregateExpr)
        assert arg.modifier is not None and set(arg.modifier.labels) == {"le", "path"}
    slowest = query("api-red", "Slowest routes (p95)")
    assert slowest.instant and slowest.expr.startswith("topk(10, histogram_quantile(0.95,")


def test_runtime_panels_read_the_app_job_only() -> None:
    for q in (q for q in QUERIES if q.dashboard_uid == "runtime"):
        assert 'job="mission-app"' in q.expr, q.panel_title


def test_empty_when_healthy_entries_name_real_panels_in_the_trace_row() -> None:
    by_key = {(q.dashboard_uid, q.panel_title): q for q in QUERIES}
    for key, reason in EMPTY_WHEN_HEALTHY.items():
        assert key in by_key, key
        assert reason
        row = by_key[key].row
        assert row is not None and "Trace backend" in row
    # Everything else must show data in a healthy system (the integration tests check it).
    allowed = [q for q in QUERIES if q.empty_reason is not None]
    assert {(q.dashboard_uid, q.panel_title) for q in allowed} == set(EMPTY_WHEN_HEALTHY)


def test_recorded_series_used_by_dashboards_are_recorded_by_the_rule_files() -> None:
    # Names with a colon are recording rules by convention; a rename in alerts/ must fail here.
    used = {name for q in QUERIES for name in metric_names(q.expr) if ":" in name}
    assert used >= {
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate30d",
        "slo:error_budget:ratio",
        "slo:error_budget:remaining_ratio",
    }
    recorded = {rule.record for rule in recording_rules()}
    assert used <= recorded, sorted(used - recorded)


def test_burn_rate_panel_covers_the_alert_windows() -> None:
    burn = [q for q in QUERIES if q.panel_title == "Error budget burn rate"]
    assert [q.legend for q in burn] == ["5m", "30m", "1h", "6h"]
    for q in burn:
        assert q.expr == (
            f'slo:sli_error:ratio_rate{q.legend}{{job="mission-app"}} '
            "/ scalar(slo:error_budget:ratio)"
        )


def test_grafana_rate_interval_matches_grafanas_formula() -> None:
    # max(interval + scrape interval, 4 x scrape interval)
    assert grafana_rate_interval(15) == "60000ms"
    assert grafana_rate_interval(1, step_seconds=2) == "4000ms"
    assert grafana_rate_interval(1, step_seconds=10) == "11000ms"
    assert promql_parser.parse_duration(grafana_rate_interval(0.5)) == timedelta(seconds=2)


def test_all_metric_names_cover_app_and_stack_metrics() -> None:
    names = all_metric_names()
    # The app's contract metrics (DESIGN.md) are all on a dashboard.
    assert {
        "mission_run_started_total",
        "mission_run_completed_total",
        "mission_run_duration_seconds_bucket",
        "wallet_transactions_total",
        "wallet_balance",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_count",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "python_gc_collections_total",
        "python_gc_objects_collected_total",
    } <= names
    assert {
        "up",
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_rule_evaluation_failures_total",
        "prometheus_rule_group_last_duration_seconds",
        "alertmanager_notifications_total",
        "alertmanager_notifications_failed_total",
        "tempo_distributor_spans_received_total",
        "otelcol_receiver_accepted_spans",
    } <= names
    # The source architecture's per-user balance label is gone for good.
    assert not any("user" in name for name in names)
