"""The deployed-stack target: `pytest -m integration --stack NAME` or `--ephemeral`.

Reads the stack's outputs with the Pulumi Automation API (names from infra/outputs.py) and
port-forwards the app, Prometheus, Alertmanager, trace backend and test receiver Services' pods
with the kubernetes client. `--ephemeral` creates a uniquely named stack (namespace = stack name)
with `e2eTestMode: true` (fault injection, the in-stack webhook receiver, the fast timings of
infra.fast_timings), runs `up`, yields, then `destroy`s and removes the stack even when tests fail.
Without a Pulumi CLI or a reachable cluster the tests skip, saying which is missing.

DeployedTarget makes the game day's faults real through the Kubernetes API: a component is
stopped by scaling its Deployment/StatefulSet to zero (and back), the trace backend's scrape is
broken by pointing its Service's metrics port at a closed port, the broken rule file goes into
the `prometheus-gameday` ConfigMap. The test logic is the local target's (tests/integration/
target.py), run by `make test` on every commit.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra import outputs
from infra.components.tracing import backend_for
from infra.fast_timings import E2E_RECEIVER_NAME, GAMEDAY_CONFIG_MAP
from infra.local.webhook_receiver import ReceiverClient
from tests.integration.promapi import poll
from tests.integration.target import STOPPABLE, Target

REPO_ROOT = Path(__file__).resolve().parents[2]
# A port nothing listens on in any pod: scrapes through it fail (refused, or time out where
# NetworkPolicies drop the packets, as kindnet does).
CLOSED_PORT = 1


def _require_tools() -> tuple[Any, Any]:
    if shutil.which("pulumi") is None:
        pytest.skip("deployed-stack tests need the Pulumi CLI on PATH (https://www.pulumi.com)")
    try:
        from kubernetes import client, config

        config.load_kube_config()
        client.CoreV1Api().list_namespace(limit=1, _request_timeout=5)
    except Exception as exc:  # no kubeconfig, unreachable API server, no permission
        pytest.skip(f"deployed-stack tests need a reachable Kubernetes cluster: {exc}")
    return client.CoreV1Api(), client.AppsV1Api()


def trace_services_in(body: Any) -> set[str]:
    """service names in a trace as Tempo (OTLP JSON, v1 `batches` or v2 `resourceSpans`) or
    Jaeger (`processes[].serviceName`) returns it from /api/traces/<id>."""
    found: set[str] = set()
    if isinstance(body, dict):
        if isinstance(body.get("serviceName"), str):
            found.add(body["serviceName"])
        if body.get("key") == "service.name" and isinstance(body.get("value"), dict):
            value = body["value"].get("stringValue")
            if isinstance(value, str):
                found.add(value)
        for value in body.values():
            found |= trace_services_in(value)
    elif isinstance(body, list):
        for item in body:
            found |= trace_services_in(item)
    return found


class PortForward:
    """127.0.0.1:<free port> -> pod:port through the API server (like kubectl port-forward)."""

    def __init__(self, api: Any, namespace: str, service: str, port: int) -> None:
        self.api, self.namespace, self.service, self.port = api, namespace, service, port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.local_port = self.listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _pod_for(self, service: str) -> str:
        endpoints = self.api.read_namespaced_endpoints(service, self.namespace)
        for subset in endpoints.subsets or []:
            for address in subset.addresses or []:
                if address.target_ref is not None:
                    return str(address.target_ref.name)
        raise RuntimeError(f"service {service} has no ready pod")

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _connect(self, pod: str) -> Any:
        """A websocket port-forward to the pod, on an API client of its own: portforward()
        swaps call_api on the client it is given while it connects, which would break the
        REST calls other threads make on a shared client."""
        from kubernetes import client
        from kubernetes.stream import portforward

        own = client.CoreV1Api(client.ApiClient(self.api.api_client.configuration))
        return portforward(
            own.connect_get_namespaced_pod_portforward, pod, self.namespace, ports=str(self.port)
        )

    def _pipe(self, conn: socket.socket) -> None:
        remote = None
        try:
            # The pod is looked up per connection: the game day replaces pods (scale to zero
            # and back); while none is ready a connection is closed, like a refused port.
            pf = self._connect(self._pod_for(self.service))
            remote = pf.socket(self.port)  # a socket wrapper, not a context manager
            remote.setblocking(True)
            while True:
                ready, _, _ = select.select([conn, remote], [], [], 30)
                if not ready:
                    return
                for src in ready:
                    dst = remote if src is conn else conn
                    data = src.recv(65536)
                    if not data:
                        return
                    dst.sendall(data)
        except Exception:  # pod gone mid-connect, connection reset: the client sees a close
            return
        finally:
            conn.close()
            if remote is not None:
                remote.close()  # also ends the client's proxy thread and its websocket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def close(self) -> None:
        self._closed = True
        self.listener.close()


class DeployedTarget(Target):
    """A deployed stack, faults through the Kubernetes API (see the module docstring)."""

    def __init__(self, name: str, core: Any, apps: Any, stack_outputs: dict[str, Any]) -> None:
        self.name = f"stack {name}"
        self.core, self.apps = core, apps
        self.namespace = str(stack_outputs[outputs.NAMESPACE])
        self.services: dict[str, dict[str, Any]] = stack_outputs[outputs.SERVICES]
        self.backend = backend_for(str(stack_outputs.get(outputs.TRACING_BACKEND, "tempo")))
        self.forwards: list[PortForward] = []
        self.app_url = self._forward("app")
        self.prometheus_url = self._forward("prometheus")
        self.alertmanager_url = self._forward("alertmanager")
        self.traces_url = self._forward("traces")
        self.grafana_url = str(stack_outputs[outputs.GRAFANA_URL])
        self.started_at = time.time()
        self.receiver = None
        self.gameday_unsupported = (
            "the stack was not deployed with e2eTestMode: true (no fault injection, no "
            "in-stack webhook receiver, production timings); --ephemeral deploys one"
        )
        if stack_outputs.get(outputs.E2E_TEST_MODE) and E2E_RECEIVER_NAME in self.services:
            self.receiver = ReceiverClient(self._forward(E2E_RECEIVER_NAME))
            self.gameday_unsupported = None
        self._replicas: dict[str, int] = {}
        self._saved_logs: list[str] = []
        self._saved_ports: dict[str, Any] = {}

    def _forward(self, component: str) -> str:
        svc = self.services[component]
        pf = PortForward(self.core, self.namespace, svc["name"], int(svc["port"]))
        self.forwards.append(pf)
        return pf.url

    def close(self) -> None:
        for pf in self.forwards:
            pf.close()

    # -- workloads -------------------------------------------------------------------------------
    def _workload(self, component: str) -> tuple[str, Any]:
        """("deployment" | "stateful_set", object) behind a component's Service."""
        from kubernetes.client.exceptions import ApiException

        name = self.services[component]["name"]
        for kind in ("deployment", "stateful_set"):
            try:
                return kind, getattr(self.apps, f"read_namespaced_{kind}")(name, self.namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        raise LookupError(f"no Deployment or StatefulSet named {name} in {self.namespace}")

    def _pods(self, component: str) -> list[Any]:
        _, workload = self._workload(component)
        labels = workload.spec.selector.match_labels
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def _scale(self, component: str, replicas: int) -> None:
        kind, obj = self._workload(component)
        patch = getattr(self.apps, f"patch_namespaced_{kind}_scale")
        patch(obj.metadata.name, self.namespace, {"spec": {"replicas": replicas}})

    def _ready_url(self, component: str) -> str:
        return {
            "app": f"{self.app_url}/api/health/ready",
            "prometheus": f"{self.prometheus_url}/-/ready",
            "alertmanager": f"{self.alertmanager_url}/-/ready",
            "traces": self.traces_url + ("/ready" if self.backend.name == "tempo" else "/"),
        }[component]

    def stop(self, component: str) -> None:
        assert component in STOPPABLE, component
        _, obj = self._workload(component)
        self._replicas.setdefault(component, int(obj.spec.replicas or 1))
        if component == "app":
            # Scaling to zero deletes the pods and their logs: keep what they wrote.
            self._saved_logs.extend(self._current_app_logs())
        self._scale(component, 0)

        # Pods, not status.replicas: a Deployment's count leaves out terminating pods.
        if not poll(lambda: not self._pods(component), timeout=120, interval=1):
            raise AssertionError(f"{component} still has pods 120s after scaling it to zero")

    def start(self, component: str) -> None:
        self._scale(component, self._replicas.pop(component, 1))

        def ready() -> bool:
            try:
                return httpx.get(self._ready_url(component), timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        if not poll(ready, timeout=180, interval=1):
            raise AssertionError(f"{component} not ready 180s after scaling it back up")

    def break_scrape(self, job: str) -> None:
        # Scaled to zero, the trace backend would leave discovery (no `up` series at all);
        # pointing its Service's metrics port at a closed port keeps the target, failing.
        assert job == "traces", job
        service = self.core.read_namespaced_service(self.backend.name, self.namespace)
        ports = [p.to_dict() for p in service.spec.ports]
        self._saved_ports[job] = [dict(p) for p in ports]
        for port in ports:
            if port["name"] == self.backend.metrics_port_name:
                port["target_port"] = CLOSED_PORT
        self._patch_ports(ports)

    def restore_scrape(self, job: str) -> None:
        self._patch_ports(self._saved_ports.pop(job))

    def _patch_ports(self, ports: list[dict[str, Any]]) -> None:
        body = {
            "spec": {
                "ports": [
                    {
                        "name": p["name"],
                        "port": p["port"],
                        "protocol": p.get("protocol") or "TCP",
                        "targetPort": p["target_port"],
                    }
                    for p in ports
                ]
            }
        }
        self.core.patch_namespaced_service(self.backend.name, self.namespace, body)

    def write_gameday_rules(self, name: str, text: str | None) -> None:
        # A strategic-merge patch: a null value removes the key.
        body = {"data": {name: text}}
        self.core.patch_namespaced_config_map(GAMEDAY_CONFIG_MAP, self.namespace, body)

    # -- evidence --------------------------------------------------------------------------------
    def _current_app_logs(self) -> list[str]:
        lines: list[str] = []
        for pod in self._pods("app"):
            with contextlib.suppress(Exception):  # a pod still starting has no log yet
                log = self.core.read_namespaced_pod_log(
                    pod.metadata.name, self.namespace, container="app"
                )
                lines.extend(log.splitlines())
        return lines

    def app_log_lines(self) -> list[str]:
        return [*self._saved_logs, *self._current_app_logs()]

    def trace_services(self, trace_id: str) -> set[str]:
        try:
            resp = httpx.get(f"{self.traces_url}/api/traces/{trace_id}", timeout=10)
        except httpx.HTTPError:
            return set()
        return trace_services_in(resp.json()) if resp.status_code == 200 else set()


@contextlib.contextmanager
def deployed_target(stack_name: str | None, ephemeral: bool) -> Iterator[Target]:
    core, apps = _require_tools()
    from pulumi import automation as auto

    work_dir = str(REPO_ROOT)
    name = stack_name or f"it-{uuid.uuid4().hex[:8]}"
    if ephemeral:
        stack = auto.create_stack(name, work_dir=work_dir)
    else:
        stack = auto.select_stack(name, work_dir=work_dir)
    target: DeployedTarget | None = None
    try:
        if ephemeral:
            for key, value in ephemeral_config(name).items():
                stack.set_config(key, auto.ConfigValue(value=value))
            stack.up(on_output=print)
        outs = {key: out.value for key, out in stack.outputs().items()}
        target = DeployedTarget(name, core, apps, outs)
        yield target
    finally:
        if target is not None:
            target.close()
        if ephemeral:
            # Removed only once destroyed: a failed destroy keeps its own error and the stack
            # (with its resources in state) for `pulumi destroy --stack NAME` to finish.
            stack.destroy(on_output=print)
            stack.workspace.remove_stack(name)


def ephemeral_config(name: str) -> dict[str, str]:
    """Stack config of an --ephemeral stack: its own namespace, the e2e test mode, the image
    CI built (E2E_APP_IMAGE), runbook links into this checkout."""
    config = {
        "namespace": name,
        "e2eTestMode": "true",
        "runbookBaseUrl": REPO_ROOT.as_uri(),
    }
    image = os.environ.get("E2E_APP_IMAGE")
    if image:
        config["appImage"] = image
    return config
