"""The pages rendered from a real store: what each holds, the figures they show, offline."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from _maps_store import AIR_PERIOD, WATER_PERIOD
from maps.assets import external_urls


@pytest.fixture(scope="module")
def rendered(maps_site):
    return maps_site


def _text(path) -> str:
    return path.read_bytes().decode("utf-8")  # as written (leaflet.css keeps its CRLF)


def test_every_page_is_written_and_offline(rendered):
    store, done = rendered
    out = done.index.parent
    assert set(done.pages) == {"index", "air", "water", "reach/xiang-main-province", "reach/xiang-changzhutan-city",
                               "reach/dongting-lake"}
    for key, path in done.pages.items():
        html = _text(path)
        assert external_urls(html) == [], key
        assert path.stat().st_size < 3_000_000, (key, path.stat().st_size)
    manifest = json.loads((out / "maps.json").read_text(encoding="utf-8"))
    assert manifest["period"] == AIR_PERIOD and manifest["water_period"] == WATER_PERIOD
    assert manifest["day"] == "2019-07-31"  # the last day with data
    assert manifest["pages"]["air"]["bytes"] == done.pages["air"].stat().st_size


def test_index_shows_the_stored_figures(rendered):
    store, done = rendered
    html = _text(done.index)
    air = store.read_result("air_rates", AIR_PERIOD)
    prov = air[air["scope"] == "province"].iloc[0]
    water = store.read_result("water_rates", WATER_PERIOD)
    wprov = water[water["group"] == "province"].iloc[0]
    # July 2019: the mean of the 14 city ratios; August 2026: 59 of 61 sections in Class I-III
    assert f'<div class="big">{prov["good_day_ratio"]:.1f}%</div>' in html
    assert '<div class="big">96.7%</div>' in html and "59/61 个断面 sections" in html
    assert int(wprov["sections"]) == 61
    for href in ("air.html", "water.html", "reaches/xiang-main-province.html", "reaches/dongting-lake.html"):
        assert f'href="{href}"' in html
    # every city row, with its ratio as stored
    for _, r in air[air["scope"] == "city"].iterrows():
        assert f'<td>{r["name"]}</td><td class="num">{r["good_day_ratio"]:.1f}%</td>' in html
    # legends: the HJ 633 colours and names, and the GB 3838 classes
    for hexcol, name in (("#00E400", "优"), ("#FFFF00", "良"), ("#FF7E00", "轻度污染"), ("#7E0023", "严重污染")):
        assert re.search(f'background:{hexcol}"></span></td><td>{name}', html), name
    assert "劣Ⅴ类 重度污染" in html


def test_air_page_holds_every_station_day(rendered):
    store, done = rendered
    html = _text(done.pages["air"])
    days = store.read_result("air_station_days", "2019")
    july = days[days["date"].str.startswith("2019-07")]
    m = re.search(r"var d = (\{.*?\});\n", html)
    data = json.loads(m.group(1))
    assert data["days"][0] == "2019-07-01" and data["days"][-1] == "2019-07-31" and data["start"] == 30
    assert len(data["levels"]) == july["station"].nunique() == 82
    # the level string of each station equals the stored station days (0 = no valid day)
    codes = sorted(july["station"].unique())
    lv = july.assign(level=july["level"].where(july["valid"], 0)).pivot(index="station", columns="date", values="level")
    assert data["levels"] == ["".join(str(int(v)) for v in lv.loc[c]) for c in codes]
    assert html.count('class="envq-chart"') == 82 + 14  # one chart per station and per city


def test_reach_page_lists_the_sections_in_order(rendered):
    _, done = rendered
    html = _text(done.pages["reach/xiang-main-province"])
    order = ["绿埠头", "归阳镇", "城北水厂", "熬洲", "马家河", "昭山", "桔子洲", "樟树港"]
    at = [html.find(f'<td>{i}</td><td>{name}</td>') for i, name in enumerate(order, start=1)]
    assert all(a > 0 for a in at) and at == sorted(at)
    assert "100.0%</b> (8/8)" in html


def test_a_missing_part_is_noted_not_drawn(rendered, tmp_path):
    from maps.render import render_maps

    store, _ = rendered
    done = render_maps(store, tmp_path, period="2018", water_period=WATER_PERIOD)
    assert "air" not in done.pages and "water" in done.pages
    assert "no results for 2018" in _text(done.index)


def test_envq_maps_command(rendered, tmp_path, capsys):
    from envq.cli import main

    store, _ = rendered
    code = main(["maps", "--period", AIR_PERIOD, "--water-period", WATER_PERIOD, "--date", "2019-07-15",
                 "--store", str(store.root), "--output", str(tmp_path / "m")])
    assert code == 0
    assert f"Index: {(tmp_path / 'm' / 'index.html').resolve()}" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "maps.json").read_text(encoding="utf-8"))["day"] == "2019-07-15"
    # a day outside the period, and a store that does not exist: exit 2 with the reason
    assert main(["maps", "--period", AIR_PERIOD, "--date", "2019-08-15", "--store", str(store.root),
                 "--output", str(tmp_path / "n")]) == 2
    assert "outside period 2019-07" in capsys.readouterr().err
    assert main(["maps", "--period", AIR_PERIOD, "--store", str(tmp_path / "nothing"), "--output",
                 str(tmp_path / "n")]) == 2


def test_amap_tiles_shift_every_overlay_to_gcj02(rendered, tmp_path):
    """AMap tiles are GCJ-02: the stations, sections and outlines move with them; only the tile
    server is let through the offline check."""
    from geo import pack
    from geo.gcj02 import wgs84_to_gcj02
    from maps.render import render_maps

    store, plain = rendered
    done = render_maps(store, tmp_path, period=AIR_PERIOD, water_period=WATER_PERIOD, tiles="amap")
    html = _text(done.pages["air"])
    assert "https://webrd0{s}.is.autonavi.com/appmaptile" in html
    left = external_urls(html)
    assert left and all(u.startswith("https://webrd0{s}.is.autonavi.com/") for u in left)
    assert external_urls(html, allow=("https://webrd0{s}.is.autonavi.com/",)) == []
    first = pack.layer("stations", "display").sort_values("code").iloc[0]

    def first_marker(page):
        lat, lon = re.search(r"L\.circleMarker\(\s*\[([\d.]+), ([\d.]+)\]", page).groups()
        return float(lon), float(lat)

    assert first_marker(_text(plain.pages["air"])) == (first["lon"], first["lat"])
    x, y = wgs84_to_gcj02(first["lon"], first["lat"])
    assert first_marker(html) == pytest.approx((float(x), float(y)), abs=1e-12)
    assert "autonavi" not in _text(plain.pages["air"])


def test_reach_pages_use_the_readings_the_run_screens(tmp_path):
    """An impossible pH (15) at 樟树港 is screened by the run; the reach page must not use it."""
    import datetime as dt

    from envq.periods import periods_touched
    from envq.sources.adapters import open_source
    from envq.store import Store
    from flows.pipeline import compute
    from maps.render import render_maps
    from maps.style import class_name

    a, b = dt.date(2026, 8, 1), dt.date(2026, 8, 10)
    src = open_source("water", {})
    long = src.parse(src.fetch(a, b), a, b)
    bad = (long["section"] == "樟树港") & (long["item"] == "ph")
    assert bad.sum() > 100
    long.loc[bad, "value"] = 15.0
    store = Store(tmp_path / "store")
    with store.lock(run_id="test"):
        store.upsert_water(long, source="water")
        res = compute.fn("water", str(store.root), dt.date(2026, 1, 1), b, periods_touched([a, b]))
        store.write_results(res, 2026)
    assert (res["water_screened"]["section"] == "樟树港").sum() == bad.sum()
    want = res["water_sections"].set_index(["period", "section"]).loc[("2026-08", "樟树港"), "class"]
    assert class_name(want) != "劣Ⅴ类"  # pH 15 would make it 劣Ⅴ
    done = render_maps(store, tmp_path / "out", period="2026-08")
    page = _text(done.pages["reach/xiang-main-province"])
    assert re.search(f'<td>8</td><td>樟树港</td><td style="background:#[0-9A-F]{{6}}">{class_name(want)}</td>', page)
    assert "air" not in done.pages  # no air stored: noted, not drawn


def test_a_render_replaces_the_previous_pages_as_a_set(rendered, tmp_path):
    """Pages of the previous render that this one does not write (no air now, a reach gone) are
    removed; two renders of the same results are the same bytes."""
    from envq.water.reaches import load_reaches
    from maps.render import render_maps

    store, _ = rendered
    first = render_maps(store, tmp_path / "a", period=AIR_PERIOD, water_period=WATER_PERIOD)
    again = render_maps(store, tmp_path / "b", period=AIR_PERIOD, water_period=WATER_PERIOD)
    for key in ("air", "water", "reach/dongting-lake"):
        assert first.pages[key].read_bytes() == again.pages[key].read_bytes(), key
    one = {"dongting-lake": load_reaches()["dongting-lake"]}  # only this stored reach gets a page now
    done = render_maps(store, tmp_path / "a", period="2018", water_period=WATER_PERIOD, reaches=one)
    # the latest render at the top: no air page now, one reach; each period keeps its own pages
    # (issue 13, history): August 2026 rendered again keeps only its reach of now, July 2019 is past
    assert sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*.html")) == [
        "2019-07/air.html", "2026-08/reaches/dongting-lake.html", "2026-08/water.html", "index.html",
        "reaches/dongting-lake.html", "water.html"]
    assert set(done.pages) == {"index", "water", "reach/dongting-lake"}
    index = done.index.read_text(encoding="utf-8")
    assert 'href="2019-07/air.html"' in index and 'href="2026-08/water.html"' in index  # 往期


def test_periods_are_checked_before_anything_is_written(rendered, tmp_path):
    from maps.render import render_maps

    store, _ = rendered
    with pytest.raises(ValueError, match="water period '2026-13'"):
        render_maps(store, tmp_path / "x", period=AIR_PERIOD, water_period="2026-13")
    assert not (tmp_path / "x").exists()


def test_a_failed_render_leaves_the_previous_pages(rendered, tmp_path, monkeypatch):
    """A page that fails after others rendered (here the reach pages) writes nothing: yesterday's
    set stays whole."""
    import maps.reach
    from maps.render import render_maps

    store, _ = rendered
    render_maps(store, tmp_path, period=AIR_PERIOD, water_period=WATER_PERIOD)
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("reach page failed")

    monkeypatch.setattr(maps.reach, "reach_map", broken)
    with pytest.raises(RuntimeError, match="reach page failed"):
        render_maps(store, tmp_path, period="2019-Q3", water_period="2026-Q3")
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before


def test_reach_show_and_the_reach_page_read_the_same_stored_report(rendered, tmp_path, capsys):
    """`envq reach show --store` and the maps read the stored reach results; computing the report
    from the same readings (`envq reach show` with files) gives the same numbers."""
    from envq.cli import main

    store, done = rendered
    page = _text(done.pages["reach/dongting-lake"])
    rate = re.search(r'<b class="envq-reach-rate">([0-9.]+%)</b> \((\d+)/(\d+)\)', page).groups()
    out = tmp_path / "stored.csv"
    assert main(["reach", "show", "dongting-lake", "--period", WATER_PERIOD, "--store", str(store.root),
                 "-o", str(out)]) == 0
    stored = capsys.readouterr().out.splitlines()
    assert f"Ⅰ~Ⅲ类比例 {rate[0]} ({rate[1]}/{rate[2]})" in stored[1]
    assert rate == ("75.0%", "3", "4")  # observed (docs/water.md): 3 of Dongting Lake's 4 points in Class I-III
    computed = tmp_path / "computed.csv"
    assert main(["reach", "show", "dongting-lake", "--period", WATER_PERIOD, "-o", str(computed)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == stored[1]
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(computed))
    for _, row in pd.read_csv(out).iterrows():  # every section's class on the page as in the table
        assert re.search(f'<td>{row["order"]}</td><td>{row["section"]}</td><td style="background:#[0-9A-F]{{6}}">'
                         f'{row["class_name"]}</td>', page), row["section"]
    # a period the store does not hold: a usage error listing the periods it holds
    assert main(["reach", "show", "dongting-lake", "--period", "2026-H1", "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert "no result 'water_reach_rates'" in err and "2026-07" in err and "2026-08" in err
