"""A small Alertmanager webhook receiver for `make up` and the integration tests.

Alertmanager posts version-4 webhook payloads to http://HOST:PORT/<receiver name> (pager, chat,
heartbeat, default: the receiver names of the rendered alertmanager.yml). Every payload is kept
in memory with its receiver path and arrival time, optionally printed as one line, and the server
can be switched to answer 500 so that Alertmanager's notifications fail on purpose.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RECEIVER_NAMES = ("pager", "chat", "heartbeat", "default")


@dataclass
class Notification:
    """One webhook POST as received."""

    receiver_path: str  # the URL path without the slash: which Alertmanager receiver sent it
    payload: dict[str, Any]
    received_at: float = field(default_factory=time.time)

    @property
    def status(self) -> str:
        return str(self.payload.get("status", ""))

    @property
    def alertnames(self) -> list[str]:
        return [str(a.get("labels", {}).get("alertname", "")) for a in self.alerts]

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.payload.get("alerts", []))

    def summary_line(self) -> str:
        firing = ",".join(sorted(set(self.alertnames)))
        return (
            f"[{time.strftime('%H:%M:%S', time.localtime(self.received_at))}] "
            f"{self.receiver_path:<9} {self.status:<8} {firing}"
        )


class WebhookReceiver:
    """ThreadingHTTPServer in a daemon thread; start()/stop(), notifications, fail switch."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_notification: Callable[[Notification], None] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._on_notification = on_notification
        self._lock = threading.Lock()
        self._notifications: list[Notification] = []
        self._fail_status: int | None = None
        self._fail_receivers: frozenset[str] | None = None
        self.failed_posts = 0  # POSTs answered with the failure status
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.strip("/").split("?")[0]
                fail = receiver._fail_status
                only = receiver._fail_receivers
                if fail is not None and (only is None or path in only):
                    with receiver._lock:
                        receiver.failed_posts += 1
                    self._answer(fail, b'{"error": "failing on purpose"}')
                    return
                try:
                    payload = json.loads(body or b"{}")
                except json.JSONDecodeError:
                    self._answer(400, b'{"error": "invalid JSON"}')
                    return
                note = Notification(path, payload)
                receiver._record(note)
                self._answer(200, b"{}")

            def do_GET(self) -> None:
                # A readiness probe and a tiny view for humans.
                with receiver._lock:
                    count = len(receiver._notifications)
                self._answer(200, json.dumps({"notifications": count}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per notification is printed by on_notification instead

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def receiver_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    # -- behaviour -----------------------------------------------------------------------------
    def fail_with(self, status: int | None = 500, receivers: Iterable[str] | None = None) -> None:
        """Answer POSTs with `status` (None: back to normal).

        receivers limits the failure to those receiver paths, so that an alert about failing
        notifications can still be delivered through another receiver.
        """
        self._fail_receivers = frozenset(receivers) if receivers is not None else None
        self._fail_status = status

    @property
    def failing(self) -> bool:
        return self._fail_status is not None

    def _record(self, note: Notification) -> None:
        with self._lock:
            self._notifications.append(note)
        if self._on_notification is not None:
            self._on_notification(note)

    # -- queries -------------------------------------------------------------------------------
    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._notifications)

    def clear(self) -> None:
        with self._lock:
            self._notifications.clear()

    def find(
        self,
        alertname: str,
        status: str = "firing",
        receiver: str | None = None,
        since: float = 0.0,
    ) -> list[tuple[Notification, dict[str, Any]]]:
        """(notification, alert) pairs for this alert name in this state, newest last."""
        found = []
        for note in self.notifications():
            if note.received_at < since or (receiver and note.receiver_path != receiver):
                continue
            for alert in note.alerts:
                labels = alert.get("labels", {})
                if labels.get("alertname") == alertname and alert.get("status") == status:
                    found.append((note, alert))
        return found

    def wait_for(
        self,
        alertname: str,
        status: str = "firing",
        receiver: str | None = None,
        since: float = 0.0,
        timeout: float = 60.0,
        interval: float = 0.1,
    ) -> tuple[Notification, dict[str, Any]] | None:
        """Poll until a matching alert arrives; the first match, or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(alertname, status, receiver, since)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)


def print_notification(note: Notification) -> None:
    print(note.summary_line(), flush=True)
