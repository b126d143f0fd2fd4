"""Small helpers shared by the app tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# Seeded mission 1 ("City Hall selfie"): reward 100, 150 m geofence, 600 s limit.
CITY_HALL = (37.5663, 126.9779)
FAR_AWAY = (35.1796, 129.0756)  # Busan, ~325 km away


def start_run(client: TestClient, user: str, mission_id: int = 1) -> dict[str, Any]:
    r = client.post(f"/api/missions/{mission_id}/runs", json={"user_id": user})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def gps(client: TestClient, run_id: str, lat: float, lon: float) -> Any:
    return client.post(f"/api/runs/{run_id}/gps", json={"latitude": lat, "longitude": lon})


def earn(client: TestClient, user: str, times: int = 1) -> None:
    """Give `user` 100 points per time through approved runs of mission 1."""
    for _ in range(times):
        run = start_run(client, user)
        assert gps(client, run["id"], *CITY_HALL).json()["status"] == "approved"
