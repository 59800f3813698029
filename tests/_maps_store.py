"""A small real store for the map tests: July 2019 air and the 2026 water readings, computed with
the flow's own tasks (their functions, without a Prefect run)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

AIR = (dt.date(2019, 7, 1), dt.date(2019, 7, 31))
WATER = (dt.date(2026, 7, 9), dt.date(2026, 8, 23))
AIR_PERIOD, WATER_PERIOD = "2019-07", "2026-08"


def build_store(root: Path):
    """Pull the bundled files, store, compute and write results as the flow does; the Store."""
    from envq.periods import periods_touched
    from envq.sources.adapters import open_source
    from envq.store import Store
    from flows.parts import PARTS
    from flows.pipeline import basin_rates, compute

    store = Store(root)
    with store.lock(run_id="map-tests"):
        for part, (a, b) in (("air", AIR), ("water", WATER)):
            src = open_source(part, {})
            data = src.parse(src.fetch(a, b), a, b)
            (store.upsert_air if part == "air" else store.upsert_water)(data, source=part)
            periods = [p.label for p in periods_touched([a, b])]
            y0 = PARTS[part].read_start(a.year, periods_touched([a, b]))
            res = compute.fn(part, str(store.root), y0, b, periods)
            res[f"{part}_basin_rates"] = basin_rates.fn(part, str(store.root), y0, b, periods)
            store.write_results(res, a.year)
    return store
