"""Wallet on SQLite and PostgreSQL: withdrawals, never below zero under races, money conserved."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.domain import wallet
from app.domain.errors import InsufficientFunds
from app.domain.models import Wallet, WalletTransaction
from tests.unit.app.helpers import earn


def test_withdrawal_reduces_balance_and_is_recorded(db_client: TestClient) -> None:
    earn(db_client, "alice", times=2)
    r = db_client.post("/api/wallets/alice/withdrawals", json={"amount": 150})
    assert r.status_code == 201
    assert r.json()["type"] == "withdrawal"
    assert r.json()["amount"] == -150
    assert db_client.get("/api/wallets/alice").json()["balance"] == 50
    txs = db_client.get("/api/wallets/alice/transactions").json()
    assert [(t["type"], t["amount"]) for t in txs] == [
        ("withdrawal", -150),
        ("mission_reward", 100),
        ("mission_reward", 100),
    ]


def test_withdrawing_more_than_balance_is_409_and_changes_nothing(db_client: TestClient) -> None:
    earn(db_client, "bob")
    r = db_client.post("/api/wallets/bob/withdrawals", json={"amount": 101})
    assert r.status_code == 409
    assert r.json() == {
        "error": "insufficient_funds",
        "message": "cannot withdraw 101 points: balance is 100 points",
    }
    assert db_client.get("/api/wallets/bob").json()["balance"] == 100
    # The whole balance can be withdrawn, down to exactly zero.
    assert db_client.post("/api/wallets/bob/withdrawals", json={"amount": 100}).status_code == 201
    assert db_client.get("/api/wallets/bob").json()["balance"] == 0


def test_unknown_wallet_is_404(db_client: TestClient) -> None:
    for r in (
        db_client.get("/api/wallets/nobody"),
        db_client.get("/api/wallets/nobody/transactions"),
        db_client.post("/api/wallets/nobody/withdrawals", json={"amount": 1}),
    ):
        assert r.status_code == 404
        assert r.json() == {"error": "not_found", "message": "wallet of user 'nobody' not found"}


def test_parallel_withdrawals_never_overdraw(db_client: TestClient) -> None:
    """10 threads each try to withdraw 30 from a balance of 100: exactly 3 succeed."""
    app = db_client.app
    earn(db_client, "carol")
    factory = app.state.session_factory  # type: ignore[attr-defined]
    inst = app.state.instruments  # type: ignore[attr-defined]
    barrier = threading.Barrier(10)
    results: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        with factory() as session:
            try:
                wallet.withdraw(session, inst, "carol", 30)
                outcome = "ok"
            except InsufficientFunds:
                outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["ok"] * 3 + ["refused"] * 7
    assert db_client.get("/api/wallets/carol").json()["balance"] == 10
    # Money is neither created nor lost: the balance equals the sum of the transactions.
    with factory() as session:
        total = session.scalar(
            select(func.sum(WalletTransaction.amount)).where(WalletTransaction.user_id == "carol")
        )
        balance = session.scalar(select(Wallet.balance).where(Wallet.user_id == "carol"))
    assert total == balance == 10
    metrics = app.state.metrics  # type: ignore[attr-defined]
    assert metrics.wallet_transactions.labels("withdrawal")._value.get() == 3


def test_wallet_balance_metric_is_read_from_the_database(db_client: TestClient) -> None:
    earn(db_client, "dave", times=3)
    earn(db_client, "erin")
    db_client.post("/api/wallets/dave/withdrawals", json={"amount": 50})
    text = db_client.get("/api/metrics").text
    assert "wallet_balance 350.0" in text.splitlines()
