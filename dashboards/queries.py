"""Every PromQL query of the dashboards, as data: for the tests that prove them.

The unit tests parse them, the integration tests run them against a live Prometheus (after
`substitute_grafana_variables`), and the metric contract test collects their metric names
(`metric_names`). All of them read the built dashboard JSON, so what is tested is exactly what
Grafana imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser

# Panels whose query is legitimately empty in a healthy system, with the reason. Everything else
# must return data once the app has served traffic (the integration tests demand it).
EMPTY_WHEN_HEALTHY: dict[tuple[str, str], str] = {
    ("stack-health", "Tempo spans received"): (
        "Tempo self-metrics: present only when Tempo is the trace backend (absent locally)"
    ),
    ("stack-health", "Jaeger spans accepted / refused"): (
        "Jaeger v2 (OpenTelemetry collector) self-metrics: present only when Jaeger is the "
        "trace backend (absent locally)"
    ),
}

# Functions whose range argument must be `$__rate_interval` on our dashboards.
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})

# Grafana's global variables we use, in the spelling `$name` or `${name}`.
_VARIABLE = re.compile(r"\$\{(?P<braced>\w+)\}|\$(?P<bare>\w+)")


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel, as written in the dashboard (Grafana variables unsubstituted)."""

    dashboard_uid: str
    panel_title: str
    panel_type: str
    ref_id: str
    expr: str
    legend: str
    instant: bool
    exemplar: bool
    row: str | None
    # Why an empty result is fine in a healthy system; None means the query must return data.
    empty_reason: str | None

    @property
    def must_return_data(self) -> bool:
        """True unless the query is legitimately empty in a healthy system."""
        return self.empty_reason is None

    def substituted(self, **kwargs: Any) -> str:
        """The expression with Grafana variables replaced (see substitute_grafana_variables)."""
        return substitute_grafana_variables(self.expr, **kwargs)


def iter_panels(dashboard_json: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every non-row panel with the title of the row it sits under (collapsed rows included)."""
    current_row: str | None = None
    for panel in dashboard_json.get("panels", []):
        if panel.get("type") == "row":
            current_row = panel.get("title")
            for nested in panel.get("panels", []):
                yield nested, current_row
        else:
            yield panel, current_row


def panel_queries(dashboard_json: Mapping[str, Any]) -> list[PanelQuery]:
    uid = str(dashboard_json["uid"])
    out: list[PanelQuery] = []
    for panel, row_title in iter_panels(dashboard_json):
        title = str(panel.get("title", ""))
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            out.append(
                PanelQuery(
                    dashboard_uid=uid,
                    panel_title=title,
                    panel_type=str(panel.get("type", "")),
                    ref_id=str(target.get("refId", "")),
                    expr=str(expr),
                    legend=str(target.get("legendFormat", "")),
                    instant=bool(target.get("instant", False)),
                    exemplar=bool(target.get("exemplar", False)),
                    row=row_title,
                    empty_reason=EMPTY_WHEN_HEALTHY.get((uid, title)),
                )
            )
    return out


def all_panel_queries() -> list[PanelQuery]:
    """The queries of every dashboard that `build_all` produces."""
    from dashboards import build_all  # local import: dashboards/__init__ imports this module

    return [query for model in build_all().values() for query in panel_queries(model)]


def all_metric_names() -> set[str]:
    """Every metric name read by any dashboard query (for the metric contract test)."""
    return {name for query in all_panel_queries() for name in metric_names(query.expr)}


def grafana_rate_interval(scrape_interval_seconds: float, step_seconds: float = 0.0) -> str:
    """What Grafana substitutes for $__rate_interval: max(step + scrape, 4 x scrape).

    Grafana takes the scrape interval from the datasource setting (default 15s) and the step
    from the panel's $__interval; tests pass the scrape interval of the Prometheus they run.
    """
    seconds = max(step_seconds + scrape_interval_seconds, 4 * scrape_interval_seconds)
    return f"{round(seconds * 1000)}ms"


def substitute_grafana_variables(
    expr: str,
    *,
    rate_interval: str = "1m",
    interval: str = "15s",
    range: str = "1h",  # Grafana's own name for $__range (shadows the builtin here only)
    variables: Mapping[str, str] | None = None,
) -> str:
    """Replace Grafana's variables the way Grafana would before sending the query to Prometheus.

    `rate_interval` stands for `$__rate_interval` (Grafana computes max(4 x scrape interval,
    interval + scrape interval)); pass a value that suits the Prometheus you query. Unknown
    variables raise ValueError so a typo cannot slip through as literal text.
    """
    range_seconds = int(promql_parser.parse_duration(range).total_seconds())
    interval_ms = int(promql_parser.parse_duration(interval).total_seconds() * 1000)
    values: dict[str, str] = {
        "__rate_interval": rate_interval,
        "__interval": interval,
        "__interval_ms": str(interval_ms),
        "__range": range,
        "__range_s": str(range_seconds),
        "__range_ms": str(range_seconds * 1000),
        **(variables or {}),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name not in values:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def parse(expr: str, **kwargs: Any) -> promql_parser.Expr:
    """Parse a dashboard expression with the real PromQL parser, after variable substitution."""
    return promql_parser.parse(substitute_grafana_variables(expr, **kwargs))


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (recording-rule names such as slo:... included)."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
                    names.add(matcher.value)

    promql_parser.walk(parse(expr), visit)
    return names


def range_function_windows(expr: str, **kwargs: Any) -> list[tuple[str, timedelta]]:
    """(function, window) for every rate/increase-like call in the substituted expression."""
    windows: list[tuple[str, timedelta]] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.Call) and node.func.name in RANGE_FUNCTIONS:
            for arg in node.args:
                window = getattr(arg, "range", None)  # MatrixSelector or SubqueryExpr
                if isinstance(window, timedelta):
                    windows.append((node.func.name, window))

    promql_parser.walk(parse(expr, **kwargs), visit)
    return windows
