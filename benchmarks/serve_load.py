"""Serving benchmark: ``liucun serve`` under steady load, and while a daily run replaces it.

It simulates a shop (``--users``, ``--days``, ``--seed``) with ``liucun.sim.simulate``,
ingests the seven tables (as ``liucun demo`` does), runs ``liucun.pipeline.run`` once as
of start + days, creates an API key (``liucun.serve.keys.KeyStore``) and starts the real
server as a subprocess (``liucun --workspace WS serve --host 127.0.0.1 --port P``), waiting
for ``GET /health``. A second process then drives it, open loop: requests are scheduled at
``--rate`` per second for ``--seconds`` (at most rate × seconds of them), sent by
``--workers`` threads with one keep-alive ``httpx.Client`` each; a request still behind
schedule when the window closes is not sent (``not_sent``), so a server slower than the
rate shows as an achieved rate below it. Requests are spread over three routes (weights
``--mix``) with random known customers:

- ``customer``: ``GET /api/customers/{user_id}``;
- ``recommendations``: ``GET /api/customers/{user_id}/recommendations?k=10``;
- ``at_risk``: ``GET /api/at-risk?limit=50``.

Per route it reports p50/p95/p99/max latency (ms, from sending a request to reading its
whole answer, measured by the client), the achieved rate and the errors (a non-2xx answer
or an exception); before the load, ``--single`` requests per route sent one at a time
(``load.single``) give the latency with no queue. Then the load again while a second
daily run (``liucun --workspace WS run --as-of ...``, a subprocess) works on the same
workspace: it lasts ``--seconds`` or until the run has finished and a few seconds more
(for the server to pick the new run up), whichever is longer; it reports the same
figures, the run's seconds and whether the ``run_id`` that ``/health`` serves switched to
the new run. Prints JSON and writes it to ``--out``; exits 1 when a route never answered
or a figure is not finite (targets are reported, never fatal)::

    python benchmarks/serve_load.py                        # 100,000 customers, 500 req/s, 30 s
    python benchmarks/serve_load.py --users 20000 --rate 200 --seconds 60 --out /tmp/serve_load.json
    python benchmarks/serve_load.py --quick --out /tmp/serve_load.json   # 2,000 customers, 5 s
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import finite as _finite
from _measure import json_clean as _clean
from _measure import machine as _machine
from _measure import peak_mb as _peak_mb
from _measure import run_child as _run_child
from _measure import simulate_and_ingest as child_shop
from _measure import write_report

HERE = Path(__file__).resolve().parent
ROUTES = ("customer", "recommendations", "at_risk")
QUICK = {"users": 2000, "days": 200, "seconds": 5.0, "single": 50}
FULL = {"users": 100_000, "days": 365, "seconds": 30.0, "single": 300}
DEFAULT_MIX = {"customer": 0.45, "recommendations": 0.45, "at_risk": 0.10}
TARGET_P99_MS = 20.0
TARGET_ROUTES = ("customer", "recommendations")
TAIL_SECONDS = 5.0  # load kept on after the second run ends: the server reloads within 2 s
HEALTH_TIMEOUT_S = 300.0
PERCENTILES = (50, 95, 99)


# -- steps, each in its own subprocess -------------------------------------------------
def child_run(spec: dict[str, Any]) -> dict[str, Any]:
    """The first daily run (``liucun.pipeline.run``) and the customers it scored."""
    import pandas as pd

    import liucun
    from liucun.pipeline.run import run

    t0 = time.perf_counter()
    with liucun.Workspace(spec["ws"]) as ws:
        res = run(ws, spec["as_of"])
    seconds = time.perf_counter() - t0
    scores = pd.read_parquet(Path(res.run_dir) / "scores.parquet", columns=["user_id"])
    users = sorted(scores["user_id"].astype(str).unique())
    Path(spec["users_file"]).write_text("\n".join(users) + "\n", encoding="utf-8")
    return {
        "run_id": res.run_id,
        "seconds": seconds,
        "stage_seconds": res.seconds,
        "customers": len(users),
        "outputs": sorted(res.outputs),
        "peak_mem_mb": _peak_mb(),
    }


def _percentiles(ms: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not ms:
        return {f"p{p}_ms": None for p in PERCENTILES} | {"max_ms": None, "mean_ms": None}
    a = np.asarray(ms)
    out: dict[str, float | None] = {f"p{p}_ms": float(np.percentile(a, p)) for p in PERCENTILES}
    return out | {"max_ms": float(a.max()), "mean_ms": float(a.mean())}


def _health(client: Any) -> dict[str, Any] | None:
    try:
        r = client.get("/health", timeout=5.0)
        return r.json() if r.status_code == 200 else None
    except Exception:
        return None


def child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Drive the server at ``rate`` requests/s; with ``run_cmd``, while that run works."""
    import random
    import threading

    import httpx

    # Threads waiting on the network must get the GIL back quickly, or the client's own
    # scheduling shows up as server latency (the default switch interval is 5 ms).
    sys.setswitchinterval(0.0005)
    base, key = spec["url"], spec["key"]
    users = Path(spec["users_file"]).read_text(encoding="utf-8").split()
    rate, seconds, workers = float(spec["rate"]), float(spec["seconds"]), int(spec["workers"])
    rng = random.Random(int(spec["seed"]))
    names = list(spec["mix"])
    weights = [float(spec["mix"][n]) for n in names]

    def path_of(route: str, uid: str) -> str:
        if route == "customer":
            return f"/api/customers/{uid}"
        if route == "recommendations":
            return f"/api/customers/{uid}/recommendations?k=10"
        return "/api/at-risk?limit=50"

    # The whole plan up front (bounded: rate × the longest the load may last).
    cap = float(spec.get("max_seconds") or seconds)
    n_max = int(rate * cap) + 1
    plan = [(r, path_of(r, rng.choice(users))) for r in rng.choices(names, weights, k=n_max)]

    lock = threading.Lock()
    state = {"next": 0, "deadline": seconds}
    lat: dict[str, list[float]] = {r: [] for r in names}
    errors: dict[str, int] = dict.fromkeys(names, 0)
    sent: dict[str, int] = dict.fromkeys(names, 0)
    samples: list[str] = []
    late: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    health = httpx.Client(base_url=base)
    run_id_before = (_health(health) or {}).get("run_id")

    def worker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                at = i / rate
                if i >= n_max or at > state["deadline"]:
                    return
                now = time.perf_counter()
                if t0 + at > now:
                    time.sleep(t0 + at - now)
                elif now - t0 > state["deadline"]:
                    return  # behind schedule and the window has closed: not sent
                route, path = plan[i]
                s = time.perf_counter()
                try:
                    resp = client.get(path)
                    resp.read()
                    ok, why = 200 <= resp.status_code < 300, f"HTTP {resp.status_code} {path}"
                except Exception as e:
                    ok, why = False, f"{type(e).__name__}: {e} ({path})"
                ms = (time.perf_counter() - s) * 1000
                with lock:
                    sent[route] += 1
                    late.append(max(0.0, s - (t0 + at)) * 1000)
                    if ok:
                        lat[route].append(ms)
                    else:
                        errors[route] += 1
                        if len(samples) < 10:
                            samples.append(why)

    # Warm every route and connection path once, outside the measurement; then, when
    # asked, one request at a time per route: the server's latency with no queue.
    single: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
        for r in names:
            client.get(path_of(r, users[0]))
        for r in names if spec.get("single") else ():
            ms, bad = [], 0
            for _ in range(int(spec["single"])):
                s = time.perf_counter()
                try:
                    resp = client.get(path_of(r, rng.choice(users)))
                    ok = 200 <= resp.status_code < 300
                except Exception:
                    ok = False
                if ok:
                    ms.append((time.perf_counter() - s) * 1000)
                else:
                    bad += 1
            single[r] = {"requests": int(spec["single"]), "errors": bad, **_percentiles(ms)}

    run: dict[str, Any] | None = None
    proc = None
    if spec.get("run_cmd"):
        state["deadline"] = cap
        log = Path(spec["run_log"])
        proc = subprocess.Popen(
            spec["run_cmd"], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=os.environ
        )
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    if proc is not None:
        while proc.poll() is None and time.perf_counter() - t0 < cap:
            time.sleep(0.05)
        run_end = time.perf_counter() - t0
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        with lock:
            state["deadline"] = min(cap, max(seconds, run_end + TAIL_SECONDS))
        run = {"seconds": run_end, "returncode": rc}
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    routes: dict[str, Any] = {}
    for r in names:
        ok = len(lat[r])
        routes[r] = {
            "requests": sent[r],
            "ok": ok,
            "errors": errors[r],
            **_percentiles(lat[r]),
            "achieved_rate": sent[r] / elapsed if elapsed > 0 else None,
        }
    total = sum(sent.values())
    planned = min(n_max, int(rate * state["deadline"]) + 1)
    out: dict[str, Any] = {
        "seconds": elapsed,
        "window_seconds": state["deadline"],
        "requests_planned": planned,
        "requests": total,
        "not_sent": planned - total,
        "errors": sum(errors.values()),
        "achieved_rate": total / elapsed if elapsed > 0 else None,
        "target_rate": rate,
        "all": _percentiles([x for r in names for x in lat[r]]),
        "start_lateness_ms": _percentiles(late),
        "routes": routes,
        "error_samples": samples,
        "run_id_before": run_id_before,
    }
    if single:
        out["single"] = single
    if run is not None:
        # The server looks for a new run at most every 2 s, on a request: ask until it has.
        expected = None
        pointer = Path(spec["ws"]) / "runs" / "latest.json"
        if pointer.exists():
            expected = json.loads(pointer.read_text(encoding="utf-8"))["run_id"]
        after = run_id_before
        stop = time.perf_counter() + 15.0
        while time.perf_counter() < stop:
            after = (_health(health) or {}).get("run_id")
            if after != run_id_before:
                break
            time.sleep(0.25)
        log_tail = Path(spec["run_log"]).read_text(encoding="utf-8", errors="replace")
        run |= {
            "run_id_before": run_id_before,
            "run_id_after": after,
            "run_id_expected": expected,
            "switched": bool(after is not None and after != run_id_before and after == expected),
            "output_tail": log_tail[-2000:] if run["returncode"] != 0 else "",
        }
        out["run"] = run
    health.close()
    return out


CHILDREN = {"shop": child_shop, "run": child_run, "load": child_load}


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _run_child(__file__, kind, spec)


# -- the server --------------------------------------------------------------------------
def liucun_cmd() -> list[str]:
    """The ``liucun`` command of this interpreter's environment."""
    exe = Path(sys.executable).parent / "liucun"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("liucun")
    return [found] if found else [sys.executable, "-c", "from liucun.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(ws: Path, log: Path) -> tuple[subprocess.Popen, str, float]:
    import httpx

    port = free_port()
    cmd = [*liucun_cmd(), "--workspace", str(ws), "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < HEALTH_TIMEOUT_S:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SystemExit(f"liucun serve exited ({proc.returncode}):\n{tail}")
        try:
            if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"liucun serve did not answer /health within {HEALTH_TIMEOUT_S:.0f} s")


def stop_server(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# -- report ------------------------------------------------------------------------------
def _phase_finite(p: dict[str, Any]) -> bool:
    figures = [p["seconds"], p["achieved_rate"], *p["all"].values()]
    for r in p["routes"].values():
        figures += [r[f"p{q}_ms"] for q in PERCENTILES] + [r["max_ms"], r["achieved_rate"]]
    return all(_finite(v) for v in figures)


def checks(load: dict[str, Any], during: dict[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    if "single" in load:
        out["single_figures_finite"] = all(
            _finite(x[f"p{q}_ms"]) for x in load["single"].values() for q in PERCENTILES
        )
    for name, p in (("load", load), ("during_run", during)):
        out[f"{name}_every_route_answered"] = all(r["ok"] > 0 for r in p["routes"].values())
        out[f"{name}_figures_finite"] = _phase_finite(p)
    return out


def machine() -> dict[str, Any]:
    return _machine(
        ("fastapi", "uvicorn", "httpx", "pandas", "liucun"),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
    )


def bench(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "serve_load",
        "date": dt.date.today().isoformat(),
        "quick": args.quick,
        "users": args.users,
        "days": args.days,
        "seed": args.seed,
        "rate": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "mix": args.mix,
        "single": args.single,
        "machine": machine(),
    }
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-serve-", dir=args.work_dir))
    shop, ws = scratch / "shop", scratch / "ws"
    start = time.perf_counter()
    server = None
    try:
        spec = {
            "shop": str(shop),
            "ws": str(ws),
            "users": args.users,
            "days": args.days,
            "holdout_days": 1,
            "seed": args.seed,
        }
        shop_r = run_child("shop", spec)
        shutil.rmtree(shop, ignore_errors=True)  # ingested: the files are not needed
        as_of = dt.date.fromisoformat(shop_r["start"]) + dt.timedelta(days=args.days)
        users_file = scratch / "users.txt"
        run_r = run_child(
            "run", {"ws": str(ws), "as_of": as_of.isoformat(), "users_file": str(users_file)}
        )
        from liucun.serve.keys import KeyStore

        key = KeyStore(ws).create("serve-load-benchmark")
        server, url, startup_s = start_server(ws, scratch / "serve.log")
        load_spec = {
            "url": url,
            "key": key,
            "ws": str(ws),
            "users_file": str(users_file),
            "rate": args.rate,
            "seconds": args.seconds,
            "workers": args.workers,
            "mix": args.mix,
            "seed": args.seed,
        }
        load = run_child("load", load_spec | {"single": args.single})
        run_cmd = [*liucun_cmd(), "--workspace", str(ws), "run", "--as-of", as_of.isoformat()]
        during = run_child(
            "load",
            load_spec
            | {
                "seed": args.seed + 1,
                "run_cmd": run_cmd,
                "run_log": str(scratch / "run.log"),
                "max_seconds": args.max_run_seconds,
            },
        )
        stop_server(server)
        server = None
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(scratch, ignore_errors=True)
    report["as_of"] = as_of.isoformat()
    report["data"] = {
        "simulate_seconds": shop_r["simulate_seconds"],
        "ingest_seconds": shop_r["ingest_seconds"],
        "rows": shop_r["rows"],
        "customers_served": run_r["customers"],
        "first_run": {k: run_r[k] for k in ("run_id", "seconds", "stage_seconds", "outputs")},
        "first_run_peak_mem_mb": run_r["peak_mem_mb"],
    }
    report["server"] = {
        "command": "liucun --workspace WS serve --host 127.0.0.1 --port P",
        "startup_seconds": startup_s,
    }
    report["load"] = load
    report["during_run"] = during
    lr = load["routes"]
    tg: dict[str, Any] = {
        f"{r}_p99_le_{TARGET_P99_MS:g}ms": bool(
            lr[r]["p99_ms"] is not None and lr[r]["p99_ms"] <= TARGET_P99_MS
        )
        for r in TARGET_ROUTES
    }
    tg["zero_errors"] = load["errors"] == 0
    tg["zero_errors_during_run"] = during["errors"] == 0
    tg["run_id_switched"] = bool(during["run"]["switched"])
    report["targets"] = {
        **tg,
        "all_met": all(tg.values()),
        "thresholds": {"p99_ms": TARGET_P99_MS, "rate": args.rate},
        "notes": (
            "p99 judged on the steady load (client-side, from sending a request to reading "
            "its answer, over keep-alive connections on 127.0.0.1); errors are non-2xx "
            "answers or exceptions, in both phases; run_id_switched: /health serves the "
            "second run's run_id after it completed. Never fatal."
        ),
    }
    report["seconds_total"] = time.perf_counter() - start
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    chk = checks(load, during)
    report["checks"] = {**chk, "all_passed": all(chk.values())}
    return _clean(report)


def _mix(value: str) -> dict[str, float]:
    """``customer=0.45,recommendations=0.45,at_risk=0.1`` → weights (need not sum to 1)."""
    out: dict[str, float] = {}
    for part in value.split(","):
        name, _, w = part.partition("=")
        if name.strip() not in ROUTES:
            raise argparse.ArgumentTypeError(f"unknown route {name!r}; routes: {ROUTES}")
        out[name.strip()] = float(w)
    if any(w < 0 for w in out.values()) or not any(out.values()):
        raise argparse.ArgumentTypeError("weights must be ≥ 0 and not all 0")
    return {r: out.get(r, 0.0) for r in ROUTES if out.get(r, 0.0) > 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=None, help="customers simulated (100000)")
    ap.add_argument("--days", type=int, default=None, help="days of history (365)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second (500)")
    ap.add_argument(
        "--seconds", type=float, default=None, help="seconds of steady load (30; quick: 5)"
    )
    ap.add_argument(
        "--workers", type=int, default=16, help="client threads, one connection each (16)"
    )
    ap.add_argument(
        "--single",
        type=int,
        default=None,
        help="requests per route sent one at a time before the load (300; quick: 50; 0: none)",
    )
    ap.add_argument(
        "--mix",
        type=_mix,
        default=DEFAULT_MIX,
        help="route weights (default customer=0.45,recommendations=0.45,at_risk=0.1)",
    )
    ap.add_argument(
        "--max-run-seconds",
        type=float,
        default=1800.0,
        help="longest the load during the second run may last (1800)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2,000 users, 200 days, 5 s of load (unless given)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "serve_load.json", help="JSON report path"
    )
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the shop and workspace go (removed afterwards)",
    )
    for hidden in ("--child", "--child-arg"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.child_arg)), default=str))
        return 0

    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if min(args.users, args.days, args.workers) < 1 or min(args.rate, args.seconds) <= 0:
        ap.error("--users, --days, --workers, --rate and --seconds must be positive")
    if args.single < 0:
        ap.error("--single must be 0 or more")
    if args.max_run_seconds < args.seconds:
        ap.error("--max-run-seconds must be at least --seconds")
    report = bench(args)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
