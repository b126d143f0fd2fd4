"""Grafana dashboards as code (grafana-foundation-sdk): one module per dashboard.

`build_all()` returns every dashboard as the plain JSON dict Grafana imports, keyed by its stable
uid; `python -m dashboards build DIR` writes them as <uid>.json files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dashboards import api_red, mission_overview, runtime, stack_health
from dashboards.uids import DASHBOARD_UIDS

BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    mission_overview.UID: mission_overview.build,
    api_red.UID: api_red.build,
    runtime.UID: runtime.build,
    stack_health.UID: stack_health.build,
}


def build_all() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON model, keyed by uid, in DASHBOARD_UIDS order."""
    return {uid: BUILDERS[uid]() for uid in DASHBOARD_UIDS}


def render(model: dict[str, Any]) -> str:
    """The canonical file text of a dashboard: sorted keys, indent 2, trailing newline."""
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


__all__ = ["BUILDERS", "DASHBOARD_UIDS", "build_all", "render"]
