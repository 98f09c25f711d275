"""Ingest benchmark: liucun's validated, idempotent ingest against a bare DuckDB load.

Generates N canonical order rows once (cached per N under ``--data-dir``) as Parquet and
CSV, then measures, each in its own subprocess with a fresh DuckDB file:

- baseline: ``CREATE TABLE orders AS SELECT * FROM read_parquet(...)`` / ``read_csv(...)``
  (default sniffing) with the workspace's default ``memory_limit`` and ``threads``;
- liucun: ``Workspace(tmp).ingest("orders", file)`` from Parquet and from CSV;
- re-ingest: the same Parquet again into the Parquet run's workspace (all duplicates).

Seconds cover opening the database through closing it (the load is durable on disk);
peak memory is the measuring subprocess's max RSS. Row counts are checked as it goes.
Prints JSON and writes it to ``--out``; exits 1 if a correctness check fails (speed
targets are reported in ``targets``, never fatal)::

    python benchmarks/ingest.py                 # 10,000,000 rows
    python benchmarks/ingest.py --rows 100000 --out /tmp/ingest.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_ROWS = 10_000_000
TARGET_ROWS_PER_S = 1_000_000
TARGET_RATIO = 2.5
TARGET_PEAK_MB = 2048
FORMATS = ("parquet", "csv")

# Canonical orders from range(): deterministic pseudo-random columns via hash(i, salt).
ORDERS_SQL = """
SELECT
    'o' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id,
    'u' || lpad(CAST(hash(i, 1) % {users} AS VARCHAR), 7, '0') AS user_id,
    TIMESTAMP '2024-01-01 00:00:00' + to_seconds(CAST(hash(i, 2) % 31536000 AS BIGINT)) AS ts,
    round(5 + CAST(hash(i, 3) % 50000 AS DOUBLE) / 100, 2) AS amount,
    CAST(1 + hash(i, 4) % 5 AS BIGINT) AS quantity,
    CASE WHEN hash(i, 5) % 100 < 90 THEN 'paid'
         WHEN hash(i, 5) % 100 < 96 THEN 'refunded'
         ELSE 'cancelled' END AS status,
    CASE WHEN hash(i, 6) % 10 = 0 THEN 'SAVE' || CAST(5 + hash(i, 7) % 3 * 5 AS VARCHAR) END
        AS coupon_code,
    CASE WHEN hash(i, 6) % 10 = 0 THEN CAST(5 + hash(i, 7) % 3 * 5 AS DOUBLE) ELSE 0.0 END
        AS discount
FROM range({rows}) t(i)
ORDER BY i
"""


def _sql_str(s: str | Path) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _peak_mb() -> float:
    """This process's max resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        kb //= 1024
    return round(kb / 1024, 1)


def _warehouse_defaults() -> dict[str, Any]:
    from liucun import config

    wh = config.defaults()["warehouse"]
    return {"memory_limit": str(wh["memory_limit"]), "threads": int(wh["threads"])}


# -- data ------------------------------------------------------------------------------
def ensure_data(rows: int, data_dir: Path) -> dict[str, Any]:
    """The Parquet and CSV files for ``rows`` orders, generated unless already cached."""
    import duckdb

    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: data_dir / f"orders_{rows}.{fmt}" for fmt in FORMATS}
    generated = False
    start = time.perf_counter()
    if not all(p.exists() for p in paths.values()):
        generated = True
        con = duckdb.connect()
        try:
            users = max(1, rows // 8)
            pq_tmp = paths["parquet"].with_suffix(".parquet.tmp")
            con.execute(
                f"COPY ({ORDERS_SQL.format(rows=int(rows), users=users)}) "
                f"TO {_sql_str(pq_tmp)} (FORMAT parquet)"
            )
            csv_tmp = paths["csv"].with_suffix(".csv.tmp")
            con.execute(
                f"COPY (SELECT * FROM read_parquet({_sql_str(pq_tmp)})) "
                f"TO {_sql_str(csv_tmp)} "
                "(FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S')"
            )
        finally:
            con.close()
        os.replace(pq_tmp, paths["parquet"])
        os.replace(csv_tmp, paths["csv"])
    return {
        "generated": generated,
        "seconds": round(time.perf_counter() - start, 3),
        "files": {
            fmt: {"path": str(p), "mb": round(p.stat().st_size / 2**20, 1)}
            for fmt, p in paths.items()
        },
    }


# -- measurements (each runs in its own subprocess) ---------------------------------
def child_baseline(fmt: str, file: str, db: str) -> dict[str, Any]:
    import duckdb

    wh = _warehouse_defaults()
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    start = time.perf_counter()
    con = duckdb.connect(db)
    con.execute(f"SET memory_limit={_sql_str(wh['memory_limit'])}")
    if wh["threads"]:
        con.execute(f"SET threads={wh['threads']}")
    con.execute(f"CREATE TABLE orders AS SELECT * FROM {reader}({_sql_str(file)})")
    con.close()
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    con = duckdb.connect(db, read_only=True)
    count = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    con.close()
    return {"seconds": seconds, "peak_mem_mb": peak, "warehouse_rows": int(count)}


def child_liucun(fmt: str, file: str, ws_path: str) -> dict[str, Any]:
    import liucun

    start = time.perf_counter()
    ws = liucun.Workspace(ws_path)
    results = ws.ingest("orders", file)
    ws.close()
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    with liucun.Workspace(ws_path) as ws:
        count = ws.warehouse.count("orders")
    res = next(r for r in results if r.table == "orders")
    return {
        "seconds": seconds,
        "peak_mem_mb": peak,
        "warehouse_rows": count,
        "read": res.read,
        "loaded": res.loaded,
        "updated": res.updated,
        "duplicates": res.duplicates,
        "quarantined": res.quarantined,
        "first_problem": res.first_problem,
    }


def run_child(kind: str, fmt: str, file: Path, target: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    cmd += ["--child-format", fmt, "--child-file", str(file), "--child-target", str(target)]
    env = {k: v for k, v in os.environ.items() if k != "LIUCUN_TEST_KILL_AT"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark step {kind}/{fmt} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _speed(rows: int, m: dict[str, Any]) -> dict[str, Any]:
    s = m["seconds"]
    return {
        "seconds": round(s, 3),
        "rows_per_s": round(rows / s) if s > 0 else None,
        "peak_mem_mb": m["peak_mem_mb"],
    }


# -- the benchmark ---------------------------------------------------------------------
def bench(rows: int, data_dir: Path, work_dir: Path | None) -> dict[str, Any]:
    import duckdb

    import liucun

    data = ensure_data(rows, data_dir)
    files = {fmt: Path(f["path"]) for fmt, f in data["files"].items()}
    wh = _warehouse_defaults()
    report: dict[str, Any] = {
        "benchmark": "ingest",
        "rows": rows,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "liucun": liucun.__version__,
            "memory_limit": wh["memory_limit"],
            "threads": wh["threads"] or os.cpu_count(),
        },
        "data": data,
    }
    checks: dict[str, bool] = {}
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-", dir=work_dir or data_dir))
    try:
        for fmt in FORMATS:
            base = run_child("baseline", fmt, files[fmt], scratch / f"baseline_{fmt}.duckdb")
            ws_dir = scratch / f"ws_{fmt}"
            liu = run_child("liucun", fmt, files[fmt], ws_dir)
            checks[f"{fmt}_baseline_rows"] = base["warehouse_rows"] == rows
            checks[f"{fmt}_liucun_read"] = liu["read"] == rows
            checks[f"{fmt}_liucun_loaded"] = liu["loaded"] == rows and liu["quarantined"] == 0
            checks[f"{fmt}_liucun_warehouse_rows"] = liu["warehouse_rows"] == rows
            entry = {
                "rows": rows,
                "baseline": {**_speed(rows, base), "warehouse_rows": base["warehouse_rows"]},
                "liucun": {
                    **_speed(rows, liu),
                    **{k: liu[k] for k in ("read", "loaded", "updated", "duplicates")},
                    "quarantined": liu["quarantined"],
                    "warehouse_rows": liu["warehouse_rows"],
                },
                "ratio": round(liu["seconds"] / base["seconds"], 2),
            }
            if liu["first_problem"]:
                entry["liucun"]["first_problem"] = liu["first_problem"]
            report[fmt] = entry
            if fmt == "parquet":
                re = run_child("liucun", fmt, files[fmt], ws_dir)
                checks["reingest_duplicates"] = re["duplicates"] == rows
                checks["reingest_nothing_loaded"] = re["loaded"] == 0 and re["updated"] == 0
                checks["reingest_warehouse_rows"] = re["warehouse_rows"] == rows
                report["reingest_parquet"] = {
                    "rows": rows,
                    **_speed(rows, re),
                    **{k: re[k] for k in ("read", "loaded", "updated", "duplicates")},
                    "quarantined": re["quarantined"],
                    "warehouse_rows": re["warehouse_rows"],
                }
            shutil.rmtree(ws_dir, ignore_errors=True)
            for p in scratch.glob(f"baseline_{fmt}.duckdb*"):
                p.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    liucun_peak = max(report[f]["liucun"]["peak_mem_mb"] for f in FORMATS)
    liucun_peak = max(liucun_peak, report["reingest_parquet"]["peak_mem_mb"])
    pq, csv = report["parquet"], report["csv"]
    targets = {
        "parquet_rows_per_s_ge_1M": pq["liucun"]["rows_per_s"] >= TARGET_ROWS_PER_S,
        "parquet_ratio_le_2_5": pq["ratio"] <= TARGET_RATIO,
        "csv_ratio_le_2_5": csv["ratio"] <= TARGET_RATIO,
        "liucun_peak_mem_le_2048_mb": liucun_peak <= TARGET_PEAK_MB,
    }
    report["targets"] = {
        **targets,
        "all_met": all(targets.values()),
        "liucun_peak_mem_mb": liucun_peak,
        "thresholds": {
            "rows_per_s": TARGET_ROWS_PER_S,
            "ratio": TARGET_RATIO,
            "peak_mem_mb": TARGET_PEAK_MB,
        },
        "notes": (
            "ratio = liucun seconds / bare DuckDB seconds for the same file; the rows/s "
            "target is judged on Parquet; peak memory is the max RSS over the liucun runs "
            "(Parquet, CSV, re-ingest)"
        ),
    }
    report["checks"] = {**checks, "all_passed": all(checks.values())}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="orders to generate")
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / "out" / "data",
        help="where generated files are cached (by row count)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "ingest.json", help="JSON report path"
    )
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="scratch folder for the databases (default: under --data-dir)",
    )
    for hidden in ("--child", "--child-format", "--child-file", "--child-target"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        fn = {"baseline": child_baseline, "liucun": child_liucun}[args.child]
        print(json.dumps(fn(args.child_format, args.child_file, args.child_target)))
        return 0

    if args.rows < 1:
        ap.error("--rows must be positive")
    report = bench(args.rows, args.data_dir.resolve(), args.work_dir)
    text = json.dumps(report, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    if not report["checks"]["all_passed"]:
        failed = [k for k, v in report["checks"].items() if not v]
        print(f"correctness checks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
