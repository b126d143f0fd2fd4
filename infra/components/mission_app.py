"""The mission service: Deployment, Service, ServiceAccount, DATABASE_URL Secret and, unless an
external database is configured, a PostgreSQL StatefulSet with its PVC, Service and password.

In e2e test mode the app runs as the local game day's does: fault injection on, a fast run sweep,
every request traced and spans exported within half a second."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import versions
from infra.components.common import (
    Context,
    Manifest,
    checksum,
    container_security_context,
    create,
    create_deployment,
    create_service,
    create_stateful_set,
    empty_dir,
    http_probe,
    http_service_port,
    image_version,
    labels,
    metadata,
    pod_template,
    restricted_pod_spec,
    secret_key_env,
    tmp_mount,
)
from infra.fast_timings import FAST
from infra.settings import Resources

APP_NAME = "mission-app"
APP_PORT = 8000
POSTGRES_NAME = "postgres"
POSTGRES_PORT = 5432
POSTGRES_DB = "mission"
POSTGRES_USER = "mission"


@dataclass(frozen=True)
class MissionAppArgs:
    image: str
    replicas: int
    log_level: str
    resources: Resources
    postgres_resources: Resources
    postgres_storage_size: str
    otlp_endpoint: str  # gRPC OTLP endpoint of the trace backend (http://tempo:4317)
    database_url: pulumi.Output[str] | None  # None: in-stack PostgreSQL
    e2e_test_mode: bool = False


class MissionApp(pulumi.ComponentResource):
    """The app and its database."""

    service_name: str = APP_NAME
    port: int = APP_PORT

    def __init__(
        self,
        name: str,
        ctx: Context,
        args: MissionAppArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:MissionApp", name, None, opts)
        self.postgres_in_stack = args.database_url is None
        database_url = args.database_url or self._postgres(ctx, args)

        lbls = labels(ctx, APP_NAME, "app", image_version(args.image))
        self.database_secret = create(
            k8s.core.v1.Secret,
            f"{name}-database",
            metadata=metadata(ctx, f"{APP_NAME}-database", lbls),
            type="Opaque",
            string_data={"DATABASE_URL": database_url},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # No API access: the app never talks to Kubernetes, so no token is mounted.
        self.service_account = create(
            k8s.core.v1.ServiceAccount,
            f"{name}-sa",
            metadata=metadata(ctx, APP_NAME, lbls),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        env: Manifest = [
            {"name": "HOST", "value": "0.0.0.0"},
            {"name": "PORT", "value": str(APP_PORT)},
            {"name": "LOG_LEVEL", "value": args.log_level},
            secret_key_env("DATABASE_URL", f"{APP_NAME}-database", "DATABASE_URL"),
            {"name": "OTEL_SERVICE_NAME", "value": APP_NAME},
            {"name": "OTEL_TRACES_EXPORTER", "value": "otlp"},
            {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": args.otlp_endpoint},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "OTEL_RESOURCE_ATTRIBUTES",
                "value": f"k8s.namespace.name={ctx.namespace},k8s.pod.name=$(POD_NAME)",
            },
        ]
        if args.e2e_test_mode:
            env += [
                {"name": "FAULT_INJECTION_ENABLED", "value": "true"},
                {
                    "name": "RUN_SWEEP_INTERVAL_SECONDS",
                    "value": str(FAST.run_sweep_interval_seconds),
                },
                # Every request sampled, so every exemplar's trace id has spans to be found.
                {"name": "OTEL_TRACES_SAMPLER", "value": "always_on"},
                {"name": "OTEL_BSP_SCHEDULE_DELAY", "value": "500"},
            ]
        pod_spec = restricted_pod_spec(
            versions.APP_UID,
            {
                "name": "app",
                "image": args.image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}],
                "env": env,
                "resources": args.resources.to_k8s(),
                "securityContext": container_security_context(),
                "livenessProbe": http_probe("/api/health/live", "http"),
                "readinessProbe": http_probe("/api/health/ready", "http", period=5),
                "startupProbe": http_probe("/api/health/live", "http", period=2, failures=30),
                "volumeMounts": [tmp_mount()],
            },
            volumes=[empty_dir("tmp")],
            service_account=APP_NAME,
            fs_group=False,
        )
        # Roll the pods when DATABASE_URL changes (env from a Secret is read at start only).
        # A hash, not the URL; unsecret keeps the Deployment diffable.
        annotations = {"checksum/database": pulumi.Output.unsecret(database_url.apply(checksum))}
        self.deployment = create_deployment(
            f"{name}-deployment",
            ctx,
            APP_NAME,
            lbls,
            replicas=args.replicas,
            template=pod_template(lbls, pod_spec, annotations),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database_secret]),
        )
        self.service = create_service(
            f"{name}-service",
            ctx,
            APP_NAME,
            lbls,
            [http_service_port(APP_PORT)],
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"service": APP_NAME})

    def _postgres(self, ctx: Context, args: MissionAppArgs) -> pulumi.Output[str]:
        """In-stack PostgreSQL; returns the DATABASE_URL (a secret Output)."""
        lbls = labels(ctx, POSTGRES_NAME, "database", image_version(versions.POSTGRES_IMAGE))
        password = random.RandomPassword(
            "postgres-password",
            length=32,
            special=False,  # goes into a URL: keep it URL-safe
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.postgres_secret = create(
            k8s.core.v1.Secret,
            "postgres-secret",
            metadata=metadata(ctx, POSTGRES_NAME, lbls),
            type="Opaque",
            string_data={"POSTGRES_PASSWORD": password.result, "POSTGRES_USER": POSTGRES_USER},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.postgres_service = create_service(
            "postgres-service",
            ctx,
            POSTGRES_NAME,
            lbls,
            [{"name": "postgres", "port": POSTGRES_PORT, "targetPort": "postgres"}],
            pulumi.ResourceOptions(parent=self),
        )
        data_dir = "/var/lib/postgresql/data"
        pod_spec = restricted_pod_spec(
            versions.POSTGRES_UID,
            {
                "name": "postgres",
                "image": versions.POSTGRES_IMAGE,
                "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT}],
                "env": [
                    {"name": "POSTGRES_DB", "value": POSTGRES_DB},
                    secret_key_env("POSTGRES_USER", POSTGRES_NAME, "POSTGRES_USER"),
                    secret_key_env("POSTGRES_PASSWORD", POSTGRES_NAME, "POSTGRES_PASSWORD"),
                    # A subdirectory: the PVC root holds lost+found on some storage classes,
                    # and initdb wants an empty directory.
                    {"name": "PGDATA", "value": f"{data_dir}/pgdata"},
                ],
                "resources": args.postgres_resources.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": {
                    "exec": {"command": ["pg_isready", "-U", POSTGRES_USER, "-d", POSTGRES_DB]},
                    "periodSeconds": 5,
                    "timeoutSeconds": 3,
                },
                "livenessProbe": {
                    "exec": {"command": ["pg_isready", "-U", POSTGRES_USER]},
                    "periodSeconds": 10,
                    "timeoutSeconds": 3,
                    "initialDelaySeconds": 30,
                },
                "volumeMounts": [
                    {"name": "data", "mountPath": data_dir},
                    # The server's socket and lock files; read-only root fs.
                    {"name": "run", "mountPath": "/var/run/postgresql"},
                    tmp_mount(),
                ],
            },
            volumes=[empty_dir("run", "8Mi"), empty_dir("tmp")],
        )
        self.postgres = create_stateful_set(
            "postgres-statefulset",
            ctx,
            POSTGRES_NAME,
            lbls,
            service_name=POSTGRES_NAME,
            replicas=1,
            template=pod_template(lbls, pod_spec),
            storage_size=args.postgres_storage_size,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}.{3}.svc:{4}/{5}",
                POSTGRES_USER,
                password.result,
                POSTGRES_NAME,
                ctx.namespace,
                POSTGRES_PORT,
                POSTGRES_DB,
            )
        )
