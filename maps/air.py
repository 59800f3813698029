"""The air map: cities by good-air-day ratio for a period, stations by the AQI category of a day.

- Cities (polygons) are coloured by their 优良天数比例 for the period against their target
  (:func:`maps.style.rate_band`); the popup gives the ratio, valid and good days, days per
  category, primary-pollutant days and the daily-AQI chart of the city (HJ 663 city days).
- Stations (circles) are coloured by the AQI category of the chosen day (HJ 633 colours and
  Chinese names); the popup gives the station's own figures over the period (for information:
  the assessed figure is the city's) and its daily-AQI chart.
- A day control (◀ ▶, a slider and play) steps through the days of the period, recolouring the
  stations and updating their tooltips and the day's count per category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maps import base
from maps import names
from maps.layout import finish_map
from maps.style import (RATE_BANDS, aqi_categories, aqi_colours, band_fill, band_label, count, esc, flag, ink, missing,
                        pct, rate_band)
from maps.svg import aqi_chart

__all__ = ["air_map", "DayControl"]


def _days(start: str, through: str) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, through, freq="D")]


def _series(days_table: pd.DataFrame, key: str, keys: list[str], days: list[str], level_of) -> tuple[np.ndarray, np.ndarray]:
    """(aqi, level) arrays of shape (len(keys), len(days)) from a long day table."""
    aqi = np.full((len(keys), len(days)), np.nan)
    lev = np.zeros((len(keys), len(days)), dtype=np.int64)
    if not len(days_table):
        return aqi, lev
    k = pd.Index(keys).get_indexer(days_table[key].astype(str))
    d = pd.Index(days).get_indexer(days_table["date"].astype(str))
    ok = (k >= 0) & (d >= 0)
    vals = pd.to_numeric(days_table["aqi"], errors="coerce").to_numpy(float)
    valid = days_table["valid"].to_numpy(bool) if "valid" in days_table else np.isfinite(vals)
    vals = np.where(valid, vals, np.nan)
    aqi[k[ok], d[ok]] = vals[ok]
    lev[k[ok], d[ok]] = np.where(np.isfinite(vals[ok]), level_of(days_table[ok]), 0)
    return aqi, lev


def _level_from_category(edition: str):
    names = {c["category_zh"]: c["level"] for c in aqi_categories(edition)}

    def level_of(df):
        if "level" in df:
            return pd.to_numeric(df["level"], errors="coerce").fillna(0).astype(int).to_numpy()
        return df["category"].map(names).fillna(0).astype(int).to_numpy()

    return level_of


def _rate_table(r: pd.Series, edition: str) -> str:
    """Days per category and primary pollutants of a rates row (HTML)."""
    cats = aqi_categories(edition)
    rows = "".join(
        f'<tr><td><span class="envq-swatch" style="background:{c["hex"]}"></span> {esc(c["category_zh"])}'
        f' <span style="color:#777">{esc(c["category_en"])}</span></td><td>{count(r.get("days_" + c["category_zh"]))}</td></tr>'
        for c in cats)
    prim = [(k[len("primary_"):], count(v)) for k, v in r.items() if str(k).startswith("primary_") and count(v) > 0]
    prim.sort(key=lambda kv: -kv[1])
    ptxt = "，".join(f"{esc(k)} {v}天" for k, v in prim) or "—"
    return (f'<table>{rows}</table><div>首要污染物 primary pollutant (days): {ptxt}</div>')


def _band(r) -> object:
    """The band of a rates row, from the engine's verdict (``target_met``)."""
    return rate_band(r.get("good_day_ratio"), r.get("target"), r.get("target_met"))


def _target_text(r) -> str:
    t = r.get("target")
    return "—" if missing(t) else f"{float(t):g}%"


def _ratio_line(r: pd.Series) -> str:
    band = _band(r)
    zh, en = band_label(band)
    ratio_txt = pct(r.get("good_day_ratio"))
    return (f'<div style="font-size:14px">优良天数比例 good-air-day ratio: <b>{ratio_txt}</b> '
            f'<span class="envq-swatch" style="background:{band.colour}"></span> {esc(zh)} {esc(en)} '
            f'(目标 target {_target_text(r)})</div>'
            f'<div>有效天数 valid days {count(r.get("valid_days"))}/{count(r.get("calendar_days"))}，'
            f'优良天数 good days {count(r.get("good_days"))}'
            f'（截至 through {esc(r.get("through", ""))}）</div>')


def _city_popup(r: pd.Series, chart: str, edition: str) -> str:
    return (f'<div class="envq-popup envq-city-popup"><h4 style="margin:0 0 4px">{esc(r["name"])} '
            f'<small>{esc(r["period"])}</small></h4>{_ratio_line(r)}{_rate_table(r, edition)}{chart}</div>')


def _station_popup(st: pd.Series, r: pd.Series | None, chart: str, edition: str) -> str:
    head = (f'<h4 style="margin:0 0 4px">{esc(st["name"])} <small>{esc(st["code"])}</small></h4>'
            f'<div>{esc(st["city"])}{" · 清洁对照点 background station (not in the city mean)" if flag(st.get("is_background")) else ""}</div>')
    if r is None:
        return f'<div class="envq-popup envq-station-popup">{head}<div>本时段无数据 no data for the period</div>{chart}</div>'
    return (f'<div class="envq-popup envq-station-popup">{head}{_ratio_line(r)}'
            f'<div style="color:#777">站点数值仅供参考，考核以城市为单位 station figures are for information; '
            f'the assessed figure is the city\'s</div>{_rate_table(r, edition)}{chart}</div>')


class DayControl:
    """Factory of the folium element stepping the station colours through the days."""

    def __new__(cls, *, days, levels, aqi, names, markers, start, colours, categories):
        from branca.element import MacroElement
        from jinja2 import Template

        class _DayControl(MacroElement):
            _template = Template(_DAY_JS)

            def __init__(self):
                super().__init__()
                self._name = "EnvqDayControl"
                self.data = {
                    "days": list(days), "start": int(start), "colours": list(colours),
                    "cats": list(categories),
                    "levels": ["".join(str(int(v)) for v in row) for row in levels],
                    "aqi": [[None if not np.isfinite(v) else int(v) for v in row] for row in aqi],
                    "names": list(names),
                    "marks": [str(lv) if lv else "–" for lv in range(7)],
                    "inks": [ink(c) for c in colours],
                }
                self.markers = list(markers)  # their names are read when the page is rendered

        return _DayControl()


_DAY_JS = """
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var d = {{ this.data|tojson }};
  var markers = [{% for mk in this.markers %}{{ mk.get_name() }}{% if not loop.last %},{% endif %}{% endfor %}];
  var i = d.start, timer = null, div = null;
  function show(k) {
    i = Math.max(0, Math.min(d.days.length - 1, k));
    var counts = [0, 0, 0, 0, 0, 0, 0];
    div.querySelector('.envq-day-range').setAttribute('aria-valuetext', d.days[i]);
    for (var j = 0; j < markers.length; j++) {
      var lv = +d.levels[j].charAt(i), a = d.aqi[j][i];
      counts[lv] += 1;
      markers[j].setStyle({fillColor: d.colours[lv], fillOpacity: lv ? 0.9 : 0.35});
      if (markers[j].envqMark) markers[j].envqMark(d.marks[lv], d.inks[lv]);
      markers[j].setTooltipContent(d.names[j] + '<br>' + d.days[i] + ' AQI ' +
        (a === null ? '— 无有效数据 no valid data' : a + ' ' + d.cats[lv]));
    }
    div.dataset.day = d.days[i];
    div.querySelector('.envq-day-label').textContent = d.days[i];
    div.querySelector('.envq-day-range').value = i;
    var parts = [];
    for (var lv2 = 1; lv2 <= 6; lv2++) {
      if (counts[lv2]) parts.push('<span class="envq-swatch" style="background-color:' + d.colours[lv2] +
                                  ';color:' + d.inks[lv2] + '">' + lv2 + '</span> ' + d.cats[lv2] + ' ' + counts[lv2]);
    }
    if (counts[0]) parts.push('无数据 no data ' + counts[0]);
    div.querySelector('.envq-day-counts').innerHTML = parts.join(' ');
  }
  var ctl = L.control({position: 'topright'});
  ctl.onAdd = function () {
    div = L.DomUtil.create('div', 'envq-box envq-day-control');
    div.setAttribute('role', 'group');
    div.setAttribute('aria-label', '站点日AQI station daily AQI');
    div.innerHTML = '<div class="envq-day-head"><b>站点日AQI station daily AQI</b></div>' +
      '<div class="envq-day-row">' +
      '<button type="button" class="envq-day-prev" title="前一天 previous day" aria-label="前一天 previous day">&#9664;</button>' +
      '<span class="envq-day-label" aria-live="polite"></span>' +
      '<button type="button" class="envq-day-next" title="后一天 next day" aria-label="后一天 next day">&#9654;</button>' +
      '<button type="button" class="envq-day-play" title="播放/暂停 play/pause" aria-pressed="false">播放 play</button></div>' +
      '<input type="range" class="envq-day-range" min="0" max="' + (d.days.length - 1) + '" step="1" ' +
      'aria-label="日期 day">' +
      '<div class="envq-day-counts"></div>';
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.querySelector('.envq-day-prev').onclick = function () { show(i - 1); };
    div.querySelector('.envq-day-next').onclick = function () { show(i + 1); };
    div.querySelector('.envq-day-range').oninput = function (e) { show(+e.target.value); };
    var play = div.querySelector('.envq-day-play');
    function stop() { clearInterval(timer); timer = null; play.setAttribute('aria-pressed', 'false'); }
    play.onclick = function () {
      if (timer) { stop(); return; }
      if (i >= d.days.length - 1) show(0);
      play.setAttribute('aria-pressed', 'true');
      timer = setInterval(function () {
        if (i >= d.days.length - 1) { stop(); return; }
        show(i + 1);
      }, 400);
    };
    return div;
  };
  ctl.addTo(map);
  show(i);
})();
{% endmacro %}
"""


def air_map(*, rates: pd.DataFrame, city_days: pd.DataFrame, station_rates: pd.DataFrame | None,
            station_days: pd.DataFrame | None, stations, period: str, day: str | None = None,
            tiles: base.Tiles | None = None, edition: str = "hj633_2012", title_note: str = "",
            home: str | None = None, notes: list[str] | None = None):
    """The air map of *period* with the stations of *day* (default: the last day with data).

    Parameters
    ----------
    rates : DataFrame
        ``air_rates`` rows of the period (city rows and the province row; ``good_day_ratio`` [%]).
    city_days, station_days : DataFrame
        ``air_city_days`` / ``air_station_days`` rows (date, aqi, category or level, valid).
    station_rates : DataFrame
        ``air_station_rates`` rows of the period.
    stations : GeoDataFrame
        The pack's stations (code, name, city, is_background, lon, lat): every one is drawn, grey
        on days without a valid AQI.
    notes : list, optional
        Receives what the reader should know (station codes in the results without a location).
    """
    import folium

    from maps.base import context_layers

    rates = rates[rates["period"].astype(str) == str(period)]
    if not len(rates):
        raise ValueError(f"air map: no good-air-day rates for period {period!r}")
    prov = rates[rates["scope"] == "province"]
    prov = prov.iloc[0] if len(prov) else None
    first = rates.iloc[0]
    days = _days(str(first["start"]), str(first["through"]))
    day = day or days[-1]
    if day not in days:
        from envq.errors import UsageError

        raise UsageError(f"air map: day {day} is outside period {period} ({days[0]}..{days[-1]} with data)")
    colours = aqi_colours(edition)
    cats = ["无数据"] + [c["category_zh"] for c in aqi_categories(edition)]
    level_of = _level_from_category(edition)

    subtitle = f"优良天数比例 good-air-day ratio {period}（截至 through {first['through']}）"
    if prov is not None:
        zh, _ = band_label(_band(prov))
        subtitle = f"湖南省 {pct(prov['good_day_ratio'])}（目标 target {_target_text(prov)}，{zh}）· " + subtitle
    m, canvas = base.base_map("湖南省环境空气质量 Air quality, Hunan", tiles=tiles, subtitle=subtitle + title_note,
                                home=home)
    base.add_context(m, canvas, cities=False)

    # cities by their ratio for the period
    cities = canvas.frame(context_layers()[1])
    crates = rates[rates["scope"] == "city"].set_index("name")
    ckeys = list(cities["name"].astype(str))
    caqi, clev = _series(city_days, "city", ckeys, days, level_of)
    group = folium.FeatureGroup(name="城市优良天数比例 cities: good-air-day ratio")
    places: list[names.Place] = []
    st_xy = np.array([canvas.lonlat(float(x), float(y)) for x, y in zip(stations["lon"], stations["lat"])])
    city_labels = names.area_labels(cities, "city", avoid=st_xy, subs={
        n: pct(crates.loc[n, "good_day_ratio"]) for n in crates.index if n in set(ckeys)})
    for i, c in cities.reset_index(drop=True).iterrows():
        r = crates.loc[c["name"]] if c["name"] in crates.index else None
        band = rate_band(None, None, None) if r is None else _band(r)
        style = {"color": "#555555", "weight": 1, "fillColor": band_fill(band), "fillOpacity": 0.45,
                 "className": "envq-city"}
        chart = aqi_chart(days, caqi[i], clev[i], edition=edition)
        if r is None:
            popup = f'<div class="envq-popup envq-city-popup"><h4>{esc(c["name"])}</h4>本时段无数据 no data{chart}</div>'
            tip = f'{esc(c["name"])}: 无数据 no data'
        else:
            popup = _city_popup(pd.concat([pd.Series({"name": c["name"]}), r]), chart, edition)
            tip = f'{esc(c["name"])}: {pct(r["good_day_ratio"])}'
        layer = base.polygon(group, c.geometry, style=style, popup_html=popup, tooltip_html=tip)
        places.append(names.Place(str(c["name"]), "城市 city", layer=layer, point=city_labels[i]["p"],
                                  bounds=names.bounds_of(c.geometry)))
    group.add_to(m)

    # stations by the AQI of the day, stepping through the period
    sdays = station_days if station_days is not None else pd.DataFrame(columns=["station", "date", "aqi", "valid"])
    st = stations.copy()
    st["code"] = st["code"].astype(str)
    st = st.sort_values("code").reset_index(drop=True)
    unplaced = sorted(set(sdays["station"].astype(str)) - set(st["code"])) if len(sdays) else []
    if unplaced and notes is not None:
        notes.append(f"空气：{len(unplaced)} 个站点无坐标，未上图 air: {len(unplaced)} station(s) in the results "
                     f"have no location in the geometry pack, not drawn: {', '.join(unplaced[:20])}")
    skeys = list(st["code"])
    saqi, slev = _series(sdays, "station", skeys, days, level_of)
    srates = station_rates[station_rates["period"].astype(str) == str(period)].set_index("name") \
        if station_rates is not None and len(station_rates) else pd.DataFrame()
    k = days.index(day)
    sgroup = folium.FeatureGroup(name="站点日AQI stations: daily AQI")
    markers, labels, marks = [], [], []
    for i, s in st.iterrows():
        lon, lat = canvas.lonlat(float(s["lon"]), float(s["lat"]))
        lv = int(slev[i, k])
        a = saqi[i, k]
        r = srates.loc[s["code"]] if s["code"] in srates.index else None
        chart = aqi_chart(days, saqi[i], slev[i], edition=edition)
        label = f'{esc(s["name"])} ({esc(s["code"])}, {esc(s["city"])})'
        tip = f'{label}<br>{day} AQI ' + ("— 无有效数据 no valid data" if not np.isfinite(a) else f"{int(a)} {cats[lv]}")
        mk = folium.CircleMarker(
            location=[lat, lon], radius=6, color="#333333", weight=1, fill=True, fill_color=colours[lv],
            fill_opacity=0.9 if lv else 0.35, className="envq-station",
            popup=base.popup(_station_popup(s, r, chart, edition), max_width=460),
            tooltip=folium.Tooltip(tip))
        mk.add_to(sgroup)
        markers.append(mk)
        labels.append(label)
        marks.append(names.Mark(mk, str(lv) if lv else "–", ink(colours[lv])))
        places.append(names.Place(str(s["name"]), "站点 station", layer=mk, point=[lat, lon], zoom=11,
                                  extra=f'{s["code"]} {s["city"]}'))
    sgroup.add_to(m)
    if markers:
        DayControl(days=days, levels=slev, aqi=saqi, names=labels, markers=markers, start=k, colours=colours,
                   categories=cats).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)

    legend = ("<b>AQI类别 AQI category (HJ 633)</b>" + base.legend_rows(
        [(c["hex"], f'{c["category_zh"]} {c["aqi_min"]}–{c["aqi_max"]}', c["category_en"], str(c["level"]))
         for c in aqi_categories(edition)]
        + [(colours[0], "无有效数据", "no valid data", "–")])
        + '<div class="en">站点上的数字为AQI级别 the number on a station is its AQI level</div>'
        + "<b>城市优良天数比例 city good-air-day ratio</b>"
        + base.legend_rows([(b.colour, *band_label(b), "", b.hatch) for b in RATE_BANDS]))
    base.add_box(m, legend, css_class="envq-legend", summary="图例 legend",
                 label="图例 legend")
    taken = np.array([[lb["p"][1], lb["p"][0]] for lb in city_labels] + st_xy.tolist())
    finish_map(m, labels=city_labels + names.water_labels(canvas, avoid=taken), marks=marks,
               search=places + names.county_places(canvas) + names.context_places(canvas, cities=False))
    return m
