"""Mission runs on SQLite and PostgreSQL: approve/reject/expire, exactly-once reward, the sweep."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.domain import runs
from app.domain.errors import RunAlreadyCompleted
from app.domain.models import WalletTransaction
from tests.unit.app.helpers import CITY_HALL, FAR_AWAY, gps, start_run


def test_gps_inside_geofence_approves_and_credits_reward(db_client: TestClient) -> None:
    run = start_run(db_client, "alice")
    assert run["status"] == "pending_gps"
    r = gps(db_client, run["id"], CITY_HALL[0] + 0.0005, CITY_HALL[1])  # ~55 m from the centre
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    assert 50 < r.json()["distance_m"] < 60
    assert db_client.get("/api/wallets/alice").json() == {"user_id": "alice", "balance": 100}
    txs = db_client.get("/api/wallets/alice/transactions").json()
    assert [(t["type"], t["amount"], t["run_id"]) for t in txs] == [
        ("mission_reward", 100, run["id"])
    ]
    assert db_client.get(f"/api/runs/{run['id']}").json()["status"] == "approved"


def test_gps_outside_geofence_rejects_without_reward(db_client: TestClient) -> None:
    run = start_run(db_client, "bob")
    r = gps(db_client, run["id"], *FAR_AWAY)
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    assert r.json()["distance_m"] > 300_000
    assert db_client.get("/api/wallets/bob").status_code == 404  # never credited


def test_repeated_submission_never_credits_twice(db_client: TestClient) -> None:
    run = start_run(db_client, "carol")
    assert gps(db_client, run["id"], *CITY_HALL).json()["status"] == "approved"
    again = gps(db_client, run["id"], *CITY_HALL)
    assert again.status_code == 409
    assert again.json() == {
        "error": "run_already_completed",
        "message": f"run '{run['id']}' is already completed with status 'approved'",
    }
    assert db_client.get("/api/wallets/carol").json()["balance"] == 100


def test_late_gps_expires_the_run(db_client: TestClient) -> None:
    app = db_client.app
    run = start_run(db_client, "dave", mission_id=4)  # "Coffee sprint": 5 s limit
    inst = app.state.instruments  # type: ignore[attr-defined]
    real_clock = inst.clock
    inst.clock = lambda: real_clock() + 6.0
    try:
        r = gps(db_client, run["id"], 37.5700, 126.9920)  # right on target, but too late
    finally:
        inst.clock = real_clock
    assert r.json()["status"] == "expired"
    assert db_client.get("/api/wallets/dave").status_code == 404


def test_sweep_expires_only_stale_pending_runs(db_client: TestClient) -> None:
    app = db_client.app
    stale = start_run(db_client, "erin", mission_id=4)  # 5 s limit
    fresh = start_run(db_client, "erin", mission_id=1)  # 600 s limit
    inst = app.state.instruments  # type: ignore[attr-defined]
    real_clock = inst.clock
    inst.clock = lambda: real_clock() + 10.0
    try:
        assert app.state.sweep_once() == 1  # type: ignore[attr-defined]
        assert app.state.sweep_once() == 0  # type: ignore[attr-defined]
    finally:
        inst.clock = real_clock
    assert db_client.get(f"/api/runs/{stale['id']}").json()["status"] == "expired"
    assert db_client.get(f"/api/runs/{fresh['id']}").json()["status"] == "pending_gps"
    # A GPS fix for the swept run is refused, and nothing is credited.
    assert gps(db_client, stale["id"], 37.57, 126.992).status_code == 409


def test_racing_gps_submissions_credit_exactly_once(db_client: TestClient) -> None:
    """Many threads submit the same winning fix at once: one approval, one reward."""
    app = db_client.app
    factory = app.state.session_factory  # type: ignore[attr-defined]
    inst = app.state.instruments  # type: ignore[attr-defined]
    n_runs, n_threads = 5, 8
    run_ids = [start_run(db_client, "racer")["id"] for _ in range(n_runs)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(run_id: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        with factory() as session:
            try:
                runs.submit_gps(session, inst, run_id, *CITY_HALL)
                result = "approved"
            except RunAlreadyCompleted:
                result = "conflict"
        with lock:
            outcomes.append(result)

    for run_id in run_ids:
        barrier = threading.Barrier(n_threads)
        threads = [
            threading.Thread(target=submit, args=(run_id, barrier)) for _ in range(n_threads)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert outcomes.count("approved") == n_runs
    assert outcomes.count("conflict") == n_runs * (n_threads - 1)
    assert db_client.get("/api/wallets/racer").json()["balance"] == 100 * n_runs
    with factory() as session:
        n_rewards = session.scalar(
            select(func.count())
            .select_from(WalletTransaction)
            .where(WalletTransaction.user_id == "racer")
        )
    assert n_rewards == n_runs
    metrics = app.state.metrics  # type: ignore[attr-defined]
    assert metrics.run_completed.labels("approved")._value.get() == n_runs
    assert metrics.wallet_transactions.labels("mission_reward")._value.get() == n_runs


def test_unknown_run_and_mission_are_404(db_client: TestClient) -> None:
    r = db_client.get("/api/runs/doesnotexist")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "run 'doesnotexist' not found"}
    r = gps(db_client, "doesnotexist", *CITY_HALL)
    assert r.status_code == 404
    r = db_client.post("/api/missions/999/runs", json={"user_id": "u"})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "mission 999 not found"}
