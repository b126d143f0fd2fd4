"""GuardMiddleware: body size limit (413), game-day fault injection, and the last-resort 500.

It runs for every request whether observability is on or off. Unexpected exceptions become a JSON
500 without a traceback (the traceback goes to the log), so no input ever shows a stack trace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import log_event
from app.observability.tracing import record_exception

log = logging.getLogger("app.errors")
FAULT_HEADER = b"x-fault-inject"
_DELAY_RE = re.compile(r"^delay-ms=(\d{1,6})$")
MAX_FAULT_DELAY_MS = 60_000


class BodyTooLarge(Exception):
    pass


async def send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, fault_injection: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.fault_injection = fault_injection

    def _too_large_body(self) -> dict[str, object]:
        return {
            "error": "payload_too_large",
            "message": f"request body exceeds the limit of {self.max_body_bytes} bytes",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault: str | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body_bytes:
                        await send_json(send, 413, self._too_large_body())
                        return
                except ValueError:
                    await send_json(
                        send, 400, {"error": "bad_request", "message": "invalid Content-Length"}
                    )
                    return
            elif name == FAULT_HEADER and self.fault_injection:
                fault = value.decode("latin-1").strip().lower()

        if fault is not None:
            if fault == "error":
                log_event(log, logging.WARNING, "fault_injection.error", path=scope.get("path"))
                await send_json(
                    send,
                    500,
                    {"error": "injected_fault", "message": "fault injected by X-Fault-Inject"},
                )
                return
            m = _DELAY_RE.match(fault)
            if m:
                await asyncio.sleep(min(int(m.group(1)), MAX_FAULT_DELAY_MS) / 1000)

        received = 0
        responded = False  # True once this middleware answered 413 itself

        async def limited_receive() -> Message:
            # Chunked bodies carry no Content-Length: count what actually arrives. FastAPI turns
            # any error while reading the body into a 400, so answer 413 here, before raising, and
            # drop whatever the app tries to send afterwards.
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not started:
                    responded = True
                    await send_json(send, 413, self._too_large_body())
                    raise BodyTooLarge()
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if responded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            pass
        except Exception as exc:
            record_exception(exc)
            log.error(
                "http.unhandled_exception",
                exc_info=exc,
                extra={"fields": {"path": scope.get("path"), "method": scope.get("method")}},
            )
            if started:
                raise
            await send_json(
                send, 500, {"error": "internal_error", "message": "internal server error"}
            )
