"""The stack under test, as the integration tests see it: endpoints plus the faults they cause.

Target is what every test and the game day (tests/integration/gameday.py) use; they never touch
processes or Kubernetes objects directly. Two implementations:

  LocalTarget     infra.local.LocalStack on this machine (make test): faults stop and start
                  processes and write files in the stack's data dir.
  DeployedTarget  a Pulumi stack in a cluster (tests/integration/deployed.py, --stack /
                  --ephemeral): the same faults through the Kubernetes API (scale to zero, a
                  ConfigMap patch, a Service pointed at a closed port), endpoints port-forwarded.

Alert notifications are read the same way in both: over HTTP from the webhook receiver
(infra/local/webhook_receiver.py, in this process or as a pod of an e2e test stack).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod

import httpx

from infra.local.stack import LocalStack
from infra.local.webhook_receiver import ReceiverClient
from tests.integration.promapi import PrometheusAPI, poll

# Components a test may stop and start again.
STOPPABLE = ("app", "prometheus", "alertmanager", "traces")


class Target(ABC):
    """Endpoints of the stack under test and the real faults the game day needs."""

    name: str
    app_url: str
    prometheus_url: str
    alertmanager_url: str
    # Base of the alerts' dashboard links (the stack's grafanaUrl).
    grafana_url: str
    started_at: float
    # None: the stack has no test receiver (a deployed stack without e2eTestMode).
    receiver: ReceiverClient | None
    # Why the game day cannot run against this target (None: it can).
    gameday_unsupported: str | None = None
    stack: LocalStack | None = None  # the local processes, for local-only checks

    @property
    def prom(self) -> PrometheusAPI:
        return PrometheusAPI(self.prometheus_url)

    def require_local(self, why: str) -> LocalStack:
        import pytest

        if self.stack is None:
            pytest.skip(f"needs the local stack ({why}); target is {self.name}")
        return self.stack

    # -- faults ----------------------------------------------------------------------------------
    @abstractmethod
    def stop(self, component: str) -> None:
        """Take the component away (process stopped / scaled to zero)."""

    @abstractmethod
    def start(self, component: str) -> None:
        """Bring it back and wait until it is ready."""

    @abstractmethod
    def break_scrape(self, job: str) -> None:
        """Make Prometheus' scrapes of this job fail while its target stays discovered."""

    @abstractmethod
    def restore_scrape(self, job: str) -> None: ...

    @abstractmethod
    def write_gameday_rules(self, name: str, text: str | None) -> None:
        """Add (or with None remove) a rule file in the game-day rules directory.

        Prometheus loads that directory through a glob in prometheus.yml; call reload_rules
        afterwards: a cluster syncs the ConfigMap into the pod after a delay.
        """

    # -- evidence --------------------------------------------------------------------------------
    @abstractmethod
    def app_log_lines(self) -> list[str]:
        """Every log line the app wrote since the stack started (across restarts)."""

    @abstractmethod
    def trace_services(self, trace_id: str) -> set[str]:
        """service.name of the spans the trace backend holds for this trace (empty: unknown)."""

    # -- shared logic ----------------------------------------------------------------------------
    def reload_rules(self, has_group: str, present: bool, timeout: float = 180.0) -> None:
        """POST /-/reload until rule group `has_group` is loaded (present) or gone."""

        def reloaded() -> bool:
            httpx.post(f"{self.prometheus_url}/-/reload", timeout=30).raise_for_status()
            names = {g["name"] for g in self.prom.rule_groups()}
            return (has_group in names) == present

        if not poll(reloaded, timeout=timeout, interval=2.0):
            state = "loaded" if present else "removed"
            raise AssertionError(f"rule group {has_group} not {state} after {timeout:.0f}s")

    def app_log_trace_ids(self) -> set[str]:
        ids = set()
        for line in self.app_log_lines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("trace_id"):
                ids.add(str(record["trace_id"]))
        return ids


class LocalTarget(Target):
    """The local stack: processes on this machine, the receiver in this process."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.name = "local"
        self.app_url = stack.app_url
        self.prometheus_url = stack.prometheus_url
        self.alertmanager_url = stack.alertmanager_url
        self.grafana_url = stack.grafana_url
        self.started_at = time.time()
        # Over HTTP, like a deployed receiver: the same client code runs in make test.
        self.receiver = ReceiverClient(stack.receiver.url)
        self.gameday_unsupported = None
        if stack.otlp is None:
            self.gameday_unsupported = (
                "Tempo is on PATH: the game day reads spans from the built-in OTLP receiver"
            )

    def stop(self, component: str) -> None:
        assert self.stack is not None
        if component == "traces":
            assert self.stack.otlp is not None
            self.stack.otlp.stop()
        else:
            self.stack.process(component).stop()

    def start(self, component: str) -> None:
        assert self.stack is not None
        if component == "traces":
            assert self.stack.otlp is not None
            self.stack.otlp.start()
        else:
            proc = self.stack.process(component)
            proc.start()
            proc.wait_ready(timeout=60)

    # Locally the trace backend's scrape fails by stopping it: its static target stays.
    def break_scrape(self, job: str) -> None:
        self.stop(job)

    def restore_scrape(self, job: str) -> None:
        self.start(job)

    def write_gameday_rules(self, name: str, text: str | None) -> None:
        assert self.stack is not None
        path = self.stack.gameday_rules_dir / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text, encoding="utf-8")

    def app_log_lines(self) -> list[str]:
        assert self.stack is not None
        return self.stack.app_log_path.read_text(errors="replace").splitlines()

    def trace_services(self, trace_id: str) -> set[str]:
        assert self.stack is not None and self.stack.otlp is not None
        return {s.service_name for s in self.stack.otlp.spans() if s.trace_id == trace_id}
