"""A retail world's prices, promotions and stock (issue 20): what forecasting, pricing and
inventory are scored against.

Prices. Every top-level category has a true own-price elasticity ``e`` (uniform in
``Retail.elasticity``, drawn once per seed). An item's shelf price starts at its list price
(``items.price``) and moves now and then: each category changes its items' regular prices
``Retail.changes`` times per item and year (some often, ``books`` never), each new level a
log-normal draw around the list price. On the big promotion peaks (6.18, 11.11, 12.12 of
``liucun.sim.calendar``) each category but those in ``Retail.no_promo`` takes a discount
depth off the regular price. ``order_items.price`` is the shelf price of the day.

How demand answers. An item's demand multiplier on day t is ``m = (p_t / p_list) ** e``.
A customer's choice weights become ``w_k m_k`` (renormalised) and their purchase rate is
multiplied by their basket index ``B = sum_k w_k m_k``, so the expected units of an item are
``rate x season x w x m`` (before the small ``1 - exp`` curvature): exactly elastic with
``e``, whatever the other items cost. ``liucun.sim.truth`` uses the same ``B`` and ``m``.

Stock. Each item has a lead time (``Retail.lead_time`` days) and a (s, nQ) policy the
shop reviews every day: when on hand plus on order falls to ``s`` it orders multiples of
``Q``, which arrive ``lead time`` days later, before the shop opens. ``s`` and ``Q`` follow
the trailing mean of the true (uncensored) expected demand, refreshed weekly, with
per-item safety and cover days: some items run short, some pile up, and promotion peaks
empty shelves. Sales of an item stop when its stock is gone: the lines that do not fit
are lost (``truth/stock.parquet`` ``lost_units``) and an order whose every line is lost
is never placed. ``truth/demand.parquet`` stays uncensored: what would sell with stock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse

from liucun.sim.calendar import promo_flags
from liucun.sim.population import (
    MEAN_EXTRA_ITEMS,
    P_QTY2,
    PRICE_FLOOR,
    TOP_CATEGORIES,
    Catalog,
    Customers,
)

UNITS_PER_ORDER_LINE = (1.0 + MEAN_EXTRA_ITEMS) * (1.0 + P_QTY2)
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Retail:
    """Parameters of a retail world's prices, promotions and stock (see the module)."""

    elasticity: tuple[float, float] = (-2.5, -0.5)
    # Regular price changes per item and year, by top-level category (0: never).
    changes: tuple[tuple[str, float], ...] = (
        ("apparel", 12.0),
        ("electronics", 10.0),
        ("food", 8.0),
        ("beauty", 6.0),
        ("home", 4.0),
        ("sports", 3.0),
        ("toys", 2.0),
        ("books", 0.0),
    )
    price_spread: float = 0.25  # sd of a regular price level's log around the list price
    promo_depth: tuple[float, float] = (0.08, 0.3)
    no_promo: tuple[str, ...] = ("books",)  # categories that never take a promotion discount
    lead_time: tuple[int, int] = (3, 21)
    safety_days: tuple[float, float] = (2.0, 12.0)
    cover_days: tuple[float, float] = (14.0, 60.0)
    review_days: int = 7  # how often s and Q follow the demand
    trailing_days: int = 28  # the demand mean they follow

    def __post_init__(self) -> None:
        problems = []
        lo, hi = self.elasticity
        if not lo <= hi < 0:
            problems.append("elasticity must be lo <= hi < 0")
        names = [c for c, _ in self.changes]
        if sorted(names) != sorted(TOP_CATEGORIES) or any(r < 0 for _, r in self.changes):
            problems.append("changes needs a rate >= 0 for every top category")
        if not set(self.no_promo) <= set(TOP_CATEGORIES):
            problems.append("no_promo names unknown categories")
        if not 0 <= self.promo_depth[0] <= self.promo_depth[1] < 1:
            problems.append("promo_depth must be 0 <= lo <= hi < 1")
        if not 1 <= self.lead_time[0] <= self.lead_time[1]:
            problems.append("lead_time must be 1 <= lo <= hi")
        if self.price_spread < 0 or self.review_days < 1 or self.trailing_days < 1:
            problems.append("price_spread >= 0, review_days and trailing_days >= 1")
        if problems:
            raise ValueError("retail: " + "; ".join(problems))


@dataclass
class PriceBook:
    """Every item's shelf price and demand multiplier on every day (items x days)."""

    price: np.ndarray
    mult: np.ndarray
    elasticity: np.ndarray  # per top category, in TOP_CATEGORIES order
    depth: np.ndarray  # (top categories, days) promotion discount, 0 on other days

    @classmethod
    def draw(
        cls, spec: Retail, rng: np.random.Generator, cat: Catalog, start: dt.date, days: int
    ) -> PriceBook:
        """A fixed number of draws per category and day, the rest per item (deterministic)."""
        tops = list(TOP_CATEGORIES)
        elasticity = rng.uniform(*spec.elasticity, len(tops))
        rate = dict(spec.changes)
        per_year = np.array([rate[tops[k]] for k in cat.top])
        n_changes = rng.poisson(per_year * days / 365.0)
        item = np.repeat(np.arange(cat.size), n_changes)
        day = rng.integers(1, max(days, 2), len(item))
        level = np.exp(np.clip(rng.normal(0.0, spec.price_spread, len(item)), -0.5, 0.5))
        values = np.ones((cat.size, days))
        has = np.zeros((cat.size, days), bool)
        has[:, 0] = True
        values[item, day] = level
        has[item, day] = True
        pos = np.maximum.accumulate(np.where(has, np.arange(days)[None, :], 0), axis=1)
        levels = np.take_along_axis(values, pos, axis=1)
        list_price = cat.price[:, None]
        regular = np.maximum(np.floor(list_price * levels) + 0.9, PRICE_FLOOR)
        regular = np.where(levels == 1.0, list_price, regular)
        flags = promo_flags(start, days)
        depth = rng.uniform(*spec.promo_depth, (len(tops), days)) * flags[None, :]
        for name in spec.no_promo:
            depth[tops.index(name)] = 0.0
        d = depth[cat.top]
        promo = np.maximum(np.round(regular * (1.0 - d), 1), PRICE_FLOOR)
        price = np.where(d > 0, np.minimum(promo, regular), regular)
        mult = (price / list_price) ** elasticity[cat.top][:, None]
        return cls(price, mult, elasticity, depth)

    def n_changes(self, lo: int, hi: int) -> np.ndarray:
        """Per item: days in [lo, hi) whose shelf price differs from the day before."""
        lo = max(lo, 1)
        if hi <= lo:
            return np.zeros(len(self.price), np.int64)
        return (self.price[:, lo:hi] != self.price[:, lo - 1 : hi - 1]).sum(axis=1)


def choice_matrix(cust: Customers, n_items: int) -> sparse.csr_matrix:
    """Customers x items: each customer's choice weights (rows sum to 1)."""
    rows = np.repeat(np.arange(cust.size), cust.candidates.shape[1])
    return sparse.csr_matrix(
        (cust.weights.ravel(), (rows, cust.candidates.ravel())), shape=(cust.size, n_items)
    )


def basket_index(weights: sparse.csr_matrix, mult: np.ndarray) -> np.ndarray:
    """Each customer's ``B = sum_k w_k m_k`` for item multipliers ``mult`` (items or items x
    days): how much cheaper (> 1) or dearer their usual basket is than at list prices."""
    return np.asarray(weights @ mult)


def first_buy_at(first_buy: np.ndarray, basket: np.ndarray) -> np.ndarray:
    """A sign-up's chance to buy on arrival at basket index ``basket``: as if the basket
    index were extra tries, so it answers prices as a regular customer's rate does."""
    return 1.0 - (1.0 - first_buy) ** basket


@dataclass
class Stock:
    """Each item's stock, its (s, nQ) policy and what happened to it day by day."""

    spec: Retail
    lead: np.ndarray  # days from order to shelf, per item
    safety: np.ndarray  # days of demand kept beyond the lead time, per item
    cover: np.ndarray  # days of demand one order brings, per item
    days: int
    on_hand: np.ndarray = field(init=False)
    on_order: np.ndarray = field(init=False)
    s: np.ndarray = field(init=False)
    q: np.ndarray = field(init=False)
    arrivals: np.ndarray = field(init=False)
    expected: np.ndarray = field(init=False)  # (days, items) true uncensored units
    opening: np.ndarray = field(init=False)  # (days, items) on hand as the shop opens
    pipeline: np.ndarray = field(init=False)  # (days, items) on order as the shop opens
    lost: np.ndarray = field(init=False)  # (days, items) units wanted but not in stock

    @classmethod
    def draw(cls, spec: Retail, rng: np.random.Generator, n_items: int, days: int) -> Stock:
        lead = rng.integers(spec.lead_time[0], spec.lead_time[1] + 1, n_items)
        safety = rng.uniform(*spec.safety_days, n_items)
        cover = rng.uniform(*spec.cover_days, n_items)
        return cls(spec, lead, safety, cover, days)

    def __post_init__(self) -> None:
        n, t = len(self.lead), self.days
        self.on_hand = np.zeros(n, np.int64)
        self.on_order = np.zeros(n, np.int64)
        self.s = np.zeros(n)
        self.q = np.ones(n, np.int64)
        self.arrivals = np.zeros((t + int(self.lead.max()) + 1, n), np.int64)
        self.expected = np.zeros((t, n))
        self.opening = np.zeros((t, n), np.int64)
        self.pipeline = np.zeros((t, n), np.int64)
        self.lost = np.zeros((t, n), np.int64)

    def _policy(self, t: int) -> None:
        """s and Q from the trailing mean of the true demand (the shop's planner)."""
        lo = max(0, t - self.spec.trailing_days + 1)
        mu = self.expected[lo : t + 1].mean(axis=0)
        self.s = mu * (self.lead + self.safety)
        self.q = np.maximum(np.ceil(mu * self.cover), 1).astype(np.int64)

    def open(self, t: int, expected: np.ndarray) -> None:
        """Start of day ``t``: receive what is due, refresh the policy, record the shelf."""
        self.expected[t] = expected
        if t == 0:
            self._policy(t)
            self.on_hand = np.ceil(self.s + self.q * 0.5).astype(np.int64)
        elif t % self.spec.review_days == 0:
            self._policy(t)
        due = self.arrivals[t]
        self.on_hand += due
        self.on_order -= due
        self.opening[t] = self.on_hand
        self.pipeline[t] = self.on_order

    def fill(self, t: int, item: np.ndarray, qty: np.ndarray) -> np.ndarray:
        """Which order lines the shelf serves today; lines fill in order until one does not
        fit, the rest of that item's are lost."""
        if not len(item):
            return np.zeros(0, bool)
        order = np.argsort(item, kind="stable")
        it, q = item[order], qty[order].astype(np.int64)
        cs = np.cumsum(q)
        first = np.r_[True, it[1:] != it[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(it)), 0))
        before = (cs - q)[start]
        ok_sorted = cs - before <= self.on_hand[it]
        ok = np.empty(len(item), bool)
        ok[order] = ok_sorted
        n = len(self.on_hand)
        self.on_hand -= np.bincount(item[ok], qty[ok], minlength=n).astype(np.int64)
        self.lost[t] += np.bincount(item[~ok], qty[~ok], minlength=n).astype(np.int64)
        return ok

    def close(self, t: int) -> None:
        """End of day ``t``: order multiples of Q where on hand plus on order is down to s."""
        position = self.on_hand + self.on_order
        low = position <= self.s
        if not low.any():
            return
        idx = np.flatnonzero(low)
        n_q = np.maximum(np.ceil((self.s[idx] - position[idx]) / self.q[idx]), 1)
        amount = (n_q * self.q[idx]).astype(np.int64)
        self.on_order[idx] += amount
        self.arrivals[t + self.lead[idx], idx] += amount


@dataclass
class RetailWorld:
    """A retail world's price book, stock and the customers' choice matrix, for the engine."""

    spec: Retail
    book: PriceBook
    stock: Stock
    weights: sparse.csr_matrix  # customers x items
    weights_t: sparse.csr_matrix  # items x customers
    _basket: np.ndarray | None = field(default=None, init=False)
    _basket_day: int = field(default=-1, init=False)

    @classmethod
    def build(
        cls,
        spec: Retail,
        rng: np.random.Generator,
        cust: Customers,
        cat: Catalog,
        start: dt.date,
        days: int,
    ) -> RetailWorld:
        book = PriceBook.draw(spec, rng, cat, start, days)
        stock = Stock.draw(spec, rng, cat.size, days)
        w = choice_matrix(cust, cat.size)
        return cls(spec, book, stock, w, w.T.tocsr())

    def basket(self, t: int) -> np.ndarray:
        """Every customer's basket index on day ``t`` (recomputed only when prices move)."""
        m = self.book.mult[:, t]
        if self._basket is None or not np.array_equal(m, self.book.mult[:, self._basket_day]):
            self._basket = basket_index(self.weights, m)
        self._basket_day = t
        return self._basket

    def expected_units(self, t: int, q: np.ndarray) -> np.ndarray:
        """True expected units per item today, uncensored, given each customer's chance
        ``q`` of placing an order (choice ``w m / B``, then lines and quantities)."""
        per_customer = q / self.basket(t)
        return UNITS_PER_ORDER_LINE * self.book.mult[:, t] * (self.weights_t @ per_customer)

    def price_factor(self, lo: int, hi: int) -> np.ndarray:
        """Customers x days [lo, hi): the basket index the truth multiplies rates by."""
        return basket_index(self.weights, self.book.mult[:, lo:hi])


def elasticities_frame(world: RetailWorld, cat: Catalog, days: int) -> pd.DataFrame:
    """``truth/elasticities.parquet``: per top category its true elasticity and how many
    item-days of the history carry a new shelf price."""
    tops = list(TOP_CATEGORIES)
    changes = world.book.n_changes(0, days)
    return pd.DataFrame(
        {
            "category": tops,
            "elasticity": world.book.elasticity,
            "n_price_changes": np.bincount(cat.top, changes, minlength=len(tops)).astype(np.int64),
            "n_items": np.bincount(cat.top, minlength=len(tops)).astype(np.int64),
            "changes_per_item_year": [dict(world.spec.changes)[c] for c in tops],
        }
    )


def stock_frame(world: RetailWorld, cat: Catalog, start: dt.date, days: int) -> pd.DataFrame:
    """``truth/stock.parquet``: per item and day the opening stock, whether demand went
    unserved (or the shelf opened empty), the units lost and the shelf price."""
    st = world.stock
    n = cat.size
    opening = st.opening[:days]
    lost = st.lost[:days]
    dates = pd.date_range(start, periods=days, freq="D").date
    return pd.DataFrame(
        {
            "item_id": np.tile(cat.item_id, days),
            "date": np.repeat(dates, n),
            "on_hand": opening.ravel(),
            "stockout": ((opening == 0) | (lost > 0)).ravel(),
            "lost_units": lost.ravel(),
            "price": world.book.price[:, :days].T.ravel(),
        }
    )


def inventory_table(world: RetailWorld, cat: Catalog, day0_us: int, lo: int, hi: int) -> pa.Table:
    """Visible ``inventory`` snapshots: each item's stock as the shop opens on each day of
    [lo, hi) (after that morning's deliveries), what is on order and the lead time."""
    st = world.stock
    n, span = cat.size, hi - lo
    ts = day0_us + np.arange(lo, hi, dtype=np.int64) * 86_400 * 1_000_000
    return pa.table(
        {
            "item_id": pa.DictionaryArray.from_arrays(
                pa.array(np.tile(np.arange(n, dtype=np.int32), span)), pa.array(cat.item_id)
            ),
            "ts": pa.array(np.repeat(ts, n), TS),
            "on_hand": pa.array(st.opening[lo:hi].ravel()),
            "on_order": pa.array(st.pipeline[lo:hi].ravel()),
            "lead_time_days": pa.array(np.tile(st.lead.astype(np.int64), span)),
        }
    )
