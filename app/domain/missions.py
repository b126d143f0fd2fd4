"""Missions: list, get, create, and the seed set a fresh database starts with."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.errors import NotFound
from app.domain.models import Mission

# A few missions so a new user has something to do. "Coffee sprint" has a 5 s limit so the
# simulator's "slow" scenario can expire runs; the others allow plenty of time.
SEED_MISSIONS: list[dict[str, object]] = [
    {
        "title": "City Hall selfie",
        "reward_points": 100,
        "latitude": 37.5663,
        "longitude": 126.9779,
        "radius_m": 150.0,
        "time_limit_seconds": 600,
    },
    {
        "title": "Riverside jog",
        "reward_points": 250,
        "latitude": 37.5283,
        "longitude": 126.9340,
        "radius_m": 300.0,
        "time_limit_seconds": 1800,
    },
    {
        "title": "Museum visit",
        "reward_points": 150,
        "latitude": 37.5240,
        "longitude": 126.9800,
        "radius_m": 200.0,
        "time_limit_seconds": 900,
    },
    {
        "title": "Coffee sprint",
        "reward_points": 50,
        "latitude": 37.5700,
        "longitude": 126.9920,
        "radius_m": 100.0,
        "time_limit_seconds": 5,
    },
]


def seed_if_empty(session: Session) -> int:
    """Insert SEED_MISSIONS when there are no missions; returns how many were inserted."""
    if session.scalar(select(func.count()).select_from(Mission)):
        return 0
    session.add_all(Mission(**m) for m in SEED_MISSIONS)
    return len(SEED_MISSIONS)


def list_missions(session: Session) -> list[Mission]:
    return list(session.scalars(select(Mission).order_by(Mission.id)))


def get_mission(session: Session, mission_id: int) -> Mission:
    mission = session.get(Mission, mission_id)
    if mission is None:
        raise NotFound(f"mission {mission_id} not found")
    return mission


def create_mission(
    session: Session,
    *,
    title: str,
    reward_points: int,
    latitude: float,
    longitude: float,
    radius_m: float,
    time_limit_seconds: int,
) -> Mission:
    mission = Mission(
        title=title,
        reward_points=reward_points,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        time_limit_seconds=time_limit_seconds,
    )
    session.add(mission)
    session.flush()
    return mission
