"""The integration tests' fast timings, shared by the local stack and e2e test stacks.

The local test stack (infra.local.stack.fast_options) and a Pulumi stack deployed with
`e2eTestMode: true` (infra.settings) take their timings from FAST, so the game day in
tests/integration behaves the same against both. Alert expressions are never changed: only the
intervals, Alertmanager's group timings and every alert `for` (multiplied by for_scale, never
below the evaluation interval) differ from production.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FastTimings:
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"
    # 5m -> 3s, 10m -> 6s, 1h -> 36s (never below the 1s evaluation interval).
    for_scale: float = 0.01
    group_wait: str = "1s"
    group_interval: str = "1s"
    repeat_interval: str = "1h"
    # The heartbeat receiver hears Watchdog every 2s, so a failing heartbeat shows at once.
    heartbeat_repeat_interval: str = "2s"
    # Prometheus resends firing alerts every second: a restarted Alertmanager learns them at once.
    alert_resend_delay: str = "1s"
    # Runs left pending expire within a second of their deadline.
    run_sweep_interval_seconds: float = 1.0


FAST = FastTimings()
FAST_FOR_SCALE = FAST.for_scale

# Extra rule files a game day may add at run time (a broken rule group), loaded by a glob in
# prometheus.yml; empty in normal operation. Locally a directory in the data dir, in a cluster
# the `prometheus-gameday` ConfigMap mounted at this path.
GAMEDAY_RULES_DIR = "/etc/prometheus/gameday"
GAMEDAY_RULES_GLOB = "*.yml"
GAMEDAY_CONFIG_MAP = "prometheus-gameday"

# The in-stack webhook receiver of e2e test stacks (infra/local/webhook_receiver.py run as a pod).
E2E_RECEIVER_NAME = "e2e-receiver"
E2E_RECEIVER_PORT = 9095
