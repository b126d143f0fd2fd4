"""JSON logs: one object per line on stdout with timestamp, level, message, trace_id, span_id.

Context fields are passed as `extra={"fields": {...}}` (see `log_event`). The trace and span ids
are stamped onto every record when it is created (a LogRecord factory), i.e. in the context of the
code that logs, so they match the span that was active at that moment.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_FACTORY_INSTALLED = False
_HANDLER_NAME = "app-json-stdout"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _install_record_factory() -> None:
    global _FACTORY_INSTALLED
    if _FACTORY_INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        else:
            record.trace_id = None
            record.span_id = None
        return record

    logging.setLogRecordFactory(factory)
    _FACTORY_INSTALLED = True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newlines inside, tracebacks as a string field)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "logger": record.name,
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at emit time (test capture swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Route the app's and uvicorn's loggers to one JSON handler on stdout (idempotent)."""
    _install_record_factory()
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = StdoutHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers.clear()  # uvicorn installs its own plain-text handlers
        lg.propagate = True
        lg.setLevel(level.upper())


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging dictConfig for uvicorn.run that uses the JSON formatter for its own loggers."""
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "app.observability.logging.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl, "propagate": True},
            "uvicorn.access": {"handlers": ["stdout"], "level": lvl, "propagate": False},
        },
    }


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log an event name (the JSON `message`) with context fields at the top level of the line."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"fields": fields})
