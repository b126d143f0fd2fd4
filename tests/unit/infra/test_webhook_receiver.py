"""The webhook receiver's HTTP API and ReceiverClient: what the integration tests rely on, in this
process and as the e2e test stack's pod (the script run standalone, standard library only)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.webhook_receiver import ReceiverClient, WebhookReceiver

SCRIPT = Path(__file__).resolve().parents[3] / "infra" / "local" / "webhook_receiver.py"


def _payload(alertname: str, status: str = "firing", receiver: str = "pager") -> dict[str, Any]:
    return {
        "version": "4",
        "receiver": receiver,
        "status": status,
        "alerts": [
            {"status": status, "labels": {"alertname": alertname, "severity": "critical"}},
        ],
    }


def _request(url: str, method: str = "POST", body: Any = None, raw: bytes | None = None) -> int:
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    rec = WebhookReceiver().start()
    yield rec
    rec.stop()


def test_client_sees_what_alertmanager_posted(receiver: WebhookReceiver) -> None:
    client = ReceiverClient(receiver.url)
    assert _request(receiver.receiver_url("pager"), body=_payload("AppDown")) == 200
    between = time.time()
    time.sleep(0.01)
    assert _request(receiver.receiver_url("chat"), body=_payload("Slow", receiver="chat")) == 200

    notes = client.notifications()
    assert [(n.receiver_path, n.alertnames) for n in notes] == [
        ("pager", ["AppDown"]),
        ("chat", ["Slow"]),
    ]
    assert notes[0].payload == _payload("AppDown")
    # `since` filters on the receiver's side.
    assert [n.receiver_path for n in client.notifications(since=between)] == ["chat"]
    found = client.find("AppDown", "firing", receiver="pager")
    assert len(found) == 1 and found[0][1]["labels"]["alertname"] == "AppDown"
    assert client.find("AppDown", "resolved") == []
    assert client.find("AppDown", "firing", since=between) == []
    assert client.wait_for("Slow", "firing", receiver="chat", timeout=1) is not None
    assert client.wait_for("Slow", "resolved", timeout=0.3, interval=0.1) is None


def test_fail_switch_over_http_limits_failures_to_named_receivers(
    receiver: WebhookReceiver,
) -> None:
    client = ReceiverClient(receiver.url)
    client.fail_with(500, receivers={"heartbeat"})
    assert _request(receiver.receiver_url("heartbeat"), body=_payload("Watchdog")) == 500
    assert _request(receiver.receiver_url("chat"), body=_payload("Slow")) == 200
    assert receiver.failed_posts == 1
    # A failed POST is not recorded: Alertmanager will retry it.
    assert [n.receiver_path for n in client.notifications()] == ["chat"]
    client.fail_with(None)
    assert not receiver.failing
    assert _request(receiver.receiver_url("heartbeat"), body=_payload("Watchdog")) == 200


@pytest.mark.parametrize(
    "body",
    [
        {"status": 99},
        {"status": 600},
        {"status": "500"},
        {"status": True},
        {"status": 500, "receivers": "heartbeat"},
        {"status": 500, "receivers": [1]},
        [],
    ],
)
def test_fail_switch_rejects_bad_bodies_and_keeps_state(
    receiver: WebhookReceiver, body: Any
) -> None:
    assert _request(f"{receiver.url}/-/fail", "PUT", body) == 400
    assert not receiver.failing


def test_bad_requests_get_4xx(receiver: WebhookReceiver) -> None:
    assert _request(f"{receiver.url}/-/fail", "PUT", raw=b"{not json") == 400
    assert _request(f"{receiver.url}/-/other", "PUT", {}) == 404
    assert _request(receiver.receiver_url("pager"), raw=b"{not json") == 400
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{receiver.url}/-/notifications?since=yesterday", timeout=5)
    assert err.value.code == 400
    assert ReceiverClient(receiver.url).notifications() == []


def test_runs_standalone_with_the_standard_library_only() -> None:
    """The e2e stack's pod runs the file as a script on the app image: -S -I keeps
    site-packages (and this repo) off the path, so a third-party import would fail here."""
    proc = subprocess.Popen(
        [sys.executable, "-S", "-I", str(SCRIPT), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("webhook receiver listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[-1].strip()
        assert _request(f"{url}/heartbeat", body=_payload("Watchdog", receiver="heartbeat")) == 200
        notes = ReceiverClient(url).notifications()
        assert [n.alertnames for n in notes] == [["Watchdog"]]
        # One line per notification on stdout (the pod's log).
        assert "heartbeat" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_client_translates_the_receivers_clock(receiver: WebhookReceiver) -> None:
    """A runner whose clock is 100 s behind the receiver's pod still filters correctly."""

    def behind() -> float:
        return time.time() - 100

    client = ReceiverClient(receiver.url, clock=behind)
    assert abs(client.clock_offset() - 100) < 1
    # The offset is measured to within half a round trip: leave half a second of slack.
    before = behind() - 0.5
    assert _request(receiver.receiver_url("pager"), body=_payload("AppDown")) == 200
    (note,) = client.notifications(since=before)
    assert before <= note.received_at <= behind() + 0.5
    assert client.find("AppDown", since=before)
    assert not client.find("AppDown", since=behind() + 1)
