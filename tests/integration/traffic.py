"""Deterministic traffic for the integration tests: exact counts of good and bad requests.

The simulator (app.loadgen) is for humans and `make up`; the tests need to know how many
rejected, expired, slow and failing requests they caused, to drive each ratio above its
threshold (alerts.thresholds) and then dilute it back below with healthy traffic.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

# Far from every mission created here: a GPS fix there is rejected.
FAR_AWAY = {"latitude": -33.8688, "longitude": 151.2093}
HOME = {"latitude": 37.5, "longitude": 127.0}
_user_ids = itertools.count(1)


def _user() -> str:
    return f"it-user-{next(_user_ids)}"


class Traffic:
    """HTTP calls against the app with a shared connection pool."""

    def __init__(self, app_url: str, concurrency: int = 8) -> None:
        self.app_url = app_url
        self.client = httpx.Client(base_url=app_url, timeout=30.0)
        self.concurrency = concurrency

    def close(self) -> None:
        self.client.close()

    def create_mission(self, title: str, time_limit_seconds: int) -> int:
        body = {
            "title": title,
            "reward_points": 10,
            **HOME,
            "radius_m": 500.0,
            "time_limit_seconds": time_limit_seconds,
        }
        resp = self.client.post("/api/missions", json=body)
        resp.raise_for_status()
        return int(resp.json()["id"])

    def start_run(self, mission_id: int) -> str:
        resp = self.client.post(f"/api/missions/{mission_id}/runs", json={"user_id": _user()})
        resp.raise_for_status()
        return str(resp.json()["id"])

    def submit_gps(self, run_id: str, where: dict[str, float]) -> str:
        resp = self.client.post(f"/api/runs/{run_id}/gps", json=where)
        resp.raise_for_status()
        return str(resp.json()["status"])

    def run(self, mission_id: int, where: dict[str, float] = HOME, wait: float = 0.0) -> str:
        """One run: start, optionally wait, submit a fix; returns the final status."""
        run_id = self.start_run(mission_id)
        if wait:
            time.sleep(wait)
        return self.submit_gps(run_id, where)

    def many(self, count: int, fn: Callable[[], Any], concurrency: int | None = None) -> list[Any]:
        with ThreadPoolExecutor(max_workers=concurrency or self.concurrency) as pool:
            futures = [pool.submit(fn) for _ in range(count)]
            return [f.result() for f in futures]

    def get(self, path: str, headers: dict[str, str] | None = None) -> int:
        return self.client.get(path, headers=headers).status_code

    def gets(
        self,
        count: int,
        path: str,
        headers: dict[str, str] | None = None,
        concurrency: int | None = None,
    ) -> list[int]:
        return self.many(count, lambda: self.get(path, headers), concurrency)
