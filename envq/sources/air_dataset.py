"""The canonical hourly air dataset: its variables and how a reader assembles it.

Every air reader (:mod:`envq.sources.cnemc_archive`, :mod:`envq.sources.cnemc_live`) and the
source adapters build their result with :func:`build_air_dataset`, so the layout is defined once
(documented in :func:`envq.sources.cnemc_archive.read_cnemc_archive`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from envq.canonical import AIR_POLLUTANTS
from envq.sources.station_list import attach_station_coords

__all__ = [
    "POLLUTANTS",
    "AIR_VARIABLES",
    "select_variables",
    "build_air_dataset",
    "empty_air_dataset",
    "format_number",
]

#: The six pollutants of the canonical dataset, in order (also the ``pollutant`` coordinate).
POLLUTANTS = AIR_POLLUTANTS

#: Every variable a canonical hourly air dataset may hold -> (units, long_name).
AIR_VARIABLES = {
    "pm25": ("ug/m3", "PM2.5, 1-hour mean"),
    "pm10": ("ug/m3", "PM10, 1-hour mean"),
    "so2": ("ug/m3", "SO2, 1-hour mean"),
    "no2": ("ug/m3", "NO2, 1-hour mean"),
    "co": ("mg/m3", "CO, 1-hour mean"),
    "o3": ("ug/m3", "O3, 1-hour mean"),
    "aqi_cnemc": ("1", "hourly AQI as published by CNEMC"),
    "primary_pollutant_cnemc": ("", "primary pollutant as published by CNEMC"),
    "pm25_24h_moving": ("ug/m3", "PM2.5, 24-hour moving mean as published"),
    "pm10_24h_moving": ("ug/m3", "PM10, 24-hour moving mean as published"),
    "so2_24h_moving": ("ug/m3", "SO2, 24-hour moving mean as published"),
    "no2_24h_moving": ("ug/m3", "NO2, 24-hour moving mean as published"),
    "co_24h_moving": ("mg/m3", "CO, 24-hour moving mean as published"),
    "o3_8h_moving": ("ug/m3", "O3, 8-hour moving mean as published"),
}


def select_variables(variables, available) -> list[str]:
    """Canonical variables to keep (``None``: all ``available``), in the order of :data:`AIR_VARIABLES`.

    >>> select_variables(["o3", "pm25"], ["pm25", "pm10", "o3"])
    ['pm25', 'o3']
    """
    available = list(available)
    if variables is None:
        wanted = set(available)
    else:
        wanted = {variables} if isinstance(variables, str) else set(variables)
        unknown = wanted - set(available)
        if unknown:
            raise ValueError(f"unknown variable(s) {sorted(unknown)}; this reader gives {available}")
    return [v for v in AIR_VARIABLES if v in wanted]


def build_air_dataset(data, codes, times, *, stations=None, fallback=None, in_plan=None, attrs=None,
                      stacklevel: int = 4) -> xr.Dataset:
    """Assemble the canonical dataset from ``{var: array (station, time)}``.

    ``stations``/``fallback`` give the station metadata (see
    :func:`envq.sources.station_list.attach_station_coords`); ``in_plan`` (station, pollutant)
    defaults to all True; ``attrs`` are added to ``duplicates_dropped = []``.
    """
    codes = np.asarray(codes, dtype=str)
    times = np.asarray(times, dtype="datetime64[ns]")
    data_vars = {}
    for var, arr in data.items():
        units, long_name = AIR_VARIABLES[var]
        var_attrs = {"long_name": long_name} | ({"units": units} if units else {})
        data_vars[var] = (("station", "time"), arr, var_attrs)
    if in_plan is None:
        in_plan = np.ones((codes.size, len(POLLUTANTS)), dtype=bool)
    ds = xr.Dataset(
        data_vars,
        coords={
            "station": ("station", codes, {"long_name": "CNEMC station code"}),
            "time": (
                "time",
                times,
                {"long_name": "end of the hour, Beijing time (UTC+8), as labelled by CNEMC"},
            ),
            "pollutant": ("pollutant", np.asarray(POLLUTANTS, dtype=str)),
        },
    )
    ds = ds.assign_coords(in_plan=(("station", "pollutant"), np.asarray(in_plan, dtype=bool)))
    ds["in_plan"].attrs["long_name"] = "pollutant is in the station's monitoring plan"
    ds = attach_station_coords(ds, stations, fallback, stacklevel=stacklevel)
    ds.attrs.update({"duplicates_dropped": []} | (attrs or {}))
    return ds


def empty_air_dataset(variables=None, attrs=None) -> xr.Dataset:
    """A canonical dataset without stations or hours (all variables, or ``variables``)."""
    keep = select_variables(variables, [v for v in AIR_VARIABLES if v != "primary_pollutant_cnemc"])
    return build_air_dataset({v: np.empty((0, 0)) for v in keep}, np.array([], dtype=str),
                             np.array([], dtype="datetime64[ns]"), attrs=attrs)


def format_number(x) -> str:
    """A parsed number as it would have been written (``""`` for NaN).

    >>> format_number(42.0), format_number(float("nan")), format_number(0.5)
    ('42', '', '0.5')
    """
    return "" if np.isnan(x) else f"{x:g}"
