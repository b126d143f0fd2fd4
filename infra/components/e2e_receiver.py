"""The e2e receiver of test stacks (e2eTestMode): the local stack's webhook receiver as a pod.

infra/local/webhook_receiver.py is stdlib-only and runnable as a script, so it is shipped in a
ConfigMap and run by the app image's python: no image to build. Alertmanager posts every
receiver's notifications to it (infra/components/alertmanager.py); the game day reads them back
through a port-forward (GET /-/notifications) and makes it fail on purpose (PUT /-/fail).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra import versions
from infra.components.common import (
    Context,
    checksum,
    config_map_volume,
    container_security_context,
    create_config_map,
    create_deployment,
    create_service,
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
from infra.fast_timings import E2E_RECEIVER_NAME, E2E_RECEIVER_PORT
from infra.settings import Resources

NAME = E2E_RECEIVER_NAME
PORT = E2E_RECEIVER_PORT
SCRIPT = Path(__file__).resolve().parents[1] / "local" / "webhook_receiver.py"
SCRIPT_DIR = "/opt/e2e-receiver"
# Not a settings.COMPONENTS entry: test stacks only, and a few notifications need little.
RESOURCES = Resources("10m", "32Mi", memory_limit="64Mi")


@dataclass(frozen=True)
class E2EReceiverArgs:
    image: str  # the app image: it has python, the receiver needs nothing else


class E2EReceiver(pulumi.ComponentResource):
    service_name: str = NAME
    port: int = PORT

    def __init__(
        self,
        name: str,
        ctx: Context,
        args: E2EReceiverArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:E2EReceiver", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lbls = labels(ctx, NAME, "e2e-test", image_version(args.image))
        # Read at program time: the pod runs the receiver the local stack runs, this revision.
        script = {SCRIPT.name: SCRIPT.read_text(encoding="utf-8")}
        self.config_map = create_config_map(f"{name}-script", ctx, NAME, lbls, script, child)
        pod_spec = restricted_pod_spec(
            versions.APP_UID,
            {
                "name": "receiver",
                "image": args.image,
                "imagePullPolicy": "IfNotPresent",
                "command": [
                    "python",
                    f"{SCRIPT_DIR}/{SCRIPT.name}",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(PORT),
                ],
                # Nothing to write next to the script (read-only mount and root filesystem).
                "env": [
                    {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                    {"name": "PYTHONUNBUFFERED", "value": "1"},
                ],
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "resources": RESOURCES.to_k8s(),
                "securityContext": container_security_context(),
                "readinessProbe": http_probe("/", "http", period=5),
                "livenessProbe": http_probe("/", "http"),
                "volumeMounts": [read_only_mount("script", SCRIPT_DIR), tmp_mount()],
            },
            volumes=[config_map_volume("script", NAME), empty_dir("tmp", "8Mi")],
            fs_group=False,
        )
        # Roll the pod when the script changes (a mounted file changes, the process does not).
        annotations = {"checksum/script": checksum(script)}
        self.deployment = create_deployment(
            f"{name}-deployment",
            ctx,
            NAME,
            lbls,
            replicas=1,
            # Notifications live in one process's memory: never two pods splitting them.
            strategy={"type": "Recreate"},
            template=pod_template(lbls, pod_spec, annotations),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.config_map]),
        )
        self.service = create_service(
            f"{name}-service", ctx, NAME, lbls, [http_service_port(PORT)], child
        )
        self.register_outputs({"service": NAME})
