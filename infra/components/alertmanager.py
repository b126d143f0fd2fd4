"""Alertmanager: StatefulSet with a PVC (silences, notification log), alertmanager.yml in a Secret
(it carries receiver URLs and keys), a headless Service for peer discovery when replicas > 1.

In e2e test mode the group timings come from FAST and every receiver also notifies the in-stack
e2e receiver (infra/components/e2e_receiver.py), as the local stack's receivers do."""

from __future__ import annotations

import dataclasses
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
from infra.fast_timings import E2E_RECEIVER_NAME, E2E_RECEIVER_PORT, FAST
from infra.settings import Receivers, Resources

NAME = "alertmanager"
PORT = 9093
CLUSTER_PORT = 9094
HEADLESS = f"{NAME}-headless"
CONFIG_DIR = "/etc/alertmanager"
DATA_DIR = "/alertmanager"


@dataclass(frozen=True)
class AlertmanagerArgs:
    replicas: int
    storage_size: str
    resources: Resources
    receivers: Receivers
    external_url: str = ""
    e2e_test_mode: bool = False


def pod_addresses(ctx: Context, replicas: int, port: int) -> list[str]:
    """Stable per-pod DNS names through the headless Service (alertmanager-0.alertmanager-...)."""
    return [f"{NAME}-{i}.{HEADLESS}.{ctx.namespace}.svc:{port}" for i in range(replicas)]


def e2e_receiver_urls(ctx: Context) -> dict[str, str]:
    """Receiver name -> its path on the e2e receiver, which records each under its own name."""
    base = f"http://{E2E_RECEIVER_NAME}.{ctx.namespace}.svc:{E2E_RECEIVER_PORT}"
    return {name: f"{base}/{name}" for name in cf.RECEIVERS}


def render(ctx: Context, receivers: Receivers, e2e_test_mode: bool = False) -> pulumi.Output[str]:
    """alertmanager.yml, resolved from the (secret) receiver settings; stays a secret Output.

    e2e_test_mode: FAST group timings, and every receiver also posts to the e2e receiver.
    """
    values = [
        receivers.webhook_url or "",
        receivers.slack_webhook_url or "",
        receivers.pagerduty_routing_key or "",
        receivers.heartbeat_url or "",
    ]

    def build(resolved: list[str]) -> str:
        webhook, slack, pagerduty, heartbeat = resolved
        params = cf.AlertmanagerConfig(
            webhook_url=webhook,
            slack_webhook_url=slack,
            slack_channel=receivers.slack_channel,
            pagerduty_routing_key=pagerduty,
            heartbeat_url=heartbeat,
        )
        if e2e_test_mode:
            params = dataclasses.replace(
                params,
                group_wait=FAST.group_wait,
                group_interval=FAST.group_interval,
                repeat_interval=FAST.repeat_interval,
                heartbeat_repeat_interval=FAST.heartbeat_repeat_interval,
                receiver_webhook_urls=e2e_receiver_urls(ctx),
            )
        return cf.alertmanager_config(params)

    return pulumi.Output.secret(pulumi.Output.all(*values).apply(build))


class Alertmanager(pulumi.ComponentResource):
    service_name: str = NAME
    port: int = PORT

    def __init__(
        self,
        name: str,
        ctx: Context,
        args: AlertmanagerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:Alertmanager", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lbls = labels(ctx, NAME, "alerting", image_version(versions.ALERTMANAGER_IMAGE))
        config = render(ctx, args.receivers, args.e2e_test_mode)
        self.targets = pod_addresses(ctx, args.replicas, PORT)

        self.secret = create(
            k8s.core.v1.Secret,
            f"{name}-config",
            metadata=metadata(ctx, f"{NAME}-config", lbls),
            type="Opaque",
            string_data={"alertmanager.yml": config},
            opts=child,
        )
        self.headless_service = create_service(
            f"{name}-headless",
            ctx,
            HEADLESS,
            lbls,
            [
                http_service_port(PORT),
                {"name": "cluster-tcp", "port": CLUSTER_PORT, "protocol": "TCP"},
                {"name": "cluster-udp", "port": CLUSTER_PORT, "protocol": "UDP"},
            ],
            child,
            selects=NAME,
            headless=True,
            # Peers must find each other before they are Ready (gossip forms the cluster).
            publishNotReadyAddresses=True,
        )
        self.service = create_service(
            f"{name}-service", ctx, NAME, lbls, [http_service_port(PORT)], child
        )
        clustered = args.replicas > 1
        am_args = cf.alertmanager_args(
            f"{CONFIG_DIR}/alertmanager.yml",
            DATA_DIR,
            external_url=args.external_url,
            cluster_listen_address=f"0.0.0.0:{CLUSTER_PORT}" if clustered else "",
            cluster_peers=pod_addresses(ctx, args.replicas, CLUSTER_PORT) if clustered else (),
        )
        ports = [{"name": "http", "containerPort": PORT}]
        if clustered:
            ports += [
                {"name": "cluster-tcp", "containerPort": CLUSTER_PORT, "protocol": "TCP"},
                {"name": "cluster-udp", "containerPort": CLUSTER_PORT, "protocol": "UDP"},
            ]
        pod_spec = restricted_pod_spec(
            versions.ALERTMANAGER_UID,
            {
                "name": "alertmanager",
                "image": versions.ALERTMANAGER_IMAGE,
                "args": am_args,
                "ports": ports,
                "resources": args.resources.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": http_probe("/-/ready", "http", period=5),
                "livenessProbe": http_probe("/-/healthy", "http", delay=10),
                "volumeMounts": [
                    read_only_mount("config", CONFIG_DIR),
                    {"name": "data", "mountPath": DATA_DIR},
                    tmp_mount(),
                ],
            },
            volumes=[
                {"name": "config", "secret": {"secretName": f"{NAME}-config"}},
                empty_dir("tmp"),
            ],
        )
        # A sha256 of the config only rolls the pods; unsecret keeps the StatefulSet diffable
        # (the receiver URLs/keys are high-entropy).
        annotations = {"checksum/config": pulumi.Output.unsecret(config.apply(checksum))}
        self.statefulset = create_stateful_set(
            f"{name}-statefulset",
            ctx,
            NAME,
            lbls,
            service_name=HEADLESS,
            replicas=args.replicas,
            podManagementPolicy="Parallel",
            template=pod_template(lbls, pod_spec, annotations),
            storage_size=args.storage_size,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.secret]),
        )
        self.register_outputs({"service": NAME})
