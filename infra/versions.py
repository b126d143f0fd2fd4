"""Every container image the stack runs, pinned in this one place.

Bump a version here and nowhere else; the rendered configs (infra/config_files.py) are written
for these versions and for the Debian prometheus 2.42 / alertmanager 0.25 the local tests run.
"""

from __future__ import annotations

from typing import Final

PROMETHEUS_IMAGE: Final = "quay.io/prometheus/prometheus:v2.53.2"
ALERTMANAGER_IMAGE: Final = "quay.io/prometheus/alertmanager:v0.27.0"
GRAFANA_IMAGE: Final = "docker.io/grafana/grafana:11.2.2"
TEMPO_IMAGE: Final = "docker.io/grafana/tempo:2.6.1"
JAEGER_IMAGE: Final = "docker.io/jaegertracing/jaeger:2.5.0"
POSTGRES_IMAGE: Final = "docker.io/library/postgres:16.4-alpine"

# The app image is built from app/Dockerfile by the user (README.md, "Deploy to a cluster");
# this is the tag `docker build -t` gives it in those instructions.
DEFAULT_APP_IMAGE: Final = "mission-app:dev"

# Numeric users the images run as (runAsNonRoot needs numbers: several images name their user).
PROMETHEUS_UID: Final = 65534  # nobody, as in the upstream image
ALERTMANAGER_UID: Final = 65534
GRAFANA_UID: Final = 472
TEMPO_UID: Final = 10001
JAEGER_UID: Final = 10001
POSTGRES_UID: Final = 70  # the alpine image's postgres user
APP_UID: Final = 10001
