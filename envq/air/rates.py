"""Good-air-day ratio (优良天数比例), day counts, and targets, for any period.

Definitions (reference/standards.md §2.4):

- a day is good (优良, 达标) when its daily AQI <= 100 (HJ 633-2012 §3.4: IAQI 100 is the Grade II
  limit);
- ratio = good days / days with a valid daily AQI (有效监测天数), not calendar days [S], reported in
  percent to one decimal (GB/T 8170);
- the provincial figure is the arithmetic mean of the city ratios, as the provincial plan and
  MEE releases report it; the pooled ratio (all good city-days / all valid city-days) is offered.

Targets: a target per scope, name and year (default 83% for every city and the province, from
the Hunan provincial plan). The *budget* of a period that starts on 1 January is how many more
non-good days the rest of the year can take while still meeting the target, assuming every
remaining day is valid: floor(g + r - T (v + r)) with g good and v valid days so far and r
calendar days left (negative: the target can no longer be met). For the province (a mean of
ratios) the budget is computed on the pooled days of its cities (column ``budget_basis``).
A target is judged on the ratio as published, to one decimal: 82.95% is shown and met as 83.0%.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
import warnings
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq._rounding import round_gbt8170

__all__ = [
    "DEFAULT_TARGET",
    "Period",
    "Targets",
    "parse_period",
    "good_day_rates",
    "monthly_rates",
    "period_air_statistics",
]

#: Hunan provincial plan: good-air-day ratio of each of the 14 cities and the province >= 83%.
DEFAULT_TARGET = 83.0



@functools.cache
def _primary_names() -> tuple[str, ...]:
    """Every primary-pollutant name of every HJ 633 edition, in the standards' pollutant order,
    so that tables of periods under either edition have the same columns."""
    names: list[str] = []
    for ed in standards.FAMILIES["hj633"]:
        doc = standards.load(ed)
        for pol in doc["pollutant_order"]:
            for term, label in doc["pollutant_labels"].items():
                if term.split("_")[0] == pol and label["zh"] not in names:
                    names.append(label["zh"])
    return tuple(names)


@dataclasses.dataclass(frozen=True)
class Period:
    """A closed range of natural days with its label, e.g. ``2019-Q2`` = 2019-04-01..2019-06-30."""

    label: str
    start: dt.date
    end: dt.date

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_period(text: str, *, data_end: dt.date | None = None) -> Period:
    """Parse ``2019``, ``2019-H1``, ``2019-Q2``, ``2019-04``, ``2019-YTD`` or ``A..B``.

    ``YYYY-YTD`` runs from 1 January to *data_end* (the last day with data), or to 31 December.

    Examples
    --------
    >>> parse_period("2019-Q2")
    Period(label='2019-Q2', start=datetime.date(2019, 4, 1), end=datetime.date(2019, 6, 30))
    >>> parse_period("2019-02").end
    datetime.date(2019, 2, 28)
    """
    s = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", s):
            y = int(m[1])
            return Period(s, dt.date(y, 1, 1), dt.date(y, 12, 31))
        if m := re.fullmatch(r"(\d{4})-[Hh]([12])", s):
            y, h = int(m[1]), int(m[2])
            return Period(f"{y}-H{h}", dt.date(y, 1 + 6 * (h - 1), 1), dt.date(y, 6, 30) if h == 1 else dt.date(y, 12, 31))
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", s):
            y, q = int(m[1]), int(m[2])
            start = dt.date(y, 3 * q - 2, 1)
            end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
            return Period(f"{y}-Q{q}", start, end)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", s):
            start = dt.date(int(m[1]), int(m[2]), 1)
            return Period(s, start, (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date())
        if m := re.fullmatch(r"(\d{4})-[Yy][Tt][Dd]", s):
            y = int(m[1])
            end = min(data_end, dt.date(y, 12, 31)) if data_end else dt.date(y, 12, 31)
            return Period(f"{y}-YTD", dt.date(y, 1, 1), end)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", s):
            a, b = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if b < a:
                raise ValueError(f"period {text!r} ends before it starts")
            return Period(s, a, b)
    except ValueError as exc:
        if "ends before" in str(exc):
            raise
        raise ValueError(f"period {text!r}: {exc}") from None
    raise ValueError(
        f"period {text!r} not understood; use 2019, 2019-H1, 2019-Q2, 2019-04, 2019-YTD "
        "or 2019-01-01..2019-06-30"
    )


@dataclasses.dataclass
class Targets:
    """Good-air-day targets [%] per (scope, name, year); ``default`` where none is set.

    Read from a CSV with columns ``scope,name,year,target`` (scope ``city`` or ``province``; name
    ``*`` for every name; year empty for every year) with :meth:`from_csv`.
    """

    default: float = DEFAULT_TARGET
    table: Mapping[tuple[str, str, int | None], float] = dataclasses.field(default_factory=dict)

    def get(self, scope: str, name: str, year: int) -> float:
        for key in ((scope, name, year), (scope, name, None), (scope, "*", year), (scope, "*", None)):
            if key in self.table:
                return float(self.table[key])
        return float(self.default)

    @classmethod
    def from_csv(cls, path, default: float = DEFAULT_TARGET) -> "Targets":
        from envq.errors import InputError

        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"scope", "name", "year", "target"} - set(df.columns)
        if missing:
            raise InputError(path, 1, None, list(df.columns), f"lacks columns {sorted(missing)}")
        table = {}
        for i, row in enumerate(df.itertuples(index=False), start=2):
            try:
                target = float(row.target)
                year = int(row.year) if row.year.strip() else None
            except ValueError:
                raise InputError(path, i, "target/year", f"{row.target}/{row.year}", "is not a number") from None
            if not 0 < target <= 100:
                raise InputError(path, i, "target", row.target, "is not a percentage in (0, 100]")
            table[(row.scope.strip(), row.name.strip(), year)] = target
        return cls(default, table)


def _pct(num, den) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.asarray(den) > 0, 100.0 * np.asarray(num, float) / np.asarray(den, float), np.nan)


def _budget(good: int, valid: int, remaining: int, target_pct: float) -> int:
    """Most non-good days of the *remaining* ones that keep the published ratio >= target.

    floor(g + r - T (v + r)) exactly in rationals, then widened while the ratio rounded to one
    decimal (GB/T 8170), the figure the target is judged on, still meets the target.
    """
    t = Fraction(str(target_pct)) / 100
    x = math.floor(good + remaining - t * (valid + remaining))
    total = valid + remaining
    while total and x + 1 <= remaining and round_gbt8170(
            100.0 * (good + remaining - (x + 1)) / total, 1) >= target_pct:
        x += 1
    return x


def good_day_rates(city_days: xr.Dataset, period: Period | str, *, by: str = "city",
                   province_method: str = "mean_of_cities", targets: Targets | None = None,
                   province_name: str = "湖南省") -> pd.DataFrame:
    """Good-air-day ratio and day counts per city (and for the province) over *period*.

    Parameters
    ----------
    city_days : xarray.Dataset
        Output of :func:`envq.air.city.city_daily_aqi`: dims (city, date) with ``aqi``, ``level``,
        ``valid``, ``valid_all_six``, ``primary_pollutant``.
    period : Period or str
        See :func:`parse_period`.
    by : {"city", "province", "both"}
    province_method : {"mean_of_cities", "pooled"}
        The provincial ratio: the mean of the city ratios (official) or pooled city-days.
    targets : Targets, optional
        Default: 83% everywhere.

    Returns
    -------
    pandas.DataFrame with columns ``scope, name, period, start, end, calendar_days, valid_days,
    valid_days_all_six, good_days, good_day_ratio`` [% to 1 decimal], ``good_day_ratio_all_six``,
    one ``days_<category>`` per category (优 .. 严重污染), one ``primary_<name>`` per primary
    pollutant (a tied day counts for each), ``target``, ``target_met`` and (periods starting on
    1 January) ``budget_non_good_days``.
    """
    if by not in ("city", "province", "both"):
        raise ValueError(f"by must be 'city', 'province' or 'both', not {by!r}")
    if province_method not in ("mean_of_cities", "pooled"):
        raise ValueError(f"province_method must be 'mean_of_cities' or 'pooled', not {province_method!r}")
    dates = pd.DatetimeIndex(city_days["date"].values)
    if isinstance(period, str):
        period = parse_period(period, data_end=dates.max().date() if len(dates) else None)
    targets = targets or Targets()
    in_period = (dates >= pd.Timestamp(period.start)) & (dates <= pd.Timestamp(period.end))
    # Days with any daily value (a lone hour-24 label makes an empty day before the data starts).
    has_data = np.isfinite(city_days["aqi_computed"].values).any(axis=0) if "aqi_computed" in city_days \
        else np.ones(len(dates), bool)
    if not (in_period & has_data).any():
        d = dates[has_data]
        span = f"{d.min().date()}..{d.max().date()}" if len(d) else "nothing"
        raise ValueError(f"period {period.label} ({period.start}..{period.end}) has no data; the data covers {span}")
    sel = city_days.isel(date=np.flatnonzero(in_period))
    valid = sel["valid"].values.astype(bool)
    aqi = sel["aqi"].values
    good = valid & (aqi <= 100)
    level = sel["level"].values
    strict = sel["valid_all_six"].values.astype(bool)
    cities = sel["city"].values.astype(str)

    df = pd.DataFrame({
        "scope": "city",
        "name": cities,
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "calendar_days": period.days,
        "valid_days": valid.sum(axis=1),
        "valid_days_all_six": strict.sum(axis=1),
        "good_days": good.sum(axis=1),
        "good_days_all_six": (strict & good).sum(axis=1),
    })
    from envq.air.aqi import category_table

    categories = category_table(standards.edition_for("hj633", period.start))["category_zh"]
    for k, cat in categories.items():
        df[f"days_{cat}"] = ((level == k) & valid).sum(axis=1)
    prim = sel["primary_pollutant"].values.astype(str) if "primary_pollutant" in sel else None
    for name in _primary_names():
        if prim is not None:
            hit = np.char.find(np.char.add(np.char.add(",", prim), ","), f",{name},") >= 0
            df[f"primary_{name}"] = (hit & valid).sum(axis=1)

    ratio = _pct(df["good_days"], df["valid_days"])
    ratio_strict = _pct(df["good_days_all_six"], df["valid_days_all_six"])
    df["good_day_ratio"] = round_gbt8170(ratio, 1)
    df["good_day_ratio_all_six"] = round_gbt8170(ratio_strict, 1)

    rows = [df]
    if by in ("province", "both") and len(df):
        num = df.drop(columns=["scope", "name", "period", "start", "end", "calendar_days",
                               "good_day_ratio", "good_day_ratio_all_six"]).sum()
        prov = {"scope": "province", "name": province_name, "period": period.label,
                "start": period.start.isoformat(), "end": period.end.isoformat(),
                "calendar_days": period.days, **num.to_dict()}
        pooled = _pct(num["good_days"], num["valid_days"])
        mean = np.nanmean(ratio) if np.isfinite(ratio).any() else np.nan
        mean_strict = np.nanmean(ratio_strict) if np.isfinite(ratio_strict).any() else np.nan
        chosen = mean if province_method == "mean_of_cities" else pooled
        prov["good_day_ratio"] = float(round_gbt8170(chosen, 1))
        prov["good_day_ratio_all_six"] = float(round_gbt8170(
            mean_strict if province_method == "mean_of_cities" else _pct(num["good_days_all_six"], num["valid_days_all_six"]), 1))
        prov["province_method"] = province_method
        prov["n_cities"] = int(np.isfinite(ratio).sum())  # cities with a ratio (>= 1 valid day)
        if province_name == "湖南省" and prov["n_cities"] != 14:
            warnings.warn(f"the 湖南省 figure averages {prov['n_cities']} cities, not 14", stacklevel=2)
        rows.append(pd.DataFrame([prov]))
        ratio = np.append(ratio, chosen)
    out = pd.concat(rows, ignore_index=True)
    if by == "province":
        out = out[out["scope"] == "province"].reset_index(drop=True)
        ratio = ratio[-1:]

    out["target"] = [targets.get(s, n, period.year) for s, n in zip(out["scope"], out["name"])]
    # Judged on the ratio as published (one decimal): 82.95% is reported, and met, as 83.0%.
    shown = out["good_day_ratio"].to_numpy(float)
    out["target_met"] = np.where(np.isfinite(shown), shown >= out["target"].to_numpy(), pd.NA)
    if period.start == dt.date(period.year, 1, 1) and period.end <= dt.date(period.year, 12, 31):
        remaining = (dt.date(period.year, 12, 31) - period.end).days
        n = out["n_cities"].fillna(1).astype(int) if "n_cities" in out else pd.Series(1, index=out.index)
        out["budget_non_good_days"] = [
            _budget(int(g), int(v), remaining * int(k), t)
            for g, v, k, t in zip(out["good_days"], out["valid_days"], n, out["target"])
        ]
        out["budget_basis"] = np.where(out["scope"] == "province", "pooled city-days of its cities",
                                       "the city's days")
    return out


def monthly_rates(city_days: xr.Dataset, year: int, **kwargs) -> pd.DataFrame:
    """:func:`good_day_rates` for each month of *year* that has data, stacked."""
    dates = pd.DatetimeIndex(city_days["date"].values)
    months = sorted({d.month for d in dates if d.year == year})
    return pd.concat([good_day_rates(city_days, f"{year}-{m:02d}", **kwargs) for m in months],
                     ignore_index=True)


def period_air_statistics(city_days: xr.Dataset, period: Period | str, *,
                          assessment: str | None = None) -> pd.DataFrame:
    """HJ 663 statistics of each city over *period*: means, percentiles, composite index.

    Concentrations are rounded per GB/T 8170 as published (integers; CO 0.1 mg/m3); the composite
    index follows :func:`envq.air.stats.composite_index` (2012 Grade II basis, unweighted).
    """
    from envq import standards
    from envq.air.stats import composite_index, period_statistics

    dates = pd.DatetimeIndex(city_days["date"].values)
    if isinstance(period, str):
        period = parse_period(period, data_end=dates.max().date() if len(dates) else None)
    assessment = assessment or standards.edition_for("hj663", period.start)
    sel = city_days.isel(date=np.flatnonzero((dates >= pd.Timestamp(period.start)) & (dates <= pd.Timestamp(period.end))))
    keep = [v for v in ("so2_24h", "no2_24h", "pm10_24h", "pm25_24h", "co_24h", "o3_mda8") if v in sel]
    # On the whole requested period, so that GB 3095 Table 4 counts the days the data lacks too.
    sel = sel[keep].reindex(date=pd.date_range(period.start, period.end, freq="D"))
    stats = period_statistics(sel, freq=None, assessment=assessment, rounded=True)
    ci = composite_index(stats, assessment=assessment)
    df = xr.merge([stats, ci], compat="override").squeeze("period", drop=True).to_dataframe().reset_index()
    df = df.drop(columns=[c for c in ("period_end",) if c in df])
    df.insert(1, "period", period.label)
    return df
