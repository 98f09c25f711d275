"""Simulator benchmark: ``liucun.sim.simulate`` against writing the same rows of random data.

Runs, each in its own subprocess (peak memory = that process's max RSS):

- simulate: ``simulate(dir, users, days, holdout_days, seed)``: the shop, its holdout and
  its truth, written as Parquet;
- baseline (the I/O floor): for every Parquet file the simulation wrote, the same number
  of rows of random data of the same column types (dictionary-encoded ids with the same
  number of distinct values, strings of the same mean length, the same null share) written
  with pyarrow under the same compression. The data is generated before the clock starts,
  so only the writing is timed.

Seconds cover the ``simulate`` call (imports excluded) and the baseline's writes. Prints
JSON and writes it to ``--out``; exits 1 if a correctness check fails (speed and memory
targets are reported in ``targets``, never fatal)::

    python benchmarks/simulate.py                      # 100,000 customers x 365 days + 90
    python benchmarks/simulate.py --users 20000 --out /tmp/simulate.json
"""

from __future__ import annotations

import argparse
import json
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
from _measure import write_report

HERE = Path(__file__).resolve().parent
DEFAULT_USERS = 100_000
DEFAULT_DAYS = 365
DEFAULT_HOLDOUT = 90
DEFAULT_SEED = 7
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096
TARGET_SCALE = (100_000, 365)  # users, days at which the targets are set
TABLES = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")
TRUTH = ("customers", "effects", "preferences", "demand", "items")


def _parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def _mb(paths: list[Path]) -> float:
    return round(sum(p.stat().st_size for p in paths) / 2**20, 1)


# -- measurements (each runs in its own subprocess) -----------------------------------
def child_simulate(spec: dict[str, Any], target: str) -> dict[str, Any]:
    from liucun.sim import simulate

    start, cpu = time.perf_counter(), _cpu_s()
    result = simulate(
        target,
        users=spec["users"],
        days=spec["days"],
        holdout_days=spec["holdout_days"],
        seed=spec["seed"],
    )
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mem_mb": _peak_mb(),
        "counts": result.counts,
        "holdout_counts": result.holdout_counts,
    }


def profile(root: Path) -> list[dict[str, Any]]:
    """Per Parquet file under ``root``: rows, compression and what each column holds."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = []
    for path in _parquet_files(root):
        pf = pq.ParquetFile(path)
        md = pf.metadata
        compression = md.row_group(0).column(0).compression if md.num_row_groups else "NONE"
        table = pf.read()
        cols = []
        for field, col in zip(table.schema, table.columns, strict=True):
            col = col.combine_chunks()
            entry: dict[str, Any] = {
                "name": field.name,
                "type": str(field.type),
                "null_share": col.null_count / len(col) if len(col) else 0.0,
            }
            values = col
            if pa.types.is_dictionary(field.type):
                values = col.dictionary
                entry["distinct"] = len(values)
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                lengths = pc.binary_length(values)
                mean = pc.mean(lengths).as_py() if len(values) else 0
                entry["mean_len"] = max(1, round(mean or 1))
            cols.append(entry)
        out.append(
            {
                "file": str(path.relative_to(root)),
                "rows": md.num_rows,
                "compression": compression.lower(),
                "schema": table.schema,
                "columns": cols,
            }
        )
    return out


def _random_table(spec: dict[str, Any], schema: Any, seed: int) -> Any:
    """``spec['rows']`` rows of random values, column types as in ``schema``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    n = spec["rows"]

    def strings(count: int, length: int) -> pa.Array:
        raw = rng.integers(97, 123, size=(count, length), dtype=np.uint8)
        return pa.array(raw.view(f"S{length}").ravel()).cast(pa.string())

    arrays = []
    for field, col in zip(schema, spec["columns"], strict=True):
        ty = field.type
        mask = rng.random(n) < col["null_share"] if col["null_share"] > 0 else None
        if pa.types.is_dictionary(ty):
            k = max(1, col.get("distinct", 1))
            idx = pa.array(rng.integers(0, k, n).astype(np.int32), mask=mask)
            arr = pa.DictionaryArray.from_arrays(idx, strings(k, col.get("mean_len", 8)))
        elif pa.types.is_string(ty) or pa.types.is_large_string(ty):
            arr = strings(n, col.get("mean_len", 8)).cast(ty)
            if mask is not None:
                arr = pc.if_else(pa.array(mask), pa.scalar(None, ty), arr)
        elif pa.types.is_timestamp(ty):
            us = rng.integers(1_700_000_000_000_000, 1_740_000_000_000_000, n)
            arr = pa.array(us, type=ty, mask=mask)
        elif pa.types.is_date(ty):
            arr = pa.array(rng.integers(19_000, 20_000, n).astype(np.int32), mask=mask).cast(ty)
        elif pa.types.is_boolean(ty):
            arr = pa.array(rng.random(n) < 0.5, mask=mask)
        elif pa.types.is_integer(ty):
            arr = pa.array(rng.integers(0, 1_000, n), mask=mask).cast(ty)
        elif pa.types.is_floating(ty):
            arr = pa.array(rng.random(n) * 1000, mask=mask).cast(ty)
        else:
            raise SystemExit(f"baseline: no random generator for {field.name}: {ty}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema.remove_metadata())


def child_baseline(profile_file: str, target: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    specs = json.loads(Path(profile_file).read_text(encoding="utf-8"))
    tables = []
    for i, spec in enumerate(specs):
        schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(spec["schema"])))
        tables.append((spec, _random_table(spec, schema, i)))
    root = Path(target)
    start, cpu = time.perf_counter(), _cpu_s()
    for spec, table in tables:
        path = root / spec["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression=spec["compression"])
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    written = {
        spec["file"]: pq.ParquetFile(root / spec["file"]).metadata.num_rows for spec, _ in tables
    }
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mem_mb": _peak_mb(),
        "rows_written": written,
        "mb_written": _mb(_parquet_files(root)),
    }


def run_child(kind: str, arg: str, target: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    cmd += ["--child-arg", arg, "--child-target", str(target)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark step {kind} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the benchmark ---------------------------------------------------------------------
def bench(users: int, days: int, holdout_days: int, seed: int, work_dir: Path) -> dict[str, Any]:
    import pyarrow as pa

    import liucun

    spec = {"users": users, "days": days, "holdout_days": holdout_days, "seed": seed}
    report: dict[str, Any] = {
        "benchmark": "simulate",
        **spec,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "liucun": liucun.__version__,
            "loadavg_1m": [round(os.getloadavg()[0], 2)],
        },
    }
    checks: dict[str, bool] = {}
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-sim-", dir=work_dir))
    try:
        sim_dir = scratch / "shop"
        sim = run_child("simulate", json.dumps(spec), sim_dir)
        sim_mb = _mb(_parquet_files(sim_dir))
        prof = profile(sim_dir)
        rows = {p["file"]: p["rows"] for p in prof}
        history = {t: rows.get(f"{t}.parquet", 0) for t in TABLES}
        holdout = {t: rows.get(f"truth/holdout/{t}.parquet", 0) for t in TABLES}
        truth = {t: rows.get(f"truth/{t}.parquet", 0) for t in TRUTH}
        checks["history_files"] = all(f"{t}.parquet" in rows for t in TABLES)
        checks["holdout_files"] = all(f"truth/holdout/{t}.parquet" in rows for t in TABLES)
        checks["truth_files"] = all(f"truth/{t}.parquet" in rows for t in TRUTH)
        checks["history_rows_match_result"] = history == sim["counts"]
        checks["holdout_rows_match_result"] = holdout == sim["holdout_counts"]
        checks["events_written"] = history["events"] > 0 and holdout["events"] > 0
        rows_total = sum(rows.values())
        events = history["events"] + holdout["events"]

        profile_file = scratch / "profile.json"
        serialisable = [{**p, "schema": p["schema"].serialize().to_pybytes().hex()} for p in prof]
        profile_file.write_text(json.dumps(serialisable), encoding="utf-8")
        shutil.rmtree(sim_dir)  # the baseline writes onto the same disk, without the shop
        base = run_child("baseline", str(profile_file), scratch / "baseline")
        checks["baseline_rows_match"] = base["rows_written"] == rows

        report["simulate"] = {
            "seconds": round(sim["seconds"], 3),
            "cpu_seconds": round(sim["cpu_seconds"], 3),
            "peak_mem_mb": sim["peak_mem_mb"],
            "events_written": events,
            "events_per_s": round(events / sim["seconds"]) if sim["seconds"] > 0 else None,
            "rows_written": rows_total,
            "rows_per_s": round(rows_total / sim["seconds"]) if sim["seconds"] > 0 else None,
            "mb_written": sim_mb,
            "rows": {"history": history, "holdout": holdout, "truth": truth},
        }
        report["baseline"] = {
            "what": "the same rows and column types, random values, written with pyarrow",
            "seconds": round(base["seconds"], 3),
            "cpu_seconds": round(base["cpu_seconds"], 3),
            "peak_mem_mb": base["peak_mem_mb"],
            "rows_written": sum(base["rows_written"].values()),
            "mb_written": base["mb_written"],
            "files": len(base["rows_written"]),
        }
        report["ratio"] = round(sim["seconds"] / base["seconds"], 2)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    sim_report = report["simulate"]
    targets = {
        "seconds_le_60": sim_report["seconds"] <= TARGET_SECONDS,
        "peak_mem_le_4096_mb": sim_report["peak_mem_mb"] <= TARGET_PEAK_MB,
    }
    report["targets"] = {
        **targets,
        "all_met": all(targets.values()),
        "at_target_scale": (users, days) == TARGET_SCALE,
        "thresholds": {
            "users": TARGET_SCALE[0],
            "days": TARGET_SCALE[1],
            "seconds": TARGET_SECONDS,
            "peak_mem_mb": TARGET_PEAK_MB,
        },
        "notes": (
            "targets are set for 100,000 customers x 365 days (plus the holdout); at other "
            "sizes they are reported for information. seconds = the simulate() call; peak "
            "memory (MB = MiB) = max RSS of the simulating process; ratio = simulate seconds "
            "/ seconds to write the same rows of random data with pyarrow (the I/O floor)"
        ),
    }
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    report["checks"] = {**checks, "all_passed": all(checks.values())}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=DEFAULT_USERS, help="customers to simulate")
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history")
    ap.add_argument(
        "--holdout-days", type=int, default=DEFAULT_HOLDOUT, help="days of truth/holdout"
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "simulate.json", help="JSON report path"
    )
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=HERE / "out",
        help="scratch folder for the simulated shop and the baseline files (removed after)",
    )
    for hidden in ("--child", "--child-arg", "--child-target"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        if args.child == "simulate":
            result = child_simulate(json.loads(args.child_arg), args.child_target)
        else:
            result = child_baseline(args.child_arg, args.child_target)
        print(json.dumps(result))
        return 0

    if args.users < 1 or args.days < 1 or args.holdout_days < 0:
        ap.error("--users and --days must be positive, --holdout-days not negative")
    report = bench(args.users, args.days, args.holdout_days, args.seed, args.work_dir.resolve())
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
