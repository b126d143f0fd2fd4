"""Read PromQL expressions through a real parser (promql-parser): metric names, numbers, windows.

Used by the tests (thresholds, rule structure, metric contract); not needed at runtime, so
promql-parser stays a development dependency and `import alerts` does not pull it in.
"""

from __future__ import annotations

from datetime import timedelta

import promql_parser


def parse(expr: str) -> promql_parser.Expr:
    """The AST of an expression; raises ValueError when it is not valid PromQL."""
    return promql_parser.parse(expr)


def metric_names(expr: str) -> set[str]:
    """Every metric name the expression selects, by name or by an `__name__="..."` matcher."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        # MatrixSelector and SubqueryExpr are walked down to their VectorSelector.
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    if matcher.op != promql_parser.MatchOp.Equal:
                        # A regex over names cannot be checked against a contract.
                        raise ValueError(f"non-literal __name__ matcher in {expr!r}")
                    names.add(matcher.value)

    promql_parser.walk(parse(expr), visit)
    return names


def number_literals(expr: str) -> list[float]:
    """Every number literal of the expression (thresholds, quantiles, factors), sorted."""
    numbers: list[float] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.NumberLiteral):
            numbers.append(float(node.val))

    promql_parser.walk(parse(expr), visit)
    return sorted(numbers)


def range_windows(expr: str) -> list[timedelta]:
    """The range of every range selector and subquery in the expression."""
    windows: list[timedelta] = []

    def visit(node: promql_parser.Expr) -> None:
        window = getattr(node, "range", None)  # MatrixSelector and SubqueryExpr have one
        if isinstance(window, timedelta):
            windows.append(window)

    promql_parser.walk(parse(expr), visit)
    return windows


def function_names(expr: str) -> set[str]:
    """Names of the functions the expression calls."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.Call):
            names.add(node.func.name)

    promql_parser.walk(parse(expr), visit)
    return names
