"""The pages' shared look: the font stack, the CSS of plain pages (index, bulletin) and of map pages,
and the layout of the map controls on phones and desktops.

Plain pages (:func:`page_document`, :data:`PAGE_CSS`)
    ``<html lang="zh-CN">``, a viewport that lets the reader zoom, the font stack, cards, tables
    that reflow into one block per row on a phone (``<table class="envq-stack">`` with a
    ``data-label`` on each cell), swatches that carry a mark or hatch beside their colour, and A4
    print rules. The index page uses it; the bulletin page is meant to (docs/maps.md, "For other
    pages").

Map pages (:func:`finish_map`)
    Every control (title, search, layers, day control, reach panel, legend, notes, zoom, scale,
    attribution) is placed by ``maps/static/envq-map.js`` into one of two columns on a desktop
    (a top and a bottom group each) or into one column on a phone (title and search on top; day
    control and the collapsible boxes, a bottom sheet, below). Boxes are flex items that shrink
    and scroll: they cannot overlap each other or leave the window, at any size. The legend, the
    reach panel and the notes are ``<details>`` boxes: open on desktops, a bar to tap on phones.
    Popups are panned clear of the controls; the map is fitted into the part they leave free.

Fonts: Debian's WenQuanYi Micro Hei claims U+2160..U+216B (Ⅰ..Ⅻ) but draws Ⅴ (U+2164) blank,
so 劣Ⅴ类 read "劣 类". :data:`FONT_STACK` names the platform CJK fonts first (Microsoft YaHei on
Windows, PingFang SC on macOS and iOS, Noto Sans CJK SC on Android and many Linux desktops, all of
which draw Ⅰ..Ⅴ), then DejaVu Sans (Debian's default sans, correct Roman numerals and Latin), and
WenQuanYi only after it, for the Chinese characters DejaVu lacks. Checked in the browser tests:
each of Ⅰ..Ⅴ draws ink in the pages' font (``tests/test_maps_phone.py``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from maps.style import esc

__all__ = ["FONT_STACK", "PAGE_CSS", "MAP_CSS", "PHONE_MAX_WIDTH", "page_document", "finish_map",
           "js_data", "map_script", "band_patterns_svg"]

STATIC = Path(__file__).resolve().parent / "static"

#: The font stack of every page (see the module documentation for why DejaVu Sans precedes WenQuanYi).
FONT_STACK = ("'Microsoft YaHei','PingFang SC','Hiragino Sans GB','Noto Sans CJK SC','Source Han Sans SC',"
              "'Noto Sans SC','DejaVu Sans','WenQuanYi Micro Hei',sans-serif")

#: Width [px] up to which a page is laid out for a phone (the same number in envq-map.js).
PHONE_MAX_WIDTH = 640

_SWATCH_CSS = (
    ".envq-swatch,.swatch{display:inline-block;min-width:16px;height:14px;border:1px solid #555;"
    "vertical-align:middle;box-sizing:border-box;font:bold 10px/12px " + FONT_STACK + ";text-align:center;"
    "padding:0 1px}"
    # hatches: the band of a rate is told by the pattern as well as by the colour
    ".envq-hatch-near{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.55) 0 1px,transparent 1px 5px)}"
    ".envq-hatch-far{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.55) 0 1px,transparent 1px 5px),"
    "repeating-linear-gradient(-45deg,rgba(0,0,0,.55) 0 1px,transparent 1px 5px)}"
)

#: CSS of plain pages (index, bulletin): type, cards, tables that reflow on phones, print.
PAGE_CSS = (
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{font:15px/1.55 " + FONT_STACK + ";margin:0;color:#222;background:#F4F6F8}"
    "main{max-width:1080px;margin:0 auto;padding:16px 20px 40px;box-sizing:border-box}"
    "h1{font-size:22px;margin:4px 0;line-height:1.3}h2{font-size:17px;margin:22px 0 6px;border-bottom:2px solid #1F4E79}"
    "a{color:#0B57A4}.en{color:#595959;font-size:.92em}"
    "table{border-collapse:collapse;background:#fff;max-width:100%}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#E8EEF4}.num{text-align:right}"
    ".cards{display:flex;gap:14px;flex-wrap:wrap}.card{background:#fff;border:1px solid #ccc;border-radius:6px;"
    "padding:10px 14px;flex:1 1 300px;min-width:0;box-sizing:border-box}"
    ".big{font-size:28px;font-weight:bold}.links a{display:inline-block;margin:2px 12px 2px 0;padding:6px 0}"
    ".note{color:#555;font-size:12px}.wrap{overflow-x:auto}"
    + _SWATCH_CSS +
    "@media (max-width:" + str(PHONE_MAX_WIDTH) + "px){"
    "main{padding:10px 12px 32px}h1{font-size:19px}.big{font-size:26px}"
    "body{overflow-wrap:anywhere}"
    # a table of many columns: one block per row, each cell with its column's name
    "table.envq-stack,table.envq-stack tbody,table.envq-stack tr,table.envq-stack td{display:block;width:auto}"
    "table.envq-stack{background:none}table.envq-stack tr:first-child{display:none}"
    "table.envq-stack tr{background:#fff;border:1px solid #ccc;border-radius:6px;margin:0 0 8px;padding:4px 8px}"
    "table.envq-stack td{border:0;padding:2px 0;text-align:left}"
    "table.envq-stack td[data-label]::before{content:attr(data-label) '：';color:#555;font-size:.9em}"
    "table.envq-stack a{display:inline-block;padding:6px 0;font-weight:bold}"
    "}"
    "@media print{@page{size:A4;margin:15mm}body{background:#fff;font-size:11pt}main{max-width:none;padding:0}"
    ".card,tr{break-inside:avoid}a{color:inherit;text-decoration:none}}"
)

#: CSS of the map pages (the layout itself is placed by envq-map.js).
MAP_CSS = (
    ".leaflet-container.leaflet-container{background:#F4F6F8;font-family:" + FONT_STACK + "}"
    ".envq-box{background:rgba(255,255,255,.95);padding:6px 9px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);"
    "font:13px/1.4 " + FONT_STACK + ";color:#222;box-sizing:border-box;max-width:100%}"
    ".envq-box table{border-collapse:collapse}.envq-box td{padding:0 4px}.envq-box .en{color:#555}"
    "a{color:#0B57A4}"
    + _SWATCH_CSS +
    # before the script has laid the page out (a slow link): the title and a word on what comes
    "body>.envq-box{display:none}"
    "body>.envq-title{display:block;position:absolute;top:8px;left:8px;right:8px;z-index:1001}"
    "body>.envq-title::after{content:'地图载入中… loading the map';display:block;color:#555;font-size:12px}"
    ".envq-ui{position:absolute;top:0;left:0;right:0;bottom:0;z-index:1000;pointer-events:none;display:flex;"
    "box-sizing:border-box}"
    ".envq-ui .envq-slot{display:flex;flex-direction:column;gap:8px;min-height:0;min-width:0}"
    ".envq-ui .envq-slot>*{pointer-events:auto;margin:0;float:none;clear:none;flex:0 0 auto;max-width:100%;"
    "box-sizing:border-box}"
    ".envq-ui .envq-slot>.envq-box{flex:0 1 auto;min-height:0;overflow:auto}"
    ".envq-ui .envq-slot>.envq-slot{pointer-events:none;flex:0 1 auto;min-height:0}"
    # what never shrinks: the title and search, the zoom and layer buttons, the day control
    ".envq-ui .envq-slot-top,.envq-ui .envq-slot-float,.envq-ui .envq-slot>.envq-slot-end,"
    ".envq-ui .envq-col>.envq-slot-tl,.envq-ui .envq-slot>.envq-day-control{flex-shrink:0}"
    ".envq-spacer{flex:1 1 0;min-height:0}"
    # desktop: two columns
    ".envq-is-desktop{flex-direction:row;justify-content:space-between;gap:10px;padding:10px}"
    ".envq-is-desktop .envq-phone-ui,.envq-is-phone .envq-col{display:none}"
    ".envq-col{display:flex;flex-direction:column;gap:8px;min-height:0;min-width:0;max-height:100%}"
    ".envq-col-l{max-width:min(420px,46%);align-items:flex-start}"
    ".envq-col-r{max-width:min(460px,50%);align-items:flex-end}"
    ".envq-col>.envq-slot{max-width:100%;flex:0 1 auto}"
    ".envq-ui .envq-slot-tl{flex-direction:row;align-items:flex-start}"
    ".envq-slot-tls{flex:1 1 auto}"
    ".envq-slot-tr,.envq-slot-br{align-items:flex-end}.envq-slot-bl{align-items:flex-start}"
    ".envq-is-desktop .envq-reach-panel{width:440px}"
    ".envq-is-desktop .envq-title,.envq-is-desktop .envq-search{width:360px}"
    # phone: one column, title and search on top, the rest a bottom sheet
    ".envq-is-phone{flex-direction:column;padding:6px}"
    ".envq-phone-ui{display:flex;flex-direction:column;gap:6px;flex:1 1 auto;min-height:0;width:100%}"
    ".envq-slot-top>*,.envq-slot-bottom>*,.envq-slot-sheet>*{width:100%}"
    ".envq-ui .envq-slot-float,.envq-ui .envq-float-l,.envq-ui .envq-float-r{flex-direction:row;align-items:flex-end}"
    ".envq-slot-float{justify-content:space-between;flex:0 0 auto}"
    ".envq-slot-bottom,.envq-slot-sheet{flex:0 1 auto;gap:6px}"
    ".envq-ui .envq-slot-end{align-items:flex-end}.envq-ui .envq-slot-end>*{width:auto}"
    # collapsible boxes
    "details.envq-box>summary{cursor:pointer;font-weight:bold;list-style:none;padding:2px 0 4px;"
    "position:sticky;top:-6px;background:#fff;z-index:1}"
    "details.envq-box>summary::-webkit-details-marker{display:none}"
    "details.envq-box>summary::before{content:'▸ ';color:#555}details.envq-box[open]>summary::before{content:'▾ '}"
    ".envq-summary-note{font-weight:normal;color:#444}"
    # title, search
    ".envq-h1{display:inline;font-size:14px;margin:0;font-weight:bold}.envq-subtitle{font-size:12px;color:#333}"
    ".envq-search form{display:flex;gap:6px;align-items:center;margin:0}"
    ".envq-search label{font-weight:bold;white-space:nowrap}"
    ".envq-search input{flex:1 1 auto;min-width:0;height:30px;font:inherit;font-size:14px;padding:2px 6px;"
    "border:1px solid #767676;border-radius:4px;box-sizing:border-box}"
    ".envq-search-results{list-style:none;margin:4px 0 0;padding:0;max-height:50vh;overflow:auto}"
    ".envq-search-results li{padding:6px 4px;cursor:pointer;border-top:1px solid #eee;display:flex;"
    "justify-content:space-between;gap:8px}"
    ".envq-search-results li[aria-selected=true],.envq-search-results li:hover{background:#E8EEF4}"
    ".envq-search-kind{color:#555;font-size:12px;white-space:nowrap}"
    ".envq-search-status{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
    # day control
    ".envq-day-control .envq-day-row{display:flex;gap:6px;align-items:center;flex-wrap:wrap}"
    ".envq-day-control button{min-height:30px;min-width:34px;font:inherit;border:1px solid #767676;"
    "border-radius:4px;background:#fff;color:#222}"
    ".envq-day-control .envq-day-label{font-weight:bold;min-width:6em;text-align:center}"
    ".envq-day-range{width:100%;margin:6px 0}.envq-day-counts .envq-swatch{margin-left:6px}"
    # names on the map, and the level or class on each point
    ".envq-label{pointer-events:none}"
    ".envq-label-text{position:absolute;white-space:nowrap;font:12px/1.15 " + FONT_STACK + ";color:#1a1a1a;"
    "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 4px #fff;text-align:center}"
    ".envq-at-c{transform:translate(-50%,-50%)}.envq-at-r{transform:translate(10px,-50%);text-align:left}"
    ".envq-label-name{display:block}.envq-label-sub{display:block;font-size:11px}"
    ".envq-label-city .envq-label-name{font-weight:bold;font-size:13px}"
    ".envq-label-basin .envq-label-name{font-weight:bold;font-size:13px;color:#333}"
    ".envq-label-river .envq-label-text,.envq-label-lake .envq-label-text{color:#0B4F8A;font-style:italic}"
    ".envq-label-section .envq-label-text{font-size:11px}"
    ".envq-mark{pointer-events:none}"
    ".envq-mark-text{position:absolute;transform:translate(-50%,-50%);font:bold 9px/1 " + FONT_STACK + ";"
    "white-space:nowrap}"
    # popups
    ".leaflet-container .leaflet-popup-content{font:12px/1.4 " + FONT_STACK + ";margin:10px 14px}"
    ".leaflet-popup-content h4{font-size:15px}.leaflet-popup-content table{border-collapse:collapse}"
    ".leaflet-popup-content td,.leaflet-popup-content th{padding:1px 4px;border-bottom:1px solid #eee;text-align:left;"
    "font-weight:normal}"
    ".envq-profile{max-width:100%;height:auto}"
    # phones (and coarse pointers): targets of at least 40 px, popups within the screen
    "@media (max-width:" + str(PHONE_MAX_WIDTH) + "px),(pointer:coarse){"
    ".envq-ui.envq-ui .leaflet-bar a{width:40px;height:40px;line-height:40px}"
    ".envq-day-control button{min-height:40px;min-width:44px}"
    ".envq-day-range{height:40px}"
    ".envq-search input{height:40px;font-size:16px}"
    ".envq-search-results li{min-height:40px;box-sizing:border-box;align-items:center}"
    "details.envq-box>summary{padding:10px 0;min-height:20px}"
    ".envq-home{display:inline-block;padding:11px 6px 11px 0;line-height:18px}"
    "}"
    "@media (max-width:" + str(PHONE_MAX_WIDTH) + "px){"
    ".envq-ui .leaflet-control-zoom{display:flex}"
    ".envq-ui .leaflet-control-zoom a{border-bottom:0;border-radius:0}"
    ".envq-ui .leaflet-control-zoom a+a{border-left:1px solid #ccc}"
    ".envq-title{padding:2px 9px 4px}.envq-h1{font-size:13px}.envq-subtitle{font-size:11.5px}"
    ".envq-search label{display:none}"
    ".envq-day-control .envq-day-head,.envq-day-control .envq-day-counts{font-size:12px}"
    ".envq-legend{font-size:12px}"
    ".leaflet-popup-content{max-width:calc(100vw - 64px);overflow-x:auto}"
    ".leaflet-popup-content .envq-chart{width:100%!important}.leaflet-popup-content .envq-chart svg{width:100%}"
    "}"
)


def js_data(obj) -> str:
    """*obj* as JSON that is safe inside a ``<script>``: ``<``, ``>``, ``&`` and, inside strings,
    ``:`` written as ``\\uXXXX`` (a ``</script>`` in a name cannot close the script; a URL in a
    name stays text that the offline check need not refuse).

    >>> js_data({"n": "</script>", "u": "https://x"})
    '{"n":"\\\\u003c/script\\\\u003e","u":"https\\\\u003a//x"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace(":", "\\u003a"), text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def map_script() -> str:
    """The page script of the map pages (``maps/static/envq-map.js``)."""
    text = (STATIC / "envq-map.js").read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise ValueError("envq-map.js contains '</script'")
    return text


def band_patterns_svg(bands) -> str:
    """An invisible ``<svg>`` of fill patterns, one per rate band with a hatch (``url(#envq-band-<key>)``):
    the polygons of a band are told apart by the pattern as well as by the colour."""
    lines = {"near": "M0 0V8", "far": "M0 0V8M0 0H8"}
    defs = "".join(
        f'<pattern id="envq-band-{b.key}" patternUnits="userSpaceOnUse" width="8" height="8" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="{b.colour}"/>'
        f'<path d="{lines[b.hatch]}" stroke="#000" stroke-opacity=".5" stroke-width="1.6"/></pattern>'
        for b in bands if b.hatch)
    return (f'<svg class="envq-patterns" width="0" height="0" style="position:absolute" aria-hidden="true" '
            f'focusable="false"><defs>{defs}</defs></svg>')


def page_document(title: str, body: str, *, css: str = "", head: str = "") -> str:
    """A whole plain page: ``<html lang="zh-CN">``, the viewport, *title* (text, escaped here),
    :data:`PAGE_CSS` then *css*, *head* (HTML) and *body* (HTML, already escaped)."""
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><style>{PAGE_CSS}{css}</style>{head}</head><body>{body}</body></html>')


def finish_map(m, *, labels=None, marks=None, search=None, points: str = "") -> None:
    """The last step of every map page (after :func:`maps.base.base_map` and every layer and box):
    its ``<title>``, the CSS, the page script, the fill patterns of the rate bands, and the call
    that lays the controls out (added last, so that every control exists when it runs) and fits
    the map's bounds into the part of the map the controls leave free.

    *labels* (dicts), *marks* (:class:`maps.names.Mark`), *search* (:class:`maps.names.Place`):
    see :mod:`maps.names`; layer names are resolved when the page is rendered, after
    :func:`maps.base.stable_ids` has numbered the layers. *points*: a CSS selector of the point
    markers the labels beside a point keep clear of.
    """
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    from maps.style import RATE_BANDS

    bounds = m.envq_bounds
    fig = m.get_root()
    fig.title = esc(m.envq_title)
    fig.header.add_child(folium.Element(f"<style>{MAP_CSS}</style><script>{map_script()}</script>"),
                         name="envq_map_ui_head")
    fig.html.add_child(folium.Element(band_patterns_svg(RATE_BANDS)), name="envq_patterns")

    class _MapUI(MacroElement):
        _template = Template("{% macro script(this, kwargs) %}\n"
                             "envqMapUI({{ this._parent.get_name() }}, {{ this.options() }});\n"
                             "{% endmacro %}")

        def __init__(self):
            super().__init__()
            self._name = "EnvqMapUI"

        def options(self) -> str:
            return js_data({"bounds": bounds, "labels": labels or [], "points": points,
                            "marks": [mk.resolve() for mk in marks or []],
                            "search": [s.resolve() for s in search or []]})

    m.add_child(_MapUI())
