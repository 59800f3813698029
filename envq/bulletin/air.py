"""The air part of a bulletin: 14 cities and the province, from stored results.

Reads ``air_rates`` (good-air-day ratio, days per category, exceedance days by primary
pollutant, target, met, remaining budget) and ``air_statistics`` (the six HJ 663 statistics, the
composite index, GB 3095 minimum flags) of the period, of the same period a year earlier (同比)
and of the period before (环比); ranks, compares and words them with :mod:`envq.ranking`. No
figure is computed here that a stored result holds; the arithmetic here is the bulletin's own
(ranks, changes from the published values, category shares of the province as the mean of the
cities' shares).

同口径 (the 2026 edition change). From 2026-03-01 the daily AQI follows HJ 633-2026. The 同比 of
a period P compares P with the same period a year earlier, Q, on P's basis: each day of Q is
scored by the edition in force on the same day a year later (:func:`basis_editions`). When that
differs from the editions in force on Q's own days, the comparison reads Q's figures recomputed
on that basis (result ``air_rates_same_basis``, computed by the flow); each figure's edition is
printed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from envq import ranking, standards
from envq.bulletin.model import Table
from envq.bulletin.results import StoredResults
from envq.bulletin.words import CITY_ORDER, num, period_zh, pollutant_zh, published_name
from envq.periods import Period

__all__ = ["POLLUTANTS", "air_tables", "editions_of", "basis_editions", "edition_label", "calendar_data",
           "monthly_ratio_data"]

#: (code, statistic column, header, unit, decimals) of the six pollutants, in the order of the
#: provincial bulletins (PM2.5, PM10, O3, SO2, NO2, CO); statistics per HJ 663 (CO 95th
#: percentile of the daily means, O3 90th percentile of the MDA8).
POLLUTANTS = (
    ("pm25", "pm25_mean", "PM2.5", "μg/m³", 0),
    ("pm10", "pm10_mean", "PM10", "μg/m³", 0),
    ("o3", "o3_mda8_p90", "O₃-8h第90百分位", "μg/m³", 0),
    ("so2", "so2_mean", "SO₂", "μg/m³", 0),
    ("no2", "no2_mean", "NO₂", "μg/m³", 0),
    ("co", "co_p95", "CO第95百分位", "mg/m³", 1),
)

#: Primary-pollutant names of the stored rates (HJ 633 labels) -> the bulletin's short names.
_PRIMARY_SHORT = {"细颗粒物(PM2.5)": "PM2.5", "颗粒物(PM10)": "PM10", "臭氧8小时": "O₃-8h", "臭氧1小时": "O₃-1h",
                  "二氧化氮": "NO₂", "二氧化硫": "SO₂", "一氧化碳": "CO"}


# ------------------------------------------------------------------------------------------------
# editions


def editions_of(days) -> list[str]:
    """The HJ 633 editions in force on *days* (dates), in order of first use."""
    out: list[str] = []
    for d in days:
        ed = standards.edition_for("hj633", d)
        if ed not in out:
            out.append(ed)
    return out


def change_days(p: Period) -> list[dt.date]:
    """The days of *p* where the edition may change: its ends and each edition's first day."""
    days = [p.start, p.end]
    for ed in standards.FAMILIES["hj633"]:
        first = dt.date.fromisoformat(standards.load(ed)["in_force_from"])
        if p.start <= first <= p.end:
            days.append(first)
    return sorted(days)


def basis_editions(q: Period, later: Period) -> list[str]:
    """The editions Q is scored by on the basis of *later* (同口径): each day of Q under the
    edition in force on the same day a year later (its counterpart in *later*).

    >>> from envq.periods import parse_period
    >>> basis_editions(parse_period("2025-08"), parse_period("2026-08"))
    ['hj633_2026']
    >>> basis_editions(parse_period("2018-08"), parse_period("2019-08"))
    ['hj633_2012']
    """
    shifted = [d.replace(year=d.year + (later.year - q.year)) if not (d.month == 2 and d.day == 29)
               else d.replace(year=d.year + (later.year - q.year), day=28) for d in change_days(q)]
    return editions_of(shifted)


def edition_label(editions) -> str:
    """``['hj633_2012']`` -> ``HJ 633-2012``; two joined by ``+``."""
    return "+".join(standards.load(e)["number"] for e in editions)


# ------------------------------------------------------------------------------------------------
# helpers


def _cities_first(df: pd.DataFrame, name_col: str = "name") -> pd.DataFrame:
    """Cities in the provincial order (others after, by name), the province last."""
    order = {n: i for i, n in enumerate(CITY_ORDER)}
    scope = df["scope"] if "scope" in df else pd.Series("city", index=df.index)
    key = np.where(scope == "province", 10_000, df[name_col].map(order).fillna(1_000).to_numpy(float))
    return df.assign(_k=key).sort_values(["_k", name_col], kind="stable").drop(columns="_k").reset_index(drop=True)


def _by_name(df: pd.DataFrame | None, names: pd.Series, column: str) -> np.ndarray:
    """*column* of *df* matched by (scope, name) to *names*; NaN where absent."""
    if df is None or column not in df:
        return np.full(len(names), np.nan)
    key = df["scope"].astype(str) + "|" + df["name"].astype(str)
    m = dict(zip(key, pd.to_numeric(df[column], errors="coerce")))
    return np.array([m.get(k, np.nan) for k in names], dtype=float)


def _keys(df: pd.DataFrame) -> pd.Series:
    return df["scope"].astype(str) + "|" + df["name"].astype(str)


def _comparison(results: StoredResults, name: str, period: Period, base: Period | None, *,
                same_basis: bool, kind: str) -> tuple[pd.DataFrame | None, str, str]:
    """(the base period's stored table, its note, edition label) for a 同比/环比 column.

    *kind* is ``同比`` or ``环比``. The note explains an empty column ("no 2018 data in the
    store") or names the basis of a recomputed base.
    """
    if base is None:
        return None, f"{kind}：累计时段不作{kind} cumulative periods have no {'year-on-year' if kind == '同比' else 'previous-period'} comparison", ""
    own = editions_of(change_days(base))
    wanted = basis_editions(base, period) if same_basis else own
    if name == "air_rates" and wanted != own:
        df = results.get("air_rates_same_basis", base)
        if df is None:
            why = results.missing_reason("air_rates", base, part="air")
            if results.get("air_rates", base) is not None:
                why = (f"{base.label}按{edition_label(wanted)}同口径重算的结果不在存储中 same-basis ({edition_label(wanted)}) "
                       f"figures for {base.label} are not in the store; re-run the backfill of {base.label}")
            return None, f"{kind}：{why}", ""
        return df, (f"{kind}基数{base.label}按{edition_label(wanted)}同口径重算 {kind} base {base.label} recomputed "
                    f"under {edition_label(wanted)} (same basis)"), edition_label(wanted)
    df = results.get(name, base)
    if df is None:
        return None, f"{kind}：{results.missing_reason(name, base, part='air')}", ""
    return df, "", edition_label(own)


# ------------------------------------------------------------------------------------------------
# tables


def air_tables(results: StoredResults, period: Period, *, suffix: str = "", editions: str = "auto",
               rounding_note: bool = True) -> tuple[list[Table], list[str], dict]:
    """The air tables and paragraphs of *period*.

    Returns ``(tables, paragraphs, facts)``; *facts* holds what other parts reuse (the province
    ratio, the cities at 100%, the ranking) for the summary and the tests.
    """
    rates = results.get("air_rates", period)
    if rates is None:
        return [], [f"{period_zh(period)}空气：{results.missing_reason('air_rates', period, part='air')}"], {}
    stats = results.get("air_statistics", period)
    rates = _cities_first(rates)
    rates["display"] = rates["name"].map(published_name)
    keys = _keys(rates)
    is_city = (rates["scope"] == "city").to_numpy()

    yoy_p = period.same_period_last_year()
    mom_p = period.previous()
    yoy, yoy_note, yoy_ed = _comparison(results, "air_rates", period, yoy_p, same_basis=True, kind="同比")
    mom, mom_note, mom_ed = _comparison(results, "air_rates", period, mom_p, same_basis=True, kind="环比")
    own_ed = edition_label(editions_of(change_days(period)))

    t = pd.DataFrame({"name": rates["display"]})
    t["valid_days"] = rates["valid_days"].astype("Int64")
    t["good_days"] = rates["good_days"].astype("Int64")
    t["good_day_ratio"] = rates["good_day_ratio"].astype(float)
    t["ratio_yoy"] = ranking.change_points(t["good_day_ratio"], _by_name(yoy, keys, "good_day_ratio"))
    t["ratio_mom"] = ranking.change_points(t["good_day_ratio"], _by_name(mom, keys, "good_day_ratio"))
    t["rank_ratio"] = np.where(is_city, 0, np.nan)
    t.loc[is_city, "rank_ratio"] = ranking.competition_rank(t.loc[is_city, "good_day_ratio"], ascending=False, decimals=1)
    cats = [c for c in rates.columns if c.startswith("days_")]
    for c in cats:
        t[c] = rates[c].astype("Int64")
    t["exceed_days"] = (rates["valid_days"] - rates["good_days"]).astype("Int64")
    exceed_cols = [c for c in rates.columns if c.startswith("exceed_")]
    for c in exceed_cols:
        t[c] = rates[c].astype("Int64")
    t["target"] = rates["target"].astype(float)
    t["target_met"] = rates["target_met"].map({True: "达标", False: "未达标"}).fillna("")
    if "budget_non_good_days" in rates:
        t["budget_non_good_days"] = rates["budget_non_good_days"].astype("Int64")
    t["edition"] = own_ed
    t["rank_ratio"] = t["rank_ratio"].astype("Int64")

    label = period_zh(period)
    headers = {"name": "城市", "valid_days": "有效天数(天)", "good_days": "优良天数(天)",
               "good_day_ratio": "优良天数比例(%)", "ratio_yoy": "同比(百分点)", "ratio_mom": "环比(百分点)",
               "rank_ratio": "优良天数比例排名", "exceed_days": "超标天数(天)", "target": "目标(%)",
               "target_met": "是否达标", "budget_non_good_days": "全年剩余超标天数余量(天)", "edition": "AQI标准"}
    for c in cats:
        headers[c] = f"{c[len('days_'):]}(天)"
    for c in exceed_cols:
        headers[c] = f"{_PRIMARY_SHORT.get(c[len('exceed_'):], c[len('exceed_'):])}超标(天)"
    decimals = {"good_day_ratio": 1, "ratio_yoy": 1, "ratio_mom": 1, "target": 1}
    notes = [n for n in (yoy_note, mom_note) if n]
    if yoy_ed and yoy_ed != own_ed and not yoy_note:
        notes.append(f"同比基数按{yoy_ed}计 base figures under {yoy_ed}")
    notes.append("省级为14个城市优良天数比例的平均（同比、环比均由发布值（1位小数）相减）；"
                 "province: mean of the 14 city ratios; changes are differences of the published ratios")
    if not exceed_cols:
        notes.append("按首要污染物分列的超标天数不在存储中 exceedance days by primary pollutant are not in the store")
    if "budget_non_good_days" in t:
        notes.append("剩余超标天数余量：在全年仍达到目标的前提下，余下日历日中还可出现的超标天数 "
                     "remaining budget: non-good days the rest of the year can take while still meeting the target")
    tables = [Table(f"air_cities{suffix}", f"{label}14个市州城市环境空气质量优良天数", t, headers, decimals, notes, "air")]

    facts: dict = {"province_ratio": float(t.loc[~is_city, "good_day_ratio"].iloc[0]) if (~is_city).any() else np.nan,
                   "ratio_yoy": float(t.loc[~is_city, "ratio_yoy"].iloc[0]) if (~is_city).any() else np.nan,
                   "ratio_mom": float(t.loc[~is_city, "ratio_mom"].iloc[0]) if (~is_city).any() else np.nan,
                   "yoy_note": yoy_note, "mom_note": mom_note, "edition": own_ed,
                   "cities_100": [n for n, r in zip(t.loc[is_city, "name"], t.loc[is_city, "good_day_ratio"]) if r == 100.0]}

    # the six pollutants and the composite index
    stat_tab = None
    if stats is not None:
        stats = _cities_first(stats)
        stats["display"] = stats["name"].map(published_name)
        skeys = _keys(stats)
        s_city = (stats["scope"] == "city").to_numpy()
        yoy_s, yoy_s_note, _ = _comparison(results, "air_statistics", period, yoy_p, same_basis=False, kind="同比")
        mom_s, mom_s_note, _ = _comparison(results, "air_statistics", period, mom_p, same_basis=False, kind="环比")
        s = pd.DataFrame({"name": stats["display"]})
        sh = {"name": "城市"}
        sd: dict[str, int] = {}
        for code, col, head, unit, d in POLLUTANTS:
            s[code] = stats[col].astype(float)
            s[f"{code}_yoy"] = ranking.change_percent(s[code], _by_name(yoy_s, skeys, col), value_decimals=d)
            sh[code], sh[f"{code}_yoy"] = f"{head}({unit})", f"{head}同比(%)"
            sd[code], sd[f"{code}_yoy"] = d, 1
        s["composite_index"] = stats["composite_index"].astype(float)
        s["composite_yoy"] = ranking.change_percent(s["composite_index"], _by_name(yoy_s, skeys, "composite_index"),
                                                    value_decimals=2)
        s["composite_mom"] = ranking.change_percent(s["composite_index"], _by_name(mom_s, skeys, "composite_index"),
                                                    value_decimals=2)
        s["max_index"] = stats["max_index"].astype(float)
        s["max_index_pollutant"] = stats["max_index_pollutant"].fillna("").map(pollutant_zh)
        s["rank_index"] = pd.array([pd.NA] * len(s), dtype="Int64")
        s.loc[s_city, "rank_index"] = ranking.competition_rank(s.loc[s_city, "composite_index"], ascending=True,
                                                               decimals=2).astype(int)
        s["data_flag"] = ranking.below_minimum(stats)
        s["data_flag"] = np.where(s["data_flag"] != "", "有效天数不足：" + s["data_flag"].map(pollutant_zh), "")
        s["composite_rounding"] = stats["composite_rounding"] if "composite_rounding" in stats else "per_term"
        sh |= {"composite_index": "综合指数", "composite_yoy": "综合指数同比(%)", "composite_mom": "综合指数环比(%)",
               "max_index": "最大单项指数", "max_index_pollutant": "最大单项指数污染物", "rank_index": "综合指数排名",
               "data_flag": "数据说明", "composite_rounding": "综合指数修约"}
        sd |= {"composite_index": 2, "composite_yoy": 1, "composite_mom": 1, "max_index": 2}
        snotes = [n for n in (yoy_s_note, mom_s_note) if n]
        snotes.append("综合指数 I = Σ C_i/S_i（GB 3095-2012二级标准限值：SO₂ 60、NO₂ 40、PM10 70、PM2.5 35 μg/m³，"
                      "CO 4 mg/m³，O₃ 160 μg/m³），浓度按GB/T 8170修约后计算；per_term=各单项指数先修约至2位小数再求和"
                      "（默认），sum=求和后修约 (城市环境空气质量排名技术规定 环办〔2014〕64号; reference/bulletin.md rule 3-4)")
        snotes.append("排名：综合指数从小到大（1为最好），发布值相同并列，下一名次顺延 (rule 5)；"
                      "浓度变化按发布值（修约后）计算 (rule 8)")
        if s["data_flag"].ne("").any():
            snotes.append("数据说明：有效日均值少于GB 3095-2012表4要求（每月27天，2月25天）的城市照常排名并标注 [U]")
        dust = stats["dust_days_excluded"].sum() if "dust_days_excluded" in stats else 0
        snotes.append(f"沙尘天气影响：PM10、PM2.5及综合指数扣除沙尘日 (环办监测〔2016〕120号)；本时段扣除{int(dust)}个城市日"
                      if dust else "沙尘天气影响：本时段无沙尘日标记（数据源不含沙尘日；可按环办监测〔2016〕120号提供沙尘日清单）"
                      " no dust days flagged for the period")
        stat_tab = Table(f"air_pollutants{suffix}", f"{label}14个市州城市主要污染物浓度及综合指数", s, sh, sd, snotes, "air")
        tables.append(stat_tab)
        cities = s[s_city]
        order_text = ranking.ranking_text(cities["name"].tolist(), cities["rank_index"].astype(float))
        best, worst = ranking.best_and_worst(cities["name"].tolist(), cities["rank_index"].astype(float))
        facts |= {"ranking": order_text, "best": best, "worst": worst,
                  "ranks": dict(zip(cities["name"], cities["rank_index"].astype(float))),
                  "index": dict(zip(cities["name"], cities["composite_index"])),
                  "province_stats": s[~s_city].iloc[0].to_dict() if (~s_city).any() else {}}
    paragraphs = _air_paragraphs(period, t, is_city, facts, stat_tab, exceed_cols, headers)
    return tables, paragraphs, facts


def _air_paragraphs(period: Period, t: pd.DataFrame, is_city, facts: dict, stat_tab: Table | None,
                    exceed_cols: list[str], headers: dict) -> list[str]:
    label = period_zh(period)
    out = []
    prov = t[~is_city]
    cities = t[is_city]
    n = int(is_city.sum())
    if len(prov):
        p = prov.iloc[0]
        yoy = ranking.change_words([p["ratio_yoy"]], unit="points")[0] or ("同比：" + _why(facts["yoy_note"]))
        mom = ranking.change_words([p["ratio_mom"]], unit="points", prefix="环比")[0]
        mom = mom or (("环比：" + _why(facts["mom_note"])) if period.kind != "ytd" else "")
        shares = []
        for c, word in (("days_轻度污染", "轻度污染"), ("days_中度污染", "中度污染")):
            if c in cities:
                v = (cities[c].astype(float) / cities["valid_days"].astype(float).where(lambda x: x > 0)).mean() * 100
                shares.append(f"{word}天数比例为{num(v, 1)}%")
        heavy = [c for c in ("days_重度污染", "days_严重污染") if c in cities]
        if heavy:
            v = (cities[heavy].astype(float).sum(axis=1) / cities["valid_days"].astype(float).where(lambda x: x > 0)).mean() * 100
            shares.append(f"重度及以上污染天数比例为{num(v, 1)}%")
        text = (f"{label}，全省{n}个市州城市平均优良天数比例为{num(p['good_day_ratio'], 1)}%，{yoy}"
                + (f"，{mom}" if mom else "") + "。" + ("；".join(shares) + "。" if shares else ""))
        full = facts.get("cities_100", [])
        if full:
            text += f"{'、'.join(full)}{len(full)}个城市优良天数比例为100%。"
        total = int(cities["exceed_days"].fillna(0).sum())
        if exceed_cols:
            parts = [f"{headers[c].replace('超标(天)', '')}超标{int(cities[c].fillna(0).sum())}天"
                     for c in exceed_cols if int(cities[c].fillna(0).sum())]
            text += f"累计超标天数为{total}天" + (f"，其中{'、'.join(parts)}" if parts else "") + "。"
        else:
            text += f"累计超标天数为{total}天。"
        met = cities[cities["target_met"] == "达标"]["name"].tolist()
        miss = cities[cities["target_met"] == "未达标"]["name"].tolist()
        target = prov.iloc[0]["target"]
        text += (f"对照{num(target, 0)}%的目标，{len(met)}个城市达标"
                 + (f"，{'、'.join(miss)}{len(miss)}个城市未达标" if miss else "") + "。")
        out.append(text)
    if stat_tab is not None:
        s = stat_tab.frame
        ps = s[s["rank_index"].isna()]
        if len(ps):
            p = ps.iloc[0]
            parts = []
            for code, _, head, unit, d in POLLUTANTS:
                words = ranking.change_words([p[f"{code}_yoy"]], unit="percent")[0]
                parts.append(f"{head.replace('-8h第90百分位', '').replace('第95百分位', '')}为{num(p[code], d)}{unit}"
                             + (f"，{words}" if words else ""))
            out.append(f"{label}，全省{n}个市州城市" + "；".join(parts) + "（O₃为日最大8小时平均第90百分位浓度，"
                       "CO为日均值第95百分位浓度）。" + ("" if s["pm25_yoy"].notna().any() else "同比：" + _why(facts["yoy_note"]) + "。"))
        if facts.get("ranking"):
            out.append(f"按照城市环境空气质量综合指数评价，{label}环境空气质量排名从好到差依次为：{facts['ranking']}。"
                       f"综合指数最好的3个城市为{'、'.join(facts['best'])}，最差的3个城市为{'、'.join(facts['worst'])}。")
    return out


def _why(note: str) -> str:
    return note.split("：", 1)[-1] if note else "无基数 no base figure"


# ------------------------------------------------------------------------------------------------
# chart data (stored results only)


def calendar_data(results: StoredResults, period: Period) -> pd.DataFrame | None:
    """City-days of *period* for the calendar chart: ``city`` (published name), ``date``, ``aqi``,
    ``level`` (1..6, 0 = no valid day), from the stored ``air_city_days`` of its year(s)."""
    from envq.periods import Period as P

    frames = [results.get("air_city_days", P.year_of(y)) for y in range(period.start.year, period.end.year + 1)]
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    d = pd.concat(frames, ignore_index=True)
    dates = pd.to_datetime(d["date"])
    d = d[(dates >= pd.Timestamp(period.start)) & (dates <= pd.Timestamp(period.end))].copy()
    if not len(d):
        return None
    cats = {}
    for ed in standards.FAMILIES["hj633"]:
        for c in standards.load(ed)["categories"]:
            cats.setdefault(c["category_zh"], c["level"])
    valid = d["valid"].astype(bool).to_numpy()
    level = d["category"].map(cats).fillna(0).astype(int).to_numpy()
    order = {n: i for i, n in enumerate(CITY_ORDER)}
    out = pd.DataFrame({"city": d["city"].map(published_name).to_numpy(), "order": d["city"].map(order).fillna(99).to_numpy(),
                        "date": pd.to_datetime(d["date"]).dt.strftime("%Y-%m-%d").to_numpy(),
                        "aqi": pd.to_numeric(d["aqi"], errors="coerce").to_numpy(float),
                        "level": np.where(valid, level, 0)})
    return out.sort_values(["order", "city", "date"]).drop(columns="order").reset_index(drop=True)


def monthly_ratio_data(results: StoredResults, period: Period) -> pd.DataFrame | None:
    """The province's (and each city's) good-air-day ratio for each month of the period's year up
    to the period's end, with the target and the stored verdict: ``month, scope, name,
    good_day_ratio, target, target_met``."""
    from envq.periods import Period as P

    rows = []
    for m in range(1, period.end.month + 1 if period.end.year == period.year else 13):
        r = results.get("air_rates", P.month_of(period.year, m))
        if r is None:
            continue
        r = r.assign(month=m)
        rows.append(r[[c for c in ("month", "scope", "name", "good_day_ratio", "target", "target_met") if c in r]])
    if not rows:
        return None
    out = pd.concat(rows, ignore_index=True)
    out["name"] = out["name"].map(published_name)
    return out
