"""Command line: `python -m dashboards build DIR` writes one <uid>.json per dashboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards import build_all, render


def write_dashboards(directory: Path) -> list[Path]:
    """Write every dashboard as DIR/<uid>.json (keys sorted, indent 2); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, model in build_all().items():
        path = directory / f"{uid}.json"
        # Sorted keys and a trailing newline keep the files diff-friendly and reproducible.
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the dashboards as JSON files")
    build.add_argument("directory", type=Path, help="output directory (created if missing)")
    args = parser.parse_args(argv)
    for path in write_dashboards(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
