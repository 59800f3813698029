"""What a run publishes: period results, the headline figures and the run-health report.

Pure functions over the engines' outputs (no I/O, no Prefect): the flows call them and write
what they return; every other output (maps, bulletins, alerts, the CLI) reads those stored
results. See docs/pipeline.md and docs/architecture.md.

The periods a new day touches are :func:`envq.periods.periods_touched` (its month, quarter and
year). A year or a month still in progress is computed on the data so far; the rows say through
which day (``through``). Every rate is judged once, by its engine, with the one rule of
:mod:`envq.targets` (``target``/``i_iii_target``, ``target_met``); the headline only reads those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from envq.errors import NoDataError
from envq.periods import Period, days_period, latest, parse_period
from envq.targets import published

__all__ = ["air_results", "area_period_rates", "year_to_date_periods", "with_year_to_date", "station_days", "station_period_rates", "water_results", "air_period_rates",
           "water_period_rates", "headline_markdown", "health_report", "health_markdown", "RESULT_NAMES"]

#: Every result a run stores (``Store.write_results``), by part.
RESULT_NAMES = {
    "air": ("air_rates", "air_city_days", "air_station_rates", "air_station_days", "air_screened",
            "air_basin_rates", "air_statistics", "air_rates_same_basis", "air_rates_by_edition"),
    "water": ("water_rates", "water_sections", "water_screened", "water_reach_rates", "water_reach_sections",
              "water_basin_rates", "water_lakes"),
}


def year_to_date_periods(periods: Iterable) -> list[Period]:
    """The years to date a bulletin of *periods* shows beside them (1-M月累计): 1 January to the
    end of each month, quarter and half-year, as a range of days, so that the year to date
    through each month is filed apart (``2019-01-01..2019-08-31``; envq.bulletin reads them so).
    A month still in progress gives its year to date so far (the rows say ``through``). A year to
    date of a calendar period's days is that period (:func:`envq.periods.days_period`).

    >>> [p.label for p in year_to_date_periods(["2019-08", "2019-Q3", "2019-06", "2019"])]
    ['2019-01-01..2019-08-31', '2019-01-01..2019-09-30', '2019-H1']
    """
    out: list[Period] = []
    for p in map(parse_period, periods):
        if p.kind in ("month", "quarter", "half"):
            r = days_period(dt.date(p.start.year, 1, 1), p.end)  # through March: 2019-Q1, not a range
            if r not in out:
                out.append(r)
    return out


def with_year_to_date(periods: Iterable) -> list[Period]:
    """*periods* and the years to date beside them (:func:`year_to_date_periods`) not already
    among them: the periods a run files each bulletin result for.

    >>> [p.label for p in with_year_to_date(["2019-08", "2019-Q3", "2019"])]
    ['2019-08', '2019-Q3', '2019', '2019-01-01..2019-08-31', '2019-01-01..2019-09-30']
    """
    periods = [parse_period(p) for p in periods]
    return [*periods, *(p for p in year_to_date_periods(periods) if p not in periods)]


def air_results(hourly, periods: Iterable, *, targets=None, areas=None, dust_days=None,
                **kwargs) -> dict[str, pd.DataFrame]:
    """Everything a run publishes for air from the hourly data of one year (to date).

    Returns ``{"air_rates": ..., "air_city_days": ..., "air_station_rates": ...,
    "air_station_days": ..., "air_screened": ..., "air_statistics": ..., "air_rates_same_basis": ...,
    "air_rates_by_edition": ...}``: the good-air-day rates of :func:`air_period_rates` (the
    periods and the years to date beside them, :func:`year_to_date_periods`), the city-day table,
    the same two for each station (for the maps), the screened values, and what the bulletins
    read besides: the HJ 663 statistics and composite index (:func:`envq.air.rates.air_statistics`,
    *dust_days* left out), the rates of periods a 同比 a year later compares on another AQI
    edition recomputed on that basis (:func:`envq.air.rates.air_rates_same_basis`), and from
    HJ 633-2026 on the rates under each edition (:func:`envq.air.rates.air_rates_by_edition`).
    *areas* ``{name: (scope, labels)}`` adds, for each, the rates of :func:`area_period_rates`
    of the stations grouped by *labels* (the area of each station, a Series indexed by station
    code: river basins by ``geo.areas``), from the same station daily values (no second pass),
    for the periods and the years to date beside them, like the city rates.
    *kwargs* go to :func:`envq.air.pipeline.city_days_from_hourly` (edition, day_rule, ...).
    """
    from envq.air.pipeline import city_days_from_station_daily, station_daily_from_hourly
    from envq.air.rates import air_rates_by_edition, air_rates_same_basis, air_statistics
    from envq.air.tables import city_days_table, station_days_table

    periods = [parse_period(p) for p in periods]
    bulletin = with_year_to_date(periods)

    edition, day_rule = kwargs.pop("edition", "auto"), kwargs.pop("day_rule", "pm25_o3")
    mda8_method = kwargs.get("mda8_method", "mean_of_station_mda8")
    sdaily, screened, clean = station_daily_from_hourly(hourly, **kwargs)
    city_days = city_days_from_station_daily(sdaily, clean=clean, edition=edition, day_rule=day_rule,
                                             mda8_method=mda8_method)
    sdays = station_days(sdaily, edition=edition, day_rule=day_rule)
    out = {"air_rates": air_period_rates(city_days, bulletin, targets=targets),
           "air_city_days": city_days_table(city_days),
           "air_station_rates": station_period_rates(sdays, periods, targets=targets),
           "air_station_days": station_days_table(sdays),
           "air_screened": screened.reset_index(drop=True),
           "air_statistics": air_statistics(city_days, bulletin, dust_days=dust_days),
           "air_rates_same_basis": air_rates_same_basis(city_days, bulletin, targets=targets),
           "air_rates_by_edition": air_rates_by_edition(city_days, bulletin, targets=targets)}
    for name, (scope, labels) in (areas or {}).items():  # the periods and their years to date
        out[name] = area_period_rates(sdaily, labels, bulletin, scope=scope, targets=targets, clean=clean,
                                      edition=edition, day_rule=day_rule, mda8_method=mda8_method)
    return out


def area_period_rates(station_daily, labels, periods: Iterable, *, scope: str = "area", targets=None,
                      clean=None, edition: str = "auto", day_rule: str = "pm25_o3",
                      mda8_method: str = "mean_of_station_mda8", skip_empty: bool = True) -> pd.DataFrame:
    """Good-air-day rates of groups of stations (areas) for each period: the city rule applied to
    each area (城市环境空气质量排名技术规定 §三(一): the mean over its assessment stations, then
    its daily AQI and ratio), from station daily values (:func:`envq.air.pipeline.station_daily_from_hourly`).

    *labels* is the area of each station (a Series indexed by station code; ``""`` or a station
    left out: in no area). The rows are those of :func:`envq.air.rates.good_day_rates` (``scope``
    = *scope*), plus ``stations`` (assessment stations in the area); periods without data are
    left out (``skip_empty``) or raise :class:`envq.errors.NoDataError`.
    """
    from envq.air.pipeline import city_days_from_station_daily
    from envq.air.rates import good_day_rates_of_periods, resolve_period

    codes = station_daily["station"].values.astype(str)
    label = pd.Series(labels).reindex(codes).fillna("").to_numpy().astype(str)
    relabel = {"city": ("station", label)}
    city_days = city_days_from_station_daily(
        station_daily.assign_coords(**relabel), clean=None if clean is None else clean.assign_coords(**relabel),
        edition=edition, day_rule=day_rule, mda8_method=mda8_method)
    bg = station_daily["is_background"].values.astype(bool) if "is_background" in station_daily.coords \
        else np.zeros(len(label), bool)
    counts = pd.Series(label[~bg]).value_counts()
    periods = list(periods)
    if not skip_empty:
        for p in periods:   # a period without data is an error: say which
            resolve_period(city_days, p)
    # the area days once, then each period's rates from them
    rates = good_day_rates_of_periods(city_days, periods, by="city", targets=targets, scope=scope)
    if len(rates):
        rates.insert(2, "stations", rates["name"].map(counts).fillna(0).astype(int))
    rates.attrs["area_stations"] = counts.to_dict()
    return rates


def station_days(station_daily, *, edition: str = "auto", day_rule: str = "pm25_o3"):
    """Daily AQI, category and primary pollutant of each station day (dims station, date).

    The same rule as a city day (:func:`envq.air.city.city_daily_aqi`, HJ 633 on the HJ 663 daily
    values, validity by *day_rule*) applied to one station: what the maps colour a station by.
    """
    from envq.air.city import city_daily_aqi

    return city_daily_aqi(station_daily, edition=edition, day_rule=day_rule)


def station_period_rates(sdays, periods: Iterable, *, targets=None) -> pd.DataFrame:
    """Good-air-day ratio and day counts of each station for each period with data.

    The city rule of :func:`envq.air.rates.good_day_rates` applied to one station's days, for the
    map popups; the official figure is the city's (GB 3095/HJ 663 assess cities). Columns as
    ``good_day_rates`` with ``scope`` = ``station``, ``name`` = the station code, plus
    ``station_name`` and ``city``.
    """
    as_cities = sdays.drop_vars([c for c in ("city", "name", "province") if c in sdays.coords])
    as_cities = as_cities.rename(station="city")
    rates = air_period_rates(as_cities, periods, by="city", scope="station", targets=targets)
    if not len(rates):
        return rates
    codes = pd.Index(sdays["station"].values.astype(str))
    at = codes.get_indexer(rates["name"].astype(str))
    rates.insert(2, "station_name", sdays["name"].values.astype(str)[at] if "name" in sdays.coords else "")
    rates.insert(3, "city", sdays["city"].values.astype(str)[at] if "city" in sdays.coords else "")
    return rates.reset_index(drop=True)


def air_period_rates(city_days, periods: Iterable, *, targets=None, by: str = "both",
                     scope: str = "city") -> pd.DataFrame:
    """Good-air-day rates of the cities and the province for each period with data (periods
    without are left out); ``through`` is the last day with data in the period."""
    from envq.air.rates import good_day_rates_of_periods

    return good_day_rates_of_periods(city_days, periods, by=by, targets=targets, scope=scope)


def water_results(long: pd.DataFrame, periods: Iterable, *, registry=None, reaches=None,
                  targets=None) -> dict[str, pd.DataFrame]:
    """Everything a run publishes for water: screened readings -> section classes, group rates
    and the river-chief reaches of each period.

    *long* must hold the readings of the period before each period too (the reaches' trend).
    Returns ``{"water_rates", "water_sections", "water_screened", "water_reach_rates",
    "water_reach_sections"}``; *reaches* default :func:`envq.water.reaches.load_reaches` (none
    when ``{}``).
    """
    from envq.water.screen import screen

    kept, screened = screen(long)
    periods = [parse_period(p) for p in periods]
    rates, sections, reach_rates, reach_sections = water_period_rates(kept, periods, registry=registry,
                                                                       reaches=reaches, targets=targets)
    ytd = [p for p in year_to_date_periods(periods) if p not in periods]
    if ytd:  # the years to date beside the periods (the bulletins' 1-M月累计): systems and sections
        yr, ys, _, _ = water_period_rates(kept, ytd, registry=registry, reaches={}, targets=targets)
        rates, sections = _cat([rates, yr]), _cat([sections, ys])
    return {"water_rates": rates, "water_sections": sections, "water_screened": screened.reset_index(drop=True),
            "water_reach_rates": reach_rates, "water_reach_sections": reach_sections,
            "water_lakes": water_lakes(kept, [*periods, *ytd], registry=registry)}


def water_lakes(long: pd.DataFrame, periods: Iterable, *, registry=None, lake: str = "洞庭湖") -> pd.DataFrame:
    """Dongting Lake's points and the lake as a whole (class, status, TP, TN, TLI(Σ), trophic
    state; :func:`envq.water.lakes.lake_assessment`) for each period with readings of its points:
    the ``water_lakes`` result the bulletins read."""
    from envq.water.lakes import lake_assessment
    from envq.water.periods import period_values
    from envq.water.registry import load_registry

    registry = load_registry() if registry is None else registry
    times = pd.DatetimeIndex(long["time"]) if len(long) else pd.DatetimeIndex([])
    out = []
    for p in map(parse_period, periods):
        if not p.contains(times).any():
            continue
        try:
            res = lake_assessment(period_values(long, p), registry, lake=lake)
        except (ValueError, NoDataError):  # no reading of the lake's points in the period
            continue
        out.append(res.assign(period=p.label))
    return _cat(out)


def water_period_rates(long: pd.DataFrame, periods: Iterable, *, registry=None, by=("system", "province"),
                       reaches=None, targets=None):
    """Class III compliance per river system and for the province, section classes and reach
    reports, for each period with data.

    Returns ``(rates, sections, reach_rates, reach_sections)``: the group rates of
    :func:`envq.water.groups.group_rates` for each *by* and period (with ``through``), the section
    classes of each period, and the reach tables of :func:`envq.water.reaches.report_tables`.
    """
    from envq.water.groups import group_rates, period_sections
    from envq.water.reaches import load_reaches, reach_reports, report_tables
    from envq.water.registry import load_registry

    registry = load_registry() if registry is None else registry
    reaches = load_reaches(registry=registry) if reaches is None else reaches
    rates, sections, rrates, rsecs = [], [], [], []
    times = pd.DatetimeIndex(long["time"]) if len(long) else pd.DatetimeIndex([])
    for period in periods:
        p, secs, _ = period_sections(long, period, registry=registry)
        if not len(secs):
            continue
        sel = p.contains(times)
        through = (times[sel].max() - pd.Timedelta(microseconds=1)).date().isoformat() if sel.any() else ""
        for b in by:
            r = group_rates(secs, by=b, period=p, targets=targets)
            r.insert(3, "through", through)
            rates.append(r)
        s = secs.copy()
        s.insert(2, "through", through)
        sections.append(s)
        if reaches:
            pp = p.previous()
            prev = period_sections(long, pp, registry=registry)[1] if pp is not None else None
            rr, rs = report_tables(reach_reports(reaches, p, secs, previous_sections=prev, previous_period=pp,
                                                 registry=registry, targets=targets))
            rr.insert(3, "through", through)
            rrates.append(rr)
            rsecs.append(rs)
    return _cat(rates), _cat(sections), _cat(rrates), _cat(rsecs)


def _cat(frames: list) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _pct(x) -> str:
    v = published(x)
    return "—" if np.isnan(v) else f"{v:.1f}%"


def _mark(met) -> str:
    """达标/未达标 as the engine judged it (``target_met``); "—" without a verdict."""
    if met is None or met is pd.NA or (isinstance(met, float) and np.isnan(met)):
        return "—"
    return "✅ 达标 met" if bool(met) else "❌ 未达标 not met"


def _target(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):g}%"


def _rows_of(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of the latest period of *kind* (``year``, ``month``)."""
    label = latest(df["period"].astype(str).unique(), kind)
    return df.iloc[0:0] if label is None else df[df["period"].astype(str) == label]


def headline_markdown(air: pd.DataFrame | None, water: pd.DataFrame | None, *, basin_air: pd.DataFrame | None = None,
                      basin_water: pd.DataFrame | None = None, run_label: str = "") -> str:
    """The run's markdown summary: province and city good-air-day ratios, basin and province
    Class III compliance, each with its target and the engine's verdict (``target_met``), for the
    latest year and month with data."""
    lines = [f"# envq {run_label}".rstrip(), ""]
    if air is not None and len(air):
        latest_air = _rows_of(air, "year")
        latest_air = latest_air if len(latest_air) else air
        prov = latest_air[latest_air["scope"] == "province"].iloc[0]
        lines += [f"## 空气 Air — 优良天数比例 good-air-day ratio, {prov['period']} (through {prov['through']})", "",
                  f"**湖南省 province: {_pct(prov['good_day_ratio'])}** (target {_target(prov['target'])}: "
                  f"{_mark(prov['target_met'])})", "",
                  "| 城市 city | 优良天数比例 | 优良/有效天 good/valid | 目标 target |", "|---|---:|---:|---|"]
        for _, r in latest_air[latest_air["scope"] == "city"].iterrows():
            lines.append(f"| {r['name']} | {_pct(r['good_day_ratio'])} | {int(r['good_days'])}/{int(r['valid_days'])} "
                         f"| {_mark(r['target_met'])} |")
        if basin_air is not None and len(basin_air):
            lines += ["", "| 流域 basin | 优良天数比例 | 站点 stations |", "|---|---:|---:|"]
            for _, r in basin_air.iterrows():
                lines.append(f"| {r['name']} | {_pct(r['good_day_ratio'])} | {int(r['stations'])} |")
        lines.append("")
    if water is not None and len(water):
        for kind in ("month", "year"):
            w = _rows_of(water, kind)
            if not len(w):
                continue
            prov = w[w["group"] == "province"].iloc[0]
            lines += [f"## 地表水 Water — Ⅰ~Ⅲ类水质断面比例, {prov['period']} (through {prov['through']})", "",
                      f"**湖南省 province: {_pct(prov['i_iii_share'])}** ({int(prov['sections_i_iii'])}/"
                      f"{int(prov['sections'])} sections; target {_target(prov['i_iii_target'])}: "
                      f"{_mark(prov['target_met'])})", "",
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
    return [f"| {r['name']} | {_pct(r['i_iii_share'])} | {int(r['sections_i_iii'])}/{int(r['sections'])} "
            f"| {_mark(r.get('target_met'))} |" for _, r in rates.iterrows()]


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
