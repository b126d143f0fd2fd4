"""Wallet rules: balances only change together with a transaction row, never below zero.

Both credit and withdrawal are single conditional UPDATEs, atomic on SQLite and PostgreSQL alike,
so racing requests cannot overdraw a wallet or lose an update.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.context import Instruments
from app.domain.errors import InsufficientFunds, NotFound
from app.domain.models import Wallet, WalletTransaction
from app.observability.logging import log_event

log = logging.getLogger("app.wallet")

MISSION_REWARD = "mission_reward"
WITHDRAWAL = "withdrawal"


def _ensure_wallet(session: Session, user_id: str) -> None:
    """Create the wallet row if missing; safe when two requests create it at once."""
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert(Wallet) if dialect == "postgresql" else sqlite.insert(Wallet)
    session.execute(
        ins.values(user_id=user_id, balance=0).on_conflict_do_nothing(index_elements=["user_id"])
    )


def credit_reward(session: Session, user_id: str, amount: int, run_id: str, now: float) -> None:
    """Credit a run's reward inside the caller's transaction (the caller commits)."""
    _ensure_wallet(session, user_id)
    session.execute(
        update(Wallet).where(Wallet.user_id == user_id).values(balance=Wallet.balance + amount)
    )
    session.add(
        WalletTransaction(
            user_id=user_id, type=MISSION_REWARD, amount=amount, run_id=run_id, created_at=now
        )
    )


def get_wallet(session: Session, user_id: str) -> Wallet:
    wallet = session.get(Wallet, user_id)
    if wallet is None:
        raise NotFound(f"wallet of user '{user_id}' not found")
    return wallet


def list_transactions(session: Session, user_id: str, limit: int = 100) -> list[WalletTransaction]:
    get_wallet(session, user_id)
    stmt = (
        select(WalletTransaction)
        .where(WalletTransaction.user_id == user_id)
        .order_by(WalletTransaction.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def withdraw(session: Session, inst: Instruments, user_id: str, amount: int) -> WalletTransaction:
    """Take `amount` points out; InsufficientFunds if the balance would go below zero."""
    with inst.tracer.start_as_current_span("wallet.withdraw") as span:
        span.set_attribute("user.id", user_id)
        span.set_attribute("withdrawal.amount", amount)
        get_wallet(session, user_id)
        result = session.execute(
            update(Wallet)
            .where(Wallet.user_id == user_id, Wallet.balance >= amount)
            .values(balance=Wallet.balance - amount)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            balance = get_wallet(session, user_id).balance
            span.set_attribute("withdrawal.outcome", "insufficient_funds")
            log_event(
                log,
                logging.INFO,
                "wallet.withdraw.insufficient_funds",
                user_id=user_id,
                amount=amount,
                balance=balance,
            )
            raise InsufficientFunds(f"cannot withdraw {amount} points: balance is {balance} points")
        tx = WalletTransaction(
            user_id=user_id, type=WITHDRAWAL, amount=-amount, run_id=None, created_at=inst.clock()
        )
        session.add(tx)
        session.commit()
        span.set_attribute("withdrawal.outcome", "success")
        inst.metrics.wallet_transaction_inc(WITHDRAWAL)
        log_event(log, logging.INFO, "wallet.withdraw.success", user_id=user_id, amount=amount)
        return tx
