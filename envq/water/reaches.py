"""River-chief reaches (河长制 河段/湖段): configuration, groups and a per-reach report.

A reach is a stretch of a river (or a lake) with a river chief (河长/湖长) of a given level (省,
市, 县, 乡) and an ordered list of monitoring sections, upstream to downstream (lakes: towards the
outflow). Reaches are data, in a YAML file (format in ``docs/water.md``); envq ships an example,
``envq/data/water/reaches_example.yaml`` (the Xiang River main stem, its 长株潭 stretch and
Dongting Lake, built from the section registry), which ``$ENVQ_REACHES`` or a path replaces.

* :func:`load_reaches` reads and strictly validates the file (:class:`envq.errors.InputError`
  naming file, reach number, field and value); sections the registry does not know give an
  :class:`envq.errors.UnknownStationWarning`, not an error.
* :func:`reach_groups` turns reaches into ``custom=`` groups for
  :func:`envq.water.groups.group_rates` / :func:`~envq.water.groups.evaluate` (a section may
  belong to several reaches).
* :func:`reach_reports` rates every reach for a period from the section tables the engine
  computed (the nightly flow calls it and stores the result, :func:`report_tables`):
  each section in order with its class, status, compliance with the reach's target class,
  limiting items and the change of its status against the previous period
  (:func:`status_trend`), plus the reach's Class III compliance rate; :func:`reach_report` does
  the same for one reach from readings (``envq reach show``); :func:`reports_from_tables` reads
  the stored results back (the maps, ``envq reach show --store``).

Nothing is read at import time; the only file this module reads is the reaches YAML.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from envq.errors import InputError, UnknownStationWarning
from envq.periods import Period, parse_period
from envq.targets import target_class_met
from envq.water._table import gb3838

__all__ = [
    "ENV_REACHES",
    "LEVELS",
    "NO_DATA",
    "REACH_COLUMNS",
    "Reach",
    "ReachReport",
    "bundled_reaches_path",
    "load_reaches",
    "reach_groups",
    "reach_report",
    "reach_reports",
    "report_tables",
    "reports_from_tables",
    "status_trend",
]

#: Environment variable naming a reaches YAML that replaces the bundled example.
ENV_REACHES = "ENVQ_REACHES"

#: River-chief levels, from the top.
LEVELS = ("省", "市", "县", "乡")

#: Trend label when either period has no class for the section.
NO_DATA = "无数据"

_REQUIRED = ("id", "name", "river", "from", "to", "level", "chief_title", "sections", "target_class")
_OPTIONAL = ("water_body", "source", "notes")
_TOP_KEYS = ("example", "reaches", "source", "notes")
_WATER_BODIES = ("river", "lake")
_ID = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_CLASSES = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "Ⅴ": 5,
            "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_CHIEF_SUFFIXES = ("河长", "湖长")


@dataclasses.dataclass(frozen=True)
class Reach:
    """One river-chief reach (YAML keys in brackets where they differ).

    ``sections`` are ordered upstream -> downstream (lakes: towards the outflow); ``target_class``
    is 1..5 (Class I..V); ``from_`` and ``to`` [``from``, ``to``] name the ends of the stretch;
    ``chief_title`` is a title (省级河长), never a person's name; ``example`` is True when the
    file is marked ``example: true``; ``file`` and ``index`` (1-based) say where it was defined.
    """

    id: str
    name: str
    river: str
    from_: str
    to: str
    level: str
    chief_title: str
    sections: tuple[str, ...]
    target_class: int
    water_body: str = "river"
    source: str = ""
    notes: str = ""
    example: bool = False
    file: str = ""
    index: int = 0

    @property
    def stretch(self) -> str:
        """``from–to``."""
        return f"{self.from_}–{self.to}"


def bundled_reaches_path() -> Path:
    """The example reaches shipped with envq."""
    return Path(__file__).resolve().parents[1] / "data" / "water" / "reaches_example.yaml"


# --------------------------------------------------------------------------------------------
# loading


def _parse_yaml(path: Path):
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, None, exc.object[exc.start:exc.end], "is not UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        snippet = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
        raise InputError(path, line, None, snippet, f"is not valid YAML ({getattr(exc, 'problem', exc)}); "
                         "(row = line here)") from None


def _text(path, i, rid, d, key, *, required=True) -> str:
    v = d.get(key)
    where = f" in reach {rid!r}" if rid else ""
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise InputError(path, i, key, "" if v is None else v, f"is missing or empty{where}")
        return ""
    if not isinstance(v, str):
        raise InputError(path, i, key, v, f"is not text{where}")
    return v.strip()


def _target_class(path, i, rid, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(path, i, "target_class", value, f"is not a class I..V (or 1..5) in reach {rid!r}")
    k = _CLASSES.get(str(value).strip())
    if k is None:
        raise InputError(path, i, "target_class", value, f"is not a class I..V (or 1..5) in reach {rid!r}")
    return k


def _sections(path, i, rid, value) -> tuple[str, ...]:
    if value is None or (isinstance(value, list) and not value):
        raise InputError(path, i, "sections", "" if value is None else value,
                         f"is empty in reach {rid!r}: list its sections upstream to downstream")
    if not isinstance(value, list):
        raise InputError(path, i, "sections", value, f"is not a list of section names in reach {rid!r}")
    out = []
    for s in value:
        if not isinstance(s, str) or not s.strip():
            raise InputError(path, i, "sections", s, f"is not a section name in reach {rid!r}")
        s = s.strip()
        if s in out:
            raise InputError(path, i, "sections", s, f"appears twice in the sections of reach {rid!r}")
        out.append(s)
    return tuple(out)


def _reach(path, i, d, example) -> Reach:
    if not isinstance(d, dict):
        raise InputError(path, i, None, d, "is not a reach (a mapping with keys " + ", ".join(_REQUIRED) + ")")
    rid = d.get("id")
    if rid is None or (isinstance(rid, str) and not rid.strip()):
        raise InputError(path, i, "id", "" if rid is None else rid, "is missing or empty")
    if not isinstance(rid, str) or not _ID.fullmatch(rid.strip()):
        raise InputError(path, i, "id", rid, "is not an ascii slug (lower-case letters, digits, '-' or '_')")
    rid = rid.strip()
    for key in d:
        if key not in _REQUIRED + _OPTIONAL:
            raise InputError(path, i, str(key), d[key], f"is under an unknown key in reach {rid!r} "
                             f"(keys: {', '.join(_REQUIRED + _OPTIONAL)})")
    for key in _REQUIRED:
        if key not in d:
            raise InputError(path, i, key, "", f"is missing: reach {rid!r} has no key {key!r}")
    level = _text(path, i, rid, d, "level")
    if level not in LEVELS:
        raise InputError(path, i, "level", d["level"], f"is not one of {', '.join(LEVELS)} in reach {rid!r}")
    chief = _text(path, i, rid, d, "chief_title")
    if not chief.endswith(_CHIEF_SUFFIXES):
        raise InputError(path, i, "chief_title", chief, f"is not a title ending in 河长 or 湖长 in reach {rid!r} "
                         "(give the title, e.g. 省级河长, never a person's name)")
    wb = _text(path, i, rid, d, "water_body", required=False) or "river"
    if wb not in _WATER_BODIES:
        raise InputError(path, i, "water_body", d["water_body"], f"is not one of {', '.join(_WATER_BODIES)} "
                         f"in reach {rid!r}")
    return Reach(
        id=rid, name=_text(path, i, rid, d, "name"), river=_text(path, i, rid, d, "river"),
        from_=_text(path, i, rid, d, "from"), to=_text(path, i, rid, d, "to"), level=level, chief_title=chief,
        sections=_sections(path, i, rid, d["sections"]), target_class=_target_class(path, i, rid, d["target_class"]),
        water_body=wb, source=_text(path, i, rid, d, "source", required=False),
        notes=_text(path, i, rid, d, "notes", required=False), example=example, file=str(path), index=i,
    )


def load_reaches(path=None, *, environ=None, registry: pd.DataFrame | None = None,
                 check_registry: bool = True) -> dict[str, Reach]:
    """Load and validate river-chief reaches from a YAML file.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The reaches YAML. Default ``$ENVQ_REACHES`` if set, else the bundled example
        (:func:`bundled_reaches_path`).
    environ : mapping, optional
        Environment to read (default ``os.environ``); also passed to the registry.
    registry : pandas.DataFrame, optional
        Section registry for the name check (default :func:`envq.water.registry.load_registry`).
    check_registry : bool
        Warn (:class:`envq.errors.UnknownStationWarning`) about sections the registry does not
        know; they are kept (they are evaluated as rivers with target class III, like any unknown
        section).

    Returns
    -------
    dict of str to Reach
        Reach id -> :class:`Reach`, in file order.

    Raises
    ------
    envq.errors.InputError
        A malformed file: the row is the reach's 1-based position in ``reaches`` (the YAML line
        for syntax errors) and the message names the reach id, the field and the value. Missing
        keys, duplicate ids, a level other than 省/市/县/乡, a target class other than I..V /
        1..5, empty or duplicated sections, unknown keys and a ``chief_title`` that is not a
        title (…河长 / …湖长) are errors.

    Examples
    --------
    >>> r = load_reaches()["xiang-changzhutan-city"]
    >>> r.level, r.chief_title, r.sections[0], r.target_class
    ('市', '市级河长', '马家河', 3)
    """
    env = os.environ if environ is None else environ
    if path is None:
        path = env.get(ENV_REACHES) or bundled_reaches_path()
    path = Path(path)
    doc = _parse_yaml(path)
    if not isinstance(doc, dict) or "reaches" not in doc:
        raise InputError(path, None, "reaches", "" if doc is None else type(doc).__name__,
                         "is missing: the file must be a mapping with a 'reaches:' list")
    for key in doc:
        if key not in _TOP_KEYS:
            raise InputError(path, None, str(key), doc[key], f"is under an unknown top-level key (keys: {', '.join(_TOP_KEYS)})")
    items = doc["reaches"]
    if not isinstance(items, list) or not items:
        raise InputError(path, None, "reaches", "" if items is None else items, "is not a non-empty list of reaches")
    example = doc.get("example", False)
    if not isinstance(example, bool):
        raise InputError(path, None, "example", example, "is not true or false")
    out: dict[str, Reach] = {}
    for i, d in enumerate(items, start=1):
        r = _reach(path, i, d, example)
        if r.id in out:
            raise InputError(path, i, "id", r.id, f"appears twice (reaches {out[r.id].index} and {i})")
        out[r.id] = r
    if check_registry:
        from envq.water.registry import load_registry

        reg = load_registry(environ=env) if registry is None else registry
        known = set(reg["section"])
        for r in out.values():
            unknown = [s for s in r.sections if s not in known]
            if unknown:
                warnings.warn(f"{path}: reach {r.id!r}: section(s) not in the registry (evaluated as rivers with "
                              f"target class III): {', '.join(unknown)}", UnknownStationWarning, stacklevel=2)
    return out


def _as_list(reaches) -> list[Reach]:
    if isinstance(reaches, Reach):
        return [reaches]
    if isinstance(reaches, Mapping):
        return list(reaches.values())
    return list(reaches)


def reach_groups(reaches: Mapping[str, Reach] | Iterable[Reach] | Reach, *, key: str = "id") -> dict[str, list[str]]:
    """Reaches as ``custom=`` groups of :func:`envq.water.groups.group_rates` / ``evaluate``.

    ``key`` is ``"id"`` (default) or ``"name"``. A section listed in several reaches is a member
    of each.

    Examples
    --------
    >>> g = reach_groups(load_reaches(check_registry=False))
    >>> g["xiang-changzhutan-city"]
    ['马家河', '昭山', '桔子洲', '樟树港']
    """
    if key not in ("id", "name"):
        raise ValueError(f"key must be 'id' or 'name', got {key!r}")
    return {getattr(r, key): list(r.sections) for r in _as_list(reaches)}


# --------------------------------------------------------------------------------------------
# trend


def status_trend(current, previous) -> np.ndarray:
    """Change of sections' 水质状况 between two periods, by level.

    Levels 优 (Class I-II), 良好 (III), 轻度污染 (IV), 中度污染 (V), 重度污染 (劣V): the same level
    is 无明显变化; one level better 有所好转, two or more better 明显好转; one level worse
    有所变差, two or more worse 明显变差. :data:`NO_DATA` (无数据) when either period has no status
    (empty or NA).

    Parameters
    ----------
    current, previous : array_like of str
        Statuses of the same sections in the period and in the earlier period.

    References
    ----------
    环办〔2011〕22号 水质变化趋势分析, comparison of 水质状况 levels (reference/standards.md §5.6,
    last bullet) [S]; labels from ``gb3838_2002.yaml`` ``evaluation.trend.labels``.

    Examples
    --------
    >>> status_trend(["优", "良好", "优", "轻度污染", "重度污染", "优"],
    ...              ["优", "轻度污染", "中度污染", "良好", "轻度污染", ""]).tolist()
    ['无明显变化', '有所好转', '明显好转', '有所变差', '明显变差', '无数据']
    """
    from envq.water.groups import status_change

    return status_change(current, previous, none=NO_DATA)


# --------------------------------------------------------------------------------------------
# report


@dataclasses.dataclass(frozen=True)
class ReachReport:
    """One reach for one period (:func:`reach_report`, :func:`reach_reports`; read back from the
    store with :func:`reports_from_tables`).

    ``sections``: one row per listed section in the reach's order (columns in
    :func:`reach_report`); ``rates``: the reach's row of :func:`envq.water.groups.group_rates`
    (``group`` = ``reach``, ``name`` = the reach id; target compliance against the reach's target
    class), with the :func:`~envq.water.groups.compare_periods` columns when a previous period was
    evaluated; ``unknown_sections``: listed sections the registry does not know.
    """

    reach: Reach
    period: Period
    previous_period: Period | None
    sections: pd.DataFrame
    rates: pd.Series
    unknown_sections: tuple

    @property
    def sections_listed(self) -> int:
        return len(self.reach.sections)

    @property
    def sections_evaluated(self) -> int:
        return int(self.rates["sections"])

    @property
    def sections_i_iii(self) -> int:
        return int(self.rates["sections_i_iii"])

    @property
    def i_iii_share(self) -> float:
        """Class III compliance rate (Ⅰ~Ⅲ类比例, % of the sections evaluated; NaN without data)."""
        return float(self.rates["i_iii_share"])

    @property
    def sections_meeting_target(self) -> int:
        return int(self.rates["sections_meeting_target"])

    @property
    def target_compliance_share(self) -> float:
        return float(self.rates["target_compliance_share"])

    @property
    def target_class_met(self):
        """The reach's verdict on its own target class: every section evaluated meets it (True),
        some do not (False), no data (NA); :func:`envq.targets.target_class_met`."""
        return self.rates["target_class_met"]

    @property
    def status(self) -> str:
        return str(self.rates["status"])

    @property
    def change(self) -> str:
        """Change of the reach against the previous period (``compare_periods``), "" if none."""
        v = self.rates.get("change", "")
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    def summary(self) -> dict:
        """The reach-level numbers as a flat dict."""
        r = self.reach
        return {
            "reach": r.id, "name": r.name, "river": r.river, "from": r.from_, "to": r.to, "level": r.level,
            "chief_title": r.chief_title, "period": self.period.label,
            "previous_period": self.previous_period.label if self.previous_period else "",
            "sections_listed": self.sections_listed, "sections_evaluated": self.sections_evaluated,
            "sections_i_iii": self.sections_i_iii, "i_iii_share": self.i_iii_share,
            "target_class": r.target_class, "sections_meeting_target": self.sections_meeting_target,
            "target_compliance_share": self.target_compliance_share, "target_class_met": self.target_class_met,
            "status": self.status, "method": str(self.rates["method"]), "change": self.change,
        }


#: Columns of a reach's stored rates row that describe the reach (the rest is its rates row).
REACH_COLUMNS = ["reach_name", "river", "from", "to", "level", "chief_title", "target_class", "water_body",
                 "example", "previous_period"]


def _judged_on_reach_target(table: pd.DataFrame, reach: Reach, nondetect) -> pd.DataFrame:
    """The reach's rows of a section table, judged against the reach's target class (the
    class and the limiting items of each section are the section table's)."""
    from envq.water.classify import classify

    g = gb3838()
    items = [c for c in table.columns if c in g.items]
    bdl = table[[f"{c}_bdl" for c in items]].set_axis(items, axis=1).astype(bool)
    cls = classify(table[items], lake=table["is_lake"].to_numpy(bool), target_class=reach.target_class,
                   below_detection=bdl, nondetect=nondetect)
    table = table.copy()
    table["section_target_class"] = table["target_class"].to_numpy()
    table["target_class"] = reach.target_class
    table["meets_target"] = cls["meets_target"].array
    table["over_target"] = cls["over_target"].to_numpy()
    return table


def _reach_table(sections: pd.DataFrame | None, reach: Reach, nondetect) -> pd.DataFrame:
    if sections is None or not len(sections):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _BASE_COLUMNS})
    sub = sections[sections["section"].isin(reach.sections)].reset_index(drop=True)
    if not len(sub):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _BASE_COLUMNS})
    return _judged_on_reach_target(sub, reach, nondetect)


def _reach_rates(table: pd.DataFrame, reach: Reach, period: Period, ph_mean: str, targets) -> pd.DataFrame:
    from envq.water.groups import group_rates

    rates = group_rates(table, by="custom", custom=reach_groups(reach), ph_mean=ph_mean, scope="reach",
                        period=period, targets=targets)
    rates["target_class_met"] = pd.array([target_class_met(m, n) for m, n in
                                          zip(rates["sections_meeting_target"], rates["sections"])], dtype="boolean")
    return rates


def reach_reports(reaches, period, sections: pd.DataFrame | None, *, previous_sections: pd.DataFrame | None = None,
                  previous_period=None, registry: pd.DataFrame | None = None, ph_mean: str = "arithmetic",
                  nondetect=None, targets=None) -> dict[str, ReachReport]:
    """Every reach for a period, from the section tables the engine computed.

    Parameters
    ----------
    reaches : mapping of id to Reach, iterable of Reach, or a Reach
    period : Period or str
    sections : pandas.DataFrame
        The period's section table (:func:`envq.water.groups.section_table`, e.g.
        ``Evaluation.sections`` or the stored ``water_sections`` rows of the period).
    previous_sections, previous_period : optional
        The same for the period to compare with (each section's status trend and the reach's
        ΔG−ΔD change); without *previous_period* there is no comparison.
    registry : pandas.DataFrame, optional
        For the river of listed sections without data (default :func:`load_registry`).

    Returns
    -------
    dict of reach id to :class:`ReachReport`
    """
    from envq.water.classify import class_table
    from envq.water.groups import compare_periods
    from envq.water.registry import load_registry, match_sections

    registry = load_registry() if registry is None else registry
    p = parse_period(period)
    pp = None if previous_period is None else parse_period(previous_period)
    cname = class_table()["name_zh"].to_dict()
    out = {}
    for reach in _as_list(reaches):  # one iteration per reach (a handful), vectorised inside
        cur_t = _reach_table(sections, reach, nondetect)
        rates = _reach_rates(cur_t, reach, p, ph_mean, targets)
        prev_t = None
        if pp is not None:
            prev_t = _reach_table(previous_sections, reach, nondetect)
            rates = compare_periods(rates, _reach_rates(prev_t, reach, pp, ph_mean, targets))
        names = pd.Series(list(reach.sections), dtype=object)
        meta, unknown = match_sections(names.to_numpy(), registry)
        cur = cur_t.set_index("section").reindex(names)
        cls = pd.array(cur["class"].to_numpy(), dtype="Int8")
        tab = pd.DataFrame({
            "order": np.arange(1, len(names) + 1),
            "section": names.to_numpy(),
            "river": meta["river_name"].to_numpy(),
            "class": cls,
            "class_name": pd.Series(cls).map(cname).fillna("").to_numpy(object),
            "status": cur["status"].fillna("").to_numpy(object) if "status" in cur else "",
            "target_class": reach.target_class,
            "section_target_class": meta["target_class"].to_numpy(np.int64),
            "meets_target": pd.array(cur["meets_target"].to_numpy(), dtype="boolean"),
        })
        over = cur["over_target"].fillna("").to_numpy(object) if "over_target" in cur else np.full(len(names), "", object)
        mp = cur["main_pollutants"].fillna("").to_numpy(object) if "main_pollutants" in cur else over
        tab["limiting_items"] = np.where(over != "", over, mp)
        if pp is not None:
            prev = prev_t.set_index("section").reindex(names)
            tab["previous_class"] = pd.array(prev["class"].to_numpy(), dtype="Int8")
            tab["previous_status"] = prev["status"].fillna("").to_numpy(object) if "status" in prev else ""
            tab["trend"] = status_trend(tab["status"], tab["previous_status"])
        else:
            tab["previous_class"] = pd.array([pd.NA] * len(names), dtype="Int8")
            tab["previous_status"] = ""
            tab["trend"] = ""
        tab["n"] = pd.array(cur["n_readings"].to_numpy() if "n_readings" in cur else [pd.NA] * len(names), dtype="Int64")
        tab["n_days"] = pd.array(cur["n_days"].to_numpy() if "n_days" in cur else [pd.NA] * len(names), dtype="Int64")
        tab["in_registry"] = meta["in_registry"].to_numpy(bool)
        out[reach.id] = ReachReport(reach=reach, period=p, previous_period=pp, sections=tab, rates=rates.iloc[0],
                                    unknown_sections=tuple(unknown))
    return out


_BASE_COLUMNS = ["section", "period", "class", "meets_target", "has_coordinates", "in_registry"]


def reach_report(long: pd.DataFrame, reach: Reach, period, *, registry: pd.DataFrame | None = None,
                 previous=True, source: str | None = None, ph_mean: str = "arithmetic",
                 nondetect=None, targets=None) -> ReachReport:
    """Evaluate one reach for a period: its sections in order and its Class III compliance rate.

    The engine's path, as the nightly flow takes it: :func:`envq.water.groups.period_sections`
    (period values, means of daily means rounded to the assessment decimals, then the section
    classes per GB 3838-2002, lake limits for lake points) of the period and of the one to compare
    with, then :func:`reach_reports` (each section judged against the reach's target class; the
    reach rated by :func:`envq.water.groups.group_rates` as a custom group: Ⅰ~Ⅲ类比例 of the
    sections evaluated; status by averaged indicators below 5 sections, else by class
    proportions).

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table of screened readings (``envq.water.cli.load_inputs``).
    reach : Reach
    period : str or envq.periods.Period
    registry : pandas.DataFrame, optional
        Default :func:`envq.water.registry.load_registry`.
    previous : True, str, Period, False or None
        The period to compare with: True (default) = ``Period.previous()`` (the month before a
        month, ...; a year to date has none); False/None = no comparison (``previous_class`` NA,
        ``trend`` "").
    source, ph_mean : see :func:`envq.water.periods.period_values`
    nondetect : see :func:`envq.water.classify.classify`

    Returns
    -------
    ReachReport
        ``sections`` columns: ``order`` (1 = upstream), ``section``, ``river`` (registry),
        ``class`` (Int8 1..6, NA without data), ``class_name`` (``Ⅰ类`` .. ``劣Ⅴ类``), ``status``
        (优 .. 重度污染), ``target_class`` (the reach's), ``section_target_class`` (the
        registry's), ``meets_target`` (class ≤ the reach's target; NA without data),
        ``limiting_items`` (items worse than the reach's target class with their multiples
        against its limit, e.g. ``总磷(0.10)``; else the section's main pollutants),
        ``previous_class``, ``previous_status``, ``trend`` (:func:`status_trend`), ``n``
        (readings used, the most of any item), ``n_days`` (days used), ``in_registry``. Listed
        sections without data in the period are kept with NA class.

    References
    ----------
    环办〔2011〕22号 (reference/standards.md §5.2, §5.3, §5.5; §5.6 last bullet for ``trend``).
    """
    from envq.water.groups import period_sections
    from envq.water.registry import load_registry

    registry = load_registry() if registry is None else registry
    sub = long[long["section"].isin(reach.sections)]
    kw = {"registry": registry, "source": source, "ph_mean": ph_mean, "nondetect": nondetect}
    p, sections, _ = period_sections(sub, period, **kw)
    pp = None if previous is None or previous is False else (p.previous() if previous is True else parse_period(previous))
    prev = period_sections(sub, pp, **kw)[1] if pp is not None else None
    return reach_reports(reach, p, sections, previous_sections=prev, previous_period=pp, registry=registry,
                         ph_mean=ph_mean, nondetect=nondetect, targets=targets)[reach.id]


# --------------------------------------------------------------------------------------------
# results: what the flow stores, and reading them back


def report_tables(reports) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reach reports as the two stored tables: ``water_reach_rates`` (one row per reach: the
    reach's description, :data:`REACH_COLUMNS`, then its rates row) and
    ``water_reach_sections`` (one row per listed section: ``reach, period`` then the report's
    sections columns)."""
    rates, secs = [], []
    for rep in (reports.values() if isinstance(reports, Mapping) else reports):
        r = rep.reach
        row = rep.rates.to_dict()
        desc = {"reach_name": r.name, "river": r.river, "from": r.from_, "to": r.to, "level": r.level,
                "chief_title": r.chief_title, "target_class": r.target_class, "water_body": r.water_body,
                "example": r.example,
                "previous_period": rep.previous_period.label if rep.previous_period else ""}
        lead = {k: row.pop(k) for k in ("group", "name", "period")}
        row.pop("target_class", None)
        rates.append({**lead, **desc, **row})
        t = rep.sections.copy()
        t.insert(0, "period", rep.period.label)
        t.insert(0, "reach", r.id)
        secs.append(t)
    if not rates:
        return pd.DataFrame(), pd.DataFrame()
    out = pd.DataFrame(rates)
    for c in ("target_met", "target_class_met"):
        if c in out:
            out[c] = out[c].astype("boolean")
    return out, pd.concat(secs, ignore_index=True)


def reports_from_tables(rates: pd.DataFrame, sections: pd.DataFrame) -> dict[str, ReachReport]:
    """The reach reports of one period from the stored ``water_reach_rates`` and
    ``water_reach_sections`` rows (:func:`report_tables`), in the stored order."""
    out = {}
    for _, row in rates.iterrows():  # one per reach
        rid = str(row["name"])
        t = sections[sections["reach"].astype(str) == rid].sort_values("order").reset_index(drop=True)
        reach = Reach(id=rid, name=str(row["reach_name"]), river=str(row["river"]), from_=str(row["from"]),
                      to=str(row["to"]), level=str(row["level"]), chief_title=str(row["chief_title"]),
                      sections=tuple(t["section"].astype(str)), target_class=int(row["target_class"]),
                      water_body=str(row["water_body"]), example=bool(row["example"]))
        prev = str(row.get("previous_period", "") or "")
        rrow = row.drop(labels=[c for c in REACH_COLUMNS if c in row.index])
        unknown = tuple(t.loc[~t["in_registry"].astype(bool), "section"].astype(str))
        out[rid] = ReachReport(reach=reach, period=parse_period(row["period"]),
                               previous_period=parse_period(prev) if prev else None,
                               sections=t.drop(columns=["reach", "period"]), rates=rrow, unknown_sections=unknown)
    return out
