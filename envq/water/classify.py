"""Water-quality classes per GB 3838-2002 Table 1 and the 2011 evaluation method, vectorised.

Every number (limits, the 21 classification items, toxic items, the Class III reference of the
exceedance multiple, status names) is read from ``envq/standards/gb3838_2002.yaml``; this module
only applies them.

Comparisons at a limit are exact: a value and the limits of its item are scaled to int64 in units
of ``10**-(d + 6)`` of the item's unit, where ``d`` is the number of decimals of the item's limits
(e.g. TP limits have 3 decimals, so TP is compared in units of 1e-9 mg/L). ``0.2 <= 0.2`` is then
true however the float 0.2 was produced; a value is rounded (GB/T 8170) only beyond those 6 extra
decimals.

Class codes: 1..5 = Class I..V, 6 = 劣V (worse than V), 0 (or NA in tables) = no class (item not
measured, not classifiable, or a non-detect whose detection limit is above Class V).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from envq.water._table import gb3838

__all__ = [
    "gb3838",
    "NONDETECT_RULES",
    "classification_items",
    "class_table",
    "class_name",
    "status_of",
    "item_class",
    "item_classes",
    "section_class",
    "exceedance_multiple",
    "limit_of",
    "main_pollutants",
    "classify",
]

#: How an item reported below its detection limit (e.g. ``0.002L``) is classed.
#: ``"limit"``: the class of the detection limit itself (the value is known to be below it, so it
#: meets every class whose limit is at least the detection limit); no class when the detection
#: limit is above Class V. ``"best"``: Class I whatever the detection limit.
NONDETECT_RULES = ("limit", "best")

_ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ", 5: "Ⅴ", 6: "劣Ⅴ"}


# --------------------------------------------------------------------------------------------
# tables


def classification_items() -> tuple[str, ...]:
    """The 21 classification items of the 2011 method, in Table 1 order.

    References
    ----------
    环办〔2011〕22号 一、评价指标 (reference/standards.md §5.1): GB 3838-2002 Table 1 minus water
    temperature, total nitrogen and fecal coliform.

    Examples
    --------
    >>> len(classification_items()), classification_items()[:3]
    (21, ('ph', 'do', 'codmn'))
    """
    return gb3838().classification_items


@functools.cache
def class_table() -> pd.DataFrame:
    """Classes 1..6 with their names, 水质状况 (status) and map colours.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``class`` (6 = 劣V); columns ``name_zh, name_en, status_zh, status_en,
        colour_zh, colour_en, hex, colour_confidence``. Colours other than red for 劣V are [U].
    """
    rows = [{k: c[k] for k in ("class", "name_zh", "name_en", "status_zh", "status_en", "colour_zh",
                                "colour_en", "hex", "colour_confidence")} for c in gb3838().classes]
    return pd.DataFrame(rows).set_index("class")


def class_name(classes) -> np.ndarray:
    """Roman class names (``Ⅰ`` .. ``Ⅴ``, ``劣Ⅴ``; empty string for 0 / NA).

    Examples
    --------
    >>> class_name([1, 3, 6, 0]).tolist()
    ['Ⅰ', 'Ⅲ', '劣Ⅴ', '']
    """
    c = np.nan_to_num(np.asarray(classes, dtype=np.float64), nan=0).astype(np.int64)
    names = np.array([""] + [_ROMAN[k] for k in range(1, 7)], dtype=object)
    return names[np.clip(c, 0, 6)]


def status_of(classes) -> np.ndarray:
    """水质状况 of section classes: 优 (I-II), 良好 (III), 轻度污染, 中度污染, 重度污染; "" for none.

    References
    ----------
    环办〔2011〕22号 断面水质定性评价 (reference/standards.md §5.2).

    Examples
    --------
    >>> status_of([2, 3, 4, 6, 0]).tolist()
    ['优', '良好', '轻度污染', '重度污染', '']
    """
    c = np.nan_to_num(np.asarray(classes, dtype=np.float64), nan=0).astype(np.int64)
    names = np.array([""] + list(class_table()["status_zh"]), dtype=object)
    return names[np.clip(c, 0, 6)]


# --------------------------------------------------------------------------------------------
# item classes


def _scaled(values: np.ndarray, scale_decimals: int) -> np.ndarray:
    bound = 9.0e15 / 10.0**scale_decimals
    v = np.clip(np.where(np.isfinite(values), values, 0.0), -bound, bound)
    return np.rint(v * 10.0**scale_decimals).astype(np.int64)


def _class_against(vi: np.ndarray, lims: np.ndarray, direction: str) -> np.ndarray:
    """Class 1..6 of scaled values against scaled Class I..V limits (exact integer comparison)."""
    if direction == "upper":  # best class k with v <= limit_k; equal limits -> better class
        return 1 + np.searchsorted(lims, vi, side="left")
    asc = lims[::-1]  # lower (DO): best class k with v >= limit_k
    return 1 + len(asc) - np.searchsorted(asc, vi, side="right")


def _check_rule(nondetect):
    rule = gb3838().nondetect["class_rule"] if nondetect is None else nondetect
    if rule not in NONDETECT_RULES:
        raise ValueError(f"nondetect must be one of {NONDETECT_RULES}, got {nondetect!r}")
    return rule


def item_class(item: str, values, *, lake=False, below_detection=None, nondetect=None) -> np.ndarray:
    """Class of one item per GB 3838-2002 Table 1.

    Parameters
    ----------
    item : str
        Canonical item code (``ph``, ``do``, ``codmn``, ``nh3n``, ``tp``, ``tn``, ``hg``, ...).
    values : array_like of float
        Concentrations in the unit of Table 1: [mg/L]; pH [dimensionless]; fecal coliform
        [count/L]. NaN = not measured.
    lake : bool or array_like of bool
        True where the value comes from a lake or reservoir (TP and TN then use the 湖、库
        column). TN has limits for lakes only: river TN gets no class.
    below_detection : array_like of bool, optional
        True where the value is a detection limit (reported as ``0.002L``).
    nondetect : {"limit", "best"}, optional
        How a below-detection value is classed (see :data:`NONDETECT_RULES`); default from the
        standards file (``limit``).

    Returns
    -------
    numpy.ndarray of int8
        1..5 = Class I..V, 6 = 劣V, 0 = no class.

    Notes
    -----
    Upper-limit items: the best class ``k`` with ``value <= limit_k`` (equal limits fall in the
    better class); DO: the best class with ``value >= limit_k``; pH inside 6..9 does not restrict
    the class (class 1), outside it is 劣V. Beyond Class V -> 劣V.

    References
    ----------
    GB 3838-2002 Table 1 and §5.1; reference/standards.md §4 "How to apply the table".

    Examples
    --------
    >>> item_class("nh3n", [0.15, 0.151, 1.2, 2.5]).tolist()   # E19: 1.2 -> IV
    [1, 2, 4, 6]
    >>> item_class("tp", [0.06, 0.06], lake=[False, True]).tolist()   # E20
    [2, 4]
    >>> item_class("do", [7.5, 5.0, 4.0, 1.5]).tolist()   # E21
    [1, 3, 4, 6]
    >>> item_class("ph", [9.2, 8.6, 6.0]).tolist()   # E22
    [6, 1, 1]
    """
    it = gb3838().item(item)
    rule = _check_rule(nondetect)
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(v.shape, dtype=np.int8)
    if not it.classifiable:
        return out
    valid = np.isfinite(v)
    vi = _scaled(v, it.scale_decimals)
    if it.direction == "range":
        lo, hi = (int(round(x * 10**it.scale_decimals)) for x in it.ph_range)
        cls = np.where((vi >= lo) & (vi <= hi), 1, 6)
    else:
        lake_arr = np.broadcast_to(np.asarray(lake, dtype=bool), v.shape)
        cls = np.zeros(v.shape, dtype=np.int64)
        river_lims = it.scaled_limits(False)
        if river_lims is not None:
            cls = _class_against(vi, river_lims, it.direction)
        else:
            valid = valid & lake_arr  # e.g. TN: no river limits
        if it.lake_limits is not None and lake_arr.any():
            cls = np.where(lake_arr, _class_against(vi, it.scaled_limits(True), it.direction), cls)
    if below_detection is not None and it.direction == "upper":
        bdl = np.broadcast_to(np.asarray(below_detection, dtype=bool), v.shape) & valid
        if bdl.any():
            nd = np.where(cls >= 6, 0, cls) if rule == "limit" else np.ones_like(cls)
            cls = np.where(bdl, nd, cls)
    out[...] = np.where(valid, cls, 0)
    return out


def limit_of(item: str, klass, *, lake=False) -> np.ndarray:
    """The Class ``klass`` limit of an upper- or lower-limit item [unit of Table 1]; NaN if none.

    Examples
    --------
    >>> limit_of("tp", [3, 3], lake=[False, True]).tolist()
    [0.2, 0.05]
    """
    it = gb3838().item(item)
    k = np.asarray(klass, dtype=np.int64)
    lake_arr = np.broadcast_to(np.asarray(lake, dtype=bool), k.shape)
    ok = (k >= 1) & (k <= 5)
    idx = np.clip(k, 1, 5) - 1
    out = np.full(k.shape, np.nan)
    river = it.limit_array(False)
    if river is not None:
        out = np.where(ok, river[idx], np.nan)
    if it.lake_limits is not None:
        out = np.where(ok & lake_arr, it.limit_array(True)[idx], out)
    return out


def exceedance_multiple(item: str, values, *, lake=False, reference_class=None, below_detection=None) -> np.ndarray:
    """Exceedance multiple ``(C - S) / S`` against the Class ``reference_class`` limit S.

    Parameters
    ----------
    item : str
        Canonical item code. Water temperature, pH and DO get no multiple (NaN).
    values : array_like of float
        Concentrations [mg/L] (fecal coliform [count/L]).
    lake : bool or array_like of bool
        Lake or reservoir (TP, TN: 湖、库 limits).
    reference_class : int or array_like of int, optional
        Default Class III (the method's reference); pass the section's target class to get the
        multiple against the target.
    below_detection : array_like of bool, optional
        Non-detects never exceed (NaN).

    Returns
    -------
    numpy.ndarray of float
        The multiple where the value is worse than the reference class, NaN elsewhere.

    References
    ----------
    环办〔2011〕22号 超标倍数 (reference/standards.md §5.5).

    Examples
    --------
    >>> exceedance_multiple("nh3n", [1.2, 0.9]).round(6).tolist()   # E19
    [0.2, nan]
    >>> exceedance_multiple("tp", [0.06], lake=True).round(6).tolist()   # E20 lake
    [0.2]
    """
    g = gb3838()
    it = g.item(item)
    v = np.asarray(values, dtype=np.float64)
    if not it.exceedance:
        return np.full(v.shape, np.nan)
    ref = g.evaluation["exceedance"]["reference_class"] if reference_class is None else reference_class
    ref = np.broadcast_to(np.asarray(ref, dtype=np.int64), v.shape)
    s = limit_of(item, ref, lake=lake)
    cls = item_class(item, v, lake=lake, below_detection=below_detection)
    over = (cls > ref) & np.isfinite(s) & (s > 0)
    if below_detection is not None:
        over &= ~np.broadcast_to(np.asarray(below_detection, dtype=bool), v.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(over, (v - s) / s, np.nan)


def item_classes(table: pd.DataFrame, *, lake=False, below_detection: pd.DataFrame | None = None,
                 nondetect=None, items=None) -> pd.DataFrame:
    """Class of every Table-1 item present in ``table`` (columns named by item code).

    Returns a DataFrame of int8 (0 = no class) with the same index and one column per item.
    """
    g = gb3838()
    codes = [c for c in (items or g.items) if c in table.columns]
    out = {}
    for code in codes:
        bdl = None if below_detection is None or code not in below_detection else below_detection[code].to_numpy(bool)
        out[code] = item_class(code, table[code].to_numpy(np.float64), lake=lake, below_detection=bdl,
                               nondetect=nondetect)
    return pd.DataFrame(out, index=table.index)


def section_class(item_class_matrix, *, axis: int = -1) -> np.ndarray:
    """Section class = the worst class among the evaluated items (0 when none was evaluated).

    Parameters
    ----------
    item_class_matrix : array_like of int
        Item classes of the classification items (0 = not evaluated), one row per section/reading.

    References
    ----------
    环办〔2011〕22号 断面水质评价, 单因子评价法 (reference/standards.md §5.2).

    Examples
    --------
    >>> section_class([[1, 2, 3, 4, 0], [0, 0, 0, 0, 0]]).tolist()   # E23: TP IV -> IV
    [4, 0]
    """
    m = np.asarray(item_class_matrix)
    if m.size == 0:
        return np.zeros(m.shape[:-1] if m.ndim else (), dtype=np.int8)
    return m.max(axis=axis).astype(np.int8)


# --------------------------------------------------------------------------------------------
# main pollutants


def _fmt_multiples(m: np.ndarray) -> np.ndarray:
    from envq._rounding import round_gbt8170

    r = round_gbt8170(m, 2)
    return np.char.mod("%.2f", r).astype(object)


def _join_labels(parts: list[tuple[np.ndarray, np.ndarray]], n: int, sep: str = ";") -> np.ndarray:
    """Join per-row label pieces with ``sep``, vectorised (pyarrow) over the rows that have any.

    ``parts`` is a list of ``(mask, text)``: ``text[i]`` is used where ``mask[i]``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(n, "", dtype=object)
    if not parts:
        return out
    rows = np.logical_or.reduce([m for m, _ in parts])
    if not rows.any():
        return out
    arrays = [pa.array(t[rows], mask=~m[rows], type=pa.string()) for m, t in parts]
    joined = pc.binary_join_element_wise(*arrays, sep, null_handling="skip") if len(arrays) > 1 else \
        pc.fill_null(arrays[0], "")
    out[rows] = joined.to_numpy(zero_copy_only=False)
    return out


def main_pollutants(classes: pd.DataFrame, multiples: pd.DataFrame, section: np.ndarray, *,
                    below_detection: pd.DataFrame | None = None, max_items: int | None = None,
                    labels: str = "zh") -> pd.DataFrame:
    """Main pollutants of sections per the 2011 method.

    Parameters
    ----------
    classes : DataFrame of int
        Item classes of the classification items (0 = not evaluated).
    multiples : DataFrame of float
        Exceedance multiples against Class III (NaN where not exceeding or not applicable).
    section : array_like of int
        Section classes.
    max_items : int, optional
        Default 3 (standards file).

    Returns
    -------
    pandas.DataFrame
        ``main_pollutants`` (e.g. ``"总磷(0.25)"``, items joined by ``;``, empty when the section
        is Class I-III) and ``main_pollutant_items`` (item codes joined by ``;``).

    Notes
    -----
    Items worse than Class III are ranked: cyanide and heavy metals first, then the worst class,
    then the largest exceedance multiple; pH and DO (no multiple) come last within their class.
    Non-detects are never main pollutants.

    References
    ----------
    环办〔2011〕22号 主要污染指标 (reference/standards.md §5.5).
    """
    g = gb3838()
    rule = g.evaluation["main_pollutants"]
    k = rule["max_items"] if max_items is None else max_items
    codes = list(classes.columns)
    n = len(classes)
    if n == 0 or not codes:
        return pd.DataFrame({"main_pollutants": np.full(n, "", object),
                             "main_pollutant_items": np.full(n, "", object)}, index=classes.index)
    c = classes.to_numpy(np.int64)
    mult = multiples.reindex(columns=codes).to_numpy(np.float64)
    sec = np.asarray(section)[:, None]
    cand = (c > 3) & (sec > 0) & ~np.isin(sec, rule["not_assessed_for_classes"])
    if below_detection is not None:
        cand &= ~below_detection.reindex(columns=codes, fill_value=False).to_numpy(bool)
    toxic = np.array([g.items[x].toxic for x in codes])
    key = np.where(cand, toxic[None, :] * 1e9 + c * 1e7 + np.clip(np.nan_to_num(mult, nan=0.0), 0, 9.99e6) + 1.0, 0.0)
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    chosen = cand[rows, order]
    names = np.array([g.label(x) if labels == "zh" else x for x in codes], dtype=object)
    code_arr = np.array(codes, dtype=object)
    parts, code_parts = [], []
    for j in range(order.shape[1]):
        col = order[:, j]
        ok = chosen[:, j]
        m = mult[np.arange(n), col]
        txt = np.full(n, "", dtype=object)
        has_m = ok & np.isfinite(m)
        if has_m.any():
            txt[has_m] = names[col[has_m]] + "(" + _fmt_multiples(m[has_m]) + ")"
        no_m = ok & ~np.isfinite(m)
        txt[no_m] = names[col[no_m]]
        parts.append((ok, txt))
        cp = np.full(n, "", dtype=object)
        cp[ok] = code_arr[col[ok]]
        code_parts.append((ok, cp))
    return pd.DataFrame({"main_pollutants": _join_labels(parts, n),
                         "main_pollutant_items": _join_labels(code_parts, n)}, index=classes.index)


# --------------------------------------------------------------------------------------------
# the whole classification


def _mask_labels(mask: np.ndarray, codes: list[str]) -> np.ndarray:
    """Per row, the codes where ``mask`` is True joined by ';' (via bit patterns, no row loop)."""
    n = mask.shape[0]
    if n == 0 or not codes:
        return np.full(n, "", dtype=object)
    bits = (mask.astype(np.int64) << np.arange(len(codes), dtype=np.int64)).sum(axis=1)
    uniq, inv = np.unique(bits, return_inverse=True)
    labels = np.array([";".join(c for j, c in enumerate(codes) if (u >> j) & 1) for u in uniq], dtype=object)
    return labels[inv]


def _over_labels(classes: np.ndarray, mult: np.ndarray, codes: list[str], ref: np.ndarray) -> np.ndarray:
    n = classes.shape[0]
    g = gb3838()
    parts = []
    for j, code in enumerate(codes):
        over = classes[:, j] > ref
        if not over.any():
            continue
        txt = np.full(n, "", dtype=object)
        m = mult[:, j]
        hm = over & np.isfinite(m)
        txt[hm] = g.label(code) + "(" + _fmt_multiples(m[hm]) + ")"
        txt[over & ~np.isfinite(m)] = g.label(code)
        parts.append((over, txt))
    return _join_labels(parts, n)


def classify(table: pd.DataFrame, *, lake=False, target_class=3, below_detection: pd.DataFrame | None = None,
             nondetect=None, details: bool = True) -> pd.DataFrame:
    """Classify readings or period values of sections (one row each) per GB 3838-2002.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per reading (or per section-period); item columns named by canonical code
        (``ph, do, codmn, nh3n, tp, tn, cod, ...``) in the units of Table 1 ([mg/L]; pH
        dimensionless); NaN = not measured. Other columns are ignored.
    lake : bool or array_like of bool
        Lake/reservoir rows (TP and TN with the 湖、库 limits; TN class reported separately).
    target_class : int or array_like of int
        The section's target class (目标类别), default III.
    below_detection : pandas.DataFrame of bool, optional
        Same index, one column per item: True where the value is a detection limit.
    nondetect : {"limit", "best"}, optional
        Class rule for non-detects (:data:`NONDETECT_RULES`).
    details : bool
        Also compute names, status, over-standard items with multiples and main pollutants.

    Returns
    -------
    pandas.DataFrame
        Same index. ``class`` (Int8: 1..6 with 6 = 劣V, NA when no classification item was
        measured), ``limiting_items`` (codes of the items at the section class, ``;``-joined;
        empty for Class I or no class), ``n_items``, ``<item>_class`` for every Table-1 item
        present (0 = none); with ``details``: ``class_name``, ``status``, ``tn_class`` (lakes),
        ``over_iii`` (items worse than Class III with their multiples), ``main_pollutants``,
        ``main_pollutant_items``, ``target_class``, ``meets_target``, ``over_target`` (items worse
        than the target class with multiples against the target limit).

    References
    ----------
    GB 3838-2002 Table 1, §5.1; 环办〔2011〕22号 (reference/standards.md §5.1, §5.2, §5.5).

    Examples
    --------
    >>> t = pd.DataFrame({"ph": [7.8], "do": [6.5], "codmn": [4.5], "nh3n": [0.6], "tp": [0.25], "tn": [1.8]})
    >>> r = classify(t)   # E23, E24
    >>> int(r.loc[0, "class"]), r.loc[0, "status"], r.loc[0, "main_pollutants"], r.loc[0, "limiting_items"]
    (4, '轻度污染', '总磷(0.25)', 'tp')
    """
    g = gb3838()
    n = len(table)
    lake_arr = np.broadcast_to(np.asarray(lake, dtype=bool), (n,))
    ic = item_classes(table, lake=lake_arr, below_detection=below_detection, nondetect=nondetect)
    cls_codes = [c for c in g.classification_items if c in ic.columns]
    m = ic[cls_codes].to_numpy(np.int8) if cls_codes else np.zeros((n, 0), np.int8)
    sec = m.max(axis=1) if cls_codes else np.zeros(n, np.int8)
    out = pd.DataFrame(index=table.index)
    out["class"] = pd.array(np.where(sec > 0, sec, 0), dtype="Int8")
    out.loc[sec == 0, "class"] = pd.NA
    limiting = (m == sec[:, None]) & (sec[:, None] > 1)
    out["limiting_items"] = _mask_labels(limiting, cls_codes)
    out["n_items"] = (m > 0).sum(axis=1)
    for code in ic.columns:
        out[f"{code}_class"] = ic[code].to_numpy()
    if not details:
        return out
    out["class_name"] = class_name(sec)
    out["status"] = status_of(sec)
    if "tn" in ic.columns:
        out["tn_class"] = pd.array(np.where(lake_arr & (ic["tn"].to_numpy() > 0), ic["tn"].to_numpy(), 0),
                                   dtype="Int8")
        out.loc[out["tn_class"] == 0, "tn_class"] = pd.NA
    bdl = None
    if below_detection is not None:
        bdl = below_detection.reindex(index=table.index, columns=cls_codes, fill_value=False).fillna(False).astype(bool)
    mult = pd.DataFrame(
        {c: exceedance_multiple(c, table[c].to_numpy(np.float64), lake=lake_arr,
                                below_detection=None if bdl is None else bdl[c].to_numpy())
         for c in cls_codes}, index=table.index)
    mv = mult.to_numpy(np.float64) if cls_codes else np.zeros((n, 0))
    if bdl is not None:
        m = np.where(bdl.to_numpy(), np.minimum(m, 3), m)  # a non-detect never counts as over-standard
    out["over_iii"] = _over_labels(m, mv, cls_codes, np.full(n, 3))
    mp = main_pollutants(pd.DataFrame(m, columns=cls_codes, index=table.index), mult, sec, below_detection=bdl)
    out["main_pollutants"] = mp["main_pollutants"].to_numpy()
    out["main_pollutant_items"] = mp["main_pollutant_items"].to_numpy()
    tgt = np.broadcast_to(np.asarray(target_class, dtype=np.int64), (n,)).copy()
    out["target_class"] = tgt
    out["meets_target"] = pd.array(np.where(sec > 0, sec <= tgt, False), dtype="boolean")
    out.loc[sec == 0, "meets_target"] = pd.NA
    mt = np.column_stack(
        [exceedance_multiple(c, table[c].to_numpy(np.float64), lake=lake_arr, reference_class=tgt,
                             below_detection=None if bdl is None else bdl[c].to_numpy()) for c in cls_codes]
    ) if cls_codes else np.zeros((n, 0))
    out["over_target"] = _over_labels(np.where(m > tgt[:, None], m, 0), mt, cls_codes, tgt)
    return out
