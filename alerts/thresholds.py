"""Every tunable number of the alert rules, each with the reason for its value: the source of truth.

Design (the simplest honest one we found): Prometheus rule files cannot import anything, so the
rule files keep their numbers as literals, readable and reviewable as plain PromQL, and this module
names every one of them. Nothing is generated. Instead a unit test
(tests/unit/alerts/test_thresholds.py) parses each rule expression with a real PromQL parser and
checks that the numeric literals of every alert and recording rule are exactly the values declared
here for it, and that each alert's `for` equals the one declared here. Changing a threshold in only
one of the two places, or adding an undeclared number to an expression, fails that test.

The literals 0 and 1 are not listed: they are arithmetic identities (`1 - ratio`, `up == 0`,
`vector(1)`, "fewer than one") rather than tunables.

Other code (integration tests, load generators) imports these values to know how much bad traffic
makes an alert fire, instead of repeating the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Threshold:
    """A number used in a rule expression and the reason for its value."""

    value: float
    why: str


# --- mission.rules.yml -------------------------------------------------------------------------

MISSION_P95_QUANTILE: Final = Threshold(
    0.95, "p95 as the source architecture asks: most users' experience, not the long tail"
)
MISSION_REJECTED_SHARE: Final = Threshold(
    0.10,
    "a GPS check rejects a few honest runs; above one in ten completed runs something is wrong "
    "(bad GPS validation release, mission coordinates off, fraud wave). From the source "
    "architecture, now computed over completed runs instead of started ones",
)
MISSION_P95_SECONDS: Final = Threshold(
    10.0,
    "the source architecture's target: 95% of runs finish within 10 s; 10 is also a bucket "
    "boundary of mission_run_duration_seconds, so the quantile is exact at the threshold",
)
MISSION_EXPIRED_SHARE: Final = Threshold(
    0.25,
    "some users abandon a run and let it expire (normal); when a quarter of completed runs "
    "expire, GPS submission is probably failing or the time limits are too tight",
)

# --- api.rules.yml -----------------------------------------------------------------------------

HTTP_5XX_RATIO: Final = Threshold(
    0.05,
    "one request in twenty failing is clearly user-visible; the 5m ratio warns early and "
    "forgets fast, while paging is left to the SLO burn-rate alerts (7.2% over 1h and 5m)",
)
HTTP_P99_QUANTILE: Final = Threshold(0.99, "p99 per route: the tail the slowest users see")
HTTP_P99_SECONDS: Final = Threshold(
    1.0,
    "every API call is a small database read or write that normally takes a few ms; a tail "
    "above 1 s (a bucket boundary of http_request_duration_seconds) is a stuck database or "
    "lock contention, not noise",
)

# --- slo.rules.yml -----------------------------------------------------------------------------

SLO_OBJECTIVE: Final = Threshold(
    0.995,
    "availability SLO: 99.5% of API requests (scrapes and health probes excluded) answer "
    "without a 5xx over 30 days, i.e. an error budget of 0.5% (about 3.6 h of full outage)",
)
SLO_FAST_BURN_RATE: Final = Threshold(
    14.4,
    "Google SRE workbook: burning 2% of the 30-day budget in 1 hour (14.4 = 0.02 * 720 h); "
    "pages, checked over 1h and confirmed over 5m so it also resolves within minutes",
)
SLO_SLOW_BURN_RATE: Final = Threshold(
    6.0,
    "Google SRE workbook: burning 5% of the 30-day budget in 6 hours (6 = 0.05 * 720 h / 6); "
    "tickets (chat), checked over 6h and confirmed over 30m",
)

# --- stack.rules.yml ---------------------------------------------------------------------------

PROMETHEUS_NOTIFICATION_ERROR_RATIO: Final = Threshold(
    0.01,
    "share of Prometheus' send attempts to an Alertmanager that fail; Watchdog guarantees "
    "at least one attempt per minute, and a healthy pipeline fails none, so 1% is a real fault",
)
ALERTMANAGER_NOTIFICATION_FAILURE_RATIO: Final = Threshold(
    0.01,
    "share of Alertmanager notification attempts per integration (webhook, slack, pagerduty) "
    "that fail; a healthy receiver fails none, so anything above 1% loses notifications",
)


@dataclass(frozen=True)
class AlertTuning:
    """The `for` duration of one alert and every non-identity number in its expression."""

    for_: str
    thresholds: tuple[Threshold, ...] = ()


# Standard `for` values (the integration tests scale all of them by one factor):
# 5m for symptoms that should be confirmed quickly, 2m for paging on fast SLO burn (the 5m
# short window already confirms it), 10m-15m for pipeline faults that often heal by themselves
# (a restart, a config reload).
ALERTS: Final[dict[str, AlertTuning]] = {
    # mission.rules.yml
    "HighMissionFailureRate": AlertTuning("5m", (MISSION_REJECTED_SHARE,)),
    "SlowMissionProcessing": AlertTuning("5m", (MISSION_P95_QUANTILE, MISSION_P95_SECONDS)),
    "HighMissionExpiryRate": AlertTuning("10m", (MISSION_EXPIRED_SHARE,)),
    # api.rules.yml
    "MissionAppDown": AlertTuning("5m"),
    "HighHttpErrorRatio": AlertTuning("5m", (HTTP_5XX_RATIO,)),
    # 10m, twice the 5m window: one slow request on a quiet route is the p99 for at most 5m,
    # so only sustained slowness fires (no request-rate floor needed; a quiet route that is
    # always slow is slow).
    "HighHttpLatencyP99": AlertTuning("10m", (HTTP_P99_QUANTILE, HTTP_P99_SECONDS)),
    # slo.rules.yml
    "ApiErrorBudgetBurnFast": AlertTuning("2m", (SLO_FAST_BURN_RATE, SLO_FAST_BURN_RATE)),
    "ApiErrorBudgetBurnSlow": AlertTuning("15m", (SLO_SLOW_BURN_RATE, SLO_SLOW_BURN_RATE)),
    # stack.rules.yml
    "Watchdog": AlertTuning("0s"),
    "PrometheusRuleEvaluationFailures": AlertTuning("15m"),
    "PrometheusNotificationsFailing": AlertTuning("10m", (PROMETHEUS_NOTIFICATION_ERROR_RATIO,)),
    "PrometheusNotConnectedToAlertmanagers": AlertTuning("10m"),
    "AlertmanagerNotificationsFailing": AlertTuning(
        "10m", (ALERTMANAGER_NOTIFICATION_FAILURE_RATIO,)
    ),
    "StackTargetDown": AlertTuning("5m"),
}

# Recording rules whose expression contains a tunable number (all others contain none).
RECORDING_RULES: Final[dict[str, tuple[Threshold, ...]]] = {
    "slo:objective:ratio": (SLO_OBJECTIVE,),
}

# Literals that are arithmetic identities, never tunables (see the module docstring).
IDENTITY_LITERALS: Final[frozenset[float]] = frozenset({0.0, 1.0})
