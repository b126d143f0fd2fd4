"""Stack output names, shared by the program (infra/stack.py) and the tests that read a stack."""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "namespace"
# {component: {"name": service name, "port": port number}} for app, prometheus, alertmanager,
# grafana, traces (and postgres when in the stack).
SERVICES: Final = "services"
# {component: "kubectl -n NS port-forward svc/NAME LOCAL:PORT"}, ready to paste.
PORT_FORWARD: Final = "portForwardCommands"
GRAFANA_URL: Final = "grafanaUrl"
GRAFANA_ADMIN_USER: Final = "grafanaAdminUser"
# Secret output: `pulumi stack output grafanaAdminPassword --show-secrets`.
GRAFANA_ADMIN_PASSWORD: Final = "grafanaAdminPassword"
TRACING_BACKEND: Final = "tracingBackend"
RENDER_DIRECTORY: Final = "renderDirectory"

ALL: Final = (
    NAMESPACE,
    SERVICES,
    PORT_FORWARD,
    GRAFANA_URL,
    GRAFANA_ADMIN_USER,
    GRAFANA_ADMIN_PASSWORD,
    TRACING_BACKEND,
)
