"""``simulate()``: a shop over D days plus an H-day holdout, with its ground truth.

Layout written under ``out``::

    users.parquet items.parquet events.parquet orders.parquet order_items.parquet
    reviews.parquet treatments.parquet          days [start, start + D): what models see
    truth/holdout/*.parquet                     days [D, D + H), no new intervention
    truth/customers.parquet                     per customer known at D: true outcomes
    truth/effects.parquet                       per customer × action: true uplift, cost
    truth/preferences.parquet                   true top items per customer
    truth/demand.parquet                        true expected units per item per day
    truth/simulation.json                       parameters, scenario and row counts

A retail world (``Scenario.retail``, ``liucun.sim.retail``) adds::

    inventory.parquet                           stock as the shop opens, days [start, D)
    truth/holdout/inventory.parquet             the same for days [D, D + H)
    truth/elasticities.parquet                  true own-price elasticity per top category
    truth/stock.parquet                         per item and day: stock, stock-out, lost units

and its ``truth/demand.parquet`` follows the holdout's prices, uncensored by stock.

``scenario`` picks the world (``liucun.sim.scenarios``; ``"default"``: today's shop).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from liucun.sim import output, truth
from liucun.sim.calendar import day_multipliers
from liucun.sim.engine import Engine
from liucun.sim.population import Catalog, Customers, make_catalog, make_customers
from liucun.sim.retail import RetailWorld, elasticities_frame, inventory_table, stock_frame
from liucun.sim.scenarios import Scenario, get_scenario
from liucun.sim.text import review_texts

DEFAULT_START = dt.date(2024, 1, 1)


@dataclass
class SimResult:
    out: str
    users: int
    days: int
    holdout_days: int
    seed: int
    start: str
    lang: str
    counts: dict[str, int]
    holdout_counts: dict[str, int]
    seconds: float
    scenario: str = "default"


def n_items_for(users: int) -> int:
    return int(np.clip(users // 8, 200, 4000))


def campaign_days(
    start: dt.date, days: int, scenario: Scenario | str = "default"
) -> dict[int, str]:
    """The 5th of every month whose whole coupon window ends before day ``days``.

    The scenario keeps all of them, none or only the last few (``campaign_months``).
    """
    sc = get_scenario(scenario)
    window = max(a.window_days for a in sc.actions.values())
    out: dict[int, str] = {}
    d = dt.date(start.year, start.month, 5)
    while True:
        t = (d - start).days
        if t + window > days:
            break
        if t >= 0:
            out[t] = f"cmp-{d:%Y%m}"
        d = dt.date(d.year + d.month // 12, d.month % 12 + 1, 5)
    return sc.campaigns(out)


@dataclass
class Shop:
    """A shop built and ready to run from day 0 (what ``simulate`` runs and writes)."""

    cat: Catalog
    cust: Customers
    season: np.ndarray
    engine: Engine
    day0_us: int
    rngs: list[np.random.Generator]
    scenario: Scenario
    retail: RetailWorld | None = None


def build(
    users: int,
    days: int,
    holdout_days: int,
    seed: int,
    start: dt.date = DEFAULT_START,
    lang: str = "mixed",
    abuse_share: float = 0.01,
    scenario: Scenario | str = "default",
) -> Shop:
    """Catalogue, customers, calendar and engine for a seed, before any day has run.

    ``abuse_share`` of the customers are abusers (device rings, refund abusers, card
    fraud; ``truth/customers.parquet`` ``is_abuser`` / ``abuse_kind``). The scenario's
    own random draws (the hidden response) come from a sixth stream and a retail world's
    prices and stock from a seventh, so the first five (and the default world) are the same
    whatever the scenario.
    """
    sc = get_scenario(scenario)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    cat = make_catalog(rngs[0], n_items_for(users))
    season = day_multipliers(start, days + holdout_days)
    cust = make_customers(
        rngs[1],
        users,
        season,
        cat,
        lang=lang,
        abuse_share=abuse_share,
        aversion_prevalence=sc.aversion_prevalence,
        rate_scale=sc.rate_scale,
        dropout_scale=sc.dropout_scale,
        hazard_scale=sc.hazard_scale,
    )
    cust.hidden_response = sc.hidden(rngs[5], cust.size)
    retail = None
    if sc.retail is not None:
        retail = RetailWorld.build(sc.retail, rngs[6], cust, cat, start, days + holdout_days)
    day0_us = (
        int((dt.datetime.combine(start, dt.time()) - dt.datetime(1970, 1, 1)).total_seconds())
        * 1_000_000
    )
    engine = Engine(
        rngs[2],
        cust,
        cat,
        season,
        day0_us,
        campaign_days(start, days, sc),
        # A retail world's prices follow its price book instead of one mid-year rise.
        price_rise_day=days // 2 if days >= 60 and retail is None else None,
        scenario=sc,
        retail=retail,
    )
    engine.warm_start(rngs[4])
    return Shop(cat, cust, season, engine, day0_us, rngs, sc, retail)


def simulate(
    out: str | Path,
    users: int = 5000,
    days: int = 365,
    holdout_days: int = 90,
    seed: int = 7,
    start: dt.date = DEFAULT_START,
    lang: str = "mixed",
    abuse_share: float = 0.01,
    scenario: Scenario | str = "default",
) -> SimResult:
    """Simulate a shop and write its canonical files and ground truth under ``out``.

    ``scenario``: a name from ``liucun.sim.scenarios.SCENARIOS`` or a ``Scenario``;
    an unknown name raises ``ValueError`` listing the known ones.
    """
    sc = get_scenario(scenario)
    if users < 1 or days < 1 or holdout_days < 0:
        raise ValueError("users and days must be positive, holdout days not negative")
    if lang not in ("zh", "en", "mixed"):
        raise ValueError(f"lang must be zh, en or mixed, not {lang!r}")
    if not 0 <= abuse_share <= 0.5:
        raise ValueError(f"abuse_share must be in [0, 0.5], not {abuse_share!r}")
    t0 = time.perf_counter()
    out = Path(out)
    total = days + holdout_days
    shop = build(users, days, holdout_days, seed, start, lang, abuse_share, sc)
    cat, cust, season, engine, day0_us = shop.cat, shop.cust, shop.season, shop.engine, shop.day0_us
    rngs = shop.rngs
    for t in range(days):
        engine.step(t)
    state = engine.state.snapshot()
    hold = season[days:]
    retail = shop.retail
    prices = None if retail is None else truth.HoldoutPrices.of(retail, days, total)
    customers, effects = truth.customers_truth(cust, cat, state, days, hold, sc, prices)
    dates = pd.date_range(start + dt.timedelta(days=days), periods=holdout_days, freq="D")
    demand = truth.demand_truth(cust, cat, state, days, hold, dates, prices)
    for t in range(days, total):
        engine.step(t, campaigns=False)

    records = {
        "events": engine.events.done(),
        "orders": engine.orders.done(),
        "lines": engine.lines.done(),
        "reviews": engine.reviews.done(),
        "treatments": engine.treatments.done(),
    }
    rv = records["reviews"]
    texts = review_texts(
        rngs[3],
        rv["rating"],
        cust.lang[rv["user"]],
        output.top_category_names(cat, rv["item"]),
        rv["late"],
    )
    counts = output.write_period(out, records, texts, cust, cat, day0_us, 0, days, True)
    hold_counts = output.write_period(
        out / "truth" / "holdout", records, texts, cust, cat, day0_us, days, total, False
    )
    tdir = out / "truth"
    if retail is not None:
        counts["inventory"] = output._write(
            inventory_table(retail, cat, day0_us, 0, days), out / "inventory.parquet"
        )
        hold_counts["inventory"] = output._write(
            inventory_table(retail, cat, day0_us, days, total),
            tdir / "holdout" / "inventory.parquet",
        )
        elasticities_frame(retail, cat, days).to_parquet(tdir / "elasticities.parquet", index=False)
        stock_frame(retail, cat, start, total).to_parquet(tdir / "stock.parquet", index=False)
    customers.assign(churn_date=_dates(start, customers["churn_day"])).drop(
        columns="churn_day"
    ).to_parquet(tdir / "customers.parquet", index=False)
    effects.to_parquet(tdir / "effects.parquet", index=False)
    truth.preferences_truth(cust, cat).to_parquet(tdir / "preferences.parquet", index=False)
    demand.to_parquet(tdir / "demand.parquet", index=False)
    # Item quality drives ratings, review tone and disappointments (bad_item_rate).
    pd.DataFrame(
        {"item_id": cat.item_id, "quality": cat.quality, "bad_item_rate": cat.bad_item}
    ).to_parquet(tdir / "items.parquet", index=False)
    result = SimResult(
        str(out),
        users,
        days,
        holdout_days,
        seed,
        start.isoformat(),
        lang,
        counts,
        hold_counts,
        round(time.perf_counter() - t0, 2),
        sc.name,
    )
    meta = {k: v for k, v in asdict(result).items() if k not in ("seconds", "out")}
    meta["abuse_share"] = abuse_share
    meta["actions"] = {k: asdict(a) for k, a in sc.actions.items()}
    meta["scenario"] = {
        "name": sc.name,
        "description": sc.description,
        "parameters": sc.parameters(),
    }
    (tdir / "simulation.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return result


def _dates(start: dt.date, day: pd.Series) -> pd.Series:
    """Day numbers (NaN: never) as dates; old customers may have churned before start."""
    return pd.to_datetime(start) + pd.to_timedelta(day, unit="D")
