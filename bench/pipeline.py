#!/usr/bin/env python
"""Benchmark: the pipeline (issue 5): the nightly run, a one-year Hunan backfill, a national year.

    .venv/bin/python bench/pipeline.py            # everything; the last stdout line is one JSON object
    .venv/bin/python bench/pipeline.py --only nightly,backfill --keep

What is measured (everything in a temporary folder, removed at the end unless ``--keep``):

1. ``prefect_noop``: Prefect's own cost, apart. A fresh process runs a flow that does nothing,
   the way ``envq run`` runs a flow (no ``PREFECT_API_URL``: Prefect starts a temporary local
   server, runs the flow against it, stops it). Run twice: ``cold`` on a fresh ``PREFECT_HOME``
   (the server creates its database), ``warm`` on the same home again (as a nightly service
   would run). The Hunan runs below use that same, warm ``PREFECT_HOME``.
2. ``nightly``: ``envq run --date 2019-07-15 --store <tmp>/store`` on the bundled data (the
   embedded default sources: air ``data/air/hunan_sites_2019_wide.csv.gz``, water
   ``data/water``; the nightly pulls the last ``repull_days`` = 3 days, 2019-07-13..15; the
   bundled water file covers 2026 only, so the water part pulls nothing). Run twice on the same
   store: ``first`` (empty store) and ``rerun`` (the same day again).
3. ``backfill``: ``envq backfill 2019-01-01 2019-12-31 --parts air --store <tmp>/store2``, twice
   (``first`` on an empty store, ``rerun`` the idempotent re-run: no month changes, nothing is
   rewritten, everything is recomputed).
4. ``national``: the backfill's library work on the synthetic national year of
   ``bench/air_national_year.py`` (2,000 stations x 8,760 h), in a child process of its own:
   ``Store.upsert_air`` month by month inside ``store.lock()``, then ``Store.read_air`` of the
   year and ``envq.report.air_results(hourly, periods, province=None)`` for the 12 months, 4
   quarters and the year (what the ``compute`` task does; ``province=None`` keeps every station
   instead of Hunan's), then the results written with ``Store.write_result`` as the flow does.
   No fetch/parse and no Prefect in this number (they are in the Hunan numbers). Memory:
   ``peak_mb`` is the child's peak RSS, the input's generation included; ``upsert_peak_mb``,
   ``upsert_rerun_peak_mb``, ``compute_peak_mb`` the peak of each stage alone (``VmHWM``, reset
   through ``/proc/self/clear_refs`` after the generation and after each stage), with the 802 MiB
   input held throughout, as the flow holds its pulled batches until the run ends.
5. ``hunan_year_library``: where the backfill's in-flow time goes: the same library calls as the
   flow (the 4 quarter pulls, the upserts, ``read_air``, ``air_results``, the basin rates of the
   17 periods from one read), timed one by one in this process, without Prefect.

Results (issue 16: a faster pipeline must give the same results). Every result table of each
group (the store's ``results/`` after the nightly and the backfill, the tables of the Hunan
library calls and of the national year) is digested (``bench/_results.py``: columns, dtypes,
index and every cell's bytes) and compared with ``bench/reference_results.json``, the digests of
the code before the performance work on the same inputs (``--make-reference COMMIT`` rebuilds it,
and the tables themselves under ``bench/out/reference/`` to show a difference cell by cell).
``results_equal`` is True when every group run equals its reference.

The first key of the JSON line, ``figures``, is the table of issue 16: each figure, its goal,
whether it is met, and ``results_equal``. ``--profile DIR`` writes cProfile statistics and top
lines of the national stages and the Hunan basin rates (profiled times are not the figures).

For each command run (1-3), the bench reads the process's log lines as they arrive and takes:

- ``wall_s``: process start to exit;
- ``before_server_s``: process start to Prefect's ``Starting temporary server`` line (interpreter
  start and imports: envq's CLI, Prefect, the flow module);
- ``server_start_s``: ``Starting temporary server`` to ``Beginning flow run`` (the temporary
  server comes up, the flow run is created);
- ``in_flow_s``: ``Beginning flow run`` to the flow's ``Finished in state`` (the flow's own work,
  with Prefect's per-task overhead);
- ``after_flow_s``: the flow's ``Finished in state`` to exit (server stop, interpreter exit);
- ``outside_flow_s`` = wall - in_flow;
- ``tasks``: when each task run finished, seconds after ``Beginning flow run``;
- peak memory: ``VmHWM`` (the kernel's exact peak RSS) of every process of the run, read from
  ``/proc`` every 0.1 s while it runs: ``peak_rss_mb`` the flow process (the one that runs the
  tasks), ``server_peak_rss_mb`` the temporary server process, ``tree_peak_rss_mb`` the largest
  sampled sum of both; and ``time_maxrss_mb``, ``/usr/bin/time -v``'s "Maximum resident set
  size" (the largest single process of the tree), when /usr/bin/time exists, else
  ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (same meaning, but a running maximum over
  every child this bench has waited for).

Store size: ``du``-style allocated bytes (``st_blocks`` x 512) and apparent bytes, of the whole
store and of its air cubes (``air/hourly``), and per station-year (bytes / (stations x years),
years = days covered / 365). MB are MiB (2**20 bytes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
import _results  # noqa: E402  (bench/_results.py: results checked against the reference)

VENV_BIN = Path(sys.executable).parent
ENVQ = str(VENV_BIN / "envq")
PYTHON = sys.executable
TIME = "/usr/bin/time"
MiB = 2**20

NOOP_FLOW = """
from prefect import flow

@flow(name="noop")
def noop():
    return None

noop()
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# processes


def _ppids() -> dict[int, list[int]]:
    """parent pid -> child pids, from /proc/*/status (``/proc/PID/task/PID/children`` is not
    available on every kernel)."""
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as fh:
                for line in fh:
                    if line.startswith("PPid:"):
                        out.setdefault(int(line.split()[1]), []).append(int(d))
                        break
        except OSError:
            pass
    return out


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class TreeSampler(threading.Thread):
    """Samples the process tree under *pid* every *every* s: each process's VmHWM (exact peak),
    and the largest sum of VmRSS over the tree."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.stop = threading.Event()
        self.procs: dict[int, dict] = {}   # pid -> {"cmd", "parent", "hwm_kb"}
        self.tree_peak_kb = 0

    def run(self):
        while not self.stop.is_set():
            total = 0
            kids = _ppids()
            todo = [(self.pid, None)]
            while todo:
                pid, parent = todo.pop()
                st = _status(pid)
                if st:
                    p = self.procs.setdefault(pid, {"cmd": _cmdline(pid)[:160], "parent": parent, "hwm_kb": 0})
                    p["hwm_kb"] = max(p["hwm_kb"], st.get("VmHWM", 0))
                    total += st.get("VmRSS", 0)
                todo.extend((c, pid) for c in kids.get(pid, ()))
            self.tree_peak_kb = max(self.tree_peak_kb, total)
            self.stop.wait(self.every)


_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| ")


def run_logged(cmd: list[str], *, env: dict, logdir: Path, label: str) -> dict:
    """Run *cmd* (a Prefect flow run in a fresh process); time it from its log lines."""
    use_time = Path(TIME).exists()
    tfile = logdir / f"{label}.time.txt"
    full = ([TIME, "-v", "-o", str(tfile)] if use_time else []) + cmd
    out_path, err_path = logdir / f"{label}.stdout.txt", logdir / f"{label}.stderr.txt"
    events: list[tuple[float, str]] = []
    with open(out_path, "wb") as out_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, cwd=ROOT, env=env, stdout=out_fh, stderr=subprocess.PIPE, text=True,
                                encoding="utf-8", errors="replace", bufsize=1)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        for line in proc.stderr:
            events.append((time.perf_counter() - t0, line.rstrip("\n")))
        rc = proc.wait()
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
    err_path.write_text("\n".join(f"{t:9.3f}  {s}" for t, s in events) + "\n", encoding="utf-8")
    if rc != 0:
        tail = "\n".join(s for _, s in events[-30:])
        raise RuntimeError(f"{label}: {' '.join(cmd)} exited {rc}\n{tail}")

    def first(pattern: str) -> float | None:
        rx = re.compile(pattern)
        return next((t for t, s in events if rx.search(s)), None)

    t_server = first(r"Starting temporary server")
    t_begin = first(r"Beginning flow run")
    t_end = first(r"Flow run '[^']+' - Finished in state")
    tasks = {}
    for t, s in events:
        m = re.search(r"Task run '([^']+)' - Finished in state (\w+)", s)
        if m and t_begin is not None:
            tasks[m.group(1)] = round(t - t_begin, 2)
    res = {
        "cmd": "python -c <no-op flow>" if cmd[:2] == [PYTHON, "-c"]
        else " ".join(cmd).replace(str(VENV_BIN) + "/", ".venv/bin/").replace(str(logdir), "<tmp>"),
        "wall_s": round(wall, 2),
        "before_server_s": _r(t_server),
        "server_start_s": _r(t_begin - t_server) if t_begin is not None and t_server is not None else None,
        "in_flow_s": _r(t_end - t_begin) if t_end is not None and t_begin is not None else None,
        "after_flow_s": _r(wall - t_end) if t_end is not None else None,
        "outside_flow_s": _r(wall - (t_end - t_begin)) if t_end is not None and t_begin is not None else None,
        "tasks": tasks,
    }
    # memory: the flow process is the command itself (the child of /usr/bin/time when used); the
    # other processes of the tree are Prefect's (the temporary server)
    flow_pid = next((pid for pid, p in sampler.procs.items() if p["parent"] == proc.pid), None) if use_time \
        else proc.pid
    if flow_pid in sampler.procs:
        res["peak_rss_mb"] = round(sampler.procs[flow_pid]["hwm_kb"] / 1024, 1)
        others = [p for pid, p in sampler.procs.items() if pid not in (proc.pid, flow_pid)]
        res["server_peak_rss_mb"] = round(max((p["hwm_kb"] for p in others), default=0) / 1024, 1)
        log(f"    other processes: {[p['cmd'][:90] for p in others]}")
    res["tree_peak_rss_mb"] = round(sampler.tree_peak_kb / 1024, 1)
    if use_time and tfile.exists():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tfile.read_text())
        res["time_maxrss_mb"] = round(int(m.group(1)) / 1024, 1) if m else None
    else:
        res["time_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        res["time_maxrss_note"] = "getrusage(RUSAGE_CHILDREN), running maximum over all children"
    log(f"  {label}: wall {res['wall_s']} s = before server {res['before_server_s']} + server start "
        f"{res['server_start_s']} + in flow {res['in_flow_s']} + after {res['after_flow_s']}; "
        f"peak RSS flow process {res.get('peak_rss_mb')} MiB, server {res.get('server_peak_rss_mb')} MiB")
    return res


class Profiled:
    """``with Profiled(folder, "stage"):`` profiles the block with cProfile when *folder* is set:
    ``<folder>/<stage>.pstats`` and the top lines (cumulative and own time) in
    ``<folder>/<stage>.txt``; a no-op otherwise. Profiled times are not the benchmark's figures
    (cProfile slows Python-heavy code); run without ``--profile`` for those."""

    def __init__(self, folder: Path | None, stage: str, lines: int = 30):
        self.folder, self.stage, self.lines = folder, stage, lines
        self.prof = None

    def __enter__(self):
        if self.folder is not None:
            import cProfile

            self.prof = cProfile.Profile()
            self.prof.enable()
        return self

    def __exit__(self, *exc):
        if self.prof is None:
            return False
        import io
        import pstats

        self.prof.disable()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prof.dump_stats(str(self.folder / f"{self.stage}.pstats"))
        text = io.StringIO()
        for key in ("cumulative", "tottime"):
            pstats.Stats(self.prof, stream=text).sort_stats(key).print_stats(self.lines)
        (self.folder / f"{self.stage}.txt").write_text(text.getvalue(), encoding="utf-8")
        log(f"  profile of {self.stage}: {self.folder / (self.stage + '.txt')}")
        return False


def check_results(group: str, tables: dict, save: Path | None) -> dict:
    """Digest *tables*, save them under ``<save>/<group>/`` if asked, compare with the reference."""
    got = _results.digest_tables(tables)
    if save is not None:
        _results.save_tables(tables, save / group)
    cmp = _results.compare(group, got, tables)
    bad = {k: v for k, v in cmp["tables"].items() if v != "equal"}
    log(f"  results {group}: {len(got)} tables, equal to the reference: {cmp['equal']}"
        + (f"; {bad}" if bad else "") + (f"; extra {cmp['extra']}" if cmp.get("extra") else ""))
    return {**cmp, **({"digests": got} if save is not None else {})}   # digests only to make a reference


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def prefect_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                # the default 20 s is too short for the temporary server on a machine under load
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"})
    env.pop("ENVQ_CONFIG", None)   # the embedded default sources (the bundled data)
    env.pop("ENVQ_HOME", None)
    return env


# --------------------------------------------------------------------------------------------
# store sizes


def tree_size(path: Path) -> dict:
    """Allocated (du) and apparent bytes of everything under *path*."""
    alloc = apparent = files = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            alloc += st.st_blocks * 512
            apparent += st.st_size
            files += 1
    return {"bytes": alloc, "apparent_bytes": apparent, "files": files}


def store_sizes(root: Path, stations: int, years: float) -> dict:
    whole, air = tree_size(root), tree_size(root / "air" / "hourly")
    sy = stations * years
    return {
        "stations": stations, "years": round(years, 4),
        "store_mb": round(whole["bytes"] / MiB, 2), "store_apparent_mb": round(whole["apparent_bytes"] / MiB, 2),
        "store_files": whole["files"],
        "air_cubes_mb": round(air["bytes"] / MiB, 2), "air_cubes_apparent_mb": round(air["apparent_bytes"] / MiB, 2),
        "store_kib_per_station_year": round(whole["bytes"] / 1024 / sy, 1),
        "air_cubes_kib_per_station_year": round(air["bytes"] / 1024 / sy, 1),
        "air_cubes_apparent_kib_per_station_year": round(air["apparent_bytes"] / 1024 / sy, 1),
    }


def store_extent(root: Path) -> tuple[int, float]:
    """(stations, years) held by a store's air cubes: the largest station axis, days / 365."""
    stations, days = 0, 0
    for p in sorted((root / "air" / "hourly").glob("????-??.json")):
        ptr = json.loads(p.read_text(encoding="utf-8"))
        stations = max(stations, int(ptr["stations"]))
        days += len(ptr["days"])
    return stations, days / 365.0


# --------------------------------------------------------------------------------------------
# 1-3: Prefect apart, nightly, backfill


def bench_prefect_noop(tmp: Path, home: Path) -> dict:
    out = {}
    code = "import time; t = time.perf_counter(); import prefect, prefect.flows; print(time.perf_counter() - t)"
    p = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=prefect_env(home), capture_output=True, text=True,
                       check=True)
    out["import_prefect_s"] = round(float(p.stdout.strip().splitlines()[-1]), 2)
    log(f"  import prefect (fresh process): {out['import_prefect_s']} s")
    for label in ("cold", "warm"):
        out[label] = run_logged([PYTHON, "-c", NOOP_FLOW], env=prefect_env(home), logdir=tmp,
                                label=f"prefect_noop_{label}")
    return out


def bench_nightly(tmp: Path, home: Path, save: Path | None = None) -> dict:
    store = tmp / "store"
    out = {}
    for label in ("first", "rerun"):
        out[label] = run_logged([ENVQ, "run", "--date", "2019-07-15", "--store", str(store)],
                                env=prefect_env(home), logdir=tmp, label=f"nightly_{label}")
        out[label]["results"] = check_results("nightly", _results.store_result_tables(store),
                                              save if label == "first" else None)
    stations, years = store_extent(store)
    out["store"] = store_sizes(store, stations, years)
    return out


def bench_backfill(tmp: Path, home: Path, save: Path | None = None) -> dict:
    store = tmp / "store2"
    out = {}
    for label in ("first", "rerun"):
        out[label] = run_logged([ENVQ, "backfill", "2019-01-01", "2019-12-31", "--parts", "air", "--store",
                                 str(store)], env=prefect_env(home), logdir=tmp, label=f"backfill_{label}")
        out[label]["results"] = check_results("backfill", _results.store_result_tables(store),
                                              save if label == "first" else None)
        stations, years = store_extent(store)
        out[label]["store"] = store_sizes(store, stations, years)
    return out


def bench_hunan_library(tmp: Path, save: Path | None = None, profile: Path | None = None) -> dict:
    """Where the backfill's in-flow time goes: the same library calls, timed one by one, without
    Prefect, in this process (the flow runs the 4 pulls in threads, then upserts, then the
    compute and basin-rates tasks in threads)."""
    from envq import report
    from envq.periods import periods_touched
    from envq.sources.adapters import open_source
    from envq.store import Store
    from flows.pipeline import BACKFILL_BATCH_MONTHS, _batches
    from envq.air.pipeline import station_daily_from_hourly
    from geo.areas import air_rates_by_area, station_labels

    a, b = dt.date(2019, 1, 1), dt.date(2019, 12, 31)
    src = open_source("air")
    res: dict = {}
    t0 = time.perf_counter()
    batches = []
    for x, y in _batches(a, b, BACKFILL_BATCH_MONTHS):
        t1 = time.perf_counter()
        batches.append(src.parse(src.fetch(x, y), x, y))
        res.setdefault("pull_batch_s", []).append(round(time.perf_counter() - t1, 2))
    res["pull_4_batches_sequential_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    src.parse(src.fetch(a, b), a, b)
    res["pull_whole_year_once_s"] = round(time.perf_counter() - t0, 2)
    store = Store(tmp / "store_lib")
    t0, c0 = time.perf_counter(), time.process_time()
    with store.lock(run_id="bench-hunan"):
        for data in batches:
            store.upsert_air(data, source="air", run_id="bench-hunan")
    res["upsert_s"] = round(time.perf_counter() - t0, 2)
    res["upsert_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    periods = periods_touched([a + dt.timedelta(days=i) for i in range((b - a).days + 1)])
    t0, c0 = time.perf_counter(), time.process_time()
    hourly = store.read_air(a, b)
    res["read_air_s"] = round(time.perf_counter() - t0, 2)
    res["read_air_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    t0, c0 = time.perf_counter(), time.process_time()
    tables = report.air_results(hourly, periods)
    res["air_results_s"] = round(time.perf_counter() - t0, 2)
    res["air_results_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    t0, c0 = time.perf_counter(), time.process_time()
    with Profiled(profile, "hunan_basin_rates_standalone"):
        h2 = store.read_air(a, b)   # geo.areas on its own (envq areas): one read, one pass, all the periods
        standalone = air_rates_by_area(h2, "basins", periods, skip_empty=True)
    res["basin_rates_standalone_s"] = round(time.perf_counter() - t0, 2)
    res["basin_rates_standalone_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    # what the flow does (issue 16): the basins from the station daily values the city results
    # are made of (the compute task), membership joined once per pack version; timed: the
    # membership look-up and the basins' days and rates (the station daily pass is the city
    # results')
    sdaily, _, clean = station_daily_from_hourly(hourly)
    station_labels(hourly, "basins")   # the first join of this process (a nightly service's first run)
    t0, c0 = time.perf_counter(), time.process_time()
    with Profiled(profile, "hunan_basin_rates"):
        tables["air_basin_rates"] = report.area_period_rates(sdaily, station_labels(hourly, "basins"), periods,
                                                             scope="area", clean=clean)
    res["basin_rates_s"] = round(time.perf_counter() - t0, 2)
    res["basin_rates_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    import pandas as pd
    pd.testing.assert_frame_equal(standalone, tables["air_basin_rates"], check_exact=True)
    res["periods"] = len(periods)
    res["results"] = check_results("hunan_library", tables, save)
    log(f"  hunan library: {res}")
    return res


# --------------------------------------------------------------------------------------------
# 4: national year (child process)


def national_child(n_stations: int, store_dir: Path, save: Path | None = None, profile: Path | None = None) -> dict:
    """Run in a process of its own (``--national-child``): peak memory is this process's."""
    sys.path.insert(0, str(ROOT / "bench"))
    import warnings

    import air_national_year as nat
    import numpy as np

    from envq import report
    from envq.periods import periods_touched
    from envq.store import Store
    from envq.store.air import natural_day

    # air_results labels the mean of the city ratios 湖南省 and warns that it is not 14 cities
    warnings.filterwarnings("ignore", message=r"the 湖南省 figure averages")
    res: dict = {"stations": n_stations, "hours": None}
    t0 = time.perf_counter()
    n_cities = max(1, min(370, n_stations * 370 // 2000))   # 370 cities for 2,000 stations, as the generator
    res["cities_input"] = n_cities
    ds = nat.synth_hourly(n_stations=n_stations, n_cities=n_cities)
    res["hours"] = int(ds.sizes["time"])
    # the store wants the six pollutants as float64 and keeps the coords name, city, province,
    # lon, lat, is_background: the generator gives all but province (31 provinces, by city)
    city = ds["city"].values.astype(str)
    city_no = np.array([int(c[-3:]) for c in city])
    ds = ds.assign_coords(province=("station", np.array([f"省{(k % 31) + 1:02d}" for k in city_no])))
    for v in nat.POLLUTANTS:
        assert ds[v].dtype == np.float64, (v, ds[v].dtype)
    res["generate_s_not_counted"] = round(time.perf_counter() - t0, 1)
    res["input_mb"] = round(sum(ds[v].nbytes for v in nat.POLLUTANTS) / MiB, 1)
    res["peak_mb_after_generation"] = round(nat.peak_rss_mb(), 1)
    res["hwm_reset"] = nat.reset_hwm()
    log(f"  national: generated {n_stations} x {res['hours']} in {res['generate_s_not_counted']} s, "
        f"peak so far {res['peak_mb_after_generation']} MiB; hwm reset {res['hwm_reset']}")

    def stage_hwm():
        h = nat.vm_hwm_mb()
        if res["hwm_reset"]:
            nat.reset_hwm()
        return None if h is None else round(h, 1)

    store = Store(store_dir)
    months = natural_day(ds["time"].values).astype("datetime64[M]")
    parts = [(str(m), np.flatnonzero(months == m)) for m in np.unique(months)]
    for label in ("upsert", "upsert_rerun"):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        per_month = []
        with store.lock(run_id=f"bench-national-{label}"), Profiled(profile, f"national_{label}"):
            for m, idx in parts:
                t1 = time.perf_counter()
                # the month as a view of the year (a flow hands each month over as its own dataset;
                # a fancy-index copy here would time the bench, not the store)
                store.upsert_air(ds.isel(time=slice(idx[0], idx[-1] + 1)), source="bench-national",
                                 run_id=f"bench-{label}")
                per_month.append(round(time.perf_counter() - t1, 2))
        res[f"{label}_s"] = round(time.perf_counter() - t0, 2)
        res[f"{label}_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
        res[f"{label}_month_s"] = per_month
        res[f"{label}_peak_mb"] = stage_hwm()
        log(f"  national: {label} {res[f'{label}_s']} s ({per_month}), peak {res[f'{label}_peak_mb']} MiB")
    versions = sorted(p.name for p in (store_dir / "air" / "hourly").glob("*.zarr"))
    res["cube_versions_after_rerun"] = len(versions)

    # the compute task: the year from the store, then the period results; keep ds alive, as the
    # flow keeps the pulled batches (its futures) until the run ends
    a, b = dt.date(2019, 1, 1), dt.date(2019, 12, 31)
    periods = periods_touched([a + dt.timedelta(days=i) for i in range((b - a).days + 1)])
    res["periods"] = len(periods)
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    with Profiled(profile, "national_read_air"):
        hourly = store.read_air(a, b)
    res["read_air_s"] = round(time.perf_counter() - t0, 2)
    res["read_air_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    t0, c0 = time.perf_counter(), time.process_time()
    with Profiled(profile, "national_air_results"):
        out = report.air_results(hourly, periods, province=None)
    res["air_results_s"] = round(time.perf_counter() - t0, 2)
    res["air_results_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    res["compute_s"] = round(res["read_air_s"] + res["air_results_s"], 2)
    res["compute_peak_mb"] = stage_hwm()
    log(f"  national: read_air {res['read_air_s']} s, air_results {res['air_results_s']} s, "
        f"peak {res['compute_peak_mb']} MiB")
    # step 5 of the flow: one result file per name and period
    t0, c0 = time.perf_counter(), time.process_time()
    n_files = 0
    with store.lock(run_id="bench-national-results"):
        for name, df in out.items():
            if not len(df):
                continue
            if "period" in df.columns:
                for period, sub in df.groupby("period", sort=True):
                    store.write_result(name, str(period), sub.reset_index(drop=True))
                    n_files += 1
            else:
                store.write_result(name, "2019", df)
                n_files += 1
    res["write_results_s"] = round(time.perf_counter() - t0, 2)
    res["write_results_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    res["result_files"] = n_files
    rates = out["air_rates"]
    res["rows"] = {k: len(v) for k, v in out.items()}
    res["cities"] = int((rates["scope"] == "city").sum() // max(len(periods), 1))
    res["library_s"] = round(res["upsert_s"] + res["compute_s"] + res["write_results_s"], 2)
    # the process peak: ru_maxrss follows the high-water mark, which the stages reset, so take
    # the largest of the generation's peak and the stages' peaks
    res["peak_mb"] = round(max(res["peak_mb_after_generation"], nat.peak_rss_mb(),
                               *(res[k] or 0 for k in ("upsert_peak_mb", "upsert_rerun_peak_mb", "compute_peak_mb"))), 1)
    res["peak_mb_library"] = max(res[k] or 0 for k in ("upsert_peak_mb", "upsert_rerun_peak_mb", "compute_peak_mb"))
    del hourly
    group = "national" if n_stations == 2000 else f"national_{n_stations}"
    res["results"] = check_results(group, out, save)
    del out
    # the compute step reading a month at a time (dask-backed, one chunk per month cube, as the
    # compute task reads with --dask): the year is never in memory at once
    gc.collect()
    stage_hwm()
    t0, c0 = time.perf_counter(), time.process_time()
    with Profiled(profile, "national_compute_by_month"):
        out = report.air_results(store.read_air(a, b, chunks={"time": 24 * 31}), periods, province=None)
    res["compute_by_month_s"] = round(time.perf_counter() - t0, 2)
    res["compute_by_month_cpu_s"] = round(time.process_time() - c0, 2)   # process CPU time (all threads)
    res["compute_by_month_peak_mb"] = stage_hwm()
    res["results_by_month"] = check_results(group, out, None)
    log(f"  national: compute a month at a time {res['compute_by_month_s']} s, peak {res['compute_by_month_peak_mb']} MiB")
    del out, ds
    years = 1.0
    res["store"] = store_sizes(store_dir, n_stations, years)
    return res


def bench_national(tmp: Path, n_stations: int, save: Path | None = None, profile: Path | None = None) -> dict:
    store = tmp / "store_national"
    cmd = [PYTHON, str(Path(__file__).resolve()), "--national-child", "--stations", str(n_stations),
           "--tmp", str(store)]
    cmd += ["--save-results", str(save)] if save is not None else []
    cmd += ["--profile", str(profile)] if profile is not None else []
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"national child exited {p.returncode}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["child_wall_s"] = round(time.perf_counter() - t0, 1)
    return res


# --------------------------------------------------------------------------------------------


def machine_info() -> dict:
    from importlib.metadata import version

    import numpy as np
    import pandas as pd
    import xarray as xr
    import zarr

    kb = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal")), 0)
    return {"nproc": os.cpu_count(), "mem_total_gb": round(kb / 1024**2, 1), "python": platform.python_version(),
            "platform": platform.platform(), "prefect": version("prefect"), "numpy": np.__version__,
            "pandas": pd.__version__, "xarray": xr.__version__, "zarr": zarr.__version__,
            "date": dt.date.today().isoformat()}


#: The issue's table (issue 16): figure -> (where in the JSON, goal, unit). Each is met when <= goal.
GOALS = {
    "upsert_12_months_empty_store_s": (("national", "upsert_s"), 4.0, "s"),
    "upsert_again_unchanged_s": (("national", "upsert_rerun_s"), 1.0, "s"),
    "read_air_year_s": (("national", "read_air_s"), 1.5, "s"),
    "air_results_17_periods_s": (("national", "air_results_s"), 4.0, "s"),
    "compute_peak_gib": (("national", "compute_by_month_peak_mb"), 2.0, "GiB"),
    "compute_peak_gib_year_in_memory": (("national", "compute_peak_mb"), 2.0, "GiB"),
    "hunan_basin_rates_17_periods_s": (("hunan_year_library", "basin_rates_s"), 0.5, "s"),
    "hunan_nightly_in_flow_s": (("nightly", "first", "in_flow_s"), 2.0, "s"),
}


def figures(res: dict) -> dict:
    """The issue's table from the run's results: each figure, its goal and whether it is met, and
    ``results_equal`` (every group run equal to the reference; None when no group had one)."""
    out, met = {}, {}
    for key, (path, goal, unit) in GOALS.items():
        v = res
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if v is not None and unit == "GiB":
            v = round(v / 1024, 2)
        out[key] = v
        met[key] = None if v is None else bool(v <= goal)
    cpu = {}   # the process CPU time of the timed figures (a shared machine's wall times vary with its load)
    for key, (path, _, unit) in GOALS.items():
        v = res
        for k in (*path[:-1], path[-1][:-2] + "_cpu_s") if unit == "s" else ():
            v = v.get(k) if isinstance(v, dict) else None
        if unit == "s" and v is not None and v is not res:
            cpu[key.removesuffix("_s") + "_cpu_s"] = v
    out["cpu"] = cpu
    out["goals"] = {k: g for k, (_, g, _) in GOALS.items()}
    out["met"] = met
    checks = []
    for group in ("nightly", "backfill"):
        for label in ("first", "rerun"):
            r = res.get(group, {}).get(label, {}).get("results")
            if r is not None:
                checks.append((f"{group}.{label}", r))
    for group, key in (("hunan_year_library", "results"), ("national", "results"), ("national", "results_by_month")):
        r = res.get(group, {}).get(key)
        if r is not None:
            checks.append((group if key == "results" else f"{group}.{key}", r))
    flags = {name: r["equal"] for name, r in checks}
    out["results_equal_by_group"] = flags
    known = [f for f in flags.values() if f is not None]
    out["results_equal"] = (all(known) if known else None)
    return out


def make_reference(commit: str, only: str, n_stations: int) -> int:
    """Compute the reference results with the code of *commit* (a temporary git worktree; its
    own bench), into ``bench/out/reference/`` and ``bench/reference_results.json``."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True,
                         check=True).stdout.strip()
    wt = Path(tempfile.mkdtemp(prefix="envq-bench-ref-")) / "src"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), sha], check=True)
    tables_dir = wt.parent / "reference"
    try:
        env = dict(os.environ, PYTHONPATH=str(wt))   # the worktree's envq, flows, geo, maps come first
        cmd = [PYTHON, str(wt / "bench" / "pipeline.py"), "--only", only, "--stations", str(n_stations),
               "--save-results", str(tables_dir)]
        log(f"reference: {' '.join(cmd)} (PYTHONPATH={wt})")
        p = subprocess.run(cmd, cwd=wt, env=env, stdout=subprocess.PIPE, text=True, check=True)
        res = json.loads(p.stdout.strip().splitlines()[-1])
        shutil.rmtree(_results.REFERENCE_DIR, ignore_errors=True)
        _results.REFERENCE_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tables_dir), str(_results.REFERENCE_DIR))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], check=False)
        shutil.rmtree(wt.parent, ignore_errors=True)
    tables = {}
    for group in ("nightly", "backfill"):
        if group in res:
            tables[group] = res[group]["first"]["results"]["digests"]
    for group in ("hunan_year_library", "national"):
        if group in res:
            tables["hunan_library" if group == "hunan_year_library" else "national"] = res[group]["results"]["digests"]
    manifest = {"commit": sha, "made": dt.datetime.now().isoformat(timespec="seconds"),
                "command": f"bench/pipeline.py --make-reference {commit} --only {only}",
                "machine": res["machine"], "tables": tables}
    _results.MANIFEST.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                 encoding="utf-8")
    log(f"reference of {sha[:10]}: {sum(len(t) for t in tables.values())} tables -> {_results.MANIFEST}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="prefect,nightly,backfill,library,national",
                    help="comma list of prefect,nightly,backfill,library,national (default all)")
    ap.add_argument("--stations", type=int, default=2000, help="stations of the national year (default 2000)")
    ap.add_argument("--tmp", default=None, help="work folder (default a new temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (stores, logs)")
    ap.add_argument("--save-results", default=None, metavar="DIR",
                    help="also write every result table as DIR/<group>/<table>.parquet")
    ap.add_argument("--profile", default=None, metavar="DIR",
                    help="cProfile the national stages and the Hunan basin rates into DIR (slower: not for figures)")
    ap.add_argument("--make-reference", default=None, metavar="COMMIT",
                    help="compute the reference results with the code of COMMIT (bench/reference_results.json)")
    ap.add_argument("--national-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    save = Path(args.save_results).resolve() if args.save_results else None
    profile = Path(args.profile).resolve() if args.profile else None

    if args.make_reference:
        return make_reference(args.make_reference, args.only, args.stations)
    if args.national_child:
        print(json.dumps(national_child(args.stations, Path(args.tmp), save, profile)), flush=True)
        return 0

    only = {x.strip() for x in args.only.split(",") if x.strip()}
    tmp = Path(args.tmp) if args.tmp else Path(tempfile.mkdtemp(prefix="envq-bench-pipeline-"))
    tmp.mkdir(parents=True, exist_ok=True)
    home = tmp / ".prefect"
    log(f"work folder {tmp}")
    res: dict = {"machine": machine_info()}
    load0 = [round(x, 2) for x in os.getloadavg()]   # other jobs on the machine skew the timings
    try:
        if "prefect" in only:
            res["prefect_noop"] = bench_prefect_noop(tmp, home)
        if "nightly" in only:
            res["nightly"] = bench_nightly(tmp, home, save)
        if "backfill" in only:
            res["backfill"] = bench_backfill(tmp, home, save)
        if "library" in only:
            res["hunan_year_library"] = bench_hunan_library(tmp, save, profile)
        if "national" in only:
            res["national"] = bench_national(tmp, args.stations, save, profile)
    finally:
        if not args.keep and not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    res["machine"]["loadavg_start"] = load0
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["machine"]["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                              capture_output=True, text=True).stdout.strip()
    res = {"figures": figures(res), **res}
    log("figures: " + json.dumps(res["figures"], ensure_ascii=False))
    print(json.dumps(res, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
