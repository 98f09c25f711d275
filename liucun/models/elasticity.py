"""Own-price elasticity per category (and per item) from a shop's own price changes.

The model is a Poisson fixed-effects regression (PPML), the count-data form of the
fixed-effects log-log demand model::

    E[units_it] = exp(a_i + e * log(price_it) + weekday_t + season_t + g * controls_it)

``a_i`` is one fixed effect per item (its demand level, so the elasticity ``e`` comes only
from an item's own price moving over time, never from cheap items selling more than dear
ones); weekday dummies and yearly Fourier terms take out the calendar; the promotion
controls (promotion days, the share of discounted orders) take out the demand that a
promotion brings beside its price cut. Without them a promotion day, when prices are cut
and demand surges for other reasons too, makes demand look far more price-sensitive than
it is (the test builds exactly that case).

Why Poisson rather than OLS on ``log(1 + units)``: most item-days sell nothing, and the
slope of ``log(1 + y)`` on ``log p`` is not ``e``: it is shrunk towards zero by about
``y / (1 + y)``, badly for slow movers. Poisson keeps the zero days as they are and its
estimate is consistent whenever the conditional mean is right, whatever the dispersion
(Santos Silva & Tenreyro 2006), so the standard errors are the robust sandwich, clustered
by calendar week (days of one week share shocks; a price holds for weeks).

Why Fourier terms and not week-of-year dummies for the season: with under two years of
history week-of-year dummies are week fixed effects, and they absorb a price change that a
whole category makes on one day, leaving nothing to estimate from.

Item fixed effects are concentrated out (IRLS on within-item, weight-demeaned data, as
``ppmlhdfe`` does), so a category of thousands of items costs no dummy columns.

A series (an item, or a category: the sum over its items) needs ``min_price_changes``
distinct price changes; with fewer it gets no estimate and the note "not enough price
variation" rather than a guess.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import stats

from liucun.models.base import Estimator

NO_VARIATION = "not enough price variation"
ESTIMATE_COLUMNS = [
    "level",
    "category",
    "item_id",
    "elasticity",
    "se",
    "lo",
    "hi",
    "n_price_changes",
    "n_obs",
    "note",
]


def densify(
    daily: pd.DataFrame,
    controls: tuple[str, ...] = (),
    window: int = 3,
    min_items: int = 3,
    exclude: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every day of each item's selling span (its first to its last sale) as a row.

    The shelf price is only seen when something sells, so a day without sales gets
    ``units`` 0 and an imputed price that does not depend on it having sold nothing:
    the item's regular price (the median paid price over its ``window`` nearest days
    with sales, carried forward), moved by the category's price index that day (the
    median ratio of paid to regular price among the category's items that sold, when at
    least ``min_items`` did). Carrying the last paid price forward instead would give a
    slow mover's quiet days after a one-day promotion the promotion's price, and
    dropping the days whose price is unsure drops zeros selectively; both make demand
    look deaf to price. A short window (3 sale days) follows a regular price step
    soon after it; a wide one blurs it over weeks of a slow mover's quiet days, the same
    deafness (3 against 7: mean error 0.09 against 0.18 on the retail world,
    benchmarks/pricing.py). Days after an item's last sale are left out: it may have been
    delisted or out of stock. Item-day controls are 0 on the filled days.

    ``exclude`` (item_id, date) lists item-days whose sales say nothing about demand: a
    shelf that opened empty or sold out. They are dropped after the prices are imputed
    (their paid prices still tell the regular price). Kept, they censor demand most on
    cheap days, when it runs highest, and pull the elasticity towards zero.
    """
    cols = ["item_id", "category", "date", "units", "price", *controls]
    d = daily[[c for c in cols if c in daily.columns]].copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize().astype("datetime64[ns]")
    d = d.sort_values(["item_id", "date"], kind="stable")
    how = {c: "mean" for c in d.columns if c not in ("item_id", "date")}
    how.update(units="sum", category="first")
    d = d.groupby(["item_id", "date"], as_index=False, sort=True).agg(how)
    d = d[(d["units"] > 0) & (d["price"] > 0)].reset_index(drop=True)
    if d.empty:
        return d
    d["regular"] = (
        d.groupby("item_id")["price"]
        .rolling(window, center=True, min_periods=1)
        .median()
        .reset_index(level=0, drop=True)
    )
    d["dev"] = np.log(d["price"] / d["regular"])
    by_day = d.groupby(["category", "date"])["dev"].agg(["median", "size"])
    index = by_day["median"].where(by_day["size"] >= min_items, 0.0).rename("day_index")
    span = d.groupby("item_id")["date"].agg(["min", "max"])
    lengths = ((span["max"] - span["min"]).dt.days + 1).to_numpy()
    items = np.repeat(span.index.to_numpy(), lengths)
    offsets = np.concatenate([np.arange(n) for n in lengths])
    days = np.repeat(span["min"].to_numpy(), lengths) + offsets * np.timedelta64(1, "D")
    grid = pd.DataFrame({"item_id": items, "date": days.astype("datetime64[ns]")})
    out = grid.merge(d.drop(columns="dev"), on=["item_id", "date"], how="left")
    out["units"] = out["units"].fillna(0.0).astype(float)
    out["category"] = out.groupby("item_id")["category"].transform("first")
    regular = out.groupby("item_id")["regular"].ffill()
    moved = out[["category", "date"]].join(index, on=["category", "date"])["day_index"]
    out["price"] = out["price"].fillna(regular * np.exp(moved.fillna(0.0)))
    for c in controls:
        if c in out.columns:
            out[c] = out[c].fillna(0.0).astype(float)
    if exclude is not None and len(exclude):
        ex = exclude[["item_id", "date"]].astype({"item_id": str}).drop_duplicates()
        ex["date"] = pd.to_datetime(ex["date"]).dt.normalize().astype("datetime64[ns]")
        hit = out.merge(ex.assign(_x=True), on=["item_id", "date"], how="left")["_x"]
        out = out[~hit.fillna(False).to_numpy(bool)]
    return out.drop(columns="regular").reset_index(drop=True)


def count_price_changes(dense: pd.DataFrame, threshold: float = 0.01) -> pd.Series:
    """Per item: days whose price differs from the day before by more than ``threshold``
    (a share of the price), over the daily prices of :func:`densify`."""
    lp = np.log(dense["price"].to_numpy(float))
    same = dense["item_id"].to_numpy() == np.roll(dense["item_id"].to_numpy(), 1)
    same[0] = False
    moved = same & (np.abs(lp - np.roll(lp, 1)) > np.log1p(threshold))
    return pd.Series(moved.astype(int), index=dense.index).groupby(dense["item_id"]).sum()


def calendar_terms(dates: pd.Series, harmonics: int) -> pd.DataFrame:
    """Weekday dummies (Monday the base) and ``harmonics`` yearly sine/cosine pairs."""
    d = pd.to_datetime(dates)
    wd = d.dt.day_of_week.to_numpy()
    out = {f"wd{k}": (wd == k).astype(float) for k in range(1, 7)}
    angle = 2 * np.pi * d.dt.day_of_year.to_numpy(float) / 365.25
    for k in range(1, harmonics + 1):
        out[f"sin{k}"] = np.sin(k * angle)
        out[f"cos{k}"] = np.cos(k * angle)
    return pd.DataFrame(out, index=dates.index)


def _demean(x: np.ndarray, groups: np.ndarray, w: np.ndarray, n_groups: int) -> np.ndarray:
    """``x`` minus its ``w``-weighted mean within each group (columns of a 2-D ``x``)."""
    sw = np.bincount(groups, w, minlength=n_groups)
    sw[sw == 0] = 1.0
    if x.ndim == 1:
        return x - (np.bincount(groups, w * x, minlength=n_groups) / sw)[groups]
    means = np.column_stack(
        [np.bincount(groups, w * x[:, j], minlength=n_groups) / sw for j in range(x.shape[1])]
    )
    return x - means[groups]


def ppml_fe(
    y: np.ndarray,
    x: np.ndarray,
    groups: np.ndarray,
    clusters: np.ndarray,
    offset: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson regression of ``y`` on ``x`` (plus a known ``offset``) with one fixed
    effect per ``groups`` value.

    Returns (coefficients, cluster-robust covariance). Columns that carry no variation
    within groups get a NaN coefficient. IRLS on weight-demeaned data: each step is a
    weighted least squares of the demeaned working response on the demeaned regressors.
    """
    off = np.zeros(len(y)) if offset is None else offset
    k = x.shape[1]
    # A group that never sells has its fixed effect at -inf and says nothing about the
    # slopes (its scores are zero): left out, as ppmlhdfe does.
    sold = np.bincount(groups, y)[groups] > 0
    if not sold.all():
        y, x, off, clusters = y[sold], x[sold], off[sold], clusters[sold]
        groups = np.unique(groups[sold], return_inverse=True)[1]
    if len(y) == 0:
        return np.full(k, np.nan), np.full((k, k), np.nan)
    n_groups = int(groups.max()) + 1
    ybar = np.bincount(groups, y, minlength=n_groups) / np.bincount(groups, minlength=n_groups)
    mu = (y + ybar[groups]) / 2
    eta = np.log(mu) - off
    beta = np.zeros(k)
    keep = np.ones(k, bool)
    dev_old = np.inf
    for _ in range(max_iter):
        z = eta + (y - mu) / mu
        zt = _demean(z, groups, mu, n_groups)
        xt = _demean(x, groups, mu, n_groups)
        sw = np.sqrt(mu)
        scale = np.sqrt((mu[:, None] * xt**2).sum(axis=0))
        keep = scale > 1e-9 * max(1.0, float(scale.max(initial=0.0)))
        beta = np.full(k, np.nan)
        if keep.any():
            beta[keep] = np.linalg.lstsq(xt[:, keep] * sw[:, None], zt * sw, rcond=None)[0]
        resid = zt - xt[:, keep] @ beta[keep]
        eta = z - resid
        mu = np.exp(np.clip(eta + off, -50, 50))
        pos = y > 0
        dev = 2 * (np.sum(y[pos] * np.log(y[pos] / mu[pos])) - np.sum(y - mu))
        if abs(dev - dev_old) <= tol * max(1.0, abs(dev)):
            break
        dev_old = dev
    if not keep.any():
        return np.full(k, np.nan), np.full((k, k), np.nan)
    xt = _demean(x[:, keep], groups, mu, n_groups)
    bread = np.linalg.pinv((mu[:, None] * xt).T @ xt)
    scores = xt * (y - mu)[:, None]
    _, cl = np.unique(clusters, return_inverse=True)
    g = int(cl.max()) + 1
    sums = np.column_stack([np.bincount(cl, scores[:, j], minlength=g) for j in range(xt.shape[1])])
    adj = g / (g - 1) if g > 1 else 1.0
    cov = np.full((k, k), np.nan)
    cov[np.ix_(keep, keep)] = adj * bread @ (sums.T @ sums) @ bread
    return beta, cov


class PriceElasticity(Estimator):
    """Own-price elasticity per category, and per item with enough price changes.

    ``fit(daily)`` takes one row per (item, day) with sales: ``item_id``, ``category``,
    ``date``, ``units`` and ``price`` (the mean paid unit price that day), plus any
    item-day ``controls`` columns; ``day_controls`` (a frame with ``date`` and the rest of
    ``controls``) holds shop-wide ones such as promotion-day flags. Zero-sales days are
    filled in (:func:`densify`). ``estimates_`` then holds one row per category and per
    item with at least ``min_price_changes`` changes (:data:`ESTIMATE_COLUMNS`);
    ``predict`` gives each row's elasticity (its item's where estimated, else its
    category's).
    """

    def __init__(
        self,
        min_price_changes: int = 5,
        change_threshold: float = 0.01,
        controls: tuple[str, ...] = ("promo",),
        harmonics: int = 3,
        confidence: float = 0.95,
        item_level: bool = True,
    ) -> None:
        self.min_price_changes = min_price_changes
        self.change_threshold = change_threshold
        self.controls = controls
        self.harmonics = harmonics
        self.confidence = confidence
        self.item_level = item_level

    def fit(
        self,
        X: pd.DataFrame,
        y: Any = None,
        day_controls: pd.DataFrame | None = None,
        exclude: pd.DataFrame | None = None,
    ) -> Self:
        """Estimate from daily sales ``X``; ``exclude`` (item_id, date): censored item-days
        to leave out (see :func:`densify`)."""
        controls = tuple(self.controls)
        dense = densify(X, controls, exclude=exclude)
        if day_controls is not None and len(dense):
            dc = day_controls.copy()
            dc["date"] = pd.to_datetime(dc["date"]).dt.normalize().astype("datetime64[ns]")
            extra = [c for c in controls if c in dc.columns and c not in dense.columns]
            dense = dense.merge(dc[["date", *extra]], on="date", how="left")
            dense[extra] = dense[extra].fillna(0.0)
        missing = [c for c in controls if c not in dense.columns]
        if missing and len(dense):
            raise ValueError(f"controls not in the data: {missing}")
        dense = dense.sort_values(["category", "item_id", "date"], kind="stable")
        dense = dense.reset_index(drop=True)
        changes = count_price_changes(dense, self.change_threshold)
        rows: list[dict[str, Any]] = []
        for category, part in dense.groupby("category", sort=True):
            n = int(changes.reindex(part["item_id"].unique()).sum())
            row, nuisance = self._estimate(part, "category", str(category), "", n)
            rows.append(row)
            if not self.item_level:
                continue
            for item, one in part.groupby("item_id", sort=True):
                m = int(changes.get(item, 0))
                if m >= self.min_price_changes:
                    rows.append(
                        self._estimate(one, "item", str(category), str(item), m, nuisance)[0]
                    )
        self.estimates_ = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
        self.n_obs_ = len(dense)
        return self

    def _design(self, part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(log price, the nuisance columns: weekday, season, controls) of a series."""
        cal = calendar_terms(part["date"], self.harmonics).to_numpy(float)
        nuisance = np.column_stack([cal, part[list(self.controls)].to_numpy(float)])
        return np.log(part["price"].to_numpy(float)), nuisance

    def _estimate(
        self,
        part: pd.DataFrame,
        level: str,
        category: str,
        item: str,
        n_changes: int,
        nuisance_beta: np.ndarray | None = None,
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        """One series' row (the PPML elasticity and its interval, or why there is none)
        and its fitted nuisance coefficients.

        An item's fit takes its category's calendar and promotion effects as a known
        offset (``nuisance_beta``) and estimates only its own price slope: a single item
        cannot tell a price step from a season on its own, its category can. Its interval
        leaves out the (small) uncertainty of those pooled effects.
        """
        row: dict[str, Any] = {
            "level": level,
            "category": category,
            "item_id": item,
            "elasticity": np.nan,
            "se": np.nan,
            "lo": np.nan,
            "hi": np.nan,
            "n_price_changes": n_changes,
            "n_obs": len(part),
            "note": "",
        }
        if n_changes < self.min_price_changes:
            row["note"] = NO_VARIATION
            return row, None
        log_p, nuisance = self._design(part)
        groups = pd.factorize(part["item_id"])[0]
        weeks = (part["date"] - pd.Timestamp("1970-01-05")).dt.days.to_numpy() // 7
        y = part["units"].to_numpy(float)
        pooled = nuisance_beta is not None and bool(np.isfinite(nuisance_beta).all())
        if pooled:
            offset = nuisance @ nuisance_beta
            beta, cov = ppml_fe(y, log_p[:, None], groups, weeks, offset=offset)
        else:
            beta, cov = ppml_fe(y, np.column_stack([log_p, nuisance]), groups, weeks)
        e, se = float(beta[0]), float(np.sqrt(cov[0, 0]))
        if not (np.isfinite(e) and np.isfinite(se)):
            row["note"] = NO_VARIATION + " once calendar and promotions are controlled for"
            return row, None
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        row.update(elasticity=e, se=se, lo=e - z * se, hi=e + z * se)
        nuisance_fit = None if pooled else np.nan_to_num(beta[1:])
        return row, nuisance_fit

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's elasticity: its item's estimate, else its category's (NaN if none)."""
        self._check_fitted()
        est = self.estimates_
        items = est[est["level"] == "item"].set_index("item_id")["elasticity"]
        cats = est[est["level"] == "category"].set_index("category")["elasticity"]
        by_item = X["item_id"].astype(str).map(items)
        by_cat = X["category"].astype(str).map(cats)
        return by_item.fillna(by_cat).to_numpy(float)


def suggested_discount(
    elasticity: float, cost_share: float, margin_floor: float, max_discount: float
) -> tuple[float, str]:
    """The discount depth in [0, max_discount] that maximises expected gross margin.

    With constant elasticity ``e`` a discount ``d`` sells ``(1 - d)^e`` times the units at
    a unit margin of ``(1 - d) - c`` (``c`` the unit cost as a share of the list price),
    so margin peaks at the price ``c e / (1 + e)`` (Lerner's rule) when ``e < -1`` and
    keeps rising with the price otherwise. The depth is capped so that the discounted
    price keeps ``margin_floor`` of itself as margin; where the list price already sits
    at or below the floor, nothing is suggested. Returns (depth, note).
    """
    if not np.isfinite(elasticity):
        return 0.0, ""
    floor_cap = 1 - cost_share / (1 - margin_floor) if margin_floor < 1 else 0.0
    cap = min(max_discount, floor_cap)
    if elasticity >= 0:
        return 0.0, "elasticity not negative: no discount"
    if elasticity >= -1:
        return 0.0, "inelastic (|e| <= 1): raising the price, not discounting, would add margin"
    best = 1 - cost_share * elasticity / (1 + elasticity)
    if best <= 0:
        return 0.0, "margin is highest above the list price: raise the price rather than discount"
    if cap <= 0:
        return 0.0, "no discount keeps the margin floor"
    if best > cap:
        why = "margin floor" if floor_cap <= max_discount else "max_discount"
        return round(cap, 4), f"capped by {why} (margin peaks at {best:.0%} off)"
    return round(best, 4), ""
