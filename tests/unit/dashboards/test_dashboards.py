"""The dashboard JSON models: identity, panels, datasources, links, layout, SDK round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import build_all
from dashboards.queries import iter_panels
from dashboards.uids import (
    ALERTMANAGER_DS_UID,
    COMMON_TAG,
    DASHBOARD_UIDS,
    PROMETHEUS_DS_UID,
    TRACES_DS_UID,
)

MODELS = build_all()
ALLOWED_DATASOURCE_UIDS = {"${datasource}", PROMETHEUS_DS_UID}


def all_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel, _row in iter_panels(model)]


def test_uids_are_the_published_contract() -> None:
    # These values are in Grafana URLs and alert annotations: changing one breaks links.
    assert DASHBOARD_UIDS == ("mission-overview", "api-red", "runtime", "stack-health")
    assert (PROMETHEUS_DS_UID, TRACES_DS_UID, ALERTMANAGER_DS_UID) == (
        "prometheus",
        "traces",
        "alertmanager",
    )


def test_build_all_returns_every_dashboard_keyed_by_its_uid() -> None:
    assert list(MODELS) == list(DASHBOARD_UIDS)
    for uid, model in MODELS.items():
        assert model["uid"] == uid
    assert len({model["title"] for model in MODELS.values()}) == len(MODELS)


def test_build_is_deterministic() -> None:
    assert json.dumps(build_all(), sort_keys=True) == json.dumps(MODELS, sort_keys=True)


def test_models_are_plain_json() -> None:
    for model in MODELS.values():
        assert json.loads(json.dumps(model)) == model


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_model_round_trips_through_the_sdk_types(uid: str) -> None:
    model = MODELS[uid]
    back = json.loads(json.dumps(Dashboard.from_json(model), cls=JSONEncoder))
    # The only differences are what to_json adds on purpose: the built-in annotation flag and a
    # null database id.
    expected = json.loads(json.dumps(model))
    del expected["id"]
    for annotation in expected["annotations"]["list"]:
        annotation.pop("builtIn")
    assert back == expected


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_tags_and_metadata(uid: str) -> None:
    model = MODELS[uid]
    assert COMMON_TAG in model["tags"]
    assert len(model["tags"]) >= 2
    assert model["description"]
    assert model["time"] == {"from": "now-1h", "to": "now"}
    assert [a["name"] for a in model["annotations"]["list"]] == ["Annotations & Alerts"]


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_datasource_variable_defaults_to_the_provisioned_prometheus(uid: str) -> None:
    variables = MODELS[uid]["templating"]["list"]
    assert len(variables) == 1
    variable = variables[0]
    assert variable["name"] == "datasource"
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"
    assert variable["current"]["value"] == PROMETHEUS_DS_UID


def test_no_import_placeholders() -> None:
    for model in MODELS.values():
        text = json.dumps(model)
        assert "${DS_" not in text
        assert "__inputs" not in model


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_every_panel_has_title_unit_datasource_and_queries(uid: str) -> None:
    panels = all_panels(MODELS[uid])
    assert len(panels) >= 6
    for panel in panels:
        title = panel.get("title")
        assert title, panel
        assert panel.get("description"), title
        unit = panel["fieldConfig"]["defaults"].get("unit")
        assert isinstance(unit, str) and unit, title
        assert panel["datasource"]["type"] == "prometheus", title
        assert panel["datasource"]["uid"] in ALLOWED_DATASOURCE_UIDS, title
        assert panel["targets"], title
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], title
            assert target["expr"].strip(), title
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), title
        assert isinstance(panel["options"], dict), title


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_panel_titles_and_ids_are_unique(uid: str) -> None:
    model = MODELS[uid]
    titles = [panel["title"] for panel in all_panels(model)]
    assert len(set(titles)) == len(titles)
    ids = [panel["id"] for panel in model["panels"]]
    ids += [nested["id"] for panel in model["panels"] for nested in panel.get("panels", [])]
    assert sorted(ids) == list(range(1, len(ids) + 1))


def _cells(grid: dict[str, int]) -> set[tuple[int, int]]:
    return {
        (x, y)
        for x in range(grid["x"], grid["x"] + grid["w"])
        for y in range(grid["y"], grid["y"] + grid["h"])
    }


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_layout_fits_the_grid_without_overlap(uid: str) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in MODELS[uid]["panels"]:
        for item in [panel, *panel.get("panels", [])]:
            grid = item["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, item["title"]
            cells = _cells(grid)
            assert not cells & taken, f"{item['title']} overlaps another panel"
            taken |= cells


@pytest.mark.parametrize("uid", DASHBOARD_UIDS)
def test_links_point_to_every_other_existing_dashboard(uid: str) -> None:
    links = MODELS[uid]["links"]
    targets = []
    for link in links:
        assert link["type"] == "link"
        assert link["url"].startswith("/d/")
        target = link["url"].removeprefix("/d/")
        assert target in MODELS, link
        assert link["keepTime"] and link["includeVars"]
        targets.append(target)
    assert sorted(targets) == sorted(set(DASHBOARD_UIDS) - {uid})


def test_trace_backend_panels_sit_in_a_folded_row() -> None:
    rows = [panel for panel in MODELS["stack-health"]["panels"] if panel["type"] == "row"]
    folded = [row for row in rows if row["collapsed"]]
    assert len(folded) == 1
    assert "Trace backend" in folded[0]["title"]
    nested_titles = {panel["title"] for panel in folded[0]["panels"]}
    assert nested_titles == {
        "Trace backend target up",
        "Tempo spans received",
        "Jaeger spans accepted / refused",
    }
    # Open rows hold no nested panels (Grafana lays those out as top-level panels).
    assert all(row["panels"] == [] for row in rows if not row["collapsed"])
