"""Offline folium maps (maps.assets): vendored CDN files inline, no external URL left."""

import hashlib
import re

import pytest

folium = pytest.importorskip("folium")
from branca.element import JavascriptLink  # noqa: E402
from folium.plugins import TimeSliderChoropleth, TimestampedGeoJson  # noqa: E402

from maps.assets import (  # noqa: E402
    CDN_ASSETS, CDN_BY_URL, VENDOR, VENDOR_REVIEWED, ExternalReferenceError, external_urls,
    inline_assets, offline_map, save_offline, vendored_text,
)

SQUARE = {"type": "Polygon", "coordinates": [[[112, 27], [113, 27], [113, 28], [112, 28], [112, 27]]]}
AREAS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "长沙市", "rate": 76.1}, "geometry": SQUARE},
    {"type": "Feature", "properties": {"name": "站点", "rate": 80.0},
     "geometry": {"type": "Point", "coordinates": [112.9, 28.2]}},
]}
DAYS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": SQUARE,
     "properties": {"times": ["2019-01-01", "2019-01-02", "2019-01-03", "2019-01-04", "2019-01-05"],
                    "style": {"color": "green"}, "popup": "长沙市"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.9, 28.2]},
     "properties": {"times": ["2019-01-02"], "icon": "marker", "popup": "站点"}},
]}


def provenance() -> dict[str, str]:
    """file -> sha256 from the Files table of maps/vendor/PROVENANCE.md."""
    text = (VENDOR / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| \d+ \| `([0-9a-f]{64})` \|", text, re.M)
    return dict(rows)


def full_map():
    m = offline_map(location=[28.1, 112.9], zoom_start=7)
    folium.GeoJson(AREAS, name="cities", popup=folium.GeoJsonPopup(["name", "rate"]),
                   tooltip=folium.GeoJsonTooltip(["name"]),
                   style_function=lambda f: {"fillColor": "#3a3", "color": "#333"}).add_to(m)
    group = folium.FeatureGroup(name="stations").add_to(m)
    folium.CircleMarker([28.2, 112.9], radius=6, popup=folium.Popup("<b>长沙 AQI 63</b>"),
                        tooltip="长沙").add_to(group)
    folium.Marker([28.0, 113.0], icon=folium.Icon(icon="cloud", prefix="fa", angle=30)).add_to(group)
    folium.Marker([27.9, 112.5], icon=folium.Icon()).add_to(group)  # glyphicon info-sign
    TimestampedGeoJson(DAYS, period="P1D", duration="P1D", date_options="YYYY-MM-DD",
                       auto_play=False).add_to(m)
    folium.LayerControl().add_to(m)
    return m


def vendor_blocks(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<(?:script|style) data-envq-vendor="([^"]+)">\n(.*?)\n</(?:script|style)>',
                      html, re.S)


def test_vendored_files_match_provenance():
    recorded = provenance()
    used = {f for a in CDN_ASSETS for f in a.files}
    assert used <= set(recorded), used - set(recorded)
    for name, sha in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name
    for ref in re.findall(r"`(licenses/[^`]+)`", (VENDOR / "PROVENANCE.md").read_text(encoding="utf-8")):
        assert (VENDOR / ref).is_file(), ref


def test_cdn_table_covers_what_folium_emits():
    emitted = {url for _, url in folium.Map.default_js + folium.Map.default_css}
    emitted |= {url for _, url in TimestampedGeoJson.default_js + TimestampedGeoJson.default_css}
    assert emitted == set(CDN_BY_URL)


def test_vendored_css_has_only_data_urls_and_js_only_reviewed_urls():
    for name in {f for a in CDN_ASSETS for f in a.files}:
        text = vendored_text(name)
        if name.endswith(".css"):
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", text):
                assert ref.startswith("data:") or ref.startswith("#"), (name, ref[:60])
            assert "@import" not in text
        assert set(external_urls(text)) == set(VENDOR_REVIEWED.get(name, {})), name


def test_full_map_saved_offline_has_no_external_url(tmp_path):
    out = save_offline(full_map(), tmp_path / "map.html")
    html = out.read_bytes().decode("utf-8")
    assert external_urls(html) == []
    assert not re.search(r"<script\b[^>]*\bsrc=", html, re.I)
    assert not re.search(r"<link\b[^>]*stylesheet", html, re.I)
    for url in CDN_BY_URL:
        assert url not in html
    # the inline content is the vendored files, byte for byte, each once
    recorded = provenance()
    blocks = vendor_blocks(html)
    names = [n for n, _ in blocks]
    assert len(names) == len(set(names))
    assert set(names) == {f for a in CDN_ASSETS for f in a.files}
    for name, content in blocks:
        assert hashlib.sha256(content.encode("utf-8")).hexdigest() == recorded[name], name
    # order: leaflet and its icon shim before anything using L; jQuery before the plugins
    assert names.index("leaflet.js") < names.index("leaflet-default-icon.js") < names.index(
        "leaflet.awesome-markers.min.js") < names.index("leaflet.timedimension.min.js")
    assert names.index("jquery.min.js") < names.index("leaflet.timedimension.min.js")
    assert "L.timeDimension" in html and "L.AwesomeMarkers.icon" in html


def test_unknown_external_script_fails_naming_it(tmp_path):
    m = full_map()
    m.get_root().header.add_child(JavascriptLink("https://cdn.example.org/lib/extra.min.js"))
    target = tmp_path / "map.html"
    with pytest.raises(ExternalReferenceError) as err:
        save_offline(m, target)
    assert err.value.urls == ["https://cdn.example.org/lib/extra.min.js"]
    assert "https://cdn.example.org/lib/extra.min.js" in str(err.value)
    assert not target.exists()


def test_tiles_and_unvendored_plugins_fail(tmp_path):
    with pytest.raises(ExternalReferenceError) as err:
        save_offline(folium.Map(), tmp_path / "osm.html")  # folium's default OpenStreetMap tiles
    assert err.value.urls == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    # an intranet tile server is accepted when allowed explicitly
    m = offline_map()
    folium.TileLayer("https://tiles.hunan.internal/{z}/{x}/{y}.png", attr="内网底图").add_to(m)
    save_offline(m, tmp_path / "intranet.html", allow=("https://tiles.hunan.internal/",))
    with pytest.raises(ExternalReferenceError, match="d3js.org/d3.v4.min.js"):
        m = offline_map()
        TimeSliderChoropleth({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "0", "properties": {}, "geometry": SQUARE}]},
            styledict={"0": {"1546300800": {"color": "red", "opacity": 1}}}).add_to(m)
        save_offline(m, tmp_path / "tsc.html")


@pytest.mark.parametrize("snippet, expected", [
    ('<img src="https://x.org/a.png">', ["https://x.org/a.png"]),
    ("<img src='//x.org/a.png'>", ["//x.org/a.png"]),
    ('<iframe src=https://x.org/f></iframe>', ["https://x.org/f"]),
    ('<link rel="icon" href="https://x.org/favicon.ico">', ["https://x.org/favicon.ico"]),
    ("<style>@import url(//fonts.x.org/css);</style>", ["//fonts.x.org/css"]),
    ('<style>@import "https://x.org/a.css";</style>', ["https://x.org/a.css"]),
    ("<style>.a{background:url('https://x.org/b.png')}</style>", ["https://x.org/b.png"]),
    ("<script>fetch('https://api.x.org/v1?q=1')</script>", ["https://api.x.org/v1?q=1"]),
    ('<script>var u = "\\/\\/x.org\\/a.js";</script>', ["//x.org/a.js"]),  # JSON-escaped slashes
    ('<script>var u = "//x.org/a.js";</script>', ["//x.org/a.js"]),
    ('<script>L.tileLayer("https:\\/\\/t.x.org\\/{z}.png")</script>', ["https://t.x.org/{z}.png"]),
    ('<script>new WebSocket("wss://x.org/s")</script>', ["wss://x.org/s"]),
    ('<a ping="https://x.org/p" href="#">p</a>', ["https://x.org/p"]),
    # allowed: plain <a href> links (also inside JS strings / JSON), XML namespaces, comments '//'
    ('<a href="https://www.mee.gov.cn/">生态环境部</a>', []),
    ('<a target="_blank" href=\'http://x.org\'>x</a>', []),
    ('<script>var a = {"attribution": "\\u003ca href=\\"https://osm.org/c\\"\\u003eOSM\\u003c/a\\u003e"};</script>', []),
    ('<script>var p = \'<a href="https://leafletjs.com" title="t">Leaflet</a>\';</script>', []),
    ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', []),
    ("<script>// a comment\nvar x = 1; // another</script>", []),
    ('<img src="data:image/png;base64,iVBORw0KGgo=">', []),
])
def test_external_url_rule(snippet, expected):
    assert external_urls(snippet) == expected


def test_tampered_vendor_block_is_scanned():
    html = inline_assets('<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>')
    assert external_urls(html) == []
    tampered = html.replace("L.Icon.Default.imagePath = '';", "fetch('https://evil.example/x');")
    assert external_urls(tampered) == ["https://evil.example/x"]


def test_empty_map_html_size(tmp_path):
    out = save_offline(offline_map(), tmp_path / "empty.html")
    size = out.stat().st_size
    vendored = sum((VENDOR / f).stat().st_size for f in provenance())
    print(f"\nempty offline map: {size} bytes; all vendored files: {vendored} bytes")
    # the Map's own files (no TimeDimension): everything but the plugin's 4 files
    plugin = sum((VENDOR / f).stat().st_size for f in (
        "iso8601.js", "leaflet.timedimension.min.js", "leaflet.timedimension.control.min.css",
        "moment.min.js"))
    assert vendored - plugin < size < vendored - plugin + 5_000
    assert size < 1_000_000
