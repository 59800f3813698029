"""Plausibility screening of hourly air-quality values (数据合理性筛查).

:func:`screen` applies named, parameterised rules to a canonical hourly air dataset (see
:func:`envq.sources.cnemc_archive.read_cnemc_archive`): every value a rule rejects is set to NaN
and logged with the rule's name and reason, so each masked value can say why it was masked.

Rules (frozen dataclasses, each with a ``name``, its parameters and a ``variables`` tuple):

- :class:`Negative` -- a concentration below zero;
- :class:`InstrumentRange` -- above what an ambient analyser can report;
- :class:`Spike` -- far above both its neighbours in time and the other stations of its city;
- :class:`Stuck` -- the same (not small) value for a day or more.

The defaults (:data:`DEFAULT_RULES`) are deliberately conservative: over the whole 2019 Hunan
extract (82 stations, 3.8 million 1-hour values) they reject 80 values: the bogus O3 = 1200 at
2484A on 2019-12-31 18:00 (a spike), 25 hours of PM2.5 stuck at 43 at 2462A (2019-03-12/13)
and 54 hours of SO2 stuck at 14 or 16 at two stations; extremes that are real, such as the
Spring Festival fireworks of 2019-02-05 (PM10 up to 670), are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import xarray as xr

from envq.canonical import AIR_POLLUTANTS

__all__ = [
    "POLLUTANTS",
    "Rule",
    "Negative",
    "InstrumentRange",
    "Spike",
    "Stuck",
    "DEFAULT_RULES",
    "LOG_COLUMNS",
    "context_hours",
    "PieceScreening",
    "rule_variables",
    "station_info",
    "screen",
    "list_screened",
]

POLLUTANTS = AIR_POLLUTANTS
LOG_COLUMNS = ["station", "time", "variable", "value", "rule", "reason"]
_DEFAULT_UNITS = {"co": "mg/m3", "co_24h_moving": "mg/m3"}
_HOUR = np.timedelta64(1, "h")


def _frozen_mapping(value) -> MappingProxyType:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class Rule:
    """Base of the screening rules.

    Subclasses set ``name`` (the label written to the log) and implement :meth:`flag`.
    ``variables`` lists the data variables a rule looks at; variables missing from the dataset
    are skipped.
    """

    name: str = "rule"
    variables: tuple = POLLUTANTS

    @property
    def context_hours(self) -> float | None:
        """How far in time (hours, either side) the verdict on one value looks at other values of
        its station: 0 for a rule of the value alone, ``None`` when unbounded or unknown.

        :func:`context_hours` of a rule list tells how much overlap a screening done piece by
        piece in time (a month at a time, :mod:`envq.air.pipeline`) needs to give exactly the
        verdicts of one pass over the whole series. A rule subclass that does not say is
        ``None``: screened in one pass."""
        return None

    def flag(self, values: np.ndarray, *, variable: str, time: np.ndarray, city: np.ndarray) -> np.ndarray:
        """Boolean array, True where ``values`` (station, time) fail the rule.

        Parameters
        ----------
        values : numpy.ndarray
            float (station, time), NaN = missing, in the variable's units.
        variable : str
            Canonical name (``"pm25"``...), to look up per-pollutant parameters.
        time : numpy.ndarray
            datetime64 (time,), increasing.
        city : numpy.ndarray
            str (station,), the station's city ("" if unknown).
        """
        raise NotImplementedError

    def reason(self, variable: str, units: str) -> str:
        """Why a value of ``variable`` was rejected (Chinese / English)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Negative(Rule):
    """A negative concentration (value < 0).

    Analysers can drift below zero near their detection limit; a negative concentration is not
    a physical value and is rejected (HJ 818-2018 treats such data as invalid).
    """

    name: str = "negative"
    context_hours = 0.0

    def flag(self, values, *, variable, time, city):
        return values < 0

    def reason(self, variable, units):
        return "负值 / negative concentration (< 0)"


#: Default full scales [ug/m3; CO mg/m3] for :class:`InstrumentRange`.
INSTRUMENT_MAXIMA = MappingProxyType(
    {
        "pm25": 10000.0,
        "pm10": 10000.0,
        "so2": 5000.0,
        "no2": 4000.0,
        "o3": 4000.0,
        "co": 60.0,
    }
)


@dataclass(frozen=True)
class InstrumentRange(Rule):
    """A value above what an ambient analyser can report.

    Parameters
    ----------
    maxima : mapping of str to float
        Largest reportable value per variable, in the variable's units (ug/m3; CO mg/m3).
        Variables without an entry are not checked.

    Notes
    -----
    Defaults (:data:`INSTRUMENT_MAXIMA`), chosen so that only values no analyser of the network
    could have produced are rejected:

    - PM2.5, PM10: 10 000 ug/m3, the high range of beta-attenuation monitors (0-1 000 or
      0-10 000 ug/m3 selectable, e.g. Met One BAM-1020). The usual specified range of the
      network's PM monitors is 0-1 000 ug/m3 (HJ 653-2013), but dust storms in northern China
      push real PM10 (and PM2.5) above 1 000 ug/m3, so 1 000 would reject real data.
    - SO2 5 000, NO2 4 000, O3 4 000 ug/m3: a 0-2 000 nmol/mol range (four times the
      0-500 nmol/mol of HJ 654-2013's gas analysers) converted at the 25 degC reference state
      (SO2 5 237, NO2 3 761, O3 3 924 ug/m3), rounded.
    - CO 60 mg/m3: the 0-50 umol/mol range of HJ 654-2013's CO analysers is 57.2 mg/m3 at
      25 degC.

    Conversion: ``ug/m3 = nmol/mol * M / 24.465`` (M in g/mol; 24.465 L/mol at 25 degC,
    101.325 kPa).
    """

    name: str = "instrument_range"
    maxima: object = field(default_factory=lambda: INSTRUMENT_MAXIMA)
    context_hours = 0.0

    def __post_init__(self):
        object.__setattr__(self, "maxima", _frozen_mapping(self.maxima))

    def flag(self, values, *, variable, time, city):
        if variable not in self.maxima:
            return np.zeros(values.shape, dtype=bool)
        return values > self.maxima[variable]

    def reason(self, variable, units):
        return f"超出仪器量程 / above the analyser's full scale ({self.maxima.get(variable)} {units})"


#: Default smallest rise [ug/m3; CO mg/m3] for :class:`Spike`.
SPIKE_JUMPS = MappingProxyType({"pm25": 300.0, "pm10": 500.0, "so2": 500.0, "no2": 300.0, "co": 10.0, "o3": 300.0})


@dataclass(frozen=True)
class Spike(Rule):
    """An isolated spike: far above its neighbours in time and the other stations of its city.

    A value ``x`` is a spike when every reference that can be computed says so, and at least
    one can:

    - in time: the nearest valid values of the same station before and after (each only if
      within ``max_gap_hours``); ``x > ratio * ref`` and ``x - ref > jump`` for each of them;
    - in space: the median ``m`` of the other stations of the same city at the same hour (only
      if at least ``min_peers`` of them report); ``x > ratio * m`` and ``x - m > jump``.

    Parameters
    ----------
    ratio : float, default 3
        How many times its references a spike must be.
    jumps : mapping of str to float
        Smallest rise above each reference, per variable, in its units (default
        :data:`SPIKE_JUMPS`: PM2.5 300, PM10 500, SO2 500, NO2 300, O3 300 ug/m3, CO 10 mg/m3).
        Variables without an entry are not checked.
    max_gap_hours : float, default 3
        A neighbour in time counts only if it is at most this many hours away.
    min_peers : int, default 2
        Fewest other stations of the city needed for the spatial reference.

    Notes
    -----
    Real pollution peaks rise over hours and cover a city (fireworks, dust, haze): they pass
    at least one of the two references. A value many times above both its own neighbours and
    its city's other stations, by an amount no local plume explains in one hour, is an
    instrument or transmission fault. The default rises sit well above the largest real
    one-hour excursions in the 2019 Hunan data (e.g. SO2 486 at background site 2492A with
    neighbours of 2, PM2.5 287 at 2487A, CO 9.9 at 1520A): only O3 = 1200 at 2484A on
    2019-12-31 18:00 (next hour 43, city median 44; 1200 is also the top of the O3 1-hour
    IAQI table, a sentinel-like value) is rejected.
    """

    name: str = "spike"
    ratio: float = 3.0
    jumps: object = field(default_factory=lambda: SPIKE_JUMPS)
    max_gap_hours: float = 3.0
    min_peers: int = 2

    def __post_init__(self):
        object.__setattr__(self, "jumps", _frozen_mapping(self.jumps))

    @property
    def context_hours(self) -> float:
        """The neighbours in time are at most ``max_gap_hours`` away (the city's peers are at
        the same hour)."""
        return float(self.max_gap_hours)

    def flag(self, values, *, variable, time, city):
        out = np.zeros(values.shape, dtype=bool)
        if variable not in self.jumps:
            return out
        jump = self.jumps[variable]
        at = np.flatnonzero(values > jump)  # x - ref > jump with ref >= 0
        if not at.size:
            return out
        s, t = np.divmod(at, values.shape[1])   # np.nonzero's order: station, then time
        x = values[s, t]

        # the references of the candidates only (a few values in millions), not of every cell
        prev_val, prev_ok, next_val, next_ok = _time_neighbours(values, time, s, t, self.max_gap_hours)
        tests = []
        for val, ok in ((prev_val, prev_ok), (next_val, next_ok)):
            tests.append((ok, (x > self.ratio * val) & (x - val > jump)))
        peer_med, n_peers = _city_peer_median(values, city, s, t)
        tests.append((n_peers >= self.min_peers, (x > self.ratio * peer_med) & (x - peer_med > jump)))

        applicable = np.zeros(x.shape, dtype=bool)
        spike = np.ones(x.shape, dtype=bool)
        for ok, says_spike in tests:
            applicable |= ok
            spike &= ~ok | says_spike
        out[s, t] = applicable & spike
        return out

    def reason(self, variable, units):
        return (
            f"孤立尖峰 / isolated spike: more than {self.ratio:g}x and {self.jumps.get(variable):g} {units} above "
            f"the station's nearest valid values within {self.max_gap_hours:g} h and the median of the city's "
            f"other stations at that hour"
        )


#: Default smallest stuck value [ug/m3; CO mg/m3] for :class:`Stuck`.
STUCK_MINIMA = MappingProxyType({"pm25": 10.0, "pm10": 10.0, "so2": 10.0, "no2": 10.0, "co": 2.0, "o3": 10.0})


@dataclass(frozen=True)
class Stuck(Rule):
    """The same value for ``hours`` or more consecutive hours (a stuck analyser or a filled gap).

    Parameters
    ----------
    hours : int, default 24
        Shortest run of identical values, in consecutive hours, to reject (all of it). A missing
        hour or a gap in the time axis ends a run.
    minima : mapping of str to float
        Only runs at or above this value are checked, per variable (default
        :data:`STUCK_MINIMA`: 10 ug/m3; CO 2 mg/m3). Variables without an entry are not checked.

    Notes
    -----
    Values are published rounded to 1 ug/m3 (CO 0.1 mg/m3), so at low levels a flat day is
    ordinary: in the 2019 Hunan data SO2 stays at 3-6 ug/m3 for up to 175 hours and CO at
    0.4-1.2 mg/m3 for up to 55 hours. Runs of at least 10 quanta (CO 20) are not explained by
    rounding: there the default rejects 25 hours of PM2.5 = 43 at 2462A (2019-03-12 21:00 to
    03-13 21:00, while its PM10 ranged 55-91) and two runs of SO2 (14 for 28 h at 2476A, 16 for
    26 h at 1508A).
    """

    name: str = "stuck"
    hours: int = 24
    minima: object = field(default_factory=lambda: STUCK_MINIMA)

    def __post_init__(self):
        object.__setattr__(self, "minima", _frozen_mapping(self.minima))

    @property
    def context_hours(self) -> float:
        """A run of ``hours`` consecutive hourly values spans ``hours - 1`` hours."""
        return float(max(self.hours - 1, 0))

    def flag(self, values, *, variable, time, city):
        if variable not in self.minima:
            return np.zeros(values.shape, dtype=bool)
        return _long_runs(values, time, self.hours, self.minima[variable])

    def reason(self, variable, units):
        return (
            f"数值卡滞 / stuck: the same value (>= {self.minima.get(variable):g} {units}) for "
            f">= {self.hours} consecutive hours"
        )


DEFAULT_RULES = (Negative(), InstrumentRange(), Spike(), Stuck())


def context_hours(rules) -> float | None:
    """How far in time the screening of one value by *rules* can look: the sum of the rules'
    :attr:`Rule.context_hours` (each rule sees what the rules before it left, so their reaches
    add up), ``None`` if any rule's is unknown.

    Screening a piece of the series with this much of the series on either side gives, inside
    the piece, exactly the verdicts of one pass over the whole series.

    >>> context_hours(DEFAULT_RULES)   # negative 0 + range 0 + spike 3 + stuck 23
    26.0
    """
    total = 0.0
    for r in rules:
        c = getattr(r, "context_hours", None)
        if c is None or not np.isfinite(c) or c < 0:
            return None
        total += float(c)
    return total


# --------------------------------------------------------------------------------------------


def screen(ds: xr.Dataset, rules=DEFAULT_RULES) -> tuple[xr.Dataset, pd.DataFrame]:
    """Screen a canonical hourly air dataset: reject implausible values, log each one.

    Parameters
    ----------
    ds : xarray.Dataset
        With dims ``station`` and ``time`` (increasing), the variables the rules name (the six
        pollutants by default; missing ones are skipped) in their canonical units (ug/m3, CO
        mg/m3) and, for :class:`Spike`'s spatial reference, a ``city`` station coord.
    rules : sequence of Rule, default DEFAULT_RULES
        Applied in order; each sees the values left by the rules before it, and a rejected
        value is logged once, under the first rule that rejects it.

    Returns
    -------
    clean : xarray.Dataset
        ``ds`` with the rejected values set to NaN; ``attrs["screening_rules"]`` lists the
        rules (their repr) and ``attrs["screened_values"]`` their count.
    log : pandas.DataFrame
        One row per rejected value, columns ``station, time, variable, value, rule, reason``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> time = pd.date_range("2019-01-01 01:00", periods=5, freq="h")
    >>> ds = xr.Dataset(
    ...     {"o3": (("station", "time"), [[40.0, 42, 1200, 45, 44], [38, 40, -3, 41, 43]])},
    ...     coords={"station": ["A", "B"], "time": time, "city": ("station", ["X", "X"])},
    ... )
    >>> clean, log = screen(ds)
    >>> log[["station", "variable", "value", "rule"]].to_numpy().tolist()
    [['B', 'o3', -3.0, 'negative'], ['A', 'o3', 1200.0, 'spike']]
    >>> float(clean.o3.sel(station="A").max())
    45.0
    """
    work, blocks = _screen_arrays(ds, rules)
    clean = _clean(ds, work, rules)
    log = pd.concat([b.rows for b in blocks], ignore_index=True) if blocks else _empty_log()
    clean.attrs["screened_values"] = len(log)
    return clean, log


@dataclass
class _Block:
    """The log rows of one rule (position ``k`` in the rules) and one variable (position ``j`` in
    the rule's ``variables``), in the order of :func:`numpy.nonzero` (station, then time)."""

    k: int
    j: int
    s: np.ndarray          # station positions
    rows: pd.DataFrame     # LOG_COLUMNS


def _screen_arrays(ds: xr.Dataset, rules) -> tuple[dict[str, np.ndarray], list[_Block]]:
    """The work of :func:`screen`: the screened values (station, time) of each variable the
    rules name, and the log rows by rule and variable."""
    if "station" not in ds.dims or "time" not in ds.dims:
        raise ValueError(f"screen() needs dims 'station' and 'time'; the dataset has {tuple(ds.dims)}")
    time = np.asarray(ds["time"].values)
    if time.size > 1 and not (np.diff(time) > np.timedelta64(0, "ns")).all():
        raise ValueError("screen() needs a strictly increasing time coordinate; sort the dataset first")
    work = {v: ds[v].transpose("station", "time").values.astype(float) for v in rule_variables(ds, rules)}
    return work, _screen_values(work, rules, **station_info(ds))


def rule_variables(ds: xr.Dataset, rules) -> list[str]:
    """The variables of *ds* some rule looks at, in the order the rules name them."""
    return list(dict.fromkeys(v for r in rules for v in r.variables if v in ds.data_vars))


def station_info(ds: xr.Dataset) -> dict:
    """What the rules and the log read of *ds* besides the values: ``time``, ``city`` (str per
    station, "" without a ``city`` coord), ``stations`` and the ``units`` of each variable."""
    city = (
        np.asarray(ds["city"].values, dtype=str)
        if "city" in ds.coords
        else np.full(ds.sizes["station"], "", dtype=str)
    )
    return {"time": np.asarray(ds["time"].values), "city": city, "stations": np.asarray(ds["station"].values),
            "units": {v: ds[v].attrs.get("units", _DEFAULT_UNITS.get(v, "ug/m3")) for v in ds.data_vars}}


def _screen_values(work: dict[str, np.ndarray], rules, *, time, city, stations, units,
                   shared: bool = False) -> list[_Block]:
    """Apply *rules* in order to the arrays (station, time) of *work*, in place (a rejected value
    becomes NaN): the log rows by rule and variable. *shared*: the arrays are not *work*'s to
    change; an array a rule rejects values of is copied first (and replaced in *work*)."""
    blocks = []
    own = set() if shared else set(work)
    for k, rule in enumerate(rules):
        for j, var in enumerate(rule.variables):
            if var not in work:
                continue
            values = work[var]
            bad = np.asarray(rule.flag(values, variable=var, time=time, city=city), dtype=bool)
            if not bad.any():   # (most rules on most months: no need to look at the NaN)
                continue
            bad &= ~np.isnan(values)
            if not bad.any():
                continue
            if var not in own:
                values = work[var] = values.copy()
                own.add(var)
            s, t = np.nonzero(bad)
            rows = pd.DataFrame(
                {
                    "station": stations[s].astype(str),
                    "time": time[t],
                    "variable": var,
                    "value": values[s, t],
                    "rule": rule.name,
                    "reason": rule.reason(var, units.get(var, _DEFAULT_UNITS.get(var, "ug/m3"))),
                }
            )
            blocks.append(_Block(k, j, s, rows))
            values[bad] = np.nan
    return blocks


def _clean(ds: xr.Dataset, work: dict[str, np.ndarray], rules) -> xr.Dataset:
    clean = ds.copy()
    for var, values in work.items():
        clean[var] = ds[var].copy(data=values if ds[var].dims == ("station", "time") else values.T)
    clean.attrs["screening_rules"] = [repr(r) for r in rules]
    return clean


class PieceScreening:
    """Screening of a long series one piece of time at a time, with exactly the verdicts and the
    log of one :func:`screen` over the whole series (so that memory is bounded by a piece).

    Give :meth:`piece` each piece of the series (labels ``first..last``) together with at least
    :func:`context_hours` of the series on either side where the series has them; it returns the
    screened piece. :meth:`log` gives the log of all the pieces in the order :func:`screen` gives
    it (by rule, variable, station, time).

    Parameters
    ----------
    rules : sequence of Rule
        As :func:`screen`; their :func:`context_hours` must be known.
    """

    def __init__(self, rules=DEFAULT_RULES):
        self.rules = tuple(rules)
        self.context_hours = context_hours(self.rules)
        if self.context_hours is None:
            raise ValueError("these screening rules do not say how far in time they look "
                             "(Rule.context_hours); screen the whole series with screen()")
        self._blocks: list[tuple[_Block, np.ndarray]] = []

    def piece(self, ds: xr.Dataset, first, last) -> xr.Dataset:
        """The labels ``first..last`` of *ds*, screened (*ds* holds the context around them)."""
        work, blocks = _screen_arrays(ds, self.rules)
        i0, i1 = self._keep(blocks, np.asarray(ds["time"].values), first, last)
        # (station, time) C-ordered, as screen() gives them (a mask would give the transpose)
        work = {v: np.ascontiguousarray(a[:, i0:i1]) for v, a in work.items()}
        return _clean(ds.isel(time=slice(i0, i1)), work, self.rules)

    def screen_values(self, work: dict[str, np.ndarray], first, last, *, time, city, stations, units
                      ) -> tuple[int, int]:
        """:meth:`piece` on NumPy arrays: screen *work* (the arrays (station, time) of the
        variables the rules look at, :func:`rule_variables`; float64) whose labels are *time* and
        the other arguments those of :func:`station_info`; log the verdicts on the labels
        ``first..last`` and return their positions ``(i0, i1)`` in *time*. The arrays themselves
        are left alone: a variable with values rejected is replaced in *work* by a screened copy."""
        blocks = _screen_values(work, self.rules, time=time, city=city, stations=stations, units=units, shared=True)
        return self._keep(blocks, np.asarray(time), first, last)

    def dataset(self, ds: xr.Dataset, work: dict[str, np.ndarray]) -> xr.Dataset:
        """*ds* (the labels of a piece) with the screened values *work* of :meth:`screen_values`
        in place of its own, as :meth:`piece` returns it."""
        return _clean(ds, work, self.rules)

    def _keep(self, blocks: list[_Block], time: np.ndarray, first, last) -> tuple[int, int]:
        """Keep the log rows of the labels ``first..last``; their positions ``(i0, i1)``."""
        inside = (time >= np.datetime64(first)) & (time <= np.datetime64(last))
        i0, i1 = np.searchsorted(time, np.datetime64(first), "left"), np.searchsorted(time, np.datetime64(last), "right")
        for b in blocks:
            keep = inside[np.searchsorted(time, b.rows["time"].to_numpy(dtype=time.dtype))]
            if keep.any():
                self._blocks.append((_Block(b.k, b.j, b.s[keep], b.rows[keep]), b.rows["time"].to_numpy()[keep]))
        return int(i0), int(i1)

    def log(self) -> pd.DataFrame:
        """The log of every piece so far, in the order of one :func:`screen` of the whole series."""
        if not self._blocks:
            return _empty_log()
        rows = pd.concat([b.rows for b, _ in self._blocks], ignore_index=True)
        k = np.concatenate([np.full(len(b.rows), b.k) for b, _ in self._blocks])
        j = np.concatenate([np.full(len(b.rows), b.j) for b, _ in self._blocks])
        s = np.concatenate([b.s for b, _ in self._blocks])
        t = np.concatenate([t for _, t in self._blocks])
        return rows.iloc[np.lexsort((t, s, j, k))].reset_index(drop=True)


def list_screened(log: pd.DataFrame, *, station=None, variable=None, rule=None, start=None, end=None) -> pd.DataFrame:
    """Rows of a screening log matching all the given filters.

    Parameters
    ----------
    log : pandas.DataFrame
        As returned by :func:`screen`.
    station, variable, rule : str or list of str, optional
    start, end : str or datetime-like, optional
        Inclusive bounds on ``time``.
    """
    keep = np.ones(len(log), dtype=bool)
    for col, want in (("station", station), ("variable", variable), ("rule", rule)):
        if want is not None:
            keep &= log[col].isin([want] if isinstance(want, str) else list(want)).to_numpy()
    if start is not None:
        keep &= (log["time"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (log["time"] <= pd.Timestamp(end)).to_numpy()
    return log[keep]


# --------------------------------------------------------------------------------------------
# vectorised helpers


def _empty_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station": pd.Series([], dtype=str),
            "time": pd.Series([], dtype="datetime64[ns]"),
            "variable": pd.Series([], dtype=str),
            "value": pd.Series([], dtype=float),
            "rule": pd.Series([], dtype=str),
            "reason": pd.Series([], dtype=str),
        }
    )


def _time_neighbours(values: np.ndarray, time: np.ndarray, s: np.ndarray, t: np.ndarray, max_gap_hours: float):
    """The nearest valid value before and after each cell ``(s[i], t[i])`` of its station, and
    whether there is one at most *max_gap_hours* away: ``(prev_val, prev_ok, next_val, next_ok)``,
    each of the cells' shape (a value is NaN where its flag is False).

    Steps away from the cells one label at a time and stops at the first valid value or the
    first label more than *max_gap_hours* away (the distance only grows, the time axis being
    increasing): the cost is cells x labels within the gap, not the whole array.
    """
    n_time = values.shape[1]
    hours = (time - time[0]) / _HOUR if n_time else np.zeros(0)
    out = []
    for direction in (-1, 1):
        val = np.full(s.shape, np.nan)
        ok = np.zeros(s.shape, dtype=bool)
        todo = np.arange(s.size)
        step = 1
        while todo.size:
            k = t[todo] + direction * step
            inside = (k >= 0) & (k < n_time)
            todo, k = todo[inside], k[inside]
            gap = hours[t[todo]] - hours[k] if direction < 0 else hours[k] - hours[t[todo]]
            near = gap <= max_gap_hours
            todo, k = todo[near], k[near]
            v = values[s[todo], k]
            hit = ~np.isnan(v)
            val[todo[hit]] = v[hit]
            ok[todo[hit]] = True
            todo = todo[~hit]
            step += 1
        out += [val, ok]
    return tuple(out)


def _city_peer_median(values: np.ndarray, city: np.ndarray, s: np.ndarray, t: np.ndarray):
    """Median and count of the valid values of the other stations of each cell's city."""
    codes, inverse = np.unique(city, return_inverse=True)
    inverse = inverse.ravel()
    # one row per city, its stations in order (a stable sort groups them), -1 = padding
    order = np.argsort(inverse, kind="stable")
    sizes = np.bincount(inverse, minlength=codes.size)
    width = max(int(sizes.max()) if sizes.size else 0, 1)
    rank = np.arange(order.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    table = np.full((codes.size, width), -1)
    table[inverse[order], rank] = order
    peers = table[inverse[s]]  # (n, width) station indices of the city, -1 = padding
    peers = np.where((peers == s[:, None]) | (codes[inverse[s]] == "")[:, None], -1, peers)
    vals = np.where(peers >= 0, values[np.clip(peers, 0, None), t[:, None]], np.nan)
    n = (~np.isnan(vals)).sum(axis=1)
    with np.errstate(all="ignore"):
        med = np.full(len(s), np.nan)
        has = n > 0
        if has.any():
            med[has] = np.nanmedian(vals[has], axis=1)
    return med, n


def _long_runs(values: np.ndarray, time: np.ndarray, hours: int, minimum: float) -> np.ndarray:
    """True on every cell of a run of at least *hours* identical consecutive values that are
    ``>= minimum`` (along the last axis).

    NaN, and a gap of more than one hour in the time axis, end a run. Only the runs of values
    ``>= minimum`` are measured (a run holds one value, so it is all above or all below): a run
    of n cells is a stretch of n - 1 cells equal to the one before.
    """
    cand = values >= minimum
    if hours <= 1 or values.size == 0:
        return cand
    # n >= hours consecutive positions hold at least k = hours // c multiples of c = hours // 4,
    # consecutive ones: a run's values there are all equal (and >= minimum, as the run). Only
    # stations with k such samples in a row can hold a run (a quarter of the values is read).
    c = max(hours // 4, 1)
    k = hours // c
    if c > 1 and k >= 2 and values.shape[1] >= c * k:
        v = values[:, ::c]
        eq = (v[:, 1:] == v[:, :-1]) & cand[:, ::c][:, 1:]
        run = eq[:, : eq.shape[1] - (k - 2)].copy()
        for j in range(1, k - 1):   # k samples in a row: k - 1 equal pairs in a row
            run &= eq[:, j: eq.shape[1] - (k - 2) + j]
        rows = np.flatnonzero(run.any(axis=1))
        out = np.zeros(values.shape, dtype=bool)
        if rows.size:
            out[rows] = _long_runs(values[rows], time, hours, minimum) if rows.size < values.shape[0] \
                else _long_runs_all(values, cand, time, hours)
        return out
    return _long_runs_all(values, cand, time, hours)


def _long_runs_all(values: np.ndarray, cand: np.ndarray, time: np.ndarray, hours: int) -> np.ndarray:
    """:func:`_long_runs` measured on every station (*cand*: ``values >= minimum``)."""
    # same[:, i]: value i equals value i - 1, both >= minimum, one hour apart
    same = values[:, 1:] == values[:, :-1]
    same &= cand[:, 1:]
    same &= (np.diff(time) == _HOUR)[None, :]
    # a long run is a stretch of >= hours - 1 cells, which holds a whole block [k b, (k + 1) b) of
    # b = hours // 2 cells (a stretch of >= 2 b - 1 does): only the stations with such a block of
    # `same` cells can have one, and only their rows are measured
    b = hours // 2
    nb = same.shape[1] // b
    rows = np.flatnonzero(same[:, : nb * b].reshape(same.shape[0], nb, b).all(axis=2).any(axis=1))
    out = np.zeros(values.shape, dtype=bool)
    if not rows.size:
        return out
    # same[:, 0] is False: a stretch never crosses from one station to the next
    same = np.concatenate([np.zeros((rows.size, 1), dtype=bool), same[rows]], axis=1)
    edges = np.diff(same.ravel().view(np.int8), prepend=np.int8(0), append=np.int8(0))
    first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)   # stretches [first, stop)
    long = stop - first + 1 >= hours
    if not long.any():
        return out
    mark = np.zeros(same.size + 1, dtype=np.int8)   # +1 where a long run starts, -1 after it
    mark[first[long] - 1] += 1      # the run starts one cell before its stretch (same[:, 0] is False)
    mark[stop[long]] -= 1
    out[rows] = np.cumsum(mark[:-1], dtype=np.int8).astype(bool).reshape(same.shape)
    return out
