"""Prometheus metrics: the names of the metric contract, one registry per app instance.

Every recording method swallows its own errors (metrics must never break a request), and
histograms attach the current sampled span's trace id as an exemplar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry import trace
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.tracing import name_server_span

log = logging.getLogger("app.metrics")

RUN_DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300)
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNMATCHED_PATH = "unmatched"


def current_exemplar() -> dict[str, str] | None:
    """{"trace_id": <32 hex>} of the active span if it is sampled, else None."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid and ctx.trace_flags.sampled:
        return {"trace_id": format(ctx.trace_id, "032x")}
    return None


class WalletBalanceCollector(Collector):
    """wallet_balance: total outstanding balance, read from the database at scrape time.

    Reading the database (not a process-local counter) keeps the value right with several replicas.
    A failing database only drops this one sample; the rest of the scrape is served.
    """

    def __init__(self, read_total: Callable[[], int]) -> None:
        self._read_total = read_total

    def describe(self) -> Iterable[Metric]:
        # Describing without querying keeps registration free of database access.
        return [GaugeMetricFamily("wallet_balance", self._help())]

    @staticmethod
    def _help() -> str:
        return "Total outstanding balance of all wallets in points (read from the database)"

    def collect(self) -> Iterable[Metric]:
        try:
            total = self._read_total()
        except Exception as exc:
            log.warning("metrics.wallet_balance.failed", extra={"fields": {"error": str(exc)}})
            return []
        return [GaugeMetricFamily("wallet_balance", self._help(), value=float(total))]


class AppMetrics:
    """The metric contract's instruments, registered in a registry owned by this instance."""

    def __init__(self, read_wallet_total: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.run_started = Counter(
            "mission_run_started_total",
            "Mission runs started",
            ["status"],
            registry=self.registry,
        )
        self.run_completed = Counter(
            "mission_run_completed_total",
            "Mission runs completed, by final status",
            ["status"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "mission_run_duration_seconds",
            "Time from run start to completion",
            buckets=RUN_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.wallet_transactions = Counter(
            "wallet_transactions_total",
            "Wallet transactions, by type",
            ["type"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by route template, method and status code",
            ["path", "method", "status_code"],
            buckets=HTTP_DURATION_BUCKETS,
            registry=self.registry,
        )
        # Pre-create the label values so every series is exported (as 0) from the first scrape.
        self.run_started.labels("pending_gps")
        for status in ("approved", "rejected", "expired"):
            self.run_completed.labels(status)
        for kind in ("mission_reward", "withdrawal"):
            self.wallet_transactions.labels(kind)
        if read_wallet_total is not None:
            self.registry.register(WalletBalanceCollector(read_wallet_total))

    # --- recording: never raises -------------------------------------------------------------
    def run_started_inc(self) -> None:
        try:
            self.run_started.labels("pending_gps").inc()
        except Exception:
            log.exception("metrics.record.failed")

    def run_completed_observe(self, status: str, duration_s: float) -> None:
        try:
            self.run_completed.labels(status).inc()
            self.run_duration.observe(max(0.0, duration_s), exemplar=current_exemplar())
        except Exception:
            log.exception("metrics.record.failed")

    def wallet_transaction_inc(self, kind: str) -> None:
        try:
            self.wallet_transactions.labels(kind).inc()
        except Exception:
            log.exception("metrics.record.failed")

    def http_observe(self, path: str, method: str, status_code: int, duration_s: float) -> None:
        try:
            self.http_duration.labels(path, method.upper(), str(status_code)).observe(
                duration_s, exemplar=current_exemplar()
            )
        except Exception:
            log.exception("metrics.record.failed")

    # --- exposition -----------------------------------------------------------------------------
    def render(self, accept: str | None) -> tuple[bytes, str]:
        """Text format by default; OpenMetrics (with exemplars) when the Accept header asks."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def route_template(scope: Scope, routes: Sequence[BaseRoute] = ()) -> str:
    """The matched route's template; "unmatched" for paths no route knows.

    Requests answered before routing (413, injected faults) carry no scope["route"]; for those the
    routes are matched here so they are still labelled with their template.
    """
    route = scope.get("route")
    if route is None:
        for candidate in routes:
            match, child_scope = candidate.matches(scope)
            if match == Match.FULL:
                # FastAPI's included routers report the concrete route in the child scope.
                route = child_scope.get("route", candidate)
                break
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else UNMATCHED_PATH


class HttpMetricsMiddleware:
    """Pure ASGI middleware observing http_request_duration_seconds for every HTTP request.

    It sits inside the OpenTelemetry server span, so the observation's exemplar is that span's
    trace id. The route template is read after routing from scope["route"] (set by FastAPI).
    """

    def __init__(self, app: ASGIApp, metrics: AppMetrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        path: str | None = None
        method = scope.get("method", "GET")

        async def send_wrapper(message: Message) -> None:
            nonlocal status, path
            if message["type"] == "http.response.start":
                status = message["status"]
                # Routing is done by now; name the server span before the response ends it.
                path = route_template(scope, self.routes)
                if path != UNMATCHED_PATH:
                    try:
                        name_server_span(method, path)
                    except Exception:
                        log.exception("tracing.span_name.failed")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if path is None:
                path = route_template(scope, self.routes)
            self.metrics.http_observe(path, method, status, time.perf_counter() - start)


def metric_names(registry: Any) -> set[str]:
    """Names of every metric family a registry exposes (handy for tests and checks)."""
    return {m.name for m in registry.collect()}
