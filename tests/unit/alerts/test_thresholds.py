"""Every number in a rule expression and every `for` equals alerts/thresholds.py, the one source.

The rule files keep their numbers as literals (Prometheus cannot import); this test is what
keeps them and alerts.thresholds in step (see the docstring of alerts/thresholds.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from alerts import Rule, alert_rules, load_rules, recording_rules
from alerts import thresholds as t
from alerts.promql import number_literals


def literal_mismatches(rule: Rule, declared: tuple[t.Threshold, ...]) -> list[str]:
    """Why the literals of `rule` differ from the declared thresholds ([] when they agree).

    Every declared value must appear in the expression as often as declared; any literal left
    over must be an identity (0 or 1).
    """
    found = Counter(number_literals(rule.expr))
    wanted = Counter(threshold.value for threshold in declared)
    problems = [
        f"{rule.name}: thresholds.py says {value} ({count}x), the rule has it {found[value]}x"
        for value, count in wanted.items()
        if found[value] < count
    ]
    problems += [
        f"{rule.name}: literal {value} is not declared in alerts/thresholds.py"
        for value in (found - wanted)
        if value not in t.IDENTITY_LITERALS
    ]
    return problems


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule.name)
def test_alert_literals_and_for_match_thresholds_module(rule: Rule) -> None:
    tuning = t.ALERTS[rule.name]
    assert literal_mismatches(rule, tuning.thresholds) == []
    assert rule.for_ == tuning.for_


@pytest.mark.parametrize("rule", recording_rules(), ids=lambda rule: rule.name)
def test_recording_rule_literals_match_thresholds_module(rule: Rule) -> None:
    assert literal_mismatches(rule, t.RECORDING_RULES.get(rule.name, ())) == []


def test_thresholds_module_names_only_existing_rules() -> None:
    assert set(t.ALERTS) == {rule.name for rule in alert_rules()}
    assert set(t.RECORDING_RULES) <= {rule.name for rule in recording_rules()}


def test_every_threshold_says_why() -> None:
    declared = [th for tuning in t.ALERTS.values() for th in tuning.thresholds]
    declared += [th for ths in t.RECORDING_RULES.values() for th in ths]
    assert declared
    for threshold in declared:
        assert len(threshold.why) > 30, threshold


def test_objective_and_budget_are_consistent() -> None:
    assert 0.9 < t.SLO_OBJECTIVE.value < 1
    # burn rates of the workbook for a 30-day window: budget share spent per window
    assert t.SLO_FAST_BURN_RATE.value == pytest.approx(0.02 * 30 * 24 / 1)
    assert t.SLO_SLOW_BURN_RATE.value == pytest.approx(0.05 * 30 * 24 / 6)


def test_a_changed_threshold_is_caught_in_either_place() -> None:
    (rule,) = (r for r in load_rules() if r.name == "HighMissionFailureRate")
    declared = t.ALERTS[rule.name].thresholds
    assert literal_mismatches(rule, declared) == []
    # edited in the rule file only
    edited = replace(rule, expr=rule.expr.replace("> 0.1", "> 0.2"))
    assert len(literal_mismatches(edited, declared)) == 2
    # edited in thresholds.py only
    assert literal_mismatches(rule, (t.Threshold(0.15, "changed"),)) != []
    # a new, undeclared number in an expression
    extra = replace(rule, expr=f"({rule.expr}) and on () vector(3)")
    assert literal_mismatches(extra, declared) == [
        "HighMissionFailureRate: literal 3.0 is not declared in alerts/thresholds.py"
    ]
    # a threshold equal to an identity (HighHttpLatencyP99's 1 s) is still checked
    (latency,) = (r for r in load_rules() if r.name == "HighHttpLatencyP99")
    moved = replace(latency, expr=latency.expr.replace(") > 1", ") > 2"))
    assert moved.expr != latency.expr
    assert literal_mismatches(moved, t.ALERTS["HighHttpLatencyP99"].thresholds) != []
