"""The integration tests' game day: one timeline of real faults, run in the background.

It drives a Target (tests/integration/target.py): the same timeline runs against the local stack
and against a deployed e2e test stack; only how a fault is made real differs (a process stopped
or a Deployment scaled to zero, a file or a ConfigMap). Faults that do not interfere run at the
same time, so the whole suite stays short:

  rules thread (t=0)   an extra, broken rule group is loaded by a live reload and removed as soon
                       as PrometheusRuleEvaluationFailures fires (resolves after the 5m window).
  stack thread (t=0)   the webhook receiver answers 500 to the heartbeat receiver only (so
                       Alertmanager's notifications fail while the alert about it can still be
                       delivered to chat), then Alertmanager is stopped (Prometheus fails to
                       notify) and started again. These alerts are ratios of
                       counters over [5m] that no traffic can dilute, so they resolve once the
                       failures leave the 5m window (~5 min): started first for that reason.
  app thread (t=0)     one burst of bad traffic: injected 500s, GPS fixes far away, runs left to
                       expire, runs completed after 11 s, and requests delayed 1.5 s: every app
                       alert fires. Then healthy traffic dilutes every [5m] ratio below its
                       threshold (alerts.thresholds), so they resolve; then the app is stopped
                       (MissionAppDown) and started again, and last the trace backend's scrape
                       (job "traces") fails for a while (StackTargetDown).

Each alert's fault start/stop times are recorded for the tests (and the latency benchmark).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from infra.local.webhook_receiver import ReceiverClient, find_alerts
from tests.integration.promapi import poll
from tests.integration.target import Target
from tests.integration.traffic import FAR_AWAY, Traffic

# Bad traffic of the burst; each count is chosen against alerts/thresholds.py (see the comments).
INJECTED_ERRORS = 40  # vs 40 OK GETs + ~120 run calls: ~20% 5xx > 7.2% (fast burn), 5%, 3%
REJECTED_RUNS = 20  # of ~62 completed runs: 32% > 10%
EXPIRED_RUNS = 20  # 32% > 25%
SLOW_RUNS = 12  # completed after SLOW_RUN_WAIT s: 19% > 5% of runs above 10 s -> p95 > 10 s
SLOW_RUN_WAIT = 11.0
NORMAL_RUNS = 10
DELAYED_REQUESTS = 5  # 1.5 s each on /api/health/live: > 1% of that route -> p99 > 1 s
DELAY_MS = 1500
# Healthy traffic afterwards: 450 approved runs take rejected/expired under 4% and slow runs
# under 3%; 2000 OK API GETs take the 5xx share under 3% (6x burn); 1000 fast health checks
# take the delayed share of /api/health/live under 1%.
DILUTION_RUNS = 450
DILUTION_GETS = 2000
DILUTION_LIVE = 1000

APP_BURST_ALERTS = (
    "HighHttpErrorRatio",
    "ApiErrorBudgetBurnFast",
    "ApiErrorBudgetBurnSlow",
    "HighMissionFailureRate",
    "HighMissionExpiryRate",
    "SlowMissionProcessing",
    "HighHttpLatencyP99",
)
STACK_ALERTS = ("AlertmanagerNotificationsFailing", "PrometheusNotificationsFailing")

# Alerts no real fault on this machine can make deliverable, and why (test 3 lists them).
NOT_TRIGGERABLE_LOCALLY = {
    "PrometheusNotConnectedToAlertmanagers": (
        "its condition is that Prometheus has had no Alertmanager for 5 minutes "
        "(max_over_time [5m]), so the same Prometheus cannot deliver it to any receiver; with "
        "static targets the discovered count never drops below 1"
    ),
}

# A rule that fails at every evaluation: `up` has several series, so one-to-one matching on no
# labels finds duplicates ("many-to-many matching not allowed").
BROKEN_RULE_NAME = "broken.rules.yml"
BROKEN_RULE_GROUP = "gameday-broken-rule"
BROKEN_RULE_FILE = f"""groups:
  - name: {BROKEN_RULE_GROUP}
    rules:
      - record: gameday:broken:many_to_many
        expr: up * on() up
"""


@dataclass
class FaultRecord:
    alert: str
    how: str
    started: float | None = None
    stopped: float | None = None


@dataclass
class GameDay:
    target: Target
    faults: dict[str, FaultRecord] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    phases: dict[str, threading.Event] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)
    t0: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "burst_fired",
            "diluted",
            "panels_checked",
            "app_down_done",
            "stack_done",
            "rules_done",
            "done",
        ):
            self.phases[name] = threading.Event()
        self.prom = self.target.prom
        assert self.target.receiver is not None, self.target.gameday_unsupported
        self.receiver: ReceiverClient = self.target.receiver

    # -- helpers ---------------------------------------------------------------------------------
    def _fault(self, alert: str, how: str) -> FaultRecord:
        rec = self.faults.setdefault(alert, FaultRecord(alert, how))
        rec.started = time.time()
        return rec

    def _stop(self, *alerts: str) -> None:
        now = time.time()
        for alert in alerts:
            self.faults[alert].stopped = now

    def wait_phase(self, name: str, timeout: float) -> bool:
        return self.phases[name].wait(timeout)

    def fired(self, alert: str, since: float) -> bool:
        return self.all_notified([alert], "firing", since)

    def resolved(self, alert: str, since: float) -> bool:
        return self.all_notified([alert], "resolved", since)

    def all_notified(self, alerts: Iterable[str], status: str, since: float | None = None) -> bool:
        """Every alert has a notification in this state since `since` (default: its fault's
        stop for "resolved"). One request to the receiver for all of them."""
        alerts = list(alerts)
        starts = {
            a: since if since is not None else (self.faults[a].stopped or 0.0) for a in alerts
        }
        notes = self.receiver.notifications(min(starts.values(), default=0.0))
        return all(find_alerts(notes, a, status, since=starts[a]) for a in alerts)

    def _guard(self, fn: Callable[[], None], name: str) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Exception:
                self.errors.append(f"{name}: {traceback.format_exc()}")
            finally:
                if name == "app":
                    for phase in ("burst_fired", "diluted", "app_down_done"):
                        self.phases[phase].set()
                else:
                    self.phases[f"{name}_done"].set()
                if all(
                    self.phases[p].is_set() for p in ("app_down_done", "stack_done", "rules_done")
                ):
                    self.phases["done"].set()

        return run

    def start(self) -> GameDay:
        self.t0 = time.time()
        for name, fn in (
            ("stack", self._stack_faults),
            ("app", self._app_faults),
            ("rules", self._rule_failures),
        ):
            thread = threading.Thread(target=self._guard(fn, name), name=f"gameday-{name}")
            thread.daemon = True
            thread.start()
            self.threads.append(thread)
        return self

    def join(self, timeout: float) -> None:
        self.phases["done"].wait(timeout)

    # -- stack faults ----------------------------------------------------------------------------
    def _stack_faults(self) -> None:
        rec = self._fault(
            "AlertmanagerNotificationsFailing", "webhook receiver answers 500 to 'heartbeat'"
        )
        # Only the heartbeat receiver fails (Watchdog repeats every 2s), so the alert about the
        # failures can still reach chat. Failing until Prometheus fires it (for = 6s scaled).
        self.receiver.fail_with(500, receivers={"heartbeat"})
        try:
            poll(lambda: self.prom.alert_state(rec.alert) == "firing", timeout=180)
        finally:
            self.receiver.fail_with(None)
        self._stop(rec.alert)

        rec = self._fault("PrometheusNotificationsFailing", "Alertmanager stopped")
        self.target.stop("alertmanager")
        try:
            # Down until Prometheus fires the alert; it is delivered once Alertmanager is back.
            poll(lambda: self.prom.alert_state(rec.alert) == "firing", timeout=180)
        finally:
            self.target.start("alertmanager")
        self._stop(rec.alert)
        # The failures stay in the [5m] windows: wait (in this thread) for the resolutions.
        poll(lambda: self.all_notified(STACK_ALERTS, "resolved"), timeout=420, interval=1)

    # -- a failing rule ----------------------------------------------------------------------------
    def _rule_failures(self) -> None:
        """PrometheusRuleEvaluationFailures: load one extra, broken rule group, then remove it.

        The broken rule file goes into the game-day rules directory that prometheus.yml loads by
        a glob (locally a directory, in an e2e test stack a ConfigMap), followed by a live reload
        (POST /-/reload); the shipped rule files stay untouched. It is removed as soon as the
        alert fires. The failures stay in increase(...[5m]), so it resolves ~5 min later.
        """
        rec = self._fault("PrometheusRuleEvaluationFailures", "an extra, broken rule group loaded")
        self.target.write_gameday_rules(BROKEN_RULE_NAME, BROKEN_RULE_FILE)
        try:
            self.target.reload_rules(BROKEN_RULE_GROUP, present=True)
            poll(lambda: self.prom.alert_state(rec.alert) == "firing", timeout=180)
        finally:
            self.target.write_gameday_rules(BROKEN_RULE_NAME, None)
            self.target.reload_rules(BROKEN_RULE_GROUP, present=False)
        self._stop(rec.alert)
        poll(lambda: self.resolved(rec.alert, rec.stopped or 0), timeout=420, interval=1)

    # -- app faults ------------------------------------------------------------------------------
    def _app_faults(self) -> None:
        traffic = Traffic(self.target.app_url, concurrency=16)
        try:
            self._burst(traffic)
            self.phases["burst_fired"].set()
            self._dilute(traffic)
            self.phases["diluted"].set()
            # The panel test queries the app's series before the restart makes them stale.
            self.phases["panels_checked"].wait(120)
            self._app_down()
        finally:
            traffic.close()

    def _burst(self, traffic: Traffic) -> None:
        normal = traffic.create_mission("it-normal", 3600)
        slow = traffic.create_mission("it-slow", 600)
        expiring = traffic.create_mission("it-expiring", 1)
        err = {"X-Fault-Inject": "error"}
        delay = {"X-Fault-Inject": f"delay-ms={DELAY_MS}"}
        # Prime every labelled series first: a counter series is only seen from its first scrape,
        # so increments made before that scrape are invisible to rate(). One of each, then two
        # scrape intervals, then the burst.
        traffic.get("/api/missions", err)
        traffic.run(normal, FAR_AWAY)
        traffic.start_run(expiring)
        traffic.get("/api/health/live", {"X-Fault-Inject": "delay-ms=1"})
        time.sleep(2.5)
        for alert in APP_BURST_ALERTS:
            self._fault(alert, "bad traffic burst")
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs: list[Future[Any]] = [
                pool.submit(
                    traffic.many,
                    SLOW_RUNS,
                    lambda: traffic.run(slow, wait=SLOW_RUN_WAIT),
                    SLOW_RUNS,
                ),
                pool.submit(
                    traffic.gets, DELAYED_REQUESTS, "/api/health/live", delay, DELAYED_REQUESTS
                ),
                pool.submit(self._quick_bad, traffic, normal, expiring, err),
            ]
            for job in jobs:
                job.result()
        poll(lambda: self.all_notified(APP_BURST_ALERTS, "firing", self.t0), timeout=180)

    @staticmethod
    def _quick_bad(traffic: Traffic, normal: int, expiring: int, err: dict[str, str]) -> None:
        traffic.gets(INJECTED_ERRORS, "/api/missions", err)
        traffic.gets(INJECTED_ERRORS, "/api/missions")
        traffic.many(REJECTED_RUNS, lambda: traffic.run(normal, FAR_AWAY))
        traffic.many(EXPIRED_RUNS, lambda: traffic.start_run(expiring))
        traffic.many(NORMAL_RUNS, lambda: traffic.run(normal))

    def _dilute(self, traffic: Traffic) -> None:
        self._stop(*APP_BURST_ALERTS)
        normal = traffic.create_mission("it-dilution", 3600)
        traffic.many(DILUTION_RUNS, lambda: traffic.run(normal))
        traffic.gets(DILUTION_GETS, "/api/missions")
        traffic.gets(DILUTION_LIVE, "/api/health/live")

        poll(lambda: self.all_notified(APP_BURST_ALERTS, "resolved"), timeout=180, interval=0.5)

    def _app_down(self) -> None:
        rec = self._fault("MissionAppDown", "app stopped")
        self.target.stop("app")
        try:
            poll(lambda: self.fired("MissionAppDown", rec.started or 0), timeout=60)
        finally:
            self.target.start("app")
        self._stop("MissionAppDown")
        poll(lambda: self.resolved("MissionAppDown", rec.stopped or 0), timeout=60)
        self._trace_backend_down()

    def _trace_backend_down(self) -> None:
        """StackTargetDown: the trace backend's scrape fails (job "traces").

        Locally the OTLP receiver standing in for it is stopped; in a cluster its Service port
        points at a closed port, since a backend scaled to zero would vanish from discovery
        instead of failing its scrape. Last, with no traffic running.
        """
        rec = self._fault("StackTargetDown", "trace backend's scrape fails")
        self.target.break_scrape("traces")
        try:
            poll(lambda: self.fired(rec.alert, rec.started or 0), timeout=60)
        finally:
            self.target.restore_scrape("traces")
        self._stop(rec.alert)
        poll(lambda: self.resolved(rec.alert, rec.stopped or 0), timeout=60)
