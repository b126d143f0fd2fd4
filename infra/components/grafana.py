"""Grafana: Deployment with admin credentials from a Secret (password generated once and kept in
state when not configured), anonymous access off, provisioned datasources with fixed UIDs, and the
dashboards built by dashboards.build_all() packaged into a ConfigMap."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import config_files as cf
from infra import versions
from infra.components.common import (
    Context,
    checksum,
    config_map_volume,
    container_security_context,
    create,
    create_config_map,
    create_deployment,
    create_service,
    empty_dir,
    http_probe,
    http_service_port,
    image_version,
    labels,
    metadata,
    pod_template,
    read_only_mount,
    restricted_pod_spec,
    secret_key_env,
    tmp_mount,
)
from infra.settings import Resources

NAME = "grafana"
PORT = 3000
PROVISIONING_DIR = "/etc/grafana/provisioning"
DASHBOARDS_DIR = "/var/lib/grafana-dashboards"
DATA_DIR = "/var/lib/grafana"


@dataclass(frozen=True)
class GrafanaArgs:
    admin_user: str
    admin_password: pulumi.Output[str] | None
    root_url: str
    resources: Resources
    prometheus_url: str
    traces_url: str
    traces_backend: str
    alertmanager_url: str
    scrape_interval: str


def render(args: GrafanaArgs) -> tuple[str, str, dict[str, str]]:
    """datasources.yaml, provider.yaml and the dashboard files, as they go into ConfigMaps."""
    datasources = cf.grafana_datasources(
        args.prometheus_url,
        args.traces_url,
        args.alertmanager_url,
        traces_backend=args.traces_backend,
        scrape_interval=args.scrape_interval,
    )
    provider = cf.grafana_dashboard_provider(DASHBOARDS_DIR)
    return datasources, provider, cf.dashboard_files()


class Grafana(pulumi.ComponentResource):
    service_name: str = NAME
    port: int = PORT

    def __init__(
        self, name: str, ctx: Context, args: GrafanaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("observability:stack:Grafana", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lbls = labels(ctx, NAME, "dashboards", image_version(versions.GRAFANA_IMAGE))
        datasources, provider, dashboards = render(args)

        if args.admin_password is None:
            # Generated once, then stable: the value lives in state, not in the program.
            generated = random.RandomPassword(
                f"{name}-admin-password", length=24, special=False, opts=child
            )
            self.admin_password: pulumi.Output[str] = pulumi.Output.secret(generated.result)
        else:
            self.admin_password = pulumi.Output.secret(args.admin_password)

        self.admin_secret = create(
            k8s.core.v1.Secret,
            f"{name}-admin",
            metadata=metadata(ctx, f"{NAME}-admin", lbls),
            type="Opaque",
            string_data={"admin-user": args.admin_user, "admin-password": self.admin_password},
            opts=child,
        )
        self.datasources_map = create_config_map(
            f"{name}-datasources",
            ctx,
            f"{NAME}-datasources",
            lbls,
            {"datasources.yaml": datasources},
            child,
        )
        self.provider_map = create_config_map(
            f"{name}-dashboard-provider",
            ctx,
            f"{NAME}-dashboard-provider",
            lbls,
            {"provider.yaml": provider},
            child,
        )
        self.dashboards_map = create_config_map(
            f"{name}-dashboards", ctx, f"{NAME}-dashboards", lbls, dashboards, child
        )
        self.service = create_service(
            f"{name}-service", ctx, NAME, lbls, [http_service_port(PORT)], child
        )

        env = [
            secret_key_env("GF_SECURITY_ADMIN_USER", f"{NAME}-admin", "admin-user"),
            secret_key_env("GF_SECURITY_ADMIN_PASSWORD", f"{NAME}-admin", "admin-password"),
            {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
            {"name": "GF_AUTH_DISABLE_LOGIN_FORM", "value": "false"},
            {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
            {"name": "GF_SERVER_ROOT_URL", "value": args.root_url},
            {"name": "GF_PATHS_PROVISIONING", "value": PROVISIONING_DIR},
            {"name": "GF_PATHS_DATA", "value": DATA_DIR},
            {"name": "GF_PATHS_LOGS", "value": f"{DATA_DIR}/log"},
            {"name": "GF_PATHS_PLUGINS", "value": f"{DATA_DIR}/plugins"},
            {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
            {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
            {
                "name": "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH",
                "value": f"{DASHBOARDS_DIR}/mission-overview.json",
            },
        ]
        pod_spec = restricted_pod_spec(
            versions.GRAFANA_UID,
            {
                "name": "grafana",
                "image": versions.GRAFANA_IMAGE,
                "ports": [{"name": "http", "containerPort": PORT}],
                "env": env,
                "resources": args.resources.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": http_probe("/api/health", "http", period=5),
                "livenessProbe": http_probe("/api/health", "http", delay=30),
                "volumeMounts": [
                    read_only_mount("datasources", f"{PROVISIONING_DIR}/datasources"),
                    read_only_mount("dashboard-provider", f"{PROVISIONING_DIR}/dashboards"),
                    read_only_mount("dashboards", DASHBOARDS_DIR),
                    {"name": "data", "mountPath": DATA_DIR},
                    tmp_mount(),
                ],
            },
            volumes=[
                config_map_volume("datasources", f"{NAME}-datasources"),
                config_map_volume("dashboard-provider", f"{NAME}-dashboard-provider"),
                config_map_volume("dashboards", f"{NAME}-dashboards"),
                empty_dir("data", "1Gi"),
                empty_dir("tmp"),
            ],
        )
        annotations = {
            "checksum/provisioning": checksum(datasources, provider),
            "checksum/dashboards": checksum(dashboards),
        }
        self.deployment = create_deployment(
            f"{name}-deployment",
            ctx,
            NAME,
            lbls,
            replicas=1,
            # SQLite on an emptyDir: one replica, replaced rather than run side by side.
            strategy={"type": "Recreate"},
            template=pod_template(lbls, pod_spec, annotations),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.admin_secret,
                    self.datasources_map,
                    self.provider_map,
                    self.dashboards_map,
                ],
            ),
        )
        self.register_outputs({"service": NAME})
