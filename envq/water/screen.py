"""Plausibility screening of water readings: physically impossible values, with their reason.

A screened value is removed from the data used for classes and means and listed, with its
reason, in a separate table; nothing is dropped silently. Screening is a parameterised rule
(:data:`PLAUSIBLE_RANGES`), not part of GB 3838: the official platform does its own screening
(e.g. it ignored an NH3-N of 3.0 at 澧水三江口 on 2026-08-04 01:00-04:00 while neighbouring
readings were below 0.01 mg/L). The optional spike rule (``spike_factor``) catches such isolated
values and is off by default.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLAUSIBLE_RANGES", "screen", "screen_readings"]

#: item -> (lowest plausible, highest plausible, reason) in canonical units. Outside = impossible.
PLAUSIBLE_RANGES = {
    "ph": (0.0, 14.0, "pH outside 0-14 is physically impossible"),
    "do": (0.0, 40.0, "DO outside 0-40 mg/L is physically impossible in surface water (saturation at 0 degC is 14.6 mg/L)"),
    "water_temp": (-2.0, 50.0, "water temperature outside -2..50 degC is impossible for Hunan surface water"),
    "chla": (0.0, 2000.0, "chlorophyll a above 2000 mg/m3 (ug/L): check the unit (the CNEMC header says mg/L)"),
}
_NONNEGATIVE = "a negative concentration is physically impossible"


def _bounds(items: np.ndarray, ranges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = pd.unique(items)
    lo = {c: ranges.get(c, (0.0, np.inf, _NONNEGATIVE))[0] for c in codes}
    hi = {c: ranges.get(c, (0.0, np.inf, _NONNEGATIVE))[1] for c in codes}
    why = {c: ranges.get(c, (0.0, np.inf, _NONNEGATIVE))[2] for c in codes}
    s = pd.Series(items)
    return s.map(lo).to_numpy(float), s.map(hi).to_numpy(float), s.map(why).to_numpy(object)


def screen(long: pd.DataFrame, *, ranges=None, spike_factor: float | None = None,
           spike_window: int = 25) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a canonical long table into plausible values and screened values with reasons.

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table (``section, time, item, value, ...``).
    ranges : dict, optional
        item -> (low, high, reason); default :data:`PLAUSIBLE_RANGES`. Items not listed must
        not be negative.
    spike_factor : float, optional
        Also screen a value above ``spike_factor`` times the larger of the Class I limit and the
        median of the section's ``spike_window`` readings of that item centred on it (automatic
        data only). Off by default.
    spike_window : int
        Readings in the centred window for the spike rule.

    Returns
    -------
    (kept, screened) : tuple of pandas.DataFrame
        ``kept`` has the rows of ``long`` that passed; ``screened`` the others, with a
        ``reason`` column.

    Examples
    --------
    >>> t = pd.DataFrame({"section": ["a", "a", "a"], "time": pd.to_datetime(["2026-07-01"] * 3),
    ...                   "item": ["ph", "tp", "do"], "value": [15.0, -0.1, 8.0]})
    >>> kept, out = screen(t)
    >>> len(kept), out["reason"].tolist()
    (1, ['pH outside 0-14 is physically impossible', 'a negative concentration is physically impossible'])
    """
    ranges = PLAUSIBLE_RANGES if ranges is None else ranges
    v = long["value"].to_numpy(np.float64)
    items = long["item"].to_numpy(object)
    lo, hi, why = _bounds(items, ranges)
    bad = (v < lo) | (v > hi)
    reason = np.where(bad, why, None)
    if spike_factor is not None and len(long):
        spike = _spikes(long, spike_factor, spike_window) & ~bad
        reason = np.where(spike, "isolated spike: more than "
                          f"{spike_factor:g} x the section's running median (and the Class I limit)", reason)
        bad |= spike
    screened = long[bad].copy()
    screened["reason"] = reason[bad]
    return long[~bad], screened


def _spikes(long: pd.DataFrame, factor: float, window: int) -> np.ndarray:
    from envq.water._table import gb3838

    g = gb3838()
    out = np.zeros(len(long), dtype=bool)
    auto = long["source_kind"].eq("automatic").to_numpy() if "source_kind" in long else np.ones(len(long), bool)
    df = long.assign(_i=np.arange(len(long)))[auto].sort_values(["section", "item", "time"])
    med = (df.groupby(["section", "item"], sort=False)["value"]
             .transform(lambda s: s.rolling(window, center=True, min_periods=3).median()))
    floor = df["item"].map(lambda c: g.items[c].limits[0] if c in g.items and g.items[c].limits and
                           g.items[c].direction == "upper" else np.inf).to_numpy(float)
    ref = np.maximum(med.to_numpy(float), floor)
    hit = df["value"].to_numpy(float) > factor * ref
    out[df["_i"].to_numpy()[hit]] = True
    return out


def screen_readings(readings: pd.DataFrame, items, *, ranges=None, spike_factor=None,
                    spike_window: int = 25) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Screen canonical wide readings: impossible cells become NaN; returns (readings, screened).

    ``screened`` is a long table (``section, time, item, value, file, row, reason``).
    """
    codes = [c for c in items if c in readings.columns]
    vals = readings[codes].to_numpy(np.float64)
    ii, jj = np.nonzero(np.isfinite(vals))
    long = pd.DataFrame({
        "section": readings["section"].to_numpy(object)[ii],
        "time": readings["time"].to_numpy()[ii],
        "item": np.asarray(codes, dtype=object)[jj],
        "value": vals[ii, jj],
        "source_kind": "automatic",
        "file": readings["file"].to_numpy(object)[ii] if "file" in readings else "",
        "row": readings["row"].to_numpy()[ii] if "row" in readings else ii + 2,
        "_pos": ii,
        "_col": jj,
    })
    _, screened = screen(long, ranges=ranges, spike_factor=spike_factor, spike_window=spike_window)
    out = readings.copy()
    if len(screened):
        vals = vals.copy()
        vals[screened["_pos"].to_numpy(), screened["_col"].to_numpy()] = np.nan
        for j, code in enumerate(codes):
            out[code] = vals[:, j]
    return out, screened.drop(columns=["_pos", "_col", "source_kind"]).reset_index(drop=True)
