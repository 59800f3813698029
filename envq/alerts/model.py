"""What a warning is: its columns, severities, thresholds and who it is for.

A warning is one row of a table (:data:`WARNING_COLUMNS`): the day it is for, the part (air,
water, data), a severity (:data:`SEVERITIES`), the rule that fired (:data:`RULES`), the scope it
is about (station, section, city, reach, basin, system, province, source) and its name, a
message in Chinese with the figures, the figures themselves (JSON), who it is for (the bureau of
a city, the chief of a reach, the provincial department, the operators), the cities, reaches and
basins it concerns (for a channel's ``scopes`` filter) and the page it links to.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

__all__ = ["SEVERITIES", "RULES", "WARNING_COLUMNS", "Thresholds", "empty_warnings", "frame", "severity_rank",
           "sort_warnings", "PROVINCE", "PROVINCE_AUDIENCE", "OPERATORS"]

#: Severities, least to most severe.
SEVERITIES = ("info", "warning", "critical")
SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重"}

PROVINCE = "湖南省"
PROVINCE_AUDIENCE = "湖南省生态环境厅"
OPERATORS = "运维人员 (operators)"

#: rule id -> (Chinese name, what fires it).
RULES: dict[str, tuple[str, str]] = {
    "water.over_target": ("断面超标", "a section's item is worse than its target class (latest readings or month to date)"),
    "water.near_target": ("断面临近超标", "a section's item is within the margin of its target-class limit"),
    "water.share_below_target": ("Ⅰ~Ⅲ类比例未达标", "a reach, basin, river system or the province below its Ⅰ~Ⅲ target "
                                 "(a reach without one: sections missing the reach's target class)"),
    "air.ratio_below_target": ("优良天数比例未达标", "a city's (or the province's) year-to-date ratio below its target"),
    "air.budget_low": ("非优良天数额度告急", "the non-good days the rest of the year can take is at or below the threshold"),
    "air.budget_exhausted": ("全年目标已无法完成", "the target can no longer be met this year, even if every day left is good"),
    "air.non_good_run": ("连续非优良天", "a city has had at least N non-good days in a row up to the day"),
    "data.silent": ("站点/断面无数据", "a station or section has sent nothing for more than N hours"),
    "data.source_empty": ("数据源当日无数据", "a source published nothing for the day"),
    "data.day_incomplete": ("当日数据不全", "a source or station left the day incomplete (hours short of the day)"),
    "data.screened": ("数值被筛除", "values of the day that plausibility screening removed"),
}

#: Columns of a warnings table, in order.
WARNING_COLUMNS = ["day", "part", "severity", "rule", "scope", "name", "label", "message", "figures", "audience",
                   "cities", "reaches", "basins", "link"]


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The warning thresholds (``[warnings]`` in envq.toml). None of them is part of a standard;
    each default is envq's choice, documented in docs/alerts.md.

    Parameters
    ----------
    water_margin : float
        Relative margin to a target-class limit counted as near (0.1 = within 10%;
        :func:`envq.water.warning.early_warning`).
    water_ph_margin : float
        pH units from 6 or 9 counted as near.
    water_window_hours : float
        Latest readings: per item the latest value within this many hours of the section's last
        reading.
    budget_days : int
        ``air.budget_low`` fires when the year's remaining non-good-day budget is at or below this
        (and not yet negative).
    non_good_run_days : int
        ``air.non_good_run`` fires at this many non-good days in a row.
    silent_hours : float
        ``data.silent`` fires when a station's or section's last value is older than this at the
        end of the day.
    lookback_days : int
        How far back the silence check looks (a station silent longer is "silent since before").
    station_min_hours : int
        A station day with fewer valid PM2.5 hours than this is incomplete (GB 3095-2012 Table 4,
        reproduced in GB 3095-2026 Table 4: a 24-hour mean needs at least 20 hourly values).
    screened : bool
        Report values screened out on the day (``data.screened``, severity info).
    """

    water_margin: float = 0.1
    water_ph_margin: float = 0.5
    water_window_hours: float = 24.0
    budget_days: int = 5
    non_good_run_days: int = 3
    silent_hours: float = 24.0
    lookback_days: int = 7
    station_min_hours: int = 20
    screened: bool = True

    @classmethod
    def from_config(cls, table: dict | None, *, file="envq.toml") -> "Thresholds":
        """From the ``[warnings]`` table; unknown keys and wrong types are an
        :class:`envq.errors.InputError` naming the key."""
        from envq.errors import InputError

        table = table or {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in table.items():
            if key not in fields:
                raise InputError(file, None, f"warnings.{key}", value,
                                 f"is not a setting; use {', '.join(fields)}")
            want = type(fields[key].default)
            ok = isinstance(value, bool) if want is bool else (
                isinstance(value, (int, float)) and not isinstance(value, bool) and (want is float or float(value).is_integer()))
            if not ok or (want is not bool and value < 0):
                raise InputError(file, None, f"warnings.{key}", value,
                                 f"must be a {'true/false' if want is bool else 'non-negative number'}")
            kwargs[key] = want(value)
        if kwargs.get("water_margin", 0) >= 1:
            raise InputError(file, None, "warnings.water_margin", table["water_margin"], "must be below 1 (0.1 = 10%)")
        return cls(**kwargs)


def severity_rank(sev) -> np.ndarray:
    """0 info, 1 warning, 2 critical (-1 unknown), vectorised."""
    return pd.Series(np.asarray(sev, dtype=object)).map({s: i for i, s in enumerate(SEVERITIES)}).fillna(-1) \
        .astype(int).to_numpy()


def empty_warnings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in WARNING_COLUMNS})


def _join(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, str):
        return x
    return ";".join(dict.fromkeys(str(v) for v in x if v not in (None, "")))


def frame(rows: list[dict]) -> pd.DataFrame:
    """A warnings table from rows (dicts with the columns; ``figures`` a dict, list columns
    ``cities``/``reaches``/``basins`` joined with ';')."""
    if not rows:
        return empty_warnings()
    df = pd.DataFrame(rows)
    for c in WARNING_COLUMNS:
        if c not in df:
            df[c] = ""
    df["figures"] = [json.dumps(f, ensure_ascii=False, sort_keys=True, default=_json_default)
                     if not isinstance(f, str) else f for f in df["figures"]]
    for c in ("cities", "reaches", "basins", "audience"):
        df[c] = [_join(v) for v in df[c]]
    return df[WARNING_COLUMNS].astype(object)


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (pd.Timestamp,)):
        return x.isoformat()
    return str(x)


def sort_warnings(df: pd.DataFrame) -> pd.DataFrame:
    """Most severe first, then by part, rule and name."""
    if not len(df):
        return df.reset_index(drop=True)
    key = pd.DataFrame({"s": -severity_rank(df["severity"]), "p": df["part"].to_numpy(), "r": df["rule"].to_numpy(),
                        "n": df["name"].astype(str).to_numpy()})
    order = key.sort_values(["s", "p", "r", "n"], kind="stable").index
    return df.iloc[order].reset_index(drop=True)
