"""What each page draws: chart specs embedded in the page as JSON and drawn by
``/static/dashboard.js`` with the vendored Chart.js.

A series that stands for a model or policy carries its colour from
:func:`liucun.look.model_color`, so it looks the same here as in the report and on the
backtest pages; other series take the script's palette."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liucun.look import model_color
from liucun.serve.i18n import Strings
from liucun.serve.web.views import share

Value = Callable[[Any], str]  # a data value in the page's language

BAND_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#27ae60"}
COST_COLOUR = "#2c7fb8"  # money spent: not a model, so none of the models' colours
SCORE_MODEL = "liucun"  # the run's churn model, as the backtest pages name it


def bar(
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


def overview_charts(dash: dict[str, Any], t: Strings, v: Value) -> list[dict[str, Any]]:
    """Customers by lifecycle stage and by risk band, and the p_churn histogram."""
    charts = []
    if dash.get("stages"):
        charts.append(
            bar(
                "stages",
                [v(s["stage"]) for s in dash["stages"]],
                [{"label": t.customers, "data": [s["customers"] for s in dash["stages"]]}],
            )
        )
    if dash.get("bands"):
        charts.append(
            bar(
                "bands",
                [v(b["band"]) for b in dash["bands"]],
                [
                    {"label": t.customers, "data": [b["customers"] for b in dash["bands"]]},
                ],
                colors=[BAND_COLOURS.get(b["band"], "#888") for b in dash["bands"]],
            )
        )
    hist = dash.get("p_churn_hist")
    if hist:
        edges = hist["edges"]
        labels = [f"{edges[i]:.2f}" for i in range(len(edges) - 1)]
        charts.append(bar("hist", labels, [{"label": t.customers, "data": hist["counts"]}]))
    return charts


def segments_charts(dash: dict[str, Any], t: Strings) -> list[dict[str, Any]]:
    """Each segment's share of customers and of revenue."""
    charts = []
    segs = dash.get("segments") or []
    if segs:
        charts.append(
            bar(
                "segments",
                [s["segment"] for s in segs],
                [
                    {"label": t.share, "data": [share(s["customers"], dash) for s in segs]},
                    {"label": t.revenue_share, "data": [s.get("revenue_share") for s in segs]},
                ],
                percent=True,
                horizontal=True,
            )
        )
    return charts


def campaigns_charts(dash: dict[str, Any], t: Strings, v: Value) -> list[dict[str, Any]]:
    """The plan's cost and uplift by action, and each read-out's lift with its interval."""
    charts = []
    plan = dash.get("plan") or {}
    by = [r for r in plan.get("by_action") or [] if not r.get("control")]
    if by:
        charts.append(
            bar(
                "plan",
                [v(r["action"]) for r in by],
                [
                    {"label": t.cost, "data": [r["cost"] for r in by], "color": COST_COLOUR},
                    {
                        "label": t.expected_uplift,
                        "data": [r["expected_uplift"] for r in by],
                        "color": model_color("uplift"),
                    },
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
                "color": model_color("lift"),
            }
        )
    return charts


def model_charts(dash: dict[str, Any], t: Strings) -> list[dict[str, Any]]:
    """Calibration and lift of the score model (overall and per tenth by p_churn), and
    feature drift."""
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
                "series": [
                    {
                        "label": t.model,
                        "points": pts,
                        "dots": True,
                        "color": model_color(SCORE_MODEL),
                    }
                ],
                "reference": t.perfect,
                "reference_color": model_color("random"),
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
                "series": [
                    {
                        "label": t.model,
                        "points": pts,
                        "dots": False,
                        "color": model_color(SCORE_MODEL),
                    }
                ],
                "reference": t.random,
                "reference_color": model_color("random"),
                "x": t.share_contacted,
                "y": t.share_captured,
            }
        )
    deciles = val.get("deciles") or []
    if deciles:
        # Per tenth of customers by p_churn (top first): what the model predicted against
        # the share who churned; equal bars mean the band is calibrated.
        charts.append(
            bar(
                "band-rates",
                [f"{int(r['band']) * 10}%" for r in deciles],
                [
                    {
                        "label": t.mean_predicted,
                        "data": [r.get("p_mean") for r in deciles],
                        "color": model_color(SCORE_MODEL),
                    },
                    {
                        "label": t.observed_rate,
                        "data": [r.get("churn_rate") for r in deciles],
                        "color": model_color("truth"),  # what happened
                    },
                ],
                percent=True,
            )
        )
    drift = dash.get("drift") or []
    if drift:
        charts.append(
            bar(
                "drift",
                [d["feature"] for d in drift],
                [{"label": "PSI", "data": [d.get("psi") for d in drift]}],
                colors=["#c0392b" if d.get("warning") else "#2c7fb8" for d in drift],
                horizontal=True,
            )
        )
    return charts


def reviews_charts(data: dict[str, Any], t: Strings, v: Value) -> list[dict[str, Any]]:
    """The negative share of each review aspect."""
    charts = []
    if data["aspects"]:
        charts.append(
            bar(
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
    return charts


def risk_charts(data: dict[str, Any], t: Strings, v: Value) -> list[dict[str, Any]]:
    """Accounts hit by each risk rule."""
    charts = []
    if data.get("rule_hits"):
        hits = data["rule_hits"]
        charts.append(
            bar(
                "rule-hits-chart",
                [v(h["rule"]) for h in hits],
                [{"label": t.accounts, "data": [h["accounts"] for h in hits]}],
                colors=["#c0392b"] * len(hits),
                horizontal=True,
            )
        )
    return charts


def demand_charts(data: dict[str, Any], t: Strings) -> list[dict[str, Any]]:
    """The chosen series' daily forecast (dots) inside its interval (bars), in the colour
    of liucun's own model."""
    pts = data.get("points") or []
    if not pts:
        return []
    share = data.get("interval")
    return [
        {
            "id": "forecast-chart",
            "kind": "interval",
            "labels": [p["date"] for p in pts],
            "low": [p["lo"] for p in pts],
            "high": [p["hi"] for p in pts],
            "mid": [p["forecast"] for p in pts],
            "label": t.forecast,
            "interval": t.forecast_interval.replace("{interval}", f"{share:.0%}" if share else ""),
            "color": model_color(SCORE_MODEL),
        }
    ]
