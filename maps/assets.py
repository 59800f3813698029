"""Self-contained folium maps: the CDN files folium links are replaced by vendored copies inline.

The maps must open on the provincial intranet, where no CDN is reachable. folium 0.20 links
about 13 CDN files (Leaflet, jQuery, Bootstrap, Font Awesome, Leaflet.awesome-markers, ...);
branca's own inlining does not work for them, so ``maps/vendor/`` holds copies built from the npm
tarballs (``maps/vendor/PROVENANCE.md``: package, version, sha256, licence) and this module puts
them into the page:

- :func:`inline_assets` replaces every known CDN ``<script src>`` / ``<link href>`` by a
  ``<script data-envq-vendor=FILE>`` / ``<style data-envq-vendor=FILE>`` holding the vendored file
  (fonts and images already embedded in the CSS as ``data:`` URIs); a file already inlined is not
  inlined twice (jQuery is linked by folium and again by TimestampedGeoJson).
- :func:`external_urls` lists every external reference left (see "The rule" below).
- :func:`save_offline` renders a map, inlines, checks, writes; it raises
  :class:`ExternalReferenceError` naming every URL left.

The rule (what counts as external)
----------------------------------
Outside the vendored blocks (skipped only when their content is byte-identical to the vendored
file; those files are reviewed once, see ``VENDOR_REVIEWED``), every occurrence of

- an absolute ``http:``, ``https:``, ``ws:``, ``wss:``, ``ftp:`` URL anywhere (attributes, CSS
  ``url()`` and ``@import``, JS string literals, JSON data, comments, text): a script can fetch
  any string it holds, so the check does not try to guess which strings are fetched;
- a protocol-relative URL ``//host...`` where a URL can start: after a quote, ``=``, ``(`` (an
  attribute value, a CSS ``url(``, a JS string literal);

is external, with two exceptions, neither of which makes the browser load anything:

- the ``href`` of an ``<a>`` element, also written inside a JS string (``<a href=\\"...\\">``,
  ``\\u003ca href=...``, ``&lt;a href=...``): attribution and popup links are plain text links,
  followed only when a user clicks (offline they fail like any dead link). Other attributes of
  ``<a>`` (``ping``) and every other element's ``href`` (``<link>``, ``<base>``) still count;
- XML namespace identifiers (``http://www.w3.org/2000/svg`` and the like), which are names.

Tiles: a tile layer is an external fetch like any other, so offline maps are made with
``folium.Map(tiles=None)`` (:func:`offline_map`); an intranet tile server can be allowed
explicitly with ``allow=("https://tiles.example.internal/",)``.

Not vendored (a map using them fails :func:`save_offline`, naming the URL): TimeSliderChoropleth's
d3 v4 (``https://d3js.org/d3.v4.min.js``) and every other folium plugin's files. The day-by-day
time control of the maps is TimestampedGeoJson (Leaflet.TimeDimension: play, step one period,
a date display formatted with moment), whose files are vendored.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterable

VENDOR = Path(__file__).resolve().parent / "vendor"


@dataclass(frozen=True)
class CdnAsset:
    """One CDN URL folium emits: what replaces it (vendored files, in order) and where it is from."""

    url: str
    kind: str  # "js" | "css"
    files: tuple[str, ...]  # vendored files inlined in its place; () = deliberately dropped
    package: str  # npm package@version (or origin) the files come from
    note: str = ""


# Every CDN URL folium 0.20.0 emits for Map (with its default JS/CSS) and TimestampedGeoJson.
CDN_ASSETS: tuple[CdnAsset, ...] = (
    # folium.Map default_js
    CdnAsset("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", "js",
             ("leaflet.js", "leaflet-default-icon.js"), "leaflet@1.9.3",
             "plus a generated shim: default marker images as data: URIs"),
    CdnAsset("https://code.jquery.com/jquery-3.7.1.min.js", "js", ("jquery.min.js",), "jquery@3.7.1",
             "used by folium's Popup"),
    CdnAsset("https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js", "js", (),
             "bootstrap@5.2.2", "dropped: no folium element uses Bootstrap's JS"),
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
             "js", ("leaflet.awesome-markers.min.js",), "drmonty-leaflet-awesome-markers@2.0.2"),
    # folium.Map default_css
    CdnAsset("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", "css", ("leaflet.css",),
             "leaflet@1.9.3"),
    CdnAsset("https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css", "css",
             ("bootstrap.min.css",), "bootstrap@5.2.2"),
    CdnAsset("https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css", "css",
             ("bootstrap-glyphicons.css",), "bootstrap@3.4.1",
             "3.0.0 is on no registry: the Glyphicons rules and font of bootstrap 3.4.1"),
    CdnAsset("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css", "css",
             ("fontawesome-all.min.css",), "@fortawesome/fontawesome-free@6.2.0"),
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
             "css", ("leaflet.awesome-markers.css",), "drmonty-leaflet-awesome-markers@2.0.2"),
    CdnAsset("https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
             "css", ("leaflet.awesome.rotate.min.css",), "folium==0.20.0 (PyPI sdist)"),
    # folium.plugins.TimestampedGeoJson
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js", "js", ("jquery.min.js",),
             "jquery@3.7.1", "the same file as code.jquery.com's: inlined once"),
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/jqueryui/1.10.2/jquery-ui.min.js", "js", (),
             "jquery-ui@1.10.2 (not on npm)",
             "dropped: neither Leaflet.TimeDimension nor folium's template uses jQuery UI"),
    CdnAsset("https://cdn.jsdelivr.net/npm/iso8601-js-period@0.2.1/iso8601.min.js", "js", ("iso8601.js",),
             "iso8601-js-period@0.2.1"),
    CdnAsset("https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.min.js",
             "js", ("leaflet.timedimension.min.js",), "leaflet-timedimension@1.1.1"),
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/moment.js/2.18.1/moment.min.js", "js", ("moment.min.js",),
             "moment@2.18.1", "formats the date shown by the time control"),
    CdnAsset("https://cdnjs.cloudflare.com/ajax/libs/highlight.js/8.4/styles/default.min.css", "css", (),
             "highlight.js@8.4", "dropped: code-highlighting styles, nothing on a map uses them"),
    CdnAsset("https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.control.css",
             "css", ("leaflet.timedimension.control.min.css",), "leaflet-timedimension@1.1.1"),
)
CDN_BY_URL = {a.url: a for a in CDN_ASSETS}

# What external_urls() finds inside the vendored files themselves, reviewed: none is fetched.
# (external_urls skips a vendored block only when it equals the file; tests keep this list exact.)
_HEADER = "licence/credit header comment"
VENDOR_REVIEWED: dict[str, dict[str, str]] = {
    "bootstrap.min.css": {"https://getbootstrap.com/": _HEADER,
                          "https://github.com/twbs/bootstrap/blob/main/LICENSE": _HEADER},
    "bootstrap-glyphicons.css": {"https://getbootstrap.com/": _HEADER,
                                 "https://github.com/twbs/bootstrap/blob/master/LICENSE": _HEADER},
    "fontawesome-all.min.css": {"https://fontawesome.com": _HEADER,
                                "https://fontawesome.com/license/free": _HEADER},
    "iso8601.js": {"http://www.nezasa.com": _HEADER,
                   "http://www.apache.org/licenses/LICENSE-2.0.html": _HEADER,
                   "https://github.com/nezasa": _HEADER, "https://github.com/palamedes": _HEADER,
                   "https://github.com/mdartic": _HEADER, "https://github.com/murb": _HEADER},
    "moment.min.js": {
        f"http://momentjs.com/guides/#/warnings/{w}/": "text of a deprecation warning (console)"
        for w in ("define-locale", "add-inverted-param", "js-date", "min-max", "zone", "dst-shifted")},
    "leaflet.js": {"https://leafletjs.com": _HEADER + " (its attribution link is an <a href>)"},
    "leaflet.css": {"https://bugzilla.mozilla.org/show_bug.cgi?id=888319": "comment"},
    "leaflet.timedimension.min.js": {"http://www.socib.es/": _HEADER,
                                     "http://apps.socib.es/Leaflet.TimeDimension/": _HEADER,
                                     "https://github.com/nezasa/iso8601-js-period": _HEADER},
    "leaflet.awesome-markers.min.js": {"http://leafletjs.com": _HEADER, "https://github.com/lvoogdt": _HEADER},
}


class ExternalReferenceError(RuntimeError):
    """The page would still load something from outside: ``urls`` lists what."""

    def __init__(self, urls: list[str], where: str = "the map"):
        self.urls = list(urls)
        lines = "\n".join(f"  - {u}" for u in self.urls)
        super().__init__(
            f"{where} still references {len(self.urls)} external URL(s); it would not work offline.\n"
            f"{lines}\nVendor the file in maps/vendor/ and add it to maps.assets.CDN_ASSETS, or remove "
            f"the element (tile layers: folium.Map(tiles=None)), or pass allow=(prefix,) for an "
            f"intranet server.")


@cache
def vendored_text(name: str) -> str:
    """The content of a vendored file (UTF-8 text, as inlined)."""
    text = (VENDOR / name).read_bytes().decode("utf-8")  # bytes as they are (leaflet.css has CRLF)
    closer = "</script" if name.endswith(".js") else "</style"
    if closer in text.lower():
        raise ValueError(f"{name} contains {closer!r}: cannot be inlined as is")
    return text


def vendored_sha256(name: str) -> str:
    return hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()


_ATTR = r"""\s*=\s*["']?([^"'\s>]+)["']?"""
_SCRIPT_SRC = re.compile(r"<script\b[^>]*?\bsrc" + _ATTR + r"[^>]*>\s*</script\s*>", re.I)
_LINK_HREF = re.compile(r"<link\b[^>]*?\bhref" + _ATTR + r"[^>]*?/?>", re.I)


def inline_assets(html: str) -> str:
    """Replace every known CDN ``<script src>`` / ``<link href>`` of ``html`` by the vendored file.

    Unknown links are left as they are (:func:`external_urls` reports them). Each vendored file
    is inlined at its first link only.
    """
    done: set[str] = set()

    def block(asset: CdnAsset) -> str:
        parts = []
        for name in asset.files:
            if name in done:
                parts.append(f"<!-- envq: {name} ({asset.package}) already inlined above -->")
                continue
            done.add(name)
            tag = "script" if asset.kind == "js" else "style"
            parts.append(f'<{tag} data-envq-vendor="{name}">\n{vendored_text(name)}\n</{tag}>')
        if not asset.files:
            parts.append(f"<!-- envq: a {asset.kind} file of {asset.package} left out ({asset.note}) -->")
        return "\n".join(parts)

    # one pass in document order, so the first occurrence of a duplicated file is the one kept
    pattern = re.compile(f"{_SCRIPT_SRC.pattern}|{_LINK_HREF.pattern}", re.I)

    def replace_either(match: re.Match) -> str:
        url = match.group(1) or match.group(2)
        if match.group(0).lower().startswith("<link") and "stylesheet" not in match.group(0).lower():
            return match.group(0)  # not a stylesheet link: leave it (and let the check judge it)
        asset = CDN_BY_URL.get(url)
        return block(asset) if asset is not None else match.group(0)

    return pattern.sub(replace_either, html)


_VENDOR_BLOCK = re.compile(r'<(script|style) data-envq-vendor="([^"]+)">\n(.*?)\n</\1>', re.S)
_URL_REST = r"""(?:[^\s"'`()<>\\]|\\/)"""  # URL characters; JSON may escape "/" as "\/"
_ABSOLUTE = re.compile(r"""(?:https?|wss?|ftps?):(?://|\\/\\/)""" + _URL_REST + "+", re.I)
_PROTOCOL_RELATIVE = re.compile(
    r"""(?:(?<=["'`(=])|(?<=\\["']))(?://|\\/\\/)(?:localhost|[A-Za-z0-9][-A-Za-z0-9]*(?:\.[-A-Za-z0-9]+)+)"""
    r"""(?::\d+)?(?:(?:[?#]|/|\\/)""" + _URL_REST + "*)?")
_ANCHOR_HREF_BEFORE = re.compile(
    r"""(?:<|\\u003c|&lt;)a\s(?:(?!>|\\u003e|&gt;).)*?\bhref\s*=\s*(?:\\?["']|&quot;)?$""", re.S | re.I)
XML_NAMESPACES = frozenset({
    "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink",
    "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/1998/Math/MathML",
})


def _strip_verified_vendor_blocks(html: str) -> str:
    def drop(match: re.Match) -> str:
        name = match.group(2)
        try:
            same = (VENDOR / name).is_file() and match.group(3) == vendored_text(name)
        except (OSError, ValueError):
            same = False
        return f"<{match.group(1)}></{match.group(1)}>" if same else match.group(0)

    return _VENDOR_BLOCK.sub(drop, html)


def external_urls(html: str, allow: Iterable[str] = ()) -> list[str]:
    """Every external reference left in ``html``, in order of first appearance, without repeats.

    See the module documentation for the rule. Vendored blocks whose content equals the vendored
    file are not scanned (reviewed once: ``VENDOR_REVIEWED``). ``allow``: URL prefixes accepted
    (an intranet tile server, say).
    """
    text = _strip_verified_vendor_blocks(html)
    allow = tuple(allow)
    found: dict[str, None] = {}
    hits = [(m.start(), m.group(0)) for m in _ABSOLUTE.finditer(text)]
    hits += [(m.start(), m.group(0)) for m in _PROTOCOL_RELATIVE.finditer(text)]
    for start, url in sorted(hits):
        url = url.replace("\\/", "/")
        if url.rstrip("/") in XML_NAMESPACES or url in XML_NAMESPACES:
            continue
        if _ANCHOR_HREF_BEFORE.search(text[max(0, start - 2000):start]):
            continue
        if any(url.startswith(p) for p in allow):
            continue
        found.setdefault(url, None)
    return list(found)


def offline_map(**kwargs) -> "folium.Map":  # noqa: F821
    """``folium.Map`` without a tile layer unless one is asked for (tiles fetch from the internet)."""
    import folium

    kwargs.setdefault("tiles", None)
    return folium.Map(**kwargs)


_VIEWPORT = re.compile(r'<meta name="viewport" content="[^"]*"\s*/>')


def page_head(html: str) -> str:
    """The language and viewport every page needs, where folium's templates write neither:
    ``<html lang="zh-CN">`` (screen readers, font choice, hyphenation), and a viewport that lets
    the reader zoom (folium's ``maximum-scale=1.0, user-scalable=no`` stops people with low vision
    from enlarging the text; the map's own pinch zoom is Leaflet's and unaffected).

    >>> page_head('<!DOCTYPE html>\\n<html>\\n<meta name="viewport" content="width=device-width,\\n x, user-scalable=no" />')
    '<!DOCTYPE html>\\n<html lang="zh-CN">\\n<meta name="viewport" content="width=device-width, initial-scale=1">'
    """
    html = html.replace("<!DOCTYPE html>\n<html>", '<!DOCTYPE html>\n<html lang="zh-CN">', 1)
    return _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1">', html, count=1)


def render_offline(m, allow: Iterable[str] = ()) -> str:
    """The map's HTML with every asset inline (and :func:`page_head`); raises
    ExternalReferenceError if anything external is left."""
    html = inline_assets(page_head(m.get_root().render()))
    left = external_urls(html, allow=allow)
    if left:
        raise ExternalReferenceError(left)
    return html


def save_offline(m, path: str | os.PathLike, allow: Iterable[str] = ()) -> Path:
    """Render ``m`` (a folium Map or Figure), inline the vendored assets, check, write ``path``.

    Raises :class:`ExternalReferenceError` (nothing written) when an external URL remains.
    """
    html = render_offline(m, allow=allow)
    path = Path(path)
    path.write_bytes(html.encode("utf-8"))
    return path
