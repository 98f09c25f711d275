"""Backtest of the uplift models on held-out campaigns: fit on earlier ones, judge the latest.

Time-based split of the randomised contacts that :func:`liucun.tasks.plan.training_rows`
returns (those whose H-day outcome window ends before ``as_of``):

* **test**: every contact of the last ``holdout_campaigns`` campaigns (ordered by their
  first contact day);
* **train**: contacts whose outcome window ``[day, day + H)`` ends on or before the first
  test contact day. Nothing a model learns from happened in the test period, so neither
  outcomes nor campaign costs leak from the test campaigns (contacts in between, whose
  window overlaps the test period, are used by neither side).

Three learners side by side, each fitted once on the training contacts:

* ``planner``: what ``liucun plan`` ranks by: :func:`liucun.tasks.plan.fit` itself (a
  :class:`~liucun.models.nba.NextBestAction`: a LiftLearner on the orders in the response
  window), run as of the day after the first test day, which selects exactly the training
  contacts, and scored with its ``predict`` (``expected_uplift``, net revenue with
  discounts inside);
* ``t_learner`` and ``dr_learner``: :class:`~liucun.models.uplift.TLearner` and
  :class:`~liucun.models.uplift.DRLearner` on net revenue over the horizon.

No customer's own effect is observed, so every model is judged on realised outcomes of the
test contacts, for two outcomes: ``net_revenue_h`` (paid revenue over the horizon) and
``orders_window`` (orders in the response window). For each action the evaluation set is
the test contacts given that action plus *all* test control contacts (the control group is
shared across actions), ranked by the model's predicted uplift of that action: Qini
coefficient, AUUC (and the AUUC of a random ranking, about half the observed effect), the
observed uplift in the top decile, and a table by decile.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.evaluate.uplift import auuc, qini_coefficient, qini_curve, uplift_by_decile
from liucun.models.nba import OUTCOME_COLUMNS
from liucun.models.uplift import DRLearner, TLearner
from liucun.tasks import plan as planning
from liucun.workspace import check_horizon

if TYPE_CHECKING:
    from liucun.workspace import Workspace

MODELS = ("planner", "t_learner", "dr_learner")
OUTCOMES = ("net_revenue_h", "orders_window")
DECILES = 10
TABLE_COLUMNS = (
    "model",
    "action",
    "outcome",
    "n_treatment",
    "n_control",
    "observed_uplift",
    "qini",
    "auuc",
    "auuc_random",
    "top_decile_uplift",
    "decile_spearman",
)
DECILE_COLUMNS = (
    "model",
    "action",
    "outcome",
    "decile",
    "n_treatment",
    "n_control",
    "predicted_mean",
    "treated_mean",
    "control_mean",
    "observed_uplift",
)


@dataclass
class UpliftBacktest:
    """Held-out campaign backtest of the uplift models.

    ``table``: one row per (model, action, outcome) (:data:`TABLE_COLUMNS`);
    ``deciles``: observed uplift by predicted-uplift decile (:data:`DECILE_COLUMNS`,
    decile 1 holds the highest predictions; ``predicted_mean`` is in the model's own unit);
    ``curves``: ``{(action, outcome): {model: qini_curve}}`` for :func:`qini_svg`;
    ``outcome``: each outcome's name and what it measures; ``planner``: what
    :func:`liucun.tasks.plan.fit` reports about its training (contacts, campaigns, ...).
    """

    table: pd.DataFrame
    deciles: pd.DataFrame
    curves: dict[tuple[str, str], dict[str, pd.DataFrame]]
    train_campaigns: list[str]
    test_campaigns: list[str]
    outcome: dict[str, str]
    as_of: dt.date
    horizon: int
    window_days: int
    first_test_day: dt.date
    train_contacts: int
    test_contacts: int
    planner: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def split_contacts(
    rows: pd.DataFrame, horizon: int, holdout_campaigns: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """(train, test, first test day): the time-based split described in the module doc."""
    if holdout_campaigns < 1:
        raise LiucunError(f"--holdout-campaigns {holdout_campaigns}: must be at least 1")
    day = pd.to_datetime(rows["day"])
    first = day.groupby(rows["campaign_id"]).min().sort_values(kind="stable")
    if len(first) <= holdout_campaigns:
        raise LiucunError(
            f"{len(first)} campaign(s) with a complete outcome window: holding out "
            f"{holdout_campaigns} leaves none to train on"
        )
    test_ids = list(first.index[-holdout_campaigns:])
    start = first.iloc[-holdout_campaigns]
    is_test = rows["campaign_id"].isin(test_ids).to_numpy()
    ends = day + pd.Timedelta(days=horizon)
    is_train = (~is_test) & (ends <= start).to_numpy()
    if not is_train.any():
        raise LiucunError(
            f"no contact's {horizon}-day outcome window ends by {start.date()}, the first "
            f"held-out contact day: hold out fewer campaigns or shorten --horizon"
        )
    return (
        rows[is_train].reset_index(drop=True),
        rows[is_test].reset_index(drop=True),
        start,
    )


def _decile_of(score: np.ndarray, k: int) -> np.ndarray:
    """Bucket 1..k by descending score, as :func:`uplift_by_decile` assigns them."""
    n = score.size
    order = np.argsort(-score, kind="stable")
    bucket = np.empty(n, dtype=int)
    bucket[order] = np.arange(n) * k // max(n, 1) + 1
    return bucket


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    ra, rb = pd.Series(a[ok]).rank().to_numpy(), pd.Series(b[ok]).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def evaluate_scores(
    scores: pd.DataFrame, test: pd.DataFrame, model: str, outcomes: tuple[str, ...] = OUTCOMES
) -> tuple[list[dict[str, Any]], list[pd.DataFrame], dict[tuple[str, str], pd.DataFrame]]:
    """Metrics rows, decile tables and Qini curves of one model's predicted uplift.

    ``scores`` has one column per action, aligned with ``test`` (whose ``treatment`` is
    the action given or ``control``); outcome columns are in ``test`` as named in
    ``outcomes`` (``net_revenue_h`` reads ``net_revenue``).
    """

    t = test["treatment"].to_numpy()
    control = t == "control"
    rows: list[dict[str, Any]] = []
    deciles: list[pd.DataFrame] = []
    curves: dict[tuple[str, str], pd.DataFrame] = {}
    for action in scores.columns:
        sel = (t == action) | control
        treated = (t[sel] == action).astype(float)
        if not treated.any() or treated.all():
            continue
        s = scores[action].to_numpy(dtype=float)[sel]
        for out in outcomes:
            y = test["net_revenue" if out == "net_revenue_h" else out].to_numpy(dtype=float)[sel]
            n_t, n_c = int(treated.sum()), int((1 - treated).sum())
            obs = float(y[treated == 1].mean() - y[treated == 0].mean())
            row: dict[str, Any] = {
                "model": model,
                "action": str(action),
                "outcome": out,
                "n_treatment": n_t,
                "n_control": n_c,
                "observed_uplift": obs,
                "qini": qini_coefficient(y, treated, s),
                "auuc": auuc(y, treated, s),
                "auuc_random": auuc(y, treated, np.zeros_like(s)),
                "top_decile_uplift": float("nan"),
                "decile_spearman": float("nan"),
            }
            curves[(str(action), out)] = qini_curve(y, treated, s)
            if s.size >= DECILES:
                d = uplift_by_decile(y, treated, s, DECILES)
                b = _decile_of(s, DECILES)
                pred = pd.Series(s).groupby(b).mean()
                d.insert(0, "predicted_mean", d["decile"].map(pred).astype(float))
                d = d.rename(
                    columns={
                        "n_treated": "n_treatment",
                        "mean_treated": "treated_mean",
                        "mean_control": "control_mean",
                        "uplift": "observed_uplift",
                    }
                )
                d["model"], d["action"], d["outcome"] = model, str(action), out
                deciles.append(d[list(DECILE_COLUMNS)])
                row["top_decile_uplift"] = float(d["observed_uplift"].iloc[0])
                row["decile_spearman"] = _spearman(
                    d["predicted_mean"].to_numpy(), d["observed_uplift"].to_numpy()
                )
            rows.append(row)
    return rows, deciles, curves


def backtest_uplift(
    ws: Workspace,
    as_of: dt.date,
    horizon: int | None = None,
    holdout_campaigns: int = 1,
    on_step: Callable[[str], None] = lambda s: None,
) -> UpliftBacktest:
    """Fit the three uplift learners on earlier campaigns, evaluate on the latest ones.

    Training uses only contacts whose outcome window ``[day, day + H)`` ends on or before
    the first contact day of the held-out campaigns: no outcome from the test period (nor
    any contact of a test campaign) reaches a model. ``horizon`` defaults to
    ``[plan] horizon_days``; the response window of the planner's model is the one
    :func:`liucun.tasks.plan.fit` uses (``response_days`` or the catalog's longest
    ``valid_days``). ``[plan] max_training_contacts`` caps the training contacts (a
    seeded sample), never the test ones.
    """

    cfg = planning.plan_config(ws)
    H = int(cfg["horizon_days"] if horizon is None else horizon)
    check_horizon(H)
    seed = int(cfg.get("seed", 0))
    window = planning.response_window(cfg, H)
    seconds: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    tables = workspace_tables(ws)
    rows = planning.training_rows(tables, as_of, H, window, on_step=on_step)
    seconds["rows"] = round(time.perf_counter() - t0, 3)
    train, test, start = split_contacts(rows, H, holdout_campaigns)
    cap = int(cfg.get("max_training_contacts") or 0)
    if cap and len(train) > cap:
        keep = np.random.default_rng(seed).choice(len(train), cap, replace=False)
        train = train.iloc[np.sort(keep)].reset_index(drop=True)
        notes.append(f"training contacts sampled down to {cap:,} ([plan] max_training_contacts)")
    for name, part in (("training", train), ("held-out", test)):
        n_c = int((part["treatment"] == "control").sum())
        if n_c < 10:
            raise LiucunError(
                f"only {n_c} control contacts in the {name} campaigns: uplift needs a "
                "control group (treatments.arm = 'control')"
            )
    drop = [c for c in OUTCOME_COLUMNS if c in rows.columns]
    X_train = train.drop(columns=drop)
    X_test = test.drop(columns=drop)
    t = train["treatment"].to_numpy()
    scores: dict[str, pd.DataFrame] = {}

    on_step("the planner's models on the training campaigns")
    t0 = time.perf_counter()
    # planning.fit itself, as of the day after the first test day: it keeps the contacts
    # whose timestamp is before as_of - H, i.e. day + H <= first test day: ``train``.
    models = planning.fit(tables, start.date() + dt.timedelta(days=1), H, cfg, on_step=on_step)
    planner = dict(models.training_)
    if int(planner.get("contacts", -1)) != len(train):
        notes.append(
            f"planner: fitted on {planner.get('contacts')} contacts, the other learners on "
            f"{len(train):,}"
        )
    features = test.drop(columns=[c for c in drop if c != "user_id"])
    scores["planner"], _ = models.predict(features)
    seconds["planner"] = round(time.perf_counter() - t0, 3)
    missing = sorted(set(models.orders_.actions_) - set(models.actions_))
    if missing:
        notes.append(f"planner: no cost known for {', '.join(missing)} (not scored)")
    for a, st in sorted(models.status_.items()):
        if st == "not_shown":
            notes.append(
                f"planner: {a} showed neither a positive net effect nor targeting that held "
                "out on the training campaigns: the plan would not use it"
            )

    y = train["net_revenue"].to_numpy(dtype=float)
    for name, learner in (("t_learner", TLearner(seed=seed)), ("dr_learner", DRLearner(seed=seed))):
        on_step(f"{name} on {len(train):,} contacts")
        t0 = time.perf_counter()
        scores[name] = learner.fit(X_train, t, y).predict(X_test)
        seconds[name] = round(time.perf_counter() - t0, 3)

    on_step(f"evaluating on {len(test):,} held-out contacts")
    table_rows: list[dict[str, Any]] = []
    decile_frames: list[pd.DataFrame] = []
    curves: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    for name in MODELS:
        r, d, c = evaluate_scores(scores[name].reset_index(drop=True), test, name)
        table_rows += r
        decile_frames += d
        for key, curve in c.items():
            curves.setdefault(key, {})[name] = curve
    given = set(test.loc[test["treatment"] != "control", "treatment"].astype(str))
    for name in MODELS:
        lacking = sorted(given - set(map(str, scores[name].columns)))
        if lacking:
            notes.append(f"{name}: no model for {', '.join(lacking)} (too few training contacts)")
    table = pd.DataFrame(table_rows, columns=list(TABLE_COLUMNS))
    order = {m: i for i, m in enumerate(MODELS)}
    table = table.sort_values(
        ["action", "outcome", "model"], key=lambda c: c.map(order) if c.name == "model" else c
    ).reset_index(drop=True)
    deciles = (
        pd.concat(decile_frames, ignore_index=True)
        if decile_frames
        else pd.DataFrame(columns=list(DECILE_COLUMNS))
    )
    test_days = pd.to_datetime(test["day"]).groupby(test["campaign_id"]).min().sort_values()
    train_days = pd.to_datetime(train["day"]).groupby(train["campaign_id"]).min().sort_values()
    return UpliftBacktest(
        table=table,
        deciles=deciles,
        curves=dict(sorted(curves.items())),
        train_campaigns=[str(c) for c in train_days.index],
        test_campaigns=[str(c) for c in test_days.index],
        outcome={
            "net_revenue_h": f"paid revenue in the {H} days from the contact",
            "orders_window": f"orders in the {window} days from the contact",
        },
        as_of=as_of,
        horizon=H,
        window_days=window,
        first_test_day=start.date(),
        train_contacts=len(train),
        test_contacts=len(test),
        planner=planner,
        seconds=seconds,
        notes=notes,
    )


__all__ = [
    "DECILE_COLUMNS",
    "MODELS",
    "OUTCOMES",
    "TABLE_COLUMNS",
    "UpliftBacktest",
    "backtest_uplift",
    "evaluate_scores",
    "split_contacts",
]
