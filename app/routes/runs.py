"""Mission runs: read one, submit its GPS fix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from app.domain import runs
from app.domain.context import Instruments
from app.routes.deps import get_instruments, get_session
from app.schemas import GpsFix, RunOut

router = APIRouter(prefix="/api/runs", tags=["runs"])
RunId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/{run_id}", response_model=RunOut)
def get_run(run_id: RunId, session: Session = Depends(get_session)) -> RunOut:
    return RunOut.model_validate(runs.get_run(session, run_id))


@router.post("/{run_id}/gps", response_model=RunOut)
def submit_gps(
    run_id: RunId,
    body: GpsFix,
    session: Session = Depends(get_session),
    inst: Instruments = Depends(get_instruments),
) -> RunOut:
    run = runs.submit_gps(session, inst, run_id, body.latitude, body.longitude)
    return RunOut.model_validate(run)
