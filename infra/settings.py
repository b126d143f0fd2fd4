"""Typed stack settings: the ONLY place pulumi.Config is read.

load_settings() reads the stack config once and returns frozen dataclasses; components receive
these and never read config themselves. Secrets stay pulumi Outputs (read with require_secret /
get_secret) so they are encrypted in state and never rendered in plain text.

Keys (project namespace "observability-stack", all optional unless noted):
  namespace, appImage, appReplicas, logLevel, storageClass,
  scrapeInterval, evaluationInterval, prometheusRetention, prometheusStorageSize,
  prometheusReplicas, alertmanagerReplicas, alertmanagerStorageSize,
  alertWebhookUrl*, slackWebhookUrl*, slackChannel, pagerdutyRoutingKey*, heartbeatUrl*,
  tracingBackend (tempo|jaeger), tracesStorageSize, tracesRetention,
  grafanaAdminUser, grafanaAdminPassword*, grafanaUrl, runbookBaseUrl,
  databaseUrl* (external PostgreSQL; in-stack PostgreSQL when absent), postgresStorageSize,
  resources (object: component -> {requests: {cpu, memory}, limits: {cpu, memory}}),
  renderDirectory (write manifests there instead of applying them),
  requireReceivers (true in prod: refuse to deploy until a pager/chat/webhook receiver is set),
  e2eTestMode (default false; for throw-away stacks the integration tests' game day runs against:
    the timings of infra.fast_timings.FAST, which override scrapeInterval and evaluationInterval
    (1s), scaled alert `for`s and fast Alertmanager group timings, every receiver also notifying
    an in-stack webhook receiver (e2e-receiver), an empty `prometheus-gameday` rule ConfigMap the
    tests fill at run time, and fault injection enabled in the app. Refused with requireReceivers).
  (* = secret: `pulumi config set --secret KEY VALUE`)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from infra import versions
from infra.config_files import parse_duration
from infra.fast_timings import FAST

COMPONENTS = ("app", "postgres", "prometheus", "alertmanager", "grafana", "traces")
TracingBackend = Literal["tempo", "jaeger"]


@dataclass(frozen=True)
class Resources:
    """Container requests and limits (Kubernetes quantity strings)."""

    cpu_request: str
    memory_request: str
    # No default on purpose: every container gets a memory ceiling. No CPU limit by default
    # (throttling hurts latency more than it protects neighbours on a small cluster).
    memory_limit: str
    cpu_limit: str | None = None

    def to_k8s(self) -> dict[str, Any]:
        limits = {"memory": self.memory_limit}
        if self.cpu_limit:
            limits["cpu"] = self.cpu_limit
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": limits,
        }


# Small defaults that fit a laptop cluster; Pulumi.prod.yaml raises them.
DEFAULT_RESOURCES: Mapping[str, Resources] = {
    "app": Resources("50m", "128Mi", memory_limit="256Mi"),
    "postgres": Resources("50m", "128Mi", memory_limit="512Mi"),
    "prometheus": Resources("100m", "256Mi", memory_limit="1Gi"),
    "alertmanager": Resources("20m", "32Mi", memory_limit="128Mi"),
    "grafana": Resources("50m", "128Mi", memory_limit="256Mi"),
    "traces": Resources("50m", "128Mi", memory_limit="512Mi"),
}


@dataclass(frozen=True)
class Receivers:
    """Alertmanager integrations; each None means "not configured" and is left out."""

    webhook_url: pulumi.Output[str] | None = None
    slack_webhook_url: pulumi.Output[str] | None = None
    slack_channel: str = ""
    pagerduty_routing_key: pulumi.Output[str] | None = None
    heartbeat_url: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, typed. Defaults are the dev (kind) stack."""

    namespace: str = "observability"
    app_image: str = versions.DEFAULT_APP_IMAGE
    app_replicas: int = 1
    log_level: str = "INFO"
    storage_class: str | None = None
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    # A laptop default; the 30-day SLO window needs >= 31d (Pulumi.prod.yaml sets it).
    prometheus_retention: str = "15d"
    prometheus_storage_size: str = "5Gi"
    prometheus_replicas: int = 1
    alertmanager_replicas: int = 1
    alertmanager_storage_size: str = "1Gi"
    receivers: Receivers = field(default_factory=Receivers)
    tracing_backend: TracingBackend = "tempo"
    traces_storage_size: str = "5Gi"
    traces_retention: str = "48h"
    grafana_admin_user: str = "admin"
    # None: a password is generated once (pulumi_random) and kept in state.
    grafana_admin_password: pulumi.Output[str] | None = None
    # Where users reach Grafana (alert dashboard links, Grafana's root_url); port-forward default.
    grafana_url: str = "http://localhost:3000"
    # Prefix that makes the alerts' relative runbook_url absolute (e.g. the repo's web URL).
    runbook_base_url: str = ""
    # None: in-stack PostgreSQL StatefulSet. Otherwise the external DATABASE_URL (a secret).
    database_url: pulumi.Output[str] | None = None
    postgres_storage_size: str = "1Gi"
    resources: Mapping[str, Resources] = field(default_factory=lambda: dict(DEFAULT_RESOURCES))
    render_directory: str | None = None
    # A throw-away stack for the integration tests' game day (see the module docstring).
    e2e_test_mode: bool = False

    def __post_init__(self) -> None:
        if self.e2e_test_mode:
            # The game day waits on the same timings as against the local stack; the intervals
            # are set here so that every consumer (Prometheus, Grafana's datasource) sees them.
            object.__setattr__(self, "scrape_interval", FAST.scrape_interval)
            object.__setattr__(self, "evaluation_interval", FAST.evaluation_interval)
        if self.tracing_backend not in ("tempo", "jaeger"):
            raise ValueError(
                f"tracingBackend must be tempo or jaeger, not {self.tracing_backend!r}"
            )
        for name in ("scrape_interval", "evaluation_interval", "prometheus_retention"):
            parse_duration(getattr(self, name))
        missing = set(COMPONENTS) - set(self.resources)
        if missing:
            raise ValueError(f"resources missing for {sorted(missing)}")
        for name in ("app_replicas", "alertmanager_replicas", "prometheus_replicas"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def external_database(self) -> bool:
        return self.database_url is not None


def _resources(raw: Mapping[str, Any] | None) -> dict[str, Resources]:
    """Merge the `resources` config object over the defaults, per component and per field."""
    merged = dict(DEFAULT_RESOURCES)
    for component, spec in (raw or {}).items():
        if component not in COMPONENTS:
            raise ValueError(f"resources: unknown component {component!r}; known: {COMPONENTS}")
        base = merged[component]
        requests = spec.get("requests", {})
        limits = spec.get("limits", {})
        merged[component] = Resources(
            cpu_request=str(requests.get("cpu", base.cpu_request)),
            memory_request=str(requests.get("memory", base.memory_request)),
            cpu_limit=str(limits["cpu"]) if "cpu" in limits else base.cpu_limit,
            memory_limit=str(limits.get("memory", base.memory_limit)),
        )
    return merged


def _int(cfg: pulumi.Config, key: str, default: int) -> int:
    value = cfg.get_int(key)
    return default if value is None else value  # an explicit 0 reaches validation


def load_settings(config: pulumi.Config | None = None) -> Settings:
    """Read the stack config once and return typed settings."""
    cfg = config or pulumi.Config()
    d = Settings()
    e2e_test_mode = bool(cfg.get_bool("e2eTestMode"))
    if e2e_test_mode and cfg.get_bool("requireReceivers"):
        # requireReceivers marks a production stack; e2e mode enables fault injection and
        # second-scale alert timings, which must never reach one.
        raise ValueError(
            "e2eTestMode and requireReceivers are both true: e2eTestMode is for throw-away test "
            "stacks only (fault injection, 1s timings), not for a stack that requires receivers"
        )
    receiver_keys = ("alertWebhookUrl", "slackWebhookUrl", "pagerdutyRoutingKey")
    if cfg.get_bool("requireReceivers") and not any(cfg.get(k) for k in receiver_keys):
        raise ValueError(
            "requireReceivers is true but no receiver is configured: "
            "`pulumi config set --secret` one of " + ", ".join(receiver_keys)
        )
    backend = cfg.get("tracingBackend") or d.tracing_backend
    if backend not in ("tempo", "jaeger"):
        raise ValueError(f"tracingBackend must be tempo or jaeger, not {backend!r}")
    return Settings(
        namespace=cfg.get("namespace") or d.namespace,
        app_image=cfg.get("appImage") or d.app_image,
        app_replicas=_int(cfg, "appReplicas", d.app_replicas),
        log_level=cfg.get("logLevel") or d.log_level,
        storage_class=cfg.get("storageClass") or None,
        scrape_interval=cfg.get("scrapeInterval") or d.scrape_interval,
        evaluation_interval=cfg.get("evaluationInterval") or d.evaluation_interval,
        prometheus_retention=cfg.get("prometheusRetention") or d.prometheus_retention,
        prometheus_storage_size=cfg.get("prometheusStorageSize") or d.prometheus_storage_size,
        prometheus_replicas=_int(cfg, "prometheusReplicas", d.prometheus_replicas),
        alertmanager_replicas=_int(cfg, "alertmanagerReplicas", d.alertmanager_replicas),
        alertmanager_storage_size=cfg.get("alertmanagerStorageSize") or d.alertmanager_storage_size,
        receivers=Receivers(
            webhook_url=cfg.get_secret("alertWebhookUrl"),
            slack_webhook_url=cfg.get_secret("slackWebhookUrl"),
            slack_channel=cfg.get("slackChannel") or "",
            pagerduty_routing_key=cfg.get_secret("pagerdutyRoutingKey"),
            heartbeat_url=cfg.get_secret("heartbeatUrl"),
        ),
        tracing_backend="jaeger" if backend == "jaeger" else "tempo",
        traces_storage_size=cfg.get("tracesStorageSize") or d.traces_storage_size,
        traces_retention=cfg.get("tracesRetention") or d.traces_retention,
        grafana_admin_user=cfg.get("grafanaAdminUser") or d.grafana_admin_user,
        grafana_admin_password=cfg.get_secret("grafanaAdminPassword"),
        grafana_url=cfg.get("grafanaUrl") or d.grafana_url,
        runbook_base_url=cfg.get("runbookBaseUrl") or d.runbook_base_url,
        database_url=cfg.get_secret("databaseUrl"),
        postgres_storage_size=cfg.get("postgresStorageSize") or d.postgres_storage_size,
        resources=_resources(cfg.get_object("resources")),
        render_directory=cfg.get("renderDirectory") or None,
        e2e_test_mode=e2e_test_mode,
    )
