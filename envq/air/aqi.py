"""Individual and overall Air Quality Index (IAQI, AQI) per HJ 633-2012 and HJ 633-2026.

Everything a rule needs (breakpoints, rounding, the SO2-1h and O3-8h "above 800" rules, which
terms make up the hourly and the daily report, publication with a pollutant missing, categories
and colours) is read from the standards files ``envq/standards/hj633_*.yaml``; this module only
applies them.

Arithmetic is exact. Concentrations are first rounded per GB/T 8170 (integers; CO to 0.1 mg/m3),
then scaled to integers, so that the interpolation

    IAQI = IAQI_Lo + ceil((IAQI_Hi - IAQI_Lo) * (C - BP_Lo) / (BP_Hi - BP_Lo))

is evaluated in int64 with an exact ceiling: an exact breakpoint never becomes 100.00000001 -> 101.

Results keep their provenance: which edition and report variant was applied, which pollutants
were missing and which publication rule of the edition then applied.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq._rounding import ceil_div, round_scaled
from envq.canonical import AIR_POLLUTANTS

__all__ = [
    "POLLUTANTS",
    "PUBLICATION",
    "UNKNOWN_IAQI",
    "AqiEdition",
    "aqi_edition",
    "iaqi",
    "compute_aqi",
    "hourly_aqi",
    "daily_aqi",
    "category_table",
    "moving_mean",
]

#: Canonical pollutant names, in the order of the canonical hourly dataset.
POLLUTANTS = AIR_POLLUTANTS

#: Codes of the ``publication`` variable: which publication rule applied to a result.
PUBLICATION = {
    0: "complete: every pollutant in the monitoring plan present",
    1: "partial, published: computed over the pollutants present",
    2: "partial, withheld: a pollutant missing and AQI <= 100 (HJ 633-2026 §5.3), AQI is NA",
    3: "no data: no pollutant present",
    4: "undetermined: a pollutant's IAQI unknown and it could change the AQI (HJ 633-2012 Table 1 "
       "notes 2-3: SO2 1-hour above 800 without the 24-hour SO2, O3 8-hour above 800 without the "
       "1-hour O3), AQI is NA",
    5: "determined at the cap: a pollutant's IAQI unknown (as in 4) but the others already reach "
       "the AQI's maximum 500, so no value of it can change the AQI; it is named as primary or "
       "over-standard only as the unknown_iaqi parameter says",
}

#: Values of the ``unknown_iaqi`` parameter: how a pollutant whose IAQI is unknown (publication 5)
#: enters the primary and over-standard pollutant lists.
UNKNOWN_IAQI = {
    "known": "name only pollutants whose IAQI is known to qualify (default)",
    "possible": "also name the pollutant whose IAQI is unknown where it could qualify",
}


@dataclasses.dataclass(frozen=True)
class _Table:
    name: str
    pollutant: str
    bp: np.ndarray  # int64, concentration breakpoints scaled by 10**decimals
    levels: np.ndarray  # int64, IAQI at each breakpoint
    decimals: int

    @property
    def full(self) -> bool:
        return bool(self.levels[-1] == 500)


@dataclasses.dataclass(frozen=True)
class _Term:
    term: str
    pollutant: str
    input: str
    table: str
    label_zh: str
    label_en: str


@dataclasses.dataclass(frozen=True)
class AqiEdition:
    """One HJ 633 edition, prepared for vectorised evaluation. Build with :func:`aqi_edition`."""

    id: str
    number: str
    doc: Mapping
    tables: Mapping[str, _Table]
    aqi_min: int
    aqi_max: int

    def report(self, report: str, variant: str | None = None) -> tuple[str, list[_Term], list[_Term]]:
        """(variant, terms, fallback terms) of the ``hourly`` or ``daily`` report."""
        if report not in self.doc["reports"]:
            raise ValueError(f"{self.number} has no {report!r} report; available: "
                             f"{', '.join(self.doc['reports'])}")
        spec = self.doc["reports"][report]
        variant = variant or spec["default_variant"]
        if variant not in spec["variants"]:
            raise ValueError(
                f"{self.number} has no {report} report variant {variant!r}; "
                f"available: {', '.join(spec['variants'])}"
            )
        v = spec["variants"][variant]
        labels = self.doc["pollutant_labels"]

        def mk(t):
            return _Term(t["term"], t["pollutant"], t["input"], t["table"],
                         labels[t["term"]]["zh"], labels[t["term"]]["en"])

        return variant, [mk(t) for t in v["terms"]], [mk(t) for t in v["fallback_terms"]]

    @property
    def categories(self) -> pd.DataFrame:
        return category_table(self.id)


@functools.cache
def aqi_edition(edition: str) -> AqiEdition:
    """Prepare an HJ 633 edition (``"hj633_2012"`` or ``"hj633_2026"``) for computation."""
    doc = standards.load(edition)
    if doc["kind"] != "aqi":
        raise ValueError(f"{edition} is not an AQI standard")
    levels = np.asarray(doc["iaqi_levels"], dtype=np.int64)
    tables = {}
    for name, spec in doc["breakpoints"].items():
        pollutant = name.split("_")[0]
        dec = doc["concentration_decimals"][pollutant]
        vals = spec["values"]
        n = next((i for i, v in enumerate(vals) if v is None), len(vals))
        bp = np.rint(np.asarray(vals[:n], dtype=np.float64) * 10**dec).astype(np.int64)
        if np.any(np.diff(bp) <= 0):
            raise ValueError(f"{edition}: breakpoints of {name} are not increasing")
        tables[name] = _Table(name, pollutant, bp, levels[:n], dec)
    for rname, rule in doc["special_rules"].items():
        if rule["table"] not in tables:
            raise ValueError(f"{edition}: special rule {rname} names unknown table {rule['table']!r}")
    for report in doc["reports"].values():
        for v in report["variants"].values():
            for t in v["terms"] + v["fallback_terms"]:
                if t["table"] not in tables or t["term"] not in doc["pollutant_labels"]:
                    raise ValueError(f"{edition}: term {t['term']} refers to an unknown table or label")
    rng = doc["aqi_range"]
    return AqiEdition(edition, doc["number"], doc, tables, int(rng["min"]), int(rng["max"]))


@functools.cache
def category_table(edition: str = "hj633_2012") -> pd.DataFrame:
    """The six AQI categories of an edition: level, Chinese and English names, official colour.

    Examples
    --------
    >>> category_table("hj633_2026").loc[3, ["category_zh", "hex"]].tolist()
    ['轻度污染', '#FF7E00']
    """
    doc = standards.load(edition)
    return pd.DataFrame(doc["categories"]).set_index("level")


def iaqi(concentration, table: str, *, edition: str = "hj633_2012", cap_above_top: bool = True,
         rounded: bool = False) -> np.ndarray:
    """Individual AQI of one pollutant against one breakpoint column.

    Parameters
    ----------
    concentration : array_like
        Concentrations [ug/m3; CO mg/m3]; NaN = missing.
    table : str
        Breakpoint column, e.g. ``"pm25_24h"``, ``"so2_1h"``, ``"o3_8h"``.
    edition : str
        ``"hj633_2012"`` or ``"hj633_2026"``.
    cap_above_top : bool
        A concentration above the IAQI-500 breakpoint gets 500 (HJ 633-2026 §4.1.1 bounds AQI to
        1..500; the 2012 text gives no formula there) — envq's choice, [U]. ``False`` gives NaN.
        Columns that stop below 500 (SO2 1-hour at 800, O3 8-hour at 800) give NaN above their
        last breakpoint: the edition's special rules decide those (see :func:`compute_aqi`).
    rounded : bool
        The input is already rounded per GB/T 8170 (skip the rounding step).

    Returns
    -------
    numpy.ndarray of float64: integer IAQIs, NaN where missing or undefined.

    Notes
    -----
    IAQI_P = (IAQI_Hi - IAQI_Lo)/(BP_Hi - BP_Lo) * (C_P - BP_Lo) + IAQI_Lo, rounded up
    (HJ 633-2012 §6.2; HJ 633-2026 §4.2.6), after rounding C_P per GB/T 8170 (HJ 633-2026
    §4.2.2-4.2.3). Evaluated exactly in integers.

    References
    ----------
    HJ 633-2012 Table 1 and §6; HJ 633-2026 Table 3 and §4.2.

    Examples
    --------
    >>> iaqi([80, 36, 115, 150.4], "pm25_24h").tolist()      # E2, E4, E1, E7 (2012)
    [107.0, 52.0, 150.0, 200.0]
    >>> iaqi([80, 75], "pm25_24h", edition="hj633_2026").tolist()   # E2, E5 (2026)
    [119.0, 114.0]
    >>> iaqi([5.0], "co_24h").tolist(), iaqi([51], "pm10_24h").tolist()   # E10, E6
    ([105.0], [51.0])
    """
    tables = aqi_edition(edition).tables
    if table not in tables:
        raise ValueError(f"{edition} has no breakpoint column {table!r}; available: {', '.join(tables)}")
    t = tables[table]
    c = np.asarray(concentration, dtype=np.float64)
    scaled = np.rint(c * 10**t.decimals) if rounded else round_scaled(c, t.decimals)
    return _iaqi_of_scaled(scaled, edition, table, cap_above_top)


def _iaqi_of_scaled(scaled: np.ndarray, edition: str, table: str, cap_above_top: bool) -> np.ndarray:
    """IAQI of concentrations already rounded and scaled to integers (float array, NaN kept)."""
    lut = _iaqi_lookup(edition, table, cap_above_top)
    top = len(lut) - 3  # lut[top + 1]: above the last breakpoint; lut[top + 2]: missing (NaN)
    idx = np.minimum(scaled, top + 1)
    np.copyto(idx, top + 2, where=~(idx >= 0))  # NaN and negative concentrations
    return lut.take(idx.astype(np.intp))


@functools.cache
def _iaqi_lookup(edition: str, table: str, cap_above_top: bool) -> np.ndarray:
    """IAQI of every scaled integer concentration 0..top breakpoint, then above-top and missing.

    Filled by the exact integer formula; a concentration, once rounded, is an index.
    """
    t = aqi_edition(edition).tables[table]
    ci = np.arange(t.bp[-1] + 1, dtype=np.int64)
    idx = np.clip(np.searchsorted(t.bp, ci, side="left"), 1, len(t.bp) - 1)
    bp_lo, bp_hi = t.bp[idx - 1], t.bp[idx]
    i_lo, i_hi = t.levels[idx - 1], t.levels[idx]
    value = (i_lo + ceil_div((i_hi - i_lo) * (ci - bp_lo), bp_hi - bp_lo)).astype(np.float64)
    above = 500.0 if (cap_above_top and t.full) else np.nan
    lut = np.append(value, [above, np.nan])
    lut.setflags(write=False)
    return lut


def _labels(terms: list[_Term], order: list[str]) -> np.ndarray:
    """Lookup table: bitmask over *terms* -> CNEMC label string, ties joined by ','."""
    rank = {p: i for i, p in enumerate(order)}
    pos = sorted(range(len(terms)), key=lambda i: (rank[terms[i].pollutant], i))
    table = np.empty(2 ** len(terms), dtype=object)
    for mask in range(len(table)):
        names: list[str] = []
        for i in pos:
            if mask >> i & 1 and terms[i].label_zh not in names:
                names.append(terms[i].label_zh)
        table[mask] = ",".join(names)
    return table


def compute_aqi(inputs: Mapping[str, np.ndarray], *, edition: str, report: str = "hourly",
                variant: str | None = None, in_plan: Mapping[str, np.ndarray] | None = None,
                cap_above_top: bool = True, missing_rule: str | None = None,
                unknown_iaqi: str = "known") -> dict:
    """AQI of one report from arrays of concentrations, vectorised. The pure core of the engine.

    Parameters
    ----------
    inputs : mapping of str to array
        Arrays of one shape, named as the report's terms' ``input`` (e.g. ``pm25``, ``so2``,
        ``so2_24h_moving`` for the hourly report; ``pm25_24h``, ``o3_mda8``, ``o3_1h_max`` for
        the daily report) [ug/m3; CO mg/m3]. An absent input counts as missing.
    edition : str
        ``"hj633_2012"`` or ``"hj633_2026"``.
    report : {"hourly", "daily"}
    variant : str, optional
        Report variant of the edition (e.g. ``"cnemc_platform"`` or ``"standard_text"`` for the
        2012 hourly report); default: the edition's ``default_variant``.
    in_plan : mapping of pollutant to bool array, optional
        False where a pollutant is not in the station's monitoring plan (``/`` in the live feed):
        it is then not "missing" for the publication rule.
    missing_rule : {"available_pollutants", "publish_if_above_100", "cnemc_platform"}, optional
        Override the edition's rule for publishing with a pollutant missing. ``"cnemc_platform"``
        is the edition's own rule with the pollutants the CNEMC platform was seen not to block on
        (``missing_data.platform_non_blocking`` in the standards file: PM10 under 2026).
    unknown_iaqi : {"known", "possible"}
        When a pollutant's IAQI is unknown but the AQI is determined at the cap (publication 5):
        ``"known"`` (default) names as primary (and, 2012, over-standard) pollutants only those
        whose IAQI is known to qualify; ``"possible"`` also names the pollutant whose IAQI is
        unknown, which could tie at 500 (and could exceed 100). See Notes.

    Returns
    -------
    dict with arrays ``aqi`` (published; NaN if not computable or withheld), ``aqi_computed``
    (over the pollutants present), ``level`` (1..6, 0 none), ``primary_mask``, ``over_mask``,
    ``missing_mask`` (bit i = POLLUTANTS order of the edition), ``publication`` (PUBLICATION
    codes), ``iaqi`` (dict term -> array), and the lookup tables ``primary_labels``,
    ``missing_labels`` plus ``terms``, ``variant``, ``edition``.

    Notes
    -----
    - SO2 1h > 800: 2012 uses the SO2 24-hour IAQI (fallback term), 2026 sets IAQI 200.
      O3 8h > 800: 2012 reports O3 from the 1-hour IAQI, 2026 sets IAQI 300. (Table notes.)
    - Primary pollutant(s): the term(s) whose IAQI equals the AQI, only when AQI > 50, ties all
      listed. Over-standard: IAQI > 100 (2012 only).
    - **Unknown IAQI (2012).** SO2 1h > 800 without the SO2 24-hour value, or O3 8h > 800 without
      the O3 1-hour value: the notes give the pollutant's IAQI from a value that is not there. It
      is unknown, not missing (the concentration is known to be extreme, so dropping the pollutant
      would understate the AQI), and it can lie anywhere in 0..500 (envq uses no lower bound the
      data may imply, e.g. a day's maximum 1-hour O3 is at least its MDA8). The AQI is the
      maximum IAQI, capped at 500 (HJ 633-2012 §6.2 AQI = max IAQI_i; Table 1 top level 500;
      HJ 633-2026 §4.1.1 range 1..500), so the result is **undetermined** (publication 4, AQI
      NA) only where the other pollutants' AQI is below 500; where it is already 500 the AQI is
      500 whatever the unknown IAQI (publication 5). Its primary pollutants (§3.5/§6.3: the
      pollutant(s) with the largest IAQI, ties all listed) then certainly include every pollutant
      at 500; whether the unknown one ties is not determined by the data, and the standard does
      not address the case (reference/standards.md §1.5 "2012 real-time special case" [U]).
      envq's default names the certain ones (``unknown_iaqi="known"``); publication 5 says that
      one more may tie. The same holds for the over-standard list (IAQI > 100, §3.6).
    """
    if unknown_iaqi not in UNKNOWN_IAQI:
        raise ValueError(f"unknown_iaqi must be one of {sorted(UNKNOWN_IAQI)}, not {unknown_iaqi!r}")
    ed = aqi_edition(edition)
    doc = ed.doc
    variant, terms, fallback = ed.report(report, variant)
    shape = np.broadcast_shapes(*(np.shape(v) for v in inputs.values())) if inputs else ()

    def get(name):
        a = inputs.get(name)
        return np.full(shape, np.nan) if a is None else np.broadcast_to(np.asarray(a, np.float64), shape)

    def evaluate(term):
        # (rounded concentration in units of 10**-decimals, IAQI)
        scaled = round_scaled(get(term.input), ed.tables[term.table].decimals)
        return scaled, _iaqi_of_scaled(scaled, edition, term.table, cap_above_top)

    conc, values = {}, {}
    for t in terms:
        conc[t.term], values[t.term] = evaluate(t)

    term_names = [t.term for t in terms]
    # IAQIs the standard defines but the data cannot give: (index of the term that would carry
    # the IAQI, where it is unknown, the largest value it could take).
    unknown: list[tuple[int, np.ndarray, float]] = []
    for rule in doc["special_rules"].values():
        for k, t in enumerate(terms):
            if t.table != rule["table"]:
                continue
            above = conc[t.term] > rule["threshold"] * 10 ** ed.tables[t.table].decimals
            if not above.any():
                continue
            if rule["action"] == "fixed_iaqi":
                values[t.term] = np.where(above, float(rule["iaqi"]), values[t.term])
            elif rule["other_term"] in term_names:  # e.g. O3-8h > 800: the O3-1h term speaks
                j = term_names.index(rule["other_term"])
                values[t.term] = np.where(above, np.nan, values[t.term])
                unknown.append((j, above & np.isnan(values[term_names[j]]),
                                float(ed.tables[terms[j].table].levels[-1])))
            else:  # e.g. SO2-1h > 800: use the fallback SO2-24h term in its place
                other = next((f for f in fallback if f.term == rule["other_term"]), None)
                sub = evaluate(other)[1] if other is not None else np.full(shape, np.nan)
                values[t.term] = np.where(above, sub, values[t.term])
                top = ed.tables[other.table].levels[-1] if other is not None else ed.aqi_max
                unknown.append((k, above & np.isnan(sub), float(top)))

    if len(terms) > 8:
        raise ValueError(f"{edition}: more than 8 terms in the {report} report; masks are 8-bit")
    cols = [values[n] for n in term_names]
    raw = functools.reduce(np.fmax, cols) if cols else np.full(shape, np.nan)  # NaN iff all NaN
    present_any = ~np.isnan(raw)
    computed = np.clip(raw, ed.aqi_min, ed.aqi_max)

    # An unknown IAQI is not a missing pollutant: it is known to be high (its concentration is
    # above 800), so leaving it out would understate the AQI. It decides nothing, though, when
    # the AQI of the others is already as high as the unknown IAQI could be (the cap, 500).
    undetermined = np.zeros(shape, dtype=bool)
    settled = np.zeros(shape, dtype=bool)
    unknown_in = np.zeros(shape, dtype=np.uint8)  # bit k: term k's IAQI unknown
    for k, where, top in unknown:
        could_change = ~(computed >= min(top, ed.aqi_max))  # NaN (nothing else known) included
        undetermined |= where & could_change
        settled |= where & ~could_change
        unknown_in |= where.view(np.uint8) << np.uint8(k)
    settled &= ~undetermined

    # Missing pollutants: every term of the pollutant NaN, its IAQI not merely unknown, and the
    # pollutant in the plan.
    order = list(doc["pollutant_order"])
    missing_mask = np.zeros(shape, dtype=np.uint8)
    for i, p in enumerate(order):
        idx = [k for k, t in enumerate(terms) if t.pollutant == p]
        if not idx:
            continue
        gone = functools.reduce(np.logical_and, [np.isnan(cols[k]) for k in idx])
        bits = np.uint8(sum(1 << k for k in idx))
        if unknown:
            gone &= (unknown_in & bits) == 0
        if in_plan is not None and p in in_plan:
            gone &= np.broadcast_to(np.asarray(in_plan[p], bool), shape)
        missing_mask |= gone.view(np.uint8) << np.uint8(i)

    rule = missing_rule or doc["missing_data"]["rule"]
    blocking_mask = missing_mask
    if rule == "cnemc_platform":
        free = sum(1 << order.index(p) for p in doc["missing_data"].get("platform_non_blocking", []))
        blocking_mask = missing_mask & np.uint8(0xFF ^ free)
        rule = doc["missing_data"]["rule"]
    partial = (missing_mask != 0) & present_any
    blocking = (blocking_mask != 0) & present_any
    publication = partial.view(np.uint8).copy()  # 0 complete, 1 partial
    publication[~present_any] = 3
    published = computed
    if rule == "publish_if_above_100":
        withheld = blocking & ~(computed > doc["missing_data"].get("publish_above", 100))
        publication[withheld] = 2
        published = np.where(withheld, np.nan, computed)
    elif rule != "available_pollutants":
        raise ValueError(f"unknown missing-data rule {rule!r}")
    if unknown:
        publication[settled] = 5
        publication[undetermined] = 4
        published = np.where(undetermined, np.nan, published)
        computed = np.where(undetermined, np.nan, computed)

    # Primary and over-standard pollutants, as 8-bit masks over the terms.
    primary_mask = np.zeros(shape, dtype=np.uint8)
    over_mask = np.zeros(shape, dtype=np.uint8)
    has_primary = published > doc["primary_pollutant"]["aqi_above"]
    over_defined = doc["over_standard_pollutant"]["defined"]
    if over_defined:
        has_aqi = ~np.isnan(published)
    for k, col in enumerate(cols):
        eq = col == published
        eq &= has_primary
        primary_mask |= eq.view(np.uint8) << np.uint8(k)
        if over_defined:
            over = col > doc["over_standard_pollutant"]["iaqi_above"]
            over &= has_aqi
            over_mask |= over.view(np.uint8) << np.uint8(k)
    if unknown_iaqi == "possible" and unknown:
        # At the cap an unknown IAQI could equal the AQI (a tie) and could exceed 100.
        named = np.where(settled, unknown_in, np.uint8(0)).astype(np.uint8)
        primary_mask |= np.where(has_primary, named, np.uint8(0)).astype(np.uint8)
        if over_defined:
            over_mask |= named

    level = _level_lookup(edition)[np.where(np.isnan(published), -1, published).astype(np.int64)]

    missing_labels = np.empty(2 ** len(order), dtype=object)
    for m in range(len(missing_labels)):
        missing_labels[m] = ",".join(p for i, p in enumerate(order) if m >> i & 1)

    return {
        "aqi": published,
        "aqi_computed": computed,
        "level": level,
        "primary_mask": primary_mask,
        "over_mask": over_mask,
        "missing_mask": missing_mask,
        "publication": publication,
        "iaqi": values,
        "primary_labels": _labels(terms, order),
        "missing_labels": missing_labels,
        "terms": terms,
        "variant": variant,
        "edition": edition,
        "missing_rule": missing_rule or doc["missing_data"]["rule"],
        "unknown_iaqi": unknown_iaqi,
    }


@functools.cache
def _level_lookup(edition: str) -> np.ndarray:
    """Category level (1..6) of every integer AQI 0..500; the last slot (index -1) is 0 = none."""
    cats = category_table(edition)
    aqi = np.arange(501)
    lvl = np.searchsorted(cats["aqi_max"].to_numpy(), aqi, side="left") + 1
    out = np.append(lvl, 0).astype(np.uint8)
    out.setflags(write=False)
    return out


def moving_mean(da: xr.DataArray, hours: int, min_hours: int) -> xr.DataArray:
    """Trailing moving mean over *hours* hour-ending values, valid with >= *min_hours* values.

    The value labelled X is the mean of the values labelled X-hours+1 .. X (HJ 663 Table A.1).
    The time axis is completed to a regular hourly axis first, so gaps count as missing hours.
    """
    t = pd.DatetimeIndex(da["time"].values)
    full = pd.date_range(t.min(), t.max(), freq="h") if len(t) else t
    x = da.reindex(time=full)
    r = x.rolling(time=hours, min_periods=min_hours).mean()
    return r.reindex(time=da["time"])


_MOVING = {"_24h_moving": (24, 20), "_8h_moving": (8, 6)}


def _natural_day(time: xr.DataArray) -> pd.DatetimeIndex:
    return (pd.DatetimeIndex(time.values) - pd.Timedelta(hours=1)).floor("D")


def _to_dataset(res: dict, like: xr.DataArray, *, labels: bool) -> xr.Dataset:
    dims, coords = like.dims, like.coords
    ed = aqi_edition(res["edition"])
    cats = ed.categories
    def var(data, **attrs):
        return xr.Variable(dims, data, attrs, fastpath=True)

    data = {
        "aqi": var(res["aqi"], long_name="AQI (published)", units="1"),
        "aqi_computed": var(res["aqi_computed"], long_name="AQI over the pollutants present", units="1"),
        "level": var(res["level"], long_name="AQI level 1..6 (0 = none)"),
        **{f"iaqi_{name}": var(arr, units="1") for name, arr in res["iaqi"].items()},
        "primary_mask": var(res["primary_mask"]),
        "over_mask": var(res["over_mask"]),
        "missing_mask": var(res["missing_mask"]),
        "publication": var(res["publication"], flag_values=list(PUBLICATION),
                           flag_meanings=list(PUBLICATION.values())),
    }
    if labels:
        # Label arrays are built by lookup; fastpath skips xarray's object-array conversion,
        # which costs more than the whole AQI computation at national scale.
        cat_zh = np.array([""] + cats["category_zh"].tolist(), dtype=object)
        for name, table, codes in (
            ("primary_pollutant", res["primary_labels"], res["primary_mask"]),
            ("over_standard", res["primary_labels"], res["over_mask"]),  # same term order
            ("category", cat_zh, res["level"]),
            ("missing_pollutants", res["missing_labels"], res["missing_mask"]),
        ):
            data[name] = var(table[codes])
    out = xr.Dataset(data, coords=coords)
    out.attrs.update({
        "standard": ed.number,
        "edition": res["edition"],
        "report_variant": res["variant"],
        "missing_rule": res["missing_rule"],
        "unknown_iaqi": res["unknown_iaqi"],
        "terms": ",".join(t.term for t in res["terms"]),
    })
    return out


def _editions_by_day(days: pd.DatetimeIndex, edition: str) -> np.ndarray:
    if edition != "auto":
        standards.edition_for("hj633", "2026-01-01", force=edition)
        return np.full(len(days), edition, dtype=object)
    switch = pd.Timestamp(standards.load("hj633_2026")["in_force_from"])
    return np.where(days >= switch, "hj633_2026", "hj633_2012").astype(object)


def _by_edition(ds: xr.Dataset, dim: str, days: pd.DatetimeIndex, edition: str, fn) -> xr.Dataset:
    eds = _editions_by_day(days, edition)
    names = list(dict.fromkeys(eds))
    if len(names) == 1:
        return fn(ds, names[0])
    parts = [fn(ds.isel({dim: np.flatnonzero(eds == e)}), e) for e in names]
    merged = xr.concat(parts, dim=dim, data_vars="all", coords="minimal", compat="override",
                       combine_attrs="drop_conflicts", join="outer")
    merged.attrs["edition"] = "+".join(names)
    return merged.reindex({dim: ds[dim]})


def hourly_aqi(hourly: xr.Dataset, *, edition: str = "auto", variant: str | None = None,
               cap_above_top: bool = True, labels: bool = True,
               missing_rule: str | None = None, unknown_iaqi: str = "known") -> xr.Dataset:
    """The real-time (hourly) AQI of every station-hour of a canonical hourly dataset.

    Parameters
    ----------
    hourly : xarray.Dataset
        Canonical hourly dataset: dims (station, time), variables ``pm25 pm10 so2 no2 co o3``
        [ug/m3; CO mg/m3], time hour-ending Beijing time. Optional ``*_24h_moving`` and
        ``o3_8h_moving`` variables (as published) and an ``in_plan`` (station, pollutant) mask.
    edition : str
        ``"auto"`` (default: by natural day, HJ 633-2026 from 2026-03-01) or an edition id to
        force, e.g. ``"hj633_2026"`` to back-cast.
    variant : str, optional
        2012 only: ``"cnemc_platform"`` (default; PM 1-hour against the 24-hour breakpoints, as
        CNEMC published 2014-2026) or ``"standard_text"`` (PM 24-hour moving, O3 8-hour moving).
        Moving means missing from the dataset are computed from the hourly values (24-hour: >= 20
        hours; 8-hour: >= 6 hours).
    cap_above_top, missing_rule, unknown_iaqi
        As :func:`compute_aqi` (an SO2 1-hour value above 800 without its 24-hour mean leaves
        the AQI undetermined unless another pollutant's IAQI is 500).

    Returns
    -------
    xarray.Dataset with ``aqi``, ``aqi_computed``, ``level``, ``category``, ``primary_pollutant``
    (CNEMC's names, e.g. ``细颗粒物(PM2.5)``), ``over_standard`` (2012), ``missing_pollutants``,
    ``publication`` and one ``iaqi_<term>`` per term; attrs name the edition and variant.
    """
    days = _natural_day(hourly["time"])

    def one(ds, ed):
        _, terms, fallback = aqi_edition(ed).report("hourly", variant if ed == "hj633_2012" else None)
        inputs = {}
        for t in terms + fallback:
            if t.input in ds:
                inputs[t.input] = ds[t.input].values
                continue
            for suffix, (hours, min_hours) in _MOVING.items():
                if t.input.endswith(suffix) and t.input[: -len(suffix)] in ds:
                    inputs[t.input] = moving_mean(ds[t.input[: -len(suffix)]], hours, min_hours).values
        like = ds[POLLUTANTS[0]] if POLLUTANTS[0] in ds else next(iter(ds.data_vars.values()))
        plan = None
        if "in_plan" in ds.coords or "in_plan" in ds:
            plan = {p: ds["in_plan"].sel(pollutant=p).broadcast_like(like).values
                    for p in ds["in_plan"]["pollutant"].values}
        res = compute_aqi(inputs, edition=ed, report="hourly",
                          variant=variant if ed == "hj633_2012" else None, in_plan=plan,
                          cap_above_top=cap_above_top, missing_rule=missing_rule,
                          unknown_iaqi=unknown_iaqi)
        return _to_dataset(res, like, labels=labels)

    return _by_edition(hourly, "time", days, edition, one)


def daily_aqi(daily: xr.Dataset, *, edition: str = "auto", variant: str | None = None,
              cap_above_top: bool = True, labels: bool = True,
              missing_rule: str | None = None, unknown_iaqi: str = "known") -> xr.Dataset:
    """The daily AQI of every station-day or city-day of a daily dataset.

    Parameters
    ----------
    daily : xarray.Dataset
        Dims (X, date), variables ``so2_24h no2_24h pm10_24h co_24h pm25_24h`` (24-hour means),
        ``o3_mda8`` and (2012) ``o3_1h_max`` [ug/m3; CO mg/m3], invalid values NaN.
    edition : str
        ``"auto"`` (by date) or an edition id to force.
    variant, cap_above_top, missing_rule, unknown_iaqi
        As :func:`compute_aqi`.

    Notes
    -----
    2012: seven IAQIs, O3 from both the daily maximum 1-hour and 8-hour values (HJ 633-2012
    §5.1); 2026: six IAQIs, O3 from the MDA8 only (HJ 633-2026 §5.1). A pollutant missing is
    handled by the edition's publication rule; the day-validity rule for rates is applied by
    :mod:`envq.air.rates`, not here.
    """
    days = pd.DatetimeIndex(daily["date"].values)

    def one(ds, ed):
        _, terms, fallback = aqi_edition(ed).report("daily", variant if ed == "hj633_2012" else None)
        inputs = {t.input: ds[t.input].values for t in terms + fallback if t.input in ds}
        if not inputs:
            raise ValueError(f"daily dataset has none of the daily inputs {[t.input for t in terms]}")
        like = next(ds[t.input] for t in terms if t.input in ds)
        res = compute_aqi(inputs, edition=ed, report="daily", variant=variant if ed == "hj633_2012" else None,
                          cap_above_top=cap_above_top, missing_rule=missing_rule,
                          unknown_iaqi=unknown_iaqi)
        return _to_dataset(res, like, labels=labels)

    return _by_edition(daily, "date", days, edition, one)
