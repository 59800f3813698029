"""Stores for the bulletin tests, built with the flow's own library calls (no Prefect run).

- :func:`real_store`: the bundled real data, 2019 air (the whole year) and July-August 2026
  water, computed as a backfill computes them.
- :func:`synthetic_hourly`: a canonical hourly dataset of a few stations with a constant value
  per day and pollutant, so that daily AQI, ratios and concentrations are known by hand.
- :func:`store_of`: a store holding given hourly datasets and the results a run computes for
  every period they touch.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

AIR = (dt.date(2019, 1, 1), dt.date(2019, 12, 31))
WATER = (dt.date(2026, 7, 9), dt.date(2026, 8, 23))


def _days(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def compute_into(store, part: str, data, days: list[dt.date]) -> None:
    """Upsert *data* and write the results of every period the days touch, as a run does."""
    from flows.parts import part as part_of
    from envq.periods import periods_touched

    p = part_of(part)
    with store.lock(run_id="bulletin-tests"):
        p.upsert(store, data, run_id="bulletin-tests")
        for year in sorted({d.year for d in days}):
            ds = [d for d in days if d.year == year]
            periods = periods_touched(ds)
            data_y = p.read(store, p.read_start(year, periods), max(ds))
            res = p.results(data_y, periods)
            res[p.basin_name] = p.basin_rates(data_y, periods)
            store.write_results(res, year)


def real_store(root: Path):
    """The bundled real data in a store with its results (2019 air, 2026 water)."""
    from envq.sources.adapters import open_source
    from envq.store import Store

    store = Store(root)
    for part, (a, b) in (("air", AIR), ("water", WATER)):
        src = open_source(part, {})
        compute_into(store, part, src.parse(src.fetch(a, b), a, b), _days(a, b))
    return store


#: Constant daily values of the other pollutants (all far from any limit).
BASE = {"pm10": 50.0, "so2": 10.0, "no2": 20.0, "co": 0.8, "o3": 80.0}


def synthetic_hourly(stations: dict[str, str], days: list[dt.date], pm25) -> xr.Dataset:
    """Hourly data of *stations* (code -> city of 湖南省) over *days*, the hours of a day
    alternating one above and one below the day's value (so that no analyser looks stuck to the
    screening, envq.air.screening.Stuck): PM2.5 from ``pm25(code, day)``, the others
    :data:`BASE` (CO constant, below the stuck check). The 24-hour mean and the MDA8 (8 hours:
    four above, four below) equal the day's value, so each daily AQI is known by hand."""
    codes = list(stations)
    times = pd.DatetimeIndex([pd.Timestamp(d) + pd.Timedelta(hours=h) for d in days for h in range(1, 25)])
    day_of = np.repeat(np.arange(len(days)), 24)
    wiggle = np.tile(np.where(np.arange(24) % 2 == 0, 1.0, -1.0), len(days))
    pm = np.array([[float(pm25(c, d)) for d in days] for c in codes])[:, day_of] + wiggle
    data = {"pm25": (("station", "time"), pm)}
    for v, x in BASE.items():
        data[v] = (("station", "time"), np.full((len(codes), len(times)), x) + (0.0 if v == "co" else wiggle))
    return xr.Dataset(data, coords={
        "station": codes, "time": times,
        "name": ("station", [f"测试站{c}" for c in codes]), "city": ("station", [stations[c] for c in codes]),
        "province": ("station", ["湖南省"] * len(codes)), "lon": ("station", [112.9] * len(codes)),
        "lat": ("station", [28.2] * len(codes)), "is_background": ("station", [False] * len(codes))})


def store_of(root: Path, *hourly_with_days):
    """A store with each ``(hourly, days)`` stored and computed (years in order)."""
    from envq.store import Store

    store = Store(root)
    for hourly, days in hourly_with_days:
        compute_into(store, "air", hourly, days)
    return store
