"""The deployed-stack target: `pytest -m integration --stack NAME` or `--ephemeral`.

Reads the stack's outputs with the Pulumi Automation API (names from infra/outputs.py) and
port-forwards the app, Prometheus and Alertmanager Services' pods with the kubernetes client.
`--ephemeral` creates a uniquely named stack (namespace = stack name), runs `up`, yields, then
`destroy`s and removes the stack even when tests fail. Without a Pulumi CLI or a reachable
cluster the tests skip, saying which is missing.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import outputs

REPO_ROOT = Path(__file__).resolve().parents[2]


def _require_tools() -> Any:
    if shutil.which("pulumi") is None:
        pytest.skip("deployed-stack tests need the Pulumi CLI on PATH (https://www.pulumi.com)")
    try:
        from kubernetes import client, config

        config.load_kube_config()
        client.CoreV1Api().list_namespace(limit=1, _request_timeout=5)
    except Exception as exc:  # no kubeconfig, unreachable API server, no permission
        pytest.skip(f"deployed-stack tests need a reachable Kubernetes cluster: {exc}")
    return client.CoreV1Api()


class PortForward:
    """127.0.0.1:<free port> -> pod:port through the API server (like kubectl port-forward)."""

    def __init__(self, api: Any, namespace: str, service: str, port: int) -> None:
        self.api, self.namespace, self.port = api, namespace, port
        self.pod = self._pod_for(service)
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

    def _pipe(self, conn: socket.socket) -> None:
        from kubernetes.stream import portforward

        pf = portforward(
            self.api.connect_get_namespaced_pod_portforward,
            self.pod,
            self.namespace,
            ports=str(self.port),
        )
        remote = pf.socket(self.port)
        remote.setblocking(True)
        with contextlib.suppress(OSError), conn, remote:
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def close(self) -> None:
        self._closed = True
        self.listener.close()


@contextlib.contextmanager
def deployed_target(stack_name: str | None, ephemeral: bool) -> Iterator[Any]:
    from tests.integration.conftest import Target

    api = _require_tools()
    from pulumi import automation as auto

    work_dir = str(REPO_ROOT)
    name = stack_name or f"it-{uuid.uuid4().hex[:8]}"
    if ephemeral:
        stack = auto.create_stack(name, work_dir=work_dir)
    else:
        stack = auto.select_stack(name, work_dir=work_dir)
    forwards: list[PortForward] = []
    try:
        if ephemeral:
            stack.set_config("namespace", auto.ConfigValue(value=name))
            image = os.environ.get("E2E_APP_IMAGE")
            if image:
                stack.set_config("appImage", auto.ConfigValue(value=image))
            stack.up(on_output=print)
        outs = stack.outputs()
        namespace = outs[outputs.NAMESPACE].value
        services = outs[outputs.SERVICES].value

        def forward(component: str) -> str:
            svc = services[component]
            pf = PortForward(api, namespace, svc["name"], int(svc["port"]))
            forwards.append(pf)
            return pf.url

        yield Target(
            f"stack {name}",
            forward("app"),
            forward("prometheus"),
            forward("alertmanager"),
        )
    finally:
        for pf in forwards:
            pf.close()
        if ephemeral:
            try:
                stack.destroy(on_output=print)
            finally:
                stack.workspace.remove_stack(name)
