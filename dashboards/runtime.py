"""Runtime: CPU, memory, file descriptors and garbage collection of the app processes.

All series come from prometheus-client's default process_* / python_* collectors of the app
(job "mission-app"); one line per process (`instance`, plus `pod` in Kubernetes).
"""

from __future__ import annotations

from typing import Any

from dashboards import panels
from dashboards.panels import GREEN, RED, YELLOW, Query
from dashboards.uids import APP_JOB, RUNTIME_UID

UID = RUNTIME_UID
APP = f'job="{APP_JOB}"'
# Locally only `instance` exists; in Kubernetes relabelling adds `pod` (and `namespace`).
PER_PROCESS = "instance, pod"
PROCESS_LEGEND = "{{pod}} {{instance}}"

CPU = f"sum by ({PER_PROCESS}) (rate(process_cpu_seconds_total{{{APP}}}[$__rate_interval]))"
RESIDENT_MEMORY = f"sum by ({PER_PROCESS}) (process_resident_memory_bytes{{{APP}}})"
OPEN_FDS = f"sum by ({PER_PROCESS}) (process_open_fds{{{APP}}})"
FD_USAGE = (
    f"max(sum by ({PER_PROCESS}) (process_open_fds{{{APP}}}) "
    f"/ sum by ({PER_PROCESS}) (process_max_fds{{{APP}}}))"
)
GC_COLLECTIONS = (
    f"sum by (generation) (rate(python_gc_collections_total{{{APP}}}[$__rate_interval]))"
)
GC_OBJECTS = (
    f"sum by (generation) (rate(python_gc_objects_collected_total{{{APP}}}[$__rate_interval]))"
)
PROCESSES_UP = f"sum(up{{{APP}}})"
UPTIME = f"min(time() - process_start_time_seconds{{{APP}}})"


def build() -> dict[str, Any]:
    board = panels.dashboard(
        UID,
        "CPU, memory, file descriptors and GC of the mission service processes.",
        ["runtime"],
    )
    board = panels.layout(
        board,
        [
            "Processes",
            panels.stat_panel(
                "App processes up",
                "short",
                [Query(PROCESSES_UP, legend="up")],
                description="Scrape targets of job mission-app that answered the last scrape.",
                steps=((None, RED), (1, GREEN)),
                decimals=0,
            ),
            panels.stat_panel(
                "Youngest process uptime",
                "s",
                [Query(UPTIME, legend="uptime")],
                description="Time since the most recent (re)start of any app process.",
                steps=((None, YELLOW), (600, GREEN)),
            ),
            panels.gauge_panel(
                "File descriptor usage (worst process)",
                "percentunit",
                [Query(FD_USAGE, legend="open / max")],
                description="Open file descriptors over the limit, for the fullest process.",
                min_value=0,
                max_value=1,
                steps=((None, GREEN), (0.7, YELLOW), (0.9, RED)),
                width=12,
            ),
            "Resources",
            panels.timeseries_panel(
                "CPU usage",
                "percentunit",
                [Query(CPU, legend=PROCESS_LEGEND)],
                description="CPU seconds per second per process (1.0 = one full core).",
                min_value=0,
            ),
            panels.timeseries_panel(
                "Resident memory",
                "bytes",
                [Query(RESIDENT_MEMORY, legend=PROCESS_LEGEND)],
                description="Resident set size per process.",
                min_value=0,
            ),
            panels.timeseries_panel(
                "Open file descriptors",
                "short",
                [Query(OPEN_FDS, legend=PROCESS_LEGEND)],
                description="Open file descriptors per process (sockets, database files).",
                min_value=0,
                width=24,
            ),
            "Garbage collection",
            panels.timeseries_panel(
                "GC collections by generation",
                "suffix: collections/s",
                [Query(GC_COLLECTIONS, legend="gen {{generation}}")],
                description="Python garbage collector runs per second, all processes.",
            ),
            panels.timeseries_panel(
                "GC objects collected by generation",
                "suffix: objects/s",
                [Query(GC_OBJECTS, legend="gen {{generation}}")],
                description="Objects freed by the garbage collector per second, all processes.",
            ),
        ],
    )
    return panels.to_json(board)
