"""MovieLens-100k top-K benchmark: liucun's recommender beside MostPop, item-kNN, ALS and BPR.

The common implicit-feedback protocol on MovieLens-100k (the copy shipped inside the
``recbole`` package, read as a file without importing it; every rating is one
interaction): per user, the last interaction by timestamp (ties broken by the larger
numeric item id) is the test item and everything before it is train; the same cut applied
to train gives the validation item. Every model ranks the whole catalogue with the user's
train items excluded, and is judged at K=10 (and 20) with ``liucun.evaluate.ranking_metrics``.

The anchors come from ``implicit`` (a kept C++ library, so the comparison is against
well-known implementations rather than our own): MostPop, item-kNN
(``BM25Recommender``), ALS and BPR. Each is tuned on the validation split over a small grid
(by NDCG@10), then refitted on all of train with the chosen parameters for the test. The
liucun row is ``liucun.models.recommend.Recommender`` with its defaults (or
``--liucun-params``), fitted the same way; until that module exists its row records the
import error and the anchors still run. The issue's figures are in ``anchors_reported``;
the ``targets`` block compares liucun with BPR measured in this run and with the issue's
aim, and is never fatal. Prints JSON and writes it to ``--out``; exits 1 if a metric that
should exist is NaN, a list recommends a consumed item or the data is not what it should
be, 2 if ``recbole`` is not installed::

    python benchmarks/recs_ml100k.py                      # 943 users, full grids
    python benchmarks/recs_ml100k.py --quick --out /tmp/recs_ml100k.json   # 200 users, tiny grids
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import cpu_s as _cpu_s
from _measure import finite as _finite
from _measure import json_clean as _clean
from _measure import machine as _machine
from _measure import peak_mb as _peak_mb
from _measure import write_report

HERE = Path(__file__).resolve().parent
INTER_FILE = "recbole/dataset_example/ml-100k/ml-100k.inter"
ITEM_FILE = "recbole/dataset_example/ml-100k/ml-100k.item"
ML100K = {"interactions": 100_000, "users": 943, "items": 1_682}
QUICK_USERS = 200
K = 10
K_WIDE = 20
ANCHOR_MODELS = ("mostpop", "itemknn", "als", "bpr")
# Figures from the issue, "measured by the issue author with the same protocol".
ANCHORS_REPORTED = {
    "source": "measured by the issue author with the same protocol",
    "mostpop_ndcg@10": 0.0253,
    "itemknn_bm25_ndcg@10": 0.0370,
    "als_ndcg@10": 0.0397,
    "bpr_ndcg@10": 0.0455,
    "bpr_recall@10": 0.0988,
}
AIM_NDCG10 = 0.059
# Reported per model, test split.
REPORTED = (
    f"ndcg@{K}",
    f"recall@{K}",
    f"hr@{K}",
    f"mrr@{K}",
    f"coverage@{K}",
    f"ndcg@{K_WIDE}",
    f"recall@{K_WIDE}",
)
# Validation grids: small on purpose (the point is a fair anchor, not a search).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "mostpop": {},
    "itemknn": {
        "K": [10, 20, 50, 100, 200],
        "K1": [0.6, 1.2, 2.0],
        "B": [0.0, 0.25, 0.5, 0.75, 1.0],
    },
    "als": {
        "factors": [32, 64, 128],
        "regularization": [0.01, 0.1, 1.0],
        "alpha": [1.0, 5.0, 20.0, 40.0],
        "iterations": [15, 30],
    },
    "bpr": {
        "factors": [32, 64, 128],
        "learning_rate": [0.01, 0.05, 0.1],
        "regularization": [0.001, 0.01],
        "iterations": [100, 300],
    },
}
QUICK_GRIDS: dict[str, dict[str, list[Any]]] = {
    "mostpop": {},
    "itemknn": {"K": [20, 100], "K1": [1.2], "B": [0.75]},
    "als": {"factors": [32], "regularization": [0.1], "alpha": [1.0, 20.0], "iterations": [15]},
    "bpr": {"factors": [32], "learning_rate": [0.05], "regularization": [0.01], "iterations": [50]},
}
MISSING_RECBOLE = (
    "MovieLens-100k comes with the recbole package, which is not installed: "
    "pip install --no-deps recbole"
)


def data_files() -> tuple[Path, Path] | None:
    """The interactions and items files inside the installed recbole, or None if missing.

    Located through the distribution's metadata: importing recbole would pull PyTorch.
    """
    try:
        dist = metadata.distribution("recbole")
    except metadata.PackageNotFoundError:
        return None
    inter, item = (Path(str(dist.locate_file(f))) for f in (INTER_FILE, ITEM_FILE))
    return (inter, item) if inter.is_file() and item.is_file() else None


@dataclass
class Split:
    """Leave-last-out splits on integer indices, and the frames liucun's model fits on.

    ``fit`` is all of train (test time); ``fit_valid`` is train less each user's validation
    item (tuning time). Matrices are users × items CSR with 1.0 per interaction.
    """

    users: Any  # np.ndarray of user id strings, index = user index
    items: Any  # np.ndarray of item id strings, index = item index
    fit: Any  # scipy.sparse.csr_matrix
    fit_valid: Any
    test: Any  # np.ndarray: the test item index per user
    valid: Any  # np.ndarray: the validation item index per user
    frame: Any  # pd.DataFrame: interactions with user_idx, item_idx, role
    item_meta: Any  # pd.DataFrame: item_id, category, title (catalogue items only)


def load(inter_file: Path, item_file: Path, users: int | None) -> tuple[Any, Any]:
    """Interactions (ids as strings, one row per rating) and the item table.

    ``users``: keep only the users with the N smallest numeric ids (the quick run).
    """
    import pandas as pd

    inter = pd.read_csv(inter_file, sep="\t", dtype=str)
    inter.columns = [c.split(":")[0] for c in inter.columns]
    inter["timestamp"] = inter["timestamp"].astype(float).astype("int64")
    if users is not None:
        keep = sorted(inter["user_id"].unique(), key=int)[:users]
        inter = inter[inter["user_id"].isin(set(keep))].reset_index(drop=True)
    items = pd.read_csv(item_file, sep="\t", dtype=str, quoting=3, keep_default_na=False)
    items.columns = [c.split(":")[0] for c in items.columns]
    first_genre = items["class"].str.split().str[0].fillna("")
    meta = pd.DataFrame(
        {"item_id": items["item_id"], "category": first_genre, "title": items["movie_title"]}
    )
    return inter, meta


def split(inter: Any, meta: Any) -> Split:
    """Per user, the last (timestamp, numeric item id) is test, the one before is validation."""
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

    df = inter[["user_id", "item_id", "timestamp"]].copy()
    df["_u"], df["_i"] = df["user_id"].astype(int), df["item_id"].astype(int)
    df = df.sort_values(["_u", "timestamp", "_i"], kind="stable").reset_index(drop=True)
    user_ids = pd.unique(df["user_id"])
    item_ids = np.array(sorted(pd.unique(df["item_id"]), key=int))
    df["user_idx"] = pd.Index(user_ids).get_indexer(df["user_id"])
    df["item_idx"] = pd.Index(item_ids).get_indexer(df["item_id"])
    from_end = df.groupby("user_idx").cumcount(ascending=False)
    df["role"] = np.select([from_end == 0, from_end == 1], ["test", "valid"], "train")
    shape = (len(user_ids), len(item_ids))

    def csr(rows: Any) -> Any:
        ones = np.ones(len(rows), dtype=np.float32)
        return csr_matrix((ones, (rows["user_idx"], rows["item_idx"])), shape=shape)

    def target(role: str) -> Any:
        rows = df[df["role"] == role].sort_values("user_idx")
        if len(rows) != shape[0]:
            raise ValueError(f"{role}: {len(rows)} users have a {role} item, expected {shape[0]}")
        return rows["item_idx"].to_numpy()

    return Split(
        users=np.asarray(user_ids, dtype=object),
        items=item_ids.astype(object),
        fit=csr(df[df["role"] != "test"]),
        fit_valid=csr(df[df["role"] == "train"]),
        test=target("test"),
        valid=target("valid"),
        frame=df.drop(columns=["_u", "_i"]),
        item_meta=meta[meta["item_id"].isin(set(item_ids))].reset_index(drop=True),
    )


def tied_share(sp: Split) -> float:
    """Share of users whose test item shares its second with their validation item.

    There the id tie-break alone picks the test item (the larger id), so a model that learns
    the order of same-second ratings from sequences gains on this protocol and not in use.
    """
    df = sp.frame
    ts = {r: df[df["role"] == r].set_index("user_idx")["timestamp"] for r in ("test", "valid")}
    return float((ts["test"] == ts["valid"].reindex(ts["test"].index)).mean())


# anchors ------------------------------------------------------------------------------------


def _implicit_model(name: str, params: dict[str, Any], seed: int, threads: int) -> Any:
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import BM25Recommender

    if name == "itemknn":
        return BM25Recommender(num_threads=threads, **params)
    if name == "als":
        return AlternatingLeastSquares(
            use_gpu=False, random_state=seed, num_threads=threads, **params
        )
    if name == "bpr":
        # One thread: Hogwild SGD on several is not reproducible from the seed.
        return BayesianPersonalizedRanking(
            use_gpu=False, random_state=seed, num_threads=1, **params
        )
    raise ValueError(f"unknown anchor {name}")


def recommend_anchor(
    name: str, params: dict[str, Any], matrix: Any, n: int, seed: int, threads: int
) -> tuple[Any, float]:
    """Top-n item indices per user (-1 pads a short list) and the fit seconds."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    if name == "mostpop":
        counts = np.asarray(matrix.sum(axis=0)).ravel()
        order = np.argsort(-counts, kind="stable")
        fit_s = time.perf_counter() - start
        out = np.full((matrix.shape[0], n), -1, dtype=np.int64)
        for u in range(matrix.shape[0]):
            seen = matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]]
            top = order[~np.isin(order, seen)][:n]
            out[u, : len(top)] = top
        return out, fit_s
    # implicit warns (and slows down) when BLAS runs its own threads inside its own; its
    # BM25 fit hands its own kNN a COO matrix and warns about that too.
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Method expects CSR input")
        model = _implicit_model(name, params, seed, threads)
        model.fit(matrix, show_progress=False)
        fit_s = time.perf_counter() - start
        ids, _ = model.recommend(
            np.arange(matrix.shape[0]), matrix, N=n, filter_already_liked_items=True
        )
    return np.asarray(ids, dtype=np.int64), fit_s


def score(lists: Any, target: Any, k: int, n_items: int, popularity: Any = None) -> dict:
    from liucun.evaluate.ranking import ranking_metrics

    recs = {u: [int(i) for i in row if i >= 0] for u, row in enumerate(lists)}
    relevant = {u: {int(t)} for u, t in enumerate(target)}
    pop = None if popularity is None else dict(enumerate(popularity.tolist()))
    return ranking_metrics(recs, relevant, k, n_items=n_items, item_popularity=pop)


def lists_valid(lists: Any, matrix: Any) -> bool:
    """No consumed item, no repeat and no out-of-catalogue index in any user's list."""
    for u, row in enumerate(lists):
        row = row[row >= 0]
        seen = set(matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]].tolist())
        if len(set(row.tolist())) != len(row) or seen & set(row.tolist()):
            return False
        if len(row) and row.max() >= matrix.shape[1]:
            return False
    return True


def _grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


def run_anchor(name: str, sp: Split, grid: dict[str, list[Any]], seed: int, threads: int) -> dict:
    """Tune on validation by NDCG@K (first best wins ties), refit on train, score on test."""
    n_items = sp.fit.shape[1]
    t0 = time.perf_counter()
    tried: list[dict[str, Any]] = []
    for params in _grid(grid):
        lists, _ = recommend_anchor(name, params, sp.fit_valid, K, seed, threads)
        tried.append(
            {"params": params, f"ndcg@{K}": score(lists, sp.valid, K, n_items)[f"ndcg@{K}"]}
        )
    best = max(tried, key=lambda t: t[f"ndcg@{K}"] if _finite(t[f"ndcg@{K}"]) else -1.0)
    tune_s = time.perf_counter() - t0
    c0 = _cpu_s()
    lists, fit_s = recommend_anchor(name, best["params"], sp.fit, K_WIDE, seed, threads)
    popularity = sp.fit.sum(axis=0).A1
    m10 = score(lists, sp.test, K, n_items, popularity)
    m20 = score(lists, sp.test, K_WIDE, n_items)
    return {
        **{k: {**m10, **m20}[k] for k in REPORTED},
        f"precision@{K}": m10[f"precision@{K}"],
        f"novelty@{K}": m10[f"novelty@{K}"],
        "users": m10["users"],
        "params": best["params"],
        f"valid_ndcg@{K}": best[f"ndcg@{K}"],
        "grid_size": len(tried),
        "tune_seconds": tune_s,
        "fit_seconds": fit_s,
        "fit_recommend_cpu_seconds": _cpu_s() - c0,
        "lists_valid": lists_valid(lists, sp.fit),
    }


# liucun -------------------------------------------------------------------------------------


def _interactions(sp: Split, roles: tuple[str, ...]) -> Any:
    """The rows liucun's Recommender fits on, in its documented columns."""
    import pandas as pd

    rows = sp.frame[sp.frame["role"].isin(roles)]
    return pd.DataFrame(
        {
            "user_id": rows["user_id"].astype(str).to_numpy(),
            "item_id": rows["item_id"].astype(str).to_numpy(),
            "ts": pd.to_datetime(rows["timestamp"].to_numpy(), unit="s"),
            "event_type": "rate",
            "weight": 1.0,
        }
    )


def _liucun_lists(out: Any, sp: Split, n: int) -> Any:
    """The frame ``recommend`` returned as a users × n index array (-1 pads)."""
    import numpy as np
    import pandas as pd

    missing = {"user_id", "rank", "item_id"} - set(out.columns)
    if missing:
        raise ValueError(f"recommend() frame lacks {sorted(missing)}")
    out = out.sort_values(["user_id", "rank"], kind="stable")
    u = pd.Index(sp.users).get_indexer(out["user_id"].astype(str))
    i = pd.Index(sp.items).get_indexer(out["item_id"].astype(str))
    lists = np.full((len(sp.users), n), -1, dtype=np.int64)
    pos = out.groupby(u).cumcount().to_numpy()
    keep = (u >= 0) & (pos < n)
    # An item outside the catalogue stays out of the list but still takes its rank.
    lists[u[keep], pos[keep]] = np.where(i[keep] >= 0, i[keep], -2)
    return lists


def run_liucun(sp: Split, params: dict[str, Any], seed: int) -> tuple[dict[str, Any], bool]:
    """liucun's row; (result, broken). A missing module is recorded, not counted as broken."""
    try:
        from liucun.models.recommend import Recommender
    except ImportError as e:
        return {"error": f"liucun.models.recommend is not importable: {e}"}, False
    kwargs = {"seed": seed, **params}
    users = [str(u) for u in sp.users]
    n_items = sp.fit.shape[1]
    try:
        rec = Recommender(**kwargs)
        rec.fit(_interactions(sp, ("train",)), sp.item_meta)
        lists = _liucun_lists(rec.recommend(users, K, exclude_consumed=True), sp, K)
        valid = score(lists, sp.valid, K, n_items)[f"ndcg@{K}"]

        c0, t0 = _cpu_s(), time.perf_counter()
        rec = Recommender(**kwargs)
        rec.fit(_interactions(sp, ("train", "valid")), sp.item_meta)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = rec.recommend(users, K_WIDE, exclude_consumed=True)
        rec_s = time.perf_counter() - t0
        cpu = _cpu_s() - c0
        lists = _liucun_lists(out, sp, K_WIDE)
    except Exception as e:
        tb = traceback.format_exc().strip().splitlines()[-6:]
        return {"error": f"{type(e).__name__}: {e}", "traceback": tb, "params": kwargs}, True
    popularity = sp.fit.sum(axis=0).A1
    m10 = score(lists, sp.test, K, n_items, popularity)
    m20 = score(lists, sp.test, K_WIDE, n_items)
    return {
        **{k: {**m10, **m20}[k] for k in REPORTED},
        f"precision@{K}": m10[f"precision@{K}"],
        f"novelty@{K}": m10[f"novelty@{K}"],
        "users": m10["users"],
        "params": kwargs,
        f"valid_ndcg@{K}": valid,
        "fit_seconds": fit_s,
        "recommend_seconds": rec_s,
        "fit_recommend_cpu_seconds": cpu,
        "out_of_catalogue": int((lists == -2).sum()),
        "lists_valid": lists_valid(lists, sp.fit) and not (lists == -2).any(),
    }, False


# report -------------------------------------------------------------------------------------


def targets(models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    liu, bpr = models.get("liucun", {}), models["bpr"]
    out: dict[str, Any] = {}
    for metric in (f"ndcg@{K}", f"recall@{K}"):
        key = f"beats_bpr_{metric.replace('@', '')}"
        ok = _finite(liu.get(metric)) and _finite(bpr.get(metric))
        out[key] = bool(liu[metric] > bpr[metric]) if ok else None
    v = liu.get(f"ndcg@{K}")
    out["aim_ndcg10_ge_0_059"] = bool(v >= AIM_NDCG10) if _finite(v) else None
    flags = dict(out)
    return {
        **out,
        "all_met": all(v for v in flags.values() if v is not None),
        "not_measured": [k for k, v in flags.items() if v is None],
        "bpr": {m: bpr.get(m) for m in (f"ndcg@{K}", f"recall@{K}")},
        "liucun": {m: liu.get(m) for m in (f"ndcg@{K}", f"recall@{K}")},
        "aim": {f"ndcg@{K}": AIM_NDCG10},
        "notes": (
            "beats_bpr_* compares liucun with BPR measured in this run (tuned on the "
            "validation split); aim_* is the issue's aim; null when liucun did not run. "
            "Never fatal."
        ),
    }


def checks(
    sp: Split, inter: Any, models: dict[str, Any], users: int | None, liucun_broken: bool
) -> dict[str, bool]:
    out: dict[str, bool] = {}
    n_users, n_items = sp.fit.shape
    if users is None:
        out["data_as_expected"] = (len(inter), n_users, n_items) == tuple(ML100K.values())
    else:
        out["data_as_expected"] = n_users == min(users, ML100K["users"])
    n = len(inter)
    out["splits_partition_interactions"] = (
        sp.fit.nnz + n_users == n == sp.fit_valid.nnz + 2 * n_users
    )
    out["held_out_items_not_in_train"] = not any(
        sp.fit[u, sp.test[u]] or sp.fit_valid[u, sp.valid[u]] for u in range(n_users)
    )
    out["item_categories_known"] = len(sp.item_meta) == n_items
    for name in ANCHOR_MODELS:
        m = models[name]
        out[f"{name}_metrics_finite"] = all(_finite(m.get(k)) for k in REPORTED)
        out[f"{name}_lists_valid"] = bool(m["lists_valid"])
    if liucun_broken:
        out["liucun_ran"] = False
    elif "error" not in models["liucun"]:
        out["liucun_ran"] = True
        out["liucun_metrics_finite"] = all(_finite(models["liucun"].get(k)) for k in REPORTED)
        out["liucun_lists_valid"] = bool(models["liucun"]["lists_valid"])
    return out


def machine(threads: int) -> dict[str, Any]:
    return _machine(("implicit", "recbole", "numpy", "scipy", "pandas", "liucun"), threads=threads)


def bench(args: argparse.Namespace, files: tuple[Path, Path]) -> dict[str, Any]:
    users = QUICK_USERS if args.quick and args.users is None else args.users
    grids = QUICK_GRIDS if args.quick else GRIDS
    report: dict[str, Any] = {
        "benchmark": "recs_ml100k",
        "date": dt.date.today().isoformat(),
        "protocol": (
            "leave-last-out by (timestamp, numeric item id) per user; validation = the same "
            "cut on train; full ranking over the catalogue with train items excluded; every "
            "rating is one implicit interaction"
        ),
        "k": [K, K_WIDE],
        "users_requested": users or "all",
        "quick": bool(args.quick),
        "seed": args.seed,
        "machine": machine(args.threads),
        "anchors_reported": ANCHORS_REPORTED,
    }
    start = time.perf_counter()
    inter, meta = load(*files, users)
    sp = split(inter, meta)
    report["data"] = {
        "source": f"{INTER_FILE} in recbole {metadata.version('recbole')}",
        "interactions": len(inter),
        "users": sp.fit.shape[0],
        "items": sp.fit.shape[1],
        "train_interactions": int(sp.fit.nnz),
        "tune_train_interactions": int(sp.fit_valid.nnz),
        "test_ts_tied_share": tied_share(sp),
    }
    models: dict[str, Any] = {}
    for name in ANCHOR_MODELS:
        models[name] = run_anchor(name, sp, grids[name], args.seed, args.threads)
    models["liucun"], broken = run_liucun(sp, args.liucun_params, args.seed)
    report["models"] = models
    report["grids"] = {m: grids[m] for m in ANCHOR_MODELS}
    report["targets"] = targets(models)
    report["seconds"] = time.perf_counter() - start
    report["peak_mem_mb"] = _peak_mb()
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    chk = checks(sp, inter, models, users, broken)
    report["checks"] = {**chk, "all_passed": all(chk.values())}
    return _clean(report)


def _params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object of keyword parameters")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "recs_ml100k.json", help="JSON report path"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: the first {QUICK_USERS} users (unless --users) and tiny grids",
    )
    ap.add_argument(
        "--users", type=int, default=None, help="only the N users with the smallest ids"
    )
    ap.add_argument(
        "--liucun-params",
        type=_params,
        default={},
        help="JSON keyword parameters for Recommender(...), e.g. '{\"factors\": 64}'",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of every model")
    ap.add_argument("--threads", type=int, default=2, help="implicit's num_threads (BPR: 1)")
    args = ap.parse_args(argv)
    if args.users is not None and args.users < 1:
        ap.error("--users must be positive")
    if args.threads < 1:
        ap.error("--threads must be positive")

    files = data_files()
    if files is None:
        print(MISSING_RECBOLE)
        return 2
    report = bench(args, files)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
