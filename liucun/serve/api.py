"""The REST API: thin routes over the latest run's snapshot, the inbox and the planner.

Every ``/api/*`` route needs ``Authorization: Bearer KEY`` (keys from ``liucun apikey
create NAME``): a missing or unknown key is 401, a revoked one 403. Data comes from the
latest completed run (:class:`~liucun.serve.snapshot.Snapshots`); before the first run
those routes answer 503. No work that takes time runs on the event loop: routes are
plain functions (FastAPI runs them in its threadpool), and the routes that take a JSON
body read it themselves (never past its limit, :mod:`liucun.serve.limits`) and validate
it in a worker thread, so a slow plan or a large body never holds up the others. A 503
says only what the client can act on ("busy, retry" and Retry-After); the details (paths,
the process holding the warehouse) go to the server's log.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from liucun.data.inbox import IntakeError, append_events
from liucun.errors import LiucunError
from liucun.outputs import json_value, records
from liucun.serve import demand
from liucun.serve import schemas as s
from liucun.serve.intake import LiveRecommender
from liucun.serve.limits import too_large
from liucun.serve.snapshot import Snapshot, split_reasons
from liucun.tasks.assist import Assistant, assistant_config
from liucun.tasks.plan import plan
from liucun.tasks.reviews import MODEL_FILE, score_texts, sentiment_model
from liucun.warehouse import WarehouseBusy
from liucun.workspace import Workspace

log = logging.getLogger(__name__)

MAX_ERRORS = 20  # validation errors returned for one body: a 422 stays short
# Bytes of a POST /api/sentiment body: the most texts at the most characters, each
# character as a JSON escape at worst ("\\uXXXX" = 6 bytes), plus the syntax around them.
MAX_SENTIMENT_BODY = s.MAX_TEXTS * (s.MAX_TEXT_CHARS * 6 + 8) + 1024

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="API key",
    description="A key from `liucun apikey create NAME`, sent as `Authorization: Bearer KEY`.",
)


def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """401 for a missing or unknown key, 403 for a revoked one."""
    status = request.app.state.keys.check(credentials.credentials if credentials else None)
    if status == "ok":
        return
    if status == "revoked":
        raise HTTPException(
            403, "this API key was revoked: create a new one with `liucun apikey create NAME`"
        )
    raise HTTPException(
        401,
        "missing or unknown API key: send `Authorization: Bearer KEY` "
        "(create a key with `liucun apikey create NAME`)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def retry_later(request: Request, detail: str, why: Exception) -> HTTPException:
    """A 503 saying ``detail`` and when to retry; ``why`` (paths, a PID) goes to the log."""
    log.warning("%s %s: 503 %s (%s)", request.method, request.url.path, detail, why)
    seconds = request.app.state.serve_config["retry_after_s"]
    return HTTPException(503, detail, headers={"Retry-After": str(int(seconds))})


def current_snapshot(request: Request) -> Snapshot:
    """The latest completed run; 503 before the first one."""
    try:
        return request.app.state.snapshots.current()
    except LiucunError as e:
        raise retry_later(request, "no completed run yet: run `liucun run`", e) from None


_state_lock = threading.Lock()


def _once(state: Any, name: str, make: Callable[[], Any]) -> Any:
    """``state.<name>``, made by ``make()`` on first use (once, whatever the threads)."""
    got = getattr(state, name, None)
    if got is None:
        with _state_lock:
            got = getattr(state, name, None)
            if got is None:
                got = make()
                setattr(state, name, got)
    return got


def live_recommender(request: Request) -> LiveRecommender:
    """The app's live recommender, made on first use."""
    state = request.app.state
    return _once(state, "live", lambda: LiveRecommender(state.workspace))


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (default: the route's
    ``[serve]`` limit) before it is all read."""
    if limit is None:
        limit = request.app.state.body_limits.of(request.url.path)
    size = request.headers.get("content-length")
    too_big = HTTPException(413, too_large(limit))
    if size and size.isdigit() and int(size) > limit:
        raise too_big
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


EventList = Annotated[list[s.EventIn], Field(min_length=1, max_length=s.MAX_EVENTS)]
event_list = TypeAdapter(EventList)
sentiment_request = TypeAdapter(s.SentimentRequest)
plan_request = TypeAdapter(s.PlanRequest)
assist_request = TypeAdapter(s.AssistRequest)


def _validate(adapter: TypeAdapter[Any], body: bytes) -> Any:
    """The validated body, or FastAPI's usual 422 (``loc`` starts with ``body``): the first
    :data:`MAX_ERRORS` errors without the input, so a 422 is short whatever was sent."""
    try:
        return adapter.validate_json(body)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [{**x, "loc": ("body", *x["loc"])} for x in errors[:MAX_ERRORS]]
        ) from None


async def json_body(request: Request, adapter: TypeAdapter[Any], limit: int | None = None) -> Any:
    """The body read within its limit and validated in a worker thread, off the loop."""
    body = await read_body(request, limit)
    return await run_in_threadpool(_validate, adapter, body)


def body_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that reads its body with :func:`json_body`."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


class SentimentModels:
    """The workspace's sentiment model, loaded on first use and kept for the server's life.

    Loading takes up to a second (longer the very first time, in a workspace with no
    model file yet, when :func:`liucun.tasks.reviews.sentiment_model` fits and saves one), so it
    is done once, not per request; the model file's stat is looked at no more often than
    every ``check_seconds`` and a changed file (a ``liucun sentiment train``) is loaded
    again. The model is a file: the warehouse is never opened, so a run holding the
    DuckDB writer lock does not get in the way.
    """

    def __init__(self, workspace: FilePath, check_seconds: float = 5.0) -> None:

        self.workspace = FilePath(workspace)
        self.path = self.workspace / MODEL_FILE
        self.check_seconds = check_seconds
        self._loaded: tuple[Any, str] | None = None  # (model, model_id), swapped as one
        self._seen: tuple[float, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _stat(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime, st.st_size

    def current(self) -> tuple[Any, str]:
        """(model, model_id); LiucunError when no model could be loaded at all."""
        loaded = self._loaded
        if loaded is not None and time.monotonic() - self._checked < self.check_seconds:
            return loaded
        with self._lock:
            if self._loaded is None or time.monotonic() - self._checked >= self.check_seconds:
                self._refresh()
            if self._loaded is None:
                raise LiucunError(f"cannot load the sentiment model {self.path}")
            return self._loaded

    def _refresh(self) -> None:

        key = self._stat()
        self._checked = time.monotonic()
        if self._loaded is not None and key == self._seen:
            return
        try:
            # Workspace() only makes folders: the warehouse opens on first use, never here.
            self._loaded = sentiment_model(Workspace(self.workspace))
        except Exception:  # a file half written by a retrain: keep the old model
            if self._loaded is None:
                raise
            return
        self._seen = self._stat()  # sentiment_model may have just written the file


def sentiment_models(request: Request) -> SentimentModels:
    """The app's sentiment model holder, made on first use (the model loads later)."""
    state = request.app.state
    return _once(state, "sentiment", lambda: SentimentModels(state.workspace))


Snap = Annotated[Snapshot, Depends(current_snapshot)]
Live = Annotated[LiveRecommender, Depends(live_recommender)]
Sentiment = Annotated[SentimentModels, Depends(sentiment_models)]
UserId = Annotated[str, Path(min_length=1, max_length=s.MAX_ID)]

router = APIRouter()
api = APIRouter(prefix="/api", dependencies=[Depends(require_key)])


def _ref(snap: Snapshot) -> dict[str, str]:
    return {"run_id": snap.run_id, "as_of": snap.as_of}


@router.get("/health", tags=["health"])
def health(request: Request) -> s.Health:
    """Up, and which run is served (no key needed)."""
    try:
        snap = request.app.state.snapshots.current()
    except LiucunError:
        return s.Health(status="no run")
    return s.Health(status="ok", **_ref(snap))


@api.get(
    "/customers/{user_id}",
    tags=["customers"],
    responses={404: {"description": "No such customer in the latest run."}},
)
def customer(user_id: UserId, snap: Snap) -> s.CustomerProfile:
    """Profile, scores, segment and reasons of one customer."""
    row = snap.customer(user_id)
    if row is None:
        raise HTTPException(
            404, f"no customer {user_id!r} in run {snap.run_id} (as of {snap.as_of})"
        )
    return s.CustomerProfile(**{**row, **_ref(snap)})


@api.get(
    "/customers/{user_id}/recommendations",
    tags=["customers"],
    responses={404: {"description": "No such customer in the latest run."}},
)
def recommendations(
    user_id: UserId,
    snap: Snap,
    live: Live,
    k: Annotated[int, Query(ge=1, le=100, description="Items in the list.")] = 10,
) -> s.RecommendationList:
    """Top-k items: the run's list, or the live one after real-time events."""
    items = live.recommend(snap, user_id, k)
    is_live = items is not None
    if items is None:
        items = [
            {c: v for c, v in r.items() if c != "user_id"} for r in snap.recommendations(user_id, k)
        ]
        if not items and snap.customer(user_id) is None:
            raise HTTPException(
                404, f"no customer {user_id!r} in run {snap.run_id} (as of {snap.as_of})"
            )
    return s.RecommendationList(user_id=user_id, k=k, live=is_live, items=items, **_ref(snap))


@api.get("/segments", tags=["segments"])
def segments(snap: Snap) -> s.SegmentList:
    """One row per segment: customers, revenue share, suggested play."""
    return s.SegmentList(segments=snap.records("segments"), **_ref(snap))


@api.get("/at-risk", tags=["customers"])
def at_risk(
    snap: Snap,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Customers returned.")] = 100,
    segment: Annotated[str | None, Query(max_length=100, description="Only this segment.")] = None,
    band: Annotated[
        Literal["low", "medium", "high"] | None, Query(description="Only this risk band.")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Customers skipped first.")] = 0,
    include_prospects: Annotated[
        bool,
        Query(
            description="Bring back prospects (lifecycle stage `prospect`: never ordered), "
            "left out by default."
        ),
    ] = False,
    include_gone: Annotated[
        bool,
        Query(
            description="Bring back customers gone for good (lifecycle stage `churned`: no "
            "order for longer than 4× their usual time between orders and at least 120 "
            "days, by default), left out by default."
        ),
    ] = False,
) -> s.AtRiskList:
    """The list to act on: by default without prospects and customers gone for good;
    the largest value at stake first (p_churn × 365-day CLV), customers who ordered in
    the last few days last (``liucun.decide.at_risk``); with reasons in words (each says
    whether it raises or lowers the risk), days since the last order, and the plan's
    action and expected uplift."""
    try:
        df = snap.at_risk(
            limit, segment, band, offset, prospects=include_prospects, gone=include_gone
        )
    except LiucunError as e:
        raise HTTPException(503, str(e)) from None
    return s.AtRiskList(customers=records(df), **_ref(snap))


RISK_FIELDS = ("risk_score", "rule_score", "anomaly", "p_fraud_supervised")


@api.get(
    "/risk",
    tags=["risk"],
    responses={404: {"description": "The served run scored no risk."}},
)
def risk(
    snap: Snap,
    limit: Annotated[int, Query(ge=1, le=1000, description="Accounts returned.")] = 100,
    band: Annotated[
        Literal["low", "medium", "high"] | None, Query(description="Only this risk band.")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Accounts skipped first.")] = 0,
) -> s.RiskList:
    """The riskiest accounts first (fraud and coupon abuse): score, band, reasons, and the
    rules' and the anomaly detector's parts of the score."""
    bands = (band,) if band else None
    try:
        total = snap.risk_count(bands)
    except LiucunError as e:
        raise HTTPException(404, str(e)) from None
    rows = [
        {
            "user_id": str(r["user_id"]),
            "risk_band": str(r["risk_band"]),
            "risk_reasons": split_reasons(r.get("risk_reasons")),
            **{c: json_value(r[c]) for c in RISK_FIELDS if c in r},
        }
        for r in snap.risk(limit, bands, offset).to_dict(orient="records")
    ]
    return s.RiskList(total=total, rows=rows, **_ref(snap))


NOT_FORECAST = {404: {"description": "The id is not forecast, or the run has no forecast."}}


@api.get("/forecast", tags=["demand"], responses=NOT_FORECAST)
def forecast(
    snap: Snap,
    item_id: Annotated[
        str | None, Query(min_length=1, max_length=s.MAX_ID, description="One item's series.")
    ] = None,
    category: Annotated[
        str | None,
        Query(min_length=1, max_length=500, description="One category's (the items table's path)."),
    ] = None,
) -> demand.ForecastSeries:
    """Daily demand forecast of the latest run: ``date, forecast, lo, hi`` for each day of
    its horizon (``[forecast] horizon``, 28 by default), for an item, a category or, with
    neither, the whole shop. Units are those sold in orders not cancelled, by the shop's
    calendar day; ``[lo, hi]`` is the central interval (``interval``)."""
    if item_id is not None and category is not None:
        raise HTTPException(422, "give item_id or category, not both (neither: the whole shop)")
    try:
        level, rows = demand.forecast_series(snap, item_id, category)
    except (demand.NotInRun, demand.UnknownSeries) as e:
        raise HTTPException(404, str(e)) from None
    return demand.ForecastSeries(
        level=level,
        item_id=item_id,
        category=category,
        interval=demand.interval(snap),
        rows=demand.json_rows(rows),
        **_ref(snap),
    )


@api.get(
    "/inventory/alerts",
    tags=["demand"],
    responses={404: {"description": "The run has no stock data (no inventory ingested)."}},
)
def inventory_alerts(
    snap: Snap,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Items returned.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Items skipped first.")] = 0,
) -> demand.StockAlertList:
    """Items whose stock needs a look: ``stockout_risk`` first, soonest ``stockout_date``
    first (none in the horizon last), then ``overstock``; items that are ``ok`` are left
    out. With the figures behind each alert and the quantity to order now."""
    try:
        df = demand.alerts(snap)
    except demand.NotInRun as e:
        raise HTTPException(404, str(e)) from None
    rows = demand.json_rows(df.iloc[offset : offset + limit])
    items = demand.alert_counts(snap).get("items", 0)
    return demand.StockAlertList(total=len(df), items=items, rows=rows, **_ref(snap))


@api.get(
    "/pricing",
    tags=["demand"],
    responses={404: {"description": "The run has no elasticities (no priced sales)."}},
)
def pricing(
    snap: Snap,
    level: Annotated[
        Literal["category", "item"] | None, Query(description="Only categories or items.")
    ] = None,
) -> demand.PricingList:
    """Price elasticity per category (and item where the data allow) with its interval,
    the price changes it was learned from and the discount worth offering; fewer than
    ``[pricing] min_price_changes`` changes: no elasticity and a ``note`` saying so."""
    try:
        df = demand.pricing(snap)
    except demand.NotInRun as e:
        raise HTTPException(404, str(e)) from None
    if level is not None:
        df = df[df["level"] == level]
    return demand.PricingList(rows=demand.json_rows(df), **_ref(snap))


EVENTS_BODY = {
    "required": True,
    "description": f"1 to {s.MAX_EVENTS:,} events in the canonical shape.",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "minItems": 1,
                "maxItems": s.MAX_EVENTS,
                "items": s.EventIn.model_json_schema(),
            }
        }
    },
}


def _accept(
    workspace: Any, snapshots: Any, live: LiveRecommender, events: list[s.EventIn]
) -> s.EventsAccepted:
    rows = [e.model_dump() for e in events]
    try:
        path = append_events(workspace, rows)
    except IntakeError as e:
        detail = [
            {"type": "value_error", "loc": ["body", i, field], "msg": msg}
            for i, field, msg in e.problems
        ]
        raise HTTPException(422, detail) from None
    try:
        snap = snapshots.current()
    except LiucunError:
        return s.EventsAccepted(
            accepted=len(rows),
            file=path.name,
            recommendations_updated=False,
            note="no run yet: recommendations not updated",
        )
    seen = live.observe(snap, rows, path)
    return s.EventsAccepted(
        accepted=len(rows),
        file=path.name,
        recommendations_updated=seen.updated,
        users_updated=seen.users,
        note=seen.note,
    )


@api.post(
    "/events",
    tags=["events"],
    status_code=202,
    openapi_extra={"requestBody": EVENTS_BODY},
    responses={413: {"description": "Body too large."}, 422: {"description": "Bad events."}},
)
async def post_events(request: Request, live: Live) -> s.EventsAccepted:
    """Real-time intake: written to the inbox now, loaded by the next `liucun run`;
    item events update the customer's recommendations at once.

    The body is read only after the key is checked, and never past its size limit.
    """
    events = await json_body(request, event_list)
    state = request.app.state
    return await run_in_threadpool(_accept, state.workspace, state.snapshots, live, events)


_plan_lock = threading.Lock()  # one plan at a time: each fits uplift models


INTERVAL_KEYS = ("expected_uplift_lo", "expected_uplift_hi", "outcome_days")


def _make_plan(request: Request, snap: Snapshot, req: s.PlanRequest) -> Any:
    """(the summary without rows, the plan frame), or the reason nothing can be planned."""
    with Workspace(request.app.state.workspace) as ws:
        try:
            ws.warehouse.con  # noqa: B018 (open now: busy is 503, not 409)
        except WarehouseBusy as e:  # a run or an ingest is writing
            raise retry_later(request, "busy, retry", e) from None
        except LiucunError as e:  # a damaged or unreadable file: details in the log
            raise retry_later(request, "warehouse unavailable, retry", e) from None
        feats = snap.run_dir / "features.parquet"
        scores = snap.frames.get("scores")
        try:
            r = plan(
                ws,
                dt.date.fromisoformat(snap.as_of),
                budget=req.budget,
                horizon=req.horizon,
                features=pd.read_parquet(feats) if feats.exists() else None,
                context=None if scores is None else scores.reset_index(drop=True),
            )
        except LiucunError as e:
            return f"cannot plan as of {snap.as_of}: {e}"
    st = r.stats
    summary = {
        **_ref(snap),
        **{k: st[k] for k in ("budget", "horizon_days", "spend", "planned", "control")},
        "by_action": st["by_action"],
        "expected_uplift": st["expected_uplift"],
        **{k: st[k] for k in INTERVAL_KEYS if k in st},
        "first_test": bool(st.get("first_test", False)),
        "evidence": st.get("evidence"),
        "total_rows": len(r.plan),
    }
    return summary, r.plan


def _plan(request: Request, snap: Snapshot, req: s.PlanRequest) -> dict[str, Any]:
    """The plan of (run, budget, horizon), made once and then served from the cache."""
    state = request.app.state
    key = state.plans.key(state.workspace, snap.run_id, req.budget, req.horizon)
    got = state.plans.get(key)
    if got is None:
        with _plan_lock:
            got = state.plans.get(key)  # made by the request this one waited for
            if got is None:
                got = _make_plan(request, snap, req)
                state.plans.put(key, got)
    if isinstance(got, str):
        raise HTTPException(409, got)
    summary, frame = got
    return {**summary, "rows": records(frame.head(req.rows))}


@api.post(
    "/campaigns/plan",
    tags=["campaigns"],
    openapi_extra={"requestBody": body_doc(s.PlanRequest, "The budget and the window.")},
    responses={
        409: {"description": "Nothing to plan from (no randomised campaigns)."},
        413: {"description": "Body too large."},
        503: {"description": "The warehouse is busy (a run or an ingest): retry."},
    },
)
async def campaigns_plan(request: Request, snap: Snap) -> s.PlanSummary:
    """Next best action per customer under a budget, as of the served run's date.

    Planning takes a while; the same run and parameters are planned once and then
    answered from a cache."""
    req = await json_body(request, plan_request)
    return s.PlanSummary(**await run_in_threadpool(_plan, request, snap, req))


SENTIMENT_BODY = {
    "required": True,
    "description": f"1 to {s.MAX_TEXTS:,} texts of at most {s.MAX_TEXT_CHARS:,} characters.",
    "content": {"application/json": {"schema": s.SentimentRequest.model_json_schema()}},
}


def _score(request: Request, models: SentimentModels, texts: list[str]) -> s.SentimentList:

    try:
        model, model_id = models.current()
    except Exception as e:  # a broken model file must not be a bare 500
        raise retry_later(request, "sentiment model unavailable, retry", e) from None
    scored = score_texts(texts, model)
    results = [
        s.SentimentResult(text=text, label=label, p_positive=float(p), lang=str(lang))
        for text, label, p, lang in zip(
            texts, scored["label"], scored["p_positive"], scored["lang"], strict=True
        )
    ]
    return s.SentimentList(model=model_id, results=results)


@api.post(
    "/sentiment",
    tags=["reviews"],
    openapi_extra={"requestBody": SENTIMENT_BODY},
    responses={
        413: {"description": "Body too large."},
        422: {"description": "No texts, too many, or one too long."},
        503: {"description": "The sentiment model could not be loaded."},
    },
)
async def sentiment(request: Request, models: Sentiment) -> s.SentimentList:
    """Sentiment of each text with the workspace's model: label, P(positive), language.

    Needs no run. The body is read only after the key is checked, and never past its
    size limit; the model loads once and is reused (reloaded when it is retrained).
    """
    limit = min(MAX_SENTIMENT_BODY, request.app.state.body_limits.bulk)
    req = await json_body(request, sentiment_request, limit)
    return await run_in_threadpool(_score, request, models, req.texts)


def _assistant(state: Any) -> Any:
    """The shop's assistant, built once per server from liucun.toml's [assist] (about a
    second: jieba and the intent fit); its FAQ and examples files are cached by stat."""

    def make() -> Any:
        ws = Workspace(state.workspace)  # reads liucun.toml; the warehouse stays closed
        return Assistant(assistant_config(ws.config, root=ws.path))

    return _once(state, "assistant", make)


def _answer(request: Request, question: str) -> s.AssistAnswer:
    try:
        assistant = _assistant(request.app.state)
    except LiucunError as e:
        raise retry_later(request, "assistant unavailable, retry", e) from None
    return s.AssistAnswer(**assistant.answer(question))


@api.post(
    "/assist",
    tags=["reviews"],
    openapi_extra={"requestBody": body_doc(s.AssistRequest, "The customer's question.")},
    responses={
        413: {"description": "Body too large."},
        503: {"description": "The FAQ or intent examples could not be read."},
    },
)
async def assist(request: Request) -> s.AssistAnswer:
    """A customer question (zh or en): its intent, the best FAQ answers with scores, and a
    reply, or a hand-over to a person when no answer scores above the threshold."""
    req = await json_body(request, assist_request)
    return await run_in_threadpool(_answer, request, req.question)


router.include_router(api)
