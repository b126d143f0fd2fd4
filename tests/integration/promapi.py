"""A small client for the Prometheus HTTP API and the polling helper of the integration tests."""

from __future__ import annotations

import time
from typing import Any

import httpx


class PrometheusAPI:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=10.0)

    def _get(self, path: str, **params: Any) -> Any:
        resp = self.client.get(path, params=params)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        return list(self._get("/api/v1/query", **params)["result"])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(
            self._get("/api/v1/query_range", query=expr, start=start, end=end, step=step)["result"]
        )

    def value(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets")["activeTargets"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/rules")["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alerts")["alerts"])

    def alert_state(self, alertname: str) -> str | None:
        for alert in self.alerts():
            if alert["labels"].get("alertname") == alertname:
                return str(alert["state"])
        return None

    def exemplars(self, expr: str, start: float, end: float) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/query_exemplars", query=expr, start=start, end=end))

    def ready(self) -> bool:
        try:
            return self.client.get("/-/ready").status_code == 200
        except httpx.HTTPError:
            return False


def poll(predicate: Any, timeout: float, interval: float = 0.25) -> Any:
    """predicate() until truthy or timeout; returns the last value.

    A transient network error (a request through a port-forward that drops, a component
    restarting) counts as "not yet" rather than ending the caller's thread; after the timeout
    the last such error is raised.
    """
    deadline = time.monotonic() + timeout
    while True:
        error: Exception | None = None
        try:
            value = predicate()
        except (httpx.HTTPError, OSError) as exc:
            value, error = None, exc
        if value:
            return value
        if time.monotonic() >= deadline:
            if error is not None:
                raise error
            return value
        time.sleep(interval)
