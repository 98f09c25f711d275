"""Feature benchmark: the full point-in-time feature build against a bare aggregation.

For each requested number of click-stream events (default 1M and 10M) it simulates a shop
big enough (users scaled from a calibration run: about 55 events per customer-year),
ingests it into a workspace, and then measures, each in its own subprocess (peak memory
= that process's max RSS):

- features: ``feature_frame(ws, as_of)`` on DuckDB, as_of = the last simulated day + 1,
  from opening the workspace to the pandas frame (one row per known customer);
- bare (the baseline): one pass over the same ``events`` table on the same connection
  settings, ``SELECT user_id, count(*), sum(value) FROM events GROUP BY user_id``, to pandas;
- pandas: a hand-written pandas version of a subset of the features (recency, orders and
  revenue over 30/90 days, views and sessions over 30 days) on the same data read into
  pandas; run up to ``--pandas-max-events`` and within ``--pandas-timeout`` seconds, its
  values are checked against the DuckDB build.

Simulated shops and their workspaces are cached under ``--data-dir`` by event count, so
reruns reuse them. Above ``--chunk-events`` the shop is simulated in several seeded chunks
(each in its own process) whose ids get disjoint prefixes, then merged. Prints JSON and
writes it to ``--out``; exits 1 if a correctness check fails (speed and memory targets are
reported in ``targets``, never fatal)::

    python benchmarks/features.py                          # 1M and 10M events
    python benchmarks/features.py --events 50000000        # 50M, simulated in chunks
    python benchmarks/features.py --events 50000 --data-dir /tmp/d --out /tmp/features.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import cpu_s as _cpu_s
from _measure import peak_mb as _peak_mb
from _measure import sql_str as _sql_str
from _measure import write_report

HERE = Path(__file__).resolve().parent
DEFAULT_EVENTS = "1000000,10000000"
DEFAULT_DAYS = 365
DEFAULT_SEED = 7
CALIBRATION_USERS = 2000
CHUNK_EVENTS = 10_000_000  # one simulate() process holds ~0.4 KB per event (3.6 GB at 10M)
TARGET_EVENTS_PER_S = 5_000_000
TARGET_EVENTS_PER_S_FROM = 10_000_000  # the speed target is judged at this size and up
TARGET_RATIO = 3.0
TARGET_RATIO_FROM = 1_000_000  # below, fixed costs (compiling, opening) dominate
TARGET_PEAK_MB = 4096
TARGET_PEAK_FROM = 50_000_000
# Ingest order: who and what first, then what they did (as liucun demo does).
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
# Id columns given a chunk prefix when chunks are merged, per table.
ID_COLUMNS = {
    "users": ("user_id",),
    "items": ("item_id",),
    "orders": ("order_id", "user_id"),
    "order_items": ("order_id", "item_id"),
    "events": ("user_id", "item_id", "session_id"),
    "reviews": ("user_id", "item_id"),
    "treatments": ("user_id",),
}
PANDAS_FEATURES = (
    "recency_days",
    "orders_30d",
    "orders_90d",
    "revenue_30d",
    "revenue_90d",
    "views_30d",
    "sessions_30d",
)
BARE_SQL = (
    "SELECT user_id, count(*) AS events, sum(value) AS value_sum FROM events GROUP BY user_id"
)


def _as_of(days: int) -> dt.date:
    from liucun.sim import DEFAULT_START

    return DEFAULT_START + dt.timedelta(days=days)


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2), encoding="utf-8")
    os.replace(tmp, path)


# -- measurements and data steps (each runs in its own subprocess) --------------------
def child_simulate(spec: dict[str, Any]) -> dict[str, Any]:
    from liucun.sim import simulate

    start, cpu = time.perf_counter(), _cpu_s()
    r = simulate(
        spec["out"], users=spec["users"], days=spec["days"], holdout_days=0, seed=spec["seed"]
    )
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": _cpu_s() - cpu,
        "peak_mem_mb": _peak_mb(),
        "counts": r.counts,
    }


def child_merge(spec: dict[str, Any]) -> dict[str, Any]:
    """Chunks → one Parquet file per table, every id prefixed by its chunk's tag."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET memory_limit='4GB'")
    con.execute("SET preserve_insertion_order=true")
    out = Path(spec["out"])
    counts = {}
    for table in TABLES:
        parts = []
        for tag, folder in spec["chunks"]:
            repl = ", ".join(f"{_sql_str(tag)} || {c} AS {c}" for c in ID_COLUMNS[table])
            src = _sql_str(Path(folder) / f"{table}.parquet")
            parts.append(f"SELECT * REPLACE ({repl}) FROM read_parquet({src})")
        target = out / f"{table}.parquet"
        con.execute(
            f"COPY ({' UNION ALL '.join(parts)}) TO {_sql_str(target)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        counts[table] = con.execute(
            f"SELECT count(*) FROM read_parquet({_sql_str(target)})"
        ).fetchone()[0]
    con.close()
    return {"seconds": time.perf_counter() - start, "peak_mem_mb": _peak_mb(), "counts": counts}


def child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    import liucun

    start = time.perf_counter()
    tables = {}
    with liucun.Workspace(spec["ws"]) as ws:
        for table in TABLES:
            for r in ws.ingest(table, Path(spec["shop"]) / f"{table}.parquet"):
                tables[r.table] = {
                    "read": r.read,
                    "loaded": r.loaded,
                    "duplicates": r.duplicates,
                    "quarantined": r.quarantined,
                }
        rows = {t: ws.warehouse.count(t) for t in TABLES}
    return {
        "seconds": time.perf_counter() - start,
        "peak_mem_mb": _peak_mb(),
        "tables": tables,
        "warehouse_rows": rows,
    }


def child_features(spec: dict[str, Any]) -> dict[str, Any]:
    import liucun
    from liucun.features import FEATURES, feature_frame
    from liucun.tasks.reviews import score_warehouse_texts

    ws = liucun.Workspace(spec["ws"])
    # Review texts are scored once per model (the run's own stage), not per feature build:
    # timed apart, so the feature figure stays comparable with the pandas baseline.
    t0 = time.perf_counter()
    score_warehouse_texts(ws)
    text_seconds = time.perf_counter() - t0
    start, cpu = time.perf_counter(), _cpu_s()
    df = feature_frame(ws, spec["as_of"])
    ws.close()
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    peak = _peak_mb()
    subset = ["user_id", *[c for c in PANDAS_FEATURES if c in df.columns]]
    df[subset].to_parquet(spec["subset_out"], index=False)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "text_scoring_seconds": text_seconds,
        "peak_mem_mb": peak,
        "rows": len(df),
        "columns": len(df.columns),
        "user_ids_unique": bool(df["user_id"].is_unique and df["user_id"].notna().all()),
        "all_features_present": all(f.name in df.columns for f in FEATURES),
    }


def child_bare(spec: dict[str, Any]) -> dict[str, Any]:
    import liucun

    start, cpu = time.perf_counter(), _cpu_s()
    ws = liucun.Workspace(spec["ws"])
    df = ws.warehouse.con.execute(BARE_SQL).df()
    ws.close()
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mem_mb": _peak_mb(),
        "rows": len(df),
        "events": int(df["events"].sum()),
    }


def pandas_features(
    events: Any, orders: Any, as_of: dt.date
) -> Any:  # pd.DataFrame, typed loosely to keep pandas out of the parent's imports
    """recency, orders/revenue over 30 and 90 days, views and sessions over 30 days."""
    import pandas as pd

    cut = pd.Timestamp(as_of)
    d30, d90 = cut - pd.Timedelta(days=30), cut - pd.Timedelta(days=90)
    o = orders[orders["ts"] < cut]
    paid = o["status"] == "paid"
    in30, in90 = o["ts"] >= d30, o["ts"] >= d90
    by = o["user_id"]
    out = pd.DataFrame(
        {
            "recency_days": (cut - o.groupby(by)["ts"].max()) / pd.Timedelta(days=1),
            "orders_30d": in30.groupby(by).sum(),
            "orders_90d": in90.groupby(by).sum(),
            "revenue_30d": o["amount"].where(paid & in30, 0.0).groupby(by).sum(),
            "revenue_90d": o["amount"].where(paid & in90, 0.0).groupby(by).sum(),
        }
    )
    e = events[(events["ts"] < cut) & (events["ts"] >= d30)]
    views = (e["event_type"] == "view").groupby(e["user_id"]).sum()
    sessions = e.groupby("user_id")["session_id"].nunique()
    out = out.join(pd.DataFrame({"views_30d": views, "sessions_30d": sessions}), how="outer")
    for c in ("orders_30d", "orders_90d", "views_30d", "sessions_30d"):
        out[c] = out[c].fillna(0).astype("int64")
    for c in ("revenue_30d", "revenue_90d"):
        out[c] = out[c].fillna(0.0)
    out.index.name = "user_id"
    return out.reset_index()


def child_pandas(spec: dict[str, Any]) -> dict[str, Any]:
    import liucun

    start, cpu = time.perf_counter(), _cpu_s()
    ws = liucun.Workspace(spec["ws"])
    con = ws.warehouse.con
    events = con.execute("SELECT user_id, ts, event_type, session_id FROM events").df()
    orders = con.execute("SELECT user_id, ts, amount, status FROM orders").df()
    ws.close()
    loaded, load_cpu = time.perf_counter(), _cpu_s()
    df = pandas_features(events, orders, dt.date.fromisoformat(spec["as_of"]))
    end, end_cpu = time.perf_counter(), _cpu_s()
    peak = _peak_mb()
    df.to_parquet(spec["subset_out"], index=False)
    return {
        "seconds": end - start,
        "cpu_seconds": end_cpu - cpu,
        "load_seconds": loaded - start,
        "compute_seconds": end - loaded,
        "compute_cpu_seconds": end_cpu - load_cpu,
        "peak_mem_mb": peak,
        "rows": len(df),
    }


def child_check(spec: dict[str, Any]) -> dict[str, Any]:
    """Counts computed independently of the feature code: events and known customers."""
    import liucun

    cut = f"TIMESTAMP {_sql_str(spec['as_of'])}"
    with liucun.Workspace(spec["ws"]) as ws:
        con = ws.warehouse.con
        parts = [f"SELECT user_id FROM users WHERE signup_ts IS NULL OR signup_ts < {cut}"]
        parts += [
            f"SELECT user_id FROM {t} WHERE ts < {cut}"
            for t in ("events", "orders", "reviews", "treatments")
        ]
        known = con.execute(
            f"SELECT count(DISTINCT user_id) FROM ({' UNION ALL '.join(parts)})"
        ).fetchone()[0]
        events, event_users = con.execute(
            "SELECT count(*), count(DISTINCT user_id) FROM events"
        ).fetchone()
    return {"known_customers": known, "events": events, "event_users": event_users}


def _jvm_peak_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of a process and its descendants, summed: the local Spark JVM."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parents.items() if pp in tree} - tree
        tree |= more
        grew = bool(more)
    kb = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    kb += int(line.split()[1])
        except OSError:
            continue
    return round(kb / 1024, 1) if kb else None


def child_spark(spec: dict[str, Any]) -> dict[str, Any]:
    """The same feature build on local Spark: session, export, first and second build."""
    import pyarrow.dataset as ds

    import liucun
    from liucun.engines import spark_session, spark_tables
    from liucun.features import build_features

    t0 = time.perf_counter()
    session = spark_session(app_name="liucun-bench")
    t1 = time.perf_counter()
    ws = liucun.Workspace(spec["ws"])
    tables = spark_tables(ws, session)
    ws.close()
    t2 = time.perf_counter()
    expr = build_features(tables, spec["as_of"])
    backend = expr._find_backend()
    runs = []
    for k in range(2):
        out = Path(spec["out_dir"]) / f"run{k}"
        start = time.perf_counter()
        backend.to_parquet(expr, out)
        runs.append(time.perf_counter() - start)
    rows = ds.dataset(Path(spec["out_dir"]) / "run1", format="parquet").count_rows()
    gateway = session.sparkContext._gateway
    jvm = getattr(getattr(gateway, "proc", None), "pid", None)
    jvm_peak = _jvm_peak_mb(jvm) if jvm else None
    session.stop()
    return {
        "session_start_seconds": t1 - t0,
        "export_seconds": t2 - t1,
        "first_build_seconds": runs[0],
        "seconds": runs[1],
        "python_peak_mem_mb": _peak_mb(),
        "jvm_peak_mem_mb": jvm_peak,
        "rows": rows,
    }


CHILDREN = {
    "simulate": child_simulate,
    "merge": child_merge,
    "ingest": child_ingest,
    "features": child_features,
    "bare": child_bare,
    "pandas": child_pandas,
    "check": child_check,
    "spark": child_spark,
}


def run_child(kind: str, spec: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """One step in a fresh interpreter; ``{"timed_out": seconds}`` if it ran past ``timeout``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    cmd += ["--child-arg", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timed_out": timeout}
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark step {kind} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- data: simulated shops and their workspaces, cached by event count ----------------
def calibrate(data_dir: Path, days: int, seed: int) -> dict[str, Any]:
    """Events per simulated customer over ``days`` (cached)."""
    path = data_dir / f"features_calibration_{days}d_s{seed}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    folder = Path(tempfile.mkdtemp(prefix="calibrate-", dir=data_dir))
    try:
        spec = {"out": str(folder), "users": CALIBRATION_USERS, "days": days, "seed": seed}
        r = run_child("simulate", spec)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cal = {
        "users": CALIBRATION_USERS,
        "days": days,
        "seed": seed,
        "events": r["counts"]["events"],
        "events_per_user": r["counts"]["events"] / CALIBRATION_USERS,
    }
    _write_json(path, cal)
    return cal


def ensure_shop(
    events: int, data_dir: Path, days: int, seed: int, chunk_events: int
) -> dict[str, Any]:
    """The simulated shop for ``events`` click-stream events (generated unless cached)."""
    shop = data_dir / f"features_shop_{events}"
    marker = shop / "shop.json"
    if marker.exists():
        meta = json.loads(marker.read_text(encoding="utf-8"))
        return {**meta, "generated": False, "path": str(shop)}
    shutil.rmtree(shop, ignore_errors=True)
    shop.mkdir(parents=True)
    cal = calibrate(data_dir, days, seed)
    users = max(1, round(events / cal["events_per_user"]))
    chunks = max(1, math.ceil(events / chunk_events))
    start = time.perf_counter()
    runs = []
    folders = []
    for k in range(chunks):
        n = users // chunks + (1 if k < users % chunks else 0)
        folder = shop / "chunks" / str(k)
        spec = {"out": str(folder), "users": n, "days": days, "seed": seed + k}
        runs.append(run_child("simulate", spec))
        folders.append((f"c{k}-", str(folder)))
    if chunks == 1:
        for table in TABLES:
            os.replace(Path(folders[0][1]) / f"{table}.parquet", shop / f"{table}.parquet")
        merge = None
    else:
        merge = run_child("merge", {"out": str(shop), "chunks": folders})
    shutil.rmtree(shop / "chunks")
    import pyarrow.parquet as pq

    counts = {t: pq.ParquetFile(shop / f"{t}.parquet").metadata.num_rows for t in TABLES}
    meta = {
        "events_requested": events,
        "users": users,
        "days": days,
        "seed": seed,
        "chunks": chunks,
        "calibration_events_per_user": round(cal["events_per_user"], 2),
        "seconds": round(time.perf_counter() - start, 1),
        "simulate_peak_mem_mb": max(r["peak_mem_mb"] for r in runs),
        "merge_seconds": round(merge["seconds"], 1) if merge else None,
        "rows": counts,
    }
    _write_json(marker, meta)
    return {**meta, "generated": True, "path": str(shop)}


def ensure_workspace(events: int, shop: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The shop ingested into a workspace (cached beside it)."""
    ws = data_dir / f"features_ws_{events}"
    marker = ws / "ingest.json"
    if marker.exists() and not shop["generated"]:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        return {**meta, "generated": False, "path": str(ws)}
    shutil.rmtree(ws, ignore_errors=True)
    r = run_child("ingest", {"ws": str(ws), "shop": shop["path"]})
    meta = {
        "seconds": round(r["seconds"], 1),
        "peak_mem_mb": r["peak_mem_mb"],
        "tables": r["tables"],
        "warehouse_rows": r["warehouse_rows"],
    }
    _write_json(marker, meta)
    return {**meta, "generated": True, "path": str(ws)}


# -- the benchmark ---------------------------------------------------------------------
def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs, with every run's seconds and the worst peak memory."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    if len(runs) > 1:
        best["seconds_all"] = [round(r["seconds"], 3) for r in runs]
    best["peak_mem_mb"] = max(r["peak_mem_mb"] for r in runs)
    return best


def _timing(m: dict[str, Any], events: int) -> dict[str, Any]:
    s = m["seconds"]
    out = {
        "seconds": round(s, 3),
        "events_per_s": round(events / s) if s > 0 else None,
        "cpu_seconds": round(m["cpu_seconds"], 3),
        "peak_mem_mb": m["peak_mem_mb"],
    }
    if "seconds_all" in m:
        out["seconds_all"] = m["seconds_all"]
    return out


def _compare(duck_file: Path, pandas_file: Path) -> dict[str, Any]:
    """The pandas subset against the DuckDB build, on every known customer."""
    import numpy as np
    import pandas as pd

    duck = pd.read_parquet(duck_file).set_index("user_id")
    pdf = pd.read_parquet(pandas_file).set_index("user_id")
    extra = int((~pdf.index.isin(duck.index)).sum())
    pdf = pdf.reindex(duck.index)
    worst = {}
    for c in PANDAS_FEATURES:
        a, b = duck[c].astype("float64"), pdf[c].astype("float64")
        if c != "recency_days":
            b = b.fillna(0.0)
        both_null = a.isna() & b.isna()
        diff = (a - b).abs() / np.maximum(1.0, a.abs())
        worst[c] = float(diff[~both_null].fillna(np.inf).max()) if len(a) else 0.0
    return {
        "customers_only_in_pandas": extra,
        "max_rel_diff": worst,
        "match": extra == 0 and all(v <= 1e-9 for v in worst.values()),
    }


def spark_missing() -> str | None:
    """Why Spark cannot be measured here, or None when it can."""
    have = {
        "liucun.engines": importlib.util.find_spec("liucun.engines") is not None,
        "pyspark": importlib.util.find_spec("pyspark") is not None,
    }
    missing = [name for name, ok in have.items() if not ok]
    return f"{' and '.join(missing)} not installed" if missing else None


def bench_spark(
    tag: str, events: int, base: dict[str, Any], scratch: Path, rows: int, checks: dict[str, bool]
) -> dict[str, Any]:
    missing = spark_missing()
    if missing:
        return {"note": f"not measured: {missing}"}
    out_dir = scratch / f"spark_{tag}"
    r = run_child("spark", {**base, "out_dir": str(out_dir)})
    shutil.rmtree(out_dir, ignore_errors=True)
    checks[f"{tag}_spark_rows_equal_duckdb"] = r["rows"] == rows
    s = r["seconds"]
    return {
        "what": (
            "liucun.engines.spark_tables (DuckDB → Parquet export, registered on local[*]) "
            "then build_features written to Parquet; seconds = the second build (warm JVM)"
        ),
        "seconds": round(s, 3),
        "events_per_s": round(events / s) if s > 0 else None,
        "first_build_seconds": round(r["first_build_seconds"], 3),
        "session_start_seconds": round(r["session_start_seconds"], 3),
        "export_seconds": round(r["export_seconds"], 3),
        "python_peak_mem_mb": r["python_peak_mem_mb"],
        "jvm_peak_mem_mb": r["jvm_peak_mem_mb"],
        "rows": r["rows"],
    }


def bench_size(
    events: int, args: argparse.Namespace, scratch: Path, checks: dict[str, bool]
) -> dict[str, Any]:
    data_dir = args.data_dir
    shop = ensure_shop(events, data_dir, args.days, args.seed, args.chunk_events)
    ws = ensure_workspace(events, shop, data_dir)
    as_of = _as_of(args.days).isoformat()
    base = {"ws": ws["path"], "as_of": as_of}
    tag = str(events)

    chk = run_child("check", base)
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "features": []}
    duck_subset = scratch / f"duck_{events}.parquet"
    for _ in range(args.repeat):
        runs["bare"].append(run_child("bare", base))
        runs["features"].append(run_child("features", {**base, "subset_out": str(duck_subset)}))
    bare, feat = _best(runs["bare"]), _best(runs["features"])
    n = chk["events"]
    entry: dict[str, Any] = {
        "events_requested": events,
        "events": n,
        "customers": feat["rows"],
        "as_of": as_of,
        "data": {
            "shop": {
                k: shop[k]
                for k in (
                    "path",
                    "generated",
                    "users",
                    "days",
                    "seed",
                    "chunks",
                    "calibration_events_per_user",
                    "seconds",
                    "simulate_peak_mem_mb",
                    "rows",
                )
            },
            "workspace": {
                k: ws[k] for k in ("path", "generated", "seconds", "peak_mem_mb", "warehouse_rows")
            },
        },
        "features": {**_timing(feat, n), "rows": feat["rows"], "columns": feat["columns"]},
        "bare": {"sql": BARE_SQL, **_timing(bare, n), "rows": bare["rows"]},
        "ratio": round(feat["seconds"] / bare["seconds"], 2),
        "cpu_ratio": round(feat["cpu_seconds"] / bare["cpu_seconds"], 2),
    }

    ingest = ws["tables"]
    checks[f"{tag}_ingest_all_loaded"] = all(
        r["loaded"] == shop["rows"][t] and r["quarantined"] == 0 for t, r in ingest.items()
    )
    checks[f"{tag}_warehouse_events_equal_simulated"] = n == shop["rows"]["events"]
    checks[f"{tag}_bare_counts_every_event"] = all(r["events"] == n for r in runs["bare"])
    checks[f"{tag}_bare_rows_equal_event_users"] = all(
        r["rows"] == chk["event_users"] for r in runs["bare"]
    )
    checks[f"{tag}_features_one_row_per_known_customer"] = all(
        r["rows"] == chk["known_customers"] and r["user_ids_unique"] for r in runs["features"]
    )
    checks[f"{tag}_features_all_present"] = all(r["all_features_present"] for r in runs["features"])

    if events > args.pandas_max_events:
        entry["pandas"] = {"skipped": f"more than --pandas-max-events {args.pandas_max_events}"}
    else:
        pandas_subset = scratch / f"pandas_{events}.parquet"
        spec = {**base, "subset_out": str(pandas_subset)}
        pdr = run_child("pandas", spec, timeout=args.pandas_timeout)
        if "timed_out" in pdr:
            entry["pandas"] = {"skipped": f"did not finish within {args.pandas_timeout} s"}
        else:
            cmp = _compare(duck_subset, pandas_subset)
            checks[f"{tag}_pandas_matches_duckdb"] = cmp["match"]
            entry["pandas"] = {
                "features": list(PANDAS_FEATURES),
                **_timing(pdr, n),
                "load_seconds": round(pdr["load_seconds"], 3),
                "compute_seconds": round(pdr["compute_seconds"], 3),
                "compute_cpu_seconds": round(pdr["compute_cpu_seconds"], 3),
                "rows": pdr["rows"],
                "vs_duckdb_full": round(pdr["seconds"] / feat["seconds"], 2),
                "agreement": cmp,
            }
    if events in args.spark_events:
        entry["spark"] = bench_spark(tag, n, base, scratch, feat["rows"], checks)
    else:
        entry["spark"] = {"note": "not measured at this size (see --spark-events)"}
    return entry


def bench(args: argparse.Namespace) -> dict[str, Any]:
    import duckdb
    import ibis
    import pandas as pd

    import liucun
    from liucun import config

    wh = config.defaults()["warehouse"]
    report: dict[str, Any] = {
        "benchmark": "features",
        "events_requested": args.events,
        "days": args.days,
        "seed": args.seed,
        "repeat": args.repeat,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "ibis": ibis.__version__,
            "pandas": pd.__version__,
            "liucun": liucun.__version__,
            "memory_limit": str(wh["memory_limit"]),
            "threads": int(wh["threads"]) or os.cpu_count(),
            "loadavg_1m": [round(os.getloadavg()[0], 2)],
        },
    }
    checks: dict[str, bool] = {}
    args.data_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-features-", dir=args.data_dir))
    results = {}
    try:
        for events in args.events:
            results[str(events)] = bench_size(events, args, scratch, checks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["results"] = results

    def judged(floor: int) -> list[dict[str, Any]]:
        return [r for r in results.values() if r["events"] >= floor]

    speed = judged(TARGET_EVENTS_PER_S_FROM)
    ratio = judged(TARGET_RATIO_FROM)
    peak = judged(TARGET_PEAK_FROM)
    targets: dict[str, bool | None] = {
        "events_per_s_ge_5M_at_10M_plus": (
            all(r["features"]["events_per_s"] >= TARGET_EVENTS_PER_S for r in speed)
            if speed
            else None
        ),
        "ratio_le_3": all(r["ratio"] <= TARGET_RATIO for r in ratio) if ratio else None,
        "peak_mem_le_4096_mb_at_50M": (
            all(r["features"]["peak_mem_mb"] <= TARGET_PEAK_MB for r in peak) if peak else None
        ),
    }
    report["targets"] = {
        **targets,
        "all_met": all(v for v in targets.values() if v is not None),
        "not_measured": [k for k, v in targets.items() if v is None],
        "judged_at": {
            "events_per_s_ge_5M_at_10M_plus": [r["events"] for r in speed],
            "ratio_le_3": [r["events"] for r in ratio],
            "peak_mem_le_4096_mb_at_50M": [r["events"] for r in peak],
        },
        "thresholds": {
            "events_per_s": TARGET_EVENTS_PER_S,
            "events_per_s_from_events": TARGET_EVENTS_PER_S_FROM,
            "ratio": TARGET_RATIO,
            "ratio_from_events": TARGET_RATIO_FROM,
            "peak_mem_mb": TARGET_PEAK_MB,
            "peak_mem_from_events": TARGET_PEAK_FROM,
        },
        "notes": (
            "events = rows of the warehouse's events table; events_per_s = events / seconds "
            "of the full feature build (open the workspace → pandas frame of every feature "
            "for every known customer; it also reads orders, order lines, items, reviews, "
            "treatments and users); ratio = full build seconds / bare pass seconds (count "
            "and sum(value) per user over events, same DuckDB settings, to pandas); peak "
            "memory (MB = MiB) = max RSS of the feature-building process. A target is null "
            "when no measured size reaches the size it is judged at."
        ),
    }
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    report["checks"] = {**checks, "all_passed": all(checks.values())}
    return report


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of event counts: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("event counts must be positive")
    return sizes


def _sizes_or_none(text: str) -> list[int]:
    return [] if text.strip().lower() in ("", "none", "0") else _sizes(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--events",
        type=_sizes,
        default=_sizes(DEFAULT_EVENTS),
        help=f"comma-separated event counts to simulate and measure (default {DEFAULT_EVENTS})",
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / "out" / "data",
        help="where simulated shops and their workspaces are cached (by event count)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "features.json", help="JSON report path"
    )
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of simulated history")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument(
        "--chunk-events",
        type=int,
        default=CHUNK_EVENTS,
        help="simulate bigger shops in chunks of about this many events, one process each",
    )
    ap.add_argument(
        "--pandas-max-events",
        type=int,
        default=10_000_000,
        help="run the pandas version only up to this many events",
    )
    ap.add_argument(
        "--pandas-timeout",
        type=float,
        default=300.0,
        help="give up on the pandas version after this many seconds (reported as skipped)",
    )
    ap.add_argument(
        "--spark-events",
        type=_sizes_or_none,
        default=_sizes("1000000"),
        help="sizes (of --events) also timed on local Spark, if pyspark is installed; "
        "'none' for none (default 1000000)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the DuckDB measurements this many times; report the fastest (worst memory)",
    )
    for hidden in ("--child", "--child-arg"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.child_arg))))
        return 0

    if args.repeat < 1 or args.days < 1 or args.chunk_events < 1:
        ap.error("--repeat, --days and --chunk-events must be positive")
    args.data_dir = args.data_dir.resolve()
    report = bench(args)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
