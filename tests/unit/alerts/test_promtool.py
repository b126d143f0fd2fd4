"""promtool (the real Prometheus rule checker) accepts the rules and passes their unit tests,
and those unit tests cover every alert (firing and not) and every recording rule."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import (
    PROMTOOL_TESTS_DIR,
    RULE_FILE_NAMES,
    Rule,
    alert_rules,
    promtool_test_paths,
    recording_rules,
    rule_file_paths,
)


def promtool() -> str:
    path = shutil.which("promtool")
    # Not a skip: `make test` installs it (scripts/install-system-deps.sh, Debian package).
    assert path, "promtool not on PATH (Debian package prometheus)"
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def load_tests() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in promtool_test_paths():
        with path.open(encoding="utf-8") as fh:
            docs.append((path, yaml.safe_load(fh)))
    return docs


def alert_cases() -> list[dict[str, Any]]:
    return [
        case
        for _, doc in load_tests()
        for group in doc["tests"]
        for case in group.get("alert_rule_test", [])
    ]


def test_promtool_check_rules_passes() -> None:
    result = run("check", "rules", *map(str, rule_file_paths()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILE_NAMES)


def test_there_is_one_test_file_per_rule_file() -> None:
    names = {path.name for path in promtool_test_paths()}
    assert names == {name.replace(".rules.yml", ".test.yml") for name in RULE_FILE_NAMES}
    for path, doc in load_tests():
        rule_files = [(path.parent / f).resolve() for f in doc["rule_files"]]
        assert all(f.is_file() for f in rule_files), rule_files


@pytest.mark.parametrize("path", promtool_test_paths(), ids=lambda p: p.name)
def test_promtool_test_rules_passes(path: Path) -> None:
    result = run("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    # The runner above would notice a broken expectation: change one annotation and see it fail.
    source = PROMTOOL_TESTS_DIR / "mission.test.yml"
    text = source.read_text(encoding="utf-8")
    assert "20% of the mission runs" in text
    broken = text.replace("20% of the mission runs", "21% of the mission runs", 1)
    broken = broken.replace("../mission.rules.yml", str(source.parent.parent / "mission.rules.yml"))
    target = tmp_path / "broken.test.yml"
    target.write_text(broken, encoding="utf-8")
    result = run("test", "rules", str(target))
    assert result.returncode != 0
    assert "21% of the mission runs" in result.stdout + result.stderr


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule.name)
def test_every_alert_is_tested_firing_with_exact_labels_and_annotations(rule: Rule) -> None:
    firing = [
        expected
        for case in alert_cases()
        if case["alertname"] == rule.name
        for expected in case.get("exp_alerts") or []
    ]
    assert firing, f"no promtool case where {rule.name} fires"
    for expected in firing:
        # promtool compares the full label and annotation sets; these are the rule's own ones
        assert expected["exp_labels"]["severity"] == rule.labels["severity"]
        assert set(expected["exp_annotations"]) == set(rule.annotations)


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule.name)
def test_every_alert_is_tested_not_firing(rule: Rule) -> None:
    silent = [
        case
        for case in alert_cases()
        if case["alertname"] == rule.name and not case.get("exp_alerts")
    ]
    if rule.name == "Watchdog":
        # Always fires by design; its tests assert it at the first evaluation and hours later.
        assert not silent
        return
    assert silent, f"no promtool case where {rule.name} stays silent"


@pytest.mark.parametrize("rule", recording_rules(), ids=lambda rule: rule.name)
def test_every_recording_rule_value_is_tested(rule: Rule) -> None:
    values = [
        sample
        for _, doc in load_tests()
        for group in doc["tests"]
        for case in group.get("promql_expr_test", [])
        if case["expr"] == rule.name
        for sample in case["exp_samples"]
    ]
    assert values, f"no promql_expr_test for {rule.name}"
    assert all(isinstance(sample["value"], int | float) for sample in values)
