"""What every envq map shares: the base map, tiles, the geography layers, title and legend boxes.

Base tiles (:class:`Tiles`, :func:`tiles_setting`) are off by default: the maps open on an
intranet without internet, and the province, cities, rivers and lakes are drawn from the geometry
pack. Presets, each an external fetch the offline check must be told to allow:

``osm``        OpenStreetMap standard tiles (WGS-84 / Web Mercator).
``tianditu``   天地图 vector tiles and their Chinese labels (CGCS2000, within centimetres of WGS-84);
               needs a key (``tianditu_key``, from the 天地图 developer console).
``amap``       高德 AMap tiles, drawn in GCJ-02: every overlay coordinate is shifted WGS-84 ->
               GCJ-02 with :func:`geo.gcj02.wgs84_to_gcj02` so the points sit on AMap's streets
               (0.45–0.75 km in Hunan; without the shift they would sit beside them).
a URL          any ``{z}/{x}/{y}`` template (an intranet tile server), WGS-84 unless ``crs = "gcj02"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

from maps.style import esc

__all__ = ["Tiles", "TILE_PRESETS", "tiles_setting", "Canvas", "base_map", "add_context", "add_box",
           "legend_rows", "GEO_STYLE", "polygon", "popup", "context_layers", "stable_ids"]


@dataclass(frozen=True)
class Tiles:
    """A base tile layer: ``url`` None = no tiles; ``crs`` of the tiles ("wgs84" or "gcj02")."""

    name: str = "none"
    url: str | None = None
    attribution: str = ""
    crs: str = "wgs84"
    subdomains: str = "abc"
    labels_url: str | None = None  # a second, transparent layer of names (天地图 注记)
    allow: tuple[str, ...] = field(default=())  # URL prefixes the offline check accepts (as in the page)


TILE_PRESETS = ("none", "osm", "tianditu", "amap")


def tiles_setting(spec=None, *, tianditu_key: str | None = None, crs: str = "wgs84") -> Tiles:
    """The :class:`Tiles` of a preset name, a URL template or ``None`` / "none" (no tiles)."""
    if spec is None or spec == "" or spec == "none":
        return Tiles()
    if isinstance(spec, Tiles):
        return spec
    spec = str(spec)
    if spec == "osm":
        return Tiles("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                     '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                     allow=("https://tile.openstreetmap.org/", "https://www.openstreetmap.org/copyright"))
    if spec == "tianditu":
        if not tianditu_key:
            raise ValueError("tiles 'tianditu' needs a key: set [maps] tianditu_key in envq.toml "
                             "(or $ENVQ_TIANDITU_KEY)")
        base = "https://t{s}.tianditu.gov.cn/"
        q = ("/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w"
             "&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + tianditu_key)
        return Tiles("tianditu", base + "vec_w" + q.replace("{layer}", "vec"), "&copy; 天地图 Tianditu",
                     subdomains="01234567", labels_url=base + "cva_w" + q.replace("{layer}", "cva"),
                     allow=(base,))
    if spec == "amap":
        return Tiles("amap", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                     "&x={x}&y={y}&z={z}", "&copy; 高德地图 AMap", crs="gcj02", subdomains="1234",
                     allow=("https://webrd0{s}.is.autonavi.com/",))
    if spec.startswith(("http://", "https://")) and "{z}" in spec:
        if crs not in ("wgs84", "gcj02"):
            raise ValueError(f"tiles crs must be 'wgs84' or 'gcj02', not {crs!r}")
        return Tiles("custom", spec, "", crs=crs, allow=(_server_prefix(spec),))
    raise ValueError(f"tiles must be one of {', '.join(TILE_PRESETS)} or a URL template with {{z}}/{{x}}/{{y}}, "
                     f"not {spec!r}")


def _server_prefix(template: str) -> str:
    """``scheme://host/`` of a tile URL template, the whole host (``{s}`` included, as the page
    writes it): the only thing the offline check lets through, never a shorter prefix."""
    from urllib.parse import urlsplit

    parts = urlsplit(template)
    host = parts.netloc
    if not host or any(k in host for k in ("{z}", "{x}", "{y}")) or not parts.path.startswith("/"):
        raise ValueError(f"tiles: {template!r} has no complete server name before its path")
    return f"{parts.scheme}://{host}/"


@dataclass(frozen=True)
class Canvas:
    """Coordinates as the tiles draw them: WGS-84 as stored, or shifted to GCJ-02 for AMap."""

    crs: str = "wgs84"

    def lonlat(self, lon, lat):
        if self.crs != "gcj02":
            return lon, lat
        from geo.gcj02 import wgs84_to_gcj02

        x, y = wgs84_to_gcj02(lon, lat)
        return float(x), float(y)

    def frame(self, gdf):
        """A GeoDataFrame in the tiles' coordinates."""
        if self.crs != "gcj02":
            return gdf
        from geo.gcj02 import transform_geometry, wgs84_to_gcj02

        out = gdf.copy()
        out["geometry"] = transform_geometry(gdf.geometry.values, wgs84_to_gcj02)
        return out


GEO_STYLE = {
    "province": {"color": "#444444", "weight": 2.5, "fill": False, "className": "envq-province", "interactive": False},
    "city_outline": {"color": "#888888", "weight": 1, "fill": False, "dashArray": "3 3",
                     "className": "envq-city-outline", "interactive": False},
    "river": {"color": "#2B7BB9", "weight": 2, "className": "envq-river"},
    "lake": {"color": "#2B7BB9", "weight": 1, "fillColor": "#9CC9EE", "fillOpacity": 0.7, "className": "envq-lake"},
}


_PAGE_JS = ("leaflet", "jquery")
_PAGE_CSS = ("leaflet_css",)


@cache
def _context_layers():
    """Province, cities, rivers and lakes of the pack (display variant), rivers and lakes merged by
    name (one line or polygon per named river or lake; unnamed double-line river stretches as one)."""
    from geo import pack

    rivers = pack.layer("rivers", "display")[["name", "geometry"]].dissolve(by="name", as_index=False)
    lakes = pack.layer("lakes", "display")[["name", "kind", "geometry"]].copy()
    lakes["name"] = lakes["name"].where(lakes["name"] != "", lakes["kind"])
    lakes = lakes[["name", "geometry"]].dissolve(by="name", as_index=False)
    return (pack.layer("province", "display"), pack.layer("cities", "display"), rivers, lakes)


def context_layers():
    """(province, cities, rivers, lakes) GeoDataFrames in WGS-84, cached."""
    return _context_layers()


def base_map(title: str, *, tiles: Tiles | None = None, bounds=None, subtitle: str = "", home: str | None = None,
             search_hint: str = "城市、站点、断面、区县"):
    """A folium map of Hunan (or *bounds*, ``[[south, west], [north, east]]``) with a title box and
    a search box.

    *home*: relative link to the index page, shown in the title box; *search_hint*: what the
    search finds (its placeholder). The page is finished by :func:`maps.layout.finish_map`, which
    lays the controls out and fits *bounds* into the part of the map they leave free.
    Returns ``(map, canvas)``; draw every overlay through *canvas* so it matches the tiles.
    """
    import folium

    from maps.assets import offline_map

    tiles = tiles or Tiles()
    canvas = Canvas(tiles.crs)
    if bounds is None:
        province = canvas.frame(context_layers()[0])
        x0, y0, x1, y1 = province.total_bounds
        bounds = [[y0, x0], [y1, x1]]
    center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    # zoomSnap 0.25: the map fills the space the controls leave (a phone's is narrow), not the
    # nearest whole zoom level below it
    m = offline_map(location=center, zoom_start=7, control_scale=True, zoom_control=True, zoom_snap=0.25)
    m.envq_bounds = [[float(v) for v in corner] for corner in bounds]
    # Only Leaflet (and jQuery, which folium's popups use) are needed: no Bootstrap, Font Awesome or
    # awesome-markers element is drawn, and leaving them out saves 0.66 MB on every page.
    m.default_js = [(k, u) for k, u in m.default_js if k in _PAGE_JS]
    m.default_css = [(k, u) for k, u in m.default_css if k in _PAGE_CSS]
    if tiles.url:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution, name=f"底图 base map ({tiles.name})",
                         subdomains=tiles.subdomains, overlay=False, control=True).add_to(m)
        if tiles.labels_url:
            folium.TileLayer(tiles=tiles.labels_url, attr=tiles.attribution, name="注记 labels",
                             subdomains=tiles.subdomains, overlay=True, control=True).add_to(m)
    # The map opens on *bounds* without an animated zoom (finish_map: fitBounds, animate false): in
    # software rendering (no GPU, as on many office PCs and in headless Chromium) an animated first
    # zoom held the next frames for 3-4 s in about one opening in three (bench/maps_open.py).
    m.envq_title = title
    head = (f'<a class="envq-home" href="{esc(home)}">首页 index</a> · ' if home else "") + \
        f'<h1 class="envq-h1">{esc(title)}</h1>' + \
        (f'<div class="envq-subtitle">{esc(subtitle)}</div>' if subtitle else "")
    m.get_root().html.add_child(folium.Element(f'<div class="envq-box envq-title">{head}</div>'))
    m.get_root().html.add_child(folium.Element(
        '<div class="envq-box envq-search" id="envq-search" role="search">'
        '<form action="#" autocomplete="off"><label for="envq-q">搜索</label>'
        f'<input id="envq-q" type="search" placeholder="搜索{esc(search_hint)}或拼音首字母" '
        'role="combobox" aria-autocomplete="list" aria-expanded="false" aria-controls="envq-search-list" '
        'aria-label="搜索地图 search the map"></form>'
        '<ul id="envq-search-list" class="envq-search-results" role="listbox" aria-label="搜索结果 results" hidden></ul>'
        '<div class="envq-search-status" role="status" aria-live="polite"></div></div>'))
    return m, canvas


def add_box(m, inner_html: str, *, css_class: str, summary: str | None = None, label: str | None = None) -> None:
    """A box over the map (legend, panel, notes); *inner_html* and *summary* must already be escaped.

    With *summary*, a collapsible ``<details>`` box whose summary stays visible (open on desktops,
    closed on phones: :mod:`maps.layout`). *label*: its accessible name (default: the summary).
    Where it goes is :mod:`maps.layout`'s business (by *css_class*).
    """
    import folium

    if summary is None:
        box = f'<div class="envq-box {css_class}" tabindex="0">{inner_html}</div>'
    else:
        name = f' aria-label="{label}"' if label else ""
        box = (f'<details class="envq-box {css_class}"{name} open><summary>{summary}</summary>'
               f'<div class="envq-box-body">{inner_html}</div></details>')
    m.get_root().html.add_child(folium.Element(box))


def _geojson(gdf, props: list[str]) -> str:
    keep = gdf[props + ["geometry"]].copy()
    for p in props:  # text shown in tooltips is HTML: escaped here, once
        keep[p] = keep[p].map(esc)
    return keep.to_json(drop_id=True)


def add_context(m, canvas: Canvas, *, cities: bool = True, water: bool = True, group_name: str | None = None,
                clip=None):
    """Province outline, city outlines, rivers and lakes, as in the pack (tooltips: names).

    *clip* ``[[south, west], [north, east]]``: only what lies inside (a reach page: its
    surroundings, not the province; a phone on a slow link loads half the bytes). Outlines are then
    drawn as lines, so that the cut adds no edge.
    """
    import folium

    province, city_polys, rivers, lakes = (canvas.frame(g) for g in context_layers())
    if clip is not None:
        (y0, x0), (y1, x1) = clip

        def cut(gdf, outline=False):
            out = gdf.copy()
            geom = out.geometry.boundary if outline else out.geometry
            out["geometry"] = geom.clip_by_rect(x0, y0, x1, y1)
            return out[~out.geometry.is_empty]

        province, city_polys = cut(province, True), cut(city_polys, True)
        rivers, lakes = cut(rivers), cut(lakes)
    folium.GeoJson(_geojson(province, ["name"]), name="湖南省 province",
                   style_function=lambda f: GEO_STYLE["province"], control=False).add_to(m)
    if cities and len(city_polys):
        folium.GeoJson(_geojson(city_polys, ["name"]), name="市界 city borders",
                       style_function=lambda f: GEO_STYLE["city_outline"], control=False).add_to(m)
    if water:
        g = folium.FeatureGroup(name=group_name or "河流湖泊 rivers and lakes", show=True)
        if len(lakes):
            folium.GeoJson(_geojson(lakes, ["name"]), style_function=lambda f: GEO_STYLE["lake"],
                           tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(g)
        if len(rivers):
            folium.GeoJson(_geojson(rivers, ["name"]), style_function=lambda f: GEO_STYLE["river"],
                           tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(g)
        g.add_to(m)


def polygon(parent, geometry, *, style: dict, popup_html: str | None = None, tooltip_html: str | None = None,
            name: str | None = None):
    """One polygon feature as its own GeoJson layer (its own popup and tooltip; HTML pre-escaped)."""
    import folium
    from shapely.geometry import mapping

    data = json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(geometry)}, separators=(",", ":"))
    layer = folium.GeoJson(data, style_function=lambda f: style, highlight_function=lambda f: {"weight": 3},
                           name=name, control=False)
    if popup_html:
        popup(popup_html).add_to(layer)
    if tooltip_html:
        folium.Tooltip(tooltip_html, sticky=True).add_to(layer)
    layer.add_to(parent)
    return layer


def popup(html: str, max_width: int = 460):
    """A folium Popup of pre-escaped *html*. Leaflet's own auto-pan is off: the page script pans
    every popup clear of the controls as they are laid out (phone or desktop, :mod:`maps.layout`)."""
    import folium

    return folium.Popup(html, max_width=max_width, auto_pan=False)


def stable_ids(m):
    """Give every element of the page an id from a counter, in the order of the page (folium draws
    random ones), so that the same results render to the same bytes; returns *m*.

    Children are keyed by their name in their parent, and some templates write that key as a
    JavaScript variable (a popup's content): the keys that were the element's name are renamed
    too.
    """
    from collections import OrderedDict

    from branca.element import Element

    counter = iter(range(1 << 30))
    seen: set[int] = set()

    def walk(el):
        if id(el) in seen:
            return
        seen.add(id(el))
        kids = OrderedDict()
        for key, child in el._children.items():
            was = child.get_name()
            if id(child) not in seen:
                child._id = f"{next(counter):06x}"
            kids[child.get_name() if key == was else key] = child
            walk(child)
        el._children = kids
        for attr in ("header", "html", "script"):  # a Figure's parts, a Popup's content
            part = getattr(el, attr, None)
            if isinstance(part, Element):
                walk(part)

    root = m.get_root()
    root._id = f"{next(counter):06x}"
    walk(root)
    return m


def legend_rows(rows) -> str:
    """Legend lines: ``(colour, text_zh, text_en)`` or ``(colour, text_zh, text_en, mark, hatch)`` ->
    HTML table (texts escaped); *mark* is written in the swatch (a level, a class), *hatch* is a
    rate band's pattern (:func:`maps.style.swatch`)."""
    from maps.style import swatch

    out = []
    for row in rows:
        colour, zh, en = row[:3]
        mark = row[3] if len(row) > 3 else ""
        hatch = row[4] if len(row) > 4 else ""
        out.append(f'<tr><td>{swatch(colour, mark=mark, hatch=hatch)}</td><td>{esc(zh)}</td>'
                   f'<td class="en">{esc(en)}</td></tr>')
    return "<table>" + "".join(out) + "</table>"
