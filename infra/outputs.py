"""Stack output names, shared by the program (infra/stack.py) and the tests that read a stack."""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "namespace"
# {component: {"name": service name, "port": port number}} for app, prometheus, alertmanager,
# grafana, traces (and postgres when in the stack, e2e-receiver in e2e test mode).
SERVICES: Final = "services"
# {component: "kubectl -n NS port-forward svc/NAME LOCAL:PORT"}, ready to paste.
PORT_FORWARD: Final = "portForwardCommands"
GRAFANA_URL: Final = "grafanaUrl"
GRAFANA_ADMIN_USER: Final = "grafanaAdminUser"
# Secret output: `pulumi stack output grafanaAdminPassword --show-secrets`.
GRAFANA_ADMIN_PASSWORD: Final = "grafanaAdminPassword"
TRACING_BACKEND: Final = "tracingBackend"
RENDER_DIRECTORY: Final = "renderDirectory"
# bool: the stack runs with e2eTestMode (fast timings, e2e receiver, gameday rule ConfigMap).
E2E_TEST_MODE: Final = "e2eTestMode"

ALL: Final = (
    NAMESPACE,
    SERVICES,
    PORT_FORWARD,
    GRAFANA_URL,
    GRAFANA_ADMIN_USER,
    GRAFANA_ADMIN_PASSWORD,
    TRACING_BACKEND,
    E2E_TEST_MODE,
)
