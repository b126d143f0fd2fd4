"""The Pulumi program under mocks: builds with every option, valid manifests, security, no leaks,
and ConfigMaps/Secrets carrying exactly what the renderers (also used by infra/local) produce."""

from __future__ import annotations

import json
import runpy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
import yaml

from infra import config_files as cf
from infra import outputs as out
from infra.fast_timings import FAST, GAMEDAY_RULES_DIR, GAMEDAY_RULES_GLOB
from infra.settings import Receivers, Settings
from tests.unit.infra.program import ProgramRun, RecordingMocks, run_program
from tests.unit.infra.test_config_files import (
    kubernetes_sd_as_static,
    promtool_has_kubernetes_sd,
    require,
)

K8S_VERSION = "1.30.0"

# Distinctive values: any appearance outside a Secret is a leak.
SECRETS = {
    "grafana": "GrafanaPw-7f3c9e1a-LEAKCHECK",
    "webhook": "https://hooks.example/LEAKCHECK-webhook-91b2",
    "slack": "https://hooks.slack.com/services/T0/B0/LEAKCHECK-slack-55aa",
    "pagerduty": "LEAKCHECK-pd-0123456789abcdef",
    "heartbeat": "https://hc.example/LEAKCHECK-hb-77",
    "database": "postgresql://u:LEAKCHECK-dbpw-42@db.example:5432/mission",
}
GENERATED_MARK = "Zq8Xw2"  # every mocked RandomPassword result ends with this


def default_settings() -> Settings:
    return Settings()


def all_options(e2e_test_mode: bool = True) -> Settings:
    return Settings(
        e2e_test_mode=e2e_test_mode,
        tracing_backend="jaeger",
        alertmanager_replicas=2,
        app_replicas=3,
        storage_class="fast-ssd",
        grafana_admin_password=pulumi.Output.secret(SECRETS["grafana"]),
        database_url=pulumi.Output.secret(SECRETS["database"]),
        receivers=Receivers(
            webhook_url=pulumi.Output.secret(SECRETS["webhook"]),
            slack_webhook_url=pulumi.Output.secret(SECRETS["slack"]),
            slack_channel="#alerts",
            pagerduty_routing_key=pulumi.Output.secret(SECRETS["pagerduty"]),
            heartbeat_url=pulumi.Output.secret(SECRETS["heartbeat"]),
        ),
        grafana_url="https://grafana.example",
        runbook_base_url="https://git.example/repo/blob/main",
    )


def rendered(render_dir: str) -> Callable[[], Settings]:
    return lambda: Settings(render_directory=render_dir)


VARIANTS: dict[str, Callable[[], Settings]] = {
    "default": default_settings,
    "all-options": all_options,
    # Everything but e2eTestMode: the production shape with every receiver configured.
    "all-but-e2e": lambda: all_options(e2e_test_mode=False),
    "e2e-only": lambda: Settings(e2e_test_mode=True),
    "jaeger-only": lambda: Settings(tracing_backend="jaeger"),
    "external-db-only": lambda: Settings(database_url=pulumi.Output.secret(SECRETS["database"])),
    "render-dir": rendered("/tmp/rendered-manifests"),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(VARIANTS[request.param])


@pytest.fixture(scope="module")
def default_run() -> ProgramRun:
    return run_program(default_settings)


@pytest.fixture(scope="module")
def full_run() -> ProgramRun:
    return run_program(all_options)


def test_builds_expected_objects(run: ProgramRun) -> None:
    kinds = {r.kind for r in run.k8s()}
    assert {
        "Namespace",
        "Deployment",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "Secret",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "ServiceAccount",
    } <= kinds
    assert set(out.ALL) <= set(run.outputs)


def test_every_object_valid_strict(run: ProgramRun) -> None:
    for resource in run.k8s():
        try:
            # Raises on the first schema violation; strict rejects unknown fields too.
            kubernetes_validate.validate(resource.manifest, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{resource.kind}/{resource.name}: {exc.path}: {exc.message}")


def test_every_object_namespaced_and_labelled(run: ProgramRun) -> None:
    namespace = run.outputs[out.NAMESPACE]
    for resource in run.k8s():
        meta = resource.inputs["metadata"]
        if resource.kind == "Namespace":
            assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
            continue
        assert meta["namespace"] == namespace, resource.name
        for key in ("name", "instance", "component", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in meta["labels"], (resource.name, key)


def test_every_container_is_restricted(run: ProgramRun) -> None:
    pods = run.pod_specs()
    assert len(pods) >= 5
    for name, pod in pods:
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] > 0, name
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID"), name
        volumes = {v["name"] for v in pod.get("volumes", [])}
        # Pod Security "restricted" allows only these volume types (no hostPath).
        for volume in pod.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= {"configMap", "secret", "emptyDir", "persistentVolumeClaim"}, name
        for container in pod["containers"] + pod.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["runAsNonRoot"] is True, name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "limits" in container["resources"] and "requests" in container["resources"]
            assert ":" in container["image"] and not container["image"].endswith(":latest")
            # /tmp is writable everywhere; every mount points at a declared volume or a PVC.
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, name
            for mount_name in mounts.values():
                assert mount_name in volumes or mount_name == "data", (name, mount_name)


def test_only_prometheus_gets_an_api_token(run: ProgramRun) -> None:
    for name, pod in run.pod_specs():
        if name == "StatefulSet/prometheus":
            assert pod["serviceAccountName"] == "prometheus"
        else:
            assert pod["automountServiceAccountToken"] is False, name


def test_prometheus_role_is_read_only_discovery(run: ProgramRun) -> None:
    (role,) = run.of_kind("Role")
    assert role.inputs["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods", "services", "endpoints"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    (binding,) = run.of_kind("RoleBinding")
    assert binding.inputs["roleRef"]["kind"] == "Role"
    assert binding.inputs["subjects"][0]["name"] == "prometheus"
    assert not [r for r in run.k8s() if r.kind in ("ClusterRole", "ClusterRoleBinding")]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_no_secret_outside_secrets(full_run: ProgramRun) -> None:
    markers = [*SECRETS.values(), GENERATED_MARK]
    for resource in full_run.k8s():
        if resource.kind == "Secret":
            continue
        for text in _strings(resource.inputs):
            for marker in markers:
                assert marker not in text, (resource.kind, resource.name)
    for name, value in full_run.outputs.items():
        if name in full_run.secret_outputs:
            continue
        for text in _strings(value):
            for marker in markers:
                assert marker not in text, name
    assert out.GRAFANA_ADMIN_PASSWORD in full_run.secret_outputs


def test_secrets_land_in_secrets(full_run: ProgramRun) -> None:
    am = full_run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    for key in ("webhook", "slack", "pagerduty", "heartbeat"):
        assert SECRETS[key] in am
    grafana = full_run.named("Secret", "grafana-admin").inputs["stringData"]
    assert grafana["admin-password"] == SECRETS["grafana"]
    db = full_run.named("Secret", "mission-app-database").inputs["stringData"]
    assert db["DATABASE_URL"] == SECRETS["database"]
    # External database: no in-stack PostgreSQL at all.
    assert not [r for r in full_run.k8s() if r.inputs["metadata"]["name"] == "postgres"]


def test_env_uses_secret_refs(run: ProgramRun) -> None:
    for name, pod in run.pod_specs():
        for container in pod["containers"]:
            for var in container.get("env", []):
                if any(w in var["name"] for w in ("PASSWORD", "DATABASE_URL", "SECRET", "KEY")):
                    assert "valueFrom" in var and "value" not in var, (name, var["name"])


def test_generated_passwords_are_stable_resources(default_run: ProgramRun) -> None:
    randoms = [r for r in default_run.resources if r.type.startswith("random:")]
    assert sorted(r.name for r in randoms) == ["grafana-admin-password", "postgres-password"]
    db = default_run.named("Secret", "mission-app-database").inputs["stringData"]["DATABASE_URL"]
    assert db.startswith("postgresql://mission:generated-postgres-password")
    assert db.endswith("@postgres.observability.svc:5432/mission")


def test_rules_configmap_is_exactly_the_packaged_rules(run: ProgramRun) -> None:
    settings = run.settings
    assert settings is not None
    rules = run.named("ConfigMap", "prometheus-rules").inputs["data"]
    # The same call infra/local makes, with the cluster's parameters (no `for` scaling outside
    # e2e test mode; in it, the local game day's).
    expected = cf.rule_files(
        for_scale=FAST.for_scale if settings.e2e_test_mode else 1.0,
        grafana_url=settings.grafana_url,
        runbook_base_url=settings.runbook_base_url,
        min_for=settings.evaluation_interval,
    )
    assert rules == expected
    assert set(rules) == {p.name for p in cf.source_rule_paths()}
    config = yaml.safe_load(
        run.named("ConfigMap", "prometheus-config").inputs["data"]["prometheus.yml"]
    )
    paths = [f"/etc/prometheus/rules/{name}" for name in expected]
    if settings.e2e_test_mode:
        paths.append(f"{GAMEDAY_RULES_DIR}/{GAMEDAY_RULES_GLOB}")
    assert config["rule_files"] == paths


def test_dashboards_configmap_is_the_build(run: ProgramRun) -> None:
    from dashboards import build_all

    data = run.named("ConfigMap", "grafana-dashboards").inputs["data"]
    assert data == cf.dashboard_files()
    assert {k: json.loads(v) for k, v in data.items()} == {
        f"{uid}.json": model for uid, model in build_all().items()
    }


def test_promtool_checks_configmap_config_and_rules(run: ProgramRun, tmp_path: Path) -> None:
    rules = run.named("ConfigMap", "prometheus-rules").inputs["data"]
    for name, text in rules.items():
        (tmp_path / name).write_text(text)
    text = run.named("ConfigMap", "prometheus-config").inputs["data"]["prometheus.yml"]
    text = text.replace("/etc/prometheus/rules/", f"{tmp_path}/")
    # e2e mode's gameday glob, on an empty directory as in a fresh pod: it adds no file.
    (tmp_path / "gameday").mkdir()
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
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rule files found" in result.stdout + result.stderr


def test_amtool_checks_secret_config(run: ProgramRun, tmp_path: Path) -> None:
    text = run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    (tmp_path / "alertmanager.yml").write_text(text)
    result = subprocess.run(
        [require("amtool"), "check-config", str(tmp_path / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_component(run: ProgramRun) -> None:
    config = yaml.safe_load(
        run.named("ConfigMap", "prometheus-config").inputs["data"]["prometheus.yml"]
    )
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert list(jobs) == list(cf.JOB_NAMES)
    services = {r.inputs["metadata"]["name"]: r for r in run.of_kind("Service")}
    for job in cf.JOB_NAMES[1:]:
        service, port = jobs[job]["relabel_configs"][0]["regex"].split(";")
        assert port in {p["name"] for p in services[service].inputs["spec"]["ports"]}, job
    app = run.named("Deployment", "mission-app").inputs["spec"]["template"]
    assert app["metadata"]["labels"]["app.kubernetes.io/name"] == "mission-app"
    assert app["spec"]["containers"][0]["ports"][0]["name"] == "http"
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    replicas = run.named("StatefulSet", "alertmanager").inputs["spec"]["replicas"]
    assert len(targets) == replicas


def test_pods_roll_on_config_change(run: ProgramRun) -> None:
    prom = run.named("StatefulSet", "prometheus").inputs["spec"]["template"]["metadata"]
    config = run.named("ConfigMap", "prometheus-config").inputs["data"]
    rules = run.named("ConfigMap", "prometheus-rules").inputs["data"]
    from infra.components.common import checksum

    assert prom["annotations"]["checksum/config"] == checksum(config["prometheus.yml"])
    assert prom["annotations"]["checksum/rules"] == checksum(rules)
    am = run.named("StatefulSet", "alertmanager").inputs["spec"]["template"]["metadata"]
    secret = run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    assert am["annotations"]["checksum/config"] == checksum(secret)
    app = run.named("Deployment", "mission-app").inputs["spec"]["template"]["metadata"]
    url = run.named("Secret", "mission-app-database").inputs["stringData"]["DATABASE_URL"]
    assert app["annotations"]["checksum/database"] == checksum(url)


def test_prometheus_flags(run: ProgramRun) -> None:
    container = run.named("StatefulSet", "prometheus").inputs["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert "--enable-feature=exemplar-storage" in container["args"]
    assert "--web.enable-remote-write-receiver" in container["args"]
    assert "--config.file=/etc/prometheus/config/prometheus.yml" in container["args"]


GRAFANA_DATASOURCE_KEYS = {
    "name", "type", "uid", "access", "url", "isDefault", "editable", "jsonData",
    "secureJsonData", "orgId", "basicAuth", "basicAuthUser", "user", "database",
    "withCredentials", "version",
}  # fmt: skip
GRAFANA_PROVIDER_KEYS = {
    "name", "orgId", "folder", "folderUid", "type", "disableDeletion", "allowUiUpdates",
    "updateIntervalSeconds", "options",
}  # fmt: skip


def test_grafana_provisioning(run: ProgramRun) -> None:
    ds = yaml.safe_load(
        run.named("ConfigMap", "grafana-datasources").inputs["data"]["datasources.yaml"]
    )
    assert ds["apiVersion"] == 1
    by_uid = {d["uid"]: d for d in ds["datasources"]}
    assert set(by_uid) == {"prometheus", "traces", "alertmanager"}
    for source in ds["datasources"]:
        assert set(source) <= GRAFANA_DATASOURCE_KEYS, source
    backend = run.outputs[out.TRACING_BACKEND]
    assert by_uid["traces"]["type"] == backend
    services = run.outputs[out.SERVICES]
    ns = run.outputs[out.NAMESPACE]
    traces = services["traces"]
    assert by_uid["traces"]["url"] == f"http://{traces['name']}.{ns}.svc:{traces['port']}"
    assert by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": "traces"}
    ]
    provider = yaml.safe_load(
        run.named("ConfigMap", "grafana-dashboard-provider").inputs["data"]["provider.yaml"]
    )
    for p in provider["providers"]:
        assert set(p) <= GRAFANA_PROVIDER_KEYS
    deployment = run.named("Deployment", "grafana").inputs["spec"]["template"]["spec"]
    container = deployment["containers"][0]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert provider["providers"][0]["options"]["path"] in mounts
    env = {e["name"]: e for e in container["env"]}
    assert env["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false"
    assert "secretKeyRef" in env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]


TEMPO_TOP_LEVEL_KEYS = {
    "target", "http_api_prefix", "server", "distributor", "ingester", "ingester_client",
    "metrics_generator", "metrics_generator_client", "querier", "query_frontend", "compactor",
    "storage", "overrides", "memberlist", "usage_report", "cache", "stream_over_http_enabled",
    "multitenancy_enabled", "auth_enabled", "internal_server",
}  # fmt: skip


# Keys the pinned versions accept in the sections we write (Tempo 2.6 config reference; Jaeger
# 2.x jaegerquery/jaegerstorage schemas). Unknown keys make both refuse to start.
TEMPO_SECTION_KEYS = {
    "server": {"http_listen_port", "grpc_listen_port", "log_level", "http_listen_address",
               "grpc_listen_address", "log_format"},
    "ingester": {"max_block_duration", "max_block_bytes", "complete_block_timeout",
                 "lifecycler", "trace_idle_period", "flush_check_period"},
    "compactor": {"compaction", "ring"},
    "metrics_generator": {"ring", "processor", "registry", "storage", "traces_storage",
                          "metrics_ingestion_time_range_slack"},
    "usage_report": {"reporting_enabled"},
}  # fmt: skip
JAEGER_QUERY_KEYS = {
    "storage", "base_path", "bearer_token_propagation", "enable_tracing", "grpc", "http",
    "max_clock_skew_adjust", "multi_tenancy", "ui",
}  # fmt: skip
JAEGER_BADGER_KEYS = {
    "directories", "ephemeral", "ttl", "maintenance_interval", "metrics_update_interval",
    "consistency", "read_only", "truncate",
}  # fmt: skip


def test_trace_backend_config(run: ProgramRun) -> None:
    backend = run.outputs[out.TRACING_BACKEND]
    if backend == "tempo":
        doc = yaml.safe_load(run.named("ConfigMap", "tempo-config").inputs["data"]["tempo.yaml"])
        assert set(doc) <= TEMPO_TOP_LEVEL_KEYS
        otlp = doc["distributor"]["receivers"]["otlp"]["protocols"]
        assert otlp["grpc"]["endpoint"] == "0.0.0.0:4317"
        assert otlp["http"]["endpoint"] == "0.0.0.0:4318"
        assert doc["storage"]["trace"]["local"]["path"].startswith("/var/tempo")
        for section, keys in TEMPO_SECTION_KEYS.items():
            assert set(doc[section]) <= keys, section
        assert set(doc["compactor"]["compaction"]) == {"block_retention"}
        assert set(doc["storage"]["trace"]) == {"backend", "wal", "local"}
        write = doc["metrics_generator"]["storage"]["remote_write"][0]["url"]
        assert write.endswith(":9090/api/v1/write")
    else:
        doc = yaml.safe_load(run.named("ConfigMap", "jaeger-config").inputs["data"]["config.yaml"])
        assert set(doc) == {"service", "extensions", "receivers", "processors", "exporters"}
        store = doc["extensions"]["jaeger_storage"]["backends"]["traces_store"]
        assert store["badger"]["directories"]["keys"].startswith("/badger")
        assert set(store["badger"]) <= JAEGER_BADGER_KEYS
        assert set(store["badger"]["directories"]) == {"keys", "values"}
        query = doc["extensions"]["jaeger_query"]
        assert set(query) <= JAEGER_QUERY_KEYS
        # Jaeger 2.x listens on localhost by default: in a pod it must be 0.0.0.0.
        assert query["http"]["endpoint"] == "0.0.0.0:16686"
        otlp = doc["receivers"]["otlp"]["protocols"]
        assert otlp["grpc"]["endpoint"] == "0.0.0.0:4317"
    sts = run.named("StatefulSet", backend).inputs["spec"]
    data = next(
        m for m in sts["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "data"
    )
    assert data["mountPath"] in ("/var/tempo", "/badger")
    app_env = {
        e["name"]: e.get("value")
        for e in run.named("Deployment", "mission-app").inputs["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert app_env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith(f"http://{backend}.")


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def allowed(run: ProgramRun, source: str | None, target: str, port: int) -> bool:
    """Does some NetworkPolicy admit traffic from workload `source` to `target`:`port`?"""
    pods = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]["metadata"]["labels"]
        for r in run.k8s()
        if r.kind in ("Deployment", "StatefulSet")
    }
    for policy in (r.inputs for r in run.of_kind("NetworkPolicy")):
        if not _selects(policy, pods[target]):
            continue
        for rule in policy["spec"].get("ingress", []):
            if port not in {p["port"] for p in rule.get("ports", [])}:
                continue
            if "from" not in rule:
                return True
            for peer in rule["from"]:
                match = peer["podSelector"]["matchLabels"]
                if source and all(pods[source].get(k) == v for k, v in match.items()):
                    return True
    return False


def test_network_policies_allow_exactly_the_flows(run: ProgramRun) -> None:
    deny = run.named("NetworkPolicy", "default-deny-ingress").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    traces = run.outputs[out.TRACING_BACKEND]
    query = run.outputs[out.SERVICES]["traces"]["port"]
    metrics = 3200 if traces == "tempo" else 8888
    needed = [
        (None, "mission-app", 8000),
        (None, "grafana", 3000),
        ("prometheus", "mission-app", 8000),
        ("prometheus", "prometheus", 9090),
        ("prometheus", "alertmanager", 9093),
        ("prometheus", "grafana", 3000),
        ("prometheus", traces, metrics),
        ("mission-app", traces, 4317),
        ("mission-app", traces, 4318),
        ("grafana", "prometheus", 9090),
        ("grafana", traces, query),
        ("grafana", "alertmanager", 9093),
        (traces, "prometheus", 9090),
    ]
    if "postgres" in run.outputs[out.SERVICES]:
        needed.append(("mission-app", "postgres", 5432))
        assert not allowed(run, "grafana", "postgres", 5432)
    if "e2e-receiver" in run.outputs[out.SERVICES]:
        needed.append(("alertmanager", "e2e-receiver", 9095))
        for source in (None, "prometheus", "mission-app", "grafana"):
            assert not allowed(run, source, "e2e-receiver", 9095), source
    for source, target, port in needed:
        assert allowed(run, source, target, port), (source, target, port)
    # And nothing broader than that:
    assert not allowed(run, None, "prometheus", 9090)
    assert not allowed(run, "mission-app", "prometheus", 9090)
    assert not allowed(run, "mission-app", "alertmanager", 9093)
    assert not allowed(run, "grafana", "mission-app", 9999)


def test_outputs(run: ProgramRun) -> None:
    ns = run.outputs[out.NAMESPACE]
    services = run.outputs[out.SERVICES]
    for component, command in run.outputs[out.PORT_FORWARD].items():
        svc = services[component]
        assert (
            command == f"kubectl -n {ns} port-forward svc/{svc['name']} {svc['port']}:{svc['port']}"
        )
    declared = {r.inputs["metadata"]["name"]: r for r in run.of_kind("Service")}
    for svc in services.values():
        ports = [p["port"] for p in declared[svc["name"]].inputs["spec"]["ports"]]
        assert svc["port"] in ports
    assert run.outputs[out.GRAFANA_ADMIN_USER] == "admin"


def test_render_directory_uses_explicit_provider() -> None:
    run = run_program(rendered("/tmp/rendered-manifests"))
    providers = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    assert providers[0].inputs["renderYamlToDirectory"] == "/tmp/rendered-manifests"
    for resource in run.k8s():
        assert resource.provider and "render" in resource.provider, resource.name
    assert run.outputs[out.RENDER_DIRECTORY] == "/tmp/rendered-manifests"
    plain = run_program(default_settings)
    assert not [r for r in plain.resources if r.type == "pulumi:providers:kubernetes"]


def test_receivers_unset_are_left_out(default_run: ProgramRun, full_run: ProgramRun) -> None:
    empty = yaml.safe_load(
        default_run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    )
    assert all(set(r) == {"name"} for r in empty["receivers"])
    full = yaml.safe_load(
        full_run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    )
    by_name = {r["name"]: r for r in full["receivers"]}
    assert "pagerduty_configs" in by_name["pager"] and "slack_configs" in by_name["chat"]
    sts = full_run.named("StatefulSet", "alertmanager").inputs["spec"]
    args = sts["template"]["spec"]["containers"][0]["args"]
    assert "--cluster.listen-address=0.0.0.0:9094" in args
    assert sum(a.startswith("--cluster.peer=") for a in args) == 2


def test_main_entry_point_builds_the_default_stack(default_run: ProgramRun) -> None:
    """infra/__main__.py (what `pulumi up` runs) declares exactly the default stack."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="observability-stack", stack="test", preview=False)
    main = Path(__file__).resolve().parents[3] / "infra" / "__main__.py"

    @pulumi.runtime.test
    def program() -> pulumi.Output[int]:
        runpy.run_path(str(main), run_name="__main__")
        return pulumi.Output.from_input(1)

    program()
    declared = sorted((r.type, r.name) for r in mocks.resources)
    assert declared == sorted((r.type, r.name) for r in default_run.resources)


def _strip_for_and_links(text: str) -> Any:
    doc = yaml.safe_load(text)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
            for key in ("runbook_url", "dashboard_url"):
                rule.get("annotations", {}).pop(key, None)
    return doc


def test_cluster_rules_equal_local_rules_but_for_timing_and_links(default_run: ProgramRun) -> None:
    """The local stack (infra/local) renders rules with a `for` scale and local URLs; apart from
    exactly those, what the cluster gets is what the local integration tests ran."""
    cluster = default_run.named("ConfigMap", "prometheus-rules").inputs["data"]
    local = cf.rule_files(
        for_scale=0.02,
        grafana_url="http://127.0.0.1:3000",
        runbook_base_url="file:///work/main",
        min_for="1s",
    )
    assert set(cluster) == set(local)
    for name in cluster:
        assert _strip_for_and_links(cluster[name]) == _strip_for_and_links(local[name]), name


def test_cluster_routing_equals_local_routing(default_run: ProgramRun) -> None:
    """Routes and inhibition are the same in the cluster and in the local tests' Alertmanager."""
    cluster = yaml.safe_load(
        default_run.named("Secret", "alertmanager-config").inputs["stringData"]["alertmanager.yml"]
    )
    local = yaml.safe_load(
        cf.alertmanager_config(
            cf.AlertmanagerConfig(
                group_wait="1s",
                group_interval="1s",
                repeat_interval="10s",
                receiver_webhook_urls={r: f"http://127.0.0.1:1/{r}" for r in cf.RECEIVERS},
            )
        )
    )

    def shape(doc: dict[str, Any]) -> Any:
        route = doc["route"]
        routes = [(r["receiver"], r["matchers"]) for r in route["routes"]]
        return route["receiver"], route["group_by"], routes, doc["inhibit_rules"]

    assert shape(cluster) == shape(local)
    assert [r["name"] for r in cluster["receivers"]] == [r["name"] for r in local["receivers"]]
