"""`python -m infra.local up [--data-dir DIR] [--wipe] [--fast]`: the local stack (make up).

Starts everything, prints a live status every few seconds (each component up/down with its URL,
the simulator's rates) and one line per Alertmanager notification; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from app.loadgen import SCENARIOS
from infra.local.stack import REPO_ROOT, LocalStack, LocalStackOptions


def _status(stack: LocalStack) -> str:
    parts = [f"{name} {'UP' if up else 'DOWN'} {url}" for name, up, url in stack.components()]
    return (
        f"[{time.strftime('%H:%M:%S')}] "
        + " | ".join(parts)
        + f"\n           simulator: {stack.loadgen_status()}"
    )


def up(args: argparse.Namespace) -> int:
    opts = LocalStackOptions.for_make_up(Path(args.data_dir), fast=args.fast)
    opts.loadgen_scenario = args.scenario
    stack = LocalStack(opts)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGTERM (e.g. from a supervisor) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    print(f"starting the local stack in {stack.data_dir} ...", flush=True)
    try:
        stack.start(wipe=args.wipe)
        for note in stack.notes:
            print(note, flush=True)
        print(
            f"app {stack.app_url} | Prometheus {stack.prometheus_url} | "
            f"Alertmanager {stack.alertmanager_url} (alerts: {stack.alertmanager_url}/#/alerts)"
            f" | webhook receiver {stack.receiver.url} | logs {stack.path('logs')}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while True:
            print(_status(stack), flush=True)
            time.sleep(args.status_interval)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except (FileNotFoundError, RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
    print("stopped; nothing left running.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the whole stack on this machine")
    p_up.add_argument("--data-dir", default=str(REPO_ROOT / ".local-stack"))
    p_up.add_argument("--wipe", action="store_true", help="delete the data dir first")
    p_up.add_argument(
        "--fast", action="store_true", help="the integration tests' timings (1s scrape/eval)"
    )
    p_up.add_argument(
        "--scenario", default="normal", choices=SCENARIOS, help="traffic simulator scenario"
    )
    p_up.add_argument("--status-interval", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
