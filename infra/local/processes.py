"""A small supervisor for the local stack's child processes.

Each child runs in its own process group (so a uvicorn or Prometheus child leaves nothing behind),
writes stdout+stderr to a log file, can be waited on until an HTTP readiness URL answers, and is
stopped with SIGTERM then SIGKILL after a timeout. Also: free-port helper on 127.0.0.1 and the
lookup of the binaries (Debian names first).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Binary names in lookup order: Debian ships Alertmanager as `prometheus-alertmanager`.
BINARY_NAMES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "amtool": ("amtool",),
    "grafana": ("grafana-server", "grafana"),
    "tempo": ("tempo",),
}


def find_binary(component: str) -> str | None:
    """Absolute path of the binary for `component` (a key of BINARY_NAMES), or None when absent."""
    for name in BINARY_NAMES.get(component, (component,)):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_binary(component: str) -> str:
    """Like find_binary, but raises with an install hint when the binary is missing."""
    found = find_binary(component)
    if found is None:
        names = " or ".join(BINARY_NAMES.get(component, (component,)))
        raise FileNotFoundError(
            f"{names} not found on PATH; run `make system-deps` (as root on Debian) to install it"
        )
    return found


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when GET url answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


@dataclass
class ManagedProcess:
    """One supervised child process."""

    name: str
    args: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    ready_url: str | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    # Where this start's output begins in the (appended) log: errors quote only this run.
    log_offset: int = field(default=0, init=False, repr=False)

    def start(self) -> ManagedProcess:
        """Start the child in a new session (its own process group), logging to log_path."""
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        # Append so that a restart keeps the earlier log (tests read the app's log lines).
        with open(self.log_path, "ab") as log:
            self.log_offset = log.tell()
            self.popen = subprocess.Popen(
                list(self.args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.cwd) if self.cwd else None,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float = 30.0, interval: float = 0.1) -> None:
        """Block until ready_url answers 2xx; raise with the log tail if the child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if self.ready_url is None or http_ok(self.ready_url):
                return
            time.sleep(interval)
        raise TimeoutError(
            f"{self.name} not ready at {self.ready_url} after {timeout}s:\n{self.log_tail()}"
        )

    def is_ready(self) -> bool:
        return self.running and (self.ready_url is None or http_ok(self.ready_url, timeout=0.5))

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the whole process group, SIGKILL it after `timeout`; return the exit code."""
        if self.popen is None:
            return None
        proc = self.popen
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait(timeout=5)
        # Grandchildren (e.g. uvicorn workers) may outlive the leader: sweep the group.
        self._signal_group(signal.SIGKILL)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the group at once (a crash, not a clean stop)."""
        if self.popen is not None:
            self._signal_group(signal.SIGKILL)
            self.popen.wait(timeout=5)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines this start of the process wrote (not earlier runs' output)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Owns a set of ManagedProcess; stops them all in reverse start order."""

    def __init__(self) -> None:
        self.processes: dict[str, ManagedProcess] = {}

    def add(self, proc: ManagedProcess) -> ManagedProcess:
        self.processes[proc.name] = proc
        return proc

    def start(self, proc: ManagedProcess, ready_timeout: float = 30.0) -> ManagedProcess:
        self.add(proc).start()
        proc.wait_ready(timeout=ready_timeout)
        return proc

    def get(self, name: str) -> ManagedProcess:
        return self.processes[name]

    def stop_all(self, timeout: float = 10.0) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop(timeout=timeout)
