"""Instrumentation overhead: the same app with observability on versus off, side by side.

`python -m bench.instrumentation_overhead` starts two real uvicorn servers (`python -m app`, one
with OBSERVABILITY_ENABLED=true exporting spans over OTLP/HTTP to a local sink, one with it false),
drives both with the same request mix in interleaved rounds, and prints a table: throughput at a
fixed concurrency and the on/off ratio, p50/p99 latency (sequential requests, i.e. unloaded, and
under the concurrent load), and the time of GET /api/metrics. Targets: throughput >= 90 % of the
uninstrumented app, p99 added <= 1 ms. Logging is identical in both (WARNING, no access log) so
the difference is tracing plus the HTTP metrics middleware.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
"""


@dataclass
class Variant:
    name: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    base_url: str = ""
    throughput_reqs: int = 0
    throughput_secs: float = 0.0
    loaded_latencies: list[float] = field(default_factory=list)
    seq_latencies: list[float] = field(default_factory=list)
    metrics_times: list[float] = field(default_factory=list)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(variant: Variant, workdir: Path, sink_port: int) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{workdir / variant.name}.db",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "RUN_SWEEP_INTERVAL_SECONDS": "30",
        **variant.env,
    }
    variant.proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    variant.base_url = f"http://127.0.0.1:{port}"


def wait_ready(variant: Variant, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(variant.base_url + "/api/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{variant.name} server did not become ready")


async def user_loop(
    client: httpx.AsyncClient, user: str, until: float, latencies: list[float]
) -> int:
    """One simulated user: start run, GPS fix (approved), read mission, read wallet."""
    n = 0
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        r = await client.post("/api/missions/1/runs", json={"user_id": user})
        t1 = time.perf_counter()
        if r.status_code != 201:
            raise RuntimeError(f"{client.base_url}: start run answered {r.status_code}: {r.text}")
        run_id = r.json()["id"]
        await client.post(
            f"/api/runs/{run_id}/gps", json={"latitude": 37.5663, "longitude": 126.9779}
        )
        t2 = time.perf_counter()
        await client.get("/api/missions/1")
        t3 = time.perf_counter()
        await client.get(f"/api/wallets/{user}")
        t4 = time.perf_counter()
        latencies.extend((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
        n += 4
    return n


async def drive(variant: Variant, concurrency: int, seconds: float, sink: list[float]) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=variant.base_url, limits=limits, timeout=30) as client:
        until = time.perf_counter() + seconds
        counts = await asyncio.gather(
            *(
                user_loop(
                    client,
                    f"bench-{variant.name.replace('+', '-').replace('%', 'pct')}-u{i}",
                    until,
                    sink,
                )
                for i in range(concurrency)
            )
        )
    return sum(counts)


def time_metrics(variant: Variant, n: int) -> None:
    with httpx.Client(base_url=variant.base_url) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            client.get("/api/metrics").raise_for_status()
            variant.metrics_times.append(time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    rounds: int,
    round_seconds: float,
    concurrency: int,
    asgi_spans: bool,
    sampled: bool,
    breakdown: bool = False,
    extra: tuple[str, ...] = (),
) -> list[Variant]:
    variants = [
        Variant("off", {"OBSERVABILITY_ENABLED": "false"}),
        Variant("on", {"OBSERVABILITY_ENABLED": "true"}),
    ]
    if sampled:
        variants.append(
            Variant(
                "on-10%-sampled",
                {
                    "OBSERVABILITY_ENABLED": "true",
                    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                    "OTEL_TRACES_SAMPLER_ARG": "0.1",
                },
            )
        )
    if breakdown:
        variants.append(
            Variant(
                "on-no-export", {"OBSERVABILITY_ENABLED": "true", "OTEL_TRACES_EXPORTER": "none"}
            )
        )
    for spec in extra:
        name, _, assignments = spec.partition(":")
        env = dict(a.split("=", 1) for a in assignments.split(",") if a)
        variants.append(Variant(name, {"OBSERVABILITY_ENABLED": "true", **env}))
    if asgi_spans:
        variants.append(
            Variant(
                "on+asgi-msg-spans",
                {"OBSERVABILITY_ENABLED": "true", "TRACE_ASGI_MESSAGES": "true"},
            )
        )
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert sink.stdout is not None
    sink_port = int(sink.stdout.readline())
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        try:
            for v in variants:
                start(v, Path(tmp), sink_port)
            for v in variants:
                wait_ready(v)
            for v in variants:  # warm-up: imports, connection pools, first spans
                asyncio.run(drive(v, concurrency, 1.0, []))
            for r in range(rounds):
                order = variants if r % 2 == 0 else list(reversed(variants))
                for v in order:
                    lat: list[float] = []
                    v.throughput_reqs += asyncio.run(drive(v, concurrency, round_seconds, lat))
                    v.throughput_secs += round_seconds
                    v.loaded_latencies.extend(lat)
                for v in order:
                    asyncio.run(drive(v, 1, round_seconds / 2, v.seq_latencies))
                for v in order:
                    time_metrics(v, 5)
        finally:
            for v in variants:
                if v.proc is not None:
                    v.proc.terminate()
            for v in variants:
                if v.proc is not None:
                    try:
                        v.proc.wait(10)
                    except subprocess.TimeoutExpired:
                        v.proc.kill()
                        v.proc.wait()
            sink.terminate()
            sink.wait(10)
    return variants


def report(variants: list[Variant], concurrency: int) -> str:
    ms = 1000.0
    head = (
        f"{'variant':<18} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'p50@c' + str(concurrency):>8} {'p99@c' + str(concurrency):>8} {'/api/metrics ms':>16}"
    )
    lines = [head, "-" * len(head)]
    base = variants[0]
    base_rps = base.throughput_reqs / base.throughput_secs
    for v in variants:
        rps = v.throughput_reqs / v.throughput_secs
        lines.append(
            f"{v.name:<18} {rps:>8.1f} {rps / base_rps:>6.3f} "
            f"{pct(v.seq_latencies, 0.5) * ms:>7.2f} {pct(v.seq_latencies, 0.99) * ms:>7.2f} "
            f"{pct(v.loaded_latencies, 0.5) * ms:>8.2f} {pct(v.loaded_latencies, 0.99) * ms:>8.2f} "
            f"{statistics.median(v.metrics_times) * ms:>16.2f}"
        )
    on = variants[1]
    added_p99 = (pct(on.seq_latencies, 0.99) - pct(base.seq_latencies, 0.99)) * ms
    added_p50 = (pct(on.seq_latencies, 0.5) - pct(base.seq_latencies, 0.5)) * ms
    ratio = (on.throughput_reqs / on.throughput_secs) / base_rps
    lines.append("")
    lines.append(
        f"throughput on/off = {ratio:.1%} (target >= 90%): {'OK' if ratio >= 0.9 else 'MISSED'}"
    )
    lines.append(
        f"p50 added = {added_p50:+.2f} ms; p99 added = {added_p99:+.2f} ms (sequential requests, "
        f"target <= 1 ms): {'OK' if added_p99 <= 1.0 else 'MISSED'}"
    )
    lines.append(
        f"samples: {len(base.seq_latencies)} / {len(on.seq_latencies)} sequential, "
        f"{len(base.loaded_latencies)} / {len(on.loaded_latencies)} under load"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.instrumentation_overhead", description=__doc__
    )
    p.add_argument(
        "--rounds", type=int, default=6, help="interleaved rounds (default: %(default)s)"
    )
    p.add_argument("--round-seconds", type=float, default=4.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument(
        "--asgi-message-spans",
        action="store_true",
        help="also run a variant with the per-message receive/send spans the app excludes",
    )
    p.add_argument(
        "--no-sampled",
        action="store_true",
        help="skip the variant with OTEL_TRACES_SAMPLER=parentbased_traceidratio at 10%%",
    )
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="also run the instrumented app without span export (OTEL_TRACES_EXPORTER=none)",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE,...",
        help="an extra instrumented variant with these env vars (repeatable)",
    )
    args = p.parse_args(argv)
    variants = run(
        args.rounds,
        args.round_seconds,
        args.concurrency,
        args.asgi_message_spans,
        not args.no_sampled,
        args.breakdown,
        tuple(args.variant),
    )
    print(report(variants, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
