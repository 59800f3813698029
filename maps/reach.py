"""One page per river-chief reach (河长制): its sections on the map and along the river.

The map shows the reach's sections numbered upstream -> downstream (1 = upstream), coloured by
class, joined in that order by a dashed line (the order, not the river's course). A panel gives
the reach (river, stretch, level, the chief's title, never a person's name), its Ⅰ~Ⅲ类 share and
target compliance for the period, the class profile along the river (:func:`maps.svg.class_profile`),
the items that fail the target in which section, and a table of every section with its class, the
previous period's class and the trend (:func:`envq.water.reaches.reach_report`).
"""

from __future__ import annotations

import pandas as pd

from maps import base, names
from maps.layout import finish_map
from maps.style import band_label, class_colour, class_mark, class_name, esc, pct, rate_band, text
from maps.svg import class_profile

__all__ = ["reach_map", "reach_band"]


def _fails(meets) -> bool:
    return not pd.isna(meets) and not bool(meets)


def reach_band(summary: dict):
    """The band of a reach: judged by the engine on its own target class (``target_class_met``,
    :func:`envq.targets.target_class_met`: every section evaluated meets it); short by the
    share of sections that do not; none without data."""
    return rate_band(summary["target_compliance_share"], 100.0, summary["target_class_met"])


def _summary(report) -> str:
    """The panel's summary line (always visible, the bar a phone shows): name, share, verdict."""
    s = report.summary()
    zh, en = band_label(reach_band(s))
    return (f'{esc(report.reach.name)} <span class="envq-summary-note">Ⅰ~Ⅲ类 {pct(s["i_iii_share"])} · '
            f'{esc(zh)} {esc(en)}</span>')


def _panel(report) -> str:
    r = report.reach
    s = report.summary()
    band = reach_band(s)
    zh, en = band_label(band)
    secs = report.sections
    profile = class_profile(list(secs["section"]), list(secs["class"]), target_class=r.target_class, width=420)
    failing = secs[secs["meets_target"].fillna(True).eq(False)]
    fail_html = "".join(f'<li>{int(o)}. {esc(n)}: {esc(class_name(c))}，{text(items)}</li>'
                        for o, n, c, items in zip(failing["order"], failing["section"], failing["class"],
                                                  failing["limiting_items"]))
    if fail_html:
        fail_html = f'<ul class="envq-reach-failing" style="margin:2px 0 4px 18px;padding:0">{fail_html}</ul>'
    elif s["sections_evaluated"]:
        fail_html = '<div class="envq-reach-failing">无 none: 全部断面达到目标 every section with data meets the target</div>'
    else:
        fail_html = '<div class="envq-reach-failing">本时段无数据 no data for the period</div>'

    rows = "".join(
        f'<tr class="envq-reach-row"><td>{int(o)}</td><td>{esc(n)}</td>'
        f'<td style="background:{class_colour(c)}">{esc(class_name(c))}</td>'
        f'<td>{esc(class_name(pc))}</td><td>{text(t)}</td></tr>'
        for o, n, c, pc, t in zip(secs["order"], secs["section"], secs["class"], secs["previous_class"], secs["trend"]))
    example = ('<div style="color:#B35806">示例河段（非正式河长名录）example reach, not an official list</div>'
               if r.example else "")
    change = f'；较{esc(s["previous_period"])} vs previous: {esc(s["change"])}' if s.get("change") else ""
    return (
        f'<h2 style="margin:0 0 2px;font-size:17px">{esc(r.name)}</h2>{example}'
        f'<div>{esc(r.river)}：{esc(r.from_)} → {esc(r.to)}</div>'
        f'<div>{esc(r.level)}级 · {esc(r.chief_title)} · {esc(s["period"])}</div>'
        f'<div style="font-size:15px;margin-top:4px">Ⅰ~Ⅲ类断面比例 Class I–III share: '
        f'<b class="envq-reach-rate">{pct(s["i_iii_share"])}</b> ({s["sections_i_iii"]}/{s["sections_evaluated"]})</div>'
        f'<div>达到河段目标{esc(class_name(r.target_class))}的断面 sections meeting the reach target '
        f'{esc(class_name(r.target_class))}: <b>{s["sections_meeting_target"]}/{s["sections_evaluated"]}</b> '
        f'({pct(s["target_compliance_share"])}) <span class="envq-swatch" style="background:{band.colour}">'
        f'</span> {esc(zh)} {esc(en)}</div>'
        f'<div>水质状况 status: {text(s["status"])}{change}</div>'
        f'<div style="margin-top:6px"><b>沿程水质类别 class along the river</b>（上游→下游 upstream → downstream）</div>'
        f'{profile}'
        f'<div><b>不达标项目 items failing the target</b></div>{fail_html}'
        f'<table style="font-size:12px"><tr><th>#</th><th>断面 section</th><th>{esc(s["period"])}</th>'
        f'<th>{esc(s["previous_period"]) or "上期"}</th><th>变化 trend</th></tr>{rows}</table>')


def reach_map(report, locations: pd.DataFrame, *, tiles: base.Tiles | None = None, home: str | None = None):
    """The page of one reach (an :class:`envq.water.reaches.ReachReport`).

    *locations*: section, lon, lat (WGS-84), location_confidence; sections without one are in the
    panel's table and profile but not on the map.
    """
    import folium

    secs = report.sections.merge(locations[["section", "lon", "lat"]].drop_duplicates("section"),
                                 on="section", how="left")
    placed = secs[secs["lon"].notna() & secs["lat"].notna()]
    canvas = base.Canvas((tiles or base.Tiles()).crs)
    pts = [canvas.lonlat(float(x), float(y)) for x, y in zip(placed["lon"], placed["lat"])]
    if pts:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        pad = 0.15
        bounds = [[min(ys) - pad, min(xs) - pad], [max(ys) + pad, max(xs) + pad]]
    else:
        bounds = None
    r = report.reach
    m, canvas = base.base_map(f"河长制 {r.name}", tiles=tiles, bounds=bounds,
                              subtitle=f"{r.river} · {report.period.label}", home=home,
                              search_hint="本河段、断面、城市、区县")
    (s0, w0), (n0, e0) = m.envq_bounds
    margin = max(1.0, n0 - s0, e0 - w0)  # room to pan around the reach
    clip = [[s0 - margin, w0 - margin], [n0 + margin, e0 + margin]]
    base.add_context(m, canvas, cities=True, clip=clip)
    places = [names.Place(str(r.name), "河段 reach", action="panel", bounds=m.envq_bounds, extra=str(r.river))]
    label_rows = []
    if len(pts) > 1:
        folium.PolyLine([[y, x] for x, y in pts], color="#1F4E79", weight=2, dash_array="6 6", opacity=0.8,
                        tooltip="断面顺序（上游→下游） section order, upstream → downstream",
                        className="envq-reach-order").add_to(m)
    for (x, y), (_, s) in zip(pts, placed.iterrows()):
        icon = folium.DivIcon(
            html=(f'<div class="envq-reach-section" style="width:22px;height:22px;border-radius:11px;border:1px solid #000;'
                  f'background:{class_colour(s["class"])};text-align:center;font:bold 12px/22px sans-serif">'
                  f'{int(s["order"])}</div>'),
            icon_size=(22, 22), icon_anchor=(11, 11), class_name="envq-reach-icon")
        popup = (f'<div class="envq-popup"><b>{int(s["order"])}. {esc(s["section"])}</b> ({esc(s["river"])})<br>'
                 f'{esc(class_name(s["class"]))} {esc(s["status"])}；河段目标 reach target {esc(class_name(s["target_class"]))}'
                 f'<br>不达标项目 failing items: {text(s["limiting_items"]) if _fails(s["meets_target"]) else "—"}'
                 f'<br>上期 previous: {esc(class_name(s["previous_class"]))} {esc(s["trend"])}</div>')
        mk = folium.Marker([y, x], icon=icon, popup=base.popup(popup, max_width=360),
                           tooltip=folium.Tooltip(f'{int(s["order"])}. {esc(s["section"])}: '
                                                  f'{esc(class_name(s["class"]))}'))
        mk.add_to(m)
        places.append(names.Place(str(s["section"]), "断面 section", layer=mk, point=[y, x], zoom=11))
        mark = class_mark(s["class"])
        label_rows.append((f'{s["section"]}' + (f' {mark}类' if mark else " 无数据"), (x, y)))
    base.add_box(m, _panel(report), css_class="envq-reach-panel", summary=_summary(report),
                 label=f"河段 reach: {esc(r.name)}")
    missing = secs[secs["lon"].isna() | secs["lat"].isna()]
    if len(missing):
        base.add_box(m, "无坐标 no coordinate: " + "、".join(
            f'{int(o)}. {esc(n)}' for o, n in zip(missing["order"], missing["section"])),
            css_class="envq-unplaced", summary=f"未上图断面 {len(missing)} not on the map")
    labels = names.point_labels([t for t, _ in label_rows], [p for _, p in label_rows], "section", min_zoom=0, offset=15)
    water = [lb for lb in names.water_labels(canvas)
             if clip[0][0] <= lb["p"][0] <= clip[1][0] and clip[0][1] <= lb["p"][1] <= clip[1][1]]
    finish_map(m, labels=labels + water,
               search=places + names.context_places(canvas) + names.county_places(canvas),
               points=".envq-reach-section")
    return m
