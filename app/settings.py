"""AppSettings: every knob of the mission service, read from environment variables.

Names are the plain upper-case env vars (DATABASE_URL, LOG_LEVEL, ...) and the standard OTEL_* ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AppSettings(BaseSettings):
    """Configuration of one app instance (env vars are matched case-insensitively)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///./mission_app.db"
    log_level: str = "INFO"
    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=0, le=65535)
    # Off only for the overhead benchmark: disables tracing and the HTTP metrics middleware.
    observability_enabled: bool = True
    # Game-day tool: honour the X-Fault-Inject request header. Never on by default.
    fault_injection_enabled: bool = False
    run_sweep_interval_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=16 * 1024, gt=0)
    seed_missions: bool = True
    access_log: bool = True
    # Benchmark only: keep the ASGI instrumentation's per-message receive/send spans (normally
    # excluded: they double the span count for no diagnostic value).
    trace_asgi_messages: bool = False

    # Standard OpenTelemetry variables (the SDK also reads OTEL_TRACES_SAMPLER[_ARG] and
    # OTEL_RESOURCE_ATTRIBUTES itself).
    otel_service_name: str = "mission-app"
    otel_traces_exporter: Literal["otlp", "console", "none"] = "otlp"
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_protocol: Literal["grpc", "http/protobuf"] = "http/protobuf"
    # Seconds; kept short so a dead collector never holds the exporter thread (or shutdown) long.
    otel_exporter_otlp_timeout: float = Field(default=2.0, gt=0)
