"""The config renderers: durations, rule packaging, every rendered file checked by real tools."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra import config_files as cf


def require(binary: str) -> str:
    """Path of a Debian tool the tests run for real; missing is a failure, not a skip."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} not on PATH: run `make system-deps`")
    return path


PROMTOOL = "promtool"
AMTOOL = "amtool"

RULES_SOURCE = """\
groups:
  - name: sample
    rules:
      - alert: SlowThing
        expr: |
          histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 10
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: slow
          description: "p95 is {{ $value }}s on {{ $labels.job }}"
          runbook_url: alerts/runbooks.md#slowthing
          dashboard_url: /d/mission-overview
      - alert: Watchdog
        expr: vector(1)
        labels:
          severity: info
        annotations:
          summary: always firing
          runbook_url: https://example.org/already-absolute
      - record: job:x:rate5m
        expr: sum by (job) (rate(x_total[5m]))
"""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("0s", 0), ("0", 0), ("2d", 172800)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert cf.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "m5", "5 m", "1.5m", "5mm"])
def test_parse_duration_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        cf.parse_duration(bad)


def test_scale_duration_examples() -> None:
    assert cf.scale_duration("5m", 0.02) == "6s"
    assert cf.scale_duration("10m", 1.0) == "10m"
    assert cf.scale_duration("90s", 1.0) == "1m30s"
    assert cf.scale_duration("5m", 0.001, minimum="1s") == "1s"  # clamped to the eval interval
    assert cf.scale_duration("1m", 0.0125) == "750ms"


def test_render_rule_file_scales_for_and_absolutises_urls() -> None:
    out = cf.render_rule_file(
        RULES_SOURCE,
        for_scale=0.02,
        grafana_url="http://grafana.example:3000/",
        runbook_base_url="https://git.example/repo/blob/main",
        min_for="2s",
    )
    doc = yaml.safe_load(out)
    slow, watchdog, record = doc["groups"][0]["rules"]
    assert slow["for"] == "6s"
    assert "for" not in watchdog  # no `for` stays no `for`
    assert slow["annotations"]["runbook_url"] == (
        "https://git.example/repo/blob/main/alerts/runbooks.md#slowthing"
    )
    assert slow["annotations"]["dashboard_url"] == "http://grafana.example:3000/d/mission-overview"
    assert watchdog["annotations"]["runbook_url"] == "https://example.org/already-absolute"
    # Expressions and templates are byte-for-byte what the source says.
    src = yaml.safe_load(RULES_SOURCE)["groups"][0]["rules"]
    assert slow["expr"] == src[0]["expr"]
    assert record == src[2]
    assert slow["annotations"]["description"] == src[0]["annotations"]["description"]


def test_render_rule_file_keeps_relative_urls_without_bases() -> None:
    doc = yaml.safe_load(cf.render_rule_file(RULES_SOURCE))
    ann = doc["groups"][0]["rules"][0]["annotations"]
    assert ann["runbook_url"] == "alerts/runbooks.md#slowthing"
    assert ann["dashboard_url"] == "/d/mission-overview"
    assert doc["groups"][0]["rules"][0]["for"] == "5m"


def test_render_rule_file_min_for_clamps() -> None:
    doc = yaml.safe_load(cf.render_rule_file(RULES_SOURCE, for_scale=0.0001, min_for="1s"))
    assert doc["groups"][0]["rules"][0]["for"] == "1s"


def test_rule_files_cover_alerts_directory() -> None:
    rendered = cf.rule_files(for_scale=0.02, grafana_url="http://g", runbook_base_url="http://r")
    names = {p.name for p in cf.source_rule_paths()}
    assert names, "alerts/ has no *.rules.yml"
    assert set(rendered) == names
    for name, text in rendered.items():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    ann = rule["annotations"]
                    assert ann["runbook_url"].startswith("http://r/"), name
                    assert ann["dashboard_url"].startswith("http://g/d/"), name


def local_prometheus_params(rule_paths: list[str]) -> cf.PrometheusConfig:
    return cf.PrometheusConfig(
        scrape_interval="1s",
        evaluation_interval="1s",
        rule_files=rule_paths,
        alertmanager_targets=["127.0.0.1:9093"],
        static_targets={
            "mission-app": ["127.0.0.1:8000"],
            "prometheus": ["127.0.0.1:9090"],
            "alertmanager": ["127.0.0.1:9093"],
        },
    )


def k8s_prometheus_params(rule_paths: list[str]) -> cf.PrometheusConfig:
    return cf.PrometheusConfig(
        scrape_interval="15s",
        evaluation_interval="15s",
        rule_files=rule_paths,
        alertmanager_targets=["alertmanager-0.alertmanager-headless.obs.svc:9093"],
        kubernetes=cf.KubernetesDiscovery(
            namespace="obs",
            components={
                "prometheus": ("prometheus", "http"),
                "alertmanager": ("alertmanager", "http"),
                "traces": ("tempo", "http"),
                "grafana": ("grafana", "http"),
            },
        ),
    )


def write_rules(directory: Path, files: dict[str, str]) -> list[str]:
    paths = []
    for name, text in files.items():
        (directory / name).write_text(text)
        paths.append(str(directory / name))
    return paths


def promtool_has_kubernetes_sd(tmp_path: Path) -> bool:
    """Debian builds Prometheus without the Kubernetes discovery; upstream images have it."""
    probe = tmp_path / "probe.yml"
    probe.write_text("scrape_configs:\n- job_name: x\n  kubernetes_sd_configs:\n  - role: pod\n")
    result = subprocess.run(
        [require(PROMTOOL), "check", "config", str(probe)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "kubernetes_sd_configs not found" not in result.stdout + result.stderr


def kubernetes_sd_as_static(text: str) -> str:
    """Swap each job's kubernetes_sd_configs for a static target, checking the SD block first.

    Everything else (relabel rules and their regexes, rule files, alerting) is then still
    checked by promtool; the SD block itself is checked here against the upstream schema
    (role in the accepted set, namespaces.names a list of strings, no other keys).
    """
    doc = yaml.safe_load(text)
    for job in doc["scrape_configs"]:
        sd_configs = job.pop("kubernetes_sd_configs")
        for sd in sd_configs:
            assert set(sd) <= {"role", "namespaces", "selectors", "api_server"}, sd
            assert sd["role"] in {"pod", "service", "endpoints", "endpointslice", "node", "ingress"}
            assert set(sd["namespaces"]) == {"names"}
            assert all(isinstance(n, str) and n for n in sd["namespaces"]["names"])
        job["static_configs"] = [{"targets": ["127.0.0.1:1"]}]
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_promtool_accepts_rendered_config_and_rules(tmp_path: Path, mode: str) -> None:
    files = {"sample.rules.yml": cf.render_rule_file(RULES_SOURCE, 0.02, "http://g", "http://r")}
    files.update(cf.rule_files(for_scale=0.02, grafana_url="http://g", runbook_base_url="http://r"))
    paths = write_rules(tmp_path, files)
    params = local_prometheus_params(paths) if mode == "local" else k8s_prometheus_params(paths)
    config = tmp_path / "prometheus.yml"
    text = cf.prometheus_config(params)
    if mode == "kubernetes" and not promtool_has_kubernetes_sd(tmp_path):
        text = kubernetes_sd_as_static(text)
    config.write_text(text)
    result = subprocess.run(
        [require(PROMTOOL), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(paths)} rule files found" in result.stdout + result.stderr


def test_prometheus_kubernetes_jobs_and_relabelling() -> None:
    doc = yaml.safe_load(cf.prometheus_config(k8s_prometheus_params(["/etc/rules/a.yml"])))
    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    assert list(jobs) == ["mission-app", "prometheus", "alertmanager", "traces", "grafana"]
    app = jobs["mission-app"]
    assert app["metrics_path"] == "/api/metrics"
    assert app["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["obs"]}}]
    keep = app["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == "mission-app;http"
    targets = {r.get("target_label") for r in app["relabel_configs"]}
    assert {"namespace", "pod"} <= targets
    tempo = jobs["traces"]
    assert tempo["kubernetes_sd_configs"][0]["role"] == "endpoints"
    assert tempo["relabel_configs"][0]["regex"] == "tempo;http"
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager-0.alertmanager-headless.obs.svc:9093"
    ]


def test_prometheus_static_only_present_jobs() -> None:
    doc = yaml.safe_load(cf.prometheus_config(local_prometheus_params([])))
    assert [j["job_name"] for j in doc["scrape_configs"]] == [
        "mission-app",
        "prometheus",
        "alertmanager",
    ]
    assert "rule_files" not in doc
    assert doc["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}


def test_prometheus_config_requires_exactly_one_mode() -> None:
    with pytest.raises(ValueError):
        cf.PrometheusConfig()
    with pytest.raises(ValueError):
        cf.PrometheusConfig(
            static_targets={"mission-app": ["a:1"]}, kubernetes=cf.KubernetesDiscovery("ns")
        )
    with pytest.raises(ValueError):
        cf.PrometheusConfig(static_targets={"app": ["a:1"]})


def test_prometheus_args_flags() -> None:
    args = cf.prometheus_args("/etc/prometheus/prometheus.yml", "/prometheus", retention_time="7d")
    assert "--enable-feature=exemplar-storage" in args
    assert "--web.enable-remote-write-receiver" in args
    assert "--config.file=/etc/prometheus/prometheus.yml" in args
    assert "--storage.tsdb.retention.time=7d" in args


def test_prometheus_binary_accepts_args(tmp_path: Path) -> None:
    # The flags must exist in the Debian binary the local stack runs: --help lists them all.
    help_run = subprocess.run(
        [require("prometheus"), "--help"], capture_output=True, text=True, timeout=30
    )
    help_text = help_run.stdout + help_run.stderr
    for arg in cf.prometheus_args("p.yml", "data", retention_size="1GB", external_url="http://x"):
        assert arg.split("=")[0] in help_text, arg


ALL_RECEIVERS = cf.AlertmanagerConfig(
    webhook_url="https://hooks.example/alerts",
    slack_webhook_url="https://hooks.slack.com/services/T000/B000/XXXX",
    slack_channel="#alerts",
    pagerduty_routing_key="0123456789abcdef0123456789abcdef",
    heartbeat_url="https://hc.example/ping/abc",
)
LOCAL_RECEIVERS = cf.AlertmanagerConfig(
    group_wait="1s",
    group_interval="1s",
    repeat_interval="1m",
    receiver_webhook_urls={
        name: f"http://127.0.0.1:4000/{name}" for name in ("default", "pager", "chat", "heartbeat")
    },
)


@pytest.mark.parametrize(
    "params",
    [cf.AlertmanagerConfig(), ALL_RECEIVERS, LOCAL_RECEIVERS],
    ids=["none", "all", "local"],
)
def test_amtool_accepts_rendered_config(tmp_path: Path, params: cf.AlertmanagerConfig) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(cf.alertmanager_config(params))
    result = subprocess.run(
        [require(AMTOOL), "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("alertname=Watchdog severity=info", "heartbeat"),
        ("alertname=HighErrorRate severity=critical", "pager"),
        ("alertname=SlowRuns severity=warning", "chat"),
        ("alertname=Other severity=info", "default"),
    ],
)
def test_amtool_routes_by_severity(tmp_path: Path, labels: str, receiver: str) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(cf.alertmanager_config(ALL_RECEIVERS))
    result = subprocess.run(
        [require(AMTOOL), "config", "routes", "test", f"--config.file={path}", *labels.split()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == receiver, result.stdout + result.stderr


def test_alertmanager_receivers_left_out_cleanly() -> None:
    doc = yaml.safe_load(cf.alertmanager_config(cf.AlertmanagerConfig()))
    assert doc["receivers"] == [{"name": n} for n in ("default", "pager", "chat", "heartbeat")]
    assert doc["route"]["receiver"] == "default"
    full = {
        r["name"]: r for r in yaml.safe_load(cf.alertmanager_config(ALL_RECEIVERS))["receivers"]
    }
    assert (
        full["pager"]["pagerduty_configs"][0]["routing_key"] == ALL_RECEIVERS.pagerduty_routing_key
    )
    assert "pagerduty_configs" not in full["chat"]
    assert full["chat"]["slack_configs"][0]["channel"] == "#alerts"
    assert full["heartbeat"]["webhook_configs"] == [
        {"url": "https://hc.example/ping/abc", "send_resolved": True}
    ]
    assert "slack_configs" not in full["default"]
    inhibit = yaml.safe_load(cf.alertmanager_config(ALL_RECEIVERS))["inhibit_rules"][0]
    assert inhibit["source_matchers"] == ['severity="critical"']
    assert inhibit["target_matchers"] == ['severity="warning"']
    assert "alertname" in inhibit["equal"]


def test_alertmanager_local_webhooks_per_receiver() -> None:
    doc = yaml.safe_load(cf.alertmanager_config(LOCAL_RECEIVERS))
    for receiver in doc["receivers"]:
        assert receiver["webhook_configs"] == [
            {"url": f"http://127.0.0.1:4000/{receiver['name']}", "send_resolved": True}
        ]
    assert doc["route"]["group_wait"] == "1s"
    with pytest.raises(ValueError):
        cf.AlertmanagerConfig(receiver_webhook_urls={"nobody": "http://x"})


def test_alertmanager_args() -> None:
    args = cf.alertmanager_args("am.yml", "data", cluster_peers=["am-1.am:9094"])
    assert "--cluster.listen-address=" in args
    assert "--cluster.peer=am-1.am:9094" in args


def test_grafana_datasources_uids_and_exemplar_link() -> None:
    text = cf.grafana_datasources(
        "http://prometheus:9090", "http://tempo:3200", "http://alertmanager:9093"
    )
    doc = yaml.safe_load(text)
    by_uid = {d["uid"]: d for d in doc["datasources"]}
    assert set(by_uid) == {"prometheus", "traces", "alertmanager"}
    assert by_uid["traces"]["type"] == "tempo"
    assert by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": "traces"}
    ]
    jaeger = yaml.safe_load(
        cf.grafana_datasources(
            "http://p", "http://jaeger:16686", "http://a", traces_backend="jaeger"
        )
    )
    assert [d["type"] for d in jaeger["datasources"]] == ["prometheus", "jaeger", "alertmanager"]


def test_grafana_dollar_escaped() -> None:
    doc = yaml.safe_load(cf.grafana_datasources("http://p/$x", "http://t", "http://a"))
    assert doc["datasources"][0]["url"] == "http://p/$$x"
    provider = yaml.safe_load(cf.grafana_dashboard_provider("/var/lib/$dash", folder="A$B"))
    assert provider["providers"][0]["options"]["path"] == "/var/lib/$$dash"
    assert provider["providers"][0]["folder"] == "A$$B"


def test_datasource_uids_match_dashboards() -> None:
    from dashboards import uids

    assert uids.PROMETHEUS_DS_UID == cf.PROMETHEUS_DS_UID
    assert uids.TRACES_DS_UID == cf.TRACES_DS_UID
    assert uids.ALERTMANAGER_DS_UID == cf.ALERTMANAGER_DS_UID


def test_tempo_config_shape() -> None:
    doc = yaml.safe_load(cf.tempo_config(remote_write_url="http://prometheus:9090/api/v1/write"))
    protocols = doc["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols == {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}
    assert doc["storage"]["trace"]["backend"] == "local"
    assert doc["compactor"]["compaction"]["block_retention"] == "48h"
    rw = doc["metrics_generator"]["storage"]["remote_write"][0]
    assert rw == {"url": "http://prometheus:9090/api/v1/write", "send_exemplars": True}
    assert "metrics_generator" not in yaml.safe_load(cf.tempo_config())


def test_jaeger_config_pipeline_references_resolve() -> None:
    doc = yaml.safe_load(cf.jaeger_config())
    service = doc["service"]
    for ext in service["extensions"]:
        assert ext in doc["extensions"]
    pipeline = service["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        for name in pipeline[kind]:
            assert name in doc[kind]
    backends = doc["extensions"]["jaeger_storage"]["backends"]
    assert doc["extensions"]["jaeger_query"]["storage"]["traces"] in backends
    assert doc["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backends
    assert "memory" in next(
        iter(
            yaml.safe_load(cf.jaeger_config(storage="memory"))["extensions"]["jaeger_storage"][
                "backends"
            ].values()
        )
    )


def test_dashboard_files_are_the_build() -> None:
    from dashboards import build_all

    files = cf.dashboard_files()
    built = build_all()
    assert set(files) == {f"{uid}.json" for uid in built}
    for uid, model in built.items():
        assert json.loads(files[f"{uid}.json"]) == model
    assert "$__rate_interval" in "".join(files.values())  # not escaped: JSON is not env-expanded
