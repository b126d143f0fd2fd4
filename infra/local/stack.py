"""LocalStack: the whole observability stack as local processes (make up, integration tests).

Config comes from the same renderers the Pulumi program uses (infra.config_files); what differs
from a cluster is passed as parameters, all of them in `LocalStackOptions` and `local_params`:
static scrape targets instead of Kubernetes discovery, shorter scrape/evaluation intervals,
`for` durations scaled by `for_scale`, shorter Alertmanager group timings, and absolute URLs of
this machine's Grafana/runbooks. Nothing here writes a config file by hand.

Components: the app (`python -m app`, SQLite in the data dir), Prometheus, Alertmanager, the
webhook receiver (in this process), Tempo if on PATH else the OTLP test receiver (in this
process), Grafana if on PATH, and the traffic simulator.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import config_files as cf
from infra.fast_timings import FAST, GAMEDAY_RULES_GLOB
from infra.local.otlp_receiver import OtlpReceiver
from infra.local.processes import ManagedProcess, Supervisor, find_binary, free_port, http_ok
from infra.local.webhook_receiver import Notification, WebhookReceiver

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS_PATH = REPO_ROOT / "alerts" / "runbooks.md"


@dataclass
class LocalStackOptions:
    """Every parameter by which the local stack differs from a cluster (see module docstring)."""

    data_dir: Path = REPO_ROOT / ".local-stack"
    # Ports: 0 picks a free port (tests); make up uses DESIGN.md's defaults.
    app_port: int = 0
    prometheus_port: int = 0
    alertmanager_port: int = 0
    receiver_port: int = 0
    otlp_http_port: int = 0
    otlp_grpc_port: int = 0
    grafana_port: int = 0
    tempo_port: int = 0
    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    # Multiplies every alert `for` (never below the evaluation interval). Documented factor.
    for_scale: float = 1.0
    group_wait: str = "5s"
    group_interval: str = "10s"
    repeat_interval: str = "1h"
    heartbeat_repeat_interval: str = "1m"
    resolve_timeout: str = "5m"
    fault_injection: bool = True
    run_sweep_interval_seconds: float = 5.0
    # Traffic simulator: scenario run continuously by start() (None: do not start it).
    loadgen_scenario: str | None = "normal"
    loadgen_users: int = 5
    use_tempo: bool = True  # when the binary is on PATH
    use_grafana: bool = True  # when the binary is on PATH
    otlp_protocol: str = "http/protobuf"
    print_notifications: bool = False
    # Resend firing alerts every few seconds (Prometheus' default is 1m), so alerts evaluated
    # before Alertmanager was discovered (dropped at every start) and an Alertmanager that
    # restarts learn the active alerts at once instead of a minute later.
    alert_resend_delay: str = "5s"
    extra_app_env: dict[str, str] = field(default_factory=dict)
    # Also load <data_dir>/prometheus/gameday/*.yml (empty; a game day adds a broken rule group).
    gameday_rules: bool = False

    @classmethod
    def for_make_up(cls, data_dir: Path, fast: bool = False) -> LocalStackOptions:
        """DESIGN.md's default ports; --fast uses the integration tests' timings."""
        opts = fast_options(data_dir) if fast else cls(data_dir=data_dir)
        opts.app_port, opts.prometheus_port, opts.alertmanager_port = 8000, 9090, 9093
        opts.grafana_port, opts.tempo_port = 3000, 3200
        opts.otlp_http_port, opts.otlp_grpc_port = 4318, 4317
        opts.receiver_port = 9095 if not fast else 0
        opts.print_notifications = True
        return opts


def fast_options(data_dir: Path, **overrides: Any) -> LocalStackOptions:
    """The integration tests' timings (infra.fast_timings.FAST, shared with e2e test stacks)."""
    opts = LocalStackOptions(
        data_dir=data_dir,
        scrape_interval=FAST.scrape_interval,
        evaluation_interval=FAST.evaluation_interval,
        for_scale=FAST.for_scale,
        group_wait=FAST.group_wait,
        group_interval=FAST.group_interval,
        repeat_interval=FAST.repeat_interval,
        heartbeat_repeat_interval=FAST.heartbeat_repeat_interval,
        run_sweep_interval_seconds=FAST.run_sweep_interval_seconds,
        loadgen_scenario=None,
        alert_resend_delay=FAST.alert_resend_delay,
        gameday_rules=True,
    )
    for key, value in overrides.items():
        setattr(opts, key, value)
    return opts


def _pick(port: int) -> int:
    return port or free_port()


class LocalStack:
    """Start/stop the stack; exposes endpoints and the rendered files."""

    def __init__(self, options: LocalStackOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.supervisor = Supervisor()
        self.receiver = WebhookReceiver(
            port=options.receiver_port,
            on_notification=_print_note if options.print_notifications else None,
        )
        self.tempo_binary = find_binary("tempo") if options.use_tempo else None
        self.grafana_binary = find_binary("grafana") if options.use_grafana else None
        self.otlp: OtlpReceiver | None = None
        if self.tempo_binary is None:
            self.otlp = OtlpReceiver(
                http_port=options.otlp_http_port, grpc_port=options.otlp_grpc_port
            )
        self.app_port = _pick(options.app_port)
        self.prometheus_port = _pick(options.prometheus_port)
        self.alertmanager_port = _pick(options.alertmanager_port)
        self.grafana_port = _pick(options.grafana_port) if self.grafana_binary else 0
        self.tempo_port = _pick(options.tempo_port) if self.tempo_binary else 0
        self.tempo_otlp_http_port = _pick(options.otlp_http_port) if self.tempo_binary else 0
        self.tempo_otlp_grpc_port = _pick(options.otlp_grpc_port) if self.tempo_binary else 0
        self.rendered: dict[str, str] = {}  # relative path in data_dir -> text it ran with
        self.notes: list[str] = []  # one line per absent optional component

    # -- endpoints -------------------------------------------------------------------------------
    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def grafana_url(self) -> str:
        # Also used for the alerts' dashboard links, which must be absolute even without Grafana.
        return f"http://127.0.0.1:{self.grafana_port or self.options.grafana_port or 3000}"

    @property
    def tempo_url(self) -> str:
        return f"http://127.0.0.1:{self.tempo_port}" if self.tempo_binary else ""

    @property
    def otlp_endpoint(self) -> str:
        """What the app's OTEL_EXPORTER_OTLP_ENDPOINT is set to."""
        grpc = self.options.otlp_protocol == "grpc"
        if self.tempo_binary:
            port = self.tempo_otlp_grpc_port if grpc else self.tempo_otlp_http_port
            return f"http://127.0.0.1:{port}"
        assert self.otlp is not None
        return self.otlp.grpc_endpoint if grpc else self.otlp.http_endpoint

    @property
    def runbook_base_url(self) -> str:
        return RUNBOOKS_PATH.parent.parent.as_uri()

    def path(self, *parts: str) -> Path:
        return self.data_dir.joinpath(*parts)

    @property
    def app_log_path(self) -> Path:
        return self.path("logs", "app.log")

    @property
    def gameday_rules_dir(self) -> Path:
        return self.path("prometheus", "gameday")

    @property
    def loadgen_log_path(self) -> Path:
        return self.path("logs", "loadgen.log")

    # -- rendering -------------------------------------------------------------------------------
    def prometheus_params(self) -> cf.PrometheusConfig:
        rules = sorted(self.rendered_rule_names())
        static: dict[str, list[str]] = {
            "mission-app": [f"127.0.0.1:{self.app_port}"],
            "prometheus": [f"127.0.0.1:{self.prometheus_port}"],
            "alertmanager": [f"127.0.0.1:{self.alertmanager_port}"],
        }
        if self.tempo_binary:
            static["traces"] = [f"127.0.0.1:{self.tempo_port}"]
        elif self.otlp is not None:
            # The OTLP receiver stands in for the trace backend, /metrics included.
            static["traces"] = [f"127.0.0.1:{self.otlp.http_port}"]
        if self.grafana_binary:
            static["grafana"] = [f"127.0.0.1:{self.grafana_port}"]
        rule_files = [str(self.path("prometheus", "rules", name)) for name in rules]
        if self.options.gameday_rules:
            rule_files.append(str(self.gameday_rules_dir / GAMEDAY_RULES_GLOB))
        return cf.PrometheusConfig(
            scrape_interval=self.options.scrape_interval,
            evaluation_interval=self.options.evaluation_interval,
            rule_files=rule_files,
            alertmanager_targets=[f"127.0.0.1:{self.alertmanager_port}"],
            static_targets=static,
        )

    def alertmanager_params(self) -> cf.AlertmanagerConfig:
        o = self.options
        return cf.AlertmanagerConfig(
            group_wait=o.group_wait,
            group_interval=o.group_interval,
            repeat_interval=o.repeat_interval,
            heartbeat_repeat_interval=o.heartbeat_repeat_interval,
            resolve_timeout=o.resolve_timeout,
            receiver_webhook_urls={name: self.receiver.receiver_url(name) for name in cf.RECEIVERS},
        )

    def rendered_rule_names(self) -> list[str]:
        return [p.name for p in cf.source_rule_paths()]

    def render(self) -> dict[str, str]:
        """Render every config file with this stack's parameters and write it into data_dir."""
        o = self.options
        files: dict[str, str] = {}
        rules = cf.rule_files(
            for_scale=o.for_scale,
            grafana_url=self.grafana_url,
            runbook_base_url=self.runbook_base_url,
            min_for=o.evaluation_interval,
        )
        for name, text in rules.items():
            files[f"prometheus/rules/{name}"] = text
        files["prometheus/prometheus.yml"] = cf.prometheus_config(self.prometheus_params())
        files["alertmanager/alertmanager.yml"] = cf.alertmanager_config(self.alertmanager_params())
        if self.tempo_binary:
            files["tempo/tempo.yaml"] = cf.tempo_config(
                data_dir=str(self.path("tempo", "data")),
                http_port=self.tempo_port,
                grpc_port=free_port(),
                otlp_grpc_endpoint=f"127.0.0.1:{self.tempo_otlp_grpc_port}",
                otlp_http_endpoint=f"127.0.0.1:{self.tempo_otlp_http_port}",
                remote_write_url=f"{self.prometheus_url}/api/v1/write",
            )
        if self.grafana_binary:
            files["grafana/provisioning/datasources/datasources.yaml"] = cf.grafana_datasources(
                self.prometheus_url,
                self.tempo_url,
                self.alertmanager_url,
                scrape_interval=o.scrape_interval,
            )
            files["grafana/provisioning/dashboards/provider.yaml"] = cf.grafana_dashboard_provider(
                str(self.path("grafana", "dashboards"))
            )
            from dashboards import build_all

            for uid, dash in build_all().items():
                files[f"grafana/dashboards/{uid}.json"] = json.dumps(dash, indent=2, sort_keys=True)
        if o.gameday_rules:
            self.gameday_rules_dir.mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            target = self.path(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.rendered = files
        return files

    # -- processes -------------------------------------------------------------------------------
    def _proc(self, name: str, args: list[str], ready: str | None, **kw: Any) -> ManagedProcess:
        return ManagedProcess(name, args, self.path("logs", f"{name}.log"), ready_url=ready, **kw)

    def app_process(self) -> ManagedProcess:
        o = self.options
        env = {
            "HOST": "127.0.0.1",
            "PORT": str(self.app_port),
            "DATABASE_URL": f"sqlite:///{self.path('app', 'app.db')}",
            "LOG_LEVEL": "INFO",
            "FAULT_INJECTION_ENABLED": "true" if o.fault_injection else "false",
            "RUN_SWEEP_INTERVAL_SECONDS": str(o.run_sweep_interval_seconds),
            "OTEL_SERVICE_NAME": "mission-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": o.otlp_protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_endpoint,
            # Every request sampled, so every exemplar's trace id has spans to be found.
            "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "PYTHONUNBUFFERED": "1",
            **o.extra_app_env,
        }
        self.path("app").mkdir(parents=True, exist_ok=True)
        return self._proc(
            "app",
            [sys.executable, "-m", "app"],
            f"{self.app_url}/api/health/ready",
            env=env,
            cwd=REPO_ROOT,
        )

    def prometheus_process(self) -> ManagedProcess:
        args = cf.prometheus_args(
            str(self.path("prometheus", "prometheus.yml")),
            str(self.path("prometheus", "data")),
            listen_address=f"127.0.0.1:{self.prometheus_port}",
            retention_time="2d",
            enable_lifecycle=True,
            alert_resend_delay=self.options.alert_resend_delay,
        )
        binary = _require("prometheus")
        return self._proc("prometheus", [binary, *args], f"{self.prometheus_url}/-/ready")

    def alertmanager_process(self) -> ManagedProcess:
        args = cf.alertmanager_args(
            str(self.path("alertmanager", "alertmanager.yml")),
            str(self.path("alertmanager", "data")),
            listen_address=f"127.0.0.1:{self.alertmanager_port}",
        )
        binary = _require("alertmanager")
        return self._proc("alertmanager", [binary, *args], f"{self.alertmanager_url}/-/ready")

    def tempo_process(self) -> ManagedProcess:
        assert self.tempo_binary
        args = [self.tempo_binary, f"-config.file={self.path('tempo', 'tempo.yaml')}"]
        return self._proc("tempo", args, f"{self.tempo_url}/ready")

    def grafana_process(self) -> ManagedProcess:
        assert self.grafana_binary
        env = {
            "GF_SERVER_HTTP_ADDR": "127.0.0.1",
            "GF_SERVER_HTTP_PORT": str(self.grafana_port),
            "GF_PATHS_DATA": str(self.path("grafana", "data")),
            "GF_PATHS_LOGS": str(self.path("grafana", "logs")),
            "GF_PATHS_PROVISIONING": str(self.path("grafana", "provisioning")),
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
        }
        args = [self.grafana_binary]
        if Path(self.grafana_binary).name == "grafana":
            args.append("server")
        homepath = Path("/usr/share/grafana")
        if homepath.is_dir():
            args.append(f"--homepath={homepath}")
        return self._proc("grafana", args, f"{self.grafana_url}/api/health", env=env)

    def loadgen_process(self, scenario: str, duration: float, users: int) -> ManagedProcess:
        args = [
            sys.executable,
            "-m",
            "app.loadgen",
            "--base-url",
            self.app_url,
            "--scenario",
            scenario,
            "--duration",
            str(duration),
            "--users",
            str(users),
        ]
        return ManagedProcess(
            f"loadgen-{scenario}",
            args,
            self.path("logs", f"loadgen-{scenario}.log"),
            cwd=REPO_ROOT,
            env={"PYTHONUNBUFFERED": "1"},
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, wipe: bool = False) -> LocalStack:
        if wipe and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.path("logs").mkdir(parents=True, exist_ok=True)
        try:
            self.receiver.start()
            if self.otlp is not None:
                self.otlp.start()
                self.notes.append(
                    f"tempo not on PATH: traces go to the built-in OTLP receiver at "
                    f"{self.otlp.http_endpoint} (HTTP) / {self.otlp.grpc_endpoint} (gRPC)"
                )
            self.render()
            sup = self.supervisor
            if self.tempo_binary:
                sup.start(self.tempo_process(), ready_timeout=60)
            sup.start(self.app_process(), ready_timeout=60)
            sup.start(self.alertmanager_process())
            sup.start(self.prometheus_process())
            if self.grafana_binary:
                sup.start(self.grafana_process(), ready_timeout=90)
            else:
                self.notes.append("grafana not on PATH: no Grafana (dashboards: make dashboards)")
            if self.options.loadgen_scenario:
                sup.add(
                    self.loadgen_process(
                        self.options.loadgen_scenario, 0, self.options.loadgen_users
                    )
                ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.otlp is not None:
            self.otlp.stop()
        self.receiver.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def process(self, name: str) -> ManagedProcess:
        return self.supervisor.get(name)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        proc = self.process(name)
        proc.stop()
        proc.start()
        proc.wait_ready(timeout=timeout)

    # -- status ----------------------------------------------------------------------------------
    def components(self) -> list[tuple[str, bool, str]]:
        """(name, up, URL) for every component, for the live status."""
        rows: list[tuple[str, bool, str]] = []
        for name, url, probe in (
            ("app", self.app_url, f"{self.app_url}/api/health/ready"),
            ("prometheus", self.prometheus_url, f"{self.prometheus_url}/-/ready"),
            ("alertmanager", self.alertmanager_url, f"{self.alertmanager_url}/-/ready"),
        ):
            rows.append((name, http_ok(probe, timeout=0.5), url))
        rows.append(("webhook-receiver", http_ok(self.receiver.url, 0.5), self.receiver.url))
        if self.tempo_binary:
            rows.append(("tempo", http_ok(f"{self.tempo_url}/ready", 0.5), self.tempo_url))
        elif self.otlp is not None:
            rows.append(("otlp-receiver", self.otlp.running, self.otlp.http_endpoint))
        if self.grafana_binary:
            up = http_ok(f"{self.grafana_url}/api/health", 0.5)
            rows.append(("grafana", up, self.grafana_url))
        return rows

    def loadgen_status(self) -> str:
        """The simulator's last progress line."""
        for proc in self.supervisor.processes.values():
            if proc.name.startswith("loadgen") and proc.running:
                lines = proc.log_tail(1).strip()
                return lines or "starting"
        return "not running"


def _require(component: str) -> str:
    from infra.local.processes import require_binary

    return require_binary(component)


def _print_note(note: Notification) -> None:
    print(f"notification {note.summary_line()}", flush=True)


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    """Poll predicate() until truthy; return its value (or the last falsy one after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
