"""The dashboard's pages: one route each, over the data :mod:`.views` shapes.

Every page starts from :data:`~liucun.serve.web.context.OpenPage` (language, key check,
served run), so a route holds only what its page shows.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from liucun import look
from liucun.decide.at_risk import RECENT_DAYS, Filters
from liucun.errors import LiucunError
from liucun.serve import demand as demand_outputs
from liucun.serve.snapshot import split_reasons
from liucun.serve.web import charts, views
from liucun.serve.web.context import OpenPage, OpenRun, PageRoute, SignedIn
from liucun.serve.web.filters import fill
from liucun.serve.web.respond import finish, lang_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STATIC_DIR = Path(__file__).parent.parent / "static"
PAGE_SIZE = 50
MAX_PAGE = 500

_STATIC = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()} if STATIC_DIR.exists() else {}
# The dashboard's style is the one every page liucun writes shares (liucun/look.css).
_STATIC["dashboard.css"] = Path(look.__file__).with_name("look.css")


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The vendored chart library and the dashboard's own script and style (no login:
    nothing in them is private)."""
    path = _STATIC.get(name)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        kind = "text/javascript"
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=kind, headers=headers)


@router.get("/")
def overview(page: OpenPage) -> Response:
    return page.render(
        "overview.html",
        "overview",
        charts=charts.overview_charts(page.dash, page.t, page.v),
        horizon=views.horizon(page.dash, page.snap),
    )


@router.get("/segments")
def segments(page: OpenPage) -> Response:
    charts_ = charts.segments_charts(page.dash, page.t)
    return page.render("segments.html", "segments", charts=charts_)


_YES = ("1", "true", "on", "yes")


def _filters(request: Request) -> Filters:
    """The at-risk filters: segment and risk band (empty = all), and the two groups left
    out unless their box is ticked (``include_prospects``, ``include_gone``)."""
    q = request.query_params
    return Filters(
        q.get("segment") or None,
        q.get("band") or None,
        prospects=(q.get("include_prospects") or "").lower() in _YES,
        gone=(q.get("include_gone") or "").lower() in _YES,
    )


def _query(f: Filters) -> str:
    """The filters as a query string (for the CSV link)."""
    pairs = [("segment", f.segment), ("band", f.band)]
    pairs += [("include_prospects", "1" if f.prospects else None)]
    pairs += [("include_gone", "1" if f.gone else None)]
    return urlencode({k: x for k, x in pairs if x})


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        n = int(value) if value is not None else default
    except ValueError:
        n = default
    return max(low, min(high, n))


@router.get("/at-risk")
def at_risk(page: OpenPage) -> Response:
    query = page.request.query_params
    f = _filters(page.request)
    limit = _int(query.get("limit"), PAGE_SIZE, 1, MAX_PAGE)
    offset = _int(query.get("offset"), 0, 0, 10**9)
    snap = page.snap
    try:
        total = snap.at_risk_count(f.segment, f.band, prospects=f.prospects, gone=f.gone)
        hidden = snap.at_risk_left_out(f.segment, f.band, prospects=f.prospects, gone=f.gone)
    except LiucunError as e:
        return page.render("message.html", status=404, title="at-risk", message=str(e))
    return page.render(
        "at_risk.html",
        "at_risk",
        rows=views.at_risk_rows(snap, f, limit, offset),
        f=f,
        segment=f.segment,
        band=f.band,
        hidden=hidden,
        recent_days=int(RECENT_DAYS),
        limit=limit,
        offset=offset,
        more=total > offset + limit,
        total=total,
        bands=[b["band"] for b in page.dash.get("bands") or []],
        segment_names=page.dash.get("segment_names") or [],
        csv_url="/at-risk.csv?" + _query(f),
    )


@router.get("/at-risk.csv")
def at_risk_csv(page: OpenRun) -> Response:
    snap = page.snap
    f = _filters(page.request)
    try:
        total = snap.at_risk_count(f.segment, f.band, prospects=f.prospects, gone=f.gone)
    except LiucunError as e:
        return Response(str(e), status_code=404, media_type="text/plain")
    limit = _int(page.request.query_params.get("limit"), total, 0, total)
    chunks = views.at_risk_csv_chunks(snap, f, limit)
    name = f"at-risk-{snap.as_of}" + (f"-{f.band}" if f.band else "") + ".csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/customers")
def find_customer(request: Request, lang: SignedIn, user_id: str = "") -> Response:
    uid = user_id.strip()
    target = f"/customers/{quote(uid, safe='')}" if uid else "/at-risk"
    return finish(request, RedirectResponse(target, status_code=303), lang)


@router.get("/customers/{user_id}")
def customer(page: OpenPage, user_id: str) -> Response:
    snap, t = page.snap, page.t
    info = snap.customer(user_id)
    if info is None:
        msg = fill(t.unknown_customer, id=user_id, run=snap.run_id)
        return page.render("message.html", status=404, title=t.not_found, message=msg)
    recs = snap.recommendations(user_id, 10)
    message = views.customer_message(snap, user_id)
    reasons = split_reasons(info.get("reasons"))
    return page.render(
        "customer.html",
        "customer",
        c=info,
        reasons=reasons,
        recs=recs,
        plan=info.get("planned_action"),
        message=message,
        timeline=views.timeline(page.request.app.state.workspace, user_id),
        timeline_rows=views.TIMELINE_ROWS,
        horizon=views.horizon(page.dash, snap),
    )


@router.get("/campaigns")
def campaigns(page: OpenPage) -> Response:
    charts_ = charts.campaigns_charts(page.dash, page.t, page.v)
    return page.render("campaigns.html", "campaigns", charts=charts_)


@router.get("/model")
def model(page: OpenPage) -> Response:
    return page.render("model.html", "model", charts=charts.model_charts(page.dash, page.t))


@router.get("/reviews")
def reviews(page: OpenPage) -> Response:
    data = views.review_data(page.snap)
    charts_ = charts.reviews_charts(data, page.t, page.v)
    return page.render("reviews.html", "reviews", charts=charts_, r=data)


@router.get("/risk")
def risk(page: OpenPage) -> Response:
    data = views.risk_data(page.snap)
    return page.render(
        "risk.html",
        "risk",
        charts=charts.risk_charts(data, page.t, page.v),
        r=data,
        rows_shown=views.RISK_ROWS,
    )


@router.get("/demand")
def demand(page: OpenPage, category: str | None = None) -> Response:
    """Forecast per series (the shop, or a picked category), stock alerts, elasticities."""
    data = demand_outputs.page_data(page.snap, category or None, views.ALERT_ROWS)
    return page.render("demand.html", "demand", charts=charts.demand_charts(data, page.t), d=data)


@router.get("/health-model")
def model_alias(request: Request) -> Response:
    return finish(request, RedirectResponse("/model", status_code=307), lang_of(request))
