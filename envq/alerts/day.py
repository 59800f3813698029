"""The warnings of one day, from what the store holds (see :mod:`envq.alerts`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from envq.alerts import rules
from envq.alerts.model import Thresholds, empty_warnings, sort_warnings

__all__ = ["day_warnings", "merge_day"]


def _result(store, name: str, period: str) -> pd.DataFrame | None:
    """A stored result, or None when the store holds none for the period."""
    from envq.store.errors import StoreError

    try:
        return store.read_result(name, period)
    except StoreError:
        return None


def day_warnings(store, day, *, parts=("air", "water"), thresholds: Thresholds | None = None, registry=None,
                 reaches=None, stations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every warning of *day* for the *parts*, most severe first.

    Parameters
    ----------
    store : envq.store.Store
        Holds the day's data and the results the nightly run computed for it.
    day : datetime.date or str
        The day (the nightly run's day; a backfill's last day).
    parts : iterable of {"air", "water"}
        Which rules run: air (targets, budget, runs, air data) and/or water (sections, shares,
        water data).
    thresholds : Thresholds, optional
        Default :class:`Thresholds` (``[warnings]`` of envq.toml).
    registry, reaches : optional
        Section registry and river-chief reaches (default the configured ones).
    stations : pandas.DataFrame, optional
        The air stations expected to report (index code, columns ``name``, ``city``); default
        Hunan's stations in operation (the station list).

    Returns
    -------
    pandas.DataFrame
        :data:`envq.alerts.model.WARNING_COLUMNS`, one row per warning.
    """
    from envq.water.reaches import load_reaches
    from envq.water.registry import load_registry

    day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
    th = thresholds or Thresholds()
    start = day - dt.timedelta(days=th.lookback_days - 1)
    out = []
    if "air" in parts:
        if stations is None:
            from envq.sources.station_list import hunan_stations

            st = hunan_stations()
            stations = st[~st["stopped"].astype(bool)]
        year = str(day.year)
        city_days = _result(store, "air_city_days", year)
        out.append(rules.air_target_warnings(city_days, day=day, thresholds=th))
        out.append(rules.air_run_warnings(city_days, day=day, thresholds=th))
        hourly = store.read_air(start, day)
        out.append(rules.air_data_warnings(hourly, day=day, stations=stations, thresholds=th))
        if th.screened:
            out.append(rules.screened_warnings(_result(store, "air_screened", year), None, day=day, stations=stations))
    if "water" in parts:
        from envq.water.screen import screen
        from envq.water.warning import latest_values

        reg = load_registry() if registry is None else registry
        rch = load_reaches(registry=reg, check_registry=False) if reaches is None else reaches
        month = f"{day:%Y-%m}"
        long = store.read_water(start, day)
        kept, screened = screen(long) if len(long) else (long, None)
        end = pd.Timestamp(day) + pd.Timedelta(days=1)
        t = pd.to_datetime(kept["time"]) if len(kept) else pd.Series(pd.to_datetime([]))
        recent = kept[((t >= end - pd.Timedelta(hours=th.water_window_hours)) & (t < end)).to_numpy()] \
            if len(kept) else kept
        cur = latest_values(recent, window_hours=th.water_window_hours) if len(recent) else None
        month_sections = _result(store, "water_sections", month)
        label = month
        if month_sections is not None and len(month_sections) and "through" in month_sections:
            label = f"{month}（截至 {month_sections['through'].iloc[0]}）"
        out.append(rules.water_section_warnings(cur, day=day, registry=reg, reaches=rch, thresholds=th,
                                                period_values=month_sections, period=label))
        for name in ("water_rates", "water_basin_rates", "water_reach_rates"):
            out.append(rules.water_share_warnings(_result(store, name, month), day=day, reaches=rch))
        out.append(rules.water_data_warnings(long, day=day, sections=reg, thresholds=th))
        if th.screened:
            out.append(rules.screened_warnings(None, screened, day=day, sections=reg))
    out = [w for w in out if w is not None and len(w)]
    return sort_warnings(pd.concat(out, ignore_index=True)) if out else empty_warnings()


def merge_day(old: pd.DataFrame | None, new: pd.DataFrame, parts) -> pd.DataFrame:
    """The stored warnings of a day after a run of *parts*: the run's warnings replace those of
    its parts (data warnings of a part go with it), the other parts' stay."""
    if old is None or not len(old):
        return new
    parts = list(parts)
    replaced = old["part"].isin(parts) | (old["part"].eq("data") & _data_part(old).isin(parts))
    kept = old[~replaced.to_numpy()]
    if not len(kept):
        return new
    return sort_warnings(pd.concat([kept.astype(object), new.astype(object)], ignore_index=True))


def _data_part(df: pd.DataFrame) -> pd.Series:
    """The part (air/water) a data warning belongs to."""
    station = df["scope"].eq("station") | (df["scope"].eq("source") & df["name"].eq("air"))
    return pd.Series(["air" if s else "water" for s in station], index=df.index)
