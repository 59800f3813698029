"""Colours, names and legends of the maps, taken from the standards' data files.

- AQI categories (优 .. 严重污染) and their colours: HJ 633 Table 2 / Appendix A Table A.1, read
  from ``envq/standards/hj633_<edition>.yaml`` (the edition in force on the day shown).
- Water classes (Ⅰ类 .. 劣Ⅴ类), their 水质状况 and colours: ``envq/standards/gb3838_2002.yaml``
  (classes per GB 3838-2002 and 环办〔2011〕22号; the shades there are marked [U] except red).
- Rates against a target (good-air-day ratio, Ⅰ~Ⅲ类 share): envq's three bands, not a standard:
  met (the engine's verdict, ``target_met``: the published value, 1 decimal by GB/T 8170, >=
  target; :mod:`envq.targets`), short by less than ``near`` points, and further short; see
  :func:`rate_band`. The maps never judge a rate themselves.

:func:`esc` makes any text from data safe in the HTML of a popup, tooltip or page.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache

__all__ = ["esc", "missing", "text", "pct", "count", "flag", "aqi_categories", "aqi_colours", "water_classes", "class_colour", "class_name",
           "RateBand", "RATE_BANDS", "rate_band", "band_label", "band_fill", "swatch", "class_mark", "ink", "NO_DATA_COLOUR", "NEAR_TARGET_POINTS"]

#: Colour of an area or point without data for the period (grey).
NO_DATA_COLOUR = "#BDBDBD"
#: Width of the "short of the target" band, percentage points (envq's choice, a parameter).
NEAR_TARGET_POINTS = 5.0


def esc(value) -> str:
    """Text from data as HTML text, safe in folium's popup and tooltip templates too.

    ``html.escape`` (``& < > " '``), and the three characters that mean something inside the
    JavaScript template literal folium writes popups and tooltips into: backtick, ``$`` and
    backslash. ``None`` and NaN give "".

    >>> esc('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> esc('${x}`')
    '&#36;{x}&#96;'
    >>> esc("https://example.com")
    'https&#58;//example.com'
    """
    if missing(value):
        return ""
    s = html.escape(str(value), quote=True)
    # ":" too, so that a URL in a name or a note ("https://...") stays text, not a reference the
    # offline check must refuse
    return s.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;").replace(":", "&#58;")


def missing(value) -> bool:
    """None, NaN, pandas NA/NaT or "": nothing to show.

    >>> [missing(v) for v in (None, float("nan"), "", 0, "0")]
    [True, True, True, False, False]
    """
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if pd.api.types.is_scalar(value) else False
    except (TypeError, ValueError):
        return False


def text(value, default: str = "—") -> str:
    """:func:`esc` of *value*, or *default* when it is missing."""
    return default if missing(value) else esc(value)


def pct(value) -> str:
    """A rate as published (:func:`envq.targets.published`: 1 decimal, GB/T 8170), or "—".

    >>> pct(23 / 80 * 100), pct(None)
    ('28.8%', '—')
    """
    from envq.targets import published

    return "—" if missing(value) else f"{published(value):.1f}%"


def count(value) -> int:
    """A count from a result table (NaN/NA -> 0)."""
    return 0 if missing(value) else int(value)


def flag(value) -> bool:
    """A true/false column (NaN/NA -> False)."""
    return False if missing(value) else bool(value)


@cache
def aqi_categories(edition: str = "hj633_2012") -> tuple[dict, ...]:
    """The six AQI categories of *edition* (:func:`envq.air.aqi.category_table`): level,
    category_zh/en, colour_zh/en, hex, aqi_min/max."""
    from envq.air.aqi import category_table

    return tuple(category_table(edition).reset_index().to_dict("records"))


def aqi_colours(edition: str = "hj633_2012") -> list[str]:
    """Fill colour by level: index 0 (no valid day) is grey, 1..6 the HJ 633 colours."""
    return [NO_DATA_COLOUR] + [c["hex"] for c in aqi_categories(edition)]


@cache
def water_classes() -> tuple[dict, ...]:
    """Classes 1..6 (Ⅰ类 .. 劣Ⅴ类) with status and colour (:func:`envq.water.classify.class_table`)."""
    from envq.water.classify import class_table

    return tuple(class_table().reset_index().to_dict("records"))


def class_colour(cls) -> str:
    """Colour of a class 1..6; grey for no class."""
    try:
        k = int(cls)
    except (TypeError, ValueError):
        return NO_DATA_COLOUR
    return water_classes()[k - 1]["hex"] if 1 <= k <= 6 else NO_DATA_COLOUR


def class_name(cls) -> str:
    """Ⅰ类 .. 劣Ⅴ类, or "—" for no class."""
    try:
        k = int(cls)
    except (TypeError, ValueError):
        return "—"
    return water_classes()[k - 1]["name_zh"] if 1 <= k <= 6 else "—"


@dataclass(frozen=True)
class RateBand:
    """A band of a rate against its target; *hatch*: the pattern drawn over its colour on maps and
    swatches ("" none, "near" single diagonal lines, "far" cross-hatched), so that the band is told
    by the pattern as well as by the colour."""

    key: str
    colour: str
    label_zh: str
    label_en: str
    hatch: str = ""


RATE_BANDS = (
    RateBand("met", "#1A9850", "达标", "target met"),
    RateBand("near", "#FDAE61", "未达标，差距<{near:g}个百分点", "short by < {near:g} points", hatch="near"),
    RateBand("far", "#D73027", "未达标，差距≥{near:g}个百分点", "short by ≥ {near:g} points", hatch="far"),
    RateBand("none", NO_DATA_COLOUR, "无数据", "no data"),
)


def rate_band(value, target, met, *, near: float = NEAR_TARGET_POINTS) -> RateBand:
    """The band of a rate [%] with the engine's verdict *met* (a results table's ``target_met``):
    met, near, far, or none (no verdict).

    Only the colour of a rate that is not met is worked out here: near when the published value
    lacks less than *near* points (:func:`envq.targets.shortfall`), else far.

    >>> [rate_band(v, 83, m).key for v, m in ((83.0, True), (82.9, False), (77.9, False), (None, None))]
    ['met', 'near', 'far', 'none']
    """
    from envq.targets import shortfall

    if missing(met):
        return RATE_BANDS[3]
    if bool(met):
        return RATE_BANDS[0]
    return RATE_BANDS[1] if shortfall(value, target) < near else RATE_BANDS[2]


def band_label(band: RateBand, *, near: float = NEAR_TARGET_POINTS) -> tuple[str, str]:
    return band.label_zh.format(near=near), band.label_en.format(near=near)


def ink(colour: str) -> str:
    """Black or white, whichever contrasts more with *colour* (``#RRGGBB``; WCAG relative luminance).

    >>> ink("#FFFF00"), ink("#7E0023")
    ('#000', '#fff')
    """
    c = colour.lstrip("#")
    rgb = [int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lum = sum(w * (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
              for w, v in zip((0.2126, 0.7152, 0.0722), rgb))
    return "#000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#fff"


def band_fill(band: RateBand) -> str:
    """The SVG fill of an area in *band*: its colour, or its hatch pattern (``url(#envq-band-<key>)``,
    defined once per page by :func:`maps.layout.band_patterns_svg`)."""
    return f"url(#envq-band-{band.key})" if band.hatch else band.colour


def swatch(colour: str, *, mark: str = "", hatch: str = "", css_class: str = "envq-swatch") -> str:
    """A legend swatch: the colour with the *mark* written in it (a level, a class: the text colour
    chosen to read on it) or a rate band's *hatch*; *mark* is escaped.

    >>> swatch("#FFFF00", mark="2")
    '<span class="envq-swatch" style="background-color:#FFFF00;color:#000">2</span>'
    >>> swatch("#D73027", hatch="far")
    '<span class="envq-swatch envq-hatch-far" style="background-color:#D73027"></span>'
    """
    cls = css_class + (f" envq-hatch-{hatch}" if hatch else "")
    colour_css = f";color:{ink(colour)}" if mark else ""
    return f'<span class="{cls}" style="background-color:{colour}{colour_css}">{esc(mark)}</span>'


def class_mark(cls) -> str:
    """The mark written on a water section's point and in its swatch: the class without 类.

    >>> [class_mark(k) for k in (1, 5, 6, None)]
    ['Ⅰ', 'Ⅴ', '劣Ⅴ', '']
    """
    name = class_name(cls)
    return "" if name == "—" else name.removesuffix("类")
