"""DeployedTarget (tests/integration/deployed.py) against fake Kubernetes APIs built from the
Pulumi program's own objects (e2e mode, under mocks).

No cluster here: this proves the adapter asks the API server for the right things (which
workload each component's Service belongs to, scale bodies, the Service and ConfigMap patches, the
logs kept across a restart) and reads Tempo's and Jaeger's trace formats. The game day logic it
feeds is the one `make test` runs against the local stack.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import Configuration, V1ServicePort
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import ws_client

from infra import outputs
from infra.fast_timings import E2E_RECEIVER_NAME, GAMEDAY_CONFIG_MAP
from infra.local.webhook_receiver import WebhookReceiver
from infra.settings import Settings
from tests.integration.deployed import (
    CLOSED_PORT,
    DeployedTarget,
    PortForward,
    trace_services_in,
)
from tests.unit.infra.program import ProgramRun, run_program

KINDS = {"Deployment": "deployment", "StatefulSet": "stateful_set"}


class FakeApps:
    """AppsV1Api over the program's Deployments and StatefulSets."""

    def __init__(self, run: ProgramRun) -> None:
        self.replicas: dict[tuple[str, str], int] = {}
        self.selectors: dict[str, dict[str, str]] = {}
        self.scaled: list[tuple[str, str, int]] = []
        for kind, attr in KINDS.items():
            for res in run.of_kind(kind):
                name = res.manifest["metadata"]["name"]
                self.replicas[(attr, name)] = int(res.inputs["spec"].get("replicas", 1))
                self.selectors[name] = res.inputs["spec"]["selector"]["matchLabels"]

    def _read(self, kind: str, name: str) -> Any:
        if (kind, name) not in self.replicas:
            raise ApiException(status=404)
        count = self.replicas[(kind, name)]
        return SimpleNamespace(
            metadata=SimpleNamespace(name=name),
            spec=SimpleNamespace(
                replicas=count, selector=SimpleNamespace(match_labels=self.selectors[name])
            ),
            status=SimpleNamespace(replicas=count),
        )

    def _scale(self, kind: str, name: str, body: dict[str, Any]) -> None:
        assert (kind, name) in self.replicas
        self.replicas[(kind, name)] = body["spec"]["replicas"]
        self.scaled.append((kind, name, body["spec"]["replicas"]))

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any:
        return self._read("deployment", name)

    def read_namespaced_stateful_set(self, name: str, namespace: str) -> Any:
        return self._read("stateful_set", name)

    def patch_namespaced_deployment_scale(self, name: str, ns: str, body: Any) -> None:
        self._scale("deployment", name, body)

    def patch_namespaced_stateful_set_scale(self, name: str, ns: str, body: Any) -> None:
        self._scale("stateful_set", name, body)


class FakeCore:
    """CoreV1Api: the program's Services, a pod per running replica (app pods with a log),
    recorded patches."""

    def __init__(self, run: ProgramRun, apps: FakeApps) -> None:
        self.apps = apps
        self.services = {
            res.manifest["metadata"]["name"]: res.manifest["spec"] for res in run.of_kind("Service")
        }
        self.pod_generation = 1
        self.pods_ready = True
        self.patches: list[tuple[str, str, Any]] = []
        # What PortForward builds its own client from.
        self.api_client = SimpleNamespace(configuration=Configuration())

    def list_namespaced_pod(self, namespace: str, label_selector: str) -> Any:
        wanted = dict(item.split("=", 1) for item in label_selector.split(","))
        pods = [
            SimpleNamespace(metadata=SimpleNamespace(name=f"{name}-{self.pod_generation}"))
            for (kind, name), count in self.apps.replicas.items()
            if count and self.apps.selectors[name] == wanted
        ]
        return SimpleNamespace(items=pods)

    def read_namespaced_endpoints(self, name: str, namespace: str) -> Any:
        ready = [SimpleNamespace(target_ref=SimpleNamespace(name=f"{name}-pod"))]
        return SimpleNamespace(
            subsets=[SimpleNamespace(addresses=ready if self.pods_ready else [])]
        )

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str) -> str:
        assert container == "app" and name.startswith("mission-app-")
        return f'{{"msg": "hello", "trace_id": "{name}"}}\nnot json\n'

    def read_namespaced_service(self, name: str, namespace: str) -> Any:
        ports = [
            V1ServicePort(
                name=p["name"],
                port=p["port"],
                target_port=p.get("targetPort", p["port"]),
                protocol=p.get("protocol", "TCP"),
            )
            for p in self.services[name]["ports"]
        ]
        return SimpleNamespace(spec=SimpleNamespace(ports=ports))

    def patch_namespaced_service(self, name: str, namespace: str, body: Any) -> None:
        self.patches.append(("Service", name, body))

    def patch_namespaced_config_map(self, name: str, namespace: str, body: Any) -> None:
        self.patches.append(("ConfigMap", name, body))


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(lambda: Settings(e2e_test_mode=True))


@pytest.fixture()
def deployed(run: ProgramRun) -> Iterator[tuple[DeployedTarget, FakeCore, FakeApps]]:
    apps = FakeApps(run)
    core = FakeCore(run, apps)
    target = DeployedTarget("it-test", core, apps, run.outputs)
    yield target, core, apps
    target.close()


def test_reads_the_programs_outputs(deployed: tuple[DeployedTarget, FakeCore, FakeApps]) -> None:
    target, _, _ = deployed
    assert target.gameday_unsupported is None
    assert target.receiver is not None
    assert target.namespace == "observability"
    assert target.grafana_url == "http://localhost:3000"
    for url in (target.app_url, target.prometheus_url, target.alertmanager_url, target.traces_url):
        assert url.startswith("http://127.0.0.1:")


def test_a_stack_without_e2e_mode_has_no_game_day() -> None:
    run = run_program(Settings)
    apps = FakeApps(run)
    target = DeployedTarget("prod", FakeCore(run, apps), apps, run.outputs)
    try:
        assert target.receiver is None
        assert target.gameday_unsupported and "e2eTestMode" in target.gameday_unsupported
    finally:
        target.close()


@pytest.fixture()
def ready_probes(
    deployed: tuple[DeployedTarget, FakeCore, FakeApps], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every component's readiness URL answers 200 (a receiver's GET / stands in)."""
    ready = WebhookReceiver().start()
    monkeypatch.setattr(deployed[0], "_ready_url", lambda c: ready.url)
    yield
    ready.stop()


@pytest.mark.usefixtures("ready_probes")
@pytest.mark.parametrize("component", ["app", "prometheus", "alertmanager", "traces"])
def test_stop_and_start_scale_the_components_workload(
    deployed: tuple[DeployedTarget, FakeCore, FakeApps], component: str
) -> None:
    target, core, apps = deployed
    name = target.services[component]["name"]
    target.stop(component)
    assert not [p for p in core.list_namespaced_pod("ns", _selector(apps, name)).items]
    target.start(component)
    assert [(n, r) for _, n, r in apps.scaled] == [(name, 0), (name, 1)]


def _selector(apps: FakeApps, name: str) -> str:
    return ",".join(f"{k}={v}" for k, v in apps.selectors[name].items())


@pytest.mark.usefixtures("ready_probes")
def test_app_logs_survive_the_restart(deployed: tuple[DeployedTarget, FakeCore, FakeApps]) -> None:
    target, core, _ = deployed
    target.stop("app")
    core.pod_generation = 2  # the Deployment makes a new pod
    target.start("app")
    assert target.app_log_trace_ids() == {"mission-app-1", "mission-app-2"}


def test_break_scrape_points_only_the_metrics_port_at_a_closed_port(
    deployed: tuple[DeployedTarget, FakeCore, FakeApps],
) -> None:
    target, core, _ = deployed
    original = {p["name"]: p.get("targetPort", p["port"]) for p in core.services["tempo"]["ports"]}
    target.break_scrape("traces")
    target.restore_scrape("traces")
    (_, name1, broken), (_, name2, restored) = core.patches
    assert name1 == name2 == "tempo"
    broken_ports = {p["name"]: p["targetPort"] for p in broken["spec"]["ports"]}
    assert broken_ports == {**original, "http": CLOSED_PORT}
    assert {p["name"]: p["targetPort"] for p in restored["spec"]["ports"]} == original


def test_gameday_rules_go_into_the_gameday_config_map(
    deployed: tuple[DeployedTarget, FakeCore, FakeApps],
) -> None:
    target, core, _ = deployed
    target.write_gameday_rules("broken.rules.yml", "groups: []\n")
    target.write_gameday_rules("broken.rules.yml", None)
    assert core.patches == [
        ("ConfigMap", GAMEDAY_CONFIG_MAP, {"data": {"broken.rules.yml": "groups: []\n"}}),
        # null removes the key in a strategic merge patch
        ("ConfigMap", GAMEDAY_CONFIG_MAP, {"data": {"broken.rules.yml": None}}),
    ]


def test_e2e_receiver_service_is_in_the_outputs(run: ProgramRun) -> None:
    services = run.outputs[outputs.SERVICES]
    assert services[E2E_RECEIVER_NAME] == {"name": E2E_RECEIVER_NAME, "port": 9095}


def _otlp_attr(value: str) -> dict[str, Any]:
    return {"key": "service.name", "value": {"stringValue": value}}


@pytest.mark.parametrize(
    "body",
    [
        # Tempo /api/traces/<id> (v1: batches of resource spans)
        {"batches": [{"resource": {"attributes": [_otlp_attr("mission-app")]}, "scopeSpans": []}]},
        # Tempo /api/v2/traces/<id>
        {"trace": {"resourceSpans": [{"resource": {"attributes": [_otlp_attr("mission-app")]}}]}},
        # Jaeger /api/traces/<id>
        {"data": [{"traceID": "ab", "processes": {"p1": {"serviceName": "mission-app"}}}]},
    ],
)
def test_trace_services_in_tempo_and_jaeger_answers(body: Any) -> None:
    assert trace_services_in(body) == {"mission-app"}


def test_trace_services_ignores_other_attributes() -> None:
    body = {"batches": [{"resource": {"attributes": [{"key": "host", "value": {"x": 1}}]}}]}
    assert trace_services_in(body) == set()


@pytest.mark.parametrize(("fake", "real"), [(FakeApps, "AppsV1Api"), (FakeCore, "CoreV1Api")])
def test_the_fakes_only_offer_methods_the_real_clients_have(fake: type, real: str) -> None:
    from kubernetes import client

    api = getattr(client, real)
    methods = [m for m in vars(fake) if not m.startswith("_") and callable(getattr(fake, m))]
    assert methods
    assert [m for m in methods if not hasattr(api, m)] == []


class FakePortForward:
    """What kubernetes.stream.portforward returns, with the client's own socket wrapper (not a
    context manager); the pod's side echoes until the forward closes it."""

    def __init__(self, port: int) -> None:
        self.port = ws_client.PortForward._Port(0, port)
        self.pod_saw_close = threading.Event()
        threading.Thread(target=self._pod, daemon=True).start()

    def _pod(self) -> None:
        with contextlib.suppress(OSError):
            while data := self.port.python.recv(65536):
                self.port.python.sendall(data)
        self.pod_saw_close.set()

    def socket(self, port: int) -> Any:
        assert port == self.port.port_number
        return self.port.socket


@pytest.fixture()
def forward(
    deployed: tuple[DeployedTarget, FakeCore, FakeApps], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[PortForward, list[Any]]]:
    import kubernetes.stream

    core = deployed[1]
    made: list[Any] = []

    def fake_portforward(connect: Any, pod: str, namespace: str, ports: str) -> Any:
        # A client of its own: portforward() patches the client it is given while connecting.
        assert connect.__self__ is not core and connect.__self__.api_client is not core.api_client
        assert (pod, namespace, ports) == ("mission-app-pod", "observability", "8000")
        if not made or made[0] != "fail":
            made.append(FakePortForward(int(ports)))
            return made[-1]
        raise ApiException(status=0, reason="pod went away")

    monkeypatch.setattr(kubernetes.stream, "portforward", fake_portforward)
    pf = PortForward(core, "observability", "mission-app", 8000)
    yield pf, made
    pf.close()


def _roundtrip(pf: PortForward, payload: bytes) -> bytes:
    """Send payload, read as many bytes back (fewer when the forward closes the connection).

    No half-close: like an HTTP client, the forward ends a connection at either side's EOF.
    """
    received = b""
    with socket.create_connection(("127.0.0.1", pf.local_port), timeout=5) as conn:
        conn.sendall(payload)
        try:
            while len(received) < len(payload) and (chunk := conn.recv(65536)):
                received += chunk
        except ConnectionResetError:  # closed with our bytes unread
            pass
    return received


def test_port_forward_pipes_both_ways_and_closes_the_pod_side(
    forward: tuple[PortForward, list[Any]],
) -> None:
    pf, made = forward
    assert _roundtrip(pf, b"GET / HTTP/1.1\r\n\r\n") == b"GET / HTTP/1.1\r\n\r\n"
    assert len(made) == 1 and made[0].pod_saw_close.wait(5)
    # Several connections at once, each with its own forward.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: _roundtrip(pf, b"x" * (i + 1) * 1000), range(8)))
    assert [len(a) for a in answers] == [(i + 1) * 1000 for i in range(8)]


def test_port_forward_closes_the_connection_when_no_pod_is_ready(
    forward: tuple[PortForward, list[Any]],
    deployed: tuple[DeployedTarget, FakeCore, FakeApps],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pf, made = forward
    crashes: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)
    deployed[1].pods_ready = False
    assert _roundtrip(pf, b"ping") == b""
    deployed[1].pods_ready = True
    made.append("fail")  # the pod disappears during the websocket handshake
    made.reverse()
    assert _roundtrip(pf, b"ping") == b""
    assert crashes == []
