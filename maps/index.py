"""The index page: what the maps show, how fresh the data is, the headline figures, the links.

Plain HTML (no script, nothing to fetch) on the shared page layout (:func:`maps.layout.page_document`:
on a phone the cards stack and the reach table becomes one block per reach, nothing scrolls
sideways); every text from data escaped.
"""

from __future__ import annotations

import pandas as pd

from maps.layout import page_document
from maps.style import (RATE_BANDS, aqi_categories, band_label, class_name, esc, pct, rate_band, swatch,
                        water_classes)

__all__ = ["index_html"]



def _band_cell(value, target, met) -> str:
    return _band_html(rate_band(value, target, met))


def _band_html(b) -> str:
    zh, en = band_label(b)
    return f'{swatch(b.colour, hatch=b.hatch, css_class="swatch")} {esc(zh)} <span class="en">{esc(en)}</span>'


def _num(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):g}"


def _province_method(prov) -> str:
    n = "" if pd.isna(prov.get("n_cities")) else int(prov["n_cities"])
    if prov.get("province_method") == "pooled":
        return f"{n}个城市的城市日合并计算 pooled city-days of {n} cities"
    return f"{n}个城市比例的平均 mean of the {n} city ratios"


def _reach_band_cell(summary: dict) -> str:
    from maps.reach import reach_band

    return _band_html(reach_band(summary))


def index_html(*, generated: str, day: str | None, air_period: str | None, water_period: str | None,
               freshness: list[tuple[str, str, str]], air_rates: pd.DataFrame | None,
               water_province: pd.Series | None, basin_water: pd.DataFrame | None,
               reaches: list[dict], pages: dict[str, str], notes: list[str],
               edition: str = "hj633_2012", alerts_html: str = "", past: list[dict] | None = None) -> str:
    """The index page as HTML text.

    *freshness*: ``(what_zh, what_en, through)`` lines; *reaches*: summary dicts of the reach
    reports plus ``href``; *pages*: ``{"air": "air.html", "water": "water.html"}`` (present pages);
    *alerts_html*: the warnings and audit section (:func:`maps.alerts.alerts_section`, escaped);
    *past*: the periods held (:func:`maps.render.past_periods`), listed as 往期 with their maps and
    bulletins.
    """
    out = [f'<main><h1>湖南省生态环境质量地图 <span class="en">Hunan environmental quality maps (envq)</span></h1>'
           f'<div>生成时间 generated {esc(generated)}'
           + (f' · 站点日 station day {esc(day)}' if day else "")
           + (f' · 空气时段 air period {esc(air_period)}' if air_period else "")
           + (f' · 水质时段 water period {esc(water_period)}' if water_period else "") + '</div>']
    out.append('<h2>数据时效 Data freshness</h2><ul>' + "".join(
        f'<li>{esc(zh)} <span class="en">{esc(en)}</span>: <b>{esc(through)}</b></li>' for zh, en, through in freshness)
        + '</ul>')

    # headline figures
    out.append('<h2>考核指标 Headline figures against the targets</h2><div class="cards">')
    prov = None
    if air_rates is not None and len(air_rates):
        p = air_rates[air_rates["scope"] == "province"]
        prov = p.iloc[0] if len(p) else None
    if prov is not None:
        out.append(f'<div class="card envq-headline-air"><div>空气优良天数比例 good-air-day ratio, 湖南省 '
                   f'{esc(air_period)}</div><div class="big">{pct(prov["good_day_ratio"])}</div>'
                   f'<div>目标 target ≥ {_num(prov["target"])}%：{_band_cell(prov["good_day_ratio"], prov["target"], prov["target_met"])}</div>'
                   f'<div class="note">{_province_method(prov)}；截至 through {esc(prov["through"])}</div>'
                   f'{_link(pages, "air", "空气质量地图 air map")}</div>')
    else:
        out.append('<div class="card envq-headline-air">空气：本时段无结果 air: no results for the period</div>')
    if water_province is not None:
        w = water_province
        good = int(w["sections_i_iii"])
        out.append(f'<div class="card envq-headline-water"><div>Ⅰ~Ⅲ类水质断面比例 Class I–III share, 湖南省 '
                   f'{esc(water_period)}</div><div class="big">{pct(w["i_iii_share"])}</div>'
                   f'<div>{good}/{int(w["sections"])} 个断面 sections · 目标 target ≥ {_num(w["i_iii_target"])}%：'
                   f'{_band_cell(w["i_iii_share"], w["i_iii_target"], w["target_met"])}</div>'
                   f'<div class="note">截至 through {esc(w.get("through", ""))}</div>'
                   f'{_link(pages, "water", "地表水水质地图 water map")}</div>')
    else:
        out.append('<div class="card envq-headline-water">水质：本时段无结果 water: no results for the period</div>')
    out.append('</div>')
    out.append(alerts_html)  # warnings and audit (maps.alerts)

    # pages
    out.append('<h2>地图 Maps</h2><div class="links">' + "".join(
        f'<a class="envq-link" href="{esc(href)}">{esc(label)}</a>' for key, href, label in (
            ("air", pages.get("air"), "空气质量 Air quality"), ("water", pages.get("water"), "地表水 Surface water"))
        if href) + '</div>')
    if reaches:
        heads = ("河段 reach", "河流 river", "级别 level", "河长 chief", f"Ⅰ~Ⅲ类 share ({water_period})",
                 "达到河段目标 meeting the reach target", "河段目标 reach target")
        lab = [f' data-label="{esc(h)}"' for h in heads]
        rows = "".join(
            f'<tr><td{lab[0]}><a class="envq-link envq-reach-link" href="{esc(r["href"])}">{esc(r["name"])}</a></td>'
            f'<td{lab[1]}>{esc(r["river"])}</td><td{lab[2]}>{esc(r["level"])}</td><td{lab[3]}>{esc(r["chief_title"])}</td>'
            f'<td class="num"{lab[4]}>{pct(r["i_iii_share"])} ({r["sections_i_iii"]}/{r["sections_evaluated"]})</td>'
            f'<td class="num"{lab[5]}>{esc(class_name(r["target_class"]))} {r["sections_meeting_target"]}/'
            f'{r["sections_evaluated"]}</td><td{lab[6]}>{_reach_band_cell(r)}</td></tr>' for r in reaches)
        out.append('<h2>河长制河段 River-chief reaches</h2><table class="envq-stack"><tr>'
                   + "".join(f"<th>{esc(h)}</th>" for h in heads) + f'</tr>{rows}</table>')
        if any(r.get("example") for r in reaches):
            out.append('<div class="note">示例河段（非正式河长名录） example reaches, not an official list: '
                       '配置 configure your own with $ENVQ_REACHES</div>')

    if past:
        out.append(_past_html(past))

    # tables: cities and basins
    if air_rates is not None and len(air_rates):
        c = air_rates[air_rates["scope"] == "city"].sort_values("good_day_ratio", ascending=False)
        rows = "".join(f'<tr><td>{esc(r["name"])}</td><td class="num">{pct(r["good_day_ratio"])}</td>'
                       f'<td class="num">{int(r["good_days"])}/{int(r["valid_days"])}</td>'
                       f'<td>{_band_cell(r["good_day_ratio"], r["target"], r["target_met"])}</td></tr>' for _, r in c.iterrows())
        out.append(f'<h2>城市优良天数比例 Cities, good-air-day ratio ({esc(air_period)})</h2><table class="envq-city-table">'
                   f'<tr><th>城市 city</th><th>比例 ratio</th><th>优良/有效天数 good/valid days</th><th>目标 target</th></tr>'
                   f'{rows}</table>')
    if basin_water is not None and len(basin_water):
        rows = "".join(f'<tr><td>{esc(r["name"])}</td><td class="num">{pct(r["i_iii_share"])}</td>'
                       f'<td class="num">{int(r["sections_i_iii"])}/{int(r["sections"])}</td>'
                       f'<td>{_band_cell(r["i_iii_share"], r["i_iii_target"], r["target_met"])}</td></tr>'
                       for _, r in basin_water.iterrows())
        out.append(f'<h2>流域Ⅰ~Ⅲ类断面比例 Basins, Class I–III share ({esc(water_period)})</h2><table>'
                   f'<tr><th>流域 basin</th><th>比例 share</th><th>Ⅰ~Ⅲ类/断面 sections</th><th>目标 target</th></tr>{rows}</table>')

    # legends
    out.append('<h2>图例 Legends</h2><div class="cards"><div class="card"><b>AQI类别 AQI category</b> '
               '<span class="note">HJ 633 表2</span><table>' + "".join(
                   f'<tr><td><span class="swatch" style="background:{c["hex"]}"></span></td><td>{esc(c["category_zh"])}'
                   f'（{esc(c["level_zh"])}，{esc(c["colour_zh"])}）</td><td class="en">{esc(c["category_en"])}</td>'
                   f'<td class="num">{c["aqi_min"]}–{c["aqi_max"]}</td></tr>' for c in aqi_categories(edition))
               + '</table></div><div class="card"><b>水质类别 water class</b> <span class="note">GB 3838-2002</span><table>'
               + "".join(f'<tr><td><span class="swatch" style="background:{c["hex"]}"></span></td><td>{esc(c["name_zh"])}'
                         f' {esc(c["status_zh"])}</td><td class="en">{esc(c["name_en"])}, {esc(c["status_en"])}</td></tr>'
                         for c in water_classes())
               + '</table></div><div class="card"><b>比例与目标 rate against the target</b><table>'
               + "".join(f'<tr><td>{swatch(b.colour, hatch=b.hatch, css_class="swatch")}</td>'
                         f'<td>{esc(band_label(b)[0])}</td><td class="en">{esc(band_label(b)[1])}</td></tr>' for b in RATE_BANDS)
               + '</table><div class="note">按发布值（保留1位小数，GB/T 8170修约）判定 judged on the published value (1 decimal, GB/T 8170 rounding)</div></div></div>')
    if notes:
        out.append('<h2>说明 Notes</h2><ul>' + "".join(f'<li>{esc(n)}</li>' for n in notes) + '</ul>')
    out.append('<p class="note">envq · 数据来源 data: CNEMC 全国城市空气质量实时发布平台, 国家地表水水质自动监测实时数据发布系统 · '
               '离线页面，无外部资源 offline pages, nothing fetched</p></main>')
    return page_document("湖南省生态环境质量地图 envq maps", "".join(out))


def _link(pages: dict, key: str, label: str) -> str:
    href = pages.get(key)
    return f'<div><a class="envq-link" href="{esc(href)}">{esc(label)} →</a></div>' if href else ""


_MAP_LABELS = {"air": "空气质量 air", "water": "地表水 water"}
_FORMAT_LABELS = {"html": "网页 HTML", "pdf": "PDF", "xlsx": "Excel", "md": "Markdown"}


def _past_html(past: list[dict]) -> str:
    """往期: every period held, latest first, with its maps and its bulletin's files."""
    heads = ("时段 period", "地图 maps", "公报 bulletin")
    lab = [f' data-label="{esc(h)}"' for h in heads]
    rows = []
    for r in past:
        maps_ = " · ".join(f'<a class="envq-link envq-past-map" href="{esc(href)}">{esc(_MAP_LABELS.get(k, k))}</a>'
                           for k, href in r["maps"].items()) or "—"
        files = " · ".join(f'<a class="envq-link envq-past-report" href="{esc(r["bulletin"][k])}">'
                           f'{esc(_FORMAT_LABELS[k])}</a>' for k in _FORMAT_LABELS if k in r["bulletin"]) or "—"
        rows.append(f'<tr><td{lab[0]}>{esc(r["period"])}</td><td{lab[1]}>{maps_}</td><td{lab[2]}>{files}</td></tr>')
    return ('<h2>往期 Past periods</h2><table class="envq-stack envq-past"><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr>" + "".join(rows) + "</table>")
