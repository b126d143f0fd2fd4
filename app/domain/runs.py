"""Mission runs: pending_gps -> approved | rejected | expired, each run completed exactly once.

Completion is a conditional UPDATE ... WHERE status = 'pending_gps' in the same transaction as the
reward credit: of several racing or repeated GPS submissions exactly one sees rowcount 1, and only
that one credits the wallet and records the metrics.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain import wallet
from app.domain.context import Instruments
from app.domain.errors import NotFound, RunAlreadyCompleted
from app.domain.geo import haversine_m
from app.domain.missions import get_mission
from app.domain.models import Mission, MissionRun
from app.observability.logging import log_event

log = logging.getLogger("app.runs")

PENDING = "pending_gps"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"


def get_run(session: Session, run_id: str) -> MissionRun:
    run = session.get(MissionRun, run_id)
    if run is None:
        raise NotFound(f"run '{run_id}' not found")
    return run


def start_run(session: Session, inst: Instruments, mission_id: int, user_id: str) -> MissionRun:
    with inst.tracer.start_as_current_span("mission_run.start") as span:
        span.set_attribute("mission.id", mission_id)
        span.set_attribute("user.id", user_id)
        mission = get_mission(session, mission_id)
        now = inst.clock()
        run = MissionRun(
            id=uuid.uuid4().hex,
            mission_id=mission.id,
            user_id=user_id,
            status=PENDING,
            started_at=now,
            deadline_at=now + mission.time_limit_seconds,
        )
        session.add(run)
        session.commit()
        span.set_attribute("run.id", run.id)
        span.set_attribute("run.status", PENDING)
        inst.metrics.run_started_inc()
        log_event(
            log,
            logging.INFO,
            "mission_run.start.success",
            user_id=user_id,
            mission_id=mission.id,
            run_id=run.id,
        )
        return run


def _complete(
    session: Session,
    run_id: str,
    status: str,
    now: float,
    lat: float | None = None,
    lon: float | None = None,
    distance: float | None = None,
) -> bool:
    """Move a pending run to `status`; False if another request completed it first."""
    result = session.execute(
        update(MissionRun)
        .where(MissionRun.id == run_id, MissionRun.status == PENDING)
        .values(status=status, completed_at=now, latitude=lat, longitude=lon, distance_m=distance)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _already_completed(session: Session, run_id: str) -> RunAlreadyCompleted:
    session.rollback()
    status = get_run(session, run_id).status
    return RunAlreadyCompleted(f"run '{run_id}' is already completed with status '{status}'")


def submit_gps(
    session: Session, inst: Instruments, run_id: str, latitude: float, longitude: float
) -> MissionRun:
    """Decide a pending run from a GPS fix; RunAlreadyCompleted if it is not pending any more."""
    with inst.tracer.start_as_current_span("mission_run.submit_gps") as span:
        span.set_attribute("run.id", run_id)
        run = get_run(session, run_id)
        mission = session.get_one(Mission, run.mission_id)
        span.set_attribute("mission.id", mission.id)
        span.set_attribute("user.id", run.user_id)
        if run.status != PENDING:
            span.set_attribute("run.status", run.status)
            raise _already_completed(session, run_id)
        now = inst.clock()
        duration = now - run.started_at
        distance = haversine_m(latitude, longitude, mission.latitude, mission.longitude)
        span.set_attribute("gps.distance_m", round(distance, 1))
        fields = {
            "user_id": run.user_id,
            "mission_id": mission.id,
            "run_id": run_id,
            "duration_ms": round(duration * 1000, 1),
        }
        if now > run.deadline_at:
            status = EXPIRED
        elif distance > mission.radius_m:
            status = REJECTED
        else:
            status = APPROVED

        if status == APPROVED:
            with inst.tracer.start_as_current_span("mission_run.approve_and_reward") as aspan:
                aspan.set_attribute("run.id", run_id)
                aspan.set_attribute("user.id", run.user_id)
                aspan.set_attribute("reward.amount", mission.reward_points)
                if not _complete(session, run_id, APPROVED, now, latitude, longitude, distance):
                    aspan.set_attribute("run.already_completed", True)
                    raise _already_completed(session, run_id)
                wallet.credit_reward(session, run.user_id, mission.reward_points, run_id, now)
                session.commit()
                inst.metrics.wallet_transaction_inc(wallet.MISSION_REWARD)
                log_event(
                    log,
                    logging.INFO,
                    "mission_run.approve.success",
                    reward_amount=mission.reward_points,
                    **fields,
                )
        else:
            if not _complete(session, run_id, status, now, latitude, longitude, distance):
                raise _already_completed(session, run_id)
            session.commit()
            event = (
                "mission_run.reject.outside_geofence"
                if status == REJECTED
                else "mission_run.expired"
            )
            log_event(log, logging.INFO, event, distance_m=round(distance, 1), **fields)
        span.set_attribute("run.status", status)
        inst.metrics.run_completed_observe(status, duration)
        # The row now holds exactly these values; set them instead of re-reading it.
        run.status, run.completed_at = status, now
        run.latitude, run.longitude, run.distance_m = latitude, longitude, distance
        return run


def expire_stale(session: Session, inst: Instruments, limit: int = 500) -> int:
    """Expire pending runs past their deadline (the periodic sweep); returns how many."""
    now = inst.clock()
    stale = session.execute(
        select(MissionRun.id, MissionRun.started_at, MissionRun.user_id, MissionRun.mission_id)
        .where(MissionRun.status == PENDING, MissionRun.deadline_at < now)
        .limit(limit)
    ).all()
    session.rollback()
    expired = 0
    for run_id, started_at, user_id, mission_id in stale:
        if _complete(session, run_id, EXPIRED, now):
            session.commit()
            expired += 1
            inst.metrics.run_completed_observe(EXPIRED, now - started_at)
            log_event(
                log,
                logging.INFO,
                "mission_run.expired",
                user_id=user_id,
                mission_id=mission_id,
                run_id=run_id,
                duration_ms=round((now - started_at) * 1000, 1),
                reason="sweep",
            )
        else:
            session.rollback()
    return expired
