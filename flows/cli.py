"""``envq run``, ``envq backfill``, ``envq serve``: the pipeline's commands.

Registered in ``envq`` through the ``envq.commands`` entry point; Prefect is imported only when
one of these commands runs (other envq commands stay fast).

Exit codes (for schedulers): 0 every part succeeded; 1 the run failed; 2 bad usage or
configuration; 3 some parts failed, the others were published; 4 the store is locked by another
run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

__all__ = ["register", "prefect_environment", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_PARTIAL", "EXIT_LOCKED"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 2, 3, 4


def prefect_environment(home: str | os.PathLike | None = None) -> None:
    """Project-local Prefect settings, before Prefect is imported: no telemetry, and
    ``PREFECT_HOME`` under ``.prefect`` of the current folder unless already set."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(Path(home or ".prefect").resolve()))


def _parts(text: str) -> list[str]:
    from flows.pipeline import PARTS

    parts = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"--parts: {','.join(bad) or text!r}; use {','.join(PARTS)}")
    return parts


def _minutes(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"--wait: {text!r} is not a number of minutes >= 0")
    return v


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _finish(state) -> int:
    """Print the run's summary and map its final state to an exit code."""
    from envq.store import StoreLockedError

    data = None
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # the flow crashed before returning a summary
        data = exc
    if isinstance(data, StoreLockedError):
        print(f"envq: {data}", file=sys.stderr)
        return EXIT_LOCKED
    if isinstance(data, BaseException):
        print(f"envq: run failed: {type(data).__name__}: {data}", file=sys.stderr)
        return EXIT_FAILED
    if data is None or not hasattr(data, "headline"):
        print(f"envq: run ended {state.type.value}: {state.message}", file=sys.stderr)
        return EXIT_FAILED
    print(data.headline)
    if getattr(data, "alerts", ""):
        print(data.alerts)
    print(data.health)
    if getattr(data, "maps_index", ""):
        print(f"Maps: {data.maps_index}")
    if data.ok:
        return EXIT_OK
    print(f"envq: {state.message}", file=sys.stderr)
    return EXIT_PARTIAL if data.parts_ok else EXIT_FAILED


def _bad_config(args) -> int | None:
    """Read and check the configuration the run will use (``envq.toml``: the sources of the parts,
    the maps' tiles) before anything starts. A bad one is a usage error: printed, EXIT_USAGE;
    else None."""
    from envq.config import load_config
    from envq.errors import InputError
    from envq.sources.adapters import source_config

    try:
        conf = load_config()
        for part in args.parts:
            source_config(part, conf)
        if args.maps:
            from maps.render import tiles_from_config

            tiles_from_config(config=conf)
            from envq.config import config_path
            from maps.bulletin import reports_from_config

            reports_from_config(conf, str(config_path() or "envq.toml"))  # [reports] output, formats
        from flows.alerts import check_alerts_config

        check_alerts_config(conf)  # [warnings], [[alerts]], [store] wait_minutes
    except (InputError, ValueError) as exc:
        print(f"envq: bad configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


def _run(args) -> int:
    if (code := _bad_config(args)) is not None:
        return code
    prefect_environment()
    from flows.local_api import local_api
    from flows.pipeline import nightly

    with local_api():  # a configured API, or a temporary one that dies with this process
        state = nightly(date=args.date, parts=args.parts, store_root=args.store, maps=args.maps,
                        maps_output=args.maps_output, wait_minutes=args.wait, return_state=True)
        return _finish(state)


def dask_runner(spec: str):
    """A prefect-dask task runner: ``local`` (a LocalCluster on this machine) or a scheduler address."""
    from prefect_dask import DaskTaskRunner

    if spec == "local":
        return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                              cluster_kwargs={"n_workers": max(1, min(4, os.cpu_count() or 1)),
                                              "threads_per_worker": 1, "dashboard_address": None})
    return DaskTaskRunner(address=spec)


def _backfill(args) -> int:
    if (code := _bad_config(args)) is not None:
        return code
    prefect_environment()
    from flows.pipeline import backfill

    from flows.local_api import local_api

    fl = backfill.with_options(task_runner=dask_runner(args.dask)) if args.dask else backfill
    with local_api():  # a configured API, or a temporary one that dies with this process
        state = fl(start=args.start, end=args.end, parts=args.parts, store_root=args.store,
                   dask_chunks=bool(args.dask), maps=args.maps, maps_output=args.maps_output,
                   wait_minutes=args.wait, return_state=True)
        return _finish(state)


def _serve(args) -> int:
    prefect_environment()
    from flows.serve import serve_deployments

    return serve_deployments(cron=args.cron, timezone=args.timezone, start_server=args.start_server,
                             port=args.port, store_root=args.store)


def register(sub) -> None:
    """Add ``run``, ``backfill`` and ``serve`` to the ``envq`` parser."""
    def common(p):
        p.add_argument("--parts", type=_parts, default=["air", "water"], help="air,water (default both)")
        p.add_argument("--store", default=None, help="data directory (default $ENVQ_HOME or ./envq-data)")
        p.add_argument("--maps-output", default=None, help="folder for the maps (default [maps] output or <store>/maps)")
        p.add_argument("--no-maps", dest="maps", action="store_false", help="do not render the maps")
        p.add_argument("--wait", type=_minutes, default=None, metavar="MINUTES",
                       help="how long to wait for a store another run is writing (default [store] wait_minutes, "
                            "or 180); 0 fails at once (exit 4)")

    p = sub.add_parser("run", help="the nightly job once: pull, store, compute, publish (Prefect flow)",
                       description="Pull yesterday's (Beijing time) or --date's data, upsert it into the store, "
                                   "recompute the month, quarter and year, publish results and artifacts. "
                                   "Exit codes: 0 ok, 1 failed, 2 usage, 3 some parts failed, 4 store locked.")
    p.add_argument("--date", type=_date, default=None, help="the day to pull (default: yesterday in Asia/Shanghai)")
    common(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("backfill", help="the nightly job over a range of days (Prefect flow)",
                       description="Pull START..END in batches (in parallel), upsert, recompute every month, "
                                   "quarter and year touched, publish. Exit codes as envq run.")
    p.add_argument("start", type=_date)
    p.add_argument("end", type=_date)
    common(p)
    p.add_argument("--dask", default=None, metavar="local|ADDRESS",
                   help="run the tasks on a dask.distributed cluster: a LocalCluster or a scheduler address")
    p.set_defaults(func=_backfill)

    p = sub.add_parser("serve", help="serve the nightly and backfill deployments on a schedule (Prefect)",
                       description="Register the deployments with a Prefect server and run them on schedule "
                                   "(nightly: cron 0 2 * * * in Asia/Shanghai by default). Needs a server: "
                                   "--start-server starts one, or run `prefect server start` and set "
                                   "PREFECT_API_URL.")
    p.add_argument("--cron", default=None, help="nightly schedule (default [schedule] cron in envq.toml, or 0 2 * * *)")
    p.add_argument("--timezone", default=None, help="schedule time zone (default Asia/Shanghai)")
    p.add_argument("--start-server", action="store_true", help="start a local Prefect server first")
    p.add_argument("--port", type=int, default=4200, help="port of the started server (default 4200)")
    p.add_argument("--store", default=None)
    p.set_defaults(func=_serve)
