"""Interactions as index arrays and sparse matrices: what every candidate source reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class Interactions:
    """Users × items weights, per-user sequences in time order, item facts.

    Rows must arrive sorted by (user_id, ts, item_id) — the deterministic order of
    :func:`liucun.features.interactions.interaction_frame` — so ties never depend on the
    order rows were ingested in.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix  # summed weights
    seq_indptr: np.ndarray  # user u's items in time order: seq_items[indptr[u]:indptr[u+1]]
    seq_items: np.ndarray
    item_users: np.ndarray  # distinct users per item
    item_trend: np.ndarray  # weights decayed by age
    item_category: np.ndarray  # top-level category per item (object; None if unknown)
    item_price: np.ndarray
    item_text: list[str]
    as_of: pd.Timestamp
    trend_days: float = 14.0
    row_user: np.ndarray | None = None  # every row, for recomputing item facts
    row_item: np.ndarray | None = None
    row_weight: np.ndarray | None = None
    row_age: np.ndarray | None = None
    item_title: list[str] | None = None  # for people: "Titanic", not the whole text
    seq_ts: np.ndarray | None = None  # seconds, aligned with seq_items

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def sequence(self, u: int) -> np.ndarray:
        return self.seq_items[self.seq_indptr[u] : self.seq_indptr[u + 1]]

    @classmethod
    def build(
        cls,
        rows: pd.DataFrame,
        items: pd.DataFrame | None = None,
        as_of: pd.Timestamp | None = None,
        trend_days: float = 14.0,
    ) -> Interactions:
        """From (user_id, item_id, ts, weight) rows and an optional items table."""
        if rows.empty:
            raise ValueError("no interactions to learn from")
        rows = rows.sort_values(["user_id", "ts", "item_id"], kind="stable")
        users = np.asarray(pd.unique(rows["user_id"].astype(str)), dtype=object)
        known = rows["item_id"].astype(str)
        catalogue = items["item_id"].astype(str) if items is not None else pd.Series([], dtype=str)
        item_ids = np.asarray(sorted(set(known) | set(catalogue)), dtype=object)
        u_index = pd.Index(users)
        i_index = pd.Index(item_ids)
        u = u_index.get_indexer(rows["user_id"].astype(str))
        i = i_index.get_indexer(known)
        w = rows["weight"].to_numpy(dtype=np.float32)
        m = sp.csr_matrix((w, (u, i)), shape=(len(users), len(item_ids)), dtype=np.float32)
        m.sum_duplicates()
        # Sequences: time order, consecutive repeats of one item collapsed.
        keep = np.ones(len(rows), bool)
        keep[1:] = ~((u[1:] == u[:-1]) & (i[1:] == i[:-1]))
        su, si = u[keep], i[keep]
        seconds = pd.to_datetime(rows["ts"]).to_numpy().astype("datetime64[s]").astype(np.int64)
        sts = seconds[keep]
        indptr = np.zeros(len(users) + 1, dtype=np.int64)
        np.add.at(indptr, su + 1, 1)
        indptr = np.cumsum(indptr)
        ts = pd.to_datetime(rows["ts"])
        as_of = pd.Timestamp(as_of) if as_of is not None else ts.max() + pd.Timedelta(seconds=1)
        age = (as_of - ts).dt.total_seconds().to_numpy() / 86400.0
        trend = np.bincount(
            i, weights=w * np.exp(-np.maximum(age, 0) / trend_days), minlength=len(item_ids)
        )
        binary = m.copy()
        binary.data[:] = 1
        item_users = np.asarray(binary.sum(axis=0)).ravel()
        cat = np.full(len(item_ids), None, dtype=object)
        price = np.full(len(item_ids), np.nan)
        text = [""] * len(item_ids)
        titles = [""] * len(item_ids)
        if items is not None and len(items):
            it = items.drop_duplicates("item_id", keep="last").set_index(
                items["item_id"].astype(str)
            )
            it = it.reindex(item_ids)
            top = it["top_category"] if "top_category" in it else it.get("category")
            if top is not None:
                cat = np.asarray(
                    [c.split("/")[0].strip() if isinstance(c, str) and c else None for c in top],
                    dtype=object,
                )
            if "price" in it:
                price = pd.to_numeric(it["price"], errors="coerce").to_numpy(dtype=float)
            parts = [
                it[c].fillna("").astype(str)
                for c in ("category", "title", "description")
                if c in it
            ]
            if "title" in it:
                titles = it["title"].fillna("").astype(str).tolist()
            if parts:
                joined = parts[0]
                for p in parts[1:]:
                    joined = joined + " " + p
                text = joined.tolist()
        return cls(
            users,
            item_ids,
            m,
            indptr,
            si.astype(np.int64),
            item_users,
            trend,
            cat,
            price,
            text,
            as_of,
            trend_days,
            u.astype(np.int64),
            i.astype(np.int64),
            w,
            age,
            titles,
            sts,
        )

    def without_last(self) -> tuple[Interactions, np.ndarray]:
        """Each user's last new item held out (the ranker's training target).

        Returns the data without those rows and the held-out item per user (-1: none, when
        the user's last item was one they had touched before or they have < 3 items).
        """
        target = np.full(self.n_users, -1, dtype=np.int64)
        keep_mask = np.ones(len(self.seq_items), bool)
        for u in range(self.n_users):
            s = self.sequence(u)
            if len(s) >= 3 and s[-1] not in s[:-1]:
                target[u] = s[-1]
                keep_mask[self.seq_indptr[u + 1] - 1] = False
        m = self.matrix.tolil(copy=True)
        for u in np.flatnonzero(target >= 0):
            m[u, target[u]] = 0
        m = m.tocsr()
        m.eliminate_zeros()
        lengths = np.diff(self.seq_indptr) - (target >= 0)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        # Item facts without the held-out rows: popularity and trend must not see them.
        assert self.row_user is not None and self.row_item is not None
        assert self.row_weight is not None and self.row_age is not None
        held = target[self.row_user] == self.row_item
        ru, ri = self.row_user[~held], self.row_item[~held]
        rw, ra = self.row_weight[~held], self.row_age[~held]
        trend = np.bincount(
            ri, weights=rw * np.exp(-np.maximum(ra, 0) / self.trend_days), minlength=self.n_items
        )
        binary = m.copy()
        binary.data[:] = 1
        reduced = Interactions(
            self.user_ids,
            self.item_ids,
            m,
            indptr,
            self.seq_items[keep_mask],
            np.asarray(binary.sum(axis=0)).ravel(),
            trend,
            self.item_category,
            self.item_price,
            self.item_text,
            self.as_of,
            self.trend_days,
            ru,
            ri,
            rw,
            ra,
            self.item_title,
            None if self.seq_ts is None else self.seq_ts[keep_mask],
        )
        return reduced, target
