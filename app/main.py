"""The app factory: create_app(settings) wires database, routes, errors and observability."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import create_schema, make_engine, make_session_factory
from app.domain import missions
from app.domain.context import Instruments
from app.domain.errors import DomainError
from app.domain.models import Wallet
from app.domain.runs import expire_stale
from app.guard import GuardMiddleware
from app.observability import tracing
from app.observability.logging import configure_logging, log_event
from app.observability.metrics import AppMetrics, HttpMetricsMiddleware
from app.routes import health
from app.routes import missions as missions_routes
from app.routes import runs as runs_routes
from app.routes import wallet as wallet_routes
from app.settings import AppSettings

log = logging.getLogger("app")


def _describe_validation_error(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "json_invalid":
        return "malformed JSON body: " + str(err.get("ctx", {}).get("error", "decode error"))
    return f"{loc}: {err.get('msg', 'invalid value')}"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        details = [
            {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
            for e in errors
        ]
        message = "; ".join(_describe_validation_error(e) for e in errors) or "invalid request"
        return JSONResponse(
            status_code=422,
            content=jsonable_encoder(
                {"error": "validation_error", "message": message, "details": details}
            ),
        )

    @app.exception_handler(DomainError)
    async def _domain(_req: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status, content={"error": exc.code, "message": exc.message}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": code, "message": str(exc.detail)},
            headers=getattr(exc, "headers", None),
        )


async def _sweep_loop(app: FastAPI, interval: float) -> None:
    """Periodically expire pending runs past their time limit (runs left without a GPS fix)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(app.state.sweep_once)
        except Exception:
            log.exception("mission_run.sweep.failed")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_loop(app, app.state.settings.run_sweep_interval_seconds))
    log_event(
        log, logging.INFO, "app.started", observability=app.state.settings.observability_enabled
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.shutdown()


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """Build one independent app instance (own engine, metrics registry and tracer provider)."""
    settings = settings or AppSettings()
    configure_logging(settings.log_level)

    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    create_schema(engine)
    if settings.seed_missions:
        with session_factory() as session:
            if missions.seed_if_empty(session):
                session.commit()

    def read_wallet_total() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(Wallet.balance), 0))) or 0)

    metrics = AppMetrics(read_wallet_total)
    provider = tracing.make_tracer_provider(settings) if settings.observability_enabled else None
    tracer: Tracer = provider.get_tracer(tracing.TRACER_NAME) if provider else NoOpTracer()
    instruments = Instruments(tracer=tracer, metrics=metrics)

    app = FastAPI(title="Mission service", version="0.1.0", lifespan=_lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.metrics = metrics
    app.state.tracer_provider = provider
    app.state.instruments = instruments

    def sweep_once() -> int:
        with session_factory() as session:
            return expire_stale(session, instruments)

    def shutdown() -> None:
        tracing.shutdown_provider(provider)
        engine.dispose()

    app.state.sweep_once = sweep_once
    app.state.shutdown = shutdown

    routers = [health.router, missions_routes.router, runs_routes.router, wallet_routes.router]
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)

    # add_middleware prepends: the last added is the outermost. Metrics must be outside the guard
    # (to see its 413/500 answers) and inside the OpenTelemetry span (for exemplars).
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        fault_injection=settings.fault_injection_enabled,
    )
    if settings.observability_enabled:
        app.add_middleware(
            HttpMetricsMiddleware,
            metrics=metrics,
            routes=[r for router in routers for r in router.routes],
        )
        if provider is not None:
            tracing.instrument_app(app, provider, settings.trace_asgi_messages)
            tracing.instrument_engine(engine, provider)
    return app
