"""What a run publishes: period results, the headline figures and the run-health report.

Pure functions over the engines' outputs (no I/O, no Prefect): the flows call them and write
what they return. See docs/pipeline.md.

Periods a new day touches (:func:`periods_touched`): its month, quarter and year. A year or a
month still in progress is computed on the data so far (year-to-date); the rows say through
which day (``through``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["published_pct", "meets_target", "periods_touched", "air_results", "station_days", "station_period_rates", "water_results", "air_period_rates", "water_period_rates", "headline_markdown", "health_report",
           "health_markdown", "AIR_TARGET", "WATER_TARGET"]

#: Provincial targets (湖南省 quality plan): good-air-day ratio and Ⅰ~Ⅲ类 share, %.
AIR_TARGET = 83.0
WATER_TARGET = 95.0


def periods_touched(days: Iterable[dt.date]) -> list[str]:
    """Month, quarter and year labels of *days*, each once, in time order.

    >>> periods_touched([dt.date(2019, 3, 31), dt.date(2019, 4, 1)])
    ['2019-03', '2019-04', '2019-Q1', '2019-Q2', '2019']
    """
    d = sorted(set(days))
    months = sorted({f"{x.year}-{x.month:02d}" for x in d})
    quarters = sorted({f"{x.year}-Q{(x.month - 1) // 3 + 1}" for x in d})
    years = sorted({str(x.year) for x in d})
    return months + quarters + years


def air_results(hourly, periods: Iterable[str], *, targets=None, **kwargs) -> dict[str, pd.DataFrame]:
    """Everything a run publishes for air from the hourly data of one year (to date).

    Returns ``{"air_rates": ..., "air_city_days": ..., "air_station_rates": ...,
    "air_station_days": ..., "air_screened": ...}``: the good-air-day rates of
    :func:`air_period_rates`, the city-day table, the same two for each station (for the maps)
    and the screened values.
    *kwargs* go to :func:`envq.air.pipeline.city_days_from_hourly` (edition, day_rule, ...).
    """
    from envq.air.cli import city_days_table
    from envq.air.pipeline import city_days_from_hourly

    city_days, sdaily, screened = city_days_from_hourly(hourly, **kwargs)
    sdays = station_days(sdaily, edition=kwargs.get("edition", "auto"), day_rule=kwargs.get("day_rule", "pm25_o3"))
    return {"air_rates": air_period_rates(city_days, periods, targets=targets),
            "air_city_days": city_days_table(city_days),
            "air_station_rates": station_period_rates(sdays, periods),
            "air_station_days": station_days_table(sdays),
            "air_screened": screened.reset_index(drop=True)}


def station_days(station_daily, *, edition: str = "auto", day_rule: str = "pm25_o3"):
    """Daily AQI, category and primary pollutant of each station day (dims station, date).

    The same rule as a city day (:func:`envq.air.city.city_daily_aqi`, HJ 633 on the HJ 663 daily
    values, validity by *day_rule*) applied to one station: what the maps colour a station by.
    """
    from envq.air.city import city_daily_aqi

    return city_daily_aqi(station_daily, edition=edition, day_rule=day_rule)


def station_days_table(sdays) -> pd.DataFrame:
    """The station-day dataset as a flat table: station, date, aqi (Int64), level, category,
    primary_pollutant, valid."""
    df = sdays[["aqi", "level", "category", "primary_pollutant", "valid"]].reset_coords(drop=True).to_dataframe()
    df = df.reset_index()
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d")
    df["aqi"] = df["aqi"].astype("Int64")
    return df


def station_period_rates(sdays, periods: Iterable[str]) -> pd.DataFrame:
    """Good-air-day ratio and day counts of each station for each period with data.

    The city rule of :func:`envq.air.rates.good_day_rates` applied to one station's days, for the
    map popups; the official figure is the city's (GB 3095/HJ 663 assess cities). Columns as
    ``good_day_rates`` with ``scope`` = ``station``, ``name`` = the station code, plus
    ``station_name`` and ``city``.
    """
    as_cities = sdays.drop_vars([c for c in ("city", "name", "province") if c in sdays.coords])
    as_cities = as_cities.rename(station="city")
    rates = air_period_rates(as_cities, periods, by="city")
    if not len(rates):
        return rates
    rates["scope"] = "station"
    codes = pd.Index(sdays["station"].values.astype(str))
    at = codes.get_indexer(rates["name"].astype(str))
    rates.insert(2, "station_name", sdays["name"].values.astype(str)[at] if "name" in sdays.coords else "")
    rates.insert(3, "city", sdays["city"].values.astype(str)[at] if "city" in sdays.coords else "")
    return rates.reset_index(drop=True)


def water_results(long: pd.DataFrame, periods: Iterable[str], *, registry=None) -> dict[str, pd.DataFrame]:
    """Everything a run publishes for water: screened readings -> period rates and classes.

    Returns ``{"water_rates": ..., "water_sections": ..., "water_screened": ...}``.
    """
    from envq.water.screen import screen

    kept, screened = screen(long)
    rates, sections = water_period_rates(kept, periods, registry=registry)
    return {"water_rates": rates, "water_sections": sections, "water_screened": screened.reset_index(drop=True)}


def air_period_rates(city_days, periods: Iterable[str], *, targets=None, by: str = "both") -> pd.DataFrame:
    """Good-air-day rates of the cities and the province for each period with data.

    ``through`` is the last day with data in the period.
    """
    from envq.air.rates import good_day_rates

    dates = pd.DatetimeIndex(city_days["date"].values)
    has = np.isfinite(city_days["aqi_computed"].values).any(axis=0) if "aqi_computed" in city_days \
        else np.ones(len(dates), bool)
    out = []
    for p in periods:
        try:
            r = good_day_rates(city_days, p, by=by, targets=targets)
        except ValueError as exc:
            if "has no data" in str(exc):
                continue
            raise
        sel = has & (dates >= pd.Timestamp(r["start"].iloc[0])) & (dates <= pd.Timestamp(r["end"].iloc[0]))
        r.insert(3, "through", dates[sel].max().date().isoformat())
        out.append(r)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def water_period_rates(long: pd.DataFrame, periods: Iterable[str], *, registry=None, by=("system", "province")):
    """Class III compliance per river system and for the province, for each period with data.

    Returns ``(rates, sections)``: the group rates of :func:`envq.water.groups.evaluate` for each
    *by* and period (with ``through``), and the section classes of each period.
    """
    from envq.water.groups import evaluate

    rates, sections = [], []
    times = pd.DatetimeIndex(long["time"]) if len(long) else pd.DatetimeIndex([])
    for p in periods:
        first = None
        for b in by:
            ev = evaluate(long, p, by=b, registry=registry)
            if not len(ev.values):
                break
            first = first or ev
            rates.append(ev.rates)
        if first is None:
            continue
        sel = (times >= first.period.start) & (times < first.period.end)
        through = (times[sel].max() - pd.Timedelta(microseconds=1)).date().isoformat() if sel.any() else ""
        for r in rates[-len(by):]:
            r.insert(3, "through", through)
        s = first.sections.copy()
        s.insert(2, "through", through)
        sections.append(s)
    cat = (lambda xs: pd.concat(xs, ignore_index=True) if xs else pd.DataFrame())
    return cat(rates), cat(sections)


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def published_pct(value) -> float:
    """A percentage as published: 1 decimal (reference §2.4: every MEE/CNEMC report), rounded per
    GB/T 8170-2008 (四舍六入五成双, as every envq figure); NaN for none.

    Python's ``round`` and ``format`` round the binary float instead: 23 of 80 sections is
    28.749999... in binary and would show as 28.7, where the published figure is 28.8.

    >>> published_pct(23 / 80 * 100), round(23 / 80 * 100, 1)
    (28.8, 28.7)
    """
    from envq._rounding import round_gbt8170

    return float("nan") if _missing(value) else float(round_gbt8170(float(value), 1))


def meets_target(value, target) -> bool | None:
    """Whether a rate [%] meets its *target* [%], judged on the published value
    (:func:`published_pct`), as the air engine's ``target_met``; None without a value or target.

    >>> meets_target(82.96, 83), meets_target(82.94, 83), meets_target(None, 83)
    (True, False, None)
    """
    if _missing(value) or _missing(target):
        return None
    return published_pct(value) >= float(target)


def _pct(x) -> str:
    return "—" if _missing(x) else f"{published_pct(x):.1f}%"


def _mark(value, target) -> str:
    """达标/未达标 against *target* (:func:`meets_target`); "—" without one."""
    met = meets_target(value, target)
    return "—" if met is None else ("✅ 达标 met" if met else "❌ 未达标 not met")


def headline_markdown(air: pd.DataFrame | None, water: pd.DataFrame | None, *, basin_air: pd.DataFrame | None = None,
                      basin_water: pd.DataFrame | None = None, run_label: str = "",
                      air_target: float = AIR_TARGET, water_target: float = WATER_TARGET) -> str:
    """The run's markdown summary: province and city good-air-day ratios, basin and province
    Class III compliance, each against its target, for the latest year and month with data.

    The province is judged against *air_target* / *water_target*; a city, river system or basin
    against its own target where the rates carry one (``target``, ``i_iii_target``), else "—".
    """
    lines = [f"# envq {run_label}".rstrip(), ""]
    if air is not None and len(air):
        year = air[air["period"].str.fullmatch(r"\d{4}")]
        latest = year[year["period"] == year["period"].max()] if len(year) else air
        prov = latest[latest["scope"] == "province"].iloc[0]
        lines += [f"## 空气 Air — 优良天数比例 good-air-day ratio, {prov['period']} (through {prov['through']})", "",
                  f"**湖南省 province: {_pct(prov['good_day_ratio'])}** (target {air_target:.0f}%: "
                  f"{_mark(prov['good_day_ratio'], air_target)})", "",
                  "| 城市 city | 优良天数比例 | 优良/有效天 good/valid | 目标 target |", "|---|---:|---:|---|"]
        for _, r in latest[latest["scope"] == "city"].iterrows():
            lines.append(f"| {r['name']} | {_pct(r['good_day_ratio'])} | {int(r['good_days'])}/{int(r['valid_days'])} "
                         f"| {_mark(r['good_day_ratio'], r['target'])} |")
        if basin_air is not None and len(basin_air):
            lines += ["", "| 流域 basin | 优良天数比例 | 站点 stations |", "|---|---:|---:|"]
            for _, r in basin_air.iterrows():
                lines.append(f"| {r['name']} | {_pct(r['good_day_ratio'])} | {int(r['stations'])} |")
        lines.append("")
    if water is not None and len(water):
        for kind, rx in (("month", r"\d{4}-\d{2}"), ("year", r"\d{4}")):
            w = water[water["period"].str.fullmatch(rx)]
            if not len(w):
                continue
            w = w[w["period"] == w["period"].max()]
            prov = w[w["group"] == "province"].iloc[0]
            lines += [f"## 地表水 Water — Ⅰ~Ⅲ类水质断面比例, {prov['period']} (through {prov['through']})", "",
                      f"**湖南省 province: {_pct(prov['i_iii_share'])}** ({_good(prov)}/{int(prov['sections'])} "
                      f"sections; target {water_target:.0f}%: {_mark(prov['i_iii_share'], water_target)})", "",
                      "| 水系 system | Ⅰ~Ⅲ类比例 | 断面 sections | 目标 target |", "|---|---:|---:|---|"]
            lines += _water_rows(w[w["group"] == "system"])
            if kind == "month" and basin_water is not None and len(basin_water):
                b = basin_water[basin_water["period"] == prov["period"]]
                if len(b):
                    lines += ["", "| 流域 basin (geometry) | Ⅰ~Ⅲ类比例 | 断面 sections | 目标 target |", "|---|---:|---:|---|"]
                    lines += _water_rows(b)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _water_rows(rates: pd.DataFrame) -> list[str]:
    """Markdown rows ``| name | share | good/sections | target mark |`` of group rates."""
    return [f"| {r['name']} | {_pct(r['i_iii_share'])} | {_good(r)}/{int(r['sections'])} "
            f"| {_mark(r['i_iii_share'], r.get('i_iii_target'))} |" for _, r in rates.iterrows()]


def _good(r) -> int:
    return int(r["class_1"] + r["class_2"] + r["class_3"])


def health_report(*, day: dt.date, air_hourly=None, air_expected: Iterable[str] = (), water_long=None,
                  water_expected: Iterable[str] = (), screened_air: pd.DataFrame | None = None,
                  screened_water: pd.DataFrame | None = None, stale_after_hours: float = 36.0,
                  failures: dict | None = None) -> pd.DataFrame:
    """One row per finding of the run: parts that failed, stations and sections without data on
    *day*, stale feeds (latest value older than *stale_after_hours* before the end of *day*) and
    values screened, by rule.

    Columns ``kind, subject, detail, count``.
    """
    rows = []
    for part, reason in (failures or {}).items():
        rows.append(("failed", part, str(reason), 1))
    end = pd.Timestamp(day) + pd.Timedelta(days=1)  # label of hour 24 of the day
    if air_hourly is not None:
        times = pd.DatetimeIndex(air_hourly["time"].values)
        in_day = (times > pd.Timestamp(day)) & (times <= end)
        have = set()
        if in_day.any():
            vals = np.stack([air_hourly[v].values[:, in_day] for v in ("pm25", "pm10", "so2", "no2", "co", "o3")
                             if v in air_hourly])
            have = set(np.asarray(air_hourly["station"].values)[np.isfinite(vals).any(axis=(0, 2))])
        missing = sorted(set(air_expected) - have)
        if missing:
            rows.append(("air_stations_missing", day.isoformat(), ";".join(missing), len(missing)))
        latest = times[np.isfinite(air_hourly["pm25"].values).any(axis=0)].max() if len(times) else pd.NaT
        if pd.isna(latest) or latest < end - pd.Timedelta(hours=stale_after_hours):
            rows.append(("stale_feed", "air", f"latest value {latest}", 1))
    if water_long is not None:
        t = pd.DatetimeIndex(water_long["time"]) if len(water_long) else pd.DatetimeIndex([])
        in_day = (t >= pd.Timestamp(day)) & (t < end)
        have = set(water_long.loc[in_day, "section"]) if len(water_long) else set()
        missing = sorted(set(water_expected) - have)
        if missing:
            rows.append(("water_sections_missing", day.isoformat(), ";".join(missing), len(missing)))
        latest = t.max() if len(t) else pd.NaT
        if pd.isna(latest) or latest < end - pd.Timedelta(hours=stale_after_hours):
            rows.append(("stale_feed", "water", f"latest value {latest}", 1))
    for kind, scr in (("air_screened", screened_air), ("water_screened", screened_water)):
        if scr is not None and len(scr):
            by = "rule" if "rule" in scr else "reason"
            for rule, n in scr.groupby(by).size().items():
                rows.append((kind, str(rule), "", int(n)))
    return pd.DataFrame(rows, columns=["kind", "subject", "detail", "count"])


def health_markdown(health: pd.DataFrame, *, run_label: str = "") -> str:
    """The run-health report as markdown (an empty report says so)."""
    head = f"# envq run health {run_label}".rstrip()
    if not len(health):
        return head + "\n\nAll parts succeeded; every expected station and section reported; nothing screened.\n"
    lines = [head, "", "| kind | subject | count | detail |", "|---|---|---:|---|"]
    for _, r in health.iterrows():
        detail = str(r["detail"])
        detail = detail if len(detail) <= 300 else detail[:300] + " …"
        lines.append(f"| {r['kind']} | {r['subject']} | {r['count']} | {detail} |")
    return "\n".join(lines) + "\n"
