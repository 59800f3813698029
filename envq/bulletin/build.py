"""Assemble a bulletin of any period from the store (:func:`build_bulletin`).

A month, quarter or half-year bulletin shows the period and the year to date beside it
(1-M月累计, as the provincial bulletins give both); a year or year-to-date bulletin shows itself.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from envq import standards
from envq.bulletin.air import air_tables, calendar_data, change_days, edition_label, editions_of, monthly_ratio_data
from envq.bulletin.model import Bulletin, Section, Table
from envq.bulletin.results import StoredResults, store_key
from envq.bulletin.water import class_distribution, water_tables
from envq.bulletin.words import period_zh, published_name
from envq.errors import NoDataError, UsageError
from envq.periods import Period, parse_period

__all__ = ["build_bulletin", "PARTS", "EDITIONS"]

PARTS = ("air", "water")
#: ``auto``: each figure under the edition in force on its days; ``both``: also the later
#: period's air figures under each HJ 633 edition alone (``--editions both``).
EDITIONS = ("auto", "both")

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
_NUMBERS = "一二三四五六"


def _ytd_of(period: Period) -> Period | None:
    if period.kind in ("month", "quarter", "half"):
        return Period.ytd_of(period.year, period.end)
    if period.kind == "day":
        return Period.ytd_of(period.year, period.end)
    return None


def build_bulletin(store, period, *, parts=PARTS, editions: str = "auto", generated: str | None = None,
                   title: str | None = None) -> Bulletin:
    """The bulletin of *period* from the results in *store*.

    Parameters
    ----------
    store : envq.store.Store
        Read only.
    period : envq.periods.Period or str
        Any period of the grammar (``2019-08``, ``2019-Q3``, ``2019-H1``, ``2019``, ``2019-YTD``).
    parts : iterable of {"air", "water"}
    editions : {"auto", "both"}
        ``both`` adds the period's air figures under each HJ 633 edition (when they are stored).
    generated : str, optional
        The generation time printed (default: now, Beijing time).

    Returns
    -------
    Bulletin
        A part without results for the period says so in its section, with the reason.
    """
    if editions not in EDITIONS:
        raise UsageError(f"editions must be one of {', '.join(EDITIONS)}, not {editions!r}")
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise UsageError(f"parts must be among {', '.join(PARTS)}, not {', '.join(sorted(unknown))}")
    period = parse_period(period)
    results = StoredResults(store)
    generated = generated or dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M（北京时间 UTC+8）")
    ytd = _ytd_of(period)
    label = period_zh(period)
    tables: dict[str, Table] = {}
    sections: list[Section] = []
    charts: dict[str, object] = {}
    notes: list[str] = []
    facts: dict = {}

    if "air" in parts:
        t, paras, f = air_tables(results, period)
        facts["air"] = f
        for x in t:
            tables[x.key] = x
        sections.append(Section(f"{_NUMBERS[sum(1 for x in sections if x.heading[:1] in _NUMBERS)]}、环境空气质量（{label}）",
                                paras, [x.key for x in t],
                                ["calendar", "monthly_ratio"] if t else []))
        if t:
            cal = calendar_data(results, period)
            if cal is not None:
                charts["calendar"] = cal
            mon = monthly_ratio_data(results, period)
            if mon is not None:
                charts["monthly_ratio"] = mon
        if editions == "both" and t:
            et = _editions_table(results, period)
            tables[et.key] = et
            sections[-1].tables.append(et.key)
        if ytd is not None:
            t2, paras2, f2 = air_tables(results, ytd, suffix="_ytd")
            facts["air_ytd"] = f2
            for x in t2:
                tables[x.key] = x
            sections.append(Section(f"环境空气质量（{period_zh(ytd)}累计）", paras2, [x.key for x in t2]))
    if "water" in parts:
        t, paras, f = water_tables(results, period)
        facts["water"] = f
        for x in t:
            tables[x.key] = x
        sections.append(Section(f"{_NUMBERS[sum(1 for x in sections if x.heading[:1] in _NUMBERS)]}、地表水水质（{label}）",
                                paras, [x.key for x in t], ["water_classes"] if t else []))
        if t:
            charts["water_classes"] = class_distribution(t[0])
        if ytd is not None:
            t2, paras2, f2 = water_tables(results, ytd, suffix="_ytd")
            facts["water_ytd"] = f2
            for x in t2:
                tables[x.key] = x
            sections.append(Section(f"地表水水质（{period_zh(ytd)}累计）", paras2, [x.key for x in t2]))

    if not tables:  # not one figure of any part: no bulletin, the user is told what the store holds
        raise NoDataError(period, _held_span(store, parts) or None, what="envq report (the store's results)")
    about = _about(results, period, ytd, parts, generated, tables)
    title = title or f"湖南省{label}环境质量状况"
    b = Bulletin(period=period, title=title, generated=generated, sections=sections, tables=tables, charts=charts,
                 about=about, notes=notes)
    b.facts = facts  # for summaries and checks; not printed
    return b


def _held_span(store, parts) -> str:
    """What the store's rates cover, per part (``air 2019-01-01..2019-12-31; water ...``)."""
    out = []
    for part in parts:
        held = store.result_periods(f"{part}_rates")
        if held:
            out.append(f"{part} {min(p.start for p in held)}..{max(p.end for p in held)}")
    return "; ".join(out)


def _editions_table(results: StoredResults, period: Period) -> Table:
    """The period's air figures under each HJ 633 edition (``air_rates_by_edition``)."""
    df = results.get("air_rates_by_edition", period)
    official = results.get("air_rates", period)
    names = official["name"] if official is not None else pd.Series([], dtype=str)
    t = pd.DataFrame({"name": names.map(published_name)})
    headers = {"name": "城市"}
    decimals = {}
    notes = []
    t["official"] = official["good_day_ratio"].astype(float).to_numpy() if official is not None else []
    headers["official"] = f"优良天数比例(%)（{edition_label(editions_of(change_days(period)))}，按日执行版本）"
    decimals["official"] = 1
    if df is None:
        notes.append(f"各版本分别计算的结果不在存储中 figures under each edition are not in the store for {period.label}")
    else:
        for ed, sub in df.groupby("edition", sort=True):
            m = dict(zip(sub["scope"].astype(str) + "|" + sub["name"].astype(str), sub["good_day_ratio"].astype(float)))
            key = official["scope"].astype(str) + "|" + official["name"].astype(str)
            t[f"ratio_{ed}"] = [m.get(k, float("nan")) for k in key]
            headers[f"ratio_{ed}"] = f"优良天数比例(%)（全部按{standards.load(ed)['number']}）"
            decimals[f"ratio_{ed}"] = 1
    notes.append("HJ 633-2026自2026-03-01起施行（PM2.5、PM10的IAQI 100对应浓度降至60、120 μg/m³，日报不再使用O₃ 1小时）；"
                 "两版本并列仅供对比 both editions side by side, for comparison")
    return Table("air_editions", f"{period_zh(period)}优良天数比例（两版AQI标准）", t, headers, decimals, notes, "air")


def targets_text(tables: dict[str, Table], key: str) -> str:
    """The targets [%] the stored rows of table *key* were judged against (its ``target``
    column, as the engine wrote it from :mod:`envq.targets`), e.g. ``83%`` or ``83%、85%``;
    ``—`` when the table is absent or has none.

    >>> t = Table("air_cities", "", pd.DataFrame({"target": [83.0, 85.0, 83.0, None]}), {}, {}, [], "air")
    >>> targets_text({"air_cities": t}, "air_cities"), targets_text({}, "air_cities")
    ('83%、85%', '—')
    """
    t = tables.get(key)
    if t is None or "target" not in t.frame:
        return "—"
    values = sorted({float(v) for v in pd.to_numeric(t.frame["target"], errors="coerce").dropna()})
    return "、".join(f"{v:g}%" for v in values) or "—"


def _about(results: StoredResults, period: Period, ytd: Period | None, parts, generated: str,
           tables: dict[str, Table]) -> list[tuple[str, str]]:
    eds = edition_label(editions_of(change_days(period)))
    rows = [
        ("标题 title", f"湖南省{period_zh(period)}环境质量状况 (envq bulletin {period.label})"),
        ("时段 period", f"{period.label}: {period.start.isoformat()} .. {period.end.isoformat()}"
                        + (f"; 累计 year to date {store_key(ytd)}" if ytd is not None else "")),
        ("生成时间 generated", generated),
        ("数据来源 data", "中国环境监测总站 全国城市空气质量实时发布平台（城市站点小时数据）；国家地表水水质自动监测实时数据发布系统；"
                        "envq存储中的计算结果（每个结果由库函数计算一次并存储）"),
        ("存储 store", str(results.store.root)),
    ]
    if "air" in parts:
        rows += [
            ("空气质量指数 AQI", f"{eds}（按日执行的版本：2026-03-01前HJ 633-2012，起HJ 633-2026）"),
            ("评价统计 statistics", "HJ 663：SO₂、NO₂、PM10、PM2.5为时段日均值的算术平均，CO为日均值第95百分位，"
                                   "O₃为日最大8小时平均第90百分位（时段内全部日数计算）；浓度按GB/T 8170修约（CO 0.1 mg/m³，其余整数）"),
            ("有效日 day rule", "城市日以各评价点位日均值的算术平均计；PM2.5与O₃日值有效的日计入优良天数比例（envq默认 pm25_o3，"
                              "envq/air/city.py）；比例分母为有效监测天数 (reference/standards.md §2.4)"),
            ("综合指数 composite index", "I = Σ C_i/S_i，GB 3095-2012二级限值；各单项指数先修约至2位小数（半数取偶）再求和（per_term，默认；"
                                       "另一约定sum见 envq.air.stats.COMPOSITE_ROUNDINGS），每个数值记录所用约定"),
            ("排名 ranking", "综合指数从小到大、优良天数比例从大到小；发布值相同并列，下一名次顺延（1、2、2、4）；"
                           "城市环境空气质量排名技术规定（环办〔2014〕64号）"),
            ("同比、环比 changes", "比例变化以百分点、浓度与综合指数变化以百分比表示，均保留1位小数，由发布值计算；"
                                "跨2026年版本的同比按后一时段的版本重算前一时段（同口径）"),
            ("目标 targets", f"优良天数比例 ≥ {targets_text(tables, 'air_cities')}（湖南省质量目标，envq.targets）；"
                           "按发布值（1位小数，GB/T 8170）判定是否达标"),
        ]
    if "water" in parts:
        rows += [
            ("水质评价 water", "GB 3838-2002（21项，不含水温、总氮、粪大肠菌群）单因子评价；水系、流域按《地表水环境质量评价办法（试行）》"
                             "（环办〔2011〕22号）；湖库营养状态按TLI(Σ)；"
                             f"Ⅰ~Ⅲ类目标 ≥ {targets_text(tables, 'water_systems')}（省级）"),
        ]
    rows.append(("表格 tables", "；".join(f"{t.key}: {t.title}" for t in tables.values())))
    rows.append(("说明 notes", "空白单元格表示无数据，其原因见表下注释；数值单元格为数值，按发布位数显示；"
                             "以 = + - @ 开头的文字前加 ' 以防被电子表格当作公式"))
    return rows
