"""Prometheus: StatefulSet with a PVC, namespace-scoped discovery RBAC, config and rule ConfigMaps
rendered by infra.config_files, checksum annotations so config changes roll the pods.

In e2e test mode the rules' `for`s are scaled by FAST.for_scale, firing alerts are resent every
FAST.alert_resend_delay, and an empty `prometheus-gameday` ConfigMap is mounted and globbed in
rule_files, so the game day can add a rule file at run time and POST /-/reload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import config_files as cf
from infra import versions
from infra.components.common import (
    Context,
    checksum,
    config_map_volume,
    container_security_context,
    create,
    create_config_map,
    create_service,
    create_stateful_set,
    empty_dir,
    http_probe,
    http_service_port,
    image_version,
    labels,
    metadata,
    pod_template,
    read_only_mount,
    restricted_pod_spec,
    tmp_mount,
)
from infra.fast_timings import FAST, GAMEDAY_CONFIG_MAP, GAMEDAY_RULES_DIR, GAMEDAY_RULES_GLOB
from infra.settings import Resources

NAME = "prometheus"
PORT = 9090
# Separate directories: a volume cannot be mounted inside a read-only ConfigMap volume.
CONFIG_DIR = "/etc/prometheus/config"
RULES_DIR = "/etc/prometheus/rules"
DATA_DIR = "/prometheus"


@dataclass(frozen=True)
class PrometheusArgs:
    replicas: int
    scrape_interval: str
    evaluation_interval: str
    retention: str
    storage_size: str
    resources: Resources
    alertmanager_targets: Sequence[str]
    # job -> (service, port name) for the stack's own components
    components: Mapping[str, tuple[str, str]]
    grafana_url: str
    runbook_base_url: str
    e2e_test_mode: bool = False


def render(ctx: Context, args: PrometheusArgs) -> tuple[str, dict[str, str]]:
    """prometheus.yml and the rule files, exactly as they go into the ConfigMaps."""
    rules = cf.rule_files(
        for_scale=FAST.for_scale if args.e2e_test_mode else 1.0,
        grafana_url=args.grafana_url,
        runbook_base_url=args.runbook_base_url,
        min_for=args.evaluation_interval,
    )
    rule_paths = [f"{RULES_DIR}/{name}" for name in rules]
    if args.e2e_test_mode:
        # A glob: it matches nothing until the game day adds a file to the gameday ConfigMap.
        rule_paths.append(f"{GAMEDAY_RULES_DIR}/{GAMEDAY_RULES_GLOB}")
    config = cf.prometheus_config(
        cf.PrometheusConfig(
            scrape_interval=args.scrape_interval,
            evaluation_interval=args.evaluation_interval,
            rule_files=rule_paths,
            alertmanager_targets=list(args.alertmanager_targets),
            kubernetes=cf.KubernetesDiscovery(
                namespace=ctx.namespace, components=dict(args.components)
            ),
        )
    )
    return config, rules


class Prometheus(pulumi.ComponentResource):
    service_name: str = NAME
    port: int = PORT

    def __init__(
        self,
        name: str,
        ctx: Context,
        args: PrometheusArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:Prometheus", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lbls = labels(ctx, NAME, "monitoring", image_version(versions.PROMETHEUS_IMAGE))
        config, rules = render(ctx, args)

        self.service_account = create(
            k8s.core.v1.ServiceAccount, f"{name}-sa", metadata=metadata(ctx, NAME, lbls), opts=child
        )
        # Discovery only: read pods, services and endpoints of this namespace, nothing else.
        self.role = create(
            k8s.rbac.v1.Role,
            f"{name}-role",
            metadata=metadata(ctx, NAME, lbls),
            rules=[
                {
                    "apiGroups": [""],
                    "resources": ["pods", "services", "endpoints"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
            opts=child,
        )
        self.role_binding = create(
            k8s.rbac.v1.RoleBinding,
            f"{name}-rolebinding",
            metadata=metadata(ctx, NAME, lbls),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": ctx.namespace}],
            opts=child,
        )
        self.config_map = create_config_map(
            f"{name}-config", ctx, f"{NAME}-config", lbls, {"prometheus.yml": config}, child
        )
        self.rules_map = create_config_map(
            f"{name}-rules", ctx, f"{NAME}-rules", lbls, rules, child
        )
        self.gameday_map: k8s.core.v1.ConfigMap | None = None
        if args.e2e_test_mode:
            # Empty on purpose: the game day adds a rule file at run time. Pulumi sets no key of
            # it, so a live patch is neither in the checksum below nor owned by Pulumi.
            self.gameday_map = create_config_map(
                f"{name}-gameday", ctx, GAMEDAY_CONFIG_MAP, lbls, {}, child
            )
        headless = f"{NAME}-headless"
        self.headless_service = create_service(
            f"{name}-headless",
            ctx,
            headless,
            lbls,
            [http_service_port(PORT)],
            child,
            selects=NAME,
            headless=True,
        )
        self.service = create_service(
            f"{name}-service", ctx, NAME, lbls, [http_service_port(PORT)], child
        )
        mounts = [
            read_only_mount("config", CONFIG_DIR),
            read_only_mount("rules", RULES_DIR),
            {"name": "data", "mountPath": DATA_DIR},
            tmp_mount(),
        ]
        volumes = [
            config_map_volume("config", f"{NAME}-config"),
            config_map_volume("rules", f"{NAME}-rules"),
            empty_dir("tmp"),
        ]
        if args.e2e_test_mode:
            mounts.append(read_only_mount("gameday", GAMEDAY_RULES_DIR))
            volumes.append(config_map_volume("gameday", GAMEDAY_CONFIG_MAP))
        pod_spec = restricted_pod_spec(
            versions.PROMETHEUS_UID,
            {
                "name": "prometheus",
                "image": versions.PROMETHEUS_IMAGE,
                "args": cf.prometheus_args(
                    f"{CONFIG_DIR}/prometheus.yml",
                    DATA_DIR,
                    retention_time=args.retention,
                    alert_resend_delay=FAST.alert_resend_delay if args.e2e_test_mode else "",
                ),
                "ports": [{"name": "http", "containerPort": PORT}],
                "resources": args.resources.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": http_probe("/-/ready", "http", period=5),
                "livenessProbe": http_probe("/-/healthy", "http", delay=30),
                "volumeMounts": mounts,
            },
            volumes=volumes,
            service_account=NAME,
            api_token=True,
        )
        annotations = {"checksum/config": checksum(config), "checksum/rules": checksum(rules)}
        self.statefulset = create_stateful_set(
            f"{name}-statefulset",
            ctx,
            NAME,
            lbls,
            service_name=headless,
            replicas=args.replicas,
            template=pod_template(lbls, pod_spec, annotations),
            storage_size=args.storage_size,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    m for m in (self.config_map, self.rules_map, self.gameday_map) if m is not None
                ],
            ),
        )
        self.register_outputs({"service": NAME})
