"""build_stack(settings): the whole stack in one namespace, one ComponentResource per part.

Used by infra/__main__.py (pulumi up) and usable from the Automation API and the unit tests.
Returns the stack outputs (names from infra/outputs.py) for the caller to export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import outputs
from infra.components import alertmanager as am
from infra.components import e2e_receiver as er
from infra.components import grafana as gf
from infra.components import mission_app as ma
from infra.components import prometheus as pm
from infra.components import tracing as tr
from infra.components.common import PART_OF, Context
from infra.components.network_policies import NetworkPolicies, flows
from infra.settings import Settings


@dataclass
class StackResult:
    """The components (for tests and Automation API users) and the outputs to export."""

    namespace: k8s.core.v1.Namespace
    app: ma.MissionApp
    prometheus: pm.Prometheus
    alertmanager: am.Alertmanager
    grafana: gf.Grafana
    traces: tr.TraceBackend
    network_policies: NetworkPolicies
    provider: k8s.Provider | None
    e2e_receiver: er.E2EReceiver | None = None  # e2e test mode only
    outputs: dict[str, Any] = field(default_factory=dict)


def _port_forward(namespace: str, service: str, port: int) -> str:
    return f"kubectl -n {namespace} port-forward svc/{service} {port}:{port}"


def build_stack(settings: Settings) -> StackResult:
    """Create every resource of the stack from typed settings."""
    ns = settings.namespace
    ctx = Context(namespace=ns, instance=ns, storage_class=settings.storage_class)

    provider: k8s.Provider | None = None
    if settings.render_directory:
        # GitOps mode: `pulumi up` writes the manifests there instead of applying them.
        provider = k8s.Provider("render", render_yaml_to_directory=settings.render_directory)
    opts = pulumi.ResourceOptions(providers=[provider]) if provider else None

    namespace = k8s.core.v1.Namespace(
        "namespace",
        metadata={
            "name": ns,
            "labels": {
                "app.kubernetes.io/part-of": PART_OF,
                "app.kubernetes.io/managed-by": "pulumi",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
        opts=pulumi.ResourceOptions(provider=provider) if provider else None,
    )
    # Everything else waits for the namespace.
    child_opts = pulumi.ResourceOptions.merge(
        opts or pulumi.ResourceOptions(), pulumi.ResourceOptions(depends_on=[namespace])
    )

    res = settings.resources
    backend = tr.backend_for(settings.tracing_backend)
    traces = tr.TraceBackend(
        "traces",
        ctx,
        tr.TraceBackendArgs(
            backend=settings.tracing_backend,
            storage_size=settings.traces_storage_size,
            retention=settings.traces_retention,
            resources=res["traces"],
            prometheus_remote_write_url=f"http://{pm.NAME}.{ns}.svc:{pm.PORT}/api/v1/write",
        ),
        child_opts,
    )
    app = ma.MissionApp(
        "app",
        ctx,
        ma.MissionAppArgs(
            image=settings.app_image,
            replicas=settings.app_replicas,
            log_level=settings.log_level,
            resources=res["app"],
            postgres_resources=res["postgres"],
            postgres_storage_size=settings.postgres_storage_size,
            otlp_endpoint=traces.otlp_grpc_endpoint,
            database_url=settings.database_url,
            e2e_test_mode=settings.e2e_test_mode,
        ),
        child_opts,
    )
    alertmanager = am.Alertmanager(
        "alertmanager",
        ctx,
        am.AlertmanagerArgs(
            replicas=settings.alertmanager_replicas,
            storage_size=settings.alertmanager_storage_size,
            resources=res["alertmanager"],
            receivers=settings.receivers,
            e2e_test_mode=settings.e2e_test_mode,
        ),
        child_opts,
    )
    e2e_receiver = (
        er.E2EReceiver(
            "e2e-receiver", ctx, er.E2EReceiverArgs(image=settings.app_image), child_opts
        )
        if settings.e2e_test_mode
        else None
    )
    prometheus = pm.Prometheus(
        "prometheus",
        ctx,
        pm.PrometheusArgs(
            replicas=settings.prometheus_replicas,
            scrape_interval=settings.scrape_interval,
            evaluation_interval=settings.evaluation_interval,
            retention=settings.prometheus_retention,
            storage_size=settings.prometheus_storage_size,
            resources=res["prometheus"],
            alertmanager_targets=alertmanager.targets,
            components={
                "prometheus": (pm.NAME, "http"),
                "alertmanager": (am.NAME, "http"),
                "traces": traces.metrics_job,
                "grafana": (gf.NAME, "http"),
            },
            grafana_url=settings.grafana_url,
            runbook_base_url=settings.runbook_base_url,
            e2e_test_mode=settings.e2e_test_mode,
        ),
        child_opts,
    )
    grafana = gf.Grafana(
        "grafana",
        ctx,
        gf.GrafanaArgs(
            admin_user=settings.grafana_admin_user,
            admin_password=settings.grafana_admin_password,
            root_url=settings.grafana_url,
            resources=res["grafana"],
            prometheus_url=f"http://{pm.NAME}.{ns}.svc:{pm.PORT}",
            traces_url=f"http://{backend.name}.{ns}.svc:{backend.query_port}",
            traces_backend=settings.tracing_backend,
            alertmanager_url=f"http://{am.NAME}.{ns}.svc:{am.PORT}",
            scrape_interval=settings.scrape_interval,
        ),
        child_opts,
    )
    policies = NetworkPolicies(
        "network",
        ctx,
        flows(
            app=ma.APP_NAME,
            prometheus=pm.NAME,
            alertmanager=am.NAME,
            grafana=gf.NAME,
            traces=backend.name,
            traces_ports=[tr.OTLP_GRPC_PORT, tr.OTLP_HTTP_PORT],
            traces_metrics_port=backend.metrics_port,
            traces_query_port=backend.query_port,
            postgres=ma.POSTGRES_NAME if app.postgres_in_stack else None,
            alertmanager_clustered=settings.alertmanager_replicas > 1,
            e2e_receiver=er.NAME if e2e_receiver else None,
        ),
        child_opts,
    )

    services = {
        "app": (ma.APP_NAME, ma.APP_PORT),
        "prometheus": (pm.NAME, pm.PORT),
        "alertmanager": (am.NAME, am.PORT),
        "grafana": (gf.NAME, gf.PORT),
        "traces": (backend.name, backend.query_port),
    }
    if app.postgres_in_stack:
        services["postgres"] = (ma.POSTGRES_NAME, ma.POSTGRES_PORT)
    if e2e_receiver:
        services[er.NAME] = (er.NAME, er.PORT)
    result = StackResult(
        namespace=namespace,
        app=app,
        prometheus=prometheus,
        alertmanager=alertmanager,
        grafana=grafana,
        traces=traces,
        network_policies=policies,
        provider=provider,
        e2e_receiver=e2e_receiver,
    )
    result.outputs = {
        outputs.NAMESPACE: namespace.metadata.apply(lambda m: m["name"] if m else ns),
        outputs.SERVICES: {k: {"name": n, "port": p} for k, (n, p) in services.items()},
        outputs.PORT_FORWARD: {
            k: _port_forward(ns, n, p) for k, (n, p) in services.items() if k != "postgres"
        },
        outputs.GRAFANA_URL: settings.grafana_url,
        outputs.GRAFANA_ADMIN_USER: settings.grafana_admin_user,
        outputs.GRAFANA_ADMIN_PASSWORD: grafana.admin_password,
        outputs.TRACING_BACKEND: settings.tracing_backend,
        outputs.E2E_TEST_MODE: settings.e2e_test_mode,
    }
    if settings.render_directory:
        result.outputs[outputs.RENDER_DIRECTORY] = settings.render_directory
    return result
