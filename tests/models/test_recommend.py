"""The recommender's contract on planted data, real-time updates, and interaction frames.

Planted data: 30 item chains (A → B → C → D, each chain in one of five categories whose
titles share words) walked in order by every customer, co-purchase trios bought in one
basket, and 20 "filler" items that are only ever viewed (Zipf-popular). Test customers
stop part-way along their second chain; the next item of that chain is held out. A tiny
simulated shop checks ``liucun.features.interactions`` against the raw tables.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import liucun
from liucun.engines import workspace_tables
from liucun.features.interactions import (
    DEFAULT_EVENT_WEIGHTS,
    consumed_frame,
    interaction_frame,
    item_frame,
)
from liucun.models.recommend import Recommender
from liucun.sim import simulate

T0 = pd.Timestamp("2024-01-01")
N_CHAINS, CHAIN_LEN, N_GROUPS, N_FILLER = 30, 4, 10, 20
FAMILIES = ("running shoes", "coffee grinder", "yoga mat", "desk lamp", "tea cup")
CONSUMING = ("purchase", "review", "rate")
FAST = ("popular", "itemknn", "transitions")  # quick to fit: the rules tests use these

pytestmark = pytest.mark.filterwarnings("ignore::Warning:implicit.*")


def chain(c: int) -> list[str]:
    return [f"c{c:02d}_{p}" for p in range(CHAIN_LEN)]


def planted(
    n_users: int = 400, n_test: int = 100, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(interactions, items, held-out next item per test customer)."""
    rng = np.random.default_rng(seed)
    filler = [f"p{j:02d}" for j in range(N_FILLER)]
    zipf = 1.0 / np.arange(1, N_FILLER + 1)
    zipf /= zipf.sum()
    rows: list[tuple[str, str, pd.Timestamp, str]] = []
    targets: dict[str, str] = {}
    for n in range(n_users + n_test):
        uid = f"u{n:04d}"
        t = T0 + pd.Timedelta(hours=int(rng.integers(0, 24 * 30)))
        test = n >= n_users
        if rng.random() < 0.5:  # a co-purchase trio in one basket
            g = int(rng.integers(N_GROUPS))
            t += pd.Timedelta(hours=1)
            rows += [(uid, f"g{g}_{x}", t, "purchase") for x in "abc"]
        for ci, c in enumerate(rng.choice(N_CHAINS, 2, replace=False)):
            stop = int(rng.integers(1, CHAIN_LEN - 1)) if test and ci == 1 else CHAIN_LEN
            for item in chain(int(c))[:stop]:
                for _ in range(int(rng.integers(0, 2))):
                    t += pd.Timedelta(minutes=int(rng.integers(1, 600)))
                    rows.append((uid, str(rng.choice(filler, p=zipf)), t, "view"))
                t += pd.Timedelta(minutes=int(rng.integers(1, 600)))
                rows.append((uid, item, t, "view"))
                t += pd.Timedelta(minutes=5)
                rows.append((uid, item, t, "purchase"))
            if stop < CHAIN_LEN:
                targets[uid] = chain(int(c))[stop]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "event_type"])
    ids = [i for c in range(N_CHAINS) for i in chain(c)]
    ids += [f"g{g}_{x}" for g in range(N_GROUPS) for x in "abc"] + filler
    cats, titles = [], []
    for i in ids:
        if i.startswith("c"):
            c = int(i[1:3])
            cats.append(f"cat{c % 5}/sub{c}")
            titles.append(f"{FAMILIES[c % 5]} model {i}")
        elif i.startswith("g"):
            cats.append("bundle/x")
            titles.append(f"bundle part {i}")
        else:
            cats.append("misc/x")
            titles.append(f"gift card {i}")
    items = pd.DataFrame({"item_id": ids, "category": cats, "title": titles, "price": 20.0})
    return df, items, targets


def consumed_sets(df: pd.DataFrame) -> dict[str, set[str]]:
    c = df[df["event_type"].isin(CONSUMING)]
    return {u: set(g) for u, g in c.groupby("user_id")["item_id"]}


def hit_rate(recs: pd.DataFrame, targets: dict[str, str]) -> float:
    lists = {u: set(g) for u, g in recs.groupby("user_id")["item_id"]}
    return float(np.mean([t in lists.get(u, set()) for u, t in targets.items()]))


def lists(recs: pd.DataFrame) -> dict[str, list[str]]:
    recs = recs.sort_values(["user_id", "rank"])
    return {u: list(g) for u, g in recs.groupby("user_id")["item_id"]}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    return planted()


@pytest.fixture(scope="module")
def rec(data) -> Recommender:
    """The default recommender (every source, the ranker), fitted once."""
    df, items, _ = data
    return Recommender(seed=0).fit(df, items)


@pytest.fixture(scope="module")
def fast(data) -> Recommender:
    df, items, _ = data
    return Recommender(sources=FAST, ranker=False).fit(df, items)


def users_of(df: pd.DataFrame) -> list[str]:
    return sorted(df["user_id"].unique())


# -- contract ---------------------------------------------------------------------------


def test_k_rows_per_user_ranks_1_to_k(rec: Recommender, data) -> None:
    df, _, _ = data
    users = [*users_of(df)[:50], "never-seen"]
    out = rec.recommend(users, k=10)
    assert list(out.columns[:4]) == ["user_id", "rank", "item_id", "score"]
    assert "source" in out.columns
    assert set(out["user_id"]) == set(users)
    for _, g in out.groupby("user_id"):
        assert list(g["rank"]) == list(range(1, 11))
        assert g["item_id"].is_unique
        assert g["score"].is_monotonic_decreasing
    assert set(out["source"]) <= set(rec.sources)


def test_consumed_items_are_never_recommended_by_default(rec: Recommender, data) -> None:
    df, _, _ = data
    consumed = consumed_sets(df)
    out = rec.recommend(users_of(df), k=20)
    pairs = zip(out["user_id"], out["item_id"], strict=True)
    bad = [(u, i) for u, i in pairs if i in consumed.get(u, set())]
    assert not bad


def test_exclude_consumed_false_allows_them(fast: Recommender, data) -> None:
    df, _, _ = data
    consumed = consumed_sets(df)
    out = fast.recommend(users_of(df)[:100], k=20, exclude_consumed=False)
    again = sum(i in consumed.get(u, set()) for u, i in zip(out.user_id, out.item_id, strict=True))
    assert again > 0


def test_viewed_only_items_may_be_recommended(rec: Recommender, data) -> None:
    df, _, _ = data
    viewed = {u: set(g) for u, g in df[df.event_type == "view"].groupby("user_id")["item_id"]}
    consumed = consumed_sets(df)
    out = rec.recommend(users_of(df), k=20)
    shown = [
        i in viewed.get(u, set()) - consumed.get(u, set())
        for u, i in zip(out["user_id"], out["item_id"], strict=True)
    ]
    assert sum(shown) > 0


def test_explicit_consumed_frame_is_excluded(data) -> None:
    """Items in ``consumed`` are never shown, even ones only ever viewed (p00 here)."""
    df, items, _ = data
    users = users_of(df)[:40]
    consumed = pd.DataFrame({"user_id": users, "item_id": "p00"})
    r = Recommender(sources=("popular",), ranker=False).fit(df, items, consumed=consumed)
    out = r.recommend([*users, "u0300"], k=5)
    assert "p00" not in set(out.loc[out.user_id.isin(users), "item_id"])
    assert out.loc[out.user_id == "u0300", "item_id"].iloc[0] == "p00"  # most popular


def test_blocked_items_never_appear(data) -> None:
    df, items, _ = data
    blocked = ["p00", "c05_1", "g3_b"]
    r = Recommender(sources=FAST, ranker=False, blocked_items=blocked).fit(df, items)
    users = [*users_of(df), "never-seen"]
    for exclude in (True, False):
        out = r.recommend(users, k=20, exclude_consumed=exclude)
        assert not set(blocked) & set(out["item_id"])
    r.observe("u0001", "c05_0", "view")
    assert "c05_1" not in set(r.recommend(["u0001"], 20)["item_id"])


def test_boost_moves_an_item_up(fast: Recommender, data) -> None:
    df, items, _ = data
    users = users_of(df)[:100]
    before = fast.recommend(users, k=10)
    # An item shown, but never first, to several customers.
    counts = before[before["rank"] > 1].groupby("item_id").size().sort_values(ascending=False)
    item = counts.index[0]
    boosted = Recommender(sources=FAST, ranker=False, boost_items={item: 5.0}).fit(df, items)
    after = boosted.recommend(users, k=10)
    old = before[before.item_id == item].set_index("user_id")["rank"]
    new = after[after.item_id == item].set_index("user_id")["rank"]
    assert set(old.index) <= set(new.index)
    assert (new.reindex(old.index) <= old).all()
    assert (new.reindex(old.index) < old).sum() >= len(old[old > 1]) > 0


def test_max_per_category_caps_each_list(data) -> None:
    df, items, _ = data
    cat = items.set_index("item_id")["category"].str.split("/").str[0]
    users = users_of(df)[:100]
    free = Recommender(sources=FAST, ranker=False).fit(df, items).recommend(users, 10)
    capped = Recommender(sources=FAST, ranker=False, max_per_category=2).fit(df, items)
    out = capped.recommend(users, 10)

    def worst(recs: pd.DataFrame) -> int:
        return int(recs.assign(cat=recs.item_id.map(cat)).groupby(["user_id", "cat"]).size().max())

    assert worst(free) > 2  # the cap has something to do
    assert worst(out) <= 2
    assert out.groupby("user_id").size().eq(10).all()


# -- real time --------------------------------------------------------------------------


def _fresh_chain(df: pd.DataFrame, user: str) -> int:
    """A chain the customer never touched."""
    touched = {int(i[1:3]) for i in df.loc[df.user_id == user, "item_id"] if i.startswith("c")}
    return next(c for c in range(N_CHAINS) if c not in touched)


def test_observe_view_then_purchase_changes_the_next_list(rec: Recommender, data) -> None:
    df, _, _ = data
    live = copy.deepcopy(rec)
    user = "u0007"
    a, b, c, _ = chain(_fresh_chain(df, user))
    before = lists(live.recommend([user], 10))[user]
    assert b not in before

    t0 = time.perf_counter()
    assert live.observe(user, a, "view")
    after = lists(live.recommend([user], 10))[user]
    seconds = time.perf_counter() - t0
    assert after != before
    assert b in after[:5]  # what follows the viewed item rises to the top
    assert seconds < 1.0  # the "within one second"

    t0 = time.perf_counter()
    assert live.observe(user, b, "purchase")
    bought = lists(live.recommend([user], 10))[user]
    seconds = time.perf_counter() - t0
    assert b not in bought  # purchased: consumed from now on
    assert c in bought[:5]  # and the one after it moves up
    assert c not in after or bought.index(c) < after.index(c)
    assert seconds < 1.0
    # The fitted model the other tests share is untouched.
    assert lists(rec.recommend([user], 10))[user] == before


def test_observe_for_a_new_customer_and_unknown_items(rec: Recommender) -> None:
    live = copy.deepcopy(rec)
    assert live.observe("walk-in", "c12_0", "view")
    out = lists(live.recommend(["walk-in"], 10))["walk-in"]
    assert "c12_1" in out[:3]
    assert live.observe("walk-in", "no-such-item", "view") is False


def test_observed_purchase_brings_its_basket_partners(rec: Recommender) -> None:
    """Co-purchase trios: buying one part puts the other two first; the part is gone."""
    live = copy.deepcopy(rec)
    assert live.observe("walk-in-2", "g4_a", "purchase")
    out = lists(live.recommend(["walk-in-2"], 10))["walk-in-2"]
    assert set(out[:2]) == {"g4_b", "g4_c"}
    assert "g4_a" not in out
    assert live.explain("walk-in-2", "g4_b", "itemknn").startswith("bought together with g4_a")


def test_explain_names_the_anchor_item(rec: Recommender, data) -> None:
    df, _, _ = data
    live = copy.deepcopy(rec)
    user = "u0011"
    a, b, _, _ = chain(_fresh_chain(df, user))
    live.observe(user, a, "view")
    text = live.explain(user, b, "transitions")
    assert text.startswith("often comes next after") and a in text
    assert live.explain(user, b, "popular") == "popular in the shop"


# -- cold start ------------------------------------------------------------------------


def test_unknown_customer_gets_popular_items(rec: Recommender, data) -> None:
    df, _, _ = data
    k = 10
    out = rec.recommend(["never-seen"], k)
    assert len(out) == k
    users = df.groupby("item_id")["user_id"].nunique().sort_values(ascending=False, kind="stable")
    top = set(users.index[: 3 * k])
    trend = pd.Series(rec.data_.item_trend, index=rec.data_.item_ids).sort_values(ascending=False)
    top |= set(trend.index[: 3 * k])
    assert set(out["item_id"]) <= top, out
    assert users.index[0] in set(out["item_id"])  # the most popular item of all


def test_new_item_reaches_lists_through_content(data) -> None:
    """An item with text and no interactions reaches customers whose items it resembles."""
    df, items, _ = data
    new = pd.DataFrame(
        {
            "item_id": ["n_new"],
            "category": ["cat2/sub2"],
            "title": ["yoga mat model deluxe"],
            "price": 20.0,
        }
    )
    r = Recommender(sources=("popular", "content")).fit(df, pd.concat([items, new]))
    assert r.data_.item_users[r.item_index_.get_loc("n_new")] == 0
    # Customers whose latest item is a yoga mat of chain 2 (category cat2/sub2).
    last = df.sort_values("ts").groupby("user_id")["item_id"].last()
    fans = [u for u, i in last.items() if i.startswith("c02_")]
    assert len(fans) >= 5
    out = r.recommend(fans, 10)
    got = out[out.item_id == "n_new"]
    assert got["user_id"].nunique() >= len(fans) // 2, out.head(20)
    assert set(got["source"]) == {"content"}
    # Running-shoes customers (category cat0) see it far less often, if at all.
    shoes = [u for u, i in last.items() if i.startswith("c") and int(i[1:3]) % 5 == 0]
    share = (r.recommend(shoes, 10).item_id == "n_new").sum() / len(shoes)
    assert share < got["user_id"].nunique() / len(fans) / 2


# -- determinism ------------------------------------------------------------------------


def test_same_seed_same_recommendations(rec: Recommender, data) -> None:
    df, items, targets = data
    users = [*users_of(df)[:60], *list(targets)[:40], "never-seen"]
    again = Recommender(seed=0).fit(df, items)
    pd.testing.assert_frame_equal(rec.recommend(users, 10), again.recommend(users, 10))


def test_shuffled_rows_same_recommendations(rec: Recommender, data) -> None:
    df, items, targets = data
    users = [*users_of(df)[:60], *list(targets)[:40], "never-seen"]
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    items_shuffled = items.sample(frac=1.0, random_state=4).reset_index(drop=True)
    again = Recommender(seed=0).fit(shuffled, items_shuffled)
    pd.testing.assert_frame_equal(rec.recommend(users, 10), again.recommend(users, 10))


# -- ranker, persistence, errors --------------------------------------------------------


def test_ranker_trains_and_beats_popularity(rec: Recommender, data) -> None:
    df, items, targets = data
    m = rec.ranker_metrics_
    assert m["train_customers"] > 100 and "skipped" not in m
    assert rec.ranker_model_ is not None
    pop = Recommender(sources=("popular",), ranker=False).fit(df, items)
    users = list(targets)
    hr = hit_rate(rec.recommend(users, 10), targets)
    hr_pop = hit_rate(pop.recommend(users, 10), targets)
    assert hr > hr_pop + 0.3, (hr, hr_pop)
    assert hr >= 0.6


def test_save_load_round_trip(rec: Recommender, data, tmp_path: Path) -> None:
    df, _, targets = data
    users = [*users_of(df)[:50], *list(targets)[:20], "never-seen"]
    rec.save(tmp_path / "model")
    back = Recommender.load(tmp_path / "model")
    pd.testing.assert_frame_equal(rec.recommend(users, 10), back.recommend(users, 10))
    assert back.ranker_metrics_ == rec.ranker_metrics_


def test_not_fitted_and_unknown_source() -> None:
    r = Recommender()
    with pytest.raises(NotFittedError):
        r.recommend(["u"], 5)
    with pytest.raises(NotFittedError):
        r.observe("u", "i", "view")
    with pytest.raises(NotFittedError):
        r.save("/nonexistent/never-written")
    df, items, _ = planted(n_users=20, n_test=0)
    with pytest.raises(ValueError, match="no-such-source"):
        Recommender(sources=("popular", "no-such-source")).fit(df, items)


# -- interaction frames on a tiny simulated shop ----------------------------------------

SIM_DAYS = 200


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[liucun.Workspace, Path, dt.date]:
    root = tmp_path_factory.mktemp("recs-shop")
    sim = simulate(root / "sim", users=1500, days=SIM_DAYS, holdout_days=20, seed=7)
    ws = liucun.Workspace(root / "ws")
    for t in ("users", "items", "orders", "order_items", "events", "reviews", "treatments"):
        ws.ingest(t, root / "sim" / f"{t}.parquet")
    return ws, root / "sim", dt.date.fromisoformat(sim.start)


def _truncated(ws: liucun.Workspace, cut: dt.date) -> dict:
    """The warehouse as it looked on the morning of ``cut``."""
    ts = pd.Timestamp(cut)
    tables = workspace_tables(ws)
    out = {}
    for name, t in tables.items():
        if name == "users":
            out[name] = t.filter(t.signup_ts.isnull() | (t.signup_ts < ts))
        elif "ts" in t.columns:
            out[name] = t.filter(t.ts < ts)
        else:
            out[name] = t
    orders = out["orders"]
    li = tables["order_items"]
    out["order_items"] = li.semi_join(orders, li.order_id == orders.order_id)
    return out


def _raw(sim: Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(sim / f"{name}.parquet")
    for c in ("user_id", "item_id", "event_type", "order_id"):
        if c in df:
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def test_interaction_frame_reads_only_before_as_of(shop) -> None:
    ws, _, start = shop
    cut = start + dt.timedelta(days=120)
    tables = workspace_tables(ws)
    full = interaction_frame(tables, cut)
    trunc = interaction_frame(_truncated(ws, cut), cut)
    pd.testing.assert_frame_equal(full, trunc)
    assert len(full) > 1000
    assert pd.to_datetime(full["ts"]).max() < pd.Timestamp(cut)
    later = interaction_frame(tables, start + dt.timedelta(days=SIM_DAYS))
    assert len(later) > len(full)
    pd.testing.assert_frame_equal(
        consumed_frame(tables, cut), consumed_frame(_truncated(ws, cut), cut)
    )


def test_order_lines_are_purchases_and_zero_weights_dropped(shop) -> None:
    ws, sim, start = shop
    cut = start + dt.timedelta(days=150)
    tables = workspace_tables(ws)
    df = interaction_frame(tables, cut)
    assert set(df.columns) >= {"user_id", "item_id", "ts", "event_type", "weight"}
    assert df["item_id"].notna().all()
    expected = {k: v for k, v in DEFAULT_EVENT_WEIGHTS.items() if v > 0}
    assert set(df["event_type"]) <= set(expected)
    assert not {"search", "remove_from_cart"} & set(df["event_type"])
    for e, w in expected.items():
        assert (df.loc[df.event_type == e, "weight"] == w).all(), e

    orders, lines, events = _raw(sim, "orders"), _raw(sim, "order_items"), _raw(sim, "events")
    before = orders[orders.ts < pd.Timestamp(cut, tz="UTC")]
    n_lines = len(lines.merge(before[["order_id"]], on="order_id"))
    ev = events[(events.ts < pd.Timestamp(cut, tz="UTC")) & events.item_id.notna()]
    n_events = int((ev.event_type == "purchase").sum())
    assert n_lines > 0
    assert int((df.event_type == "purchase").sum()) == n_lines + n_events

    custom = interaction_frame(
        tables, cut, weights={"view": 0.0, "add_to_cart": 2.0, "purchase": 7}
    )
    assert set(custom["event_type"]) == {"add_to_cart", "purchase"}
    assert (custom.loc[custom.event_type == "purchase", "weight"] == 7.0).all()
    assert int((custom.event_type == "purchase").sum()) == n_lines + n_events
    only_events = {k: v for k, v in tables.items() if k not in ("orders", "order_items")}
    no_orders = interaction_frame(only_events, cut)
    assert int((no_orders.event_type == "purchase").sum()) == n_events


def test_consumed_frame_holds_orders_events_and_reviews(shop) -> None:
    ws, sim, start = shop
    cut = start + dt.timedelta(days=150)
    when = pd.Timestamp(cut, tz="UTC")
    got = consumed_frame(workspace_tables(ws), cut)
    assert not got.duplicated().any()
    orders, lines = _raw(sim, "orders"), _raw(sim, "order_items")
    events, reviews = _raw(sim, "events"), _raw(sim, "reviews")
    parts = [
        lines.merge(orders.loc[orders.ts < when, ["order_id", "user_id"]], on="order_id"),
        events[(events.ts < when) & events.event_type.isin(CONSUMING) & events.item_id.notna()],
        reviews[(reviews.ts < when) & reviews.item_id.notna()],
    ]
    want = set()
    for p in parts:
        assert len(p) > 0
        want |= set(zip(p["user_id"], p["item_id"], strict=True))
    assert set(zip(got["user_id"], got["item_id"], strict=True)) == want


def test_recommender_on_the_simulated_shop(shop) -> None:
    """End to end on warehouse frames: nothing consumed before as_of comes back."""
    ws, _, start = shop
    cut = start + dt.timedelta(days=SIM_DAYS)
    tables = workspace_tables(ws)
    inter = interaction_frame(tables, cut)
    consumed = consumed_frame(tables, cut)
    items = item_frame(tables)
    assert items is not None and {"top_category", "title", "price"} <= set(items.columns)
    r = Recommender(sources=("popular", "itemknn", "als", "transitions"), seed=0)
    r.fit(inter, items, consumed=consumed, as_of=pd.Timestamp(cut))
    users = sorted(inter["user_id"].unique())
    out = r.recommend(users, 10)
    assert out.groupby("user_id").size().eq(10).all() and len(out) == 10 * len(users)
    pairs = set(zip(consumed["user_id"], consumed["item_id"], strict=True))
    assert not [p for p in zip(out.user_id, out.item_id, strict=True) if p in pairs]
    assert r.ranker_metrics_.get("train_customers", 0) > 0
