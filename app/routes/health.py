"""Liveness, readiness (checks the database) and the Prometheus metrics endpoint."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.observability.logging import log_event

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger("app.health")


@router.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
def ready(request: Request) -> Response:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log_event(log, logging.WARNING, "health.ready.database_unavailable", error=str(exc))
        return JSONResponse(
            {"status": "unavailable", "error": "database_unavailable", "message": str(exc)[:200]},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render(request.headers.get("accept"))
    return Response(content=body, media_type=None, headers={"Content-Type": content_type})
