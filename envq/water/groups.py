"""Sections, rivers, systems, cities and the province for a period: the 2011 evaluation method.

For any group of sections and a period: the sections evaluated, counts and shares per class, the
Class III compliance rate (Ⅰ~Ⅲ类水质断面比例), the 劣V share, the water-quality status (fewer than
5 sections: single-factor class of the indicators averaged over the sections; 5 or more: the
class-proportion method), main pollutants (by section exceedance rate), each section's compliance
with its target class, the change against a previous period (ΔG−ΔD) and whether the group's
compliance target is met.

Shares are percentages of the sections evaluated (sections with at least one classification item
in the period); a section without coordinates counts like any other. Comparisons with the
thresholds are exact (integer arithmetic on section counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from envq.periods import Period, parse_period
from envq.targets import WATER, Targets, judge
from envq.water._table import gb3838
from envq.water.classify import classify
from envq.water.periods import period_values, round_assessment, wide_values
from envq.water.registry import load_registry, match_sections

__all__ = [
    "GROUP_FIELDS",
    "STATUS_ORDER",
    "section_table",
    "proportion_status",
    "is_i_iii",
    "i_iii_count",
    "Membership",
    "group_members",
    "class_counts",
    "group_labels",
    "group_verdicts",
    "group_rates",
    "status_change",
    "compare_periods",
    "load_custom_groups",
    "Evaluation",
    "evaluate",
    "period_sections",
]

#: ``by`` -> registry column naming the group.
GROUP_FIELDS = {"system": "system_name", "river": "river_name", "city": "city_name", "county": "county_name",
                "section": "section", "province": None, "custom": None}

#: 水质状况 levels, best first (环办〔2011〕22号; the trend compares levels).
STATUS_ORDER = {"优": 0, "良好": 1, "轻度污染": 2, "中度污染": 3, "重度污染": 4}


# --------------------------------------------------------------------------------------------
# sections


def section_table(values: pd.DataFrame, registry: pd.DataFrame | None = None, *, nondetect=None) -> tuple[pd.DataFrame, list]:
    """Class of each section from its period values (:func:`envq.water.periods.period_values`).

    Returns
    -------
    (pandas.DataFrame, list of str)
        One row per section: ``section, period, class`` (Int8, NA without data), ``class_name,
        status, limiting_items, over_iii, main_pollutants, tn_class, target_class, meets_target,
        over_target``, the registry fields (``system_name, river_name, city_name, county_name,
        is_lake, has_coordinates, location_confidence, in_registry``), ``source_kind``
        (``automatic``, ``manual`` or ``automatic+manual``), ``n_readings``, ``n_days`` (the most of
        any item), then one column per
        item value and ``<item>_bdl`` flags. And the section names not in the registry.
    """
    registry = load_registry() if registry is None else registry
    v, b, s = wide_values(values)
    meta, unknown = match_sections(v.index.to_numpy(), registry)
    v = v.reset_index(drop=True)
    b = b.reset_index(drop=True)
    cls = classify(v, lake=meta["is_lake"].to_numpy(bool), target_class=meta["target_class"].to_numpy(np.int64),
                   below_detection=b, nondetect=nondetect)
    out = pd.DataFrame({"section": meta["section"].to_numpy(), "period": values["period"].iloc[0] if len(values) else ""})
    keep = ["class", "class_name", "status", "limiting_items", "over_iii", "main_pollutants", "main_pollutant_items",
            "tn_class", "target_class", "meets_target", "over_target", "n_items"]
    for c in keep:
        if c in cls:
            out[c] = cls[c].array
    for c in ("system_name", "river_name", "city_name", "county_name", "is_lake", "has_coordinates",
              "location_confidence", "lon", "lat", "coordinate_note", "in_registry"):
        out[c] = meta[c].to_numpy()
    kinds = s.reset_index(drop=True).apply(lambda r: "+".join(sorted(set(r.dropna()))), axis=1) if len(s) else pd.Series(dtype=str)
    out["source_kind"] = kinds.to_numpy() if len(kinds) else ""
    nread = values.groupby("section")["n_readings"].max()
    out["n_readings"] = out["section"].map(nread).to_numpy()
    if "n_days" in values:
        out["n_days"] = out["section"].map(values.groupby("section")["n_days"].max()).to_numpy()
    for c in v.columns:
        out[c] = v[c].to_numpy()
    for c in v.columns:
        out[f"{c}_bdl"] = b[c].to_numpy() if c in b else False
    for c in cls.columns:
        if c.endswith("_class") and c not in out and c != "tn_class":
            out[c] = cls[c].to_numpy()
    return out, unknown


# --------------------------------------------------------------------------------------------
# rating


def proportion_status(good, worse_v, n) -> np.ndarray:
    """水质状况 by the class-proportion method (5 or more sections), exactly on counts.

    Parameters
    ----------
    good, worse_v, n : array_like of int
        Sections in Class I-III, sections in 劣V, sections evaluated.

    References
    ----------
    环办〔2011〕22号 断面水质类别比例法 (reference/standards.md §5.3).

    Examples
    --------
    >>> proportion_status([8, 7], [1, 3], [10, 12]).tolist()   # E25, E26
    ['良好', '中度污染']
    """
    rows = gb3838().evaluation["group_rating"]["proportion_thresholds"]
    good = np.asarray(good, dtype=np.int64)
    bad = np.asarray(worse_v, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    out = np.full(good.shape, "", dtype=object)
    done = n <= 0
    for r in rows:  # first matching row wins
        ok = ~done & (100 * good * 1000 >= np.rint(r["i_iii_min"] * 1000).astype(np.int64) * n)
        if "worse_v_below" in r:
            ok &= 100 * bad * 1000 < np.rint(r["worse_v_below"] * 1000).astype(np.int64) * n
        out[ok] = r["status_zh"]
        done |= ok
    return out


def _average_indicators(sub: pd.DataFrame, items: list[str], *, ph_mean: str, fraction: float):
    vals = {}
    bdl = {}
    for c in items:
        if c not in sub:
            continue
        v = sub[c].to_numpy(np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            continue
        f = sub[f"{c}_bdl"].to_numpy(bool) if f"{c}_bdl" in sub else np.zeros(len(v), bool)
        x = np.where(f, fraction * v, v)[ok]
        if c == "ph" and ph_mean == "hydrogen":
            vals[c] = -np.log10(np.mean(10.0 ** (-x)))
        else:
            vals[c] = float(np.mean(x))
        bdl[c] = bool(f[ok].all())
        if bdl[c]:
            vals[c] = float(np.max(v[ok]))
        else:
            vals[c] = float(round_assessment(c, vals[c]))
    lake = bool(len(sub)) and bool(sub["is_lake"].all())
    table = pd.DataFrame([vals]) if vals else pd.DataFrame(index=[0])
    flags = pd.DataFrame([bdl]) if bdl else None
    return classify(table, lake=lake, below_detection=flags).iloc[0], vals


def load_custom_groups(path) -> dict[str, list[str]]:
    """Custom groups (e.g. river-chief reaches) from a CSV ``group,section``."""
    from envq.errors import InputError
    from envq.sources.csvfile import read_csv_table

    df, _ = read_csv_table(path)
    if "group" not in df or "section" not in df:
        raise InputError(path, 1, "group, section", ",".join(df.columns), "is the header, which lacks group,section")
    return {g: list(s["section"].str.strip()) for g, s in df.groupby("group", sort=False)}


def is_i_iii(classes) -> np.ndarray:
    """Whether each section class (1..6; NA/0 = no class) is Class I, II or III (Ⅰ~Ⅲ类): the
    one definition of the numerator of the Class III compliance rate.

    >>> is_i_iii([1, 3, 4, 6, None]).tolist()
    [True, True, False, False, False]
    """
    c = _class_codes(classes)
    return (c >= 1) & (c <= 3)


def i_iii_count(classes) -> np.ndarray | int:
    """Sections in Class I, II or III (Ⅰ~Ⅲ类) among section classes (1..6; NA/0 = no class):
    the numerator of the Class III compliance rate (:func:`is_i_iii`), counted in one place.

    >>> i_iii_count([1, 3, 4, 6, None])
    2
    """
    return int(is_i_iii(classes).sum())


def _class_codes(classes) -> np.ndarray:
    """Section classes as int64, 0 where there is none."""
    return pd.array(np.asarray(classes, dtype=object), dtype="Int64").fillna(0).to_numpy(np.int64)


@dataclasses.dataclass(frozen=True)
class Membership:
    """Which rows of a section table belong to which group (a row may be in several custom
    groups): ``names`` of the groups in order, and for each membership the group's position
    ``group`` and the section table's row position ``row``; ``missing`` lists, per group, the
    listed sections without a row (custom groups)."""

    names: list
    group: np.ndarray
    row: np.ndarray
    missing: list

    def count(self, flags) -> np.ndarray:
        """How many member rows of each group have *flags* (a bool array over the table's rows)."""
        w = np.asarray(flags, dtype=bool)[self.row]
        return np.bincount(self.group[w], minlength=len(self.names)).astype(np.int64)

    def rows_of(self, i: int) -> np.ndarray:
        """The table's row positions in group *i*, in table order."""
        return self.row[self.group == i]


def group_members(sections: pd.DataFrame, by: str, custom: Mapping[str, list] | None = None,
                  province_name: str = "湖南省") -> Membership:
    """The groups of :func:`group_rates` (*by*, *custom*, *province_name* as there) over the rows
    of *sections*: by a registry field (groups sorted by name; rows without a name in none), the
    whole table (``province``), or the listed sections (``custom``)."""
    if by not in GROUP_FIELDS:
        raise ValueError(f"by must be one of {', '.join(GROUP_FIELDS)}, got {by!r}")
    n = len(sections)
    if by == "custom":
        if not custom:
            raise ValueError("by='custom' needs custom={group name: [section, ...]}")
        present = set(sections["section"])
        rows = [np.flatnonzero(sections["section"].isin(secs).to_numpy(bool)) for secs in custom.values()]
        return Membership(list(custom), np.repeat(np.arange(len(rows), dtype=np.int64), [len(r) for r in rows]),
                          np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64),
                          [sorted(set(secs) - present) for secs in custom.values()])
    if by == "province":
        return Membership([province_name], np.zeros(n, np.int64), np.arange(n, dtype=np.int64), [[]])
    codes, names = pd.factorize(sections[GROUP_FIELDS[by]], sort=True)
    keep = codes >= 0
    return Membership(list(names), codes[keep].astype(np.int64), np.flatnonzero(keep).astype(np.int64),
                      [[] for _ in names])


def class_counts(sections: pd.DataFrame, members: Membership) -> pd.DataFrame:
    """Counts of each group (one row per group, in order): ``sections`` (evaluated: with a class),
    ``sections_listed``, ``class_1 .. class_6``, ``sections_i_iii`` (:func:`is_i_iii`),
    ``i_iii_share, worse_v_share`` (% of the sections evaluated; NaN without any),
    ``sections_meeting_target`` and ``target_compliance_share`` (each evaluated section against
    its own target class), ``sections_without_coordinates``."""
    c = _class_codes(sections["class"])
    evaluated = c > 0
    n = members.count(evaluated)
    out = {"sections": n,
           "sections_listed": members.count(np.ones(len(c), bool)) + np.array([len(m) for m in members.missing],
                                                                               dtype=np.int64)}
    for k in range(1, 7):
        out[f"class_{k}"] = members.count(c == k)
    out["sections_i_iii"] = members.count(is_i_iii(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["i_iii_share"] = np.where(n > 0, 100.0 * out["sections_i_iii"] / n, np.nan)
        out["worse_v_share"] = np.where(n > 0, 100.0 * out["class_6"] / n, np.nan)
        meets = sections["meets_target"].astype("boolean").fillna(False).to_numpy(bool) & evaluated
        out["sections_meeting_target"] = members.count(meets)
        out["target_compliance_share"] = np.where(n > 0, 100.0 * out["sections_meeting_target"] / n, np.nan)
    out["sections_without_coordinates"] = members.count(~sections["has_coordinates"].astype(bool).to_numpy())
    return pd.DataFrame(out)


def group_labels(sections: pd.DataFrame, members: Membership, counts: pd.DataFrame, *,
                 ph_mean: str = "arithmetic", nondetect_fraction: float | None = None) -> pd.DataFrame:
    """The 水质状况 of each group (one row per group, in order): ``method`` (``average_indicators``
    below 5 sections evaluated, else ``class_proportion``; empty without any), ``average_class``
    (small groups), ``status`` and ``main_pollutants``.

    References
    ----------
    环办〔2011〕22号 河流、流域（水系）水质评价, 主要污染指标 (reference/standards.md §5.3, §5.5).
    """
    g = gb3838()
    rating = g.evaluation["group_rating"]
    gmp = g.evaluation["group_main_pollutants"]
    frac = g.nondetect["average_fraction"] if nondetect_fraction is None else nondetect_fraction
    n = counts["sections"].to_numpy(np.int64)
    large = n >= rating["section_count_threshold"]
    small = (n > 0) & ~large
    m = len(n)
    method = np.where(large, rating["large_group_method"], np.where(small, rating["small_group_method"], "")).astype(object)
    average = np.full(m, pd.NA, dtype=object)
    status = np.full(m, "", dtype=object)
    status[large] = proportion_status(counts["sections_i_iii"].to_numpy(np.int64)[large],
                                      counts["class_6"].to_numpy(np.int64)[large], n[large])
    pollutants = np.full(m, "", dtype=object)
    cls_items = [c for c in g.classification_items if c in sections.columns]
    evaluated = _class_codes(sections["class"]) > 0
    for i in np.flatnonzero(small):  # a few indicators averaged over each small group
        rows = members.rows_of(i)
        avg, _ = _average_indicators(sections.iloc[rows[evaluated[rows]]], cls_items, ph_mean=ph_mean, fraction=frac)
        average[i], status[i], pollutants[i] = avg["class"], avg["status"], avg["main_pollutants"]
    reported = large & np.isin(status, list(gmp["reported_for_statuses"]))
    if reported.any():
        over = {it: members.count(evaluated & (sections[f"{it}_class"].fillna(0).to_numpy(np.int64) > gmp["exceed_class"])
                                  if f"{it}_class" in sections else np.zeros(len(evaluated), bool))
                for it in cls_items}
        for i in np.flatnonzero(reported):
            rates = sorted((-int(over[it][i]), j, it, 100.0 * int(over[it][i]) / n[i])
                           for j, it in enumerate(cls_items) if over[it][i])
            pollutants[i] = ";".join(f"{g.label(it)}({r:.1f}%)" for _, _, it, r in rates[: gmp["max_items"]])
    return pd.DataFrame({"method": method, "average_class": pd.array(average, dtype="Int8"), "status": status,
                         "main_pollutants": pollutants})


def group_verdicts(names, shares, *, scope: str, year: int | None, targets: Targets | None = None) -> pd.DataFrame:
    """``i_iii_target`` (:class:`envq.targets.Targets` of *scope*, each name, *year*; NaN without a
    year) and ``target_met`` (the one rule, :func:`envq.targets.judge`) of each group."""
    targets = Targets() if targets is None else targets
    m = len(names)
    target = targets.lookup(WATER, scope, [str(x) for x in names], year) if year and m else np.full(m, np.nan)
    return pd.DataFrame({"i_iii_target": target,
                         "target_met": judge(np.asarray(shares, dtype=float), target) if m else pd.array([], "boolean")})


def group_rates(sections: pd.DataFrame, *, by: str = "system", custom: Mapping[str, list] | None = None,
                province_name: str = "湖南省", targets: Targets | None = None, ph_mean: str = "arithmetic",
                nondetect_fraction: float | None = None, scope: str | None = None,
                period: Period | str | None = None) -> pd.DataFrame:
    """Class shares, compliance rate and status of each group of sections: the groups
    (:func:`group_members`), their counts (:func:`class_counts`), status and main pollutants
    (:func:`group_labels`) and verdict (:func:`group_verdicts`).

    Parameters
    ----------
    sections : pandas.DataFrame
        From :func:`section_table`.
    by : {"system", "river", "city", "county", "section", "province", "custom"}
    custom : mapping of str to list of str, optional
        Group name -> section names (``by="custom"``), e.g. a river-chief reach.
    province_name : str
        Name of the ``province`` group.
    targets : envq.targets.Targets, optional
        Default: the built-in table (province and basins 95%; :mod:`envq.targets`).
    ph_mean : {"arithmetic", "hydrogen"}
        pH averaging over sections for groups of fewer than 5 sections.
    scope : str, optional
        The ``group`` label of the rows (default *by*; ``reach``, ``basin``, ``area`` for custom
        groups), which also picks their targets.
    period : Period or str, optional
        The period of *sections* (default their ``period`` column).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group, name, period, sections`` (evaluated), ``sections_listed``,
        ``class_1 .. class_6`` (counts), ``sections_i_iii`` (:func:`i_iii_count`),
        ``i_iii_share, worse_v_share`` (% of sections evaluated), ``method`` (``average_indicators`` below 5 sections, else
        ``class_proportion``), ``average_class`` (small groups), ``status``,
        ``main_pollutants``, ``sections_meeting_target`` and ``target_compliance_share`` (each
        section against its own target class), ``i_iii_target`` and ``target_met`` (the one rule of
        :mod:`envq.targets`: the published share >= the target),
        ``sections_without_coordinates``, ``sections_not_in_registry``, ``missing_sections``
        (custom groups: listed sections without data).

    References
    ----------
    环办〔2011〕22号 河流、流域（水系）水质评价, 主要污染指标 (reference/standards.md §5.3, §5.5).
    """
    members = group_members(sections, by, custom, province_name)
    if not members.names:
        return pd.DataFrame()
    scope = scope or by
    if period is None and len(sections):
        period = sections["period"].iloc[0]
    period = parse_period(period) if period is not None and period != "" else None
    label, year = (period.label, period.year) if period is not None else ("", None)

    counts = class_counts(sections, members)
    labels = group_labels(sections, members, counts, ph_mean=ph_mean, nondetect_fraction=nondetect_fraction)
    verdicts = group_verdicts(members.names, counts["i_iii_share"], scope=scope, year=year, targets=targets)
    head = pd.DataFrame({"group": scope, "name": members.names, "period": label})
    out = pd.concat([head, counts.drop(columns="sections_without_coordinates"), labels, verdicts,
                     counts[["sections_without_coordinates"]]], axis=1)
    out = out[[*head, "sections", "sections_listed", *(f"class_{k}" for k in range(1, 7)), "sections_i_iii",
               "i_iii_share", "worse_v_share", *labels, "sections_meeting_target", "target_compliance_share",
               *verdicts, "sections_without_coordinates"]]
    out["sections_not_in_registry"] = _not_in_registry(sections, members)
    out["missing_sections"] = [";".join(m) for m in members.missing]
    return out


def _not_in_registry(sections: pd.DataFrame, members: Membership) -> list[str]:
    """For each group, its sections the registry does not know, joined by ``;`` in table order."""
    found: list[list] = [[] for _ in members.names]
    w = ~sections["in_registry"].astype(bool).to_numpy()[members.row]
    for gi, sec in zip(members.group[w], sections["section"].to_numpy(object)[members.row[w]]):
        found[gi].append(sec)
    return [";".join(f) for f in found]


def status_change(current, previous, *, none: str = "") -> np.ndarray:
    """Change of 水质状况 between two periods, by level (:data:`STATUS_ORDER`): the same level
    无明显变化; one level better 有所好转, two or more 明显好转; worse alike (labels of
    ``gb3838_2002.yaml`` ``evaluation.trend.labels``). *none* where either status is missing.

    References
    ----------
    环办〔2011〕22号 水质变化趋势分析, comparison of 水质状况 levels (reference/standards.md §5.6).

    >>> status_change(["优", "良好", "优", "轻度污染", "重度污染", "优"],
    ...               ["优", "轻度污染", "中度污染", "良好", "轻度污染", ""], none="无数据").tolist()
    ['无明显变化', '有所好转', '明显好转', '有所变差', '明显变差', '无数据']
    """
    lab = gb3838().evaluation["trend"]["labels"]
    cur = pd.Series(np.asarray(current, dtype=object)).map(STATUS_ORDER).to_numpy(np.float64)
    prev = pd.Series(np.asarray(previous, dtype=object)).map(STATUS_ORDER).to_numpy(np.float64)
    if cur.shape != prev.shape:
        raise ValueError(f"current and previous differ in length ({cur.size} and {prev.size})")
    d = prev - cur  # positive = better now (lower level)
    ad = np.abs(np.nan_to_num(d))
    out = np.where(ad == 0, lab["no_change"],
                   np.where(d > 0, np.where(ad == 1, lab["some_better"], lab["clearly_better"]),
                            np.where(ad == 1, lab["some_worse"], lab["clearly_worse"]))).astype(object)
    out[np.isnan(d)] = none
    return out


def compare_periods(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Change of each group against a previous period (the method's ΔG−ΔD rule).

    ``ΔG`` and ``ΔD`` are the changes (percentage points) of the Class I-III share and of the 劣V
    share; ``change_index = ΔG − ΔD``. ``|ΔG−ΔD| ≤ 10``: 无明显变化; ``10 < · ≤ 20``: 有所好转 /
    有所变差; ``> 20``: 明显好转 / 明显变差 (sign: better when positive). Groups evaluated with
    fewer than 5 sections in either period are compared by status level instead (same level: no
    change; one level: some; two or more: clear), as the method allows.

    Returns ``current`` with ``previous_period, previous_i_iii_share, previous_worse_v_share,
    delta_g, delta_d, change_index, change, change_method`` added.

    References
    ----------
    环办〔2011〕22号 水质变化趋势分析 (reference/standards.md §5.6).
    """
    g = gb3838()
    tr = g.evaluation["trend"]
    lab = tr["labels"]
    thr = g.evaluation["group_rating"]["section_count_threshold"]
    def counts(t):
        return t.assign(_good=t["sections_i_iii"], _bad=t["class_6"])

    prev = counts(previous)[["group", "name", "period", "sections", "i_iii_share", "worse_v_share", "status",
                             "_good", "_bad"]]
    m = counts(current).merge(prev, on=["group", "name"], how="left", suffixes=("", "_prev"))
    n1 = m["sections"].to_numpy(np.int64)
    n0 = m["sections_prev"].fillna(0).to_numpy(np.int64)
    ok = (n1 > 0) & (n0 > 0)
    x1 = (m["_good"] - m["_bad"]).to_numpy(np.int64)
    x0 = (m["_good_prev"].fillna(0) - m["_bad_prev"].fillna(0)).to_numpy(np.int64)
    # change_index = 100 (x1/n1 - x0/n0); exact compare |.| against t: |100 (x1 n0 - x0 n1)| vs t n0 n1
    num = 100 * (x1 * n0 - x0 * n1)
    den = n0 * n1
    a = np.abs(num)
    t1 = round(tr["no_change_max"] * 1000)
    t2 = round(tr["some_change_max"] * 1000)
    level = np.where(a * 1000 <= t1 * den, 0, np.where(a * 1000 <= t2 * den, 1, 2))
    sign = np.sign(num)
    by_share = np.where(level == 0, lab["no_change"],
                        np.where(sign > 0, np.where(level == 1, lab["some_better"], lab["clearly_better"]),
                                 np.where(level == 1, lab["some_worse"], lab["clearly_worse"])))
    by_status = status_change(m["status"], m["status_prev"], none=lab["no_change"])
    small = (n1 < thr) | (n0 < thr)
    out = current.copy()
    out["previous_period"] = m["period_prev"].to_numpy()
    out["previous_i_iii_share"] = m["i_iii_share_prev"].to_numpy()
    out["previous_worse_v_share"] = m["worse_v_share_prev"].to_numpy()
    out["delta_g"] = np.where(ok, m["i_iii_share"] - m["i_iii_share_prev"], np.nan)
    out["delta_d"] = np.where(ok, m["worse_v_share"] - m["worse_v_share_prev"], np.nan)
    out["change_index"] = np.where(ok, num / np.where(den > 0, den, 1), np.nan)
    out["change"] = np.where(ok, np.where(small, by_status, by_share), "")
    out["change_method"] = np.where(ok, np.where(small, "status_level", "delta_g_minus_delta_d"), "")
    return out


# --------------------------------------------------------------------------------------------
# the whole evaluation


@dataclasses.dataclass
class Evaluation:
    """Result of :func:`evaluate`: period values, section classes, group rates, unknown sections."""

    period: Period
    values: pd.DataFrame
    sections: pd.DataFrame
    rates: pd.DataFrame
    unknown_sections: list


def evaluate(long: pd.DataFrame, period, *, by: str = "system", registry: pd.DataFrame | None = None,
             source: str | None = None, ph_mean: str = "arithmetic", custom=None, targets=None,
             previous=None, province_name: str = "湖南省", nondetect=None, scope: str | None = None) -> Evaluation:
    """Evaluate a period from the canonical long table: values -> section classes -> group rates.

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table (screened readings).
    period : str or envq.periods.Period
        Any period of the grammar; a year to date ends on the last reading.
    by, custom, targets, province_name, scope : see :func:`group_rates`
    registry : pandas.DataFrame, optional
        Default :func:`envq.water.registry.load_registry` (configuration honoured).
    source, ph_mean : see :func:`envq.water.periods.period_values`
    previous : str, Period or True, optional
        Also compare with this period (``True``: the period just before, :meth:`Period.previous`;
        a year to date has none) by ΔG−ΔD.
    """
    registry = load_registry() if registry is None else registry
    kw = {"by": by, "custom": custom, "province_name": province_name, "targets": targets, "ph_mean": ph_mean,
          "scope": scope}
    p, values, sections, unknown = _evaluated_sections(long, period, registry, source, ph_mean, nondetect)
    rates = group_rates(sections, period=p, **kw)
    pp = None if previous is None or previous is False else (p.previous() if previous is True else parse_period(previous))
    if pp is not None:
        _, pv, ps, _ = _evaluated_sections(long, pp, registry, source, ph_mean, nondetect)
        if len(pv):
            rates = compare_periods(rates, group_rates(ps, period=pp, **kw))
    return Evaluation(p, values, sections, rates, unknown)


def period_sections(long: pd.DataFrame, period, *, registry: pd.DataFrame | None = None, source: str | None = None,
                    ph_mean: str = "arithmetic", nondetect=None) -> tuple[Period, pd.DataFrame, list]:
    """The first half of :func:`evaluate`: the period (a year to date ended on the last reading),
    the class of every section with data (:func:`section_table` of :func:`period_values`), and
    the section names the registry does not know."""
    registry = load_registry() if registry is None else registry
    p, _, sections, unknown = _evaluated_sections(long, period, registry, source, ph_mean, nondetect)
    return p, sections, unknown


def _evaluated_sections(long, period, registry, source, ph_mean, nondetect):
    p = _resolved(long, period)
    values = period_values(long, p, source=source, ph_mean=ph_mean)
    sections, unknown = section_table(values, registry, nondetect=nondetect)
    return p, values, sections, unknown


def _resolved(long: pd.DataFrame, period) -> Period:
    """*period* as a Period; a year to date ends on the last reading."""
    p = parse_period(period)
    if p.kind == "ytd" and len(long):
        p = p.until(pd.Timestamp(long["time"].max()).date())
    return p
