"""ORM models. Times are stored as UNIX epoch seconds (floats) so SQLite and PostgreSQL agree."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Mission(Base):
    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    reward_points: Mapped[int] = mapped_column(BigInteger)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    time_limit_seconds: Mapped[int] = mapped_column(Integer)


class MissionRun(Base):
    __tablename__ = "mission_runs"
    __table_args__ = (Index("ix_runs_status_deadline", "status", "deadline_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)


class Wallet(Base):
    __tablename__ = "wallets"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("wallets.user_id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    # Signed: rewards positive, withdrawals negative, so SUM(amount) == balance always.
    amount: Mapped[int] = mapped_column(BigInteger)
    # Unique: a run can be rewarded at most once, enforced by the database too.
    run_id: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
