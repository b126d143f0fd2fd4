"""Test 5: the config files the Pulumi program puts into ConfigMaps/Secrets equal those the
local stack ran, apart from the documented parameters.

The program runs under pulumi mocks (its default settings); the ConfigMap/Secret inputs are
recorded and compared with the files in the local stack's data dir. Documented differences
(infra/local/stack.py): scrape targets (Kubernetes discovery vs static), scrape/evaluation
intervals, rule file directory, `for` scaled by FAST_FOR_SCALE, absolute runbook/dashboard URL
bases, Alertmanager timings and receiver webhook URLs. Everything else must be identical.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from infra import config_files as cf
from infra.local.stack import FAST_FOR_SCALE
from tests.integration.conftest import Target


@pytest.fixture(scope="module")
def cluster_files() -> dict[str, str]:
    """File name -> text, as the Pulumi program's ConfigMaps and Secrets carry them.

    Runs the program with the infra unit tests' recording mocks (tests/unit/infra/program.py),
    default settings.
    """
    from infra.settings import Settings
    from tests.unit.infra.program import run_program

    run = run_program(Settings)
    files: dict[str, str] = {}
    for res in run.of_kind("ConfigMap") + run.of_kind("Secret"):
        for key in ("data", "stringData"):
            files.update(res.inputs.get(key) or {})
    return files


def _local(target: Target, rel: str) -> str:
    stack = target.require_local("compares with the files the local processes ran")
    return stack.path(rel).read_text()


def _rules(text: str) -> dict[str, dict[str, Any]]:
    return {
        r.get("alert") or r["record"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]
    }


@pytest.mark.parametrize("name", [p.name for p in cf.source_rule_paths()])
def test_rule_files_equal_apart_from_for_scale_and_url_bases(
    target: Target, cluster_files: dict[str, str], name: str
) -> None:
    cluster = _rules(cluster_files[name])
    local = _rules(_local(target, f"prometheus/rules/{name}"))
    assert cluster.keys() == local.keys()
    for rule_name, c_rule in cluster.items():
        l_rule = copy.deepcopy(local[rule_name])
        c_rule = copy.deepcopy(c_rule)
        if "for" in c_rule:
            expected = cf.scale_duration(c_rule["for"], FAST_FOR_SCALE, "1s")
            if cf.parse_duration(c_rule["for"]) == 0:
                expected = c_rule["for"]
            assert l_rule.pop("for") == expected, rule_name
            c_rule.pop("for")
        for key in ("runbook_url", "dashboard_url"):
            c_url = c_rule.get("annotations", {}).pop(key, None)
            l_url = l_rule.get("annotations", {}).pop(key, None)
            if c_url is not None:
                assert l_url is not None
                # Same relative part, different base (file:// runbooks, local Grafana).
                assert c_url.split("/", 3)[-1] in l_url, (rule_name, c_url, l_url)
        assert l_rule == c_rule, rule_name


def test_prometheus_config_equal_apart_from_targets_and_intervals(
    target: Target, cluster_files: dict[str, str]
) -> None:
    cluster = yaml.safe_load(cluster_files["prometheus.yml"])
    local = yaml.safe_load(_local(target, "prometheus/prometheus.yml"))
    for doc in (cluster, local):
        doc["global"].pop("scrape_interval")
        doc["global"].pop("evaluation_interval")
        doc["rule_files"] = sorted(p.rsplit("/", 1)[-1] for p in doc["rule_files"])
        doc["alerting"]["alertmanagers"][0].pop("static_configs")
        doc["alerting"]["alertmanagers"][0].pop("kubernetes_sd_configs", None)
    c_jobs = {j.pop("job_name"): j for j in cluster.pop("scrape_configs")}
    l_jobs = {j.pop("job_name"): j for j in local.pop("scrape_configs")}
    assert cluster == local
    # The local stack scrapes a subset (no trace backend / Grafana binaries here).
    assert set(l_jobs) <= set(c_jobs)
    for job, l_job in l_jobs.items():
        c_job = c_jobs[job]
        for doc in (c_job, l_job):
            doc.pop("static_configs", None)
            doc.pop("kubernetes_sd_configs", None)
            doc.pop("relabel_configs", None)
        assert l_job == c_job, job


def test_alertmanager_config_equal_apart_from_timings_and_receiver_urls(
    target: Target, cluster_files: dict[str, str]
) -> None:
    cluster = yaml.safe_load(cluster_files["alertmanager.yml"])
    local = yaml.safe_load(_local(target, "alertmanager/alertmanager.yml"))
    timings = ("group_wait", "group_interval", "repeat_interval")

    def strip(doc: dict[str, Any]) -> dict[str, Any]:
        doc["global"].pop("resolve_timeout")
        for route in [doc["route"], *doc["route"]["routes"]]:
            for key in timings:
                route.pop(key, None)
        doc["receivers"] = {
            r["name"]: {k: v for k, v in r.items() if k not in ("name", "webhook_configs")}
            for r in doc["receivers"]
        }
        return doc

    stack = target.require_local("reads the local receiver URL")
    receivers = {r["name"]: r for r in local["receivers"]}
    for name in cf.RECEIVERS:
        assert receivers[name]["webhook_configs"] == [
            {"url": stack.receiver.receiver_url(name), "send_resolved": True}
        ]
    assert strip(local) == strip(cluster)
