"""Targets and the one rule for "met" (达标).

**The table.** One target [%] per indicator, scope, name and year:

- indicators: :data:`AIR` (``air_good_day_ratio``, 优良天数比例) and :data:`WATER`
  (``water_i_iii_share``, Ⅰ~Ⅲ类水质断面比例);
- scopes: the units the engines rate (:data:`SCOPES`: province, city, basin, system, reach, ...);
- name ``*`` stands for every name of the scope, an empty year for every year. The most specific
  row wins: the name and the year, the name in every year, every name in the year, every name.

**The defaults** (:data:`DEFAULT_ROWS`), each with its source:

- good-air-day ratio >= 83% for the province and each of its 14 cities, and Ⅰ~Ⅲ类 share >= 95%
  for the province: the Hunan provincial plan's quality targets as the project's mission states
  them [U: the plan's document number and its yearly values are not in reference/; replace them
  from a file for a given year];
- the same two figures for river basins (air and water) and the air figure for single stations:
  envq's defaults, so that a basin or a station drawn on a map or listed in a table is judged
  against the provincial figure, the same way everywhere (a station's figure is for information:
  the plan assesses cities); the plan sets no basin or station target.

A CSV file (:meth:`Targets.from_csv`) adds rows over the defaults; its columns are
``indicator,scope,name,year,target``. The two earlier formats are read too: ``scope,name,year,
target`` (the air command's; indicator from the caller) and ``group,name,year,i_iii_target`` (the
water command's; indicator ``water_i_iii_share``).

**The rule** (:func:`is_met`): a rate meets its target when its published value, to one decimal
rounded per GB/T 8170-2008 (四舍六入五成双; :func:`published`), is at least the target. Every
provincial and CNEMC bulletin publishes these ratios to one decimal (reference/standards.md
§2.4), and a figure is judged as it is published: 82.95% is published 83.0% and meets 83%; 189
of 199 sections is 94.97%, published 95.0%, and meets 95%. Without a value or a target the verdict
is NA. The engines apply it once, writing ``target`` and ``target_met`` into their tables; every
output (headline, artifacts, maps, bulletins) reads ``target_met``.

**A reach's target class** (河长制: each reach has a water-quality class to reach, not a share):
:func:`target_class_met`, met when every section evaluated meets the class (envq's rule for the
river-chief pages [U: the river-chief assessment rules are provincial and not in reference/]);
the water engine stores it as ``target_class_met``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from envq._rounding import round_gbt8170

__all__ = ["AIR", "WATER", "INDICATORS", "SCOPES", "Target", "Targets", "DEFAULT_ROWS", "default_targets",
           "published", "is_met", "judge", "shortfall", "target_class_met"]

AIR = "air_good_day_ratio"
WATER = "water_i_iii_share"
#: Indicator -> (Chinese name, unit).
INDICATORS = {AIR: ("优良天数比例", "%"), WATER: ("Ⅰ~Ⅲ类水质断面比例", "%")}
#: Scopes a target may be set for (the ``scope``/``group`` values of the engines' tables).
SCOPES = ("province", "city", "county", "basin", "system", "river", "reach", "section", "area", "custom", "station")

_PLAN = "湖南省 quality plan (provincial targets) [U: document not in reference/]"
_ENVQ = "envq default: the provincial figure applied to river basins"
_STATION = "envq default: a station's figure shown against the cities' target, for information"


@dataclasses.dataclass(frozen=True)
class Target:
    """One row of the table: *target* [%] for *indicator* in *scope*/*name* (``*`` = every) and
    *year* (None = every year), with where it comes from."""

    indicator: str
    scope: str
    name: str
    year: int | None
    target: float
    source: str = ""


#: The built-in targets (see the module docstring for their sources).
DEFAULT_ROWS = (
    Target(AIR, "province", "*", None, 83.0, _PLAN),
    Target(AIR, "city", "*", None, 83.0, _PLAN),
    Target(AIR, "basin", "*", None, 83.0, _ENVQ),
    Target(AIR, "station", "*", None, 83.0, _STATION),
    Target(WATER, "province", "*", None, 95.0, _PLAN),
    Target(WATER, "basin", "*", None, 95.0, _ENVQ),
)


@dataclasses.dataclass(frozen=True)
class Targets:
    """The table of targets (:class:`Target` rows; later rows win over earlier ones with the same
    key). ``Targets()`` is the defaults; :meth:`from_csv` adds a file's rows to them.

    Examples
    --------
    >>> t = Targets()
    >>> t.get(AIR, "city", "长沙市", 2019), t.get(WATER, "province", "湖南省", 2026)
    (83.0, 95.0)
    >>> math.isnan(t.get(WATER, "system", "湘江", 2026))
    True
    """

    rows: tuple[Target, ...] = DEFAULT_ROWS

    def _index(self) -> dict:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {(r.indicator, r.scope, r.name, r.year): r for r in self.rows}
            object.__setattr__(self, "_idx", idx)
        return idx

    def row(self, indicator: str, scope: str, name: str, year: int | None) -> Target | None:
        """The most specific row for (indicator, scope, name, year), or None."""
        idx = self._index()
        for key in ((name, year), (name, None), ("*", year), ("*", None)):
            r = idx.get((indicator, scope, *key))
            if r is not None:
                return r
        return None

    def get(self, indicator: str, scope: str, name: str, year: int | None) -> float:
        """The target [%], NaN when none is set."""
        r = self.row(indicator, scope, str(name), None if year is None else int(year))
        return float("nan") if r is None else float(r.target)

    def lookup(self, indicator: str, scopes, names, years) -> np.ndarray:
        """:meth:`get` for each (scope, name, year) of equal-length arrays (or scalars)."""
        n = max(len(x) if not isinstance(x, (str, int, type(None))) else 1 for x in (scopes, names, years))
        sc, nm, yr = (np.broadcast_to(np.asarray(x, dtype=object), n) for x in (scopes, names, years))
        if n == 0:
            return np.empty(0, dtype=np.float64)
        # one lookup per distinct key, found without a loop over rows: a name without a row of its
        # own (every station, most cities) takes its scope's "*" row, looked up once per scope and year
        sc, nm = sc.astype(str), nm.astype(str)
        key = np.zeros(n, dtype=np.int64)
        for col in (sc, yr, nm):
            codes, uniques = pd.factorize(col, use_na_sentinel=False)
            key = key * (len(uniques) + 1) + codes
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        named: dict = {}
        for ind, scope, name, _ in self._index():
            if ind == indicator and name != "*":
                named.setdefault(scope, set()).add(name)
        values = np.empty(len(first), dtype=np.float64)
        years = [None if _missing(yr[i]) else int(yr[i]) for i in first]
        sy = pd.factorize(pd.Series([f"{sc[i]}\x00{y}" for i, y in zip(first, years)]))[0]
        for k in range(sy.max() + 1 if len(sy) else 0):
            at = np.flatnonzero(sy == k)
            scope, year = str(sc[first[at[0]]]), years[at[0]]
            own = np.isin(nm[first[at]], list(named.get(scope, ())))
            values[at[~own]] = self.get(indicator, scope, "*", year)
            for j in at[own]:
                values[j] = self.get(indicator, scope, str(nm[first[j]]), year)
        return values[inverse.ravel()]

    def with_rows(self, rows: Iterable[Target]) -> "Targets":
        """These targets with *rows* added (winning over the same keys)."""
        return Targets(tuple(self.rows) + tuple(rows))

    def frame(self) -> pd.DataFrame:
        """The table as rows ``indicator, scope, name, year, target, source``."""
        return pd.DataFrame([dataclasses.asdict(r) for r in self.rows],
                            columns=["indicator", "scope", "name", "year", "target", "source"])

    @classmethod
    def from_csv(cls, path, *, indicator: str | None = None, base: "Targets | None" = None) -> "Targets":
        """The defaults (or *base*) with the rows of a CSV file added.

        Columns ``indicator,scope,name,year,target``; without ``indicator``, every row is
        *indicator* (the command's); ``group`` is read as ``scope`` and ``i_iii_target`` as
        ``target`` of :data:`WATER`. ``name`` ``*`` = every name; empty ``year`` = every year.

        Raises :class:`envq.errors.InputError` naming the file, row, field and value.
        """
        from envq.errors import InputError

        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        df.columns = [c.strip() for c in df.columns]
        if "i_iii_target" in df.columns and "target" not in df.columns:
            df = df.rename(columns={"i_iii_target": "target"})
            indicator = indicator or WATER
        if "group" in df.columns and "scope" not in df.columns:
            df = df.rename(columns={"group": "scope"})
        need = {"scope", "name", "target"} | ({"indicator"} if indicator is None else set())
        missing = need - set(df.columns)
        if missing:
            raise InputError(path, 1, ", ".join(sorted(missing)), list(df.columns),
                             f"is the header, which lacks {', '.join(sorted(missing))} "
                             "(columns: indicator,scope,name,year,target)")
        rows = []
        for i, r in enumerate(df.to_dict("records"), start=2):
            ind = (r.get("indicator") or "").strip() or indicator
            if ind not in INDICATORS:
                raise InputError(path, i, "indicator", ind or "", f"is not one of {', '.join(INDICATORS)}")
            scope = r["scope"].strip()
            if scope not in SCOPES:
                raise InputError(path, i, "scope", scope, f"is not one of {', '.join(SCOPES)}")
            name = r["name"].strip()
            if not name:
                raise InputError(path, i, "name", r["name"], "is empty (use * for every name)")
            year_text = (r.get("year") or "").strip()
            try:
                target = float(r["target"])
                year = int(year_text) if year_text else None
            except ValueError:
                raise InputError(path, i, "target/year", f"{r['target']}/{year_text}", "is not a number") from None
            if not (0 < target <= 100):
                raise InputError(path, i, "target", r["target"], "is not a percentage in (0, 100]")
            rows.append(Target(ind, scope, name, year, target, f"{path} row {i}"))
        return (base or cls()).with_rows(rows)


def default_targets() -> Targets:
    """The built-in table (:data:`DEFAULT_ROWS`)."""
    return Targets()


def _missing(x) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def published(value):
    """A percentage as published: one decimal, GB/T 8170-2008 (四舍六入五成双); NaN for none.

    Vectorised: an array gives an array, a scalar a float. Python's ``round`` and ``format``
    round the binary float instead: 23 of 80 sections is 28.749999... in binary and would show as
    28.7, where the published figure is 28.8.

    >>> published(23 / 80 * 100), round(23 / 80 * 100, 1), published(189 / 199 * 100)
    (28.8, 28.7, 95.0)
    >>> published([82.95, None]).tolist()
    [83.0, nan]
    """
    if np.ndim(value) == 0:
        return float("nan") if _missing(value) else float(round_gbt8170(float(value), 1))
    a = pd.to_numeric(pd.Series(np.asarray(value, dtype=object).ravel()), errors="coerce").to_numpy(np.float64)
    return round_gbt8170(a, 1).reshape(np.shape(value))


def judge(values, targets) -> pd.array:
    """The rule, vectorised: ``published(value) >= target``; NA without a value or a target.

    Returns a pandas ``boolean`` array (the ``target_met`` column of every result table).

    >>> judge([82.95, 82.94, None, 90.0], [83, 83, 83, float("nan")]).tolist()
    [True, False, <NA>, <NA>]
    """
    v = published(np.atleast_1d(np.asarray(values, dtype=object)))
    t = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(targets, dtype=object))), errors="coerce").to_numpy(np.float64)
    v, t = np.broadcast_arrays(v, t)
    ok = np.isfinite(v) & np.isfinite(t)
    with np.errstate(invalid="ignore"):
        out = pd.array(v >= t, dtype="boolean")
    out[~ok] = pd.NA
    return out


def is_met(value, target) -> bool | None:
    """:func:`judge` of one value: True, False, or None without a value or a target.

    >>> is_met(82.95, 83), is_met(82.94, 83), is_met(None, 83), is_met(100 * 189 / 199, 95)
    (True, False, None, True)
    """
    r = judge([value], [target])[0]
    return None if r is pd.NA else bool(r)


def shortfall(value, target) -> float:
    """Points the published value lacks to reach the target (0 when met; NaN without either);
    for the near/far colour bands of the maps, never for the verdict.

    >>> shortfall(82.9, 83), shortfall(84, 83)
    (0.1, 0.0)
    """
    if _missing(value) or _missing(target):
        return float("nan")
    return max(0.0, float(round_gbt8170(float(target) - published(value), 1)))


def target_class_met(meeting, evaluated):
    """A reach judged on its own target class: met when every section evaluated meets it, not met
    when one does not, NA without data (counts, exact; envq's rule for the river-chief pages, see
    the module docstring).

    >>> [target_class_met(m, n) for m, n in ((4, 4), (3, 4), (0, 0))]
    [True, False, <NA>]
    """
    return pd.NA if not evaluated else bool(meeting == evaluated)
