"""Traffic simulator: simulated users driving the mission API (`python -m app.loadgen`).

Scenarios:
  normal      users start runs, send a GPS fix inside the geofence after a short walk, check their
              wallet and sometimes withdraw (a few fixes miss, some withdrawals ask too much).
  rejections  most GPS fixes are outside the geofence, so runs are rejected.
  slow        runs are completed late: fixes arrive 10.5-14 s after the start (durations above the
              10 s p95 threshold), and runs of short missions (time limit < 10 s) expire.
  errors      like normal, but a fraction of requests carry `X-Fault-Inject: error`. The server must
              run with FAULT_INJECTION_ENABLED=true (a game-day setting, off by default) or the
              header is ignored.

The core is `run_load(...)` (or `run_load_async`), importable and driven by the tests against an
in-process app through an httpx transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

SCENARIOS = ("normal", "rejections", "slow", "errors")
SLOW_WAIT_S = (10.5, 14.0)


@dataclass
class LoadResult:
    """Counts of what the simulator did (also readable as result["requests"] etc.)."""

    scenario: str
    duration_s: float = 0.0
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    runs_started: int = 0
    runs_completed: Counter[str] = field(default_factory=Counter)
    withdrawals: int = 0
    injected_faults: int = 0

    @property
    def errors_4xx(self) -> int:
        return sum(n for s, n in self.by_status.items() if 400 <= s < 500)

    @property
    def errors_5xx(self) -> int:
        return sum(n for s, n in self.by_status.items() if s >= 500)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "by_status": dict(self.by_status),
            "errors_4xx": self.errors_4xx,
            "errors_5xx": self.errors_5xx,
            "transport_errors": self.transport_errors,
            "runs_started": self.runs_started,
            "runs_completed": dict(self.runs_completed),
            "withdrawals": self.withdrawals,
            "injected_faults": self.injected_faults,
        }

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]


class RateLimiter:
    """Global request pacing shared by all users (None = as fast as the users go)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            wait = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)


def point_near(lat: float, lon: float, max_m: float, rng: random.Random) -> tuple[float, float]:
    """A random point at most max_m metres from (lat, lon)."""
    dist = max_m * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = dist * math.cos(bearing) / 111_320
    dlon = dist * math.sin(bearing) / (111_320 * max(0.01, math.cos(math.radians(lat))))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def point_outside(lat: float, lon: float, radius: float, rng: random.Random) -> tuple[float, float]:
    """A random point 2x-10x the radius away (clearly outside the geofence)."""
    dist = radius * rng.uniform(2, 10) + 50
    bearing = rng.uniform(0, 2 * math.pi)
    new_lat = lat + dist * math.cos(bearing) / 111_320
    new_lon = lon + dist * math.sin(bearing) / (111_320 * max(0.01, math.cos(math.radians(lat))))
    return round(max(-90, min(90, new_lat)), 6), round(((new_lon + 180) % 360) - 180, 6)


class Simulator:
    def __init__(
        self,
        client: httpx.AsyncClient,
        scenario: str,
        result: LoadResult,
        limiter: RateLimiter,
        stop: asyncio.Event,
        error_rate: float,
        think_time: float,
        rng: random.Random,
    ) -> None:
        self.client = client
        self.scenario = scenario
        self.result = result
        self.limiter = limiter
        self.stop = stop
        self.error_rate = error_rate
        self.think_time = think_time
        self.rng = rng
        self.missions: list[dict[str, Any]] = []

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        await self.limiter.acquire()
        if self.stop.is_set():
            return None
        headers = {}
        if self.scenario == "errors" and self.rng.random() < self.error_rate:
            headers["X-Fault-Inject"] = "error"
            self.result.injected_faults += 1
        try:
            resp = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError:
            self.result.requests += 1
            self.result.transport_errors += 1
            await asyncio.sleep(0.1)  # back off a little from a server that is not answering
            return None
        self.result.requests += 1
        self.result.by_status[resp.status_code] += 1
        return resp

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, seconds))

    def pick_mission(self) -> tuple[dict[str, Any], float, bool]:
        """(mission, seconds to wait before the GPS fix, fix inside the geofence?)"""
        long_ones = [m for m in self.missions if m["time_limit_seconds"] >= 60] or self.missions
        short_ones = [m for m in self.missions if m["time_limit_seconds"] < SLOW_WAIT_S[0]]
        rng = self.rng
        if self.scenario == "slow":
            if short_ones and rng.random() < 0.3:
                return rng.choice(short_ones), rng.uniform(*SLOW_WAIT_S), True
            return rng.choice(long_ones), rng.uniform(*SLOW_WAIT_S), True
        inside_p = 0.3 if self.scenario == "rejections" else 0.95
        wait = rng.uniform(0.2, 2.0) * self.think_time
        return rng.choice(long_ones), wait, rng.random() < inside_p

    async def user(self, user_id: str) -> None:
        while not self.stop.is_set():
            mission, wait, inside = self.pick_mission()
            resp = await self.request(
                "POST", f"/api/missions/{mission['id']}/runs", json={"user_id": user_id}
            )
            if resp is None or resp.status_code != 201:
                await self.sleep(0.2 * self.think_time)
                continue
            run_id = resp.json()["id"]
            self.result.runs_started += 1
            await self.sleep(wait)
            if self.stop.is_set():
                return
            lat, lon, radius = mission["latitude"], mission["longitude"], mission["radius_m"]
            fix = (
                point_near(lat, lon, radius * 0.8, self.rng)
                if inside
                else point_outside(lat, lon, radius, self.rng)
            )
            resp = await self.request(
                "POST", f"/api/runs/{run_id}/gps", json={"latitude": fix[0], "longitude": fix[1]}
            )
            if resp is not None and resp.status_code == 200:
                self.result.runs_completed[resp.json()["status"]] += 1
            await self.wallet_activity(user_id)
            await self.sleep(self.rng.uniform(0.1, 0.5) * self.think_time)

    async def wallet_activity(self, user_id: str) -> None:
        if self.rng.random() < 0.3:
            await self.request("GET", f"/api/missions/{self.rng.choice(self.missions)['id']}")
        resp = await self.request("GET", f"/api/wallets/{user_id}")
        if resp is None or resp.status_code != 200:
            return
        balance = int(resp.json()["balance"])
        if self.rng.random() < 0.2:
            await self.request("GET", f"/api/wallets/{user_id}/transactions")
        if balance > 0 and self.rng.random() < 0.25:
            # now and then ask for more than the balance: an expected 409
            amount = balance + 1 if self.rng.random() < 0.1 else self.rng.randint(1, balance)
            resp = await self.request(
                "POST", f"/api/wallets/{user_id}/withdrawals", json={"amount": amount}
            )
            if resp is not None and resp.status_code == 201:
                self.result.withdrawals += 1


def progress_line(result: LoadResult, elapsed: float, window_requests: int, window_s: float) -> str:
    statuses = " ".join(f"{s}={n}" for s, n in sorted(result.by_status.items()))
    return (
        f"[loadgen {result.scenario}] t={elapsed:.0f}s rate={window_requests / window_s:.1f} req/s"
        f" total={result.requests} 4xx={result.errors_4xx} 5xx={result.errors_5xx}"
        f" transport_errors={result.transport_errors} statuses: {statuses or '-'}"
        f" runs: started={result.runs_started} {dict(result.runs_completed)}"
    )


async def _fetch_missions(client: httpx.AsyncClient, wait_s: float) -> list[dict[str, Any]]:
    """The mission list, waiting up to wait_s for the server to come up."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            resp = await client.get("/api/missions")
            if resp.status_code == 200 and resp.json():
                missions: list[dict[str, Any]] = resp.json()
                return missions
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no missions available at {client.base_url} after {wait_s:.0f} s")
        await asyncio.sleep(0.5)


async def run_load_async(
    base_url: str,
    scenario: str = "normal",
    duration: float | None = 60.0,
    users: int = 10,
    rate: float | None = None,
    error_rate: float = 0.3,
    think_time: float = 1.0,
    progress_interval: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
    stop_event: asyncio.Event | None = None,
    out: TextIO | None = sys.stdout,
    seed: int | None = None,
    user_prefix: str = "sim-user",
    startup_wait: float = 30.0,
) -> LoadResult:
    """Drive the API until `duration` seconds pass (None: until stop_event is set)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    stop = stop_event or asyncio.Event()
    result = LoadResult(scenario=scenario)
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=max(10, users), max_keepalive_connections=max(10, users))
    async with httpx.AsyncClient(
        base_url=base_url, transport=transport, timeout=30.0, limits=limits
    ) as client:
        sim = Simulator(
            client, scenario, result, RateLimiter(rate), stop, error_rate, think_time, rng
        )
        sim.missions = await _fetch_missions(client, startup_wait)
        started = time.monotonic()
        tasks = [asyncio.create_task(sim.user(f"{user_prefix}-{i:03d}")) for i in range(users)]
        last_t, last_n = started, 0
        try:
            while not stop.is_set():
                remaining = None if duration is None else started + duration - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                step = progress_interval if remaining is None else min(progress_interval, remaining)
                await sim.sleep(step)
                now = time.monotonic()
                if out is not None and now - last_t >= progress_interval * 0.99:
                    print(
                        progress_line(
                            result, now - started, result.requests - last_n, now - last_t
                        ),
                        file=out,
                        flush=True,
                    )
                    last_t, last_n = now, result.requests
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            result.duration_s = time.monotonic() - started
    return result


def run_load(
    base_url: str,
    scenario: str = "normal",
    duration: float | None = 60.0,
    users: int = 10,
    rate: float | None = None,
    error_rate: float = 0.3,
    think_time: float = 1.0,
    progress_interval: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO | None = sys.stdout,
    seed: int | None = None,
    user_prefix: str = "sim-user",
    startup_wait: float = 30.0,
) -> LoadResult:
    """Blocking wrapper of run_load_async (runs its own event loop); returns the counts."""
    return asyncio.run(
        run_load_async(
            base_url,
            scenario=scenario,
            duration=duration,
            users=users,
            rate=rate,
            error_rate=error_rate,
            think_time=think_time,
            progress_interval=progress_interval,
            transport=transport,
            out=out,
            seed=seed,
            user_prefix=user_prefix,
            startup_wait=startup_wait,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.loadgen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="the app (default: %(default)s)"
    )
    p.add_argument("--scenario", choices=SCENARIOS, default="normal")
    p.add_argument(
        "--duration",
        type=float,
        default=0,
        help="seconds to run; 0 (default) runs until Ctrl-C / SIGTERM",
    )
    p.add_argument("--users", type=int, default=10, help="simulated users (default: %(default)s)")
    p.add_argument("--rate", type=float, default=None, help="cap on total requests per second")
    p.add_argument(
        "--error-rate",
        type=float,
        default=0.3,
        help="scenario errors: fraction of requests sent with X-Fault-Inject: error "
        "(the server must run with FAULT_INJECTION_ENABLED=true) (default: %(default)s)",
    )
    p.add_argument(
        "--think-time",
        type=float,
        default=1.0,
        help="scale of the users' pauses (0 = none; the slow scenario's late fixes are fixed)",
    )
    p.add_argument(
        "--progress-interval", type=float, default=5.0, help="seconds between progress lines"
    )
    p.add_argument("--seed", type=int, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def _main() -> LoadResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_load_async(
            args.base_url,
            scenario=args.scenario,
            duration=args.duration or None,
            users=args.users,
            rate=args.rate,
            error_rate=args.error_rate,
            think_time=args.think_time,
            progress_interval=args.progress_interval,
            stop_event=stop,
            seed=args.seed,
        )

    try:
        result = asyncio.run(_main())
    except RuntimeError as exc:
        print(f"[loadgen] {exc}", file=sys.stderr)
        return 1
    print(f"[loadgen] done: {result.as_dict()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
