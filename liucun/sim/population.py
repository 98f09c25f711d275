"""Who and what the simulated shop holds: a catalogue and a population of customers.

Everything latent lives here as arrays (one row per item or customer), drawn once from a
seeded generator. The engine moves these customers through time; the truth module reads
the same arrays to compute exact expectations, so nothing is estimated twice.

Latent customer process (BG/NBD-like, with a small daily hazard as in Pareto/NBD):
a customer who is alive buys on a day with probability ``1 - exp(-rate * season * lift)``;
after each purchase they drop out with probability ``dropout + BAD_EXPERIENCE_DROPOUT`` if
the order went badly (late delivery or a poor item), else ``dropout``; every day they also
drop out with probability ``hazard``.

Churn worlds (issue 19) add a hidden process on top (:class:`Latent`): every alive
customer is in one of a few states (engaged, cooling, lapsed; or the stages of a
replenishment cycle) that multiply the purchase and browse rates and move day by day; some
customers have a personal buying season; visits are noisy. The per-customer draws live in
:class:`LatentTraits`; the engine moves the states and the truth runs the same chain
forward exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOP_CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = {
    "apparel": {
        "women": ("dresses", "tops", "coats"),
        "men": ("shirts", "jeans", "jackets"),
        "shoes": ("sneakers", "boots"),
    },
    "beauty": {
        "skincare": ("serum", "cream", "cleanser"),
        "makeup": ("lipstick", "foundation"),
        "fragrance": ("perfume", "body-mist"),
    },
    "electronics": {
        "phones": ("smartphones", "cases", "chargers"),
        "audio": ("earbuds", "speakers"),
        "computers": ("laptops", "keyboards"),
    },
    "home": {
        "kitchen": ("cookware", "knives", "storage"),
        "bedding": ("pillows", "sheets"),
        "decor": ("lamps", "frames"),
    },
    "food": {
        "snacks": ("nuts", "chips", "cookies"),
        "drinks": ("tea", "coffee"),
        "fresh": ("fruit", "seafood"),
    },
    "sports": {
        "fitness": ("yoga-mats", "dumbbells"),
        "outdoor": ("tents", "backpacks"),
        "cycling": ("helmets", "lights"),
    },
    "books": {
        "fiction": ("novels", "sci-fi"),
        "nonfiction": ("business", "history"),
        "kids": ("picture-books", "comics"),
    },
    "toys": {
        "building": ("blocks", "models"),
        "dolls": ("plush", "figures"),
        "games": ("board-games", "puzzles"),
    },
}
# Typical price level per top category (median, in the shop's currency).
PRICE_MEDIAN = {
    "apparel": 129,
    "beauty": 99,
    "electronics": 399,
    "home": 89,
    "food": 39,
    "sports": 149,
    "books": 45,
    "toys": 79,
}
CATEGORY_SHARE = {
    "apparel": 0.2,
    "beauty": 0.14,
    "electronics": 0.12,
    "home": 0.14,
    "food": 0.14,
    "sports": 0.09,
    "books": 0.08,
    "toys": 0.09,
}
BRAND_STEMS = (
    "Lumi",
    "Nord",
    "Hua",
    "Zen",
    "Kai",
    "Mira",
    "Tao",
    "Vela",
    "Orin",
    "Soma",
    "Yun",
    "Feng",
    "Aria",
    "Bolt",
    "Cove",
)
REGIONS = ("east", "north", "south", "central", "southwest", "northeast", "northwest")
REGION_SHARE = np.array([0.3, 0.18, 0.22, 0.1, 0.09, 0.06, 0.05])
# Late-delivery probability by region: remote regions wait longer (observable via region).
REGION_LATE = np.array([0.04, 0.05, 0.05, 0.07, 0.1, 0.12, 0.16])
CHANNELS = ("organic", "search_ads", "social", "referral", "deals")
CHANNEL_SHARE = np.array([0.35, 0.25, 0.18, 0.1, 0.12])

N_FACTORS = 8
N_CANDIDATES = 40  # items a customer actually considers, drawn by true utility
PRICE_FLOOR = 15.0  # every item costs more than the fixed coupon, so it is always usable
SHIPPING_FEE = 6.0
MEAN_EXTRA_ITEMS = 0.5  # items per order = 1 + Poisson(0.5)
P_QTY2 = 0.15  # each line has quantity 2 with this probability, else 1
CANCEL_RATE = 0.02
BAD_EXPERIENCE_DROPOUT = 0.25
RATE_SHAPE = 0.9  # gamma shape of the daily purchase rates
RATE_MEAN_DAYS = 35.0  # mean days between orders while alive
NEW_CUSTOMER_FIRST_BUY = 0.45  # chance that a new sign-up buys on the day they arrive
WELCOME_COUPON = ("NEW10", 10.0)  # first-order coupon some new customers use


@dataclass
class Catalog:
    item_id: np.ndarray  # str
    top: np.ndarray  # int index into TOP_CATEGORIES
    category: np.ndarray  # str path "a/b/c"
    price: np.ndarray  # float, current price (the engine raises some)
    popularity: np.ndarray  # float, sums to 1 (Zipf)
    quality: np.ndarray  # float in (0, 1)
    factors: np.ndarray  # (M, N_FACTORS)
    brand: np.ndarray
    title: np.ndarray

    @property
    def size(self) -> int:
        return len(self.item_id)

    @property
    def bad_item(self) -> np.ndarray:
        """Chance an order of this item disappoints (broken, not as described)."""
        return 0.3 * (1.0 - self.quality) ** 2


@dataclass
class Customers:
    user_id: np.ndarray  # str
    arrival: np.ndarray  # int day index (negative: signed up before the simulated window)
    rate: np.ndarray  # daily purchase rate while alive
    dropout: np.ndarray  # dropout probability after a purchase
    hazard: np.ndarray  # daily dropout probability
    factors: np.ndarray  # (N, N_FACTORS)
    candidates: np.ndarray  # (N, N_CANDIDATES) item indices, best first
    weights: np.ndarray  # (N, N_CANDIDATES) choice probabilities (rows sum to 1)
    utility: np.ndarray  # (N, N_CANDIDATES) true utility of the candidates
    discount_sensitivity: np.ndarray  # in [0, 1]: how much offers move them
    contact_aversion: np.ndarray  # in [0, 1]: how much being contacted drives them away
    region: np.ndarray  # int index into REGIONS
    channel: np.ndarray  # int index into CHANNELS
    lang: np.ndarray  # "zh" | "en"
    refund_rate: np.ndarray
    cancel_rate: np.ndarray
    first_buy: np.ndarray  # chance of buying on the arrival day
    abuse_kind: np.ndarray  # "" | "multi_account" | "refund_abuser" | "fraud"
    device_id: np.ndarray  # str; shared inside a ring of fake accounts
    signup_offset_s: np.ndarray  # seconds into the arrival day
    # Latent response multiplier (mean 1), independent of every observable and written to
    # no file; ones unless a scenario has a hidden response (``liucun.sim.scenarios``).
    hidden_response: np.ndarray

    @property
    def size(self) -> int:
        return len(self.user_id)

    @property
    def late_rate(self) -> np.ndarray:
        return REGION_LATE[self.region]


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def make_catalog(rng: np.random.Generator, n_items: int) -> Catalog:
    tops = list(TOP_CATEGORIES)
    share = np.array([CATEGORY_SHARE[t] for t in tops])
    top = rng.choice(len(tops), size=n_items, p=share / share.sum())
    category = np.empty(n_items, dtype=object)
    for k, t in enumerate(tops):
        leaves = [f"{t}/{sub}/{leaf}" for sub, ls in TOP_CATEGORIES[t].items() for leaf in ls]
        idx = np.flatnonzero(top == k)
        category[idx] = np.array(leaves, dtype=object)[rng.integers(0, len(leaves), len(idx))]
    median = np.array([PRICE_MEDIAN[tops[k]] for k in top], dtype=float)
    raw = median * rng.lognormal(0.0, 0.55, n_items)
    price = np.maximum(np.floor(raw) + 0.9, PRICE_FLOOR)
    rank = rng.permutation(n_items) + 1
    pop = 1.0 / rank**0.95
    quality = rng.beta(6.0, 2.0, n_items)
    centres = rng.normal(0, 1, (len(tops), N_FACTORS))
    factors = centres[top] + 0.6 * rng.normal(0, 1, (n_items, N_FACTORS))
    brand_idx = rng.integers(0, len(BRAND_STEMS), n_items)
    brand = np.array(
        [f"{BRAND_STEMS[b]}{tops[t][:2].upper()}" for b, t in zip(brand_idx, top, strict=True)]
    )
    leaf = np.array([c.rsplit("/", 1)[1] for c in category])
    model = rng.integers(100, 999, n_items).astype(str)
    title = np.char.add(np.char.add(np.char.add(brand, " "), leaf.astype(str)), " ")
    title = np.char.add(title, model)
    return Catalog(
        item_id=_ids("i", n_items, len(str(n_items))),
        top=top,
        category=category.astype(str),
        price=price,
        popularity=pop / pop.sum(),
        quality=quality,
        factors=factors,
        brand=brand,
        title=title,
    )


def _candidates(
    rng: np.random.Generator, factors: np.ndarray, price_sens: np.ndarray, cat: Catalog
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's considered items (top true utility) and choice weights, in chunks."""
    n = len(factors)
    cand = np.empty((n, N_CANDIDATES), dtype=np.int64)
    util = np.empty((n, N_CANDIDATES))
    log_pop = np.log(cat.popularity)
    log_price = np.log(cat.price)
    chunk = max(1, 4_000_000 // cat.size)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        u = factors[s:e] @ cat.factors.T / np.sqrt(N_FACTORS) + 0.2 * log_pop
        u -= price_sens[s:e, None] * log_price[None, :]
        top = np.argpartition(-u, N_CANDIDATES - 1, axis=1)[:, :N_CANDIDATES]
        tu = np.take_along_axis(u, top, axis=1)
        order = np.argsort(-tu, axis=1, kind="stable")
        cand[s:e] = np.take_along_axis(top, order, axis=1)
        util[s:e] = np.take_along_axis(tu, order, axis=1)
    w = np.exp(1.5 * (util - util[:, :1]))
    w /= w.sum(axis=1, keepdims=True)
    return cand, w, util


def make_customers(
    rng: np.random.Generator,
    n_users: int,
    day_factor: np.ndarray,
    cat: Catalog,
    lang: str = "mixed",
    abuse_share: float = 0.01,
    aversion_prevalence: float = 1.0,
    rate_scale: float = 1.0,
    dropout_scale: float = 1.0,
    hazard_scale: float = 1.0,
) -> Customers:
    """Customers arriving over the days of ``day_factor`` (35% already there at the start).

    New sign-ups follow the calendar too (promotions bring new customers). The keyword
    scales are a scenario's (``liucun.sim.scenarios``): at 1.0 they draw and change
    nothing, so the default world keeps its bytes.
    """
    n = n_users
    n_days = len(day_factor)
    existing = rng.random(n) < 0.35
    arrive = rng.choice(n_days, size=n, p=day_factor / day_factor.sum())
    arrival = np.where(existing, -rng.integers(1, 730, n), arrive)
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE)
    deal_seeker = channel == CHANNELS.index("deals")
    sens = np.clip(rng.beta(2.0, 3.5, n) + 0.3 * deal_seeker, 0, 1)
    # Mean: one order per 35 days when alive.
    rate = rng.gamma(RATE_SHAPE, 1.0 / (RATE_SHAPE * RATE_MEAN_DAYS), n)
    dropout = rng.beta(1.4, 3.0, n)
    hazard = rng.gamma(2.0, 1.0 / (2.0 * 700.0), n)
    if rate_scale != 1.0:
        rate = rate * rate_scale
    if dropout_scale != 1.0:
        dropout = np.minimum(dropout * dropout_scale, 1.0)
    if hazard_scale != 1.0:
        hazard = np.minimum(hazard * hazard_scale, 1.0)
    # A minority dislike being contacted; more of them among frequent, loyal buyers.
    loyal = rate > np.quantile(rate, 0.7)
    share = np.where(loyal, 0.25, 0.08)
    if aversion_prevalence != 1.0:
        share = np.minimum(share * aversion_prevalence, 1.0)
    averse = rng.random(n) < share
    aversion = np.where(averse, rng.uniform(0.4, 1.0, n), 0.0)
    tops = rng.dirichlet(np.full(len(TOP_CATEGORIES), 0.35), n)
    centres = np.zeros((len(TOP_CATEGORIES), N_FACTORS))
    for k in range(len(TOP_CATEGORIES)):
        centres[k] = cat.factors[cat.top == k].mean(axis=0) if (cat.top == k).any() else 0
    factors = tops @ centres + 0.5 * rng.normal(0, 1, (n, N_FACTORS))
    cand, w, util = _candidates(rng, factors, 0.3 * sens, cat)
    langs = np.where(rng.random(n) < 0.7, "zh", "en") if lang == "mixed" else np.full(n, lang)
    refund = np.full(n, 0.08)  # online returns run at 10-20% of sales, higher in apparel
    cancel = np.full(n, CANCEL_RATE)
    first_buy = np.full(n, NEW_CUSTOMER_FIRST_BUY)
    abuse = np.full(n, "", dtype=object)
    device = np.char.add("dev", np.char.zfill(rng.permutation(n).astype(str), 7)).astype(object)
    signup_s = rng.integers(8 * 3600, 23 * 3600, n)

    # Abusers: rings of fresh accounts sharing a device, refund abusers, card fraud.
    n_abuse = round(abuse_share * n)
    if n_abuse:
        pool = rng.permutation(np.flatnonzero(~existing))
        n_ring = int(0.6 * n_abuse)
        n_refund = int(0.3 * n_abuse)
        ring_ids = pool[:n_ring]
        pos = 0
        while pos < len(ring_ids):
            size = int(rng.integers(5, 13))
            if len(ring_ids) - (pos + size) < 5:  # no ring of fewer than five accounts
                size = len(ring_ids) - pos
            members = ring_ids[pos : pos + size]
            day = arrival[members[0]]
            arrival[members] = np.minimum(
                day + rng.integers(0, 3, len(members)), max(n_days - 1, 0)
            )
            device[members] = device[members[0]]
            signup_s[members] = signup_s[members[0]] + rng.integers(0, 1800, len(members))
            pos += size
        abuse[ring_ids] = "multi_account"
        first_buy[ring_ids] = 0.95
        refund[ring_ids] = 0.5
        dropout[ring_ids] = 1.0  # one order with the welcome coupon, then gone
        refunders = pool[n_ring : n_ring + n_refund]
        abuse[refunders] = "refund_abuser"
        refund[refunders] = 0.6
        sens[refunders] = 1.0
        fraud = pool[n_ring + n_refund : n_abuse]
        abuse[fraud] = "fraud"
        first_buy[fraud] = 1.0
        refund[fraud] = 0.0
        cancel[fraud] = 0.7  # charged back
        rate[fraud] = 0.3
        dropout[fraud] = 0.5
    signup_s = np.minimum(signup_s, 86_399)
    return Customers(
        user_id=_ids("u", n, len(str(n))),
        arrival=arrival,
        rate=rate,
        dropout=dropout,
        hazard=hazard,
        factors=factors,
        candidates=cand,
        weights=w,
        utility=util,
        discount_sensitivity=sens,
        contact_aversion=aversion,
        region=region,
        channel=channel,
        lang=langs,
        refund_rate=refund,
        cancel_rate=cancel,
        first_buy=first_buy,
        abuse_kind=abuse.astype(str),
        device_id=device.astype(str),
        signup_offset_s=signup_s,
        hidden_response=np.ones(n),
    )


def expected_gross(cust: Customers, price: np.ndarray) -> np.ndarray:
    """Expected goods value of one order at the given item prices."""
    per_item = (cust.weights * price[cust.candidates]).sum(axis=1)
    return (1.0 + MEAN_EXTRA_ITEMS) * (1.0 + P_QTY2) * per_item


def expected_dropout(cust: Customers, cat: Catalog) -> np.ndarray:
    """Expected dropout chance after one purchase (a bad order adds to it, capped at 1)."""
    bad = bad_order_probability(cust, cat)
    base = np.minimum(cust.dropout, 1.0)
    return (1.0 - bad) * base + bad * np.minimum(cust.dropout + BAD_EXPERIENCE_DROPOUT, 1.0)


def bad_order_probability(cust: Customers, cat: Catalog) -> np.ndarray:
    """Chance one order goes badly: late, or its first item disappoints."""
    bad_item = (cust.weights * cat.bad_item[cust.candidates]).sum(axis=1)
    return 1.0 - (1.0 - cust.late_rate) * (1.0 - bad_item)


# -- churn worlds: a hidden process behind purchases and visits (issue 19) ----------------
YEAR_DAYS = 365.0


@dataclass(frozen=True)
class Latent:
    """A hidden per-customer process behind purchases and visits (a churn world's).

    Every alive customer is in one of ``states``; each multiplies the purchase rate
    (``rate``) and the browse rate (``browse``). A day without a purchase moves the state by
    ``move`` (row: from, column: to), a day with one by ``bought`` (``None``: ``move``). How
    fast ``move`` steps off its diagonal is a per-customer gamma multiplier ``pace`` (mean
    1, shape ``pace_shape``; 0: one pace for all), so some customers cool or cycle faster.
    Sign-ups start by ``start``; customers there before day 0 by the chain's long-run mix.
    ``rate_shape`` > 0 re-spreads purchase rates: each ordinary customer's rate is mapped,
    rank and mean kept, onto a gamma of that shape instead of ``RATE_SHAPE`` (small: CDNOW-
    like spread; large: alike customers, so the truth itself is less sure who will buy).

    Visits are noisy: a per-customer browse propensity (log-normal, mean 1, sigma
    ``browse_noise``), and the gone keep visiting at ``browse_gone`` of their rate (a visit
    does not prove a customer alive). A ``season_share`` of customers have a personal
    buying season: their purchase and browse rates are multiplied by
    ``exp(kappa cos(2 pi (t - peak) / 365)) / I0(kappa)`` (mean 1 over a year), the peak
    day uniform over the year, ``kappa = season_kappa``.
    """

    states: tuple[str, ...] = ("active",)
    rate: tuple[float, ...] = (1.0,)
    browse: tuple[float, ...] = (1.0,)
    move: tuple[tuple[float, ...], ...] = ((1.0,),)
    bought: tuple[tuple[float, ...], ...] | None = None
    start: tuple[float, ...] = (1.0,)
    pace_shape: float = 0.0
    rate_shape: float = 0.0
    browse_noise: float = 0.0
    browse_gone: float = 0.0
    season_share: float = 0.0
    season_kappa: float = 0.0

    def __post_init__(self) -> None:
        k = len(self.states)
        problems = []
        if k < 1 or len(set(self.states)) != k:
            problems.append("states must be distinct and at least one")
        for name in ("rate", "browse", "start"):
            v = np.asarray(getattr(self, name), float)
            if v.shape != (k,) or not (np.isfinite(v).all() and (v >= 0).all()):
                problems.append(f"{name} needs {k} finite values >= 0")
        if not problems and abs(sum(self.start) - 1.0) > 1e-9:
            problems.append("start must sum to 1")
        for name in ("move", "bought"):
            m = getattr(self, name)
            if m is None:
                continue
            a = np.asarray(m, float)
            if a.shape != (k, k) or not ((a >= 0).all() and np.allclose(a.sum(axis=1), 1)):
                problems.append(f"{name} must be {k}x{k} with rows of probabilities")
        for name in ("pace_shape", "rate_shape", "browse_noise", "browse_gone", "season_kappa"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                problems.append(f"{name} = {v!r} must be finite and >= 0")
        if not 0 <= self.season_share <= 1:
            problems.append(f"season_share = {self.season_share!r} must be in [0, 1]")
        if problems:
            raise ValueError("latent process: " + "; ".join(problems))

    @property
    def size(self) -> int:
        return len(self.states)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rate, browse, move, bought) as arrays."""
        move = np.asarray(self.move, float)
        bought = move if self.bought is None else np.asarray(self.bought, float)
        return np.asarray(self.rate, float), np.asarray(self.browse, float), move, bought

    def long_run(self, mean_rate: float) -> np.ndarray:
        """Share of customers in each state in the long run at a typical purchase rate.

        Used only to start customers who signed up before day 0 (what a shop that has run
        for years looks like); the truth starts from each customer's actual state at D.
        """
        rate, _, move, bought = self.arrays()
        q = 1.0 - np.exp(-mean_rate * rate)
        chain = (1.0 - q)[:, None] * move + q[:, None] * bought
        pi = np.full(self.size, 1.0 / self.size)
        for _ in range(5000):
            pi = pi @ chain
        return pi / pi.sum()


@dataclass
class LatentTraits:
    """One world's per-customer latent draws (read by the engine and the truth alike)."""

    spec: Latent
    pace: np.ndarray  # how fast ``move`` steps off its diagonal (mean 1)
    rate_mult: np.ndarray  # multiplies the purchase and browse rates (``rate_shape``)
    propensity: np.ndarray  # browse propensity (mean 1)
    seasonal: np.ndarray  # bool: has a personal buying season
    peak: np.ndarray  # day of the year the personal season peaks
    _arrays: tuple[np.ndarray, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._arrays = self.spec.arrays()

    @classmethod
    def draw(
        cls, spec: Latent, rng: np.random.Generator, cust: Customers, rate_scale: float = 1.0
    ) -> LatentTraits:
        """Draw every customer's traits (a fixed number of draws per customer).

        ``rate_scale``: the world's, to recover each rate's place in its gamma.
        """
        n = cust.size
        _, _, move, _ = spec.arrays()
        off = (move.sum(axis=1) - np.diag(move)).max()
        if spec.pace_shape > 0:
            pace = rng.gamma(spec.pace_shape, 1.0 / spec.pace_shape, n)
            if off > 0:  # the fastest still move with a probability of at most 1
                pace = np.minimum(pace, 1.0 / off)
        else:
            pace = np.ones(n)
        rate_mult = np.ones(n)
        if spec.rate_shape > 0 and rate_scale > 0:
            from scipy.stats import gamma

            own = cust.abuse_kind == ""  # abusers' rates are set, not drawn
            x = cust.rate[own] * RATE_MEAN_DAYS / rate_scale  # gamma(RATE_SHAPE), mean 1
            # Clipped: a rate far in the tail must not map to an infinite one.
            u = np.clip(gamma.cdf(x, RATE_SHAPE, scale=1.0 / RATE_SHAPE), 1e-12, 1 - 1e-12)
            y = gamma.ppf(u, spec.rate_shape, scale=1.0 / spec.rate_shape)
            rate_mult[own] = np.where(x > 0, y / np.maximum(x, 1e-300), 1.0)
        sigma = spec.browse_noise
        propensity = rng.lognormal(-0.5 * sigma**2, sigma, n) if sigma > 0 else np.ones(n)
        seasonal = rng.random(n) < spec.season_share
        peak = rng.uniform(0.0, YEAR_DAYS, n)
        return cls(spec, pace, rate_mult, propensity, seasonal, peak)

    @property
    def state_rate(self) -> np.ndarray:
        return self._arrays[0]

    @property
    def state_browse(self) -> np.ndarray:
        return self._arrays[1]

    def season(self, idx: np.ndarray | slice, days: np.ndarray) -> np.ndarray:
        """Personal season factor of customers ``idx`` on absolute ``days``: (len, days)."""
        kappa = self.spec.season_kappa
        seasonal = self.seasonal[idx]
        out = np.ones((len(seasonal), len(days)))
        if kappa <= 0 or not seasonal.any():
            return out
        angle = 2.0 * np.pi * (np.asarray(days, float)[None, :] - self.peak[idx][seasonal, None])
        bump = np.exp(kappa * np.cos(angle / YEAR_DAYS)) / np.i0(kappa)
        out[seasonal] = bump
        return out

    def transitions(self, idx: np.ndarray) -> np.ndarray:
        """Each customer's daily ``move`` matrix with their own pace: (len(idx), K, K)."""
        _, _, move, _ = self._arrays
        eye = np.eye(self.spec.size)
        return eye[None] + self.pace[idx, None, None] * (move - eye)[None]

    def next_rows(self, idx: np.ndarray, phase: np.ndarray, bought: np.ndarray) -> np.ndarray:
        """Where each of ``idx`` (in state ``phase``) may go tonight: (len(idx), K)."""
        _, _, move, after = self._arrays
        eye = np.eye(self.spec.size)
        rows = eye[phase] + self.pace[idx, None] * (move[phase] - eye[phase])
        return np.where(bought[:, None], after[phase], rows)
