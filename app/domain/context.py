"""What the domain services need besides a session: a tracer, the metrics and a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

from app.observability.metrics import AppMetrics


@dataclass
class Instruments:
    tracer: Tracer
    metrics: AppMetrics
    clock: Callable[[], float] = field(default=time.time)
