"""Shared building blocks for the dashboards: Prometheus targets, panels, the dashboard shell.

Every panel made here gets a title, a unit and the `$datasource` variable as its datasource (on the
panel and on each target), so the per-dashboard modules only say *what* to show. `to_json` turns a
foundation-SDK builder into the plain dict Grafana imports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import gauge as gauge_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

from dashboards.uids import COMMON_TAG, DASHBOARD_UIDS, PROMETHEUS_DS_UID

DATASOURCE_VARIABLE = "datasource"
# Panels point at the variable; the variable defaults to the provisioned uid "prometheus".
PROMETHEUS_DS = dashboard_models.DataSourceRef(
    type_val="prometheus", uid="${" + DATASOURCE_VARIABLE + "}"
)

# Human titles for the explicit links between dashboards (uid -> title).
DASHBOARD_TITLES: dict[str, str] = {
    "mission-overview": "Mission overview",
    "api-red": "API (RED)",
    "runtime": "Runtime",
    "stack-health": "Stack health",
}

# Grafana adds this built-in annotation to every dashboard it saves; writing it ourselves keeps
# the exported JSON identical to what Grafana would store (and `annotations.list` present).
_BUILTIN_ANNOTATION: dict[str, Any] = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}

GREEN, YELLOW, RED = "green", "yellow", "red"


@dataclass(frozen=True)
class Query:
    """One PromQL target of a panel. `exemplar` asks Grafana to overlay exemplars (trace ids)."""

    expr: str
    legend: str = ""
    instant: bool = False
    exemplar: bool = False
    table: bool = False


def _targets(queries: Sequence[Query]) -> list[prometheus_builders.Dataquery]:
    out = []
    for index, query in enumerate(queries):
        target = (
            prometheus_builders.Dataquery()
            .ref_id(chr(ord("A") + index))
            .expr(query.expr)
            .datasource(PROMETHEUS_DS)
        )
        if query.legend:
            target = target.legend_format(query.legend)
        target = target.instant() if query.instant else target.range()
        if query.exemplar:
            target = target.exemplar(True)
        if query.table:
            target = target.format(prometheus_models.PromQueryFormat.TABLE)
        out.append(target)
    return out


# The panel builders dressed by _prometheus_panel (each builder method returns its own type).
_Panel = TypeVar(
    "_Panel", timeseries.Panel, stat.Panel, gauge_builders.Panel, bargauge.Panel, table.Panel
)
_Gauge = TypeVar("_Gauge", gauge_builders.Panel, bargauge.Panel)


def _prometheus_panel(
    panel: _Panel,
    title: str,
    unit: str,
    queries: Sequence[Query],
    description: str,
    width: int,
    height: int,
) -> _Panel:
    """What every panel here has: title, description, unit, the $datasource, targets, size."""
    return (
        panel.title(title)
        .description(description)
        .unit(unit)
        .datasource(PROMETHEUS_DS)
        .targets(list(_targets(queries)))
        .span(width)
        .height(height)
    )


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builders.ThresholdsConfig:
    """Absolute thresholds; the first step's value must be None (it means -Infinity)."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_models.Threshold(value=value, color=color) for value, color in steps])
    )


def timeseries_panel(
    title: str,
    unit: str,
    queries: Sequence[Query],
    *,
    description: str,
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
    threshold_lines: Sequence[tuple[float | None, str]] = (),
) -> timeseries.Panel:
    """A time series panel; `threshold_lines` draws alert thresholds as dashed lines."""
    panel = (
        _prometheus_panel(timeseries.Panel(), title, unit, queries, description, width, height)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    if threshold_lines:
        panel = panel.thresholds(thresholds(*threshold_lines)).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
    return panel


def _last_value() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _scaled_last_value(
    panel: _Gauge, min_value: float, max_value: float, steps: Sequence[tuple[float | None, str]]
) -> _Gauge:
    """Gauges and bar gauges: a fixed scale, the last value, coloured by thresholds."""
    return (
        panel.min(min_value)
        .max(max_value)
        .reduce_options(_last_value())
        .thresholds(thresholds(*steps))
    )


def stat_panel(
    title: str,
    unit: str,
    queries: Sequence[Query],
    *,
    description: str,
    width: int = 6,
    height: int = 5,
    steps: Sequence[tuple[float | None, str]] = ((None, GREEN),),
    decimals: int | None = None,
) -> stat.Panel:
    panel = (
        _prometheus_panel(stat.Panel(), title, unit, queries, description, width, height)
        .reduce_options(_last_value())
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .thresholds(thresholds(*steps))
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def gauge_panel(
    title: str,
    unit: str,
    queries: Sequence[Query],
    *,
    description: str,
    min_value: float,
    max_value: float,
    steps: Sequence[tuple[float | None, str]],
    width: int = 6,
    height: int = 5,
) -> gauge_builders.Panel:
    panel = _prometheus_panel(
        gauge_builders.Panel(), title, unit, queries, description, width, height
    )
    return _scaled_last_value(panel, min_value, max_value, steps).show_threshold_markers(True)


def bargauge_panel(
    title: str,
    unit: str,
    queries: Sequence[Query],
    *,
    description: str,
    min_value: float,
    max_value: float,
    steps: Sequence[tuple[float | None, str]],
    width: int = 12,
    height: int = 8,
) -> bargauge.Panel:
    panel = _prometheus_panel(bargauge.Panel(), title, unit, queries, description, width, height)
    return (
        _scaled_last_value(panel, min_value, max_value, steps)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
    )


def table_panel(
    title: str,
    unit: str,
    queries: Sequence[Query],
    *,
    description: str,
    sort_by: str = "Value",
    width: int = 12,
    height: int = 8,
) -> table.Panel:
    """An instant-query table; every query must be `instant` and `table` formatted."""
    if not all(query.instant and query.table for query in queries):
        raise ValueError(f"table panel {title!r}: queries must be instant table queries")
    return (
        _prometheus_panel(table.Panel(), title, unit, queries, description, width, height)
        .show_header(True)
        .sort_by([common_builders.TableSortByFieldState().display_name(sort_by).desc(True)])
        # Hide the Time column: an instant query's timestamp is noise in a "top N" table.
        .with_transformation(
            dashboard_models.DataTransformerConfig(
                id_val="organize", options={"excludeByName": {"Time": True}}
            )
        )
    )


def row(title: str) -> dashboard_builders.Row:
    return dashboard_builders.Row(title).collapsed(False)


def collapsed_row(title: str, panels: Sequence[Any]) -> dashboard_builders.Row:
    """A row folded by default: for panels that are legitimately empty in some deployments."""
    folded = dashboard_builders.Row(title).collapsed(True)
    for panel in panels:
        folded = folded.with_panel(panel)
    return folded


def layout(
    board: dashboard_builders.Dashboard, items: Sequence[str | dashboard_builders.Row | Any]
) -> dashboard_builders.Dashboard:
    """Add rows and panels in reading order: a string starts an open row with that title, a Row
    (a collapsed one holding its panels) is added as it is, anything else is a panel."""
    for item in items:
        if isinstance(item, str):
            board = board.with_row(row(item))
        elif isinstance(item, dashboard_builders.Row):
            board = board.with_row(item)
        else:
            board = board.with_panel(item)
    return board


def _datasource_variable() -> dashboard_builders.DatasourceVariable:
    return (
        dashboard_builders.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Prometheus")
        .type("prometheus")
        .current(
            dashboard_models.VariableOption(
                selected=True, text="Prometheus", value=PROMETHEUS_DS_UID
            )
        )
    )


def _links(own_uid: str) -> list[dashboard_builders.DashboardLink]:
    # Explicit links (not tag searches) so a test can prove each one lands on a real uid.
    return [
        dashboard_builders.DashboardLink(DASHBOARD_TITLES[uid])
        .type(dashboard_models.DashboardLinkType.LINK)
        .url(f"/d/{uid}")
        .icon("dashboard")
        .tooltip(f"Open the {DASHBOARD_TITLES[uid]} dashboard")
        .keep_time(True)
        .include_vars(True)
        for uid in DASHBOARD_UIDS
        if uid != own_uid
    ]


def dashboard(uid: str, description: str, tags: Sequence[str]) -> dashboard_builders.Dashboard:
    """The shell every dashboard shares: uid, title, tags, datasource variable, links, time."""
    return (
        dashboard_builders.Dashboard(DASHBOARD_TITLES[uid])
        .uid(uid)
        .description(description)
        .tags([COMMON_TAG, *tags])
        .editable()
        .timezone("browser")
        .time("now-1h", "now")
        .refresh("30s")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .with_variable(_datasource_variable())
        .links(list(_links(uid)))
    )


def _number_panels(panels: list[dict[str, Any]], next_id: int) -> int:
    for panel in panels:
        panel["id"] = next_id
        next_id += 1
        # Grafana's panel plugins expect an options object; rows carry none.
        if panel.get("type") != "row" and panel.get("options") is None:
            panel["options"] = {}
        next_id = _number_panels(panel.get("panels", []), next_id)
    return next_id


def to_json(builder: dashboard_builders.Dashboard) -> dict[str, Any]:
    """Serialise a dashboard builder to the plain JSON model Grafana imports."""
    model: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    # Stable, unique panel ids in layout order (the SDK leaves them unset).
    _number_panels(model.get("panels", []), 1)
    model["annotations"] = {"list": [dict(_BUILTIN_ANNOTATION)]}
    model["id"] = None  # let Grafana allocate its database id; the uid is the identity
    return model
