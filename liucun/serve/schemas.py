"""Request and response bodies of the REST API, named by the role they play.

Responses that come from a run carry its ``run_id`` and ``as_of``, so a client can tell
which daily run answered. Response models allow extra fields: a run may write more
columns than the ones named here, and they are passed on rather than dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from liucun.schema import EVENT_TYPES

MAX_EVENTS = 10_000  # events per POST /api/events
MAX_ID = 200  # characters of an id
MAX_PROPERTIES = 2_000  # characters of an event's properties, as JSON
MAX_TEXTS = 1_000  # texts per POST /api/sentiment
MAX_TEXT_CHARS = 5_000  # characters of one text

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
RiskBand = Literal["low", "medium", "high"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class RunRef(_Out):
    run_id: str = Field(description="The daily run that answered.")
    as_of: str = Field(description="Its as-of date: the run read only data before it.")


class Health(BaseModel):
    status: Literal["ok", "no run"] = Field(
        description="'ok' when a completed run is served, 'no run' before the first one."
    )
    run_id: str | None = None
    as_of: str | None = None


class PlannedAction(_Out):
    action: str
    expected_uplift: float | None = None
    cost: float | None = None
    reason: str | None = None


class FraudRisk(_Out):
    """Fraud and coupon-abuse risk of an account (not churn: see ``risk_band``)."""

    risk_score: float | None = Field(None, description="0 to 1, higher = riskier.")
    risk_band: RiskBand | None = Field(
        None, description="high (kept out of coupon actions), medium or low."
    )
    risk_reasons: list[str] = Field(
        default_factory=list, description="What the rules and the anomaly detector saw."
    )


class CustomerProfile(RunRef):
    """Profile, scores, segment and reasons of one customer in the latest run."""

    user_id: str
    segment: str | None = None
    lifecycle_stage: str | None = None
    cluster_name: str | None = None
    tags: str | None = Field(None, description="Comma-separated profile tags.")
    p_churn: float | None = Field(None, description="P(no purchase in the horizon).")
    expected_orders: float | None = None
    expected_revenue: float | None = None
    clv_365d: float | None = None
    risk_band: str | None = None
    reasons: str | None = Field(None, description="The top drivers of p_churn, in words.")
    planned_action: PlannedAction | None = None
    interest_keywords: list[str] | None = Field(
        None,
        description="Words that best describe what the customer browsed and bought lately "
        "(most telling first); absent when the run computed none for them.",
    )
    fraud_risk: FraudRisk | None = Field(
        None,
        description="Fraud and coupon-abuse risk of the account; absent when the run scored "
        "no risk. Not the churn risk: that is risk_band.",
    )


class Recommendation(_Out):
    rank: int
    item_id: str
    score: float | None = None
    source: str | None = Field(None, description="The candidate source that ranked it best.")


class RecommendationList(RunRef):
    user_id: str
    k: int
    live: bool = Field(
        description="True when the list comes from the live recommender (events received "
        "since the run), false when it is the run's list."
    )
    items: list[Recommendation]


class SegmentRow(_Out):
    segment: str
    customers: int
    revenue_share: float | None = None
    suggested_play: str | None = None


class SegmentList(RunRef):
    segments: list[SegmentRow]


class AtRiskCustomer(_Out):
    user_id: str
    p_churn: float | None = None
    value_at_risk: float | None = Field(None, description="p_churn × 365-day CLV.")
    clv_365d: float | None = None
    segment: str | None = None
    lifecycle_stage: str | None = None
    risk_band: str | None = None
    reasons: str | None = None
    action: str | None = Field(None, description="The run's planned action, if any.")


class AtRiskList(RunRef):
    customers: list[AtRiskCustomer]


class RiskAccount(_Out):
    user_id: str
    risk_score: float | None = Field(None, description="0 to 1, higher = riskier.")
    risk_band: RiskBand
    risk_reasons: list[str] = Field(description="What the rules and the anomaly detector saw.")
    rule_score: float | None = Field(None, description="The rules' part of the score.")
    anomaly: float | None = Field(
        None, description="How unusual the account's behaviour is (0 to 1, IsolationForest rank)."
    )
    p_fraud_supervised: float | None = Field(
        None,
        description="Cross-fitted P(fraud) from the shop's labels; null when the run had "
        "too few labelled accounts to fit one.",
    )


class RiskList(RunRef):
    total: int = Field(description="Accounts matching the filter.")
    rows: list[RiskAccount] = Field(description="The riskiest accounts first.")


class EventIn(BaseModel):
    """One event in the canonical shape of the ``events`` table."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    user_id: str = Field(min_length=1, max_length=MAX_ID)
    ts: dt.datetime = Field(
        description="ISO 8601 or seconds since 1970; a naive time is read in the "
        "workspace's [ingest] timezone (UTC by default)."
    )
    event_type: EventType
    item_id: str | None = Field(None, max_length=MAX_ID)
    session_id: str | None = Field(None, max_length=MAX_ID)
    value: float | None = Field(None, description="The rating of a 'rate' event, an amount.")
    properties: dict[str, Any] | None = Field(
        None, description=f"Free attributes (a JSON object, at most {MAX_PROPERTIES} chars)."
    )

    @field_validator("user_id", "item_id", "session_id", mode="after")
    @classmethod
    def _trimmed(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        return v or None

    @field_validator("user_id", mode="after")
    @classmethod
    def _user_given(cls, v: str | None) -> str:
        if not v:
            raise ValueError("user_id must not be blank")
        return v

    @field_validator("event_type", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v

    @field_validator("properties")
    @classmethod
    def _small(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(json.dumps(v, ensure_ascii=False)) > MAX_PROPERTIES:
            raise ValueError(f"properties must be at most {MAX_PROPERTIES} characters as JSON")
        return v


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events written to the inbox.")
    file: str = Field(description="The inbox file; the next `liucun run` ingests it.")
    recommendations_updated: bool = Field(
        description="Whether the live recommender took the item events in."
    )
    users_updated: list[str] = Field(
        default_factory=list, description="Customers whose next recommendations are live."
    )
    note: str | None = None


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: float = Field(gt=0, le=1e12, description="Money to spend: Σ cost ≤ budget.")
    horizon: int | None = Field(
        None, ge=1, le=3650, description="Outcome window in days (default: liucun.toml)."
    )
    rows: int = Field(100, ge=0, le=10_000, description="Plan rows returned (first ones).")


class PlanRow(_Out):
    user_id: str
    action: str
    expected_uplift: float
    cost: float
    segment: str | None = None
    p_churn: float | None = None
    reason: str | None = None
    uplift_lo: float | None = None
    uplift_hi: float | None = None
    planned: str | None = Field(None, description="For control rows: the action held back.")
    explore: bool | None = Field(None, description="Part of the randomised exploration arm.")


class PlanSummary(RunRef):
    budget: float
    horizon_days: int
    spend: float
    planned: int = Field(description="Customers given an action (control rows excluded).")
    control: int = Field(description="Customers held out at random as the control group.")
    by_action: dict[str, int]
    expected_uplift: float = Field(description="Σ expected uplift of the planned customers.")
    expected_uplift_lo: float | None = Field(None, description="Lower end of its interval.")
    expected_uplift_hi: float | None = Field(None, description="Upper end of its interval.")
    outcome_days: int | None = Field(None, description="Days the evidence measured.")
    first_test: bool = Field(False, description="No history: the plan is a first test.")
    evidence: dict[str, dict[str, Any]] | None = Field(
        None, description="Per action: measured net effect per contact, interval, status."
    )
    total_rows: int
    rows: list[PlanRow] = Field(description="The first plan rows.")


class SentimentRequest(BaseModel):
    """Texts to score: reviews, chat lines, survey answers (Chinese, English or mixed)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS:,} texts of at most {MAX_TEXT_CHARS:,} characters each.",
    )


class SentimentResult(BaseModel):
    text: str
    label: Literal["positive", "negative"] = Field(description="positive when p_positive ≥ 0.5.")
    p_positive: float = Field(ge=0, le=1, description="P(the text is positive).")
    lang: str = Field(
        description="zh, en, mixed, or empty for a text with no letters (emoji, digits)."
    )


class SentimentList(BaseModel):
    model: str = Field(
        description="The sentiment model that answered: changes when the workspace's model "
        "is retrained (`liucun sentiment train`)."
    )
    results: list[SentimentResult] = Field(description="One per text, in the order sent.")


class AssistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="The customer's question.")


class AssistHit(BaseModel):
    question: str
    answer: str
    score: float = Field(description="Retrieval score in [0, 1].")


class AssistAnswer(BaseModel):
    question: str
    language: str = Field(description="zh, en, mixed, or empty.")
    intent: str = Field(
        description="refund, delivery, coupon, size, account, other (or [assist] intents)."
    )
    intent_p: float
    answers: list[AssistHit] = Field(description="The top FAQ entries, also when handed over.")
    handover: bool = Field(
        description="True: no answer scored above the threshold; a person takes over."
    )
    reply: str
    source: Literal["llm", "faq", "handover"]
