"""The day-by-day engine: customers live, browse, buy, review, get contacted and leave.

Each day is a handful of vectorised numpy steps over all customers (no per-event Python
loops). Within a day the order is fixed, and the truth module follows the same order:
campaign contact (may drive away) → purchase draw → dropout after a purchase → the
daily hazard. Records are collected as column arrays per canonical table.

The action catalogue, the campaign shares and how a contact works (lift, dropout,
fatigue, hidden response) come from the engine's :class:`~liucun.sim.scenarios.Scenario`,
never from module globals, so worlds can run side by side in one process.

A churn world's hidden process (``Scenario.latent``, see
:class:`~liucun.sim.population.Latent`) adds to the day: the purchase rate is multiplied by
the customer's state and personal season, browsing follows the state with per-customer
noise (and the gone still visit), and last of all every alive customer's state moves (by
``bought`` after a purchase that day, else by ``move``). The truth runs the same chain.
Its draws come from a generator spawned off the engine's, so the default world (no hidden
process) draws exactly what it always drew.

A retail world (``Scenario.retail``, see :mod:`liucun.sim.retail`) sells at the day's shelf
price: purchase rates follow each customer's basket index, item choice the item's demand
multiplier, and the shelf's stock serves the lines (the rest are lost; an order with no
line left is never placed). Its prices and stock were drawn before day 0 on their own
stream; without one the engine runs exactly as before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from liucun.sim import actions as act
from liucun.sim.calendar import HOUR_WEIGHTS
from liucun.sim.population import (
    BAD_EXPERIENCE_DROPOUT,
    MEAN_EXTRA_ITEMS,
    P_QTY2,
    SHIPPING_FEE,
    WELCOME_COUPON,
    Catalog,
    Customers,
    LatentTraits,
    expected_dropout,
)
from liucun.sim.retail import RetailWorld, first_buy_at
from liucun.sim.scenarios import DEFAULT, Scenario

NEVER = -(10**9)
BROWSE_SESSIONS_PER_PURCHASE = 8.0  # browse-only sessions per expected purchase
VIEWS_EXTRA = 3.0  # views per session = 1 + Poisson(VIEWS_EXTRA)
P_CART_BROWSE = 0.06  # a browsed view is added to the cart with this probability
P_REMOVE = 0.25  # a cart addition is later removed
P_SEARCH = 0.4
P_LOGIN = 0.3
P_POPULAR_VIEW = 0.25  # views of popular items outside the customer's tastes
P_REVIEW = 0.10
P_REVIEW_BAD = 0.25  # extra chance to review after a bad experience
P_SUPPORT_LATE = 0.6
P_SUPPORT_BAD_ITEM = 0.4
P_WELCOME = {"": 0.3, "multi_account": 1.0, "refund_abuser": 0.6, "fraud": 0.5}
PRICE_RISE_SHARE = 0.15
PRICE_RISE = 1.12
PRICE_RISE_RATE_DROP = 0.4  # rate falls by this × the customer's weight on raised items


class Columns:
    """Column arrays for one table, appended per day and joined at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, **cols: np.ndarray) -> None:
        n = {len(v) for v in cols.values()}
        assert len(n) == 1, {k: len(v) for k, v in cols.items()}
        if n.pop() == 0:
            return
        for k, v in cols.items():
            self.parts[k].append(np.asarray(v))

    def done(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}


@dataclass
class State:
    """What changes over time, per customer."""

    alive: np.ndarray
    rate: np.ndarray
    last_purchase: np.ndarray
    lift: np.ndarray
    lift_until: np.ndarray  # last day (inclusive) of the campaign window
    coupon_kind: np.ndarray  # "" | action name of an unused campaign coupon
    coupon_code: np.ndarray
    coupon_until: np.ndarray
    free_ship_until: np.ndarray
    opted_out: np.ndarray
    died_day: np.ndarray
    n_orders: np.ndarray
    contacts: list[tuple[int, np.ndarray]] = field(default_factory=list)
    # Churn worlds: each customer's hidden state (index into ``latent.spec.states``) and
    # their latent traits (drawn once, never changed); all zeros and ``None`` otherwise.
    phase: np.ndarray | None = None
    latent: LatentTraits | None = None

    @classmethod
    def start(cls, cust: Customers) -> State:
        n = cust.size
        return cls(
            alive=np.ones(n, bool),
            rate=cust.rate.copy(),
            last_purchase=np.full(n, NEVER, np.int64),
            lift=np.ones(n),
            lift_until=np.full(n, -1, np.int64),
            coupon_kind=np.full(n, "", dtype=object),
            coupon_code=np.full(n, "", dtype=object),
            coupon_until=np.full(n, -1, np.int64),
            free_ship_until=np.full(n, -1, np.int64),
            opted_out=np.zeros(n, bool),
            died_day=np.full(n, NEVER, np.int64),
            n_orders=np.zeros(n, np.int64),
            phase=np.zeros(n, np.int64),
        )

    def snapshot(self) -> State:
        """A copy to branch from: arrays and the contact list copied, traits shared."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                out[k] = v.copy()
            elif isinstance(v, list):
                out[k] = list(v)
            else:
                out[k] = v
        return State(**out)


class Engine:
    """Runs the shop one day at a time; ``day_factor[t]`` is the calendar's demand."""

    def __init__(
        self,
        rng: np.random.Generator,
        cust: Customers,
        cat: Catalog,
        day_factor: np.ndarray,
        day0_us: int,
        campaign_days: dict[int, str],
        price_rise_day: int | None,
        scenario: Scenario = DEFAULT,
        retail: RetailWorld | None = None,
    ) -> None:
        self.rng = rng
        self.retail = retail
        self.scenario = scenario
        self.actions = scenario.actions
        self.action_names = tuple(self.actions)
        ship = [a.value for a in self.actions.values() if a.kind == "free_shipping"]
        self._free_ship_value = ship[0] if ship else SHIPPING_FEE
        self.cust = cust
        self.cat = cat
        self.s = day_factor
        self.day0_us = day0_us
        self.campaign_days = campaign_days
        self.price_rise_day = price_rise_day
        self.state = State.start(cust)
        self.events = Columns()
        self.orders = Columns()
        self.lines = Columns()
        self.reviews = Columns()
        self.treatments = Columns()
        self.price_changes: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._order_seq = 0
        self._session_seq = 0
        self.bad_item_p = cat.bad_item
        self._cum_w = np.cumsum(cust.weights, axis=1)
        self._pop_cum = np.cumsum(cat.popularity)
        self._hour_cum = np.cumsum(HOUR_WEIGHTS)
        self._leaf = np.array([c.rsplit("/", 1)[1] for c in cat.category])
        self._welcome_p = np.array([P_WELCOME[k] for k in cust.abuse_kind])
        self.latent = scenario.latent
        if self.latent is not None:
            # Its own stream: spawning reads nothing from ``rng``'s sequence of draws.
            self.latent_rng = rng.spawn(1)[0]
            traits = LatentTraits.draw(self.latent, self.latent_rng, cust, scenario.rate_scale)
            self.state.latent = traits
            self.state.phase = self._draw_states(np.asarray(self.latent.start), cust.size)

    def _draw_states(self, p: np.ndarray, n: int) -> np.ndarray:
        """``n`` states drawn from the distribution ``p`` (the hidden process's stream)."""
        u = self.latent_rng.random(n)
        return np.minimum((np.cumsum(p)[None, :] < u[:, None]).sum(axis=1), len(p) - 1)

    def warm_start(self, rng: np.random.Generator) -> None:
        """Customers who signed up before day 0 start as their tenure left them.

        Without this every old customer would start alive and the first months would
        surge: each is alive with the chance of surviving ``tenure`` days of the process
        (at average demand), and last bought a geometric number of days ago.
        """
        cust, st = self.cust, self.state
        old = np.flatnonzero(cust.arrival < 0)
        if not len(old):
            return
        tenure = -cust.arrival[old]
        if self.latent is None:
            q = 1.0 - np.exp(-cust.rate[old])
        else:
            # The long-run mix of hidden states: old customers start in it, and buy at
            # its mean rate (and personal season, averaged over the year: one).
            assert st.latent is not None and st.phase is not None
            mix = self.latent.long_run(float(np.mean(cust.rate)))
            st.phase[old] = self._draw_states(mix, len(old))
            mean_state = float(mix @ st.latent.state_rate)
            q = 1.0 - np.exp(-cust.rate[old] * st.latent.rate_mult[old] * mean_state)
        drop = expected_dropout(cust, self.cat)[old]
        survive = ((1.0 - q * drop) * (1.0 - cust.hazard[old])) ** tenure
        alive = rng.random(len(old)) < survive
        st.alive[old] = alive
        st.died_day[old[~alive]] = -rng.integers(1, tenure[~alive] + 1)
        gap = rng.geometric(np.maximum(q, 1e-9))
        bought = gap <= tenure
        st.last_purchase[old[bought]] = -gap[bought]

    # -- helpers -----------------------------------------------------------------------
    def _ts(self, day: int | np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return (
            self.day0_us
            + (np.asarray(day, np.int64) * 86_400 + seconds.astype(np.int64)) * 1_000_000
        )

    def _session_start(self, n: int) -> np.ndarray:
        hour = np.searchsorted(self._hour_cum, self.rng.random(n) * self._hour_cum[-1])
        return np.minimum(hour, 23) * 3600 + self.rng.integers(0, 3600, n)

    def _pick(self, who: np.ndarray, mult: np.ndarray | None = None) -> np.ndarray:
        """One item per entry of ``who``, drawn from that customer's tastes (weighted by
        the items' demand multipliers ``mult`` in a retail world)."""
        u = self.rng.random(len(who))
        if mult is None:
            cum = self._cum_w[who]
        else:
            cum = np.cumsum(self.cust.weights[who] * mult[self.cust.candidates[who]], axis=1)
            u = u * cum[:, -1]
        k = (cum < u[:, None]).sum(axis=1)
        k = np.minimum(k, self.cust.candidates.shape[1] - 1)
        return self.cust.candidates[who, k]

    def _popular(self, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self._pop_cum, self.rng.random(n)), self.cat.size - 1)

    def _event(self, user, ts, etype, item=None, session=None, value=None, props=None) -> None:
        n = len(user)
        self.events.add(
            user=np.asarray(user, np.int64),
            ts=np.asarray(ts, np.int64),
            type=np.full(n, etype, dtype=object),
            item=np.full(n, -1, np.int64) if item is None else np.asarray(item, np.int64),
            session=np.full(n, -1, np.int64) if session is None else np.asarray(session, np.int64),
            value=np.full(n, np.nan) if value is None else np.asarray(value, float),
            props=np.full(n, "", dtype=object)
            if props is None
            else np.asarray(props, dtype=object),
        )

    # -- the day -------------------------------------------------------------------------
    def step(self, t: int, campaigns: bool = True) -> None:
        st, cust, rng = self.state, self.cust, self.rng
        if self.price_rise_day is not None and t == self.price_rise_day:
            self._raise_prices(t)
        if campaigns and t in self.campaign_days:
            self._campaign(t, self.campaign_days[t])
        active = st.alive & (cust.arrival <= t)
        lift = np.where(st.lift_until >= t, st.lift, 1.0)
        intensity = st.rate * self.s[t] * lift
        if st.latent is not None:
            intensity = intensity * self._latent_factor(t)
        first = cust.first_buy
        if self.retail is not None:
            basket = self.retail.basket(t)
            intensity = intensity * basket
            first = first_buy_at(first, basket)
        q = 1.0 - np.exp(-intensity)
        arriving = active & (cust.arrival == t)
        if self.retail is not None:
            chance = np.where(arriving, first, np.where(active, q, 0.0))
            self.retail.stock.open(t, self.retail.expected_units(t, chance))
        regular = active & (cust.arrival < t) & (rng.random(cust.size) < q)
        new = arriving & (rng.random(cust.size) < first)
        bought = regular | new
        buyers = np.flatnonzero(bought)
        if len(buyers):
            placed = self._orders(t, buyers, new[buyers])
            if len(placed) < len(buyers):  # a retail world's lost sales: no purchase
                bought = np.zeros(cust.size, bool)
                bought[placed] = True
        if self.retail is not None:
            self.retail.stock.close(t)
        # Drop out: after a purchase (worse after a bad one), then the daily hazard.
        if st.latent is None:
            self._browse(t, np.flatnonzero(active))
        else:
            self._browse(t, *self._latent_visits(t, active))
        hazard = active & st.alive & (rng.random(cust.size) < cust.hazard)
        self._die(np.flatnonzero(hazard), t)
        if st.latent is not None:
            self._move(active & st.alive, bought)

    # -- a churn world's hidden process --------------------------------------------------
    def _latent_factor(self, t: int) -> np.ndarray:
        """Per customer: the purchase-rate multiplier of their state and season on day t."""
        st = self.state
        assert st.latent is not None and st.phase is not None
        factor = st.latent.state_rate[st.phase] * st.latent.rate_mult
        if st.latent.seasonal.any():
            factor = factor * st.latent.season(slice(None), np.array([t]))[:, 0]
        return factor

    def _latent_visits(self, t: int, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(who, browse sessions expected) today: by state and season, noisy; the gone too."""
        st, cust = self.state, self.cust
        lat = st.latent
        assert lat is not None and st.phase is not None
        rate = BROWSE_SESSIONS_PER_PURCHASE * st.rate * self.s[t] * lat.propensity * lat.rate_mult
        alive = rate * lat.state_browse[st.phase]
        if lat.seasonal.any():
            alive = alive * lat.season(slice(None), np.array([t]))[:, 0]
        gone = (cust.arrival <= t) & ~st.alive
        rate = np.where(active, alive, np.where(gone, lat.spec.browse_gone * rate, 0.0))
        who = np.flatnonzero(active | (gone & (lat.spec.browse_gone > 0)))
        return who, rate[who]

    def _move(self, alive: np.ndarray, bought: np.ndarray) -> None:
        """Tonight's state change of every alive customer (after a purchase: ``bought``)."""
        st = self.state
        assert st.latent is not None and st.phase is not None
        if st.latent.spec.size == 1:
            return
        idx = np.flatnonzero(alive)
        rows = st.latent.next_rows(idx, st.phase[idx], bought[idx])
        u = self.latent_rng.random(len(idx))
        new = (np.cumsum(rows, axis=1) < u[:, None]).sum(axis=1)
        st.phase[idx] = np.minimum(new, st.latent.spec.size - 1)

    def _die(self, idx: np.ndarray, t: int) -> None:
        st = self.state
        idx = idx[st.alive[idx]]
        st.alive[idx] = False
        st.died_day[idx] = t

    def _raise_prices(self, t: int) -> None:
        cat, cust, st = self.cat, self.cust, self.state
        raised = self.rng.random(cat.size) < PRICE_RISE_SHARE
        old = cat.price.copy()
        cat.price[raised] = np.floor(cat.price[raised] * PRICE_RISE) + 0.9
        self.price_changes.append((t, np.flatnonzero(raised), old[raised]))
        exposure = (cust.weights * raised[cust.candidates]).sum(axis=1)
        st.rate *= 1.0 - PRICE_RISE_RATE_DROP * exposure

    def _campaign(self, t: int, campaign_id: str) -> None:
        st, cust, rng = self.state, self.cust, self.rng
        known = (cust.arrival < t) & ~st.opted_out
        sc = self.scenario
        idx = np.flatnonzero(known & (rng.random(cust.size) < sc.campaign_share))
        if not len(idx):
            return
        choice = rng.integers(0, len(self.action_names), len(idx))
        control = rng.random(len(idx)) < sc.control_share
        secs = 9 * 3600 + rng.integers(0, 3 * 3600, len(idx))
        ts = self._ts(t, secs)
        names = np.array(self.action_names, dtype=object)[choice]
        costs = np.array([self.actions[a].contact_cost for a in self.action_names])[choice]
        self.treatments.add(
            user=idx,
            ts=ts,
            campaign=np.full(len(idx), campaign_id, dtype=object),
            action=names,
            arm=np.where(control, "control", "treatment"),
            cost=np.where(control, 0.0, costs),
        )
        for k, name in enumerate(self.action_names):
            self.contact(t, idx[(choice == k) & ~control], name, campaign_id)

    def contact(self, t: int, who: np.ndarray, name: str, campaign_id: str) -> None:
        """Give action ``name`` to customers ``who`` at the start of day ``t``."""
        st, cust, rng = self.state, self.cust, self.rng
        a = self.actions[name]
        if not len(who):
            return
        r = act.recency(st.last_purchase[who], t, cust.arrival[who])
        recent = self.scenario.recent_contacts(st.contacts, who, t, cust.size)
        lift, drop = self.scenario.response(a, cust, who, r, recent)
        st.contacts.append((t, who))
        gone = st.alive[who] & (rng.random(len(who)) < drop)
        leavers = who[gone]
        optout = leavers[rng.random(len(leavers)) < act.OPT_OUT_SHARE]
        st.opted_out[optout] = True
        self._event(
            optout, self._ts(t, 12 * 3600 + rng.integers(0, 8 * 3600, len(optout))), "opt_out"
        )
        self._die(leavers, t)
        st.lift[who] = 1.0 + lift
        st.lift_until[who] = t + a.window_days - 1
        if a.kind in ("fixed", "pct"):
            st.coupon_kind[who] = name
            st.coupon_code[who] = f"{name.upper()}-{campaign_id}"
            st.coupon_until[who] = t + a.window_days - 1
        elif a.kind == "free_shipping":
            st.free_ship_until[who] = t + a.window_days - 1

    def _orders(self, t: int, buyers: np.ndarray, is_new: np.ndarray) -> np.ndarray:
        """Place the orders of ``buyers``; returns those who did buy (all of them unless a
        retail world's shelves were empty for every line of theirs)."""
        st, cust, cat, rng = self.state, self.cust, self.cat, self.rng
        nb = len(buyers)
        n_lines = 1 + rng.poisson(MEAN_EXTRA_ITEMS, nb)
        line_order = np.repeat(np.arange(nb), n_lines)
        line_cust = buyers[line_order]
        retail = self.retail
        item = self._pick(line_cust, None if retail is None else retail.book.mult[:, t])
        qty = 1 + (rng.random(len(item)) < P_QTY2)
        if retail is not None:
            served = retail.stock.fill(t, item, qty)
            if not served.all():
                item, qty, line_order = item[served], qty[served], line_order[served]
                kept = np.bincount(line_order, minlength=nb) > 0
                buyers, is_new = buyers[kept], is_new[kept]
                line_order = (np.cumsum(kept) - 1)[line_order]
                nb = len(buyers)
                n_lines = np.bincount(line_order, minlength=nb)
                line_cust = buyers[line_order]
                if not nb:
                    return buyers
            price = retail.book.price[item, t]
        else:
            price = cat.price[item]
        oid = self._order_seq + np.arange(nb)
        self._order_seq += nb
        gross = np.bincount(line_order, price * qty, minlength=nb)
        first_line = np.cumsum(n_lines) - n_lines
        first_item = item[first_line]
        secs = self._session_start(nb)
        ts = self._ts(t, secs)

        # Offers: a campaign coupon (once, in its window), free shipping, a welcome coupon.
        discount = np.zeros(nb)
        code = np.full(nb, "", dtype=object)
        has_coupon = (st.coupon_kind[buyers] != "") & (st.coupon_until[buyers] >= t)
        for name, a in self.actions.items():
            mine = has_coupon & (st.coupon_kind[buyers] == name)
            if a.kind == "fixed":
                discount[mine] = a.value
            elif a.kind == "pct":
                discount[mine] = np.round(gross[mine] * a.value, 2)
        code[has_coupon] = st.coupon_code[buyers[has_coupon]]
        st.coupon_kind[buyers[has_coupon]] = ""
        welcome_p = self._welcome_p[buyers]
        welcome = is_new & ~has_coupon & (rng.random(nb) < welcome_p)
        discount[welcome] = WELCOME_COUPON[1]
        code[welcome] = WELCOME_COUPON[0]
        free_ship = st.free_ship_until[buyers] >= t
        discount[free_ship] += self._free_ship_value
        code[free_ship & (code == "")] = "FREESHIP"
        amount = np.round(gross + SHIPPING_FEE - discount, 2)

        # Outcome: cancelled, refunded (days later), or paid; late or disappointing.
        u = rng.random(nb)
        cancel_p = cust.cancel_rate[buyers]
        status = np.where(
            u < cancel_p,
            "cancelled",
            np.where(u < cancel_p + cust.refund_rate[buyers], "refunded", "paid"),
        )
        change_ts = np.where(
            status == "cancelled",
            ts + rng.integers(1, 86_400, nb) * 10**6,
            ts + rng.integers(3, 15, nb) * 86_400 * 10**6,
        )
        change_ts = np.where(status == "paid", -1, change_ts)
        late = rng.random(nb) < cust.late_rate[buyers]
        bad_item = rng.random(nb) < self.bad_item_p[first_item]
        self.orders.add(
            order=oid,
            user=buyers,
            ts=ts,
            amount=amount,
            quantity=np.bincount(line_order, qty, minlength=nb),
            status=status.astype(object),
            change_ts=change_ts,
            code=code,
            discount=np.round(discount, 2),
            late=late,
            bad_item=bad_item,
        )
        self.lines.add(order=oid[line_order], item=item, qty=qty, price=price)

        # The purchase session: a few views, the cart, the purchase, the coupon.
        sess = self._session_seq + np.arange(nb)
        self._session_seq += nb
        n_other = rng.poisson(1.0, nb)
        other_order = np.repeat(np.arange(nb), n_other)
        view_order = np.concatenate([other_order, line_order])
        view_item = np.concatenate([self._pick(buyers[other_order]), item])
        view_ts = ts[view_order] - rng.integers(60, 1800, len(view_order)) * 10**6
        self._event(buyers[view_order], view_ts, "view", view_item, sess[view_order])
        self._event(
            line_cust,
            ts[line_order] - rng.integers(10, 300, len(item)) * 10**6,
            "add_to_cart",
            item,
            sess[line_order],
        )
        props = np.char.add(np.char.add('{"order_id": "o', oid[line_order].astype(str)), '"}')
        self._event(
            line_cust,
            ts[line_order],
            "purchase",
            item,
            sess[line_order],
            price * qty,
            props.astype(object),
        )
        used = np.flatnonzero(code != "")
        cprops = np.char.add(np.char.add('{"coupon_code": "', code[used].astype(str)), '"}')
        self._event(
            buyers[used],
            ts[used],
            "coupon_redeem",
            None,
            sess[used],
            discount[used],
            cprops.astype(object),
        )
        refunded = np.flatnonzero(status == "refunded")
        self._event(
            buyers[refunded],
            change_ts[refunded],
            "refund",
            first_item[refunded],
            None,
            amount[refunded],
        )

        # Afterwards: support contacts and reviews, both following the experience.
        for flag, p, reason in (
            (late, P_SUPPORT_LATE, "late_delivery"),
            (bad_item, P_SUPPORT_BAD_ITEM, "item_quality"),
        ):
            who = np.flatnonzero(flag & (rng.random(nb) < p))
            sprops = np.full(len(who), f'{{"reason": "{reason}"}}', dtype=object)
            self._event(
                buyers[who],
                ts[who] + rng.integers(2, 8, len(who)) * 86_400 * 10**6,
                "support",
                None,
                None,
                None,
                sprops,
            )
        bad = late | bad_item
        writes = rng.random(nb) < P_REVIEW + P_REVIEW_BAD * bad
        w = np.flatnonzero(writes & (status != "cancelled"))
        quality = cat.quality[first_item[w]]
        score = 1.4 + 4.0 * quality - 1.3 * late[w] - 1.6 * bad_item[w] + rng.normal(0, 0.7, len(w))
        rating = np.clip(np.round(score), 1, 5).astype(np.int64)
        rts = ts[w] + rng.integers(4, 13, len(w)) * 86_400 * 10**6
        self.reviews.add(user=buyers[w], ts=rts, item=first_item[w], rating=rating, late=late[w])
        self._event(buyers[w], rts, "review", first_item[w], None, rating)

        st.last_purchase[buyers] = t
        st.n_orders[buyers] += 1
        drop = np.minimum(cust.dropout[buyers] + BAD_EXPERIENCE_DROPOUT * bad, 1.0)
        self._die(buyers[rng.random(nb) < drop], t)
        return buyers

    def _browse(self, t: int, active: np.ndarray, rate: np.ndarray | None = None) -> None:
        """Browse-only sessions: searches, views, carts mostly abandoned.

        ``rate``: the expected sessions of each of ``active`` today (a churn world's);
        by default in proportion to their purchase rate.
        """
        st, rng = self.state, self.rng
        if rate is None:
            rate = BROWSE_SESSIONS_PER_PURCHASE * st.rate[active] * self.s[t]
        n_sess = rng.poisson(rate)
        who = np.repeat(active, n_sess)
        ns = len(who)
        if not ns:
            return
        sess = self._session_seq + np.arange(ns)
        self._session_seq += ns
        start = self._ts(t, self._session_start(ns))
        login = np.flatnonzero(rng.random(ns) < P_LOGIN)
        self._event(who[login], start[login], "login", None, sess[login])
        search = np.flatnonzero(rng.random(ns) < P_SEARCH)
        q_item = self._pick(who[search])
        leaf = self._leaf[q_item]
        qprops = np.char.add(np.char.add('{"query": "', leaf.astype(str)), '"}')
        self._event(
            who[search],
            start[search] + 5 * 10**6,
            "search",
            None,
            sess[search],
            None,
            qprops.astype(object),
        )
        n_views = 1 + rng.poisson(VIEWS_EXTRA, ns)
        v_sess = np.repeat(np.arange(ns), n_views)
        v_who = who[v_sess]
        popular = rng.random(len(v_sess)) < P_POPULAR_VIEW
        item = self._pick(v_who)
        item[popular] = self._popular(int(popular.sum()))
        # Views follow each other 15 s to 3 min apart within their session.
        cum = np.cumsum(rng.integers(15, 180, len(v_sess)) * 10**6)
        base = np.concatenate([[0], cum])[np.cumsum(n_views) - n_views]
        v_ts = start[v_sess] + 10 * 10**6 + cum - np.repeat(base, n_views)
        self._event(v_who, v_ts, "view", item, sess[v_sess])
        cart = np.flatnonzero(rng.random(len(v_sess)) < P_CART_BROWSE)
        self._event(
            v_who[cart], v_ts[cart] + 20 * 10**6, "add_to_cart", item[cart], sess[v_sess[cart]]
        )
        rm = cart[rng.random(len(cart)) < P_REMOVE]
        self._event(
            v_who[rm], v_ts[rm] + 60 * 10**6, "remove_from_cart", item[rm], sess[v_sess[rm]]
        )
