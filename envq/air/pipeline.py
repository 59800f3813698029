"""From input files to city days: read, screen, daily values, city values, daily AQI.

The steps are public functions of their own modules; this module only chains them, so that the
command line, the demo and the Prefect flows run the very same computation.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards

__all__ = ["sniff_air_format", "read_air", "city_days_from_hourly"]


def _first_line(path: Path) -> str:
    from envq.errors import InputError

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.readline(4096)
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(path, 1, None, path.name, f"cannot be read: {exc}") from None
    return head.decode("utf-8-sig", errors="replace").strip()


def sniff_air_format(path) -> str:
    """``"archive"``, ``"live_csv"`` or ``"live_json"`` from a file's name and first line."""
    p = Path(path)
    if p.is_dir():
        return "archive"
    name = p.name.lower()
    if name.endswith((".json", ".geojson", ".json.gz", ".geojson.gz")):
        return "live_json"
    head = _first_line(p)
    cols = [c.strip() for c in head.split(",")]
    if cols[:3] == ["date", "hour", "type"]:
        return "archive"
    if "timepoint" in cols and "stationcode" in cols:
        return "live_csv"
    from envq.errors import InputError

    raise InputError(p, 1, None, head[:80], "is not the header of a CNEMC archive (date,hour,type,...) "
                     "or live (timepoint,stationcode,...) file")


def read_air(path, *, stations: pd.DataFrame | None = None, **kwargs) -> xr.Dataset:
    """Read any supported air file or folder into the canonical hourly dataset."""
    kind = sniff_air_format(path)
    if kind == "archive":
        from envq.sources.cnemc_archive import read_cnemc_archive

        return read_cnemc_archive(path, stations=stations, **kwargs)
    from envq.sources.cnemc_live import read_cnemc_live

    return read_cnemc_live(path, stations=stations, **kwargs)


def city_days_from_hourly(hourly: xr.Dataset, *, edition: str = "auto", day_rule: str = "pm25_o3",
                          mda8_method: str = "mean_of_station_mda8", screen: bool = True,
                          screening_rules=None, province: str | None = "湖南省",
                          ) -> tuple[xr.Dataset, xr.Dataset, pd.DataFrame]:
    """Screen, compute station daily values, city daily values and city daily AQI.

    *province* keeps only that province's stations (the station list's 省级行政区; default
    湖南省, whose 14 cities the provincial figure averages); ``None`` keeps every station.

    Returns
    -------
    (city_days, station_daily, screened): the city daily AQI dataset (dims city, date) merged with
    the city daily concentrations; the station daily values; the log of screened hourly values.
    """
    from envq.air.city import city_daily, city_daily_aqi
    from envq.air.daily import station_daily
    from envq.air.screening import DEFAULT_RULES
    from envq.air.screening import screen as run_screen

    if province is not None:
        prov = hourly["province"].values.astype(str) if "province" in hourly.coords else None
        if prov is None or not (prov == province).any():
            raise ValueError(f"no station of {province} in the input ({hourly.attrs.get('source', '')}); "
                             "use province='all' (--province all) for other regions")
        hourly = hourly.isel(station=np.flatnonzero(prov == province))
    if screen:
        hourly, screened = run_screen(hourly, screening_rules or DEFAULT_RULES)
    else:
        screened = pd.DataFrame(columns=["station", "time", "variable", "value", "rule", "reason"])
    times = pd.DatetimeIndex(hourly["time"].values)
    first_day = (times.min() - pd.Timedelta(hours=1)).date() if len(times) else "2019-01-01"
    sdaily = station_daily(hourly, assessment=standards.edition_for("hj663", max(str(first_day), "2013-10-01")))
    cdaily = city_daily(sdaily, hourly=hourly, mda8_method=mda8_method)
    caqi = city_daily_aqi(cdaily, edition=edition, day_rule=day_rule)
    return xr.merge([cdaily, caqi], compat="override", combine_attrs="drop_conflicts"), sdaily, screened


def default_data_dir() -> Path:
    """The bundled real data folder of a source checkout (``data/`` beside ``envq/``)."""
    env = os.environ.get("ENVQ_SAMPLE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"
