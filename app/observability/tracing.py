"""OpenTelemetry tracing: one TracerProvider per app, configured from the standard OTEL_* settings.

Spans leave through a BatchSpanProcessor (off the request path) with a short export timeout, so a
dead collector neither slows requests nor holds up shutdown for long. The provider is not installed
globally: several apps (tests) can live in one process, each with its own provider.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from sqlalchemy import Engine

from app.settings import AppSettings

log = logging.getLogger("app.tracing")
TRACER_NAME = "app"


def _otlp_exporter(settings: AppSettings) -> SpanExporter:
    timeout = settings.otel_exporter_otlp_timeout
    if settings.otel_exporter_otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        endpoint = (
            settings.otel_exporter_otlp_traces_endpoint
            or settings.otel_exporter_otlp_endpoint
            or "http://localhost:4317"
        )
        return GrpcExporter(
            endpoint=endpoint, insecure=endpoint.startswith("http://"), timeout=timeout
        )

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    if settings.otel_exporter_otlp_traces_endpoint:
        endpoint = settings.otel_exporter_otlp_traces_endpoint
    else:
        base = settings.otel_exporter_otlp_endpoint or "http://localhost:4318"
        endpoint = base.rstrip("/") + "/v1/traces"
    return HttpExporter(endpoint=endpoint, timeout=timeout)


def make_tracer_provider(settings: AppSettings) -> TracerProvider:
    """Provider with service.name and the exporter named by OTEL_TRACES_EXPORTER."""
    # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES; the sampler comes from
    # OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (read by the SDK).
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name})
    )
    exporter: SpanExporter | None = None
    if settings.otel_traces_exporter == "otlp":
        exporter = _otlp_exporter(settings)
    elif settings.otel_traces_exporter == "console":
        exporter = ConsoleSpanExporter()
    if exporter is not None:
        # Queue size, batch size and schedule delay come from the standard OTEL_BSP_* variables
        # (SDK defaults otherwise); the export timeout is ours so a dead collector stays cheap.
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                export_timeout_millis=int(settings.otel_exporter_otlp_timeout * 1000),
            )
        )
    return provider


def _span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Initial server span name: just the method. It gets its route template after routing
    (see name_server_span), which avoids re-matching every route per request as the FastAPI
    instrumentor's span-name lookup does (measured: the largest part of its overhead)."""
    return str(scope.get("method", "HTTP")), {}


def instrument_app(app: FastAPI, provider: TracerProvider, asgi_messages: bool = False) -> None:
    """Server spans from OpenTelemetry's ASGI middleware (what FastAPIInstrumentor wraps), as the
    outermost user middleware, without the per-message receive/send child spans."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls="/api/health/live",
        default_span_details=_span_details,
        tracer_provider=provider,
        meter_provider=NoOpMeterProvider(),
        exclude_spans=None if asgi_messages else ["receive", "send"],
    )


def name_server_span(method: str, route_template: str | None) -> None:
    """Give the current server span its final name "GET /api/missions/{mission_id}"."""
    span = trace.get_current_span()
    if route_template and span.is_recording():
        span.update_name(f"{method} {route_template}")
        span.set_attribute("http.route", route_template)


def record_exception(exc: BaseException) -> None:
    """Mark the current span failed with the exception (the guard answers the 500 itself)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def instrument_engine(engine: Engine, provider: TracerProvider) -> Any:
    """SQLAlchemy spans for this engine only (the instrumentor singleton would patch globally)."""
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__, provider)
    usage = (
        NoOpMeterProvider()
        .get_meter("sqlalchemy")
        .create_up_down_counter("db.client.connections.usage")
    )
    return EngineTracer(tracer, engine, usage)


def shutdown_provider(provider: TracerProvider | None) -> None:
    """Flush and stop exporting; bounded by the export timeout even with a dead endpoint."""
    if provider is None:
        return
    try:
        provider.shutdown()
    except Exception:
        log.exception("tracing.shutdown.failed")
