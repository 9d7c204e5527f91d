"""Pydantic models of the gateway's HTTP API (they make the OpenAPI document at /openapi.json).

Request bodies are *read* by the strict JSON reader (:mod:`zkmargin.formats.jsonio`) and the
protocol's typed parsers, not by pydantic: the models here describe them for the API
document, and type the answers.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChallengeRequest(_Model):
    venue: str = Field(..., description="venue name, as in its parameter file", examples=["VenueA"])
    epoch: int = Field(..., ge=0, lt=1 << 64, description="the epoch to prove for", examples=[20240524])


class Challenge(_Model):
    nonce: str = Field(..., description="decimal, < 2^128: prove with `zkmargin prove --nonce`")
    venue: str
    epoch: int
    issued_at: str
    expires_at: str = Field(..., description="ISO 8601, UTC")
    expires_at_ms: int


class Failure(_Model):
    name: str = Field(..., description="the failed check, as `zkmargin verify` names it, or `gateway nonce`, "
                                       "`bundle format`, `parameter file`, `verifying key`")
    reason: str


class Submission(_Model):
    status: Literal["accepted", "rejected"]
    id: Optional[str] = Field(None, description="the submission's id (an accepted one: the acceptance's)")
    duplicate: bool = Field(False, description="the identical bundle had been accepted before: this is its id")
    failures: list[Failure] = []
    notes: list[str] = []
    claim: Optional[dict] = Field(None, description="what was proven (accepted only)")


class Account(_Model):
    commitment: str
    epoch: int
    status: Literal["solvent", "expired", "rejected", "unknown"]
    buffer: Optional[float] = None
    buffer_bps: Optional[int] = None
    proven_epoch: Optional[int] = Field(None, description="solvent: this epoch; expired: the last proven one")
    submission_id: Optional[str] = None
    venue: Optional[str] = None
    at_ms: Optional[int] = None
    failures: Optional[list[Failure]] = None


class Latency(_Model):
    p50: Optional[float] = None
    p90: Optional[float] = None
    p99: Optional[float] = None
    max: Optional[float] = None
    count: int = 0


class EpochClosed(_Model):
    venue: str
    next_epoch: int
    closed_at_ms: int


class EpochSummary(_Model):
    epoch: int
    venue: Optional[str] = None
    accepted: int
    rejected: int
    outstanding: int = Field(..., description="challenges issued, unused and unexpired")
    expired_challenges: int
    challenges_issued: int
    latency_ms: Latency = Field(..., description="receipt to decision, milliseconds")
    closed: list[EpochClosed]
    margin_calls: int


class CloseEpoch(_Model):
    venue: str
    epoch: int = Field(..., ge=0)
    next_epoch: Optional[int] = Field(None, ge=0, description="default: the venue's next registered epoch")


class EpochCloseResult(_Model):
    venue: str
    epoch: int
    next_epoch: int
    closed: bool
    new: bool
    margin_calls: int


class Event(_Model):
    id: int
    at_ms: int
    at: str
    kind: Literal["margin_call", "epoch_closed"]
    venue: str
    epoch: int
    next_epoch: int
    commitment: Optional[str] = None
    detail: str


class Registered(_Model):
    model_config = ConfigDict(extra="allow")
    registered: str


class Health(_Model):
    status: Literal["ok"]
    database: str
    schema_version: int
    uptime_s: float


class Problem(_Model):
    detail: str


__all__ = ["ChallengeRequest", "Challenge", "Failure", "Submission", "Account", "EpochSummary", "CloseEpoch",
           "EpochCloseResult", "Event", "Registered", "Health", "Problem"]
