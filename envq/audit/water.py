"""Audit of the published water class: envq's GB 3838-2002 class against the platform's 水质类别.

:func:`audit_water` classes every reading exactly as envq does everywhere else (plausibility
screening, the section registry for lakes and target classes, :func:`envq.water.classify.classify`)
and compares with the published class:

- **compared**: every reading with a published class (1..6; the feed's ``-1`` and empty mean none);
- **agrees**: the same class;
- each disagreement gets the first reason that reproduces the published class: ``screened``
  (envq removed a value the platform used), ``unknown_section`` (not in the registry, classed as
  a river; as a lake it gets the published class), ``platform_screened`` (an isolated spike envq
  keeps, found by envq's own spike rule, :func:`envq.water.screen.screen` with ``spike_factor``,
  which the platform did not use), ``no_item`` (nothing to class, yet a class was published),
  else ``unexplained``.

Readings may come from CNEMC automatic files (:func:`envq.sources.cnemc_water.read_cnemc_water`)
or manual files that carry a published class (see :func:`manual_readings`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq.audit.air import AuditResult, by_day_table
from envq.audit.reasons import UNEXPLAINED

__all__ = ["audit_water", "manual_readings", "WATER_COLUMNS", "CLASS_FIELDS", "DEFAULT_SPIKE_FACTOR"]

#: Columns of the water disagreement table.
WATER_COLUMNS = ["file", "row", "section", "time", "published_class", "computed_class", "published_class_name",
                 "computed_class_name", "limiting_items", "in_registry", "reason", "detail"]

#: Headers that hold a published class in a manual file (first found wins).
CLASS_FIELDS = ("水质类别", "class", "类别", "本周类别", "class_this_week")

#: Spike factor with which the audit looks for values the platform did not use (envq's own spike
#: rule, :func:`envq.water.screen.screen`; off in envq's figures by default). 10 x the larger of
#: the section's running median and the Class I limit: NH3-N 3.0 mg/L among readings near 0.003.
DEFAULT_SPIKE_FACTOR = 10.0

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "劣V": 6, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "Ⅴ": 5,
          "劣Ⅴ": 6, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}


def _items(readings: pd.DataFrame) -> list[str]:
    from envq.sources.cnemc_water import WATER_VARIABLES
    from envq.sources.manual_water import TEMPLATE_ITEMS

    names = list(dict.fromkeys([*WATER_VARIABLES, *TEMPLATE_ITEMS]))
    return [c for c in names if c in readings.columns]


def _class_names(c) -> np.ndarray:
    from envq.water.classify import class_name

    v = pd.array(c, dtype="Int64").fillna(0).to_numpy(np.int64)
    return np.where(v > 0, class_name(v), "").astype(object)


def _item_classes(table, lake, target, bdl) -> pd.DataFrame:
    from envq.water.classify import classify

    return classify(table, lake=lake, target_class=target, below_detection=bdl, details=False)


def _classes(table, lake, target, bdl) -> np.ndarray:
    from envq.water.classify import classify

    if not len(table):
        return np.zeros(0, np.int64)
    r = classify(table, lake=lake, target_class=target, below_detection=bdl, details=False)
    return r["class"].astype("Int64").fillna(0).to_numpy(np.int64)


def audit_water(readings: pd.DataFrame, *, registry=None, below_detection: pd.DataFrame | None = None,
                spike_factor: float = DEFAULT_SPIKE_FACTOR, source: str | None = None) -> AuditResult:
    """Compare envq's class of every reading with its published class.

    Parameters
    ----------
    readings : pandas.DataFrame
        One row per reading: ``section, time, official_class`` (Int, 1..6 or NA) and item columns
        in canonical units; optional ``file``, ``row`` (where the reading is) and ``source_kind``.
    registry : pandas.DataFrame, optional
        Section registry (default the configured one): lakes and target classes.
    below_detection : pandas.DataFrame of bool, optional
        Same index as *readings*, per item: the value is a detection limit (manual data).
    spike_factor : float
        Factor of envq's spike rule used to recognise values the platform did not use.
    source : str, optional
        The ``file`` column when *readings* has none.

    Returns
    -------
    AuditResult
        ``disagreements`` with :data:`WATER_COLUMNS`, ``by_day`` per date of the readings.
    """
    from envq.water.registry import load_registry, match_sections
    from envq.water.screen import screen_readings

    if "official_class" not in readings.columns:
        from envq.errors import UsageError  # nothing to audit against: the user's file to fix

        raise UsageError(f"{source or 'the readings'}: no published class (水质类别) to audit against")
    reg = load_registry() if registry is None else registry
    items = _items(readings)
    kept, screened = screen_readings(readings, items)
    meta, _ = match_sections(readings["section"].to_numpy(), reg)
    lake = meta["is_lake"].to_numpy(bool)
    target = meta["target_class"].to_numpy(np.int64)
    known = meta["in_registry"].to_numpy(bool)
    computed = _classes(kept, lake, target, below_detection)
    published = pd.array(readings["official_class"], dtype="Int64").fillna(0).to_numpy(np.int64)
    compared = published > 0
    agree = compared & (computed == published)
    day = pd.DatetimeIndex(readings["time"]).to_numpy("datetime64[D]")
    by_day = by_day_table("water", day[compared], agree[compared])

    d = np.flatnonzero(compared & ~agree)
    files = readings["file"].to_numpy(object) if "file" in readings else np.full(len(readings), source or "", object)
    rows = readings["row"].to_numpy(np.int64) if "row" in readings else np.arange(2, len(readings) + 2)
    sub = readings.iloc[d]
    out = pd.DataFrame({
        "file": files[d],
        "row": rows[d],
        "section": sub["section"].to_numpy(object),
        "time": pd.DatetimeIndex(sub["time"]).strftime("%Y-%m-%d %H:%M"),
        "published_class": published[d],
        "computed_class": pd.array(np.where(computed[d] > 0, computed[d], 0), dtype="Int64"),
        "published_class_name": _class_names(published[d]),
        "computed_class_name": _class_names(computed[d]),
        "limiting_items": "",
        "in_registry": known[d],
    })
    out.loc[out["computed_class"] == 0, "computed_class"] = pd.NA
    if len(d):
        lim = _item_classes(kept.iloc[d], lake[d], target[d],
                            None if below_detection is None else below_detection.iloc[d])["limiting_items"]
        out["limiting_items"] = lim.to_numpy(object)
    out["reason"], out["detail"] = _water_reasons(readings, kept, screened, d, published, computed, lake, target,
                                                  known, below_detection, items, spike_factor)
    return AuditResult("water", int(compared.sum()), int(agree.sum()), out[WATER_COLUMNS], by_day)


def _water_reasons(readings, kept, screened, d, published, computed, lake, target, known, bdl, items, spike_factor):
    n = len(d)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if not n:
        return reason, detail
    pub, comp = published[d], computed[d]
    item_cls = _item_classes(kept.iloc[d], lake[d], target[d], None if bdl is None else bdl.iloc[d])
    pub_n, comp_n = _class_names(pub), _class_names(comp)
    sub_bdl = None if bdl is None else bdl.iloc[d]
    head = "发布 " + pub_n + ", envq " + np.where(comp > 0, comp_n, "无类别").astype(object) + ": "

    def take(mask, code, text):
        m = mask & (reason == "")
        reason[m] = code
        detail[m] = (head + text)[m] if isinstance(text, np.ndarray) else head[m] + text
        return m

    # 1. screened by envq: with the raw values the class is the published one
    if len(screened):
        files = readings["file"].astype(str).to_numpy(object) if "file" in readings else np.full(len(readings), "")
        rows = readings["row"].to_numpy(np.int64) if "row" in readings else np.arange(2, len(readings) + 2)
        key_all = pd.Series(files).astype(str) + "#" + pd.Series(rows).astype(str)
        key_scr = screened["file"].astype(str) + "#" + screened["row"].astype(str)
        what = (screened["item"].astype(str) + "=" + screened["value"].map("{:g}".format) + " ("
                + screened["reason"].astype(str) + ")").groupby(key_scr.to_numpy()).agg("; ".join)
        key_d = key_all.iloc[d].to_numpy(object)
        hit = np.isin(key_d, what.index.to_numpy())
        if hit.any():
            raw = _classes(readings.iloc[d], lake[d], target[d], sub_bdl)
            text = ("envq 筛除了 " + pd.Series(key_d).map(what).fillna("").to_numpy(object)
                    + "; 不筛除时为发布的类别 / envq screened the value out; with it the class is the published one")
            take(hit & (raw == pub), "screened", text)

    # 2. unknown section: classed as a river; as a lake it gets the published class
    unk = ~known[d] & (reason == "")
    if unk.any():
        as_lake = _classes(kept.iloc[d], np.ones(n, bool), target[d], sub_bdl)
        take(unk & (as_lake == pub), "unknown_section",
             "断面不在名录中, 按河流评价; 按湖库 (总磷湖库标准) 评价为发布的类别 / not in the section registry: classed "
             "as a river; as a lake or reservoir it gets the published class")

    # 3. an isolated spike the platform did not use (envq's spike rule finds it)
    worse = (reason == "") & (comp > pub) & (pub > 0)
    if worse.any():
        spikes = _spike_cells(readings, kept, d[worse], items, spike_factor)
        if len(spikes):
            table = kept.iloc[d].copy()
            pos = pd.Index(d).get_indexer(spikes["_pos"].to_numpy())
            for item, grp in spikes.groupby("item"):
                col = table[item].to_numpy(np.float64).copy()
                col[pos[grp.index.to_numpy()]] = np.nan
                table[item] = col
            without = _classes(table, lake[d], target[d], sub_bdl)
            what = spikes.groupby("_pos")["text"].agg("; ".join)
            text = pd.Series(d).map(what).fillna("").to_numpy(object)
            take(worse & (without == pub), "platform_screened", text)

    # 4. nothing to class
    take((comp == 0) & (pub > 0), "no_item",
         "无可评价的监测项目, 发布方给出了类别 / no classification item measured, yet a class was published")

    # 5. what remains: name the items that make envq's class worse than the published one
    rest = reason == ""
    if rest.any():
        worse_items = np.full(n, "", dtype=object)
        for item in items:
            col = f"{item}_class"
            if col not in item_cls:
                continue
            ic = item_cls[col].to_numpy(np.int64)
            hit = rest & (ic > pub)
            if hit.any():
                v = kept[item].to_numpy(np.float64)[d]
                worse_items[hit] = (worse_items[hit] + np.where(worse_items[hit] == "", "", "; ") + item + "="
                                    + pd.Series(v[hit]).map("{:g}".format).to_numpy(object) + " ("
                                    + _class_names(ic[hit]) + ")")
        text = np.where(comp > pub, "envq 类别差于发布, 因 " + worse_items + " / envq's class is worse than the "
                        "published one because of " + worse_items,
                        "发布的类别差于 envq 所有项目 / the published class is worse than every item envq classes")
        take(rest, UNEXPLAINED, text.astype(object))
    return reason, detail


def _spike_cells(readings, kept, rows: np.ndarray, items, factor: float) -> pd.DataFrame:
    """Cells of the *rows* (positions) that envq's spike rule flags, with a sentence each.

    The rule runs over every reading of the sections involved (its window needs the neighbours),
    vectorised by :func:`envq.water.screen.screen`.
    """
    from envq.sources.cnemc_water import to_long
    from envq.water.classify import class_name, item_class
    from envq.water.screen import screen

    sections = pd.unique(readings["section"].to_numpy(object)[rows])
    pos = np.flatnonzero(readings["section"].isin(sections).to_numpy())
    cols = [c for c in items if c in kept.columns]
    part = kept.iloc[pos][["section", "time", *cols]].assign(row=pos)
    long = to_long(part, items=cols)
    long = long.rename(columns={"row": "_pos"})
    _, flagged = screen(long, spike_factor=factor)
    flagged = flagged[flagged["reason"].astype(str).str.startswith("isolated spike") & flagged["_pos"].isin(rows)]
    if not len(flagged):
        return flagged.assign(text=pd.Series(dtype=object))
    day = pd.DatetimeIndex(long["time"]).normalize()
    median = long.groupby([long["section"], day, long["item"]])["value"].median()
    fday = pd.DatetimeIndex(flagged["time"]).normalize()
    med = median.reindex(pd.MultiIndex.from_arrays([flagged["section"], fday, flagged["item"]])).to_numpy(float)
    v = flagged["value"].to_numpy(float)
    cls = np.array([item_class(i, [x])[0] for i, x in zip(flagged["item"], v)])  # a handful of cells
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(med > 0, v / med, np.inf)
    ratio_s = np.where(np.isfinite(ratio), pd.Series(ratio).round(0).astype("Int64").astype(str), "∞").astype(object)
    text = (flagged["item"].astype(str) + "=" + flagged["value"].map("{:g}".format) + " (" + class_name(cls) + ") "
            + "是孤立异常值, 为该断面当日中位数 " + pd.Series(med).map("{:g}".format).to_numpy() + " 的 " + ratio_s
            + " 倍: 发布方未采用; envq 默认保留 (启用突变筛查 --screen-spikes " + f"{factor:g}" + " 会筛除) / an isolated "
            + "spike, " + ratio_s + "x the section's median that day: the platform did not use it")
    return flagged.assign(text=text.to_numpy(object)).reset_index(drop=True)


def manual_readings(path, *, section_field=None, time_field=None, class_field=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide readings (one row per sample) of a manual file that carries a published class.

    The file is read by :func:`envq.sources.manual_water.read_manual_water` (unknown columns
    ignored); the published class is the first of :data:`CLASS_FIELDS` found (Roman ``I..V``,
    ``劣V`` or digits). Section and time columns as the reader finds them, or ``section_field``,
    ``time_field`` (``station`` and ``week_end`` are tried for the provincial weekly reports).

    Returns ``(readings, below_detection)``.
    """
    from envq.errors import InputError
    from envq.sources.manual_water import read_manual_water

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    header = list(raw.columns)
    cls_col = class_field or next((c for c in CLASS_FIELDS if c in header), None)
    if cls_col is None or cls_col not in header:
        raise InputError(path, 1, "class", ",".join(header[:12]),
                         f"is the header, which has no published class column ({', '.join(CLASS_FIELDS)}); "
                         "the audit compares envq's class with it")
    sec = section_field or ("station" if "station" in header and not {"section", "断面名称"} & set(header) else None)
    tim = time_field or ("week_end" if "week_end" in header and not {"time", "监测时间"} & set(header) else None)
    long = read_manual_water(path, section_field=sec, time_field=tim, ignore_fields=(cls_col,), ignore_unknown=True)
    text = raw[cls_col].astype(str).str.strip().str.replace("类", "", regex=False)
    official = text.map(_ROMAN)
    bad = text.ne("") & official.isna() & ~text.isin(["-", "--", "—", "/", "nan"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, i + 2, cls_col, text.iloc[i], "is not a class (I..V, 劣V or 1..6)")
    rows = np.arange(2, len(raw) + 2)
    wide = long.pivot_table(index="row", columns="item", values="value", aggfunc="first")
    bdl = long.pivot_table(index="row", columns="item", values="below_detection", aggfunc="first")
    first = long.drop_duplicates("row").set_index("row")
    readings = pd.DataFrame({"row": rows}).set_index("row", drop=False)
    readings["section"] = first["section"].reindex(rows).to_numpy(object)
    readings["time"] = first["time"].reindex(rows).to_numpy("datetime64[ns]")
    readings["official_class"] = pd.array(official.to_numpy(), dtype="Int64")
    readings["file"] = long["file"].iloc[0] if len(long) else str(path)
    readings = readings.join(wide)
    keep = readings["section"].notna().to_numpy()  # rows with no measured item have no reading
    readings = readings[keep].reset_index(drop=True)
    bdl = bdl.reindex(rows[keep]).reset_index(drop=True).fillna(False).astype(bool)
    readings["source_kind"] = "manual"
    return readings, bdl
