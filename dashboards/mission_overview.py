"""Mission overview: the business view of mission runs, rewards and what is alerting now.

Corrects the source architecture's queries: the success rate divides approved by *completed*
runs (not started runs, which mixes statuses and windows) and the duration quantiles aggregate
rates by `le` before `histogram_quantile`.
"""

from __future__ import annotations

from typing import Any

from alerts import thresholds as alert_thresholds
from dashboards import panels
from dashboards.panels import GREEN, RED, Query
from dashboards.uids import APP_JOB, MISSION_OVERVIEW_UID

UID = MISSION_OVERVIEW_UID
APP = f'job="{APP_JOB}"'

RUNS_PER_SECOND = "suffix: runs/s"

STARTED = f"sum by (status) (rate(mission_run_started_total{{{APP}}}[$__rate_interval]))"
COMPLETED = f"sum by (status) (rate(mission_run_completed_total{{{APP}}}[$__rate_interval]))"


def completed_share(status: str) -> str:
    """Share of the runs completed in the window that ended with `status`.

    `or vector(0)` only on the numerator: with completions but no `status` series the share is a
    true 0; with no completions at all it is undefined and stays empty.
    """
    return (
        f'(sum(rate(mission_run_completed_total{{{APP},status="{status}"}}[$__rate_interval])) '
        "or vector(0))\n/\n"
        f"sum(rate(mission_run_completed_total{{{APP}}}[$__rate_interval]))"
    )


# Success is defined on completed runs: a started run has no outcome yet.
SUCCESS_RATE = completed_share("approved")
REJECTED_SHARE = completed_share("rejected")
EXPIRED_SHARE = completed_share("expired")


def duration_quantile(quantile: float) -> str:
    return (
        f"histogram_quantile({quantile}, sum by (le) "
        f"(rate(mission_run_duration_seconds_bucket{{{APP}}}[$__rate_interval])))"
    )


WALLET_TRANSACTIONS = f"sum by (type) (rate(wallet_transactions_total{{{APP}}}[$__rate_interval]))"
# Every replica reports the same database total, so max (not sum) is the outstanding balance.
WALLET_BALANCE = f"max(wallet_balance{{{APP}}})"
# Watchdog always fires (it proves the alert pipeline), so it is left out of the count.
FIRING_ALERT_COUNT = 'count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)'
FIRING_ALERTS = 'sum by (alertname, severity) (ALERTS{alertstate="firing"})'


def build() -> dict[str, Any]:
    board = panels.dashboard(
        UID,
        "Mission runs, rewards and firing alerts of the mission service.",
        ["business"],
    )
    board = panels.layout(
        board,
        [
            "Mission runs",
            panels.timeseries_panel(
                "Runs started",
                RUNS_PER_SECOND,
                [Query(STARTED, legend="started ({{status}})")],
                description="Mission runs started per second (every run starts as pending_gps).",
                width=8,
            ),
            panels.timeseries_panel(
                "Runs completed by status",
                RUNS_PER_SECOND,
                [Query(COMPLETED, legend="{{status}}")],
                description="Mission runs reaching a final status per second.",
                width=8,
            ),
            panels.timeseries_panel(
                "Success rate (approved / completed)",
                "percentunit",
                [Query(SUCCESS_RATE, legend="approved share")],
                description=(
                    "Share of completed runs that were approved. Defined on completed runs, "
                    "not started runs: a started run has not had its outcome yet."
                ),
                width=8,
                min_value=0,
                max_value=1,
            ),
            "Run duration",
            panels.timeseries_panel(
                "Run duration p50 / p95 / p99",
                "s",
                [
                    Query(duration_quantile(0.5), legend="p50"),
                    # Exemplars carry trace ids: a click on a dot opens the trace.
                    Query(duration_quantile(0.95), legend="p95", exemplar=True),
                    Query(duration_quantile(0.99), legend="p99"),
                ],
                description=(
                    "Time from run start to completion; the dashed line is the "
                    "SlowMissionProcessing p95 threshold. Dots are exemplars: click one to open "
                    "its trace."
                ),
                width=12,
                threshold_lines=(
                    (None, GREEN),
                    (alert_thresholds.MISSION_P95_SECONDS.value, RED),
                ),
            ),
            panels.stat_panel(
                "Rejected share of completed runs",
                "percentunit",
                [Query(REJECTED_SHARE, legend="rejected share")],
                description="Runs rejected by the GPS check; red at the HighMissionFailureRate "
                "threshold.",
                width=6,
                height=8,
                steps=((None, GREEN), (alert_thresholds.MISSION_REJECTED_SHARE.value, RED)),
            ),
            panels.stat_panel(
                "Expired share of completed runs",
                "percentunit",
                [Query(EXPIRED_SHARE, legend="expired share")],
                description="Runs that passed their mission's time limit before a GPS fix; red "
                "at the HighMissionExpiryRate threshold.",
                width=6,
                height=8,
                steps=((None, GREEN), (alert_thresholds.MISSION_EXPIRED_SHARE.value, RED)),
            ),
            "Wallet",
            panels.timeseries_panel(
                "Wallet transactions by type",
                "suffix: tx/s",
                [Query(WALLET_TRANSACTIONS, legend="{{type}}")],
                description="Mission rewards and withdrawals per second.",
                width=16,
            ),
            panels.stat_panel(
                "Outstanding wallet balance",
                "suffix: points",
                [Query(WALLET_BALANCE, legend="balance")],
                description="Total balance of all wallets, read from the database at scrape time.",
                width=8,
                height=8,
                decimals=0,
            ),
            "Alerts",
            panels.stat_panel(
                "Firing alerts (excluding Watchdog)",
                "short",
                [Query(FIRING_ALERT_COUNT, legend="firing")],
                description="Alerts firing now, except the always-firing Watchdog.",
                width=8,
                height=8,
                steps=((None, GREEN), (1, RED)),
                decimals=0,
            ),
            panels.table_panel(
                "Firing alerts",
                "short",
                [Query(FIRING_ALERTS, instant=True, table=True)],
                description=(
                    "Alerts firing now by name and severity (Watchdog is always here: "
                    "its absence means the rule evaluation is broken)."
                ),
                sort_by="severity",
                width=16,
            ),
        ],
    )
    return panels.to_json(board)
