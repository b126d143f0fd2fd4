"""Network policies: deny all ingress in the namespace, then allow exactly the flows the stack uses.

Egress is left open on purpose: Alertmanager must reach Slack/PagerDuty/webhooks outside the
cluster and every pod needs DNS; ingress rules already pin who may talk to whom inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.common import Context, create, labels, metadata, selector
from infra.fast_timings import E2E_RECEIVER_PORT


@dataclass(frozen=True)
class Flow:
    """Traffic into `to` on `ports`, from the named workloads (None: from anywhere)."""

    name: str
    to: str
    ports: Sequence[int | tuple[int, str]]
    sources: Sequence[str] | None


def flows(
    app: str,
    prometheus: str,
    alertmanager: str,
    grafana: str,
    traces: str,
    traces_ports: Sequence[int],
    traces_metrics_port: int,
    traces_query_port: int,
    postgres: str | None,
    alertmanager_clustered: bool,
    e2e_receiver: str | None = None,
) -> list[Flow]:
    """Every allowed flow, by workload name (app.kubernetes.io/name).

    e2e_receiver: the e2e test stack's webhook receiver (None: not deployed).
    """
    out = [
        # Users (port-forward, an ingress controller in another namespace) reach app and Grafana.
        Flow("users-to-app", app, [8000], None),
        Flow("users-to-grafana", grafana, [3000], None),
        # Prometheus scrapes every component (itself included).
        Flow("prometheus-scrapes-app", app, [8000], [prometheus]),
        Flow("prometheus-scrapes-grafana", grafana, [3000], [prometheus]),
        # Prometheus: self-scrape, Grafana queries, the trace backend's remote write.
        Flow("to-prometheus", prometheus, [9090], [prometheus, grafana, traces]),
        # Alertmanager: alerts from Prometheus, scrape from Prometheus, Grafana's datasource.
        Flow("to-alertmanager", alertmanager, [9093], [prometheus, grafana]),
        # The app sends spans (OTLP gRPC/HTTP).
        Flow("app-to-traces", traces, list(traces_ports), [app]),
        # Prometheus scrapes the trace backend, Grafana queries it.
        Flow(
            "to-traces-api",
            traces,
            sorted({traces_metrics_port, traces_query_port}),
            [prometheus, grafana],
        ),
    ]
    if postgres:
        out.append(Flow("app-to-postgres", postgres, [5432], [app]))
    if alertmanager_clustered:
        out.append(
            Flow(
                "alertmanager-gossip",
                alertmanager,
                [(9094, "TCP"), (9094, "UDP")],
                [alertmanager],
            )
        )
    if e2e_receiver:
        # Only Alertmanager notifies it; the tests read it through a port-forward, which
        # network policies do not apply to.
        out.append(
            Flow("alertmanager-to-e2e-receiver", e2e_receiver, [E2E_RECEIVER_PORT], [alertmanager])
        )
    return out


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: Context,
        allowed: Sequence[Flow],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:stack:NetworkPolicies", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lbls = labels(ctx, "network-policies", "security")
        self.default_deny = create(
            k8s.networking.v1.NetworkPolicy,
            f"{name}-default-deny-ingress",
            metadata=metadata(ctx, "default-deny-ingress", lbls),
            spec={"podSelector": {}, "policyTypes": ["Ingress"]},
            opts=child,
        )
        self.policies: list[k8s.networking.v1.NetworkPolicy] = []
        for flow in allowed:
            ports: list[dict[str, Any]] = []
            for port in flow.ports:
                number, protocol = port if isinstance(port, tuple) else (port, "TCP")
                ports.append({"port": number, "protocol": protocol})
            rule: dict[str, Any] = {"ports": ports}
            if flow.sources is not None:
                rule["from"] = [
                    {"podSelector": {"matchLabels": selector(ctx, s)}} for s in flow.sources
                ]
            self.policies.append(
                create(
                    k8s.networking.v1.NetworkPolicy,
                    f"{name}-{flow.name}",
                    metadata=metadata(ctx, f"allow-{flow.name}", lbls),
                    spec={
                        "podSelector": {"matchLabels": selector(ctx, flow.to)},
                        "policyTypes": ["Ingress"],
                        "ingress": [rule],
                    },
                    opts=child,
                )
            )
        self.register_outputs({})
