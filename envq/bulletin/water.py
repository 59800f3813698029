"""The water part of a bulletin: river systems, basins, reaches and the province, from stored results.

Reads ``water_rates`` (systems and the province: class counts, Ⅰ~Ⅲ share, 水质状况, main
pollutants, target, met), ``water_basin_rates`` (basins drawn on the maps), ``reach_rates``
(river-chief reaches, when stored), ``water_sections`` (the sections missing their target class,
with the failing items and their multiples) and ``water_lakes`` (Dongting Lake: class, TLI,
trophic state) of the period, of the same period a year earlier (同比) and of the period before
(环比). Shares of Ⅳ, Ⅴ and 劣Ⅴ are the stored class counts over the sections evaluated; every
change is the difference of the published (one-decimal) shares, in percentage points
(reference/bulletin.md "Water"; 环办〔2011〕22号 for the classes and the status).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq import ranking
from envq.bulletin.model import Table
from envq.bulletin.results import StoredResults
from envq.bulletin.words import num, period_zh, published_name
from envq.periods import Period
from envq.targets import published

__all__ = ["SYSTEM_ORDER", "water_tables", "class_distribution"]

#: The river systems in the order the provincial bulletins give them (湘、资、沅、澧, the lake, the
#: Yangtze main stem); systems of the registry not listed come after, by name.
SYSTEM_ORDER = ("湘江", "资水", "沅江", "澧水", "洞庭湖", "长江干流", "长江干流/荆江三口")

_SHARES = (("i_iii", ("sections_i_iii",), "Ⅰ~Ⅲ类"), ("iv", ("class_4",), "Ⅳ类"),
           ("v", ("class_5",), "Ⅴ类"), ("worse_v", ("class_6",), "劣Ⅴ类"))


def _order(names: pd.Series, groups: pd.Series) -> np.ndarray:
    pos = {n: i for i, n in enumerate(SYSTEM_ORDER)}
    base = names.map(pos).fillna(len(SYSTEM_ORDER)).to_numpy(float)
    base = np.where(names.astype(str) == "unknown", 900, base)
    return np.where(groups == "province", 1_000, base)


def _shares(df: pd.DataFrame) -> dict[str, np.ndarray]:
    n = df["sections"].to_numpy(float)
    out = {}
    for key, cols, _ in _SHARES:
        k = df[list(cols)].sum(axis=1).to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[key] = np.where(n > 0, 100.0 * k / np.where(n > 0, n, 1), np.nan)
    out["i_iii"] = df["i_iii_share"].to_numpy(float)  # the stored share, as every output shows it
    return out


def _match(base: pd.DataFrame | None, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The shares of *base* matched by (group, name) to the rows of *df*; NaN where absent."""
    if base is None:
        return {k: np.full(len(df), np.nan) for k, _, _ in _SHARES}
    bs = _shares(base)
    key = base["group"].astype(str) + "|" + base["name"].astype(str)
    want = (df["group"].astype(str) + "|" + df["name"].astype(str)).to_numpy()
    out = {}
    for k in bs:
        m = dict(zip(key, bs[k]))
        out[k] = np.array([m.get(w, np.nan) for w in want], dtype=float)
    return out


def _group_table(results: StoredResults, name: str, period: Period, key: str, title: str, first: str,
                 yoy_p: Period | None, mom_p: Period | None) -> tuple[Table | None, pd.DataFrame | None, list[str]]:
    df = results.get(name, period)
    if df is None:
        return None, None, []
    df = df.assign(_o=_order(df["name"], df["group"])).sort_values(["_o", "name"], kind="stable") \
        .drop(columns="_o").reset_index(drop=True)
    notes = []
    bases = {}
    for kind, p in (("yoy", yoy_p), ("mom", mom_p)):
        word = "同比" if kind == "yoy" else "环比"
        b = results.get(name, p) if p is not None else None
        if p is None:
            notes.append(f"{word}：累计时段不作{word} cumulative periods have no {word}")
        elif b is None:
            notes.append(f"{word}：{results.missing_reason(name, p, part='water')}")
        bases[kind] = _match(b, df)
    sh = _shares(df)
    t = pd.DataFrame({"name": df["name"].map(published_name)})
    t["sections"] = df["sections"].astype("Int64")
    headers = {"name": first, "sections": "评价断面(个)"}
    decimals: dict[str, int] = {}
    for k, cols, zh in _SHARES:
        t[f"{k}_count"] = df[list(cols)].sum(axis=1).astype("Int64")
        headers[f"{k}_count"] = f"{zh}断面(个)"
        t[f"{k}_share"] = published(sh[k])
        t[f"{k}_yoy"] = ranking.change_points(sh[k], bases["yoy"][k])
        t[f"{k}_mom"] = ranking.change_points(sh[k], bases["mom"][k])
        headers |= {f"{k}_share": f"{zh}比例(%)", f"{k}_yoy": f"{zh}同比(百分点)", f"{k}_mom": f"{zh}环比(百分点)"}
        decimals |= {f"{k}_share": 1, f"{k}_yoy": 1, f"{k}_mom": 1}
    t["status"] = df["status"].fillna("")
    t["main_pollutants"] = df["main_pollutants"].fillna("")
    if "i_iii_target" in df:
        t["target"] = df["i_iii_target"].astype(float)
        t["target_met"] = df["target_met"].map({True: "达标", False: "未达标"}).fillna("")
        headers |= {"target": "目标(%)", "target_met": "是否达标"}
        decimals["target"] = 1
    headers |= {"status": "水质状况", "main_pollutants": "主要污染指标"}
    notes.append("比例为各类别断面数占评价断面数的百分比，同比、环比为发布值（1位小数）之差（百分点）；"
                 "水质状况：5个及以上断面按断面水质类别比例法，少于5个按断面平均浓度单因子评价 (环办〔2011〕22号)")
    return Table(key, title, t, headers, decimals, notes, "water"), df, notes


def water_tables(results: StoredResults, period: Period, *, suffix: str = "") -> tuple[list[Table], list[str], dict]:
    """The water tables and paragraphs of *period*: ``(tables, paragraphs, facts)``."""
    label = period_zh(period)
    yoy_p, mom_p = period.same_period_last_year(), period.previous()
    tables: list[Table] = []
    facts: dict = {}
    sys_tab, sys_df, _ = _group_table(results, "water_rates", period, f"water_systems{suffix}",
                                      f"{label}全省及各水系地表水水质", "水系", yoy_p, mom_p)
    if sys_tab is None:
        return [], [f"{label}水质：{results.missing_reason('water_rates', period, part='water')}"], {}
    tables.append(sys_tab)
    basin_tab, _, _ = _group_table(results, "water_basin_rates", period, f"water_basins{suffix}",
                                   f"{label}各流域地表水水质（按流域范围内断面）", "流域", yoy_p, mom_p)
    if basin_tab is not None:
        tables.append(basin_tab)
    reach_tab, _, _ = _group_table(results, "reach_rates", period, f"water_reaches{suffix}",
                                   f"{label}河长制河段地表水水质", "河段", yoy_p, mom_p)
    if reach_tab is not None:
        tables.append(reach_tab)

    sections = results.get("water_sections", period)
    fail = None
    if sections is not None:
        miss = sections[sections["meets_target"].astype("boolean").fillna(True).eq(False)]
        fail = pd.DataFrame({
            "section": miss["section"].to_numpy(),
            "system": miss["system_name"].map(published_name).to_numpy(),
            "river": miss["river_name"].fillna("").to_numpy(),
            "city": miss["city_name"].fillna("").to_numpy(),
            "class_name": miss["class"].map(_class_zh).to_numpy(),
            "target_class": miss["target_class"].map(_class_zh).to_numpy(),
            "over_target": miss["over_target"].fillna("").to_numpy(),
            "status": miss["status"].fillna("").to_numpy(),
        })
        fail = fail.assign(_o=_order(fail["system"], pd.Series("system", index=fail.index))).sort_values(
            ["_o", "section"]).drop(columns="_o").reset_index(drop=True)
        tables.append(Table(f"water_sections_missing_target{suffix}", f"{label}未达到水质目标的断面", fail,
                            {"section": "断面", "system": "水系", "river": "河流", "city": "城市", "class_name": "水质类别",
                             "target_class": "目标类别", "over_target": "超标项目(超标倍数)", "status": "水质状况"}, {},
                            ["超标倍数 = (C − S)/S，S为目标类别限值；溶解氧、pH不计倍数 (环办〔2011〕22号)"], "water"))

    lakes = results.get("water_lakes", period)
    lake_row = None
    if lakes is not None:
        lk = pd.DataFrame({
            "section": lakes["section"].to_numpy(), "scope": lakes["scope"].map({"lake": "湖体", "point": "点位"}).to_numpy(),
            "class_name": lakes["class_name"].astype(str).to_numpy(), "status": lakes["status"].fillna("").to_numpy(),
            "main_pollutants": lakes["main_pollutants"].fillna("").to_numpy(),
            "tp": lakes["tp"].astype(float).to_numpy(), "tn": lakes["tn"].astype(float).to_numpy(),
            "tli": lakes["tli"].astype(float).to_numpy(), "trophic_state": lakes["trophic_state"].fillna("").to_numpy(),
            "tli_flag": lakes["tli_flag"].fillna("").to_numpy()})
        tables.append(Table(f"water_dongting{suffix}", f"{label}洞庭湖水质及营养状态", lk,
                            {"section": "点位", "scope": "范围", "class_name": "水质类别", "status": "水质状况",
                             "main_pollutants": "主要污染指标", "tp": "总磷(mg/L)", "tn": "总氮(mg/L)",
                             "tli": "综合营养状态指数TLI(Σ)", "trophic_state": "营养状态", "tli_flag": "说明"},
                            {"tp": 3, "tn": 2, "tli": 1},
                            ["湖体：各点位指标先平均再按湖库标准单因子评价，总氮不参与类别评价；"
                             "TLI(Σ)按《湖泊(水库)富营养化评价方法及分级技术规定》，缺项时权重重新归一化 (reference/standards.md §5.4, §5.7)"],
                            "water"))
        lr = lk[lk["scope"] == "湖体"]
        lake_row = lr.iloc[0] if len(lr) else None

    paragraphs = _water_paragraphs(label, sys_tab, fail, lake_row, len(lk) - 1 if lakes is not None else 0)
    prov = sys_tab.frame[sys_df["group"] == "province"]
    facts = {"province_share": float(prov["i_iii_share"].iloc[0]) if len(prov) else np.nan,
             "systems": sys_tab.frame.copy(), "groups": sys_df["group"].tolist()}
    return tables, paragraphs, facts


def _class_zh(c) -> str:
    try:
        return ["", "Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"][int(c)]
    except (TypeError, ValueError, IndexError):
        return ""


def _change(v, word) -> str:
    return ranking.change_words([v], unit="points", prefix=word)[0]


def _water_paragraphs(label: str, tab: Table, fail: pd.DataFrame | None, lake, n_points: int) -> list[str]:
    t = tab.frame
    out = []
    prov = t.iloc[-1]
    counts = [f"{zh}水质断面{int(prov[f'{k}_count'])}个，占{num(prov[f'{k}_share'], 1)}%" for k, _, zh in _SHARES
              if k == "i_iii" or int(prov[f"{k}_count"])]
    yoy, mom = _change(prov["i_iii_yoy"], "同比"), _change(prov["i_iii_mom"], "环比")
    ch = "，".join(x for x in (yoy, mom) if x)
    out.append(f"{label}，全省{int(prov['sections'])}个评价断面中，" + "；".join(counts) + "。"
               + (f"Ⅰ~Ⅲ类水质断面比例{ch}。" if ch else "") + f"全省地表水水质状况为{prov['status'] or '—'}。")
    parts = []
    for _, r in t.iloc[:-1].iterrows():
        c = _change(r["i_iii_mom"], "环比")
        parts.append(f"{r['name']}{int(r['sections'])}个断面中Ⅰ~Ⅲ类占{num(r['i_iii_share'], 1)}%，水质{r['status'] or '—'}"
                     + (f"（{c}）" if c else ""))
    if parts:
        out.append("各水系：" + "；".join(parts) + "。")
    if fail is not None:
        if len(fail):
            items = [f"{r['section']}（{r['system']}，{r['class_name']}，目标{r['target_class']}"
                     + (f"，{r['over_target']}" if r["over_target"] else "") + "）" for _, r in fail.iterrows()]
            out.append(f"未达到水质目标的断面{len(fail)}个：" + "；".join(items) + "。")
        else:
            out.append("所有评价断面均达到水质目标。")
    if lake is not None:
        out.append(f"洞庭湖湖体{n_points}个点位水质总体为{lake['class_name']}类、{lake['status']}，"
                   f"营养状态为{lake['trophic_state'] or '—'}（TLI(Σ) {num(lake['tli'], 1)}），"
                   f"总磷平均浓度{num(lake['tp'], 3)} mg/L。")
    return out


def class_distribution(tab: Table) -> pd.DataFrame:
    """Counts of sections by class group for each system (and the province) of the systems table:
    ``name, i_iii, iv, v, worse_v`` (for the distribution chart)."""
    t = tab.frame
    out = pd.DataFrame({"name": t["name"]})
    for k, _, _ in _SHARES:
        out[k] = t[f"{k}_count"].fillna(0).astype(int)
    return out
