"""The pages as a person uses them: opened in real headless Chromium with every request outside
the page's folder blocked; counted, clicked, stepped through; a screenshot of each for review
(``build/screenshots/`` or ``$ENVQ_SCREENSHOTS``)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from _browser import assert_clean, chromium, open_page, wait_settled  # noqa: F401  (chromium: fixture)
from _maps_store import AIR_PERIOD, WATER_PERIOD

REACHES = ("xiang-main-province", "xiang-changzhutan-city", "dongting-lake")


def _placed_sections(store) -> pd.DataFrame:
    s = store.read_result("water_sections", WATER_PERIOD)
    return s[s["lon"].notna() & s["lat"].notna()]


def _counts(page, selectors) -> dict[str, int]:
    return {sel: page.locator(sel).count() for sel in selectors}


def _expected(store, page_key: str) -> dict[str, int]:
    from geo import pack
    from maps.base import context_layers

    _, _, rivers, lakes = context_layers()
    if page_key == "air":
        return {"path.envq-station": 82, "path.envq-city": 14, "path.envq-river": len(rivers),
                "path.envq-lake": len(lakes), ".envq-day-control": 1, "path.envq-province": 1}
    if page_key == "water":
        return {"path.envq-section": len(_placed_sections(store)), "path.envq-basin": 6,
                "path.envq-river": len(rivers), "path.envq-lake": len(lakes), "path.envq-city-outline": 14}
    from envq.water.reaches import load_reaches

    reach = load_reaches()[page_key.split("/", 1)[1]]
    located = set(pack.layer("sections", "display")["section"])
    n = sum(s in located for s in reach.sections)
    return {".envq-reach-section": n, "svg.envq-profile circle": len(reach.sections),
            "path.envq-reach-order": 1 if n > 1 else 0}


@pytest.mark.parametrize("page_key", ["air", "water", *(f"reach/{r}" for r in REACHES)])
def test_page_loads_offline_and_shows_every_feature(chromium, maps_site, page_key):
    store, done = maps_site
    with open_page(chromium, done.pages[page_key]) as visit:
        wait_settled(visit.page)
        expected = _expected(store, page_key)
        assert _counts(visit.page, expected) == expected
        visit.shoot(f"maps-{page_key.replace('/', '-')}")
        assert_clean(visit)


def test_index_page_links_every_map(chromium, maps_site):
    _, done = maps_site
    with open_page(chromium, done.index, wait_for=None) as visit:
        hrefs = visit.page.eval_on_selector_all("a.envq-link:not(.envq-past-map):not(.envq-past-report)",
                                                "as => as.map(a => a.getAttribute('href'))")
        assert sorted(set(hrefs)) == sorted(["air.html", "water.html", *(f"reaches/{r}.html" for r in REACHES)])
        # the past periods (往期) list this render's periods too, each page kept in its period's folder
        past = visit.page.eval_on_selector_all("a.envq-past-map", "as => as.map(a => a.getAttribute('href'))")
        assert {"2019-07/air.html", "2026-08/water.html"} <= set(past), past
        assert all((done.index.parent / h).is_file() for h in past), past
        # following a link opens the map (file:// inside the folder: allowed)
        visit.page.click("a.envq-reach-link >> nth=0")
        visit.page.wait_for_selector(".envq-reach-panel")
        assert visit.page.url.endswith("/reaches/xiang-main-province.html")
        visit.page.go_back()
        visit.shoot("maps-index")
        assert_clean(visit)


def _popup_text(page) -> str:
    """The open popup's text, once it has stopped moving (auto-pan moves the map under it: a click
    meant for its close button would land on whatever the pan brings there)."""
    page.wait_for_selector(".leaflet-popup-content", state="visible")
    last = None
    for _ in range(50):
        box = page.locator(".leaflet-popup").bounding_box()
        if box == last:
            break
        last = box
        page.wait_for_timeout(150)
    return page.inner_text(".leaflet-popup-content")


def _close_popup(page) -> None:
    page.click(".leaflet-popup-close-button")
    page.wait_for_selector(".leaflet-popup", state="detached")


def _visible_point(page, selector: str, nth: int = 0, *, exact: bool = True) -> tuple[float, float]:
    """A point of the *nth* feature that is on top (not under another feature or a control) and
    in view; with ``exact=False`` of the next such feature from *nth* on."""
    point = page.evaluate("""([sel, nth, exact]) => {
        const els = document.querySelectorAll(sel);
        for (let k = 0; k < (exact ? 1 : els.length); k++) {
            const el = els[(nth + k) % els.length];
            const r = el.getBoundingClientRect();
            for (let fy = 0.5; fy < 1; fy += 0.05) for (const fx of [0.5, 0.4, 0.6, 0.3, 0.7]) {
                const x = r.left + r.width * fx, y = r.top + r.height * fy;
                if (x > 0 && y > 0 && x < innerWidth && y < innerHeight && document.elementFromPoint(x, y) === el)
                    return [x, y];
            }
        }
        return null;
    }""", [selector, nth, exact])
    assert point, f"no visible point of {selector}[{nth}]"
    return point


def _click(page, selector: str, nth: int = 0, *, exact: bool = True) -> str:
    """Click the feature as a mouse would (:func:`_visible_point`); the text of its popup."""
    page.mouse.click(*_visible_point(page, selector, nth, exact=exact))
    return _popup_text(page)


def test_popups_open_on_click(chromium, maps_site):
    store, done = maps_site
    rates = store.read_result("air_rates", AIR_PERIOD)
    with open_page(chromium, done.pages["air"]) as visit:
        wait_settled(visit.page)
        text = _click(visit.page, "path.envq-city", 0)
        city = next(n for n in rates.loc[rates["scope"] == "city", "name"] if n in text)
        ratio = rates.loc[(rates["scope"] == "city") & (rates["name"] == city), "good_day_ratio"].iloc[0]
        assert f"good-air-day ratio: {ratio:.1f}%" in text and "首要污染物" in text
        assert visit.page.locator(".leaflet-popup-content svg.envq-aqi-chart").count() == 1
        _close_popup(visit.page)
        text = _click(visit.page, "path.envq-station", 40, exact=False)
        assert "station figures are for information" in text
        visit.shoot("maps-air-popup")
        assert_clean(visit)
    with open_page(chromium, done.pages["water"]) as visit:
        wait_settled(visit.page)
        text = _click(visit.page, "path.envq-section", 10)
        assert "水质类别 class" in text and "定类项目 limiting items" in text and "位置 location" in text
        assert visit.page.locator(".leaflet-popup-content table.envq-class-history td").count() == 2  # July, August
        _close_popup(visit.page)
        text = _click(visit.page, "path.envq-basin", 0)
        assert "Class I–III share" in text
        visit.shoot("maps-water-popup")
        assert_clean(visit)
    with open_page(chromium, done.pages["reach/xiang-main-province"]) as visit:
        visit.page.click(".envq-reach-section >> nth=0")
        text = _popup_text(visit.page)
        assert text.startswith("1. 绿埠头")
        assert_clean(visit)


def _fills(page) -> list[str]:
    return page.eval_on_selector_all("path.envq-station", "ps => ps.map(p => p.getAttribute('fill'))")


def _expected_fills(store, day: str) -> list[str]:
    from maps.style import aqi_colours

    days = store.read_result("air_station_days", "2019")
    d = days[days["date"] == day].set_index("station").sort_index()
    colours = aqi_colours("hj633_2012")
    return [colours[int(lv) if ok else 0] for lv, ok in zip(d["level"], d["valid"])]


def test_day_control_steps_through_the_days(chromium, maps_site):
    store, done = maps_site
    with open_page(chromium, done.pages["air"]) as visit:
        page = visit.page
        wait_settled(page)
        ctl = page.locator(".envq-day-control")
        assert ctl.get_attribute("data-day") == "2019-07-31"
        assert _fills(page) == _expected_fills(store, "2019-07-31")
        page.click(".envq-day-prev")
        assert ctl.get_attribute("data-day") == "2019-07-30"
        assert page.inner_text(".envq-day-label") == "2019-07-30"
        assert _fills(page) == _expected_fills(store, "2019-07-30")
        page.fill(".envq-day-range", "0")  # the slider to its first day
        assert ctl.get_attribute("data-day") == "2019-07-01"
        assert _fills(page) == _expected_fills(store, "2019-07-01")
        page.click(".envq-day-next")
        assert ctl.get_attribute("data-day") == "2019-07-02"
        # the day's count per category, as the control prints it
        days = store.read_result("air_station_days", "2019")
        d2 = days[(days["date"] == "2019-07-02") & days["valid"]]
        shown = dict(re.findall(r"(\S+) (\d+)", page.inner_text(".envq-day-counts")))
        assert {k: int(v) for k, v in shown.items() if k != "data"} == d2["category"].value_counts().to_dict()
        # the tooltip of a station follows the day
        page.mouse.move(*_visible_point(page, "path.envq-station", 0, exact=False))
        assert "2019-07-02 AQI" in page.inner_text(".leaflet-tooltip")
        page.click(".envq-day-play")
        page.wait_for_function("document.querySelector('.envq-day-control').dataset.day >= '2019-07-04'")
        page.click(".envq-day-play")  # pause
        stopped = ctl.get_attribute("data-day")
        page.wait_for_timeout(900)
        assert ctl.get_attribute("data-day") == stopped
        visit.shoot("maps-air-day-control")
        assert_clean(visit)


def test_text_from_data_is_shown_as_text(chromium, maps_site, tmp_path):
    """Station and section names that are markup or script show as text and run nothing."""
    from geo import pack
    from maps.air import air_map
    from maps.assets import save_offline
    from maps.water import water_map

    store, _ = maps_site
    evil = ["<script>alert(1)</script>", '<img src=x onerror="window.__xss=1">', "`${window.__xss=2}`\\"]
    stations = pack.layer("stations", "display").sort_values("code").reset_index(drop=True)
    stations.loc[0:2, "name"] = evil
    year = store.read_result("air_station_days", "2019")
    m = air_map(rates=store.read_result("air_rates", AIR_PERIOD), city_days=store.read_result("air_city_days", "2019"),
                station_rates=store.read_result("air_station_rates", AIR_PERIOD), station_days=year,
                stations=stations, period=AIR_PERIOD)
    save_offline(m, tmp_path / "air.html")
    sections = store.read_result("water_sections", WATER_PERIOD)
    placed = sections.index[sections["lon"].notna()][:3]
    sections.loc[placed, "section"] = evil
    sections.loc[placed, "coordinate_note"] = evil[0]
    w = water_map(sections=sections, basin_rates=None, province_rate=None, period=WATER_PERIOD)
    save_offline(w, tmp_path / "water.html")

    for page_name, selector in (("air.html", "path.envq-station"), ("water.html", "path.envq-section")):
        with open_page(chromium, tmp_path / page_name) as visit:
            page = visit.page
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            wait_settled(page)
            shown = []
            for k in range(3):  # the renamed features are the first three (by code; by name for sections)
                page.locator(selector).nth(k).dispatch_event("click")  # wherever it is, even under another
                shown.append(_popup_text(page))
                _close_popup(page)
            text = "\n".join(shown)
            for e in evil:
                assert e in text, (page_name, e)
            assert page.evaluate("window.__xss === undefined")
            assert dialogs == []
            assert page.locator(".leaflet-popup-content script, .leaflet-popup-content img").count() == 0
            visit.shoot(f"maps-escaped-{page_name[:-5]}")
            assert_clean(visit)


def test_reach_texts_from_a_bureau_file_are_shown_as_text(chromium, maps_site, tmp_path):
    """The reaches YAML is data too: its names reach the index and the reach page as text."""
    import shutil

    from envq.report import water_results
    from envq.store import Store
    from envq.water.reaches import load_reaches
    from maps.render import render_maps

    site, _ = maps_site
    shutil.copytree(site.root, tmp_path / "store")  # this test's reaches, stored as the run stores them
    store = Store(tmp_path / "store", create=False)
    evil = "<img src=x onerror=\"window.__xss=1\">`${window.__xss=2}`"
    path = tmp_path / "reaches.yaml"
    path.write_text(
        "reaches:\n"
        "  - id: evil-reach\n"
        f"    name: '{evil} 河段'\n"
        "    river: '<b>湘江</b>'\n"
        "    from: 'https://example.com/from'\n"
        "    to: '</script><script>window.__xss=3</script>'\n"
        "    level: 省\n"
        "    chief_title: '<i>省级</i>河长'\n"
        "    sections: [绿埠头, 归阳镇, 樟树港]\n"
        "    target_class: II\n", encoding="utf-8")
    res = water_results(store.read_water(dt.date(2026, 7, 1), dt.date(2026, 8, 31)), [WATER_PERIOD],
                        reaches=load_reaches(path))
    with store.lock(run_id="evil-reach"):
        store.write_results({k: v for k, v in res.items() if k.startswith("water_reach")}, 2026)
    done = render_maps(store, tmp_path / "out", period=AIR_PERIOD, water_period=WATER_PERIOD)
    for page, wait in ((done.index, None), (done.pages["reach/evil-reach"], ".envq-reach-panel")):
        with open_page(chromium, page, wait_for=wait) as visit:
            dialogs = []
            visit.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            shown = visit.page.inner_text("body")
            for t in (f"{evil} 河段", "<b>湘江</b>", "<i>省级</i>河长"):
                assert t in shown, (page.name, t)
            assert visit.page.evaluate("window.__xss === undefined") and dialogs == []
            assert_clean(visit)
    panel = None
    with open_page(chromium, done.pages["reach/evil-reach"]) as visit:
        panel = visit.page.inner_text(".envq-reach-panel")
    # target Ⅱ: the reach is judged on its own target class, not the Class I-III share
    assert "sections meeting the reach target Ⅱ类" in panel
