"""Request dependencies: a database session per request and the app's instruments."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from app.domain.context import Instruments


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def get_instruments(request: Request) -> Instruments:
    inst: Instruments = request.app.state.instruments
    return inst
