"""The water map: basins by Ⅰ~Ⅲ类 share, sections by class, with rivers and Dongting Lake.

- Basins (polygons of the pack) are coloured by their Ⅰ~Ⅲ类水质断面比例 for the period against
  the target (the stored ``i_iii_target`` and ``target_met``, :mod:`envq.targets`; bands of
  :func:`maps.style.rate_band`), with a popup of the class counts.
- Sections (circles) are coloured by their class for the period (GB 3838-2002, 环办〔2011〕22号
  single-factor evaluation; colours of ``gb3838_2002.yaml``). The popup gives the class and
  水质状况, the class history over the months in the store, the limiting items and their
  multiples over Class III, the target class and whether it is met, and how sure the location is.
- Sections without a coordinate are listed in a box: they count in the rates but cannot be placed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maps import base, names
from maps.layout import finish_map
from maps.style import (RATE_BANDS, band_fill, band_label, class_colour, class_mark, class_name, count, esc, flag,
                        missing, pct, rate_band, text, water_classes)
from maps.svg import class_history

__all__ = ["water_map", "LOCATION_CONFIDENCE"]

#: How a section's coordinate was obtained (registry ``location_confidence``).
LOCATION_CONFIDENCE = {
    "exact": ("精确", "exact coordinate"),
    "town": ("乡镇/地标", "town or landmark, approximate"),
    "county": ("县级", "county seat, approximate"),
    "unknown": ("无坐标", "no coordinate"),
}


def _items(codes) -> str:
    """Item codes (``do;tp``) as their GB 3838 Chinese names (:meth:`Gb3838.label`)."""
    from envq.water.classify import gb3838

    parts = [] if missing(codes) else [c for c in str(codes).replace(",", ";").split(";") if c]
    return "、".join(esc(gb3838().label(c)) for c in parts) or "—"


def _confidence(row) -> str:
    key = "unknown" if missing(row.get("location_confidence")) else str(row.get("location_confidence"))
    zh, en = LOCATION_CONFIDENCE.get(key, (key, key))
    note = row.get("coordinate_note")
    return f"{esc(zh)} {esc(en)}" + ("" if missing(note) else f"<br><span style='color:#777'>{esc(note)}</span>")


def _section_popup(r: pd.Series, history: str) -> str:
    cls = r.get("class")
    meets = r.get("meets_target")
    target = r.get("target_class")
    meets_txt = "—" if pd.isna(meets) else ("<b style='color:#1A9850'>达标 met</b>" if bool(meets) else "<b style='color:#D73027'>未达标 not met</b>")
    over_target = "" if missing(r.get("over_target")) else str(r.get("over_target"))
    lake = "湖库 lake" if flag(r.get("is_lake")) else "河流 river"
    place = "，".join(esc(x) for x in (r.get("city_name"), r.get("county_name")) if not missing(x) and x != "unknown")
    return (
        f'<div class="envq-popup envq-section-popup"><h4 style="margin:0 0 4px">{esc(r["section"])} '
        f'<small>{esc(r["period"])}</small></h4>'
        f'<div>{esc(r.get("river_name", ""))} · {esc(r.get("system_name", ""))} · {lake}'
        f'{" · " + place if place else ""}</div>'
        f'<div style="font-size:14px">水质类别 class: <span class="envq-swatch" style="background:{class_colour(cls)}">'
        f'</span> <b>{esc(class_name(cls))}</b> {esc(r.get("status", ""))}</div>'
        f'<table>'
        f'<tr><th>断面目标 section target</th><td>{esc(class_name(target))} {meets_txt}'
        f'{"（超标 over target: " + esc(over_target) + "）" if over_target else ""}</td></tr>'
        f'<tr><th>定类项目 limiting items</th><td>{_items(r.get("limiting_items"))}</td></tr>'
        f'<tr><th>超Ⅲ类项目（倍数） over Class III (multiple)</th><td>{text(r.get("over_iii"))}</td></tr>'
        f'<tr><th>监测 readings</th><td>{count(r.get("n_readings"))}（截至 through {esc(r.get("through", ""))}）</td></tr>'
        f'<tr><th>位置 location</th><td>{_confidence(r)}</td></tr>'
        f'</table><div>类别历史 class history:</div>{history}</div>')


def _band(r):
    """The band of a rates row, from the engine's verdict (``target_met``)."""
    return rate_band(None, None, None) if r is None else rate_band(r["i_iii_share"], r.get("i_iii_target"),
                                                                  r.get("target_met"))


def _target_text(r) -> str:
    t = None if r is None else r.get("i_iii_target")
    return "—" if missing(t) else f"{float(t):g}%"


def _basin_popup(name: str, r: pd.Series | None) -> str:
    if r is None:
        return (f'<div class="envq-popup envq-basin-popup"><h4 style="margin:0 0 4px">{esc(name)}</h4>'
                f'本时段无断面数据 no section with data in the period</div>')
    good = count(r.get("sections_i_iii"))
    band = _band(r)
    zh, en = band_label(band)
    counts = "".join(f'<td style="background:{class_colour(k)};text-align:center">{esc(class_name(k))}<br>'
                     f'{count(r.get(f"class_{k}"))}</td>' for k in range(1, 7))
    return (f'<div class="envq-popup envq-basin-popup"><h4 style="margin:0 0 4px">{esc(name)} '
            f'<small>{esc(r["period"])}</small></h4>'
            f'<div style="font-size:14px">Ⅰ~Ⅲ类断面比例 Class I–III share: <b>{pct(r["i_iii_share"])}</b> '
            f'({good}/{count(r["sections"])}) <span class="envq-swatch" style="background:{band.colour}"></span> '
            f'{esc(zh)} {esc(en)}（目标 target {_target_text(r)}）</div>'
            f'<table><tr>{counts}</tr></table>'
            f'<div>水质状况 status: {esc(r.get("status", ""))}；主要污染指标 main pollutants: '
            f'{text(r.get("main_pollutants"))}</div></div>')


def water_map(*, sections: pd.DataFrame, basin_rates: pd.DataFrame | None, province_rate: pd.Series | None,
              period: str, history: pd.DataFrame | None = None,
              tiles: base.Tiles | None = None, basins=None, home: str | None = None, reaches=None):
    """The water map of *period*.

    Parameters
    ----------
    sections : DataFrame
        ``water_sections`` rows of the period (class, status, limiting items, target, lon/lat, ...).
    basin_rates : DataFrame
        ``water_basin_rates`` rows of the period (``i_iii_share`` [%], class counts).
    province_rate : Series
        The province row of ``water_rates`` for the period.
    history : DataFrame
        ``water_sections`` rows of the months to show as class history (section, period, class).
    basins : GeoDataFrame
        Default: the pack's basins (``geo.pack.basins``).
    reaches : list of dict, optional
        River-chief reaches the search finds (``name``, ``href`` of their page, ``river``,
        ``sections``): the map fits their sections and a popup links their page.
    """
    import folium

    from geo import pack

    sections = sections[sections["period"].astype(str) == str(period)]
    subtitle = f"Ⅰ~Ⅲ类水质断面比例 Class I–III share, {period}"
    if province_rate is not None:
        good = count(province_rate.get("sections_i_iii"))
        zh, _ = band_label(_band(province_rate))
        subtitle = (f"湖南省 {pct(province_rate['i_iii_share'])} ({good}/{count(province_rate['sections'])}，"
                    f"目标 target {_target_text(province_rate)}，{zh}) · " + subtitle
                    + f"（截至 through {province_rate.get('through', '')}）")
    m, canvas = base.base_map("湖南省地表水水质 Surface water, Hunan", tiles=tiles, subtitle=subtitle, home=home,
                              search_hint="断面、流域、河段、城市、区县")
    places: list[names.Place] = []

    # basins by their share
    polys = canvas.frame(basins if basins is not None else pack.basins("display"))
    br = basin_rates[basin_rates["period"].astype(str) == str(period)].set_index("name") \
        if basin_rates is not None and len(basin_rates) else pd.DataFrame()
    group = folium.FeatureGroup(name="流域Ⅰ~Ⅲ类比例 basins: Class I–III share")
    for _, b in polys.iterrows():
        r = br.loc[b["name"]] if b["name"] in br.index else None
        band = _band(r)
        style = {"color": "#555555", "weight": 1.5, "fillColor": band_fill(band), "fillOpacity": 0.35,
                 "className": "envq-basin"}
        tip = f'{esc(b["name"])}: ' + ("无数据 no data" if r is None else pct(r["i_iii_share"]))
        layer = base.polygon(group, b.geometry, style=style, popup_html=_basin_popup(b["name"], r),
                             tooltip_html=tip)
        p = b.geometry.representative_point()
        places.append(names.Place(str(b["name"]), "流域 basin", layer=layer, point=[p.y, p.x],
                                  bounds=names.bounds_of(b.geometry)))
    group.add_to(m)
    base.add_context(m, canvas, cities=True)

    # sections by class
    hist = history if history is not None and len(history) else sections
    months = sorted(hist["period"].astype(str).unique())
    by_sec = {s: g.set_index("period")["class"] for s, g in hist.groupby("section")}
    placed = sections[sections["lon"].notna() & sections["lat"].notna()].sort_values("section")
    unplaced = sections[~sections.index.isin(placed.index)].sort_values("section")
    sgroup = folium.FeatureGroup(name="断面水质类别 sections: class")
    marks, where = [], {}
    for _, r in placed.iterrows():
        lon, lat = canvas.lonlat(float(r["lon"]), float(r["lat"]))
        h = by_sec.get(r["section"], pd.Series(dtype=object))
        strip = class_history(months, [h.get(p) for p in months])
        mk = folium.CircleMarker(
            location=[lat, lon], radius=8, color="#000000", weight=1, fill=True,
            fill_color=class_colour(r["class"]), fill_opacity=0.95, className="envq-section",
            popup=base.popup(_section_popup(r, strip), max_width=480),
            tooltip=folium.Tooltip(f'{esc(r["section"])} ({esc(r.get("river_name", ""))}): '
                                   f'{esc(class_name(r["class"]))}'))
        mk.add_to(sgroup)
        marks.append(names.Mark(mk, class_mark(r["class"]), "#000"))
        where[str(r["section"])] = (lon, lat)
        places.append(names.Place(str(r["section"]), "断面 section", layer=mk, point=[lat, lon], zoom=11,
                                  extra=" ".join(str(r.get(k, "") or "") for k in ("river_name", "city_name",
                                                                                   "county_name"))))
    sgroup.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)

    legend = ("<b>水质类别 water class (GB 3838-2002)</b>" + base.legend_rows(
        [(c["hex"], f'{c["name_zh"]} {c["status_zh"]}', f'{c["name_en"]}, {c["status_en"]}', class_mark(c["class"]))
         for c in water_classes()])
        + "<b>流域Ⅰ~Ⅲ类比例 basin Class I–III share</b>"
        + base.legend_rows([(b.colour, *band_label(b), "", b.hatch) for b in RATE_BANDS]))
    base.add_box(m, legend, css_class="envq-legend", summary="图例 legend", label="图例 legend")
    if len(unplaced):
        listed = "、".join(f'{esc(s)}（{esc(class_name(c))}）' for s, c in zip(unplaced["section"], unplaced["class"]))
        base.add_box(m, f'无坐标 no coordinate; 计入比例 counted in the rates:<div style="font-size:12px">{listed}</div>',
                     css_class="envq-unplaced", summary=f"未上图断面 {len(unplaced)} sections not on the map")
    for rch in reaches or []:
        pts = [where[s] for s in rch["sections"] if s in where]
        if not pts:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        bounds = [[min(ys) - 0.05, min(xs) - 0.05], [max(ys) + 0.05, max(xs) + 0.05]]
        places.append(names.Place(str(rch["name"]), "河段 reach", point=[sum(ys) / len(ys), sum(xs) / len(xs)],
                                  bounds=bounds, info=f'{rch.get("river", "")} · {len(rch["sections"])} 个断面 sections',
                                  link=rch.get("href"), extra=str(rch.get("river", ""))))
    section_labels = names.point_labels(list(where), list(where.values()), "section", min_zoom=9)
    avoid = np.array(list(where.values())) if where else None
    basin_labels = names.area_labels(polys, "basin", min_zoom=0, avoid=avoid, subs={
        n: pct(br.loc[n, "i_iii_share"]) for n in polys["name"] if n in br.index})
    taken = [[lb["p"][1], lb["p"][0]] for lb in basin_labels] + list(where.values())
    finish_map(m, labels=basin_labels + names.water_labels(canvas, avoid=np.array(taken)) + section_labels, marks=marks,
               search=places + names.context_places(canvas) + names.county_places(canvas),
               points="path.envq-section")
    return m
