"""Prometheus: StatefulSet with a PVC, namespace-scoped discovery RBAC, config and rule ConfigMaps
rendered by infra.config_files, checksum annotations so config changes roll the pods."""

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
    container_security_context,
    create,
    empty_dir,
    http_probe,
    image_version,
    labels,
    metadata,
    pod_security_context,
    pvc_template,
    selector,
)
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


def render(ctx: Context, args: PrometheusArgs) -> tuple[str, dict[str, str]]:
    """prometheus.yml and the rule files, exactly as they go into the ConfigMaps."""
    rules = cf.rule_files(
        for_scale=1.0,
        grafana_url=args.grafana_url,
        runbook_base_url=args.runbook_base_url,
        min_for=args.evaluation_interval,
    )
    config = cf.prometheus_config(
        cf.PrometheusConfig(
            scrape_interval=args.scrape_interval,
            evaluation_interval=args.evaluation_interval,
            rule_files=[f"{RULES_DIR}/{name}" for name in rules],
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
        self.config_map = create(
            k8s.core.v1.ConfigMap,
            f"{name}-config",
            metadata=metadata(ctx, f"{NAME}-config", lbls),
            data={"prometheus.yml": config},
            opts=child,
        )
        self.rules_map = create(
            k8s.core.v1.ConfigMap,
            f"{name}-rules",
            metadata=metadata(ctx, f"{NAME}-rules", lbls),
            data=rules,
            opts=child,
        )
        headless = f"{NAME}-headless"
        self.headless_service = create(
            k8s.core.v1.Service,
            f"{name}-headless",
            metadata=metadata(ctx, headless, lbls),
            spec={
                "clusterIP": "None",
                "selector": selector(ctx, NAME),
                "ports": [{"name": "http", "port": PORT, "targetPort": "http"}],
            },
            opts=child,
        )
        self.service = create(
            k8s.core.v1.Service,
            f"{name}-service",
            metadata=metadata(ctx, NAME, lbls),
            spec={
                "selector": selector(ctx, NAME),
                "ports": [{"name": "http", "port": PORT, "targetPort": "http"}],
            },
            opts=child,
        )
        self.statefulset = create(
            k8s.apps.v1.StatefulSet,
            f"{name}-statefulset",
            metadata=metadata(ctx, NAME, lbls),
            spec={
                "serviceName": headless,
                "replicas": args.replicas,
                "selector": {"matchLabels": selector(ctx, NAME)},
                "template": {
                    "metadata": {
                        "labels": lbls,
                        "annotations": {
                            "checksum/config": checksum(config),
                            "checksum/rules": checksum(rules),
                        },
                    },
                    "spec": {
                        "serviceAccountName": NAME,
                        "securityContext": pod_security_context(
                            versions.PROMETHEUS_UID, fs_group=versions.PROMETHEUS_UID
                        ),
                        "containers": [
                            {
                                "name": "prometheus",
                                "image": versions.PROMETHEUS_IMAGE,
                                "args": cf.prometheus_args(
                                    f"{CONFIG_DIR}/prometheus.yml",
                                    DATA_DIR,
                                    retention_time=args.retention,
                                ),
                                "ports": [{"name": "http", "containerPort": PORT}],
                                "resources": args.resources.to_k8s(),
                                "securityContext": container_security_context(),
                                "readinessProbe": http_probe("/-/ready", "http", period=5),
                                "livenessProbe": http_probe("/-/healthy", "http", delay=30),
                                "volumeMounts": [
                                    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                    {"name": "rules", "mountPath": RULES_DIR, "readOnly": True},
                                    {"name": "data", "mountPath": DATA_DIR},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "config", "configMap": {"name": f"{NAME}-config"}},
                            {"name": "rules", "configMap": {"name": f"{NAME}-rules"}},
                            empty_dir("tmp"),
                        ],
                    },
                },
                "volumeClaimTemplates": [pvc_template(ctx, "data", args.storage_size, lbls)],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.config_map, self.rules_map]),
        )
        self.register_outputs({"service": NAME})
