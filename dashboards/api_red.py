"""API (RED): request rate, errors and duration per route, and the availability SLO.

The SLO panels read the recording rules of alerts/slo.rules.yml and the thresholds come from
alerts.thresholds, so the dashboard and the alerts show the same numbers from one definition.
"""

from __future__ import annotations

from typing import Any

from alerts import thresholds as alert_thresholds
from dashboards import panels
from dashboards.panels import GREEN, RED, YELLOW, Query
from dashboards.uids import API_RED_UID, APP_JOB

UID = API_RED_UID
APP = f'job="{APP_JOB}"'
# The SLI and HighHttpErrorRatio leave out Prometheus' scrapes and the health probes.
SLI = f'{APP}, path!~"/api/metrics|/api/health/.*"'
REQUESTS = f"http_request_duration_seconds_count{{{APP}}}"
ERRORS = f'http_request_duration_seconds_count{{{APP}, status_code=~"5.."}}'
SLI_REQUESTS = f"http_request_duration_seconds_count{{{SLI}}}"
SLI_ERRORS = f'http_request_duration_seconds_count{{{SLI}, status_code=~"5.."}}'
BUCKETS = f"http_request_duration_seconds_bucket{{{APP}}}"

# --- the SLO, as recorded by alerts/slo.rules.yml ----------------------------------------------
SLO_PERIOD = "30d"
BURN_RATE_WINDOWS = ("5m", "30m", "1h", "6h")  # the multiwindow burn-rate alerts' windows
OBJECTIVE = alert_thresholds.SLO_OBJECTIVE.value
FAST_BURN = alert_thresholds.SLO_FAST_BURN_RATE.value
SLOW_BURN = alert_thresholds.SLO_SLOW_BURN_RATE.value

REQUEST_RATE_BY_ROUTE = f"sum by (method, path) (rate({REQUESTS}[$__rate_interval]))"
REQUEST_RATE_BY_STATUS = f"sum by (status_code) (rate({REQUESTS}[$__rate_interval]))"
# Routes without any 5xx have no 5xx series; `or (... * 0)` gives them a true 0 ratio instead of
# dropping them, while routes without traffic stay absent (their ratio is undefined).
ERROR_RATIO_BY_ROUTE = (
    f"(sum by (path) (rate({ERRORS}[$__rate_interval]))\n"
    f" or sum by (path) (rate({REQUESTS}[$__rate_interval])) * 0)\n"
    "/\n"
    f"sum by (path) (rate({REQUESTS}[$__rate_interval]))"
)
# Same population as HighHttpErrorRatio; `or vector(0)` on the numerator only: no 5xx series
# with traffic is a true 0, no traffic stays undefined (empty).
ERROR_RATIO = (
    f"(sum(rate({SLI_ERRORS}[$__rate_interval])) or vector(0))\n"
    "/\n"
    f"sum(rate({SLI_REQUESTS}[$__rate_interval]))"
)


def latency_quantile(quantile: float, by: str = "le, path") -> str:
    return f"histogram_quantile({quantile}, sum by ({by}) (rate({BUCKETS}[$__rate_interval])))"


SLOWEST_ROUTES = f"topk(10, {latency_quantile(0.95)})"


def slo_error_ratio(window: str) -> str:
    """The recorded SLI error ratio over `window` (slo:sli_error:ratio_rate<window>)."""
    return f"slo:sli_error:ratio_rate{window}{{{APP}}}"


def burn_rate(window: str) -> str:
    # Burn rate 1 spends exactly the budget over the SLO period.
    return f"{slo_error_ratio(window)} / scalar(slo:error_budget:ratio)"


ERROR_BUDGET_REMAINING = f"slo:error_budget:remaining_ratio{{{APP}}}"
AVAILABILITY = f"1 - {slo_error_ratio(SLO_PERIOD)}"


def build() -> dict[str, Any]:
    board = panels.dashboard(
        UID,
        "Rate, errors and duration of the mission service HTTP API, and its availability SLO.",
        ["api", "slo"],
    )
    board = panels.layout(
        board,
        [
            "Rate",
            panels.timeseries_panel(
                "Request rate by route",
                "reqps",
                [Query(REQUEST_RATE_BY_ROUTE, legend="{{method}} {{path}}")],
                description="Requests per second by route template and method.",
            ),
            panels.timeseries_panel(
                "Request rate by status code",
                "reqps",
                [Query(REQUEST_RATE_BY_STATUS, legend="{{status_code}}")],
                description="Requests per second by HTTP status code.",
            ),
            "Errors",
            panels.stat_panel(
                "5xx error ratio",
                "percentunit",
                [Query(ERROR_RATIO, legend="5xx share")],
                description=(
                    "Share of API requests (scrapes and health probes excluded) answered with "
                    "a 5xx status. Yellow: above the SLO's budget; red: HighHttpErrorRatio."
                ),
                steps=(
                    (None, GREEN),
                    (round(1 - OBJECTIVE, 6), YELLOW),
                    (alert_thresholds.HTTP_5XX_RATIO.value, RED),
                ),
                width=8,
                height=8,
            ),
            panels.timeseries_panel(
                "5xx error ratio by route",
                "percentunit",
                [Query(ERROR_RATIO_BY_ROUTE, legend="{{path}}")],
                description="Share of each route's requests answered with a 5xx status.",
                width=16,
                min_value=0,
                threshold_lines=((None, GREEN), (alert_thresholds.HTTP_5XX_RATIO.value, RED)),
            ),
            "Duration",
            panels.timeseries_panel(
                "Latency p50 / p95 / p99 by route",
                "s",
                [
                    Query(latency_quantile(0.5), legend="p50 {{path}}"),
                    Query(latency_quantile(0.95), legend="p95 {{path}}"),
                    Query(latency_quantile(0.99), legend="p99 {{path}}"),
                ],
                description=(
                    "Request duration quantiles per route template; the dashed line is the "
                    "HighHttpLatencyP99 threshold."
                ),
                width=16,
                threshold_lines=((None, GREEN), (alert_thresholds.HTTP_P99_SECONDS.value, RED)),
            ),
            panels.table_panel(
                "Slowest routes (p95)",
                "s",
                [Query(SLOWEST_ROUTES, instant=True, table=True)],
                description="The ten routes with the highest p95 latency right now.",
                width=8,
            ),
            f"Availability SLO ({SLO_PERIOD})",
            panels.stat_panel(
                f"Availability ({SLO_PERIOD})",
                "percentunit",
                [Query(AVAILABILITY, legend="availability")],
                description=(
                    f"Share of non-5xx API requests over the last {SLO_PERIOD} "
                    f"(objective {OBJECTIVE:.1%}; needs {SLO_PERIOD} of retention to be exact)."
                ),
                steps=((None, RED), (OBJECTIVE, GREEN)),
                decimals=3,
                height=8,
            ),
            panels.gauge_panel(
                f"Error budget remaining ({SLO_PERIOD})",
                "percentunit",
                [Query(ERROR_BUDGET_REMAINING, legend="budget remaining")],
                description=(
                    f"Share of the {SLO_PERIOD} error budget not yet spent "
                    "(negative once the SLO is broken)."
                ),
                min_value=0,
                max_value=1,
                steps=((None, RED), (0.25, YELLOW), (0.5, GREEN)),
                height=8,
            ),
            panels.timeseries_panel(
                "Error budget burn rate",
                "suffix: x",
                [Query(burn_rate(window), legend=window) for window in BURN_RATE_WINDOWS],
                description=(
                    "How fast the error budget burns (1 = exactly the budget over the period). "
                    f"Fast burn pages at {FAST_BURN:g}x (1h and 5m), slow burn tickets at "
                    f"{SLOW_BURN:g}x (6h and 30m)."
                ),
                min_value=0,
                threshold_lines=((None, GREEN), (SLOW_BURN, YELLOW), (FAST_BURN, RED)),
            ),
        ],
    )
    return panels.to_json(board)
