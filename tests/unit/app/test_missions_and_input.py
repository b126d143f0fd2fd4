"""Missions API and bad input: every kind of bad request gets a 4xx JSON naming the problem."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import make_engine
from tests.unit.app.helpers import start_run

NEW_MISSION: dict[str, Any] = {
    "title": "Harbour walk",
    "reward_points": 75,
    "latitude": 35.1,
    "longitude": 129,  # an integer is a fine coordinate
    "radius_m": 250.5,
    "time_limit_seconds": 300,
}


def test_fresh_database_is_seeded_with_long_and_short_missions(client: TestClient) -> None:
    missions = client.get("/api/missions").json()
    assert len(missions) == 4
    limits = {m["title"]: m["time_limit_seconds"] for m in missions}
    assert limits["City Hall selfie"] == 600
    assert limits["Coffee sprint"] == 5
    assert client.get("/api/missions/1").json()["title"] == "City Hall selfie"


def test_seeding_happens_once(make_app: Any, sqlite_url: str) -> None:
    make_app()
    again = TestClient(make_app(database_url=sqlite_url))
    assert len(again.get("/api/missions").json()) == 4


def test_create_mission_then_get_it(client: TestClient) -> None:
    r = client.post("/api/missions", json=NEW_MISSION)
    assert r.status_code == 201
    created = r.json()
    assert created["id"] == 5
    assert created["longitude"] == 129.0
    assert client.get("/api/missions/5").json() == created
    assert start_run(client, "zoe", mission_id=5)["mission_id"] == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reward_points": 0}, "body.reward_points: Input should be greater than 0"),
        ({"reward_points": -5}, "body.reward_points: Input should be greater than 0"),
        ({"reward_points": 2.5}, "body.reward_points: Input should be a valid integer"),
        ({"reward_points": "100"}, "body.reward_points: Input should be a valid integer"),
        ({"latitude": 90.5}, "body.latitude: Input should be less than or equal to 90"),
        ({"longitude": -181}, "body.longitude: Input should be greater than or equal to -180"),
        ({"latitude": "north"}, "body.latitude: Input should be a valid number"),
        ({"radius_m": 0}, "body.radius_m: Input should be greater than 0"),
        ({"time_limit_seconds": 0}, "body.time_limit_seconds: Input should be greater than 0"),
        ({"title": ""}, "body.title: String should have at least 1 character"),
        ({"colour": "red"}, "body.colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_mission_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], message: str
) -> None:
    r = client.post("/api/missions", json={**NEW_MISSION, **change})
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert r.json()["message"] == message


def test_missing_field_is_named(client: TestClient) -> None:
    body = {k: v for k, v in NEW_MISSION.items() if k != "title"}
    r = client.post("/api/missions", json=body)
    assert r.status_code == 422
    assert r.json()["message"] == "body.title: Field required"


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post(
        "/api/missions/1/runs",
        content=b'{"user_id": "a",',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["message"].startswith("malformed JSON body")


def test_non_object_body_is_422(client: TestClient) -> None:
    r = client.post("/api/missions/1/runs", json=["u1"])
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert r.json()["message"].startswith("body: ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": 0}, "body.amount: Input should be greater than 0"),
        ({"amount": -10}, "body.amount: Input should be greater than 0"),
        ({"amount": 1.5}, "body.amount: Input should be a valid integer"),
        ({"amount": "10"}, "body.amount: Input should be a valid integer"),
        ({"amount": True}, "body.amount: Input should be a valid integer"),
        ({}, "body.amount: Field required"),
    ],
)
def test_bad_withdrawal_amounts_are_422(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    r = client.post("/api/wallets/u1/withdrawals", json=body)
    assert r.status_code == 422
    assert r.json()["message"] == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"latitude": 91, "longitude": 0},
            "body.latitude: Input should be less than or equal to 90",
        ),
        (
            {"latitude": 0, "longitude": 180.01},
            "body.longitude: Input should be less than or equal to 180",
        ),
        ({"latitude": "37.5", "longitude": 0}, "body.latitude: Input should be a valid number"),
        ({"latitude": None, "longitude": 0}, "body.latitude: Input should be a valid number"),
        ({"latitude": 0}, "body.longitude: Field required"),
    ],
)
def test_bad_gps_fix_is_422(client: TestClient, body: dict[str, Any], message: str) -> None:
    run = start_run(client, "u1")
    r = client.post(f"/api/runs/{run['id']}/gps", json=body)
    assert r.status_code == 422
    assert r.json()["message"] == message
    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "pending_gps"


def test_bad_ids_are_named(client: TestClient) -> None:
    r = client.get("/api/missions/abc")
    assert r.status_code == 422
    assert r.json()["message"] == (
        "path.mission_id: Input should be a valid integer, unable to parse string as an integer"
    )
    r = client.get("/api/missions/0")
    assert r.status_code == 422
    assert r.json()["message"] == "path.mission_id: Input should be greater than or equal to 1"
    assert client.get("/api/missions/424242").json() == {
        "error": "not_found",
        "message": "mission 424242 not found",
    }
    r = client.post("/api/missions/1/runs", json={"user_id": "bad id with spaces"})
    assert r.status_code == 422
    assert r.json()["message"].startswith("body.user_id: String should match pattern")


def test_oversized_body_is_413(client: TestClient) -> None:
    big = {"user_id": "u" * 20_000}
    r = client.post("/api/missions/1/runs", json=big)
    assert r.status_code == 413
    assert r.json() == {
        "error": "payload_too_large",
        "message": "request body exceeds the limit of 16384 bytes",
    }


def test_oversized_chunked_body_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 1000

    r = client.post("/api/missions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_unknown_path_and_method_are_json(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "Not Found"}
    r = client.delete("/api/missions")
    assert r.status_code == 405
    assert r.json() == {"error": "method_not_allowed", "message": "Method Not Allowed"}


def test_unexpected_fault_is_json_500_without_traceback(make_app: Any) -> None:
    app = make_app()

    def broken() -> Any:
        raise RuntimeError("secret internal detail")

    app.state.session_factory = broken
    r = TestClient(app, raise_server_exceptions=False).get("/api/missions")
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "message": "internal server error"}
    assert "Traceback" not in r.text
    assert "secret" not in r.text


def test_health_endpoints(make_app: Any) -> None:
    app = make_app()
    c = TestClient(app)
    assert c.get("/api/health/live").json() == {"status": "ok"}
    assert c.get("/api/health/ready").json() == {"status": "ok", "database": "ok"}
    app.state.engine.dispose()
    app.state.engine = make_engine("sqlite:////nonexistent-dir/x.db")
    r = c.get("/api/health/ready")
    assert r.status_code == 503
    assert r.json()["error"] == "database_unavailable"
