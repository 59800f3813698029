"""Colours, names, charts and tiles of the maps, against the standards' data files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from envq.targets import is_met
from maps.base import Canvas, tiles_setting
from maps.style import aqi_colours, band_label, class_colour, class_name, esc, rate_band
from maps.svg import aqi_chart, class_history, class_profile


def test_aqi_colours_are_hj633_table_2():
    # HJ 633-2012 Table 2: 绿 (0,228,0), 黄 (255,255,0), 橙 (255,126,0), 红 (255,0,0),
    # 紫 (153,0,76), 褐红 (126,0,35); index 0 = no valid day (grey)
    assert aqi_colours("hj633_2012") == ["#BDBDBD", "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"]
    assert aqi_colours("hj633_2026")[1:] == aqi_colours("hj633_2012")[1:]


def test_water_classes_names_and_colours():
    assert [class_name(k) for k in range(1, 7)] == ["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"]
    assert class_colour(6) == "#FF0000"  # 劣Ⅴ red [S1]
    assert class_name(None) == "—" and class_colour(float("nan")) == "#BDBDBD"


@pytest.mark.parametrize("value,target,band", [
    (83.0, 83, "met"), (83.04, 83, "met"), (82.96, 83, "met"),  # judged on the published 1-decimal value
    (82.9, 83, "near"), (78.1, 83, "near"), (78.0, 83, "far"), (None, 83, "none"), (float("nan"), 95, "none"),
    (95.238, 95, "met"), (94.9, 95, "near"),
])
def test_rate_band(value, target, band):
    # the verdict is the engine's (envq.targets, stored as target_met); the map colours it
    assert rate_band(value, target, is_met(value, target)).key == band


def test_band_labels_in_chinese_and_english():
    assert band_label(rate_band(80, 83, False)) == ("未达标，差距<5个百分点", "short by < 5 points")
    assert band_label(rate_band(80, 83, False, near=3), near=3) == ("未达标，差距≥3个百分点", "short by ≥ 3 points")


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "`${alert(1)}`", "a\\`b", "\"'&"])
def test_esc_leaves_no_markup_and_nothing_for_a_template_literal(text):
    out = esc(text)
    assert not re.search(r"[<>`$\\\"']", out)
    import html

    assert html.unescape(out) == text  # shown as the same text


def test_aqi_chart_one_bar_per_valid_day_in_its_category_colour():
    # 4 days: AQI 50 (优), missing, 160 (中度污染), 320 (严重污染, drawn to the top of a 0-350 scale)
    html = aqi_chart(["2019-07-01", "2019-07-02", "2019-07-03", "2019-07-04"], [50, np.nan, 160, 320], [1, 0, 4, 6])
    paths = dict(re.findall(r'<path stroke="(#[0-9A-F]{6})" stroke-width="2" d="([^"]+)"', html))
    assert paths == {"#00E400": "M1 100V86", "#FF0000": "M5 100V54", "#7E0023": "M7 100V9"}
    assert 'viewBox="0 0 8 100"' in html and "3/4 天有效 valid days" in html
    assert "(0–350)" in html  # the scale rounds the largest AQI up to 50
    with pytest.raises(ValueError, match="2 dates, 1 AQI values"):
        aqi_chart(["a", "b"], [1], [1])


def test_class_profile_and_history():
    svg = class_profile(["上游<1>", "中游", "下游"], [2, None, 4], target_class=3)
    assert svg.count('class="envq-profile-point"') == 2 and svg.count('class="envq-profile-missing"') == 1
    assert "上游&lt;1&gt;" in svg and "<1>" not in svg
    assert "目标 target Ⅲ类" in svg
    hist = class_history(["2026-07", "2026-08"], [2, None])
    assert "background:#00CCFF" in hist and "<b>—</b>" in hist


def test_tiles_presets():
    assert tiles_setting(None).url is None and tiles_setting("none").allow == ()
    osm = tiles_setting("osm")
    assert osm.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png" and osm.crs == "wgs84"
    with pytest.raises(ValueError, match="needs a key"):
        tiles_setting("tianditu")
    tdt = tiles_setting("tianditu", tianditu_key="K")
    assert tdt.url.endswith("&tk=K") and "vec_w" in tdt.url and "cva_w" in tdt.labels_url
    amap = tiles_setting("amap")
    assert amap.crs == "gcj02" and amap.allow == ("https://webrd0{s}.is.autonavi.com/",)
    custom = tiles_setting("https://tiles.intranet.hn/{z}/{x}/{y}.png", crs="gcj02")
    assert custom.allow == ("https://tiles.intranet.hn/",) and custom.crs == "gcj02"
    with pytest.raises(ValueError, match="must be one of"):
        tiles_setting("google")
    # the offline check lets through the whole server name only, {s} included
    from maps.assets import external_urls

    sub = tiles_setting("https://{s}.tiles.intranet.hn/{z}/{x}/{y}.png")
    assert sub.allow == ("https://{s}.tiles.intranet.hn/",)
    assert external_urls('fetch("https://evil.example.com/x.js")', allow=sub.allow) == ["https://evil.example.com/x.js"]
    assert tiles_setting("http://tiles{s}.hn/{z}/{x}/{y}.png").allow == ("http://tiles{s}.hn/",)
    with pytest.raises(ValueError, match="no complete server name"):
        tiles_setting("https://{z}.example/{x}/{y}.png")


def test_amap_overlays_are_shifted_to_gcj02():
    from geo.gcj02 import wgs84_to_gcj02

    lon, lat = 112.9388, 28.2282  # 长沙
    x, y = Canvas("gcj02").lonlat(lon, lat)
    ex, ey = wgs84_to_gcj02(lon, lat)
    assert (x, y) == (float(ex), float(ey))
    assert 0.002 < abs(x - lon) + abs(y - lat) < 0.01  # a few hundred metres in Hunan
    assert Canvas("wgs84").lonlat(lon, lat) == (lon, lat)


def test_maps_config_table(tmp_path):
    from envq.config import load_config
    from envq.errors import InputError
    from maps.render import tiles_from_config

    cfg = tmp_path / "envq.toml"
    cfg.write_text('[maps]\ntiles = "amap"\noutput = "pages"\n', encoding="utf-8")
    conf = load_config(cfg)
    assert conf["maps"]["output"] == str((tmp_path / "pages").resolve())
    assert tiles_from_config(config=conf, environ={}).name == "amap"
    assert tiles_from_config("none", config=conf, environ={}).url is None  # the command line wins
    cfg.write_text('[maps]\ntile = "osm"\n', encoding="utf-8")
    with pytest.raises(InputError, match="maps.tile"):
        load_config(cfg)


def test_rates_are_shown_and_judged_as_published_by_gbt8170():
    # 23 of 80 sections = 28.749999... in binary; GB/T 8170 (the figure as published) gives 28.8,
    # Python's round and format give 28.7
    from envq.targets import is_met, published
    from maps.style import pct

    share = 23 / 80 * 100
    assert (published(share), round(share, 1), f"{share:.1f}") == (28.8, 28.7, "28.7")
    assert pct(share) == "28.8%"
    assert is_met(share, 28.8) is True and rate_band(share, 28.8, is_met(share, 28.8)).key == "met"
    v = 49 / 80 * 100
    assert rate_band(v, 61.25, is_met(v, 61.25)).key == "near"  # 61.25000...1 is published 61.2
