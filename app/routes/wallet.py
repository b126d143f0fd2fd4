"""Wallets: balance, transaction history, withdrawals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from app.domain import wallet
from app.domain.context import Instruments
from app.routes.deps import get_instruments, get_session
from app.schemas import TransactionOut, WalletOut, Withdrawal

router = APIRouter(prefix="/api/wallets", tags=["wallet"])
UserIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:-]+$")]


@router.get("/{user_id}", response_model=WalletOut)
def get_wallet(user_id: UserIdPath, session: Session = Depends(get_session)) -> WalletOut:
    w = wallet.get_wallet(session, user_id)
    return WalletOut(user_id=w.user_id, balance=w.balance)


@router.get("/{user_id}/transactions", response_model=list[TransactionOut])
def list_transactions(
    user_id: UserIdPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    session: Session = Depends(get_session),
) -> list[TransactionOut]:
    return [
        TransactionOut.model_validate(t) for t in wallet.list_transactions(session, user_id, limit)
    ]


@router.post("/{user_id}/withdrawals", response_model=TransactionOut, status_code=201)
def withdraw(
    user_id: UserIdPath,
    body: Withdrawal,
    session: Session = Depends(get_session),
    inst: Instruments = Depends(get_instruments),
) -> TransactionOut:
    return TransactionOut.model_validate(wallet.withdraw(session, inst, user_id, body.amount))
