"""Audit of the published hourly AQI: envq's figure against the feed's, station-hour by station-hour.

The CNEMC live feed (and the archive) carries the platform's own hourly AQI (``aqi``) and, in the
live feed, its primary pollutant (``primarypollutant``). :func:`audit_air` computes envq's hourly
AQI of every station-hour exactly as envq does everywhere else (plausibility screening, then
:func:`envq.air.aqi.hourly_aqi` with the edition in force and its publication rule) and compares:

- **compared**: every station-hour for which the file gives a published AQI or at least one
  pollutant value (a row with nothing at all gives nothing to compare);
- **agrees**: the AQI is the same (both withheld counts as the same) and, where the file
  publishes one, the primary pollutant is the same (``NA``, ``-;`` and empty mean none). The
  category is the AQI's (the feed publishes none; the published category shown is that of the
  published AQI under the edition in force);
- each disagreement gets the first reason of :data:`envq.audit.reasons.REASONS` that reproduces
  the published value (``screened``, ``publication_rule``, ``unknown_iaqi``, ``value_not_in_file``,
  ``edition``, ``rounding``), else ``unexplained``; ``detail`` says it with the values.
  ``unknown_iaqi`` names the platform's publication codes 4 and 5 of :mod:`envq.air.aqi`: an SO2
  1-hour value above 800 without the 24-hour SO2 (or O3 8-hour above 800 without the 1-hour O3)
  leaves that pollutant's IAQI unknown (HJ 633-2012 Table 1 notes 2-3), so envq withholds an AQI
  that IAQI could change (4) while the publisher published one; or, with the others already at the
  cap of 500 (5), the AQI agrees and the publisher's primary pollutants are those of the other
  ``unknown_iaqi`` choice.

Everything is vectorised: the comparison over all station-hours, each alternative computation
over the disagreeing ones only (:func:`envq.air.aqi.compute_aqi` on flat arrays).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq.air.daily import natural_day
from envq.audit.reasons import UNEXPLAINED
from envq.canonical import AIR_POLLUTANTS

__all__ = ["AuditResult", "audit_air", "has_published_aqi", "AIR_COLUMNS", "PUBLISHED_AIR"]

#: Variables of the canonical dataset that hold what was published.
PUBLISHED_AIR = ("aqi_cnemc", "primary_pollutant_cnemc")

#: Columns of the air disagreement table.
AIR_COLUMNS = ["file", "stationcode", "station_name", "city", "timepoint", "published_aqi", "computed_aqi",
               "published_category", "computed_category", "published_primary", "computed_primary",
               "missing_pollutants", "edition", "station_known", "reason", "detail"]

_NONE_PRIMARY = ("NA", "-;", "—", "-", "nan", "None")


@dataclasses.dataclass
class AuditResult:
    """What an audit found: counts, the disagreements (one row each, with its reason) and the
    agreement per day.

    ``by_day`` has columns ``part, day, compared, agreeing, agreement_pct`` (``day`` a
    ``YYYY-MM-DD`` string: the natural day of an hour-ending label, the date of a water reading).
    """

    part: str
    compared: int
    agreeing: int
    disagreements: pd.DataFrame
    by_day: pd.DataFrame

    @property
    def agreement_pct(self) -> float:
        """Agreeing / compared [%] (NaN when nothing was compared)."""
        return 100.0 * self.agreeing / self.compared if self.compared else float("nan")

    def by_reason(self) -> pd.Series:
        """Disagreements per reason (largest first)."""
        return self.disagreements["reason"].value_counts()

    def line(self, label: str = "") -> str:
        """One line for people: ``label: 1550/1551 agree (99.94%); 51 differ: 50 publication_rule, ...``."""
        head = f"{label}: " if label else ""
        if not self.compared:
            return f"{head}nothing to compare (no published {'AQI' if self.part == 'air' else 'class'})"
        text = f"{head}{self.agreeing}/{self.compared} agree ({self.agreement_pct:.2f}%)"
        n = self.compared - self.agreeing
        if n:
            text += f"; {n} differ: " + ", ".join(f"{k} {v}" for k, v in self.by_reason().items())
        return text


def concat_results(results: list[AuditResult]) -> AuditResult:
    """Several audits of one part as one (counts added, tables stacked; days summed)."""
    part = results[0].part if results else "air"
    dis = pd.concat([r.disagreements for r in results], ignore_index=True) if results else pd.DataFrame()
    days = pd.concat([r.by_day for r in results], ignore_index=True) if results else _empty_days()
    if len(days):
        days = days.groupby(["part", "day"], as_index=False)[["compared", "agreeing"]].sum()
        days["agreement_pct"] = _pct(days["agreeing"], days["compared"])
    return AuditResult(part, sum(r.compared for r in results), sum(r.agreeing for r in results), dis, days)


def _pct(num, den) -> np.ndarray:
    from envq._rounding import round_gbt8170

    num, den = np.asarray(num, float), np.asarray(den, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return round_gbt8170(np.where(den > 0, 100.0 * num / den, np.nan), 2)


def _empty_days() -> pd.DataFrame:
    return pd.DataFrame({"part": pd.Series([], dtype=object), "day": pd.Series([], dtype=object),
                         "compared": pd.Series([], dtype=np.int64), "agreeing": pd.Series([], dtype=np.int64),
                         "agreement_pct": pd.Series([], dtype=float)})


def by_day_table(part: str, day: np.ndarray, agree: np.ndarray) -> pd.DataFrame:
    """Agreement per day from the day (datetime64[D]) and agreement of every compared row."""
    if not len(day):
        return _empty_days()
    df = pd.DataFrame({"day": pd.DatetimeIndex(day).strftime("%Y-%m-%d"), "agree": agree})
    g = df.groupby("day", sort=True)["agree"].agg(["size", "sum"]).reset_index()
    out = pd.DataFrame({"part": part, "day": g["day"], "compared": g["size"].astype(np.int64),
                        "agreeing": g["sum"].astype(np.int64)})
    out["agreement_pct"] = _pct(out["agreeing"], out["compared"])
    return out


# --------------------------------------------------------------------------------------------


def _norm_primary(a: np.ndarray) -> np.ndarray:
    s = np.asarray(a, dtype=object).astype(str)
    s = np.char.strip(s.astype("U"))
    return np.where(np.isin(s, _NONE_PRIMARY), "", s).astype(object)


def _editions(days: np.ndarray, edition: str) -> np.ndarray:
    """Edition id of each natural day (or the forced one)."""
    if edition != "auto":
        standards.edition_for("hj633", "2026-01-01", force=edition)
        return np.full(len(days), edition, dtype=object)
    switch = np.datetime64(standards.load("hj633_2026")["in_force_from"], "D")
    return np.where(days >= switch, "hj633_2026", "hj633_2012").astype(object)


def has_published_aqi(hourly) -> bool:
    """True when *hourly* holds at least one published AQI (``aqi_cnemc``): an archive file
    without AQI rows reads as an all-missing ``aqi_cnemc``, which publishes nothing to audit."""
    if "aqi_cnemc" not in hourly.data_vars:
        return False
    return bool(np.isfinite(np.asarray(hourly["aqi_cnemc"].values, dtype=float)).any())


def _category_of(aqi: np.ndarray, eds: np.ndarray) -> np.ndarray:
    """Chinese category of each AQI under its edition ("" for NaN)."""
    from envq.air.aqi import category_table

    out = np.full(len(aqi), "", dtype=object)
    for ed in pd.unique(eds):
        cats = category_table(ed)
        m = (eds == ed) & np.isfinite(aqi)
        if m.any():
            lvl = np.searchsorted(cats["aqi_max"].to_numpy(float), aqi[m], side="left")
            names = np.array(cats["category_zh"].tolist() + [""], dtype=object)
            out[m] = names[np.clip(lvl, 0, len(names) - 1)]
    return out


def _recompute(values: dict[str, np.ndarray], eds: np.ndarray, in_plan: dict[str, np.ndarray] | None, *,
               missing_rule: str | None) -> np.ndarray:
    """Published AQI of flat rows, each under its edition (the engine's pure core)."""
    from envq.air.aqi import aqi_edition, compute_aqi

    out = np.full(len(eds), np.nan)
    for ed in pd.unique(eds):
        m = eds == ed
        _, terms, fallback = aqi_edition(ed).report("hourly")
        inputs = {t.input: values[t.input][m] for t in terms + fallback if t.input in values}
        plan = {p: a[m] for p, a in in_plan.items()} if in_plan else None
        out[m] = compute_aqi(inputs, edition=ed, report="hourly", in_plan=plan, missing_rule=missing_rule)["aqi"]
    return out


def _float_aqi(values: dict[str, np.ndarray], eds: np.ndarray, mode: str) -> np.ndarray:
    """AQI of flat rows under a different rounding: ``"unrounded"`` (concentrations as given, IAQI
    taken up) or ``"nearest"`` (concentrations rounded per GB/T 8170, IAQI rounded to nearest)."""
    from envq._rounding import round_gbt8170
    from envq.air.aqi import aqi_edition

    out = np.full(len(eds), np.nan)
    for ed in pd.unique(eds):
        m = eds == ed
        e = aqi_edition(ed)
        _, terms, _ = e.report("hourly")
        cols = []
        for t in terms:
            if t.input not in values:
                continue
            tab = e.tables[t.table]
            bp = tab.bp / 10.0**tab.decimals
            c = values[t.input][m].astype(float)
            if mode == "nearest":
                c = round_gbt8170(c, tab.decimals)
            x = np.interp(c, bp, tab.levels.astype(float))
            iaqi = np.ceil(x - 1e-9) if mode == "unrounded" else np.floor(x + 0.5)
            iaqi = np.where(c > bp[-1], 500.0 if tab.full else np.nan, iaqi)
            cols.append(np.where(np.isfinite(c) & (c >= 0), iaqi, np.nan))
        if cols:
            with np.errstate(invalid="ignore"):
                out[m] = np.fmax.reduce(np.vstack(cols), axis=0)
    return np.clip(out, 0, 500)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _fmt(x: np.ndarray) -> np.ndarray:
    """Integers as text, NaN as 'NA' (vectorised)."""
    s = pd.Series(x, dtype=float)
    return np.where(s.notna(), s.round(0).astype("Int64").astype(str), "NA").astype(object)


def _edition_numbers(eds: np.ndarray) -> np.ndarray:
    nums = {ed: standards.load(ed)["number"] for ed in pd.unique(eds)}
    return pd.Series(eds).map(nums).to_numpy(object)


def audit_air(hourly: xr.Dataset, *, edition: str = "auto", missing_rule: str | None = None, screen: bool = True,
              screening_rules=None, source: str | None = None, unknown_iaqi: str = "known") -> AuditResult:
    """Compare envq's hourly AQI, category and primary pollutant with the published ones.

    Parameters
    ----------
    hourly : xarray.Dataset
        Canonical hourly dataset (dims station, time) with the published ``aqi_cnemc`` and, when
        the feed has it, ``primary_pollutant_cnemc`` (:func:`envq.sources.cnemc_live.read_cnemc_live`,
        :func:`envq.sources.cnemc_archive.read_cnemc_archive`).
    edition : str
        ``"auto"`` (the edition in force on each day, HJ 633-2026 from 2026-03-01) or forced.
    missing_rule : str, optional
        Publication with a pollutant missing (default: the edition's, as everywhere in envq).
    screen : bool
        Screen the values first (:mod:`envq.air.screening`), as envq does for every figure it
        publishes; a value screened out that the publisher used is then the reason ``screened``.
    unknown_iaqi : {"known", "possible"}
        How envq names the primary pollutants when a pollutant's IAQI is unknown at the cap
        (:func:`envq.air.aqi.compute_aqi`; default ``"known"``, as everywhere in envq).
    screening_rules : sequence of Rule, optional
        Default :data:`envq.air.screening.DEFAULT_RULES`.
    source : str, optional
        The ``file`` column of the disagreements (default the dataset's ``source`` attribute).

    Returns
    -------
    AuditResult
        ``disagreements`` with :data:`AIR_COLUMNS` (``published_aqi``/``computed_aqi`` Int64,
        empty for none), ``by_day`` the agreement of each natural day.

    Raises
    ------
    ValueError
        The dataset carries no published AQI.
    """
    from envq.air.aqi import hourly_aqi

    if not has_published_aqi(hourly):
        src = hourly.attrs.get("source", "")
        from envq.errors import UsageError  # nothing to audit against: the user's file to fix

        raise UsageError(f"{src or 'the data'}: no published AQI (the feed's 'aqi' column, the archive's AQI rows) "
                         "to audit against")
    src = source if source is not None else hourly.attrs.get("source", "")
    src = src if isinstance(src, str) else ";".join(map(str, src))
    ds = hourly
    present_vars = [v for v in AIR_POLLUTANTS if v in ds.data_vars]
    # every variable flattened as (station, time)
    grid = {v: ds[v].transpose("station", "time").values for v in ds.data_vars
            if set(ds[v].dims) == {"station", "time"}}
    if screen:
        from envq.air.screening import DEFAULT_RULES
        from envq.air.screening import screen as run_screen

        clean, log = run_screen(ds, DEFAULT_RULES if screening_rules is None else screening_rules)
    else:
        clean, log = ds, pd.DataFrame(columns=["station", "time", "variable", "value", "rule", "reason"])
    inputs = clean.drop_vars([v for v in PUBLISHED_AIR if v in clean])
    res = hourly_aqi(inputs, edition=edition, missing_rule=missing_rule,
                     unknown_iaqi=unknown_iaqi).transpose("station", "time")

    def with_unknown_iaqi(choice):  # the other choice for an unknown IAQI at the cap (rare: computed on demand)
        return hourly_aqi(inputs, edition=edition, missing_rule=missing_rule,
                          unknown_iaqi=choice).transpose("station", "time")

    pub = grid["aqi_cnemc"].astype(float)
    row = np.isfinite(pub)
    for v in present_vars:
        row |= np.isfinite(grid[v])
    si, ti = np.nonzero(row)
    stations = np.asarray(ds["station"].values).astype(str)
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    pub_aqi = pub[si, ti]
    comp_aqi = res["aqi"].values[si, ti].astype(float)
    agree = _same(pub_aqi, comp_aqi)
    has_primary = "primary_pollutant_cnemc" in grid
    if has_primary:
        pub_prim = _norm_primary(grid["primary_pollutant_cnemc"][si, ti])
        comp_prim = _norm_primary(res["primary_pollutant"].values[si, ti])
        agree_primary = pub_prim == comp_prim
        agree &= agree_primary
    days = natural_day(times[ti]).values.astype("datetime64[D]")
    by_day = by_day_table("air", days, agree)

    d = np.flatnonzero(~agree)
    s_d, t_d = si[d], ti[d]
    eds = _editions(days[d], edition)
    out = pd.DataFrame({
        "file": src,
        "stationcode": stations[s_d],
        "station_name": np.asarray(ds["name"].values).astype(str)[s_d] if "name" in ds.coords else "",
        "city": np.asarray(ds["city"].values).astype(str)[s_d] if "city" in ds.coords else "",
        "timepoint": pd.DatetimeIndex(times[t_d]).strftime("%Y-%m-%dT%H%M"),
        "published_aqi": pd.array(np.where(np.isfinite(pub_aqi[d]), pub_aqi[d], np.nan), dtype="Float64").round(0).astype("Int64"),
        "computed_aqi": pd.array(comp_aqi[d], dtype="Float64").round(0).astype("Int64"),
        "published_category": _category_of(pub_aqi[d], eds),
        "computed_category": res["category"].values[s_d, t_d].astype(object),
        "published_primary": pub_prim[d] if has_primary else "",
        "computed_primary": comp_prim[d] if has_primary else _norm_primary(res["primary_pollutant"].values[s_d, t_d]),
        "missing_pollutants": res["missing_pollutants"].values[s_d, t_d].astype(object),
        "edition": eds,
        "station_known": ~np.isin(stations[s_d], list(ds.attrs.get("unknown_stations", []))),
    })
    out["reason"], out["detail"] = _air_reasons(
        grid, clean, res, log, stations, times, s_d, t_d, eds, pub_aqi[d], comp_aqi[d],
        agree_aqi=_same(pub_aqi[d], comp_aqi[d]), out=out, missing_rule=missing_rule, in_plan_ds=ds,
        unknown_iaqi=unknown_iaqi, unknown_iaqi_ds=with_unknown_iaqi)
    out.attrs["reasons_order"] = "screened, publication_rule, unknown_iaqi, value_not_in_file, edition, rounding"
    return AuditResult("air", int(len(agree)), int(agree.sum()), out[AIR_COLUMNS], by_day)


def _air_reasons(grid, clean, res, log, stations, times, s_d, t_d, eds, pub, comp, *, agree_aqi, out, missing_rule,
                 in_plan_ds, unknown_iaqi="known", unknown_iaqi_ds=None):
    n = len(s_d)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if not n:
        return reason, detail
    clean_grid = {v: clean[v].transpose("station", "time").values for v in grid if v in clean.data_vars}
    raw = {v: a[s_d, t_d].astype(float) for v, a in grid.items() if a.dtype.kind in "fiu"}
    kept = {v: a[s_d, t_d].astype(float) for v, a in clean_grid.items() if a.dtype.kind in "fiu"}
    plan = None
    if "in_plan" in in_plan_ds.coords or "in_plan" in in_plan_ds:
        ip = in_plan_ds["in_plan"].transpose("station", "pollutant")
        plan = {str(p): ip.sel(pollutant=p).values[s_d].astype(bool) for p in ip["pollutant"].values}
    miss = out["missing_pollutants"].fillna("").astype(str).to_numpy(object)
    has_miss = miss != ""
    publication = res["publication"].values[s_d, t_d]
    pub_s, comp_s = _fmt(pub), _fmt(comp)
    computed_any = res["aqi_computed"].values[s_d, t_d].astype(float)
    T = len(times)

    def take(mask, code, text):
        m = mask & (reason == "")
        reason[m] = code
        detail[m] = text[m] if isinstance(text, np.ndarray) else text
        return m

    # 1. screened: envq removed a value at this station-hour; with the raw values it gives the published AQI
    if len(log):
        key_log = (pd.Index(stations).get_indexer(log["station"].astype(str)) * T
                   + pd.Index(times).get_indexer(pd.to_datetime(log["time"]).to_numpy("datetime64[ns]")))
        what = (log["variable"].astype(str) + "=" + log["value"].map("{:g}".format) + " (" + log["rule"].astype(str)
                + ": " + log["reason"].astype(str) + ")")
        what = what.groupby(key_log).agg("; ".join)
        key_d = s_d.astype(np.int64) * T + t_d
        hit = np.isin(key_d, what.index.to_numpy())
        if hit.any():
            alt = _recompute(raw, eds, plan, missing_rule=missing_rule)
            ok = hit & _same(alt, pub)
            text = ("envq 筛除了 " + pd.Series(key_d).map(what).fillna("").to_numpy(object)
                    + "; 不筛除时 AQI 为 " + _fmt(alt) + ", 与发布值一致 / envq screened the value out; with it the AQI is "
                    + _fmt(alt) + " as published")
            take(ok, "screened", text)

    # 2. publication rule: a pollutant missing; one side published, the other withheld
    one_side = np.isnan(pub) != np.isnan(comp)
    is26 = eds == "hj633_2026"
    rule_zh = np.where(is26, "HJ 633-2026 §5.3 (缺测时 AQI ≤ 100 不发布)", "HJ 633-2012 (按现有污染物发布)").astype(object)
    rule_en = np.where(is26, "HJ 633-2026 §5.3: with a pollutant missing, published only if AQI > 100",
                       "HJ 633-2012: published over the pollutants present").astype(object)
    withheld = has_miss & one_side & np.isnan(comp) & (publication == 2)
    take(withheld, "publication_rule",
         "缺测 " + miss + "; envq 依 " + rule_zh + " 不发布 (按现有污染物为 " + _fmt(computed_any) + "); 发布方发布 "
         + pub_s + " / " + miss + " missing: envq withholds the AQI (" + rule_en + "; " + _fmt(computed_any)
         + " over the pollutants present); the publisher published " + pub_s)
    published_by_envq = has_miss & one_side & np.isnan(pub) & (publication == 1)
    take(published_by_envq, "publication_rule",
         "缺测 " + miss + "; envq 依 " + rule_zh + " 发布 " + comp_s + "; 发布方未发布 / " + miss
         + " missing: envq publishes " + comp_s + " (" + rule_en + "); the publisher published none")

    # 3. an unknown IAQI (HJ 633-2012 Table 1 notes 2-3; envq.air.aqi publication codes 4 and 5)
    undetermined = (publication == 4) & np.isfinite(pub)
    if undetermined.any():
        so2 = raw.get("so2", np.full(n, np.nan))
        which_zh = np.where(so2 > 800, "SO2 1小时浓度 " + _fmt(so2) + " > 800 且无 SO2 24小时均值",
                            "O3 8小时浓度 > 800 且无 O3 1小时值").astype(object)
        which_en = np.where(so2 > 800, "SO2 1-hour " + _fmt(so2) + " > 800 without the SO2 24-hour mean",
                            "O3 8-hour above 800 without the O3 1-hour value").astype(object)
        iaqis = [res[v].values[s_d, t_d].astype(float) for v in res.data_vars if str(v).startswith("iaqi_")]
        with np.errstate(invalid="ignore"):
            others = np.fmax.reduce(np.vstack(iaqis), axis=0) if iaqis else np.full(n, np.nan)
        take(undetermined, "unknown_iaqi",
             which_zh + ": 该污染物 IAQI 未知 (HJ 633-2012 表1 注2-3); 其余污染物 AQI 为 " + _fmt(others)
             + " < 500, envq 不发布 (AQI 未定, publication 4); 发布方发布 " + pub_s + " / " + which_en
             + ": its IAQI is unknown (HJ 633-2012 Table 1 notes 2-3) and the other pollutants give "
             + _fmt(others) + " < 500, so envq leaves the AQI undetermined (publication 4); the publisher published "
             + pub_s)
    at_cap = (publication == 5) & agree_aqi & (reason == "")
    if at_cap.any() and unknown_iaqi_ds is not None:
        other = "possible" if unknown_iaqi == "known" else "known"
        alt = _norm_primary(unknown_iaqi_ds(other)["primary_pollutant"].values[s_d, t_d])
        pp = out["published_primary"].astype(str).to_numpy(object)
        take(at_cap & (alt == pp), "unknown_iaqi",
             "AQI 500 (其余污染物已达上限), 一项污染物 IAQI 未知 (HJ 633-2012 表1 注2-3, publication 5): 它是否并列首要污染物"
             "无法确定; 发布方的首要污染物 '" + pp + "' 即 unknown_iaqi=\"" + other + "\" 所得, envq 按 unknown_iaqi=\""
             + unknown_iaqi + "\" 为 '" + out["computed_primary"].astype(str).to_numpy(object) + "' / AQI 500 at the cap "
             "with a pollutant's IAQI unknown (publication 5): whether it ties as primary is not determined; the "
             "published primary is what unknown_iaqi=\"" + other + "\" gives, envq's is unknown_iaqi=\"" + unknown_iaqi
             + "\"'s")

    # 4. a value the file does not carry
    nothing = (publication == 3) & np.isfinite(pub)
    take(nothing, "value_not_in_file",
         "文件中无任何污染物数值, 发布方发布了 " + pub_s + " / the file has no pollutant value; the publisher published " + pub_s)
    above = has_miss & np.isfinite(pub) & np.isfinite(comp) & (pub > comp)
    take(above, "value_not_in_file",
         "缺测 " + miss + ": 发布值 " + pub_s + " 高于 envq 按现有污染物得到的 " + comp_s
         + ": 发布方使用了文件中没有的数值 / " + miss + " missing: the published " + pub_s
         + " is above envq's " + comp_s + " over the pollutants present")

    # 5. the other edition
    todo = (reason == "") & ~agree_aqi
    if todo.any():
        other = np.where(eds == "hj633_2026", "hj633_2012", "hj633_2026").astype(object)
        alt = np.full(n, np.nan)
        alt[todo] = _recompute({k: v[todo] for k, v in kept.items()}, other[todo],
                               {k: v[todo] for k, v in plan.items()} if plan else None, missing_rule=missing_rule)
        take(todo & _same(alt, pub), "edition",
             "发布值 " + pub_s + " 符合 " + _edition_numbers(other) + "; envq 按当日施行的 " + _edition_numbers(eds)
             + " 得 " + comp_s + " / the published value follows " + _edition_numbers(other) + "; envq applies "
             + _edition_numbers(eds) + ", in force that day, and gets " + comp_s)

    # 6. rounding
    todo = (reason == "") & ~agree_aqi & np.isfinite(pub) & np.isfinite(comp)
    if todo.any():
        sub = {k: v[todo] for k, v in kept.items()}
        for mode, text in (("unrounded", "浓度不修约 / concentrations not rounded per GB/T 8170 first"),
                           ("nearest", "IAQI 四舍五入而非向上取整 / IAQI rounded to nearest, not up")):
            alt = np.full(n, np.nan)
            alt[todo] = _float_aqi(sub, eds[todo], mode)
            take(todo & _same(alt, pub), "rounding",
                 "发布值 " + pub_s + " = " + text + "; envq (HJ 633 §4.2 / §6.2) 得 " + comp_s)

    # 7. what remains
    rest = reason == ""
    if rest.any():
        pp = out["published_primary"].astype(str).to_numpy(object)
        cp = out["computed_primary"].astype(str).to_numpy(object)
        known = out["station_known"].to_numpy(bool)
        text = np.where(agree_aqi, "首要污染物不同 / primary pollutant differs: 发布 published '" + pp + "', envq '" + cp + "'",
                        "发布 published AQI " + pub_s + " '" + pp + "', envq " + comp_s + " '" + cp + "'").astype(object)
        text = np.where(known, text, text + " (站点不在 envq 站点名录中 / station not in envq's station list)")
        take(rest, UNEXPLAINED, text)
    return reason, detail
