"""Test 1: every scrape target is up; every rule group is loaded, healthy, without errors."""

from __future__ import annotations

import yaml

from alerts import rule_file_paths
from tests.integration.conftest import Target
from tests.integration.promapi import poll


def _expected_groups() -> set[str]:
    names = set()
    for path in rule_file_paths():
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.add(group["name"])
    return names


def test_every_scrape_target_is_up(target: Target) -> None:
    def all_up() -> list[dict[str, object]]:
        targets = target.prom.targets()
        return targets if targets and all(t["health"] == "up" for t in targets) else []

    targets = poll(all_up, timeout=30)
    assert targets, [(t["labels"], t["health"], t["lastError"]) for t in target.prom.targets()]
    jobs = {t["labels"]["job"] for t in targets}
    # Locally the trace backend is Tempo or the OTLP receiver; Grafana only when on PATH.
    assert {"mission-app", "prometheus", "alertmanager", "traces"} <= jobs
    if target.stack is not None:
        assert ("grafana" in jobs) == bool(target.stack.grafana_binary)


def test_every_rule_group_is_loaded_and_healthy(target: Target) -> None:
    def evaluated() -> list[dict[str, object]]:
        groups = target.prom.rule_groups()
        rules = [r for g in groups for r in g["rules"]]
        return groups if rules and all(r["health"] != "unknown" for r in rules) else []

    groups = poll(evaluated, timeout=30)
    assert {g["name"] for g in groups} == _expected_groups()
    problems = [
        (g["name"], r["name"], r["health"], r.get("lastError"))
        for g in groups
        for r in g["rules"]
        if r["health"] != "ok" or r.get("lastError")
    ]
    assert not problems
    # And Prometheus itself counts no evaluation failure.
    failures = target.prom.value("sum(prometheus_rule_evaluation_failures_total)")
    assert failures == 0.0
