"""``make demo``: the backfill flow over the bundled real data, into a fresh store.

Air: the 2019 Hunan station-hourly year; water: the July-August 2026 automatic-station
readings. Both go through the real pipeline (source adapters -> store -> engines -> results,
Prefect's local API); the second run writes the bulletins of August 2019 (air) and August 2026
(water) into ``demo-output/reports/<period>/`` (xlsx, HTML, PDF, Markdown) and renders the maps
(air 2019, water August 2026) into ``demo-output/maps``, whose index links the bulletins among the
past periods. The headline figures are printed, the result tables exported as CSV beside the
store, then the bulletins' paths, and the last line is the path of the maps' index page. Running
it twice gives identical result files (the store is rebuilt).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from envq.tables import write_csv

AIR_RANGE = ("2019-01-01", "2019-12-31")
WATER_RANGE = ("2026-07-09", "2026-08-23")
MAP_PERIODS = ("2019", "2026-08")  # air, water
#: The bulletins written into ``demo-output/reports/<period>/`` (2019-08: air; 2026-08: water).
BULLETIN_PERIODS = ("2019-08", "2026-08")


def results_digest(store_root: Path) -> str:
    """sha256 over every result file (name and bytes), to show two runs are identical."""
    h = hashlib.sha256()
    for p in sorted((store_root / "results").rglob("*.parquet")):
        h.update(str(p.relative_to(store_root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main(argv=None) -> int:
    from flows.cli import prefect_environment

    ap = argparse.ArgumentParser(prog="python -m flows.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--output", default="demo-output", help="folder for the store and the CSV tables")
    args = ap.parse_args(argv)
    out = Path(args.output)
    store_root = out / "store"
    for folder in (store_root, out / "maps", out / "reports"):  # a fresh store, maps and bulletins each time
        if folder.exists():
            shutil.rmtree(folder)
    out.mkdir(parents=True, exist_ok=True)
    prefect_environment()
    from flows.local_api import local_api

    with local_api():  # a temporary Prefect API that dies with the demo, even on kill -9
        return _run(out, store_root)


def _run(out: Path, store_root: Path) -> int:
    from envq.store import Store
    from flows.pipeline import backfill

    code = 0
    maps_dir, reports_dir = out / "maps", out / "reports"
    for parts, (start, end) in ((["air"], AIR_RANGE), (["water"], WATER_RANGE)):
        last = parts == ["water"]  # the maps and bulletins once, when both parts are stored
        state = backfill(start=start, end=end, parts=parts, store_root=str(store_root), maps=last,
                         maps_output=str(maps_dir), map_period=MAP_PERIODS[0], map_water_period=MAP_PERIODS[1],
                         bulletin_periods=list(BULLETIN_PERIODS) if last else None,
                         reports_output=str(reports_dir), return_state=True)
        summary = state.result(raise_on_failure=False)
        if not state.is_completed() or not hasattr(summary, "headline"):
            print(f"envq demo: backfill {parts[0]} {start}..{end} ended {state.type.value}: {state.message}",
                  file=sys.stderr)
            code = 1
            continue
        print(summary.headline)
        print(summary.alerts)  # the day's warnings, the audit of what was pulled, the deliveries
    store = Store(store_root, create=False)
    for folder in sorted((store_root / "results").iterdir()):
        write_csv(store.read_result(folder.name), out / f"{folder.name}.csv")
    print(store.read_report("health"))
    print(f"Store: {store_root.resolve()}  (results sha256 {results_digest(store_root)[:16]})")
    print(f"Tables: {out.resolve()}/*.csv")
    for period in BULLETIN_PERIODS:
        folder = reports_dir / period
        files = sorted(p.name for p in folder.glob("bulletin.*")) if folder.is_dir() else []
        if not files:
            print(f"envq demo: the bulletin of {period} was not written", file=sys.stderr)
            code = 1
            continue
        print(f"Bulletin {period}: {folder.resolve()}/ ({', '.join(files)})")
    index = maps_dir / "index.html"
    if not index.is_file():
        print("envq demo: the maps were not rendered", file=sys.stderr)
        return 1
    print(f"Maps: {index.resolve()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
