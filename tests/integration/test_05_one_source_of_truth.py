"""Test 5: the config files the Pulumi program puts into ConfigMaps/Secrets equal those the
local stack ran, apart from the documented parameters.

The program runs under pulumi mocks twice: with its default (production) settings and with
`e2eTestMode: true` (the stacks `--ephemeral` deploys). Their ConfigMap/Secret inputs are
recorded and compared with the files in the local stack's data dir.

  e2e stack vs local stack: the same timings (infra.fast_timings.FAST), so the only differences
      are where things are: scrape targets (Kubernetes discovery vs static), rule file
      directories, the absolute runbook/dashboard URL bases and the receivers' webhook URLs.
  production vs local: additionally scrape/evaluation intervals, every `for` scaled by
      FAST.for_scale, the game-day rule glob and Alertmanager's timings.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from infra import config_files as cf
from infra.fast_timings import E2E_RECEIVER_NAME, FAST
from infra.settings import Settings
from tests.integration.conftest import Target


def _files(make_settings: Callable[[], Settings]) -> dict[str, str]:
    """File name -> text, as the program's ConfigMaps and Secrets carry them (recording mocks of
    tests/unit/infra/program.py)."""
    from tests.unit.infra.program import run_program

    run = run_program(make_settings)
    files: dict[str, str] = {}
    for res in run.of_kind("ConfigMap") + run.of_kind("Secret"):
        for key in ("data", "stringData"):
            files.update(res.inputs.get(key) or {})
    return files


@pytest.fixture(scope="module")
def production_files() -> dict[str, str]:
    return _files(Settings)


@pytest.fixture(scope="module")
def e2e_files() -> dict[str, str]:
    return _files(lambda: Settings(e2e_test_mode=True))


def _local(target: Target, rel: str) -> str:
    stack = target.require_local("compares with the files the local processes ran")
    return stack.path(rel).read_text()


def _rules(text: str) -> dict[str, dict[str, Any]]:
    return {
        r.get("alert") or r["record"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]
    }


def _without_url_bases(rule: dict[str, Any], other: dict[str, Any], name: str) -> None:
    """Drop runbook/dashboard URLs from both rules after checking the same relative part."""
    for key in ("runbook_url", "dashboard_url"):
        c_url = rule.get("annotations", {}).pop(key, None)
        l_url = other.get("annotations", {}).pop(key, None)
        if c_url is not None:
            assert l_url is not None
            # Same relative part, different base (file:// runbooks, local Grafana).
            assert c_url.split("/", 3)[-1] in l_url, (name, c_url, l_url)


@pytest.mark.parametrize("name", [p.name for p in cf.source_rule_paths()])
def test_rule_files_equal_apart_from_for_scale_and_url_bases(
    target: Target, production_files: dict[str, str], e2e_files: dict[str, str], name: str
) -> None:
    local = _rules(_local(target, f"prometheus/rules/{name}"))
    production = _rules(production_files[name])
    e2e = _rules(e2e_files[name])
    assert production.keys() == local.keys() == e2e.keys()
    for rule_name, p_rule in production.items():
        e_rule, l_rule = copy.deepcopy(e2e[rule_name]), copy.deepcopy(local[rule_name])
        _without_url_bases(e_rule, l_rule, rule_name)
        # The e2e stack runs exactly the local rules, `for` included.
        assert e_rule == l_rule, rule_name
        p_rule, l_rule = copy.deepcopy(p_rule), copy.deepcopy(local[rule_name])
        _without_url_bases(p_rule, l_rule, rule_name)
        if "for" in p_rule:
            expected = cf.scale_duration(p_rule["for"], FAST.for_scale, FAST.evaluation_interval)
            if cf.parse_duration(p_rule["for"]) == 0:
                expected = p_rule["for"]
            assert l_rule.pop("for") == expected, rule_name
            p_rule.pop("for")
        assert l_rule == p_rule, rule_name


def _prometheus_without_locations(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = yaml.safe_load(text)
    doc["rule_files"] = sorted(p.rsplit("/", 1)[-1] for p in doc["rule_files"])
    doc["alerting"]["alertmanagers"][0].pop("static_configs", None)
    doc["alerting"]["alertmanagers"][0].pop("kubernetes_sd_configs", None)
    jobs = {j.pop("job_name"): j for j in doc.pop("scrape_configs")}
    for job in jobs.values():
        for key in ("static_configs", "kubernetes_sd_configs", "relabel_configs"):
            job.pop(key, None)
    return doc, jobs


def test_prometheus_config_equal_apart_from_targets(
    target: Target, production_files: dict[str, str], e2e_files: dict[str, str]
) -> None:
    local, l_jobs = _prometheus_without_locations(_local(target, "prometheus/prometheus.yml"))
    e2e, e_jobs = _prometheus_without_locations(e2e_files["prometheus.yml"])
    production, p_jobs = _prometheus_without_locations(production_files["prometheus.yml"])
    assert e2e == local
    # The local stack scrapes a subset (no trace backend / Grafana binaries here).
    assert set(l_jobs) <= set(e_jobs) == set(p_jobs)
    for job, l_job in l_jobs.items():
        assert l_job == e_jobs[job] == p_jobs[job], job
    # Production: its own intervals, no game-day rule directory.
    assert production["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    assert local["global"] == {
        "scrape_interval": FAST.scrape_interval,
        "evaluation_interval": FAST.evaluation_interval,
    }
    assert local["rule_files"] == sorted([*production["rule_files"], "*.yml"])


def _alertmanager_receivers(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Receiver name -> its webhook URLs; the webhook configs are removed from doc."""
    urls = {}
    for receiver in doc["receivers"]:
        urls[receiver["name"]] = [w["url"] for w in receiver.pop("webhook_configs", [])]
    return urls


def test_alertmanager_config_equal_apart_from_receiver_urls(
    target: Target, production_files: dict[str, str], e2e_files: dict[str, str]
) -> None:
    stack = target.require_local("reads the local receiver URL")
    local = yaml.safe_load(_local(target, "alertmanager/alertmanager.yml"))
    e2e = yaml.safe_load(e2e_files["alertmanager.yml"])
    production = yaml.safe_load(production_files["alertmanager.yml"])
    l_urls = _alertmanager_receivers(local)
    e_urls = _alertmanager_receivers(e2e)
    for name in cf.RECEIVERS:
        assert l_urls[name] == [stack.receiver.receiver_url(name)]
        assert e_urls[name] == [f"http://{E2E_RECEIVER_NAME}.observability.svc:9095/{name}"]
    assert local == e2e
    # Production differs in the group timings only.
    timings = ("group_wait", "group_interval", "repeat_interval")
    for doc in (local, production):
        for route in [doc["route"], *doc["route"]["routes"]]:
            for key in timings:
                route.pop(key, None)
    _alertmanager_receivers(production)
    assert local == production
