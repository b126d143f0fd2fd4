"""Stack health: is the monitoring itself working? Targets, Prometheus, Alertmanager, traces.

Metric names were checked against the real Debian binaries (Prometheus 2.42, Alertmanager 0.25).
The trace backend panels sit in a folded row of their own: Tempo and Jaeger are not installed on
every machine (not locally here), and only one of the two runs in a given deployment.
"""

from __future__ import annotations

from typing import Any

from dashboards import panels
from dashboards.panels import GREEN, RED, Query
from dashboards.uids import STACK_HEALTH_UID

UID = STACK_HEALTH_UID
TRACE_ROW_TITLE = "Trace backend (Tempo or Jaeger; empty where neither is deployed)"

TARGETS_UP = "sum by (job) (up)"
TARGETS_DOWN = "count(up == 0) or vector(0)"
SCRAPE_DURATION = "max by (job) (scrape_duration_seconds)"
SAMPLES_APPENDED = (
    "sum by (job, instance) (rate(prometheus_tsdb_head_samples_appended_total[$__rate_interval]))"
)
HEAD_SERIES = "sum by (job, instance) (prometheus_tsdb_head_series)"
RULE_EVALUATIONS = "sum(rate(prometheus_rule_evaluations_total[$__rate_interval]))"
RULE_FAILURES = (
    "sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total[$__rate_interval]))"
)
RULE_GROUP_DURATION = "max by (rule_group) (prometheus_rule_group_last_duration_seconds)"
PROMETHEUS_NOTIFICATIONS_SENT = (
    "sum by (alertmanager) (rate(prometheus_notifications_sent_total[$__rate_interval]))"
)
PROMETHEUS_NOTIFICATION_ERRORS = (
    "sum by (alertmanager) (rate(prometheus_notifications_errors_total[$__rate_interval]))"
)
PROMETHEUS_NOTIFICATIONS_DROPPED = (
    "sum(rate(prometheus_notifications_dropped_total[$__rate_interval]))"
)
# Alertmanager pre-creates one series per integration type, so these exist (as 0) from start.
AM_NOTIFICATIONS = "sum by (integration) (rate(alertmanager_notifications_total[$__rate_interval]))"
AM_NOTIFICATIONS_FAILED = (
    "sum by (integration) (rate(alertmanager_notifications_failed_total[$__rate_interval]))"
)
AM_ALERTS = "sum by (state) (alertmanager_alerts)"
TEMPO_SPANS = "sum by (tenant) (rate(tempo_distributor_spans_received_total[$__rate_interval]))"
# Jaeger v2 is an OpenTelemetry collector: current releases export the counter with `_total`,
# older ones without; `or` covers both.
JAEGER_ACCEPTED = (
    "sum by (receiver, transport) "
    "(rate(otelcol_receiver_accepted_spans_total[$__rate_interval]))\n"
    "or sum by (receiver, transport) (rate(otelcol_receiver_accepted_spans[$__rate_interval]))"
)
JAEGER_REFUSED = (
    "sum by (receiver, transport) "
    "(rate(otelcol_receiver_refused_spans_total[$__rate_interval]))\n"
    "or sum by (receiver, transport) (rate(otelcol_receiver_refused_spans[$__rate_interval]))"
)
TRACES_UP = 'up{job="traces"}'


def _trace_row() -> Any:
    return panels.collapsed_row(
        TRACE_ROW_TITLE,
        [
            panels.stat_panel(
                "Trace backend target up",
                "short",
                [Query(TRACES_UP, legend="{{instance}}")],
                description="1 when Prometheus scrapes the trace backend (job traces).",
                steps=((None, RED), (1, GREEN)),
                decimals=0,
                height=8,
            ),
            panels.timeseries_panel(
                "Tempo spans received",
                "suffix: spans/s",
                [Query(TEMPO_SPANS, legend="{{tenant}}")],
                description="Spans received by Tempo's distributor (empty unless Tempo runs).",
                width=9,
            ),
            panels.timeseries_panel(
                "Jaeger spans accepted / refused",
                "suffix: spans/s",
                [
                    Query(JAEGER_ACCEPTED, legend="accepted {{receiver}} {{transport}}"),
                    Query(JAEGER_REFUSED, legend="refused {{receiver}} {{transport}}"),
                ],
                description="Spans accepted and refused by Jaeger v2's receivers (empty unless "
                "Jaeger runs).",
                width=9,
            ),
        ],
    )


def build() -> dict[str, Any]:
    board = panels.dashboard(
        UID,
        "Health of the monitoring stack: scrape targets, Prometheus, Alertmanager, tracing.",
        ["stack"],
    )
    board = panels.layout(
        board,
        [
            "Scrape targets",
            panels.stat_panel(
                "Targets down",
                "short",
                [Query(TARGETS_DOWN, legend="down")],
                description="Scrape targets whose last scrape failed (0 when all are up).",
                steps=((None, GREEN), (1, RED)),
                decimals=0,
                height=8,
            ),
            panels.timeseries_panel(
                "Targets up by job",
                "short",
                [Query(TARGETS_UP, legend="{{job}}")],
                description="Number of healthy scrape targets per job.",
                width=9,
                min_value=0,
            ),
            panels.timeseries_panel(
                "Scrape duration by job",
                "s",
                [Query(SCRAPE_DURATION, legend="{{job}}")],
                description="Slowest scrape of each job; near the scrape timeout means trouble.",
                width=9,
            ),
            "Prometheus",
            panels.timeseries_panel(
                "Samples ingested",
                "suffix: samples/s",
                [Query(SAMPLES_APPENDED, legend="{{instance}}")],
                description="Samples appended to the TSDB head per second.",
                width=8,
            ),
            panels.timeseries_panel(
                "Head series",
                "short",
                [Query(HEAD_SERIES, legend="{{instance}}")],
                description="Active series in the TSDB head (cardinality).",
                width=8,
            ),
            panels.timeseries_panel(
                "Rule evaluations and failures",
                "suffix: evals/s",
                [
                    Query(RULE_EVALUATIONS, legend="evaluations"),
                    Query(RULE_FAILURES, legend="failed {{rule_group}}"),
                ],
                description="Rule evaluations per second and failed ones per rule group.",
                width=8,
            ),
            panels.timeseries_panel(
                "Rule group evaluation duration",
                "s",
                [Query(RULE_GROUP_DURATION, legend="{{rule_group}}")],
                description="Last evaluation time per rule group (above interval: missed runs).",
            ),
            panels.timeseries_panel(
                "Alerts sent to Alertmanager",
                "suffix: alerts/s",
                [
                    Query(PROMETHEUS_NOTIFICATIONS_SENT, legend="sent {{alertmanager}}"),
                    Query(PROMETHEUS_NOTIFICATION_ERRORS, legend="errors {{alertmanager}}"),
                    Query(PROMETHEUS_NOTIFICATIONS_DROPPED, legend="dropped"),
                ],
                description="Alerts Prometheus sends to Alertmanager, failed sends and drops.",
            ),
            "Alertmanager",
            panels.timeseries_panel(
                "Notifications sent by integration",
                "suffix: notifications/s",
                [Query(AM_NOTIFICATIONS, legend="{{integration}}")],
                description="Notification attempts per receiver integration (webhook, slack...).",
                width=8,
            ),
            panels.timeseries_panel(
                "Notifications failed by integration",
                "suffix: notifications/s",
                [Query(AM_NOTIFICATIONS_FAILED, legend="{{integration}}")],
                description="Failed notification attempts: on-call may not be getting pages.",
                width=8,
            ),
            panels.timeseries_panel(
                "Alerts in Alertmanager by state",
                "short",
                [Query(AM_ALERTS, legend="{{state}}")],
                description="Active, suppressed and unprocessed alerts held by Alertmanager.",
                width=8,
            ),
            _trace_row(),
        ],
    )
    return panels.to_json(board)
