#!/usr/bin/env python
"""Benchmark (issue 16): ten national years backfilled on a Dask LocalCluster.

    .venv/bin/python bench/scale.py                       # 10 years x 2,000 stations; 1 and 2 workers
    .venv/bin/python bench/scale.py --years 2 --stations 400 --workers 1   # a quick look

What is run (everything in a temporary folder, removed unless ``--keep``):

1. ``upsert``: the flow's writer: ten synthetic national years (``bench/air_national_year.py``:
   one network of ``--stations`` stations in 370 cities, each year its own weather, 2014..2023,
   leap years included) upserted month by month into a local store under its lock, one after
   the other (a store has one writer). Generating a year is not timed.
2. ``compute``: the backfill's ``compute`` tasks on a ``dask.distributed.LocalCluster`` of 1, then
   2 worker processes (1 thread each, ``--memory-limit`` each): one task per year, each reads its
   year from the store lazily (``Store.read_air(..., chunks={"time": 744})``: a month cube per
   chunk) and
   runs ``envq.report.air_results`` for its 17 periods (screening and station daily values a
   month at a time); the tables come back to the client, which writes them into the store as
   the flow does (timed apart: ``write_s``).

Memory: each worker process's peak RSS (``VmHWM``), sampled from ``/proc`` every 0.1 s.
Throughput: station-years computed per second of wall time. The projection for a 32-core
cluster scales the measured per-worker rate by the number of tasks that can run at once (one
task is a year), and adds the single writer's upsert time, which does not scale.

The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from pipeline import TreeSampler, log, machine_info  # noqa: E402


def compute_year(root: str, year: int) -> dict:
    """The backfill's compute task for one year (runs on a Dask worker)."""
    import warnings

    from envq import report
    from envq.store import Store

    warnings.filterwarnings("ignore", message=r"the 湖南省 figure averages")
    t0 = time.perf_counter()
    a, b = dt.date(year, 1, 1), dt.date(year, 12, 31)
    from envq.periods import periods_touched

    periods = periods_touched([a + dt.timedelta(days=i) for i in range((b - a).days + 1)])
    hourly = Store(root, create=False).read_air(a, b, chunks={"time": 24 * 31})   # a month cube per chunk
    out = report.air_results(hourly, periods, province=None)
    return {"year": year, "seconds": round(time.perf_counter() - t0, 2), "tables": out,
            "rows": {k: len(v) for k, v in out.items()}}


def upsert_years(root: Path, years: list[int], n_stations: int) -> dict:
    import numpy as np

    import air_national_year as nat
    from envq.store import Store
    from envq.store.air import natural_day

    store = Store(root)
    per_year, gen = {}, 0.0
    for y in years:
        t0 = time.perf_counter()
        ds = nat.synth_hourly(n_stations=n_stations, n_cities=max(1, min(370, n_stations * 370 // 2000)),
                              year=y, weather_seed=y)
        city_no = np.array([int(c[-3:]) for c in ds["city"].values.astype(str)])
        ds = ds.assign_coords(province=("station", np.array([f"省{(k % 31) + 1:02d}" for k in city_no])))
        gen += time.perf_counter() - t0
        months = natural_day(ds["time"].values).astype("datetime64[M]")
        t0 = time.perf_counter()
        with store.lock(run_id=f"bench-scale-{y}"):
            for m in np.unique(months):
                store.upsert_air(ds.isel(time=np.flatnonzero(months == m)), source="bench-scale")
        per_year[y] = round(time.perf_counter() - t0, 2)
        log(f"  upsert {y}: {per_year[y]} s")
        del ds
        gc.collect()
    return {"upsert_s": round(sum(per_year.values()), 2), "upsert_year_s": per_year, "generate_s_not_counted": round(gen, 1)}


def run_cluster(root: Path, years: list[int], n_workers: int, memory_limit: str, write: bool) -> dict:
    from dask.distributed import Client, LocalCluster

    from envq.store import Store

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                           dashboard_address=None)
    client = Client(cluster)
    sampler = TreeSampler(os.getpid())
    sampler.start()
    try:
        worker_pids = set(client.run(os.getpid).values())
        t0 = time.perf_counter()
        futures = client.map(compute_year, [str(root)] * len(years), years, pure=False)
        store = Store(root)
        done, write_s = [], 0.0
        from dask.distributed import as_completed

        for fut in as_completed(futures):
            r = fut.result()
            if write:   # the flow's process writes what the tasks computed
                t1 = time.perf_counter()
                with store.lock(run_id=f"bench-scale-results-{r['year']}"):
                    store.write_results(r["tables"], r["year"])
                write_s += time.perf_counter() - t1
            done.append({k: v for k, v in r.items() if k != "tables"})
            fut.release()
            log(f"  {n_workers} worker(s): {r['year']} in {r['seconds']} s")
        wall = time.perf_counter() - t0
    finally:
        sampler.stop.set()
        sampler.join()
        client.close()
        cluster.close()
    peaks = [round(p["hwm_kb"] / 1024, 1) for pid, p in sampler.procs.items() if pid in worker_pids]
    return {"workers": n_workers, "memory_limit": memory_limit, "wall_s": round(wall, 2),
            "write_s": round(write_s, 2), "task_s": sorted(d["seconds"] for d in done),
            "worker_peak_rss_mb": peaks}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--workers", default="1,2", help="comma list of cluster sizes (default 1,2)")
    ap.add_argument("--memory-limit", default="3GiB", help="per worker (default 3GiB)")
    ap.add_argument("--no-write", action="store_true", help="do not write the results back")
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--cores", type=int, default=32, help="cores of the projected cluster (default 32)")
    args = ap.parse_args(argv)

    years = list(range(2024 - args.years, 2024))   # 2014..2023: HJ 633-2012 and HJ 663-2013 in force
    tmp = Path(args.tmp) if args.tmp else Path(tempfile.mkdtemp(prefix="envq-bench-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    root = tmp / "store"
    res: dict = {"machine": machine_info(), "command": "bench/scale.py " + " ".join(argv or sys.argv[1:]),
                 "years": years, "stations": args.stations, "station_years": args.stations * len(years)}
    res["machine"]["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        res["writer"] = upsert_years(root, years, args.stations)
        res["clusters"] = []
        for n in [int(x) for x in args.workers.split(",") if x.strip()]:
            r = run_cluster(root, years, n, args.memory_limit, write=not args.no_write)
            r["station_years_per_s"] = round(res["station_years"] / r["wall_s"], 1)
            res["clusters"].append(r)
            log(f"  {n} worker(s): {r['wall_s']} s, {r['station_years_per_s']} station-years/s, "
                f"worker peaks {r['worker_peak_rss_mb']} MiB")
    finally:
        if not args.keep and not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    # projection: a year is one task, so at most len(years) tasks run at once
    one = res["clusters"][0]
    # a task's own time: the 1-worker wall over its tasks (a task's ``seconds`` overlap: a worker
    # thread computing a dask-backed read lets the worker start its next task meanwhile), scaled
    # to a national year of 2,000 stations; the writer's upsert likewise
    scale = 2000 / args.stations
    per_task = one["wall_s"] / len(years) * scale
    slots = min(args.cores, 10)
    waves = -(-10 // slots)
    upsert_year = res["writer"]["upsert_s"] / len(years) * scale
    write_year = one["write_s"] / len(years) * scale
    res["projection"] = {
        "for": "10 national years (2,000 stations)", "cores": args.cores,
        "task_s_per_national_year": round(per_task, 1), "concurrent_tasks": slots,
        "compute_s": round(waves * per_task, 1), "writer_upsert_s": round(10 * upsert_year, 1),
        "write_results_s": round(10 * write_year, 1),
        "total_s": round(waves * per_task + 10 * upsert_year + 10 * write_year, 1),
        "note": "one task per year: 10 years keep 10 of the cores busy; the single writer's upserts and result "
                "writes do not scale with cores (linear in stations from the measured run)",
    }
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(res, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
