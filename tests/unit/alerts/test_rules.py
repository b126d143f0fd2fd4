"""Structure of every rule: valid PromQL, and the labels and annotations on-call relies on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerts import (
    RULE_FILE_NAMES,
    RULES_DIR,
    Rule,
    alert_names,
    alert_rules,
    load_rules,
    recording_rules,
    rule_file_paths,
)
from alerts.promql import metric_names, parse, range_windows
from dashboards.uids import DASHBOARD_UIDS

ALERTS = alert_rules()
RECORDS = recording_rules()
SEVERITIES = {"critical", "warning", "info"}
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook_url", "dashboard_url", "dashboard_uid"}
# 4x a 15 s scrape interval: a shorter rate window can hold fewer than two samples.
MIN_RANGE = timedelta(minutes=1)
DURATION = re.compile(r"^(\d+[smhdwy])+$")


def by_name(rule: Rule) -> str:
    return rule.name


def test_rule_files_are_the_contract_ones() -> None:
    assert RULE_FILE_NAMES == (
        "mission.rules.yml",
        "api.rules.yml",
        "slo.rules.yml",
        "stack.rules.yml",
    )
    assert [p.name for p in rule_file_paths()] == list(RULE_FILE_NAMES)
    assert all(p.is_file() and p.parent == RULES_DIR for p in rule_file_paths())
    # no stray rule file that the packaging would miss
    assert sorted(p.name for p in RULES_DIR.glob("*.rules.yml")) == sorted(RULE_FILE_NAMES)


def test_the_expected_alerts_exist_once_each() -> None:
    names = alert_names()
    assert len(names) == len(set(names))
    assert set(names) == {
        "HighMissionFailureRate",
        "SlowMissionProcessing",
        "HighMissionExpiryRate",
        "MissionAppDown",
        "HighHttpErrorRatio",
        "HighHttpLatencyP99",
        "ApiErrorBudgetBurnFast",
        "ApiErrorBudgetBurnSlow",
        "Watchdog",
        "PrometheusRuleEvaluationFailures",
        "PrometheusNotificationsFailing",
        "PrometheusNotConnectedToAlertmanagers",
        "AlertmanagerNotificationsFailing",
        "StackTargetDown",
    }


@pytest.mark.parametrize("rule", load_rules(), ids=by_name)
def test_every_expression_parses(rule: Rule) -> None:
    parse(rule.expr)


@pytest.mark.parametrize("rule", load_rules(), ids=by_name)
def test_rate_windows_hold_at_least_four_scrapes(rule: Rule) -> None:
    assert all(window >= MIN_RANGE for window in range_windows(rule.expr))


@pytest.mark.parametrize("rule", ALERTS, ids=by_name)
def test_alert_has_for_severity_and_annotations(rule: Rule) -> None:
    assert rule.for_ is not None and DURATION.match(rule.for_), rule.for_
    assert rule.labels.get("severity") in SEVERITIES
    assert set(rule.annotations) == REQUIRED_ANNOTATIONS
    assert all(rule.annotations[key].strip() for key in REQUIRED_ANNOTATIONS)


@pytest.mark.parametrize("rule", ALERTS, ids=by_name)
def test_description_shows_value_and_labels(rule: Rule) -> None:
    description = rule.annotations["description"]
    # the measured value, humanized (never a raw float like 0.30000000000000004)
    assert re.search(r"\{\{ \$value \| humanize(Percentage|Duration)? \}\}", description)
    if rule.name != "Watchdog":  # vector(1) has no labels to show
        assert "$labels." in description


@pytest.mark.parametrize("rule", ALERTS, ids=by_name)
def test_links_point_to_runbook_anchor_and_dashboard(rule: Rule) -> None:
    assert rule.annotations["runbook_url"] == f"alerts/runbooks.md#{rule.name.lower()}"
    uid = rule.annotations["dashboard_uid"]
    assert uid in DASHBOARD_UIDS
    # relative: infra.config_files makes both absolute for a given stack
    assert rule.annotations["dashboard_url"] == f"/d/{uid}"


def test_dashboard_uids_are_the_contract_ones() -> None:
    assert set(DASHBOARD_UIDS) == {"mission-overview", "api-red", "runtime", "stack-health"}


def test_watchdog_is_the_always_firing_info_alert() -> None:
    (watchdog,) = (rule for rule in ALERTS if rule.name == "Watchdog")
    assert watchdog.expr == "vector(1)"
    assert watchdog.labels == {"severity": "info"}


def test_paging_alerts_are_the_service_down_and_fast_burn_and_pipeline_ones() -> None:
    critical = {rule.name for rule in ALERTS if rule.labels["severity"] == "critical"}
    assert critical == {
        "MissionAppDown",
        "ApiErrorBudgetBurnFast",
        "PrometheusRuleEvaluationFailures",
        "PrometheusNotificationsFailing",
    }


def test_recording_rule_names_follow_level_metric_operations() -> None:
    for rule in RECORDS:
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", rule.name), rule.name


def test_recording_rules_cover_the_standard_slo_windows() -> None:
    recorded = {rule.name for rule in RECORDS}
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        assert f"slo:sli_error:ratio_rate{window}" in recorded
    assert {"slo:objective:ratio", "slo:error_budget:remaining_ratio"} <= recorded


def test_slo_objective_is_defined_once() -> None:
    # Only slo:objective:ratio holds the number; every other SLO rule reads the recorded value.
    holders = [rule.name for rule in load_rules() if "0.995" in rule.expr]
    assert holders == ["slo:objective:ratio"]
    users = {rule.name for rule in load_rules() if "slo:objective:ratio" in metric_names(rule.expr)}
    assert users == {"slo:error_budget:ratio"}


def test_recording_rules_are_defined_before_use_within_their_group() -> None:
    # Rules of a group are evaluated in order; reading a rule recorded later lags one interval.
    seen: set[str] = set()
    recorded = {rule.name for rule in RECORDS}
    for rule in load_rules():
        for name in metric_names(rule.expr) & recorded:
            assert name in seen, f"{rule.name} reads {name} before it is recorded"
        if rule.record:
            seen.add(rule.record)
