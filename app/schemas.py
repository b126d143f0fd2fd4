"""Request and response bodies (pydantic). Requests are strict: wrong types and unknown fields are
rejected with a 422 that names the field, instead of being coerced."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

UserId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:-]+$")
]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MissionCreate(StrictBody):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    reward_points: int = Field(gt=0, le=1_000_000)
    latitude: Latitude
    longitude: Longitude
    radius_m: float = Field(gt=0, le=100_000, allow_inf_nan=False)
    time_limit_seconds: int = Field(gt=0, le=7 * 24 * 3600)


class MissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    reward_points: int
    latitude: float
    longitude: float
    radius_m: float
    time_limit_seconds: int


class RunCreate(StrictBody):
    user_id: UserId


class GpsFix(StrictBody):
    latitude: Latitude
    longitude: Longitude


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    mission_id: int
    user_id: str
    status: str
    started_at: float
    deadline_at: float
    completed_at: float | None
    distance_m: float | None


class Withdrawal(StrictBody):
    amount: int = Field(gt=0, le=10**12)


class WalletOut(BaseModel):
    user_id: str
    balance: int


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    type: str
    amount: int
    run_id: str | None
    created_at: float
