"""e2eTestMode: the game day's fast timings, the e2e receiver and the gameday rule ConfigMap, and
nothing of it outside e2e mode. (Every e2e manifest is also validated, security-checked and run
through promtool/amtool by the parametrized tests in test_program.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import config_files as cf
from infra import outputs as out
from infra.components import e2e_receiver as er
from infra.components.common import checksum
from infra.fast_timings import (
    E2E_RECEIVER_NAME,
    E2E_RECEIVER_PORT,
    FAST,
    GAMEDAY_CONFIG_MAP,
    GAMEDAY_RULES_DIR,
    GAMEDAY_RULES_GLOB,
)
from infra.settings import Settings
from tests.unit.infra.program import ProgramRun, Recorded, run_program
from tests.unit.infra.test_config_files import (
    kubernetes_sd_as_static,
    promtool_has_kubernetes_sd,
    require,
)
from tests.unit.infra.test_program import all_options

E2E_OBJECTS = {
    ("ConfigMap", GAMEDAY_CONFIG_MAP),
    ("ConfigMap", E2E_RECEIVER_NAME),
    ("Deployment", E2E_RECEIVER_NAME),
    ("Service", E2E_RECEIVER_NAME),
    ("NetworkPolicy", "allow-alertmanager-to-e2e-receiver"),
}
# What e2e mode may change in objects that exist either way: timings, rules, receivers, app env,
# and the checksums of those (Grafana's datasource takes the 1s scrape interval too).
E2E_CHANGED = {
    ("ConfigMap", "prometheus-config"),
    ("ConfigMap", "prometheus-rules"),
    ("StatefulSet", "prometheus"),
    ("Secret", "alertmanager-config"),
    ("StatefulSet", "alertmanager"),
    ("Deployment", "mission-app"),
    ("ConfigMap", "grafana-datasources"),
    ("Deployment", "grafana"),
}


@pytest.fixture(scope="module")
def e2e_run() -> ProgramRun:
    return run_program(lambda: Settings(e2e_test_mode=True))


@pytest.fixture(scope="module")
def plain_run() -> ProgramRun:
    return run_program(Settings)


@pytest.fixture(scope="module", params=["e2e-only", "all-options"])
def any_e2e_run(request: pytest.FixtureRequest) -> ProgramRun:
    if request.param == "all-options":
        return run_program(all_options)
    return run_program(lambda: Settings(e2e_test_mode=True))


def by_key(run: ProgramRun) -> dict[tuple[str, str], Recorded]:
    return {(r.kind, r.inputs["metadata"]["name"]): r for r in run.k8s()}


def container(run: ProgramRun, kind: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = run.named(kind, name).inputs["spec"]["template"]["spec"]["containers"][
        0
    ]
    return result


def prometheus_yml(run: ProgramRun) -> str:
    text: str = run.named("ConfigMap", "prometheus-config").inputs["data"]["prometheus.yml"]
    return text


def test_e2e_changes_only_what_it_should(e2e_run: ProgramRun, plain_run: ProgramRun) -> None:
    e2e, plain = by_key(e2e_run), by_key(plain_run)
    assert set(e2e) - set(plain) == E2E_OBJECTS
    assert set(plain) <= set(e2e)
    changed = {key for key in plain if plain[key].inputs != e2e[key].inputs}
    assert changed <= E2E_CHANGED, changed - E2E_CHANGED
    assert e2e_run.outputs[out.E2E_TEST_MODE] is True
    assert plain_run.outputs[out.E2E_TEST_MODE] is False


def test_rules_for_scaled_by_fast(any_e2e_run: ProgramRun) -> None:
    rules = any_e2e_run.named("ConfigMap", "prometheus-rules").inputs["data"]
    scaled = 0
    for path in cf.source_rule_paths():
        source = yaml.safe_load(path.read_text(encoding="utf-8"))
        packaged = yaml.safe_load(rules[path.name])
        for src_group, group in zip(source["groups"], packaged["groups"], strict=True):
            for src, rule in zip(src_group["rules"], group["rules"], strict=True):
                assert src.get("alert") == rule.get("alert")
                assert src["expr"] == rule["expr"], rule.get("alert")
                if "for" not in src:
                    assert "for" not in rule, rule.get("alert")
                    continue
                if "alert" in src and cf.parse_duration(src["for"]) > 0:
                    expected = cf.scale_duration(src["for"], FAST.for_scale, "1s")
                    assert rule["for"] == expected, rule["alert"]
                    scaled += 1
    assert scaled >= 5  # the source really has `for`s to scale


def test_prometheus_fast_timings_and_gameday(any_e2e_run: ProgramRun) -> None:
    run = any_e2e_run
    config = yaml.safe_load(prometheus_yml(run))
    assert config["global"]["scrape_interval"] == FAST.scrape_interval
    assert config["global"]["evaluation_interval"] == FAST.evaluation_interval
    assert config["rule_files"][-1] == f"{GAMEDAY_RULES_DIR}/{GAMEDAY_RULES_GLOB}"
    prom = container(run, "StatefulSet", "prometheus")
    assert f"--rules.alert.resend-delay={FAST.alert_resend_delay}" in prom["args"]
    assert "--web.enable-lifecycle" in prom["args"]  # the game day's POST /-/reload
    # The gameday ConfigMap: empty, mounted read-only, left out of the checksums (the tests
    # patch it live; a checksum of it would roll Prometheus on the next `pulumi up`).
    gameday = run.named("ConfigMap", GAMEDAY_CONFIG_MAP).inputs
    assert not gameday.get("data")
    mount = next(m for m in prom["volumeMounts"] if m["mountPath"] == GAMEDAY_RULES_DIR)
    assert mount["readOnly"] is True
    pod = run.named("StatefulSet", "prometheus").inputs["spec"]["template"]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume == {"name": mount["name"], "configMap": {"name": GAMEDAY_CONFIG_MAP}}
    rules = run.named("ConfigMap", "prometheus-rules").inputs["data"]
    assert pod["metadata"]["annotations"] == {
        "checksum/config": checksum(prometheus_yml(run)),
        "checksum/rules": checksum(rules),
    }


def _promtool_check(run: ProgramRun, tmp_path: Path, gameday: dict[str, str]) -> str:
    """promtool check config with the packaged rules, and `gameday` as the gameday ConfigMap."""
    rules = run.named("ConfigMap", "prometheus-rules").inputs["data"]
    (tmp_path / "gameday").mkdir(parents=True)
    for name, text in rules.items():
        (tmp_path / name).write_text(text)
    for name, text in gameday.items():
        (tmp_path / "gameday" / name).write_text(text)
    text = prometheus_yml(run).replace("/etc/prometheus/rules/", f"{tmp_path}/")
    text = text.replace(f"{GAMEDAY_RULES_DIR}/", f"{tmp_path}/gameday/")
    if not promtool_has_kubernetes_sd(tmp_path):
        text = kubernetes_sd_as_static(text)
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        [require("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"rc={result.returncode}\n{result.stdout}{result.stderr}"


GAMEDAY_RULE = """\
groups:
  - name: gameday
    rules:
      - alert: GamedayProbe
        expr: vector(1)
"""


def test_gameday_glob_loads_a_file_added_at_run_time(e2e_run: ProgramRun, tmp_path: Path) -> None:
    """What the game day does: a file in the gameday ConfigMap is a rule file Prometheus loads
    (and a broken one fails the check, as it fails Prometheus' reload)."""
    count = len(e2e_run.named("ConfigMap", "prometheus-rules").inputs["data"])
    good = _promtool_check(e2e_run, tmp_path / "good", {"probe.yml": GAMEDAY_RULE})
    assert good.startswith("rc=0") and f"SUCCESS: {count + 1} rule files found" in good, good
    broken = GAMEDAY_RULE.replace("vector(1)", "sum(")
    bad = _promtool_check(e2e_run, tmp_path / "bad", {"broken.yml": broken})
    assert not bad.startswith("rc=0") and "broken.yml" in bad.split("FAILED")[-1], bad
    ignored = _promtool_check(e2e_run, tmp_path / "other", {"notes.txt": "not a rule file"})
    assert f"SUCCESS: {count} rule files found" in ignored, ignored


def test_alertmanager_fast_and_every_receiver_to_e2e(any_e2e_run: ProgramRun) -> None:
    run = any_e2e_run
    text = run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    doc = yaml.safe_load(text)
    route = doc["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        FAST.group_wait,
        FAST.group_interval,
        FAST.repeat_interval,
    )
    heartbeat = next(r for r in route["routes"] if r["receiver"] == "heartbeat")
    assert heartbeat["repeat_interval"] == FAST.heartbeat_repeat_interval
    ns = run.outputs[out.NAMESPACE]
    receivers = {r["name"]: r for r in doc["receivers"]}
    assert set(receivers) == set(cf.RECEIVERS)
    for name, receiver in receivers.items():
        urls = [w["url"] for w in receiver["webhook_configs"]]
        expected = f"http://{E2E_RECEIVER_NAME}.{ns}.svc:{E2E_RECEIVER_PORT}/{name}"
        assert urls[-1] == expected, name  # after any configured webhook, which still gets it
    # The URL is the receiver's Service.
    service = run.named("Service", E2E_RECEIVER_NAME).inputs
    assert service["metadata"]["namespace"] == ns
    assert [p["port"] for p in service["spec"]["ports"]] == [E2E_RECEIVER_PORT]


def test_app_env_is_the_local_game_days(any_e2e_run: ProgramRun, plain_run: ProgramRun) -> None:
    env = {
        e["name"]: e.get("value")
        for e in container(any_e2e_run, "Deployment", "mission-app")["env"]
    }
    assert env["FAULT_INJECTION_ENABLED"] == "true"
    assert env["RUN_SWEEP_INTERVAL_SECONDS"] == str(FAST.run_sweep_interval_seconds)
    assert env["OTEL_TRACES_SAMPLER"] == "always_on"
    assert env["OTEL_BSP_SCHEDULE_DELAY"] == "500"
    plain = {e["name"] for e in container(plain_run, "Deployment", "mission-app")["env"]}
    assert not plain & {"FAULT_INJECTION_ENABLED", "RUN_SWEEP_INTERVAL_SECONDS"}


def test_e2e_receiver_runs_the_local_receiver(any_e2e_run: ProgramRun) -> None:
    run = any_e2e_run
    settings = run.settings
    assert settings is not None
    script = Path(__file__).resolve().parents[3] / "infra" / "local" / "webhook_receiver.py"
    data = run.named("ConfigMap", E2E_RECEIVER_NAME).inputs["data"]
    assert data == {"webhook_receiver.py": script.read_text(encoding="utf-8")}

    deployment = run.named("Deployment", E2E_RECEIVER_NAME).inputs["spec"]
    assert deployment["replicas"] == 1
    pod = deployment["template"]
    assert pod["metadata"]["annotations"] == {"checksum/script": checksum(data)}
    main = pod["spec"]["containers"][0]
    assert main["image"] == settings.app_image
    assert main["command"] == [
        "python",
        f"{er.SCRIPT_DIR}/webhook_receiver.py",
        "--host",
        "0.0.0.0",
        "--port",
        str(E2E_RECEIVER_PORT),
    ]
    mount = next(m for m in main["volumeMounts"] if m["mountPath"] == er.SCRIPT_DIR)
    assert mount["readOnly"] is True
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"] == {"name": E2E_RECEIVER_NAME}
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert main["ports"] == [
        {"name": "http", "containerPort": E2E_RECEIVER_PORT, "protocol": "TCP"}
    ]
    assert main["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert main["resources"] == {
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"memory": "64Mi"},
    }
    service = run.named("Service", E2E_RECEIVER_NAME).inputs["spec"]
    assert service["ports"] == [{"name": "http", "port": E2E_RECEIVER_PORT, "targetPort": "http"}]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()


def test_e2e_receiver_outputs(any_e2e_run: ProgramRun) -> None:
    services = any_e2e_run.outputs[out.SERVICES]
    assert services[E2E_RECEIVER_NAME] == {"name": E2E_RECEIVER_NAME, "port": E2E_RECEIVER_PORT}
    ns = any_e2e_run.outputs[out.NAMESPACE]
    assert any_e2e_run.outputs[out.PORT_FORWARD][E2E_RECEIVER_NAME] == (
        f"kubectl -n {ns} port-forward svc/{E2E_RECEIVER_NAME} 9095:9095"
    )
    assert any_e2e_run.outputs[out.E2E_TEST_MODE] is True


def test_nothing_of_e2e_outside_e2e_mode(plain_run: ProgramRun) -> None:
    names = {r.inputs["metadata"]["name"] for r in plain_run.k8s()}
    assert E2E_RECEIVER_NAME not in names and GAMEDAY_CONFIG_MAP not in names
    assert not any("e2e" in name for name in names)
    assert E2E_RECEIVER_NAME not in plain_run.outputs[out.SERVICES]
    assert GAMEDAY_RULES_DIR not in prometheus_yml(plain_run)
    prom = container(plain_run, "StatefulSet", "prometheus")
    assert not [a for a in prom["args"] if a.startswith("--rules.alert.resend-delay")]
    text = plain_run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    assert E2E_RECEIVER_NAME not in text
    assert plain_run.result.e2e_receiver is None
