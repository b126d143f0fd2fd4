"""A small Alertmanager webhook receiver for `make up` and the integration tests.

Alertmanager posts version-4 webhook payloads to http://HOST:PORT/<receiver name> (pager, chat,
heartbeat, default: the receiver names of the rendered alertmanager.yml). Every payload is kept
in memory with its receiver path and arrival time, optionally printed as one line, and the server
can be switched to answer 500 so that Alertmanager's notifications fail on purpose.

The same switch and the recorded notifications are served over HTTP (GET /-/notifications?since=T,
PUT /-/fail), so the integration tests drive a receiver in this process and one running as a pod
of an e2e test stack (infra/components/e2e_receiver.py) through the same ReceiverClient. The
module is standard library only so that the pod can run it as a script:
`python webhook_receiver.py --host 0.0.0.0 --port 9095`.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RECEIVER_NAMES = ("pager", "chat", "heartbeat", "default")
_FAIL_USAGE = b'{"error": "expected {status: 100..599 or null, receivers: [names] or null}"}'


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

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver_path": self.receiver_path,
            "payload": self.payload,
            "received_at": self.received_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        return cls(str(data["receiver_path"]), dict(data["payload"]), float(data["received_at"]))

    def summary_line(self) -> str:
        firing = ",".join(sorted(set(self.alertnames)))
        return (
            f"[{time.strftime('%H:%M:%S', time.localtime(self.received_at))}] "
            f"{self.receiver_path:<9} {self.status:<8} {firing}"
        )


class NotificationLog(ABC):
    """find/wait_for over notifications(since), shared by the receiver and its HTTP client."""

    poll_interval = 0.1  # seconds between looks in wait_for

    @abstractmethod
    def notifications(self, since: float = 0.0) -> list[Notification]:
        """Notifications received since `since` (Unix time), in arrival order."""

    def find(
        self,
        alertname: str,
        status: str = "firing",
        receiver: str | None = None,
        since: float = 0.0,
    ) -> list[tuple[Notification, dict[str, Any]]]:
        """(notification, alert) pairs for this alert name in this state, in arrival order."""
        return find_alerts(self.notifications(since), alertname, status, receiver, since)

    def wait_for(
        self,
        alertname: str,
        status: str = "firing",
        receiver: str | None = None,
        since: float = 0.0,
        timeout: float = 60.0,
        interval: float | None = None,
    ) -> tuple[Notification, dict[str, Any]] | None:
        """Poll until a matching alert arrives; the first match, or None after timeout."""
        interval = self.poll_interval if interval is None else interval
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(alertname, status, receiver, since)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)


class WebhookReceiver(NotificationLog):
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
                path, _, query = self.path.partition("?")
                if path == "/-/notifications":
                    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
                    try:
                        since = float(params.get("since") or 0)
                    except ValueError:
                        self._answer(400, b'{"error": "since must be a number"}')
                        return
                    notes = [
                        n.to_json() for n in receiver.notifications() if n.received_at >= since
                    ]
                    self._answer(200, json.dumps({"notifications": notes}).encode())
                    return
                # A readiness probe, a tiny view for humans, and the receiver's clock.
                with receiver._lock:
                    count = len(receiver._notifications)
                self._answer(200, json.dumps({"notifications": count, "now": time.time()}).encode())

            def do_PUT(self) -> None:
                if self.path != "/-/fail":
                    self._answer(404, b'{"error": "PUT /-/fail only"}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    status, receivers = body.get("status"), body.get("receivers")
                    valid = (status is None or (type(status) is int and 100 <= status <= 599)) and (
                        receivers is None
                        or (
                            isinstance(receivers, list)
                            and all(isinstance(r, str) for r in receivers)
                        )
                    )
                except (ValueError, AttributeError):
                    valid = False
                if not valid:
                    self._answer(400, _FAIL_USAGE)
                    return
                receiver.fail_with(status, receivers)
                self._answer(200, json.dumps({"failing": receiver.failing}).encode())

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
    def notifications(self, since: float = 0.0) -> list[Notification]:
        with self._lock:
            return [n for n in self._notifications if n.received_at >= since]

    def clear(self) -> None:
        with self._lock:
            self._notifications.clear()


def find_alerts(
    notes: Iterable[Notification],
    alertname: str,
    status: str = "firing",
    receiver: str | None = None,
    since: float = 0.0,
) -> list[tuple[Notification, dict[str, Any]]]:
    """(notification, alert) pairs for this alert name in this state, in arrival order."""
    found = []
    for note in notes:
        if note.received_at < since or (receiver and note.receiver_path != receiver):
            continue
        for alert in note.alerts:
            labels = alert.get("labels", {})
            if labels.get("alertname") == alertname and alert.get("status") == status:
                found.append((note, alert))
    return found


class ReceiverClient(NotificationLog):
    """The tests' view of a WebhookReceiver through its HTTP API, in this process or in a pod.

    `since` and received_at are in this machine's clock: the receiver's clock offset (a pod's
    node may differ) is measured once and applied both ways.
    """

    # Each look is an HTTP request (through a port-forward for a pod): not too often.
    poll_interval = 0.5

    def __init__(
        self, url: str, timeout: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.clock = clock  # this machine's Unix time (a parameter for the tests)
        self._offset: float | None = None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def clock_offset(self) -> float:
        """Receiver clock minus this machine's, measured once (a pod's node may be skewed)."""
        if self._offset is None:
            before = self.clock()
            now = float(self._call("GET", "/")["now"])
            self._offset = now - (before + self.clock()) / 2
        return self._offset

    def notifications(self, since: float = 0.0) -> list[Notification]:
        """Notifications received since `since`, both in this machine's clock."""
        offset = self.clock_offset()
        data = self._call("GET", f"/-/notifications?since={since + offset!r}")
        notes = [Notification.from_json(n) for n in data["notifications"]]
        for note in notes:
            note.received_at -= offset
        return notes

    def fail_with(self, status: int | None = 500, receivers: Iterable[str] | None = None) -> None:
        """Make the receiver answer `status` (None: back to normal); see WebhookReceiver."""
        body = {"status": status, "receivers": None if receivers is None else sorted(receivers)}
        self._call("PUT", "/-/fail", body)


def print_notification(note: Notification) -> None:
    print(note.summary_line(), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the receiver until SIGTERM/SIGINT, printing one line per notification."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9095)
    args = parser.parse_args(argv)
    receiver = WebhookReceiver(args.host, args.port, on_notification=print_notification).start()
    print(f"webhook receiver listening on {receiver.url}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    receiver.stop()


if __name__ == "__main__":
    main()
