"""Names on the map, the mark on each point, and the search index of a map page, all offline from
the geometry pack and the page's own data.

- :func:`area_labels`, :func:`water_labels`, :func:`point_labels`: labels (city, basin, river,
  lake, section names) placed in Python, drawn by ``envq-map.js``, which hides at each zoom the
  ones that would collide with a label of higher priority (earlier in the list) or that lie
  outside the view. A label of an area sits where it covers none of the given points (stations),
  well inside the area.
- :class:`Mark`: the AQI level (1..6, HJ 633 一级..六级) or the water class (Ⅰ..Ⅴ, 劣) written on
  a point, so that its colour is never the only carrier.
- :class:`Place`: one search entry: a Chinese name, its kind, its pinyin initials (every reading
  of a polyphone: 长 gives "cz"), what the search opens (a layer's popup, a point, bounds).

Names come from data, so labels and search entries carry plain text that the script sets with
``textContent``; :func:`maps.layout.js_data` writes them into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["Mark", "Place", "initials", "label_point", "area_labels", "water_labels", "point_labels",
           "county_places", "context_places"]


@cache
def _initial_sets(ch: str) -> str:
    from pypinyin import Style, pinyin

    if not ("\u3400" <= ch <= "\u9fff"):
        return ch.lower() if ch.isalnum() else ""
    letters = {p[0].lower() for p in pinyin(ch, style=Style.FIRST_LETTER, heteronym=True)[0] if p}
    return "".join(sorted(letters))


def initials(name: str) -> str:
    """Pinyin initials of *name*, one group per character, every reading of a polyphone.

    >>> initials("长沙市"), initials("岳阳楼")
    ('cz s fs', 'y y l')
    """
    return " ".join(s for s in (_initial_sets(c) for c in str(name)) if s)


@dataclass
class Mark:
    """The text written on a point layer (a level digit, a class numeral) and its ink colour."""

    layer: object
    text: str
    ink: str = "#000"

    def resolve(self) -> dict:
        return {"v": self.layer.get_name(), "t": self.text, "k": self.ink}


@dataclass
class Place:
    """One search entry. *layer*: a folium layer whose popup the search opens; *point* ``[lat, lon]``
    and/or *bounds* ``[[s, w], [n, e]]``: where the map goes; *info*: a line shown in a small popup
    when there is no layer popup; *extra*: more text the search matches (a code, a city);
    *action* ``"panel"``: open the page's side panel (the reach of a reach page); *link*: a relative
    link shown in the small popup (a reach's page)."""

    name: str
    kind: str
    layer: object = None
    point: list | None = None
    bounds: list | None = None
    info: str = ""
    extra: str = ""
    action: str = ""
    zoom: int | None = None
    link: str = ""

    def resolve(self) -> dict:
        out = {"n": str(self.name), "k": self.kind, "i": initials(self.name)}
        if self.layer is not None:
            out["v"] = self.layer.get_name()
        for key, value in (("p", self.point), ("b", self.bounds), ("h", self.info), ("x", self.extra),
                           ("action", self.action), ("z", self.zoom), ("u", self.link)):
            if value:
                out[key] = value
        return out


def _round(v: float) -> float:
    return round(float(v), 5)


def bounds_of(geom) -> list:
    x0, y0, x1, y1 = geom.bounds
    return [[_round(y0), _round(x0)], [_round(y1), _round(x1)]]


def label_point(geom, avoid: np.ndarray | None = None, *, grid: int = 24):
    """A point well inside *geom* and away from the points *avoid* (``[[x, y], ...]``): the best of a
    grid of candidates by ``min(distance to the edge, distance to the nearest avoided point)``."""
    import shapely

    x0, y0, x1, y1 = geom.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    xs, ys = xs.ravel(), ys.ravel()
    inside = shapely.contains_xy(geom, xs, ys)
    if not inside.any():
        p = geom.representative_point()
        return p.x, p.y
    xs, ys = xs[inside], ys[inside]
    edge = shapely.distance(shapely.points(xs, ys), geom.boundary)
    score = edge
    if avoid is not None and len(avoid):
        d = np.sqrt(((xs[:, None] - avoid[None, :, 0]) ** 2 + (ys[:, None] - avoid[None, :, 1]) ** 2).min(axis=1))
        score = np.minimum(edge, d * 1.5)
    k = int(np.argmax(score))
    return float(xs[k]), float(ys[k])


def area_labels(gdf, kind: str, *, subs: dict | None = None, avoid: np.ndarray | None = None,
                min_zoom: int = 0) -> list[dict]:
    """A label per area (``name``, ``geometry``), *subs*: a second line by name (a rate)."""
    out = []
    for name, geom in zip(gdf["name"], gdf.geometry):
        x, y = label_point(geom, avoid)
        d = {"t": str(name), "c": kind, "p": [_round(y), _round(x)], "z": min_zoom, "a": "c"}
        if subs and subs.get(name):
            d["s"] = subs[name]
        out.append(d)
    return out


def water_labels(canvas, avoid: np.ndarray | None = None) -> list[dict]:
    """Lakes (largest first), then rivers (longest first), each at a point inside the province:
    a lake at a point well inside it, a river on its longest stretch in Hunan, at the point of the
    middle three fifths farthest from the points *avoid* (other labels, stations)."""
    import shapely
    from shapely.geometry import LineString, MultiLineString

    from maps.base import context_layers

    province, _, rivers, lakes = (canvas.frame(g) for g in context_layers())
    hunan = province.geometry.union_all().buffer(0.05)
    out = []
    # the double-line stretches of a river are drawn as water areas: named by the river, not twice
    lakes = lakes[~lakes["name"].str.contains("double-line", na=True) & ~lakes["name"].isin(set(rivers["name"]))]
    for name, geom in sorted(zip(lakes["name"], lakes.geometry), key=lambda t: -t[1].area):
        part = geom.intersection(hunan)
        if part.is_empty or part.area < 1e-3:
            continue
        x, y = label_point(part)
        out.append({"t": str(name), "c": "lake", "p": [_round(y), _round(x)], "z": 7 if part.area > 0.05 else 9,
                    "a": "c"})
    for name, geom in sorted(zip(rivers["name"], rivers.geometry), key=lambda t: -t[1].length):
        if not name:
            continue
        inside = geom.intersection(hunan)
        if isinstance(inside, MultiLineString):
            inside = shapely.line_merge(inside)
        parts = [g for g in getattr(inside, "geoms", [inside]) if isinstance(g, LineString)]
        if not parts:
            continue
        longest = max(parts, key=lambda g: g.length)
        cands = [longest.interpolate(f, normalized=True) for f in np.linspace(0.2, 0.8, 13)]
        p = cands[6]
        if avoid is not None and len(avoid):
            p = max(cands, key=lambda c: float(np.min((avoid[:, 0] - c.x) ** 2 + (avoid[:, 1] - c.y) ** 2)))
        out.append({"t": str(name), "c": "river", "p": [_round(p.y), _round(p.x)], "z": 7 if inside.length > 2 else 9,
                    "a": "c"})
    return out


def point_labels(names, lonlats, kind: str, *, min_zoom: int, offset: int = 11) -> list[dict]:
    """A label to the right of each point (section names), *offset* pixels from its centre."""
    return [{"t": str(n), "c": kind, "p": [_round(y), _round(x)], "z": min_zoom, "a": "r", "o": offset}
            for n, (x, y) in zip(names, lonlats)]


def county_places(canvas) -> list[Place]:
    """Every county of the pack as a search entry: the map fits it and names its city."""
    from geo import pack

    counties = canvas.frame(pack.layer("counties", "display"))
    out = []
    for name, city, geom in zip(counties["name"], counties["city"], counties.geometry):
        p = geom.representative_point()
        out.append(Place(str(name), "区县 county", point=[_round(p.y), _round(p.x)], bounds=bounds_of(geom),
                         info=f"{city} · 区县 county", extra=str(city)))
    return out


def context_places(canvas, *, cities: bool = True) -> list[Place]:
    """Cities (when the page has no city popups), rivers and lakes of the pack as search entries."""
    from maps.base import context_layers

    city_polys = canvas.frame(context_layers()[1])
    out = []
    if cities:
        for name, geom in zip(city_polys["name"], city_polys.geometry):
            p = geom.representative_point()
            out.append(Place(str(name), "城市 city", point=[_round(p.y), _round(p.x)], bounds=bounds_of(geom),
                             info="市州 city"))
    for label in water_labels(canvas):
        kind = "湖泊 lake" if label["c"] == "lake" else "河流 river"
        out.append(Place(label["t"], kind, point=label["p"], info=kind, zoom=9))
    return out
