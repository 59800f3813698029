"""The warning rules: pure functions of the engines' stored results and the day's data.

Each function takes tables (what the store holds) and returns a warnings table
(:data:`envq.alerts.model.WARNING_COLUMNS`); :func:`envq.alerts.day_warnings` reads the tables
from the store and calls them. Nothing here recomputes a stored result: the good-air-day ratios,
targets, verdicts (``target_met``) and budgets of the year to date are the rates engine's on the
stored city days (the stored year row of a year in progress counts no days left, so its budget
is not the year's remaining one), the Ⅰ~Ⅲ shares
and verdicts are the water engine's (``water_rates``, ``water_basin_rates``), the section values
of the month are ``water_sections``. The near/over test of a section is the existing early-warning
engine (:func:`envq.water.warning.early_warning`); the one rule for "met" is
:func:`envq.targets.judge`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from envq.alerts.model import (
    OPERATORS,
    PROVINCE,
    PROVINCE_AUDIENCE,
    Thresholds,
    empty_warnings,
    frame,
)

__all__ = ["water_section_warnings", "water_share_warnings", "air_target_warnings", "budget_exhausted_days",
           "city_days_dataset",
           "air_run_warnings", "air_data_warnings", "water_data_warnings", "screened_warnings", "bureau",
           "reach_index"]

_HOUR = pd.Timedelta(hours=1)


def bureau(city: str) -> str:
    """The ecology-and-environment bureau of a city (生态环境局).

    >>> bureau("长沙市"), bureau("湘西土家族苗族自治州"), bureau("湖南省")
    ('长沙市生态环境局', '湘西土家族苗族自治州生态环境局', '湖南省生态环境厅')
    """
    if not city or city == "unknown":
        return PROVINCE_AUDIENCE
    if city == PROVINCE:
        return PROVINCE_AUDIENCE
    return f"{city}生态环境局"


def reach_index(reaches) -> pd.DataFrame:
    """One row per (section, reach): ``section, reach, reach_name, chief`` (chief = the reach's
    name and its chief's title, e.g. ``湘江干流省级河段 省级河长``)."""
    rows = [(s, r.id, r.name, f"{r.name} {r.chief_title}") for r in (reaches or {}).values() for s in r.sections]
    return pd.DataFrame(rows, columns=["section", "reach", "reach_name", "chief"])


def _fmt(x, digits: int | None = None) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}" if digits is not None else f"{x:g}"


def _pct(x) -> str:
    from envq.targets import published

    v = published(x)
    return "—" if not np.isfinite(v) else f"{v:.1f}%"


def _class_zh(k) -> str:
    from envq.water.classify import class_name

    return str(class_name([int(k)])[0]) + "类" if k and k > 0 else "—"


# --------------------------------------------------------------------------------------------
# water: sections near or over their target class (the early-warning engine)


def _item_texts(w: pd.DataFrame) -> pd.Series:
    """One phrase per early-warning row (vectorised over rows)."""
    from envq.water.classify import gb3838

    g = gb3838()
    unit = w["item"].map(lambda c: "" if g.items[c].unit in ("", "1", "无量纲") else f" {g.items[c].unit}")
    direction = w["item"].map(lambda c: g.items[c].direction)
    v = w["value"].map("{:g}".format)
    lim = w["limit"].map(lambda x: "—" if pd.isna(x) else f"{x:g}")
    tc = w["target_class"].map(lambda k: _class_zh(k))
    over = w["state"].eq("over")
    ratio = w["ratio"].astype(float)
    name = w["item_name"].astype(str)
    upper = (name + " " + v + unit + np.where(over, "，超过" + tc + "限值 " + lim + unit + "（超标 "
             + (ratio - 1).map("{:.2f}".format) + " 倍，" + w["item_class"].map(_class_zh) + "）",
             "，达到" + tc + "限值 " + lim + unit + " 的 " + (ratio * 100).round(0).map("{:.0f}".format) + "%"))
    lower = name + " " + v + unit + np.where(over, "，低于" + tc + "限值 " + lim + unit + "（"
                                             + w["item_class"].map(_class_zh) + "）",
                                             "，接近" + tc + "下限 " + lim + unit)
    rng = name + " " + v + np.where(over, "，超出 6~9 范围", "，接近 6~9 范围的边界")
    return pd.Series(np.where(direction == "upper", upper, np.where(direction == "lower", lower, rng)), index=w.index)


def water_section_warnings(current: pd.DataFrame | None, *, day: dt.date, registry=None, reaches=None,
                           thresholds: Thresholds = Thresholds(), period_values: pd.DataFrame | None = None,
                           period: str | None = None) -> pd.DataFrame:
    """Sections within the margin of their target-class limit, or over it, with items and multiples.

    Parameters
    ----------
    current : pandas.DataFrame, optional
        The latest readings, one row per section with item columns
        (:func:`envq.water.warning.latest_values`).
    period_values : pandas.DataFrame, optional
        The stored section values of the period in progress (``water_sections`` of the month):
        the figure the section is assessed on.
    period : str, optional
        How to name that period in the message (e.g. ``2026-08（截至 2026-08-23）``).

    One warning per section, naming the items of both bases (``最新监测`` and the period mean).
    Severity: ``critical`` when an item is 劣Ⅴ, ``warning`` when an item is over the target class,
    ``info`` when only near it (rules ``water.over_target`` / ``water.near_target``).
    """
    from envq.water.registry import load_registry, match_sections
    from envq.water.warning import early_warning

    reg = load_registry() if registry is None else registry
    parts = []
    for basis, table, name in (("latest", current, f"{day:%Y-%m-%d} 最新监测"), ("period", period_values,
                                                                              f"{period} 均值")):
        if table is None or not len(table):
            continue
        cols = ["section"] + [c for c in table.columns if c != "section"]
        w = early_warning(table[cols], reg, margin=thresholds.water_margin, ph_margin=thresholds.water_ph_margin)
        if len(w):
            parts.append(w.assign(basis=basis, basis_zh=name))
    if not parts:
        return empty_warnings()
    w = pd.concat(parts, ignore_index=True)
    w["text"] = _item_texts(w)
    w["_over"] = w["state"].eq("over")
    g = w.groupby(["section", "basis_zh"], sort=False)
    by_basis = (g["basis_zh"].first() + "：" + g["text"].agg("；".join)).groupby(level=0, sort=False).agg("。".join)
    gs = w.groupby("section", sort=False)
    per = pd.DataFrame({
        "text": by_basis,
        "any_over": gs["_over"].max().astype(bool),
        "worst": gs["item_class"].max(),
        "target_class": gs["target_class"].first(),
    })
    per["items"] = gs.apply(lambda x: x[["basis", "item", "item_name", "value", "limit", "ratio", "item_class",
                                         "state", "time"]].to_dict("records"), include_groups=False)
    meta, _ = match_sections(per.index.to_numpy(), reg)
    rx = reach_index(reaches)
    chiefs = rx.groupby("section")["chief"].agg(list) if len(rx) else pd.Series(dtype=object)
    ids = rx.groupby("section")["reach"].agg(list) if len(rx) else pd.Series(dtype=object)
    rows = []
    for (section, r), m in zip(per.iterrows(), meta.itertuples()):  # one row per warned section
        city = str(m.city_name)
        where = "·".join(x for x in (str(m.river_name), city) if x and x != "unknown")
        label = f"{section}断面" + (f"（{where}）" if where else "")
        sev = "critical" if r["worst"] >= 6 and r["any_over"] else ("warning" if r["any_over"] else "info")
        rid = list(ids.get(section, []))
        rows.append({
            "day": day.isoformat(), "part": "water", "severity": sev,
            "rule": "water.over_target" if r["any_over"] else "water.near_target",
            "scope": "section", "name": section, "label": label,
            "message": f"{label}，目标{_class_zh(r['target_class'])}。" + r["text"],
            "figures": {"period": period, "target_class": int(r["target_class"]), "items": r["items"]},
            "audience": [bureau(city), *chiefs.get(section, [])],
            "cities": [city] if city != "unknown" else [], "reaches": rid,
            "basins": [str(m.system_name)] if str(m.system_name) != "unknown" else [],
            "link": f"reaches/{rid[0]}.html" if rid else "water.html",
        })
    return frame(rows)


# --------------------------------------------------------------------------------------------
# water: reaches, basins, systems, province below their Ⅰ~Ⅲ target


_SCOPE_OF_GROUP = {"province": "province", "system": "system", "area": "basin", "basin": "basin", "reach": "reach",
                   "custom": "reach"}


def water_share_warnings(rates: pd.DataFrame, *, day: dt.date, reaches=None) -> pd.DataFrame:
    """Rows of stored Ⅰ~Ⅲ rates whose stored verdict is "not met": ``target_met`` False (a Ⅰ~Ⅲ
    share below its target: province, basin, system, a reach given one), or, for a river-chief
    reach without a share target, ``target_class_met`` False (sections missing the reach's
    target class)."""
    if rates is None or not len(rates) or "target_met" not in rates:
        return empty_warnings()
    met = pd.array(rates["target_met"], dtype="boolean")
    cls_met = pd.array(rates["target_class_met"], dtype="boolean") if "target_class_met" in rates \
        else pd.array([pd.NA] * len(rates), dtype="boolean")
    lost = (met == False).fillna(False).to_numpy(bool)  # noqa: E712 (NA is no verdict)
    lost_class = (met.isna() & (cls_met == False)).fillna(False).to_numpy(bool)  # noqa: E712
    rows = []
    names = {rid: r.name for rid, r in (reaches or {}).items()}
    chiefs = {rid: f"{r.name} {r.chief_title}" for rid, r in (reaches or {}).items()}
    for r, by_class in zip(rates[lost | lost_class].to_dict("records"), lost_class[lost | lost_class]):
        scope = _SCOPE_OF_GROUP.get(str(r.get("group")), str(r.get("group")))
        name = str(r["name"])
        good = int(r["sections_i_iii"])  # the engine's count (envq.water.groups.i_iii_count)
        label = str(r.get("reach_name") or names.get(name, name))
        through = f"（截至 {r['through']}）" if r.get("through") else ""
        audience = [chiefs.get(name, f"{label} {r.get('chief_title', '')}".strip())] if scope == "reach" \
            else [PROVINCE_AUDIENCE]
        share = f"Ⅰ~Ⅲ类水质断面比例 {_pct(r['i_iii_share'])}（{good}/{int(r['sections'])}）"
        figures = {"period": r["period"], "i_iii_share": float(r["i_iii_share"]), "sections": int(r["sections"]),
                   "i_iii_sections": good}
        if by_class:
            meeting, tc = int(r["sections_meeting_target"]), int(r["target_class"])
            message = (f"{label} {r['period']}{through} 仅 {meeting}/{int(r['sections'])} 个断面达到河段目标"
                       f"{_class_zh(tc)}；{share}")
            figures.update(target_class=tc, sections_meeting_target=meeting)
        else:
            target = float(r["i_iii_target"])
            message = f"{label} {r['period']}{through} {share}，低于目标 {target:g}%"
            figures["target"] = target
        rows.append({
            "day": day.isoformat(), "part": "water", "severity": "warning", "rule": "water.share_below_target",
            "scope": scope, "name": name, "label": label, "message": message, "figures": figures,
            "audience": audience, "cities": [], "reaches": [name] if scope == "reach" else [],
            "basins": [name] if scope in ("basin", "system") else [],
            "link": f"reaches/{name}.html" if scope == "reach" else "water.html",
        })
    return frame(rows)


# --------------------------------------------------------------------------------------------
# air: ratio and budget against the target; runs of non-good days


def budget_exhausted_days(city_days: pd.DataFrame, targets: pd.Series, *, year: int,
                          province: str | None = PROVINCE) -> pd.Series:
    """The day each city's (and the province's) target for *year* could no longer be met.

    The target is lost on the first day when even every remaining calendar day good would leave
    the year's published ratio below the target: :func:`envq.targets.judge` of
    ``(g + r) / (v + r)`` is False, with g good and v valid days so far and r days left (the
    budget of :func:`envq.air.rates.good_day_rates` turns negative that day). The province, a
    mean of city ratios, is judged on the pooled days of its cities (as its budget).

    Parameters
    ----------
    city_days : pandas.DataFrame
        The stored city-day table (``city, date, aqi, valid``) of the year so far.
    targets : pandas.Series
        Target [%] by name (the ``target`` column of the stored rates).

    Returns
    -------
    pandas.Series of str (``YYYY-MM-DD``) by name: only the names whose target was lost.
    """
    from envq.air.rates import is_good_day
    from envq.targets import judge

    if city_days is None or not len(city_days):
        return pd.Series(dtype=object)
    df = city_days[["city", "date", "aqi", "valid"]].copy()
    df["date"] = pd.to_datetime(df["date"])
    df = df[df["date"].dt.year == year]
    valid = df["valid"].astype(bool).to_numpy()
    good = is_good_day(pd.to_numeric(df["aqi"], errors="coerce").to_numpy(float), valid)  # the rates' one rule
    g = pd.crosstab(df["city"], df["date"], values=good.astype(int), aggfunc="sum").fillna(0)
    v = pd.crosstab(df["city"], df["date"], values=valid.astype(int), aggfunc="sum").fillna(0)
    dates = pd.DatetimeIndex(g.columns)
    left = ((pd.Timestamp(year, 12, 31) - dates).days).to_numpy(float)
    G, V = g.to_numpy(float).cumsum(axis=1), v.to_numpy(float).cumsum(axis=1)
    names = list(g.index)
    if province is not None and province in targets.index:
        k = len(names)
        G = np.vstack([G, G.sum(axis=0)])
        V = np.vstack([V, V.sum(axis=0)])
        names.append(province)
        rem = np.vstack([np.broadcast_to(left, (k, len(left))), left * k])
    else:
        rem = np.broadcast_to(left, G.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        best = 100.0 * (G + rem) / (V + rem)
    tgt = targets.reindex(names).to_numpy(float)
    ok = judge(best.ravel(), np.repeat(tgt, best.shape[1])).to_numpy(dtype=object).reshape(best.shape)
    lost = ok == False  # noqa: E712 (NA: no target)
    first = np.where(lost.any(axis=1), lost.argmax(axis=1), -1)
    out = {n: dates[i].date().isoformat() for n, i in zip(names, first) if i >= 0}
    return pd.Series(out, dtype=object)


def city_days_dataset(table: pd.DataFrame):
    """The stored city-day table back as the engine's city-day dataset (dims city, date):
    ``aqi``, ``level``, ``category``, ``valid``, ``valid_all_six``, ``primary_pollutant``."""
    from envq.air.aqi import category_table

    df = table.copy()
    df["date"] = pd.to_datetime(df["date"])
    level = {}
    for ed in ("hj633_2012", "hj633_2026"):
        level.update({name: k for k, name in category_table(ed)["category_zh"].items()})
    df["aqi"] = pd.to_numeric(df["aqi"], errors="coerce").astype(float)
    df["level"] = df["category"].map(level).fillna(0).astype(np.int64)
    cols = ["aqi", "level", "category", "valid", "valid_all_six", "primary_pollutant"]
    ds = df.set_index(["city", "date"])[[c for c in cols if c in df]].to_xarray()
    for c in ("valid", "valid_all_six"):
        if c in ds:
            ds[c] = ds[c].fillna(False).astype(bool)
    ds["level"] = ds["level"].fillna(0).astype(np.int64)
    for c in ("category", "primary_pollutant"):
        if c in ds:
            ds[c] = ds[c].fillna("").astype(object)
    return ds


def air_target_warnings(city_days: pd.DataFrame | None, *, day: dt.date,
                        thresholds: Thresholds = Thresholds(), targets=None) -> pd.DataFrame:
    """Cities (and the province) against their year's good-air-day target on *day*.

    The figures are the rates engine's for the year to date through *day*
    (:func:`envq.air.rates.good_day_rates` on the stored city days: ratio, ``target``,
    ``target_met``, ``budget_non_good_days`` = how many of the days left in the year may still be
    non-good):

    - ``air.budget_exhausted`` (critical): the budget is negative, the target cannot be met this
      year; the message says since which day (:func:`budget_exhausted_days`);
    - ``air.ratio_below_target`` (warning): the ratio so far misses the target but can still be
      recovered (and how many non-good days the rest of the year may have);
    - ``air.budget_low`` (warning): the ratio meets the target but the budget is at or below
      ``thresholds.budget_days`` with days of the year left.
    """
    from envq.air.rates import good_day_rates

    if city_days is None or not len(city_days):
        return empty_warnings()
    d = pd.to_datetime(city_days["date"])
    table = city_days[((d.dt.year == day.year) & (d <= pd.Timestamp(day))).to_numpy()]
    if not len(table):
        return empty_warnings()
    kw = {} if targets is None else {"targets": targets}
    rates = good_day_rates(city_days_dataset(table), f"{day.year}-YTD", by="both", **kw)
    through = str(pd.to_datetime(table["date"]).max().date())
    left = (dt.date(day.year, 12, 31) - dt.date.fromisoformat(through)).days
    lost_on = budget_exhausted_days(table, rates.set_index("name")["target"], year=day.year)
    rows = []
    for r in rates.to_dict("records"):
        name, scope = str(r["name"]), str(r["scope"])
        ratio, target = r["good_day_ratio"], float(r["target"])
        met = r.get("target_met")
        budget = r.get("budget_non_good_days")
        budget = None if budget is None or pd.isna(budget) else int(budget)
        head = f"{name} {day.year} 年（截至 {through}）优良天数比例 {_pct(ratio)}（{int(r['good_days'])}/{int(r['valid_days'])} 天）"
        figures = {"period": f"{day.year}-YTD", "through": through, "good_day_ratio": float(ratio), "target": target,
                   "good_days": int(r["good_days"]), "valid_days": int(r["valid_days"]), "budget_non_good_days": budget,
                   "days_left": left}
        base = {"day": day.isoformat(), "part": "air", "scope": scope, "name": name, "label": name,
                "audience": [bureau(name)], "cities": [name] if scope == "city" else [], "reaches": [], "basins": [],
                "link": "air.html"}
        if budget is not None and budget < 0:
            since = lost_on.get(name)
            figures["lost_on"] = since
            rows.append({**base, "severity": "critical", "rule": "air.budget_exhausted", "figures": figures,
                         "message": head + f"，目标 {target:g}%：全年目标已无法完成"
                                    + (f"（非优良天数额度已于 {since} 用完）" if since else "")})
        elif met is not None and not pd.isna(met) and not bool(met):
            rows.append({**base, "severity": "warning", "rule": "air.ratio_below_target", "figures": figures,
                         "message": head + f"，低于目标 {target:g}%"
                                    + (f"；余下 {left} 天中至多还可有 {budget} 个非优良天" if budget is not None and left else "")})
        elif budget is not None and left > 0 and budget <= thresholds.budget_days:
            rows.append({**base, "severity": "warning", "rule": "air.budget_low", "figures": figures,
                         "message": head + f"，目标 {target:g}%：余下 {left} 天中至多还可有 {budget} 个非优良天"})
    return frame(rows)


def air_run_warnings(city_days: pd.DataFrame, *, day: dt.date, thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """Cities with at least ``thresholds.non_good_run_days`` non-good days (valid, AQI > 100) in a
    row ending on *day* (a day without a valid AQI ends a run)."""
    if city_days is None or not len(city_days) or thresholds.non_good_run_days <= 0:
        return empty_warnings()
    df = city_days.copy()
    df["date"] = pd.to_datetime(df["date"])
    df = df[df["date"] <= pd.Timestamp(day)]
    aqi = pd.to_numeric(df["aqi"], errors="coerce")
    bad = (df["valid"].astype(bool) & (aqi > 100)).astype(int)
    m = pd.crosstab(df["city"], df["date"], values=bad, aggfunc="max").fillna(0).astype(bool)
    if not len(m.columns) or m.columns[-1] != pd.Timestamp(day):
        return empty_warnings()
    a = m.to_numpy()
    n = a.shape[1]
    last_ok = np.where((~a).any(axis=1), n - 1 - np.argmax((~a)[:, ::-1], axis=1), -1)
    run = n - 1 - last_ok
    rows = []
    aq = pd.crosstab(df["city"], df["date"], values=aqi, aggfunc="max")
    for city, k in zip(m.index, run):
        if k < thresholds.non_good_run_days:
            continue
        start = m.columns[n - k].date()
        window = df[(df["city"] == city) & (df["date"] >= pd.Timestamp(start))]
        worst = window.loc[pd.to_numeric(window["aqi"], errors="coerce").idxmax()]
        prim = sorted({p for x in window["primary_pollutant"].astype(str) for p in x.split(",") if p})
        rows.append({
            "day": day.isoformat(), "part": "air", "severity": "warning", "rule": "air.non_good_run",
            "scope": "city", "name": city, "label": city,
            "message": f"{city}已连续 {k} 天空气质量非优良（{start} 至 {day}），最高 AQI {int(worst['aqi'])}"
                       f"（{worst['category']}）" + (f"，首要污染物 {'、'.join(prim)}" if prim else ""),
            "figures": {"days": int(k), "start": start.isoformat(), "end": day.isoformat(),
                        "max_aqi": int(worst["aqi"]), "max_category": str(worst["category"]),
                        "aqi": [int(x) for x in aq.loc[city].iloc[n - k:].to_numpy()]},
            "audience": [bureau(city)], "cities": [city], "reaches": [], "basins": [], "link": "air.html",
        })
    return frame(rows)


# --------------------------------------------------------------------------------------------
# data: silence, empty sources, incomplete days, screened values


def _silent_rows(last: pd.Series, end: pd.Timestamp, start: pd.Timestamp, *, day, part, scope, labels, cities,
                 hours: float, lookback_days: int, what: str) -> list[dict]:
    """Rows for the names whose last value (NaT = none in the window) is older than *hours*."""
    age = (end - last).dt.total_seconds() / 3600.0
    silent = last.isna() | (age > hours)
    rows = []
    for name in last.index[silent.to_numpy()]:
        t = last.get(name)
        city = cities.get(name, "")
        since = (f"最后数据 {t:%Y-%m-%d %H:%M}，已 {age[name]:.0f} 小时无数据" if pd.notna(t)
                 else f"{lookback_days} 天内（{start:%Y-%m-%d} 起）无任何数据")
        rows.append({
            "day": day.isoformat(), "part": "data", "severity": "warning", "rule": "data.silent", "scope": scope,
            "name": name, "label": labels.get(name, name),
            "message": f"{what} {labels.get(name, name)} {since}",
            "figures": {"last": None if pd.isna(t) else t.isoformat(), "hours": None if pd.isna(t) else float(age[name]),
                        "threshold_hours": hours},
            "audience": [bureau(city) if city else PROVINCE_AUDIENCE, OPERATORS], "cities": [city] if city else [],
            "reaches": [], "basins": [], "link": "index.html",
        })
    return rows


def _daily_mean_rule(day: dt.date, min_hours: int) -> str:
    """Where a station day's minimum of PM2.5 hours comes from: GB 3095 Table 4 of the edition in
    force on *day* (a 24-hour mean needs 20 hourly values), or the configuration when it differs."""
    from envq import standards

    gb = standards.load(standards.edition_for("gb3095", day))
    rule = next(r for r in gb["validity"]["rules"] if r["statistic"] == "daily_mean")
    if rule["min_hours"] == min_hours:
        return f"{gb['number']} 表4：至少 {min_hours} 小时"
    return f"envq.toml [warnings] station_min_hours：至少 {min_hours} 小时"


def air_data_warnings(hourly, *, day: dt.date, stations: pd.DataFrame | None = None,
                      thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """Air data of the day: the source published nothing (critical), hours of the day missing
    (warning), stations silent for more than ``silent_hours`` (warning), station days left
    incomplete (fewer than ``station_min_hours`` PM2.5 hours: the daily mean is invalid, info).

    *hourly* is the stored hourly dataset of the lookback window ending with *day*; *stations*
    the expected stations (index code, columns ``name``, ``city``; default those in the data).
    """
    from envq.canonical import AIR_POLLUTANTS

    end = pd.Timestamp(day) + pd.Timedelta(days=1)  # hour 24 of the day
    start = pd.Timestamp(day) - pd.Timedelta(days=thresholds.lookback_days - 1)
    times = pd.DatetimeIndex(hourly["time"].values) if hourly is not None else pd.DatetimeIndex([])
    codes = np.asarray(hourly["station"].values).astype(str) if hourly is not None else np.array([], str)
    if hourly is not None and len(times):
        vals = np.stack([hourly[v].transpose("station", "time").values for v in AIR_POLLUTANTS if v in hourly])
        anyv = np.isfinite(vals).any(axis=0)  # (station, time)
    else:
        anyv = np.zeros((len(codes), 0), bool)
    in_day = (times > pd.Timestamp(day)) & (times <= end)
    rows = []
    base = {"day": day.isoformat(), "part": "data", "audience": [OPERATORS], "cities": [], "reaches": [],
            "basins": [], "link": "index.html"}
    hours_with = int(anyv[:, in_day].any(axis=0).sum()) if in_day.any() else 0
    if hours_with == 0:
        rows.append({**base, "severity": "critical", "rule": "data.source_empty", "scope": "source", "name": "air",
                     "label": "空气数据源", "message": f"空气数据源 {day} 无任何数据", "figures": {"hours": 0}})
    elif hours_with < 24:
        have = set(times[in_day][anyv[:, in_day].any(axis=0)])
        missing = [t for t in pd.date_range(pd.Timestamp(day) + _HOUR, end, freq="h") if t not in have]
        rows.append({**base, "severity": "warning", "rule": "data.day_incomplete", "scope": "source", "name": "air",
                     "label": "空气数据源",
                     "message": f"空气数据源 {day} 仅 {hours_with}/24 小时有数据（缺 "
                                + "、".join(f"{t.hour or 24}时" for t in missing[:8]) + ("…" if len(missing) > 8 else "") + "）",
                     "figures": {"hours": hours_with, "missing": [t.isoformat() for t in missing]}})
    if stations is None:
        names = pd.Series(np.asarray(hourly["name"].values).astype(str), index=codes) \
            if hourly is not None and "name" in hourly.coords else pd.Series(dtype=object)
        cities = pd.Series(np.asarray(hourly["city"].values).astype(str), index=codes) \
            if hourly is not None and "city" in hourly.coords else pd.Series(dtype=object)
        expected = list(codes)
    else:
        names, cities = stations["name"].astype(str), stations["city"].astype(str)
        expected = list(stations.index.astype(str))
    labels = {c: f"{c} {names.get(c, '')}（{cities.get(c, '')}）".replace(" （", "（").replace("（）", "")
              for c in expected}
    # last label with any value, per station (vectorised over the cube)
    upto = times <= end
    t_idx = np.where(anyv[:, upto], np.arange(upto.sum())[None, :], -1).max(axis=1) if upto.any() \
        else np.full(len(codes), -1)
    last_of = pd.Series([times[upto][i] if i >= 0 else pd.NaT for i in t_idx], index=codes, dtype="datetime64[ns]")
    last = last_of.reindex(expected)
    rows += _silent_rows(last, end, start, day=day, part="data", scope="station", labels=labels,
                         cities=cities.to_dict(), hours=thresholds.silent_hours, lookback_days=thresholds.lookback_days,
                         what="空气站点")
    silent = {r["name"] for r in rows if r["rule"] == "data.silent"}
    if hourly is not None and "pm25" in hourly and in_day.any():
        rule = _daily_mean_rule(day, thresholds.station_min_hours)
        pm = np.isfinite(hourly["pm25"].transpose("station", "time").values[:, in_day]).sum(axis=1)
        short = (pm > 0) & (pm < thresholds.station_min_hours) & np.isin(codes, expected)
        for c, n in zip(codes[short], pm[short]):
            if c in silent:
                continue
            city = cities.get(c, "")
            rows.append({**base, "severity": "info", "rule": "data.day_incomplete", "scope": "station", "name": c,
                         "label": labels.get(c, c), "audience": [bureau(city), OPERATORS], "cities": [city] if city else [],
                         "message": f"空气站点 {labels.get(c, c)} {day} 仅 {int(n)} 小时 PM2.5 有效，日均值无效"
                                    f"（{rule}）",
                         "figures": {"pm25_hours": int(n), "min_hours": thresholds.station_min_hours}})
    return frame(rows)


def water_data_warnings(long: pd.DataFrame | None, *, day: dt.date, sections: pd.DataFrame | None = None,
                        thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """Water data of the day: the source published nothing (critical), sections silent for more
    than ``silent_hours`` (warning). *long* is the stored long table of the lookback window;
    *sections* the expected sections (``section``, ``city_name`` or ``city``; default those in
    the data)."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    start = pd.Timestamp(day) - pd.Timedelta(days=thresholds.lookback_days - 1)
    long = long if long is not None else pd.DataFrame({"section": [], "time": pd.to_datetime([])})
    t = pd.to_datetime(long["time"]) if len(long) else pd.Series(pd.to_datetime([]))
    rows = []
    base = {"day": day.isoformat(), "part": "data", "audience": [OPERATORS], "cities": [], "reaches": [],
            "basins": [], "link": "index.html"}
    in_day = ((t >= pd.Timestamp(day)) & (t < end)).to_numpy() if len(long) else np.zeros(0, bool)
    if not in_day.any():
        rows.append({**base, "severity": "critical", "rule": "data.source_empty", "scope": "source", "name": "water",
                     "label": "地表水数据源", "message": f"地表水数据源 {day} 无任何数据", "figures": {"readings": 0}})
    if sections is None:
        expected = sorted(set(long["section"])) if len(long) else []
        cities = {}
    else:
        expected = list(sections["section"].astype(str))
        ccol = "city_name" if "city_name" in sections else "city"
        cities = {s: (c if c != "unknown" else "") for s, c in zip(sections["section"], sections[ccol].astype(str))}
    ok = (t < end).to_numpy() if len(long) else np.zeros(0, bool)
    last = (pd.Series(t[ok].to_numpy(), index=long["section"][ok].to_numpy()).groupby(level=0).max()
            if ok.any() else pd.Series(dtype="datetime64[ns]"))
    last = last.reindex(expected)
    labels = {s: f"{s}断面" + (f"（{cities[s]}）" if cities.get(s) else "") for s in expected}
    rows += _silent_rows(last, end, start, day=day, part="data", scope="section", labels=labels, cities=cities,
                         hours=thresholds.silent_hours, lookback_days=thresholds.lookback_days, what="水质")
    return frame(rows)


def screened_warnings(air: pd.DataFrame | None, water: pd.DataFrame | None, *, day: dt.date,
                      stations: pd.DataFrame | None = None, sections: pd.DataFrame | None = None) -> pd.DataFrame:
    """One ``data.screened`` (info) per station or section with values screened out on *day*
    (stored ``air_screened`` / ``water_screened``: every removal with its rule and reason)."""
    from envq.air.daily import natural_day

    rows = []
    for part, log, key, what in (("air", air, "station", "空气站点"), ("water", water, "section", "水质")):
        if log is None or not len(log):
            continue
        t = pd.to_datetime(log["time"])
        d = natural_day(t) if part == "air" else t.dt.normalize()  # air labels end their hour
        sub = log[(d == pd.Timestamp(day)).to_numpy()]
        if not len(sub):
            continue
        var = "variable" if "variable" in sub else "item"
        why = "rule" if "rule" in sub else "reason"
        text = (sub[var].astype(str) + "=" + sub["value"].map("{:g}".format) + "（" + sub[why].astype(str) + "，"
                + pd.to_datetime(sub["time"]).dt.strftime("%H:%M") + "）")
        for name, grp in text.groupby(sub[key].astype(str).to_numpy()):
            if part == "air" and stations is not None and name in stations.index:
                city = str(stations.loc[name, "city"])
                label = f"{name} {stations.loc[name, 'name']}（{city}）"
            elif part == "water" and sections is not None:
                m = sections.set_index("section")
                city = str(m["city_name"].get(name, "")) if "city_name" in m else ""
                city = "" if city == "unknown" else city
                label = f"{name}断面" + (f"（{city}）" if city else "")
            else:
                city, label = "", name
            rows.append({
                "day": day.isoformat(), "part": "data", "severity": "info", "rule": "data.screened", "scope": key,
                "name": name, "label": label,
                "message": f"{what} {label} {day} 有 {len(grp)} 个数值被筛除：" + "；".join(grp.head(5))
                           + ("…" if len(grp) > 5 else ""),
                "figures": {"count": int(len(grp))}, "audience": [bureau(city) if city else PROVINCE_AUDIENCE, OPERATORS],
                "cities": [city] if city else [], "reaches": [], "basins": [], "link": "index.html",
            })
    return frame(rows)
