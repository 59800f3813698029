"""Plausibility screening of water readings: impossible values removed, each with its reason.

A screened value is removed from the data used for classes and means and listed, with its rule
and reason, in a separate table; nothing is dropped silently. Screening is not part of GB 3838:
the official platform does its own (e.g. it ignored an NH3-N of 3.0 at 澧水三江口 on 2026-08-04
01:00-04:00 while neighbouring readings were below 0.01 mg/L).

Rules (frozen dataclasses, as :mod:`envq.air.screening`), applied in order; a value is listed
under the first rule that rejects it:

- :class:`Negative` -- a concentration below zero (every item but pH and water temperature);
- :class:`PlausibleRange` -- outside the item's bounds, read from data:
  ``envq/data/water/screening.yaml`` (:data:`SCREENING_FILE`), one entry per item with its
  bounds, the reason written with each removal and the source of the bound
  (:func:`load_ranges`; :data:`PLAUSIBLE_RANGES` holds the bundled table);
- :class:`Spike` (optional, ``spike_factor``) -- an isolated value far above the section's
  running median (the 澧水三江口 pattern).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["SCREENING_FILE", "PLAUSIBLE_RANGES", "SCREENED_COLUMNS", "Negative", "PlausibleRange", "Spike",
           "load_ranges", "range_sources", "screen", "screen_readings"]

#: The bundled screening table.
SCREENING_FILE = Path(__file__).resolve().parents[1] / "data" / "water" / "screening.yaml"
#: Items that are not concentrations: their own bounds, no :class:`Negative` rule.
NOT_CONCENTRATIONS = ("ph", "water_temp")
_NONNEGATIVE = "a negative concentration is physically impossible"


@functools.lru_cache(maxsize=8)
def _load(path: str) -> tuple:
    import yaml

    from envq.errors import InputError

    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(path, None, None, None, f"is not valid YAML ({exc})") from None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, dict) or not items:
        raise InputError(path, None, "items", None, "is missing: a screening file has an `items:` table")
    out = []
    for item, spec in items.items():
        if not isinstance(spec, dict):
            raise InputError(path, None, str(item), spec, "is not a table with low/high/reason/source")
        missing = [k for k in ("high", "reason", "source") if k not in spec]
        if missing:
            raise InputError(path, None, str(item), None, f"lacks {', '.join(missing)} (every bound carries its "
                             "reason and source)")
        low, high = spec.get("low", 0), spec["high"]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (low, high)) or not low < high:
            raise InputError(path, None, str(item), f"{low}..{high}", "is not a range low < high of numbers")
        out.append((str(item), float(low), float(high), str(spec["reason"]), str(spec["source"])))
    return tuple(out)


def load_ranges(path=None) -> MappingProxyType:
    """The screening table: item -> ``(low, high, reason)`` in canonical units.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A screening YAML (default :data:`SCREENING_FILE`).

    Examples
    --------
    >>> load_ranges()["nh3n"][:2]
    (0.0, 100.0)
    """
    return MappingProxyType({item: (low, high, reason) for item, low, high, reason, _ in _load(str(path or SCREENING_FILE))})


def range_sources(path=None) -> dict:
    """item -> the source of its bounds (for documentation and listings)."""
    return {item: source for item, *_, source in _load(str(path or SCREENING_FILE))}


#: The bundled table, item -> (lowest plausible, highest plausible, reason); outside = removed.
PLAUSIBLE_RANGES = load_ranges()

#: Columns a screened table adds to the readings' columns.
SCREENED_COLUMNS = ["rule", "reason"]


@dataclass(frozen=True)
class Negative:
    """A concentration below zero (not pH, not water temperature, which have their own bounds)."""

    name: str = "negative"
    exempt: tuple = NOT_CONCENTRATIONS

    def flag(self, long: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        v = long["value"].to_numpy(np.float64)
        bad = (v < 0) & ~long["item"].isin(self.exempt).to_numpy()
        return bad, np.full(len(v), _NONNEGATIVE, dtype=object)


@dataclass(frozen=True)
class PlausibleRange:
    """Outside the item's ``(low, high, reason)`` bounds (:func:`load_ranges`); items without
    bounds are not checked here."""

    ranges: object = None
    name: str = "plausible_range"

    def flag(self, long: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        ranges = PLAUSIBLE_RANGES if self.ranges is None else self.ranges
        items = long["item"]
        lo = items.map({k: r[0] for k, r in ranges.items()}).to_numpy(np.float64)
        hi = items.map({k: r[1] for k, r in ranges.items()}).to_numpy(np.float64)
        why = items.map({k: r[2] for k, r in ranges.items()}).to_numpy(object)
        v = long["value"].to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            bad = (v < lo) | (v > hi)  # NaN bounds (item not listed) compare False
        return bad, why


@dataclass(frozen=True)
class Spike:
    """An isolated spike: above ``factor`` x the larger of the Class I limit and the running median
    of the section's ``window`` readings of that item centred on it (automatic data only)."""

    factor: float = 10.0
    window: int = 25
    name: str = "spike"

    def flag(self, long: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        bad = _spikes(long, self.factor, self.window)
        reason = (f"isolated spike: more than {self.factor:g} x the section's running median (and the Class I "
                  "limit)")
        return bad, np.full(len(bad), reason, dtype=object)


def screen(long: pd.DataFrame, *, ranges=None, spike_factor: float | None = None,
           spike_window: int = 25) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a canonical long table into plausible values and screened values with reasons.

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table (``section, time, item, value, ...``).
    ranges : mapping, optional
        item -> (low, high, reason); default :data:`PLAUSIBLE_RANGES` (the bundled
        ``screening.yaml``). Items not listed must not be negative.
    spike_factor : float, optional
        Also screen a value above ``spike_factor`` times the larger of the Class I limit and the
        running median of the section's ``spike_window`` readings of that item centred on it
        (automatic data only). Off by default.
    spike_window : int
        Readings in the centred window for the spike rule.

    Returns
    -------
    (kept, screened) : tuple of pandas.DataFrame
        ``kept`` has the rows of ``long`` that passed; ``screened`` the others, with the columns
        ``rule`` (``negative``, ``plausible_range``, ``spike``) and ``reason``.

    Examples
    --------
    >>> t = pd.DataFrame({"section": ["a", "a", "a", "a"], "time": pd.to_datetime(["2026-07-01"] * 4),
    ...                   "item": ["ph", "tp", "do", "nh3n"], "value": [15.0, -0.1, 8.0, 99999.0]})
    >>> kept, out = screen(t)
    >>> len(kept), out[["item", "rule"]].values.tolist()
    (1, [['ph', 'plausible_range'], ['tp', 'negative'], ['nh3n', 'plausible_range']])
    >>> out["reason"].tolist()[0]
    'pH outside 0-14 is physically impossible'
    """
    table = PLAUSIBLE_RANGES if ranges is None else ranges
    rules = [Negative(exempt=tuple(i for i in NOT_CONCENTRATIONS if i in table)), PlausibleRange(table)]
    if spike_factor is not None:
        rules.append(Spike(spike_factor, spike_window))
    n = len(long)
    bad = np.zeros(n, dtype=bool)
    rule = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    if n:
        for r in rules:
            hit, why = r.flag(long)
            hit = hit & ~bad
            rule[hit], reason[hit] = r.name, why[hit]
            bad |= hit
    screened = long[bad].copy()
    screened["rule"] = rule[bad]
    screened["reason"] = reason[bad]
    return long[~bad], screened


def _automatic(long: pd.DataFrame) -> np.ndarray:
    return long["source_kind"].eq("automatic").to_numpy() if "source_kind" in long else np.ones(len(long), bool)


def _spikes(long: pd.DataFrame, factor: float, window: int) -> np.ndarray:
    from envq.water._table import gb3838

    g = gb3838()
    out = np.zeros(len(long), dtype=bool)
    df = long.assign(_i=np.arange(len(long)))[_automatic(long)].sort_values(["section", "item", "time"])
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

    ``screened`` is a long table (``section, time, item, value, file, row, rule, reason``).
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
