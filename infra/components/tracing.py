"""The trace backend: Tempo (default; monolithic, local storage on a PVC) or Jaeger v2 (Badger on a
PVC). Both take OTLP on 4317 (gRPC) / 4318 (HTTP) and expose one Service with the same shape, so
the rest of the stack only knows `TraceBackend`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra import config_files as cf
from infra import versions
from infra.components.common import (
    Context,
    checksum,
    config_map_volume,
    container_security_context,
    create_config_map,
    create_service,
    create_stateful_set,
    empty_dir,
    http_probe,
    http_service_port,
    image_version,
    labels,
    pod_template,
    read_only_mount,
    restricted_pod_spec,
    tmp_mount,
)
from infra.settings import Resources

OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318


@dataclass(frozen=True)
class Backend:
    """What differs between Tempo and Jaeger."""

    name: str  # service and workload name
    image: str
    uid: int
    query_port: int  # what Grafana's datasource talks to
    metrics_port_name: str  # scraped by the "traces" job
    metrics_port: int
    data_dir: str
    config_file: str
    health_path: str
    health_port: str


TEMPO = Backend(
    name="tempo",
    image=versions.TEMPO_IMAGE,
    uid=versions.TEMPO_UID,
    query_port=3200,
    metrics_port_name="http",
    metrics_port=3200,
    data_dir="/var/tempo",
    config_file="tempo.yaml",
    health_path="/ready",
    health_port="http",
)
JAEGER = Backend(
    name="jaeger",
    image=versions.JAEGER_IMAGE,
    uid=versions.JAEGER_UID,
    query_port=16686,
    metrics_port_name="metrics",
    metrics_port=8888,
    data_dir="/badger",
    config_file="config.yaml",
    health_path="/status",
    health_port="health",
)


@dataclass(frozen=True)
class TraceBackendArgs:
    backend: str  # "tempo" | "jaeger"
    storage_size: str
    retention: str
    resources: Resources
    prometheus_remote_write_url: str


def backend_for(kind: str) -> Backend:
    return JAEGER if kind == "jaeger" else TEMPO


def render(args: TraceBackendArgs) -> str:
    """The backend's config file, as it goes into the ConfigMap."""
    if args.backend == "jaeger":
        return cf.jaeger_config(data_dir=JAEGER.data_dir, retention=args.retention)
    return cf.tempo_config(
        data_dir=TEMPO.data_dir,
        retention=args.retention,
        remote_write_url=args.prometheus_remote_write_url,
    )


class TraceBackend(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: Context,
        args: TraceBackendArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:TraceBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        b = backend_for(args.backend)
        self.backend = b
        self.service_name = b.name
        self.port = b.query_port
        self.otlp_grpc_endpoint = f"http://{b.name}.{ctx.namespace}.svc:{OTLP_GRPC_PORT}"
        self.metrics_job = (b.name, b.metrics_port_name)
        lbls = labels(ctx, b.name, "tracing", image_version(b.image))
        config = render(args)

        self.config_map = create_config_map(
            f"{name}-config", ctx, f"{b.name}-config", lbls, {b.config_file: config}, child
        )
        service_ports: list[dict[str, Any]] = [
            http_service_port(b.query_port),
            {"name": "otlp-grpc", "port": OTLP_GRPC_PORT, "targetPort": "otlp-grpc"},
            {"name": "otlp-http", "port": OTLP_HTTP_PORT, "targetPort": "otlp-http"},
        ]
        container_ports: list[dict[str, Any]] = [
            {"name": "http", "containerPort": b.query_port},
            {"name": "otlp-grpc", "containerPort": OTLP_GRPC_PORT},
            {"name": "otlp-http", "containerPort": OTLP_HTTP_PORT},
        ]
        if b is JAEGER:
            service_ports.append({"name": "metrics", "port": 8888, "targetPort": "metrics"})
            container_ports += [
                {"name": "metrics", "containerPort": 8888},
                {"name": "health", "containerPort": 13133},
            ]
            container_args = [f"--config=/etc/{b.name}/{b.config_file}"]
        else:
            container_args = [f"-config.file=/etc/{b.name}/{b.config_file}"]
        self.service = create_service(f"{name}-service", ctx, b.name, lbls, service_ports, child)
        pod_spec = restricted_pod_spec(
            b.uid,
            {
                "name": b.name,
                "image": b.image,
                "args": container_args,
                "ports": container_ports,
                "resources": args.resources.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": http_probe(b.health_path, b.health_port, period=5),
                "volumeMounts": [
                    read_only_mount("config", f"/etc/{b.name}"),
                    {"name": "data", "mountPath": b.data_dir},
                    tmp_mount(),
                ],
            },
            volumes=[config_map_volume("config", f"{b.name}-config"), empty_dir("tmp")],
        )
        self.statefulset = create_stateful_set(
            f"{name}-statefulset",
            ctx,
            b.name,
            lbls,
            service_name=b.name,
            replicas=1,  # monolithic / single binary: one replica by design
            template=pod_template(lbls, pod_spec, {"checksum/config": checksum(config)}),
            storage_size=args.storage_size,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.config_map]),
        )
        self.register_outputs({"service": b.name})
