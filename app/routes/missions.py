"""Missions: list, get, create; and starting a run on a mission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from app.domain import missions, runs
from app.domain.context import Instruments
from app.routes.deps import get_instruments, get_session
from app.schemas import MissionCreate, MissionOut, RunCreate, RunOut

router = APIRouter(prefix="/api/missions", tags=["missions"])
MissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[MissionOut])
def list_missions(session: Session = Depends(get_session)) -> list[MissionOut]:
    return [MissionOut.model_validate(m) for m in missions.list_missions(session)]


@router.post("", response_model=MissionOut, status_code=201)
def create_mission(body: MissionCreate, session: Session = Depends(get_session)) -> MissionOut:
    mission = missions.create_mission(session, **body.model_dump())
    session.commit()
    return MissionOut.model_validate(mission)


@router.get("/{mission_id}", response_model=MissionOut)
def get_mission(mission_id: MissionId, session: Session = Depends(get_session)) -> MissionOut:
    return MissionOut.model_validate(missions.get_mission(session, mission_id))


@router.post("/{mission_id}/runs", response_model=RunOut, status_code=201)
def start_run(
    mission_id: MissionId,
    body: RunCreate,
    session: Session = Depends(get_session),
    inst: Instruments = Depends(get_instruments),
) -> RunOut:
    return RunOut.model_validate(runs.start_run(session, inst, mission_id, body.user_id))
