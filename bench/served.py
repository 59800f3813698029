#!/usr/bin/env python
"""Benchmark: the served path (issue 16): the Hunan nightly run by ``envq serve``.

    .venv/bin/python bench/served.py            # the last stdout line is one JSON object

Prefect's own start-up (10-14 s a run of ``envq run`` without a server) is what serving avoids
paying in the command; this measures what a scheduled run costs once ``envq serve`` is up:

1. a real local Prefect API: ``prefect server start`` on a free port of 127.0.0.1, with a fresh
   ``PREFECT_HOME`` (no UI, no telemetry);
2. ``envq serve --store <tmp>/store`` against it (``PREFECT_API_URL``), which registers
   ``envq-nightly/nightly`` and ``envq-backfill/backfill`` and polls for runs;
3. runs of ``envq-nightly/nightly`` scheduled through the API (``run_deployment`` with a
   ``scheduled_time`` a few seconds ahead) for the day of ``bench/pipeline.py``'s nightly,
   2019-07-15 (the bundled air file; the water file covers 2026 only), on the same store:
   ``first`` (empty store) and ``rerun`` (the same day again).

For each run, from the flow run the API records: ``pickup_s`` (scheduled time -> the run's
start, the runner's polling and the flow process's start-up), ``run_s`` (the run's
``start_time`` -> ``end_time``: the served run from its start to its completion, as the issue
asks), ``total_run_time_s`` (Prefect's own sum of time spent Running), ``scheduled_to_end_s``,
and each task run's duration. Wall times on a shared machine; the process CPU time of the
serving process tree is read from /proc before and after each run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NIGHTLY = "envq-nightly/nightly"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_cpu_s(pid: int) -> float:
    """utime + stime (and those of waited-for children) of *pid* and its live descendants, s."""
    tck = os.sysconf("SC_CLK_TCK")
    kids: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d)] = f
            kids.setdefault(int(f[1]), []).append(int(d))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        f = stats.get(p)
        if f:
            total += sum(int(x) for x in f[11:15]) / tck   # utime stime cutime cstime
        todo.extend(kids.get(p, []))
    return total


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


async def _wait_deployment(timeout_s: float) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while time.monotonic() < deadline:
            try:
                await client.read_deployment_by_name(NIGHTLY)
                return
            except Exception:  # not registered yet
                await asyncio.sleep(1.0)
    raise TimeoutError(f"{NIGHTLY} was not registered within {timeout_s:.0f} s")


async def _run_once(store: Path, ahead_s: float) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    scheduled = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=ahead_s)
    fr = await run_deployment(NIGHTLY, parameters={"date": "2019-07-15", "store_root": str(store)},
                              scheduled_time=scheduled, timeout=None, poll_interval=1)
    async with get_client() as client:
        fr = await client.read_flow_run(fr.id)
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[fr.id])))
    res = {"state": fr.state_name, "scheduled": fr.expected_start_time.isoformat(),
           "pickup_s": round((fr.start_time - fr.expected_start_time).total_seconds(), 2),
           "run_s": round((fr.end_time - fr.start_time).total_seconds(), 2),
           "total_run_time_s": round(fr.total_run_time.total_seconds(), 2),
           "scheduled_to_end_s": round((fr.end_time - fr.expected_start_time).total_seconds(), 2),
           "tasks": sorted(({"name": t.name, "s": round(t.total_run_time.total_seconds(), 2)} for t in tasks
                            if t.total_run_time is not None), key=lambda x: -x["s"])}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="runs on the same store (default 2: first, rerun)")
    ap.add_argument("--ahead", type=float, default=5.0, help="seconds ahead each run is scheduled (default 5)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="envq-bench-served-"))
    env = dict(os.environ, PREFECT_HOME=str(tmp / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_ENABLED="false", DO_NOT_TRACK="1", ENVQ_HOME=str(tmp / "envq-data"))
    for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "ENVQ_CONFIG"):
        env.pop(var, None)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    res: dict = {"load_before": os.getloadavg(), "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    server = serve = None
    try:
        t0 = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=tmp, stdout=open(tmp / "server.log", "wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        sys.path.insert(0, str(ROOT))
        from flows.serve import wait_for_server

        wait_for_server(url, 180, proc=server)
        res["server_start_s"] = round(time.perf_counter() - t0, 1)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("PREFECT_", "DO_NOT", "ENVQ_"))})
        os.environ["PREFECT_API_URL"] = env["PREFECT_API_URL"] = url
        store = tmp / "store"
        t0 = time.perf_counter()
        serve = subprocess.Popen([str(VENV_BIN / "envq"), "serve", "--store", str(store)], env=env, cwd=tmp,
                                 stdout=open(tmp / "serve.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        asyncio.run(_wait_deployment(180))
        res["serve_registered_s"] = round(time.perf_counter() - t0, 1)
        log(f"served: server up in {res['server_start_s']} s, deployments registered in {res['serve_registered_s']} s")
        for i in range(args.runs):
            label = "first" if i == 0 else f"rerun{i}" if args.runs > 2 else "rerun"
            cpu0, t0 = _tree_cpu_s(serve.pid), time.perf_counter()
            r = asyncio.run(_run_once(store, args.ahead))
            r["wall_s"] = round(time.perf_counter() - t0, 2)
            r["serve_tree_cpu_s"] = round(_tree_cpu_s(serve.pid) - cpu0, 2)
            r["load"] = os.getloadavg()
            res[label] = r
            log(f"served {label}: {r}")
    finally:
        for p in (serve, server):
            if p is not None:
                _stop(p)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp}")
    res["load_after"] = os.getloadavg()
    print(json.dumps(res, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
