"""The dashboard: server-rendered pages over the latest run (Jinja2, Chart.js vendored).

Pages read the run's ``dashboard.json`` (aggregates precomputed by the run) and single
customers from the in-memory snapshot, so none iterates all customers per request; the
at-risk list is the snapshot's sorted list, sliced. Charts are ``<canvas>`` elements whose
data is embedded in the page as JSON and drawn by ``/static/dashboard.js`` with the
vendored Chart.js: nothing is loaded from another origin, so it works offline.

It accepts the same key as the API: ``Authorization: Bearer KEY``, or the ``liucun_key``
cookie (HttpOnly, SameSite=Strict) set by submitting the key on ``/login``. No key or an
unknown one redirects to ``/login``; a revoked one gets a 403 page. The language comes
from ``?lang=zh|en`` (remembered in a cookie), else Accept-Language.
"""

from __future__ import annotations

import io
import json
import math
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape

from liucun.errors import LiucunError
from liucun.serve import i18n
from liucun.serve.aggregates import frame_aggregates, load_dashboard
from liucun.serve.snapshot import Snapshot

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
KEY_COOKIE = "liucun_key"
LANG_COOKIE = "liucun_lang"
PAGE_SIZE = 50
MAX_PAGE = 500
TIMELINE_ROWS = 100
CSV_BLOCK = 20_000
YEAR = 365 * 24 * 3600

SECURITY_HEADERS = {
    # Everything comes from this origin: the page itself says it works offline.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# -- formatting --------------------------------------------------------------------------


def _missing(v: Any) -> bool:
    if v is None or isinstance(v, Undefined):
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def fmt_num(v: Any, digits: int = 0) -> str:
    if _missing(v):
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def fmt_pct(v: Any, digits: int = 1) -> str:
    if _missing(v):
        return "–"
    return f"{float(v) * 100:.{digits}f}%"


def fmt_date(v: Any) -> str:
    if _missing(v):
        return "–"
    return str(v)[:10]


def fmt_ts(v: Any) -> str:
    if _missing(v):
        return "–"
    return str(v).replace("T", " ")[:16]


def heat(v: Any, top: Any = 1.0, rgb: str = "192,57,43") -> str:
    """Inline style of a heatmap cell: colour strength v / top."""
    if _missing(v):
        return "background:#f4f4f4;color:#aaa"
    top = float(top) if not _missing(top) and float(top) > 0 else 1.0
    a = max(0.0, min(1.0, float(v) / top))
    a = 0.06 + 0.84 * math.sqrt(a)
    ink = "#fff" if a > 0.55 else "#222"
    return f"background:rgba({rgb},{a:.2f});color:{ink}"


def fill(template: str, **kw: Any) -> str:
    """``str.format`` that leaves unknown fields alone (a translation may omit some)."""

    class Blank(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return template.format_map(Blank(**kw))


env = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(num=fmt_num, pct=fmt_pct, date=fmt_date, ts=fmt_ts)
env.globals.update(heat=heat, fill=fill, missing=_missing)


# -- requests ----------------------------------------------------------------------------


def _key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(KEY_COOKIE)


def _lang(request: Request) -> str:
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//host`` or a full URL (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _url(request: Request, **params: Any) -> str:
    """This page's path with query parameters replaced (None drops one)."""
    q = dict(request.query_params)
    for k, v in params.items():
        if v is None or v == "":
            q.pop(k, None)
        else:
            q[k] = str(v)
    return request.url.path + ("?" + urlencode(q) if q else "")


def _finish(request: Request, resp: Response, lang: str) -> Response:
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        resp.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="strict", path="/")
    return resp


def render(request: Request, template: str, lang: str, status: int = 200, **ctx: Any) -> Response:
    other = "zh" if lang == "en" else "en"
    t = i18n.strings(lang)
    html = env.get_template(template).render(
        t=t,
        lang=lang,
        v=lambda x: i18n.value(lang, x),
        path=request.url.path,
        switch_url=_url(request, lang=other),
        url=lambda **p: _url(request, **p),
        signed_in=request.cookies.get(KEY_COOKIE) is not None,
        **ctx,
    )
    return _finish(request, HTMLResponse(html, status_code=status), lang)


def _guard(request: Request, lang: str) -> Response | None:
    """None when the key is good; else the login redirect or the 403 page."""
    status = request.app.state.keys.check(_key(request))
    if status == "ok":
        return None
    if status == "revoked":
        resp = render(
            request,
            "message.html",
            lang,
            status=403,
            title=i18n.strings(lang)["forbidden_title"],
            message=i18n.strings(lang)["forbidden_help"],
            login_link=True,
        )
        resp.delete_cookie(KEY_COOKIE, path="/")
        return resp
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    resp = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _finish(request, resp, lang)


def _snapshot(request: Request, lang: str) -> Snapshot | Response:
    try:
        return request.app.state.snapshots.current()
    except LiucunError:
        t = i18n.strings(lang)
        return render(request, "message.html", lang, status=503, title=t.app, message=t.no_run)


# -- aggregates per run --------------------------------------------------------------------


def dashboard_data(snap: Snapshot) -> dict[str, Any]:
    """The run's dashboard.json, read once per run; runs made before it existed get the
    aggregates of their frames (computed once), without cohorts, flow, drift or health."""
    return snap.derived("dashboard", lambda: _dashboard_data(snap))


def _dashboard_data(snap: Snapshot) -> dict[str, Any]:
    got = load_dashboard(snap.run_dir)
    if got is None:
        clusters = snap.run_dir / "clusters.json"
        got = frame_aggregates(
            snap.frames.get("customers"),
            snap.frames.get("scores"),
            snap.frames.get("plan"),
            snap.frames.get("segments"),
            json.loads(clusters.read_text("utf-8")) if clusters.exists() else None,
        )
        got["partial"] = True
        stats = (snap.run.get("stats") or {}).get("plan")
        if got.get("plan") is not None and stats:
            got["plan"]["stats"] = stats
    return got


def _horizon(dash: dict[str, Any], snap: Snapshot) -> Any:
    plan = ((dash.get("model") or {}).get("plan")) or {}
    return plan.get("horizon") or snap.run.get("stats", {}).get("horizon") or 90


def _page(request: Request) -> tuple[str, Response | None, Snapshot | None]:
    """(language, an early answer or None, the snapshot)."""
    lang = _lang(request)
    denied = _guard(request, lang)
    if denied is not None:
        return lang, denied, None
    snap = _snapshot(request, lang)
    if isinstance(snap, Response):
        return lang, snap, None
    return lang, None, snap


def _base(snap: Snapshot, dash: dict[str, Any], active: str) -> dict[str, Any]:
    return {"snap": snap, "dash": dash, "active": active, "run_id": snap.run_id}


# -- login -----------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    lang = _lang(request)
    return render(request, "login.html", lang, next=_safe_next(next), error=None)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    lang = _lang(request)
    body = (await request.body())[:8192].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    key = form.get("key", "").strip()
    target = _safe_next(form.get("next"))
    status = request.app.state.keys.check(key)
    t = i18n.strings(lang)
    if status != "ok":
        error = t.key_revoked if status == "revoked" else t.key_unknown
        code = 403 if status == "revoked" else 401
        return render(request, "login.html", lang, status=code, next=target, error=error)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        KEY_COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return _finish(request, resp, lang)


@router.post("/logout")
def logout(request: Request) -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(KEY_COOKIE, path="/")
    return _finish(request, resp, _lang(request))


# -- static ------------------------------------------------------------------------------

_STATIC = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()} if STATIC_DIR.exists() else {}


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


# -- pages -------------------------------------------------------------------------------


@router.get("/")
def overview(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    t = i18n.strings(lang)
    v = lambda x: i18n.value(lang, x)  # noqa: E731
    charts = []
    if dash.get("stages"):
        charts.append(
            _bar(
                "stages",
                [v(s["stage"]) for s in dash["stages"]],
                [{"label": t.customers, "data": [s["customers"] for s in dash["stages"]]}],
            )
        )
    if dash.get("bands"):
        charts.append(
            _bar(
                "bands",
                [v(b["band"]) for b in dash["bands"]],
                [
                    {"label": t.customers, "data": [b["customers"] for b in dash["bands"]]},
                ],
                colors=[_BAND_COLOURS.get(b["band"], "#888") for b in dash["bands"]],
            )
        )
    hist = dash.get("p_churn_hist")
    if hist:
        edges = hist["edges"]
        labels = [f"{edges[i]:.2f}" for i in range(len(edges) - 1)]
        charts.append(_bar("hist", labels, [{"label": t.customers, "data": hist["counts"]}]))
    return render(
        request,
        "overview.html",
        lang,
        charts=charts,
        horizon=_horizon(dash, snap),
        **_base(snap, dash, "overview"),
    )


@router.get("/segments")
def segments(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    t = i18n.strings(lang)
    charts = []
    segs = dash.get("segments") or []
    if segs:
        charts.append(
            _bar(
                "segments",
                [s["segment"] for s in segs],
                [
                    {"label": t.share, "data": [_share(s["customers"], dash) for s in segs]},
                    {"label": t.revenue_share, "data": [s.get("revenue_share") for s in segs]},
                ],
                percent=True,
                horizontal=True,
            )
        )
    return render(request, "segments.html", lang, charts=charts, **_base(snap, dash, "segments"))


def _share(n: Any, dash: dict[str, Any]) -> float | None:
    total = (dash.get("kpis") or {}).get("customers") or 0
    return round(float(n) / total, 4) if total else None


def _filters(request: Request) -> tuple[str | None, str | None]:
    """The at-risk filters: segment and risk band (empty = all)."""
    return request.query_params.get("segment") or None, request.query_params.get("band") or None


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        n = int(value) if value is not None else default
    except ValueError:
        n = default
    return max(low, min(high, n))


@router.get("/at-risk")
def at_risk(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    segment, band = _filters(request)
    limit = _int(request.query_params.get("limit"), PAGE_SIZE, 1, MAX_PAGE)
    offset = _int(request.query_params.get("offset"), 0, 0, 10**9)
    try:
        total = snap.at_risk_count(segment, band)
    except LiucunError as e:
        return render(request, "message.html", lang, status=404, title="at-risk", message=str(e))
    more = total > offset + limit
    page = _records(snap.at_risk(limit, segment, band, offset))
    for r in page:
        r["reasons_list"] = [x.strip() for x in str(r.get("reasons") or "").split(";") if x.strip()]
    return render(
        request,
        "at_risk.html",
        lang,
        rows=page,
        segment=segment,
        band=band,
        limit=limit,
        offset=offset,
        more=more,
        total=total,
        bands=[b["band"] for b in dash.get("bands") or []],
        segment_names=dash.get("segment_names") or [],
        csv_url="/at-risk.csv?"
        + urlencode({k: x for k, x in (("segment", segment), ("band", band)) if x}),
        **_base(snap, dash, "at_risk"),
    )


CSV_COLUMNS = (
    "user_id",
    "p_churn",
    "value_at_risk",
    "clv_365d",
    "expected_revenue",
    "risk_band",
    "segment",
    "lifecycle_stage",
    "action",
    "reasons",
)


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (=, +, -, @) get a leading quote."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            s = out[c].astype("string")
            risky = s.str.match(r"^[=+\-@\t\r]", na=False)
            out[c] = s.where(~risky, "'" + s)
    return out


@router.get("/at-risk.csv")
def at_risk_csv(request: Request) -> Response:
    lang = _lang(request)
    denied = _guard(request, lang)
    if denied is not None:
        return denied
    snap = _snapshot(request, lang)
    if isinstance(snap, Response):
        return snap
    segment, band = _filters(request)
    try:
        total = snap.at_risk_count(segment, band)
    except LiucunError as e:
        return Response(str(e), status_code=404, media_type="text/plain")
    limit = _int(request.query_params.get("limit"), total, 0, total)

    def chunks() -> Iterator[str]:
        """Streamed in blocks: a million rows never sit in memory as one text."""
        for start in range(0, max(limit, 1), CSV_BLOCK):
            n = min(CSV_BLOCK, limit - start)
            rows = snap.at_risk(n, segment, band, offset=start)
            rows = rows[[c for c in CSV_COLUMNS if c in rows.columns]]
            buf = io.StringIO()
            _csv_safe(rows).to_csv(buf, index=False, header=start == 0)
            yield buf.getvalue()

    name = f"at-risk-{snap.as_of}" + (f"-{band}" if band else "") + ".csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/customers")
def find_customer(request: Request, user_id: str = "") -> Response:
    lang = _lang(request)
    denied = _guard(request, lang)
    if denied is not None:
        return denied
    uid = user_id.strip()
    target = f"/customers/{quote(uid, safe='')}" if uid else "/at-risk"
    return _finish(request, RedirectResponse(target, status_code=303), lang)


@router.get("/customers/{user_id}")
def customer(request: Request, user_id: str) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    t = i18n.strings(lang)
    info = snap.customer(user_id)
    if info is None:
        msg = fill(t.unknown_customer, id=user_id, run=snap.run_id)
        return render(request, "message.html", lang, status=404, title=t.not_found, message=msg)
    recs = snap.recommendations(user_id, 10)
    message = None
    msgs = snap.frames.get("messages")
    if msgs is not None and user_id in msgs.index:
        message = _records(msgs.loc[[user_id]])[0]
    reasons = [x.strip() for x in str(info.get("reasons") or "").split(";") if x.strip()]
    timeline = _timeline(request, user_id)
    return render(
        request,
        "customer.html",
        lang,
        c=info,
        reasons=reasons,
        recs=recs,
        plan=info.get("planned_action"),
        message=message,
        timeline=timeline,
        timeline_rows=TIMELINE_ROWS,
        horizon=_horizon(dash, snap),
        **_base(snap, dash, "customer"),
    )


def _timeline(request: Request, user_id: str) -> list[dict[str, Any]] | None:
    """The customer's orders, contacts, reviews and events; None while the warehouse is
    held by a writer (a run or an ingest)."""
    from liucun.features.timeline import read_timeline

    df = read_timeline(
        Path(request.app.state.workspace) / "warehouse.duckdb", user_id, TIMELINE_ROWS
    )
    return None if df is None else _records(df)


@router.get("/campaigns")
def campaigns(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    t = i18n.strings(lang)
    v = lambda x: i18n.value(lang, x)  # noqa: E731
    charts = []
    plan = dash.get("plan") or {}
    by = [r for r in plan.get("by_action") or [] if not r.get("control")]
    if by:
        charts.append(
            _bar(
                "plan",
                [v(r["action"]) for r in by],
                [
                    {"label": t.cost, "data": [r["cost"] for r in by]},
                    {"label": t.expected_uplift, "data": [r["expected_uplift"] for r in by]},
                ],
            )
        )
    for i, r in enumerate(dash.get("readouts") or []):
        acts = r.get("actions") or []
        if not acts:
            continue
        charts.append(
            {
                "id": f"readout-{i}",
                "kind": "interval",
                "labels": [t.total if a["action"] == "all" else v(a["action"]) for a in acts],
                "low": [a.get("ci_low") for a in acts],
                "high": [a.get("ci_high") for a in acts],
                "mid": [a.get("lift") for a in acts],
                "label": t.lift,
                "interval": t.interval,
            }
        )
    return render(request, "campaigns.html", lang, charts=charts, **_base(snap, dash, "campaigns"))


@router.get("/model")
def model(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    t = i18n.strings(lang)
    charts = []
    health = dash.get("model") or {}
    val = health.get("validation") or {}
    if val.get("calibration"):
        pts = [
            {"x": r["p_mean"], "y": r["observed_rate"]}
            for r in val["calibration"]
            if r.get("p_mean") is not None and r.get("observed_rate") is not None
        ]
        charts.append(
            {
                "id": "calibration",
                "kind": "unit",
                "series": [{"label": t.model, "points": pts, "dots": True}],
                "reference": t.perfect,
                "x": t.mean_predicted,
                "y": t.observed_rate,
            }
        )
    if val.get("lift"):
        pts = [{"x": 0.0, "y": 0.0}] + [
            {"x": r["fraction"], "y": r["capture"]}
            for r in val["lift"]
            if r.get("capture") is not None
        ]
        charts.append(
            {
                "id": "lift",
                "kind": "unit",
                "series": [{"label": t.model, "points": pts, "dots": False}],
                "reference": t.random,
                "x": t.share_contacted,
                "y": t.share_captured,
            }
        )
    drift = dash.get("drift") or []
    if drift:
        charts.append(
            _bar(
                "drift",
                [d["feature"] for d in drift],
                [{"label": "PSI", "data": [d.get("psi") for d in drift]}],
                colors=["#c0392b" if d.get("warning") else "#2c7fb8" for d in drift],
                horizontal=True,
            )
        )
    return render(request, "model.html", lang, charts=charts, **_base(snap, dash, "model"))


WORST_ITEMS = 20  # rows of the worst-items table


def review_data(snap: Snapshot) -> dict[str, Any]:
    """The run's review outputs shaped for the page, once per run: the category × aspect
    grid, negative share per aspect over all categories, the worst items, the topics."""
    return snap.derived("reviews", lambda: _review_data(snap))


def _review_data(snap: Snapshot) -> dict[str, Any]:
    themes = snap.frames.get("themes")
    quality = snap.frames.get("item_quality")
    topics = snap.docs.get("topics") or []
    out: dict[str, Any] = {
        "aspects": [],
        "categories": [],
        "max_negative": 0.0,
        "worst": [],
        "topics": topics,
    }
    if themes is not None and len(themes):
        th = themes.assign(negative=themes["negative_share"].fillna(0) * themes["mentions"])
        by = th.groupby("aspect").agg(mentions=("mentions", "sum"), negative=("negative", "sum"))
        by["negative_share"] = by["negative"] / by["mentions"].where(by["mentions"] > 0)
        by = by.sort_values(["mentions"], ascending=False, kind="stable")
        out["aspects"] = [
            {
                "aspect": str(a),
                "mentions": int(r.mentions),
                "negative_share": _float(r.negative_share),
            }
            for a, r in by.iterrows()
        ]
        cats = th.groupby("group").agg(reviews=("reviews", "max"), keywords=("keywords", "first"))
        cats = cats.sort_values("reviews", ascending=False, kind="stable")
        cells = {(str(r.group), str(r.aspect)): r for r in th.itertuples()}
        out["categories"] = [
            {
                "category": str(g),
                "reviews": int(c.reviews),
                "keywords": str(c.keywords or ""),
                "cells": [
                    None
                    if (g, a["aspect"]) not in cells
                    else {
                        "mentions": int(cells[(g, a["aspect"])].mentions),
                        "negative_share": _float(cells[(g, a["aspect"])].negative_share),
                    }
                    for a in out["aspects"]
                ],
            }
            for g, c in cats.iterrows()
        ]
        shares = [c["negative_share"] for x in out["categories"] for c in x["cells"] if c]
        out["max_negative"] = max([x for x in shares if x is not None], default=0.0)
    if quality is not None and len(quality):
        worst = quality[quality["quality_score"].notna()].head(WORST_ITEMS)
        out["worst"] = _records(worst)
    out["empty"] = not (out["aspects"] or out["worst"] or out["topics"])
    return out


def _float(v: Any) -> float | None:
    return None if _missing(v) else float(v)


@router.get("/reviews")
def reviews(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    data = review_data(snap)
    t = i18n.strings(lang)
    v = lambda x: i18n.value(lang, x)  # noqa: E731
    charts = []
    if data["aspects"]:
        charts.append(
            _bar(
                "aspects-chart",
                [v(a["aspect"]) for a in data["aspects"]],
                [
                    {
                        "label": t.negative_share,
                        "data": [a["negative_share"] for a in data["aspects"]],
                    }
                ],
                colors=["#c0392b"] * len(data["aspects"]),
                percent=True,
            )
        )
    return render(
        request, "reviews.html", lang, charts=charts, r=data, **_base(snap, dash, "reviews")
    )


RISK_ROWS = 50  # rows of the riskiest-accounts and flagged-orders tables


def risk_data(snap: Snapshot) -> dict[str, Any]:
    """The run's risk outputs shaped for the page, once per run: KPIs, rule hits, the
    riskiest accounts (high, then medium band) and the flagged orders."""
    return snap.derived("risk_page", lambda: _risk_data(snap))


def _risk_data(snap: Snapshot) -> dict[str, Any]:
    from liucun.serve.snapshot import split_reasons

    risk = snap.frames.get("risk")
    if risk is None:
        return {"empty": True}
    stats = dict((snap.run.get("stats") or {}).get("risk") or {})
    plan = (snap.run.get("stats") or {}).get("plan") or {}
    band = risk["risk_band"].astype(str)
    rule_hits = stats.get("rule_hits")
    if rule_hits is None:  # a run.json without the stats: count from the frame
        rule_hits = {
            c[5:]: int(risk[c].fillna(False).astype(bool).sum())
            for c in risk.columns
            if c.startswith("rule_") and c != "rule_score"
        }
    orders = snap.risk_orders(RISK_ROWS)
    n_orders = snap.frames["risk_orders"].shape[0] if orders is not None else None
    kpis = {
        "accounts": stats.get("accounts", len(risk)),
        "high": stats.get("high", int((band == "high").sum())),
        "medium": stats.get("medium", int((band == "medium").sum())),
        "flagged_orders": stats.get("flagged_orders", n_orders),
        "risky_excluded": plan.get("risky_excluded"),
    }
    risky = ("high", "medium")
    accounts = _records(snap.risk(RISK_ROWS, risky))
    for a in accounts:
        a["reasons_list"] = split_reasons(a.get("risk_reasons"))
    rows = [] if orders is None else _records(orders)
    for o in rows:
        o["reasons_list"] = split_reasons(o.get("reasons"))
    return {
        "empty": False,
        "kpis": kpis,
        "rule_hits": [{"rule": str(k), "accounts": int(v)} for k, v in rule_hits.items()],
        "accounts": accounts,
        "risky_total": snap.risk_count(risky),
        "orders": rows,
        "orders_total": n_orders if n_orders is not None else kpis["flagged_orders"],
        "supervised": stats.get("supervised"),
        "has_supervised": "p_fraud_supervised" in risk.columns,
    }


@router.get("/risk")
def risk(request: Request) -> Response:
    lang, early, snap = _page(request)
    if early is not None:
        return early
    assert snap is not None
    dash = dashboard_data(snap)
    data = risk_data(snap)
    t = i18n.strings(lang)
    v = lambda x: i18n.value(lang, x)  # noqa: E731
    charts = []
    if data.get("rule_hits"):
        hits = data["rule_hits"]
        charts.append(
            _bar(
                "rule-hits-chart",
                [v(h["rule"]) for h in hits],
                [{"label": t.accounts, "data": [h["accounts"] for h in hits]}],
                colors=["#c0392b"] * len(hits),
                horizontal=True,
            )
        )
    return render(
        request,
        "risk.html",
        lang,
        charts=charts,
        r=data,
        rows_shown=RISK_ROWS,
        **_base(snap, dash, "risk"),
    )


@router.get("/health-model")
def model_alias(request: Request) -> Response:
    return _finish(request, RedirectResponse("/model", status_code=307), _lang(request))


# -- helpers -----------------------------------------------------------------------------

_BAND_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#27ae60"}


def _bar(
    chart_id: str,
    labels: list[Any],
    datasets: list[dict[str, Any]],
    colors: list[str] | None = None,
    percent: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    return {
        "id": chart_id,
        "kind": "bar",
        "labels": labels,
        "datasets": datasets,
        "colors": colors,
        "percent": percent,
        "horizontal": horizontal,
    }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from liucun.serve.snapshot import _records as records

    return records(df.reset_index(drop=True))
