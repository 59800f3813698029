"""The pages on a phone and on a desktop (issue 15), in real headless Chromium, offline:

- at 375x667, 400x800 (a phone's browser: touch, viewport honoured) and 1400x1000, on every page,
  the map controls (title, search, layers, day control, legend, reach panel, notes, zoom, scale,
  attribution) do not overlap each other and lie inside the window, with each collapsible box
  closed and open; phone targets are at least 40 px; the index page never scrolls sideways; a
  screenshot of each for review (``build/screenshots/phone-*.png``);
- ``lang="zh-CN"``, a title, a neutral attribution, Ⅰ..Ⅴ drawn in the pages' font;
- names on the map from the pack, none overlapping another;
- the search finds a section, a city, a reach (by name and by pinyin initials) and opens the right
  popup or panel; a name with markup is shown as text;
- axe-core on every page, at a phone's size and a desktop's: no violation (serious, critical or other);
- the day control stepped with taps.
"""

from __future__ import annotations

import pytest

from _axe import file_sha256, provenance_sha256, run_axe, serious
from _browser import assert_clean, chromium, open_page, wait_settled  # noqa: F401  (chromium: fixture)
from _maps_store import AIR_PERIOD, WATER_PERIOD

SIZES = [(375, 667), (400, 800), (1400, 1000)]
MAP_PAGES = ["air", "water", "reach/xiang-main-province", "reach/xiang-changzhutan-city", "reach/dongting-lake"]
CONTROLS = (".envq-title", ".envq-search", ".leaflet-control-layers", ".envq-day-control", ".envq-reach-panel",
            ".envq-legend", ".envq-unplaced", ".leaflet-control-zoom", ".leaflet-control-scale",
            ".leaflet-control-attribution")

_BOXES_JS = """(sels) => {
  const boxes = [];
  for (const sel of sels) for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden')
      boxes.push({sel, left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  }
  return {boxes, w: innerWidth, h: innerHeight};
}"""


def _layout_problems(page) -> list[str]:
    """Controls that overlap another or leave the window (0.5 px tolerance for sub-pixel edges)."""
    got = page.evaluate(_BOXES_JS, list(CONTROLS))
    boxes, w, h = got["boxes"], got["w"], got["h"]
    problems = []
    for b in boxes:
        if b["left"] < -0.5 or b["top"] < -0.5 or b["right"] > w + 0.5 or b["bottom"] > h + 0.5:
            problems.append(f"{b['sel']} outside the {w}x{h} window: {b}")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and \
                    min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5:
                problems.append(f"{a['sel']} overlaps {b['sel']}: {a} / {b}")
    return problems


_SMALL_TARGETS_JS = """() => {
  const small = [];
  const sel = 'button, input, summary, select, .leaflet-bar a, .leaflet-control-layers-toggle, a.envq-home';
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') continue;
    const wide = e.matches('summary, input[type=search], input[type=range], a.envq-home');
    if (r.height < 40 - 0.5 || (!wide && r.width < 40 - 0.5))
      small.push(e.className + ' ' + e.tagName + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
  return small;
}"""


def _page(done, key):
    return done.index if key == "index" else done.pages[key]


def _open(chromium, done, key, size, **kw):
    phone = size[0] <= 640
    visit = open_page(chromium, _page(done, key), viewport=size, mobile=phone,
                      wait_for=None if key == "index" else ".envq-ui[data-ready]", **kw)
    if key != "index":
        wait_settled(visit.page)
    return visit


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", MAP_PAGES)
def test_controls_never_overlap_and_stay_inside(chromium, maps_site, key, size):
    _, done = maps_site
    name = f"phone-{key.replace('/', '-')}-{size[0]}x{size[1]}"
    with _open(chromium, done, key, size) as visit:
        page = visit.page
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.title()
        assert page.evaluate("[innerWidth, innerHeight]") == list(size)  # nothing widened the page
        assert _layout_problems(page) == []
        visit.shoot(name)
        phone = size[0] <= 640
        boxes = page.locator("details.envq-box")
        assert boxes.count() >= 1
        for k in range(boxes.count()):  # each collapsible box open in turn (on a phone: tapped open)
            box = boxes.nth(k)
            assert box.evaluate("d => d.open") is (not phone)  # open on desktops, a bar on phones
            if phone:
                box.locator("summary").tap()
                assert box.evaluate("d => d.open")
            assert _layout_problems(page) == [], box.get_attribute("class")
            cls = box.get_attribute("class").split()[-1].removeprefix("envq-")
            visit.shoot(f"{name}-{cls}-open")
            if phone:
                box.locator("summary").tap()
        if phone:
            assert page.evaluate(_SMALL_TARGETS_JS) == []
        assert_clean(visit)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_index_fits_the_width(chromium, maps_site, size):
    _, done = maps_site
    with _open(chromium, done, "index", size) as visit:
        page = visit.page
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        if size[0] <= 640:  # the reach table: one block per reach, each cell named
            label = page.locator("table.envq-stack td[data-label]").first
            assert "河段 reach" in label.evaluate("e => getComputedStyle(e, '::before').content")
        visit.shoot(f"phone-index-{size[0]}x{size[1]}")
        assert_clean(visit)


_INK_JS = """([sel, chars]) => {
  const font = getComputedStyle(document.querySelector(sel)).font;
  const c = document.createElement('canvas'); c.width = 80; c.height = 80;
  const x = c.getContext('2d'); const ink = {};
  for (const ch of chars) {
    x.clearRect(0, 0, 80, 80); x.font = font.replace(/^(.*?)(\\d+(\\.\\d+)?)px/, '$140px'); x.fillText(ch, 10, 60);
    const d = x.getImageData(0, 0, 80, 80).data; let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    ink[ch] = n;
  }
  return ink;
}"""


def test_roman_numerals_are_drawn_in_the_pages_font(chromium, maps_site):
    """Debian's WenQuanYi Micro Hei claims U+2164 (Ⅴ) and draws nothing; the pages' font stack
    must still draw every class numeral (and the attribution has no flag, only the word)."""
    _, done = maps_site
    chars = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣", "类"]
    with _open(chromium, done, "water", (1400, 1000)) as visit:
        ink = visit.page.evaluate(_INK_JS, [".envq-legend td", chars])
        assert all(n > 20 for n in ink.values()), ink
        assert visit.page.inner_text(".leaflet-control-attribution").strip() == "Leaflet"
        assert visit.page.locator(".leaflet-control-attribution svg").count() == 0
    with _open(chromium, done, "index", (400, 800)) as visit:
        ink = visit.page.evaluate(_INK_JS, ["td", chars])
        assert all(n > 20 for n in ink.values()), ink


_LABELS_JS = """(sel) => {
  const out = [];
  for (const e of document.querySelectorAll(sel)) {
    if (e.style.visibility === 'hidden') continue;
    const r = e.querySelector('.envq-label-text').getBoundingClientRect();
    out.push({t: e.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  }
  return out;
}"""


def test_names_on_the_map_do_not_collide(chromium, maps_site):
    _, done = maps_site
    with _open(chromium, done, "air", (1400, 1000)) as visit:
        page = visit.page
        assert page.locator(".envq-label-city").count() == 14
        shown = page.evaluate(_LABELS_JS, ".envq-label")
        cities = [s["t"] for s in shown if "市" in s["t"] or "州" in s["t"]]
        assert any(t.startswith("长沙市") for t in cities) and len(cities) >= 12
        assert any(s["t"] == "洞庭湖" for s in shown) and any(s["t"] == "湘江" for s in shown)
        for i, a in enumerate(shown):
            for b in shown[i + 1:]:
                assert not (a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"]
                            and b["top"] < a["bottom"]), (a, b)
        # the AQI level on each station, as the day control sets it
        assert page.locator(".envq-mark-text").count() == 82
    # a river chief's reach on a phone: every section named beside its point, none over another point
    with _open(chromium, done, "reach/dongting-lake", (375, 667)) as visit:
        shown = [s["t"] for s in visit.page.evaluate(_LABELS_JS, ".envq-label-section")]
        assert sorted(shown) == sorted(["蒋家嘴 Ⅲ类", "南嘴 Ⅳ类", "小河嘴 Ⅲ类", "岳阳楼 Ⅲ类"]), shown
    with _open(chromium, done, "water", (1400, 1000)) as visit:
        page = visit.page
        page.evaluate("envqUI.map.setZoom(10, {animate: false})")
        assert page.locator(".envq-label-section").count() > 0
        assert set(page.eval_on_selector_all(".envq-mark-text", "es => es.map(e => e.textContent)")) <= \
            {"Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ", ""}


def _popup_text(page) -> str:
    """The open popup's text once it has faded in and stopped moving; it is clear of the title,
    the search and the day control."""
    page.wait_for_selector(".leaflet-popup-content", state="visible")
    page.wait_for_function("getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    last = None
    for _ in range(50):
        box = page.locator(".leaflet-popup").bounding_box()
        if box == last:
            break
        last = box
        page.wait_for_timeout(100)
    over = page.evaluate("""() => {
        const p = document.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();
        return ['.envq-title', '.envq-search', '.envq-day-control'].filter(sel => {
            const e = document.querySelector(sel); if (!e) return false;
            const r = e.getBoundingClientRect();
            return r.width && p.left < r.right && r.left < p.right && p.top < r.bottom && r.top < p.bottom;
        });
    }""")
    assert over == [], f"the popup lies under {over}"
    return page.inner_text(".leaflet-popup-content")


def _search(page, query: str, *, pick: str | None = None) -> list[str]:
    """Type *query* into the search box; the names listed; pick the one named *pick* (or the first)."""
    page.fill("#envq-q", query)
    page.wait_for_selector(".envq-search-result")
    names = page.eval_on_selector_all(".envq-search-result .envq-search-name", "es => es.map(e => e.textContent)")
    k = names.index(pick) if pick else 0
    page.locator(".envq-search-result").nth(k).click()
    return names


@pytest.mark.parametrize("size", [(400, 800), (1400, 1000)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_finds_and_opens(chromium, maps_site, size):
    store, done = maps_site
    rates = store.read_result("air_rates", AIR_PERIOD).set_index("name")
    with _open(chromium, done, "air", size) as visit:
        page = visit.page
        assert _search(page, "长沙市")[0] == "长沙市"
        text = _popup_text(page)
        assert text.startswith("长沙市") and f"{rates.loc['长沙市', 'good_day_ratio']:.1f}%" in text
        assert _layout_problems(page) == []
        visit.shoot(f"phone-search-air-{size[0]}x{size[1]}")
        page.click(".leaflet-popup-close-button")
        assert "长沙市" in _search(page, "css")  # pinyin initials (长 read chang or zhang)
        assert _popup_text(page).startswith("长沙市")
        assert_clean(visit)
    with _open(chromium, done, "water", size) as visit:
        page = visit.page
        assert _search(page, "岳阳楼")[0] == "岳阳楼"
        text = _popup_text(page)
        assert text.startswith("岳阳楼") and "水质类别 class" in text
        visit.shoot(f"phone-search-water-{size[0]}x{size[1]}")
        page.click(".leaflet-popup-close-button")
        assert _search(page, "yyl")[0] == "岳阳楼"
        assert _popup_text(page).startswith("岳阳楼")
        page.click(".leaflet-popup-close-button")
        assert _search(page, "湘江长株潭河段")[0] == "湘江长株潭河段"  # a reach: its sections, a link to its page
        assert _popup_text(page).startswith("湘江长株潭河段")
        assert page.get_attribute(".leaflet-popup-content a", "href") == "reaches/xiang-changzhutan-city.html"
        assert_clean(visit)
    with _open(chromium, done, "reach/xiang-changzhutan-city", size) as visit:
        page = visit.page
        panel = page.locator(".envq-reach-panel")
        if size[0] <= 640:
            assert not panel.evaluate("d => d.open")
        assert _search(page, "湘江长株潭河段")[0] == "湘江长株潭河段"
        assert panel.evaluate("d => d.open")
        assert panel.locator("h2").inner_text() == "湘江长株潭河段"
        assert _layout_problems(page) == []
        visit.shoot(f"phone-search-reach-{size[0]}x{size[1]}")
        _search(page, "昭山")
        assert _popup_text(page).startswith("2. 昭山")
        assert_clean(visit)


def test_search_on_the_water_map_finds_a_reach_and_shows_markup_as_text(chromium, maps_site, tmp_path):
    """A reach opens a popup linking its page; a section named with markup is listed and shown
    as text and runs nothing."""
    from envq.water.reaches import load_reaches
    from maps.assets import save_offline
    from maps.water import water_map

    store, _ = maps_site
    sections = store.read_result("water_sections", WATER_PERIOD)
    evil = '<img src=x onerror="window.__xss=1">鹅<b>岭</b>'
    k = sections.index[sections["lon"].notna()][0]
    sections.loc[k, "section"] = evil
    reach = load_reaches()["xiang-changzhutan-city"]
    m = water_map(sections=sections, basin_rates=None, province_rate=None, period=WATER_PERIOD,
                  reaches=[{"name": reach.name, "href": "reaches/xiang-changzhutan-city.html", "river": reach.river,
                            "sections": list(reach.sections)}])
    save_offline(m, tmp_path / "water.html")
    with open_page(chromium, tmp_path / "water.html", viewport=(400, 800), mobile=True,
                   wait_for=".envq-ui[data-ready]") as visit:
        page = visit.page
        assert _search(page, "湘江长株潭河段")[0] == "湘江长株潭河段"
        text = _popup_text(page)
        assert text.startswith("湘江长株潭河段") and "4 个断面 sections" in text
        assert page.get_attribute(".leaflet-popup-content a", "href") == "reaches/xiang-changzhutan-city.html"
        page.click(".leaflet-popup-close-button")
        assert _search(page, "鹅") == [evil]
        assert _popup_text(page).startswith(evil)
        assert page.locator(".envq-search-results b, .envq-search-results img, .leaflet-popup-content img").count() == 0
        assert page.evaluate("window.__xss === undefined")
        assert_clean(visit)


@pytest.mark.parametrize("size", [(400, 800), (1400, 1000)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", ["index", *MAP_PAGES])
def test_axe_finds_no_serious_violation(chromium, maps_site, key, size):
    assert file_sha256() == provenance_sha256()  # the engine is the file its provenance names
    _, done = maps_site
    with _open(chromium, done, key, size) as visit:
        found = run_axe(visit.page)
        assert serious(found) == [], serious(found)
        assert found == []  # none of moderate or minor impact either (landmarks, heading order)
        assert_clean(visit)


def test_day_control_steps_with_taps(chromium, maps_site):
    _, done = maps_site
    with _open(chromium, done, "air", (400, 800)) as visit:
        page = visit.page
        ctl = page.locator(".envq-day-control")
        assert ctl.get_attribute("data-day") == "2019-07-31"
        first = page.eval_on_selector_all(".envq-mark-text", "es => es.map(e => e.textContent)")
        page.tap(".envq-day-prev")
        page.tap(".envq-day-prev")
        assert ctl.get_attribute("data-day") == "2019-07-29"
        assert page.inner_text(".envq-day-label") == "2019-07-29"
        page.tap(".envq-day-next")
        assert ctl.get_attribute("data-day") == "2019-07-30"
        page.tap(".envq-day-next")
        assert ctl.get_attribute("data-day") == "2019-07-31"
        assert page.eval_on_selector_all(".envq-mark-text", "es => es.map(e => e.textContent)") == first
        assert_clean(visit)


def test_pages_stay_small(maps_site):
    """A phone on a slow link: every page under 2 MB (the air year page of the demo is measured in
    BENCHMARKS.md)."""
    _, done = maps_site
    sizes = {k: p.stat().st_size for k, p in done.pages.items()}
    assert max(sizes.values()) < 2_000_000, sizes


# ------------------------------------------------------------------------------------------------
# the bulletin page (envq report's HTML, issue 13) on a phone and a desktop


@pytest.fixture(scope="module")
def bulletin_pages(maps_site, tmp_path_factory):
    """The bulletin pages of the maps' store: July 2019 (air) and August 2026 (water)."""
    from envq.bulletin import build_bulletin, parts_with_results
    from maps.bulletin import bulletin_html

    store, _ = maps_site
    out = tmp_path_factory.mktemp("bulletin-pages")
    pages = {}
    for period in (AIR_PERIOD, WATER_PERIOD):
        b = build_bulletin(store, period, parts=parts_with_results(store, period), generated="2026-12-06 10:00")
        pages[period] = out / f"{period}.html"
        pages[period].write_text(bulletin_html(b), encoding="utf-8")
    return pages


@pytest.mark.parametrize("size", [(400, 800), (1400, 1000)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("period", [AIR_PERIOD, WATER_PERIOD])
def test_bulletin_page_fits_and_axe_finds_nothing(chromium, bulletin_pages, period, size):
    phone = size[0] <= 640
    with open_page(chromium, bulletin_pages[period], viewport=size, mobile=phone, wait_for="main") as visit:
        page = visit.page
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        if phone:  # no sideways scrolling: the tables become one block per row
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        found = run_axe(page)
        assert found == [], found
        visit.shoot(f"phone-bulletin-{period}-{size[0]}x{size[1]}")
        assert_clean(visit)
