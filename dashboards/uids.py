"""Stable identifiers shared by the dashboards, the Grafana provisioning and the tests.

Grafana URLs (/d/<uid>), alert annotations (dashboard_url) and datasource provisioning all refer to
these values, so they never change once published.
"""

from __future__ import annotations

from typing import Final

MISSION_OVERVIEW_UID: Final = "mission-overview"
API_RED_UID: Final = "api-red"
RUNTIME_UID: Final = "runtime"
STACK_HEALTH_UID: Final = "stack-health"

# Order is the order dashboards appear in links and in `python -m dashboards build`.
DASHBOARD_UIDS: Final[tuple[str, ...]] = (
    MISSION_OVERVIEW_UID,
    API_RED_UID,
    RUNTIME_UID,
    STACK_HEALTH_UID,
)

# Datasource UIDs that the Grafana provisioning creates (fixed, so dashboards need no
# ${DS_PROMETHEUS} import placeholders).
PROMETHEUS_DS_UID: Final = "prometheus"
TRACES_DS_UID: Final = "traces"  # Tempo or Jaeger, same uid either way
ALERTMANAGER_DS_UID: Final = "alertmanager"

# Exemplar label carrying the trace id (app/observability/metrics.py). The Prometheus datasource
# provisioning maps it to the traces datasource (exemplarTraceIdDestinations: name "trace_id",
# datasourceUid TRACES_DS_UID) so a click on an exemplar dot opens the trace.
EXEMPLAR_TRACE_ID_LABEL: Final = "trace_id"

# Prometheus job name of the mission service (team contract).
APP_JOB: Final = "mission-app"

# Every dashboard carries this tag; the others add their own.
COMMON_TAG: Final = "mission-app"
