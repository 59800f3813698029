"""Render every page from the store: ``index.html``, ``air.html``, ``water.html``, ``reaches/<id>.html``.

:func:`render_maps` reads the results a run published (``air_rates``, ``air_city_days``,
``air_station_rates``, ``air_station_days``, ``water_sections``, ``water_rates``,
``water_basin_rates``), the water readings of the period for the river-chief reaches
(:func:`envq.water.reaches.reach_report`, on the readings screened as the run screens them) and
the geometry pack, and writes the pages. Every page is rendered and checked to reference nothing
outside itself (:func:`maps.assets.render_offline`) before any is written; then each is written
to a temporary file and moved into place, and the pages of the previous render that this one did
not write (a part without results now, a reach no longer configured) are removed. A failed render
leaves the previous pages as they were.

A part without results for the period is not drawn; the index says so. ``maps.json`` lists what
was written (pages, bytes, periods, day).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Rendered", "render_maps"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Rendered:
    """What :func:`render_maps` wrote: ``index`` path, ``pages`` {key: path}, notes for the reader."""

    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        return {k: p.stat().st_size for k, p in self.pages.items()}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)
    return path


def _page(m, allow) -> str:
    """The page's HTML: stable element ids, assets inline, nothing external (or it raises)."""
    from maps.assets import render_offline
    from maps.base import stable_ids

    return render_offline(stable_ids(m), allow=allow)


def _result(store, name: str, period: str) -> pd.DataFrame | None:
    from envq.store.errors import StoreError

    try:
        df = store.read_result(name, period)
    except StoreError:
        return None
    return df if len(df) else None


def render_maps(store, output, *, period: str, day: str | None = None, water_period: str | None = None,
                tiles=None, reaches=None, water_target: float | None = None) -> Rendered:
    """Render the pages of *period* (and *water_period*, default the same) into *output*.

    Parameters
    ----------
    store : envq.store.Store
    output : path
        Folder for the pages (created).
    period : str
        The air period (``2019``, ``2019-07``, ``2019-Q3``): cities by their ratio over it and the
        day control over its days.
    day : str, optional
        ``YYYY-MM-DD``, the day the stations show first; default the last day with data.
    water_period : str, optional
        The water period (sections, basins, reaches); default *period*.
    tiles : maps.base.Tiles or str, optional
        Base tiles (default none, see :mod:`maps.base`).
    reaches : dict of Reach, optional
        Default :func:`envq.water.reaches.load_reaches` (``$ENVQ_REACHES`` or the bundled example).
    """
    from envq import report
    from maps.assets import render_offline
    from maps.base import tiles_setting

    from envq.air.rates import parse_period as air_period
    from envq.water.periods import parse_period as water_period_of

    out = Path(output)
    tiles = tiles_setting(tiles)
    allow = tiles.allow
    wp = water_period or period
    for name, value, parse in (("period", period, air_period), ("water period", wp, water_period_of)):
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"maps: {name} {value!r}: {exc} (the store holds results by month, quarter and "
                             "year: 2019-07, 2019-Q3, 2019; --water-period sets the water one)") from None
    notes: list[str] = []
    html: dict[str, str] = {}  # page path under *output* -> text, written once all are rendered
    now = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M（北京时间 UTC+8）")
    water_target = report.WATER_TARGET if water_target is None else water_target

    # air
    air_rates = _result(store, "air_rates", period)
    edition = "hj633_2012"
    if air_rates is None:
        notes.append(f"空气：时段 {period} 无结果，未绘制空气地图 air: no results for {period}, no air map")
        day = None
    else:
        from envq import standards
        from geo import pack
        from maps.air import air_map

        through = str(air_rates["through"].max())
        day = day or through
        edition = standards.edition_for("hj633", day)
        year = period[:4]
        city_days = _result(store, "air_city_days", year)
        station_days = _result(store, "air_station_days", year)
        station_rates = _result(store, "air_station_rates", period)
        if station_days is None:
            notes.append("空气：存储中无站点日结果（旧版本运行），站点按无数据显示 air: no station-day results in the "
                         "store (written by an older run); re-run the period to colour the stations")
        m = air_map(rates=air_rates, city_days=city_days if city_days is not None else pd.DataFrame(
                        columns=["city", "date", "aqi", "category", "valid"]),
                    station_rates=station_rates, station_days=station_days,
                    stations=pack.layer("stations", "display"), period=period, day=day, tiles=tiles,
                    edition=edition, home="index.html", notes=notes)
        html["air.html"] = _page(m, allow)

    # water
    sections = _result(store, "water_sections", wp)
    wrates = _result(store, "water_rates", wp)
    basin_water = _result(store, "water_basin_rates", wp)
    water_province = None
    if wrates is not None and (wrates["group"] == "province").any():
        water_province = wrates[wrates["group"] == "province"].iloc[0]
    reach_rows: list[dict] = []
    if sections is None:
        notes.append(f"水质：时段 {wp} 无结果，未绘制水质地图 water: no results for {wp}, no water map")
    else:
        from envq.water.periods import parse_period
        from maps.water import water_map

        p = parse_period(wp)
        allsec = store.read_result("water_sections")
        months = allsec["period"].astype(str)
        hist = allsec[months.str.fullmatch(r"\d{4}-\d{2}") & (months.str[:4] == str(p.year))
                      & (pd.to_datetime(months, format="%Y-%m", errors="coerce") < p.end)]
        m = water_map(sections=sections, basin_rates=basin_water, province_rate=water_province, period=wp,
                      history=hist, target=water_target, tiles=tiles, home="index.html")
        html["water.html"] = _page(m, allow)
        reach_rows = _render_reaches(store, p, reaches, tiles, html)

    freshness = []
    air_days, water_days = store.air_days(), store.water_days()
    freshness.append(("空气站点小时数据截至", "air station-hours stored through",
                      str(max(air_days)) if air_days else "无 none"))
    freshness.append(("水质自动站数据截至", "water readings stored through",
                      str(max(water_days)) if water_days else "无 none"))
    if air_rates is not None:
        freshness.append((f"空气结果 {period} 截至", f"air results of {period} through", str(air_rates["through"].max())))
    if water_province is not None:
        freshness.append((f"水质结果 {wp} 截至", f"water results of {wp} through", str(water_province.get("through", ""))))
    from maps.index import index_html

    keys = {"air.html": "air", "water.html": "water"}
    links = {keys.get(rel, rel): rel for rel in html}
    from maps.alerts import alerts_section, latest_audit, latest_warnings

    index = index_html(generated=now, day=day, air_period=period if air_rates is not None else None,
                       water_period=wp if sections is not None else None, freshness=freshness,
                       air_rates=air_rates, water_province=water_province, basin_water=basin_water,
                       reaches=reach_rows, pages=links, notes=notes, water_target=water_target, edition=edition,
                       alerts_html=alerts_section(latest_warnings(store), latest_audit(store)))
    from maps.assets import ExternalReferenceError, external_urls

    left = external_urls(index)
    if left:
        raise ExternalReferenceError(left, where="index.html")
    html["index.html"] = index
    return _publish(out, html, notes, {"generated": now, "period": period, "water_period": wp, "day": day,
                                             "tiles": tiles.name})


def _page_key(rel: str) -> str:
    """``air.html`` -> ``air``, ``reaches/<id>.html`` -> ``reach/<id>``."""
    if rel.startswith("reaches/"):
        return "reach/" + rel[len("reaches/"):-len(".html")]
    return rel[:-len(".html")]


def _publish(out: Path, html: dict[str, str], notes, meta) -> Rendered:
    """Write every page, then ``maps.json``; remove the previous render's pages not written now."""
    out.mkdir(parents=True, exist_ok=True)
    old = out / "maps.json"
    before: set[str] = set()
    if old.is_file():
        try:
            before = {v["path"] for v in json.loads(old.read_text(encoding="utf-8")).get("pages", {}).values()}
        except (ValueError, AttributeError, KeyError, TypeError):
            before = set()
    pages = {_page_key(rel): _write(out / rel, text) for rel, text in html.items()}
    manifest = {**meta, "pages": {k: {"path": str(v.relative_to(out)), "bytes": v.stat().st_size}
                                  for k, v in pages.items() if k != "index"}, "notes": notes}
    _write(out / "maps.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    for rel in sorted(before - set(html)):
        stale = (out / rel).resolve()
        if stale.is_relative_to(out.resolve()) and stale.suffix == ".html" and stale.is_file():
            stale.unlink()
    index = pages.pop("index")
    return Rendered(index=index, pages={"index": index, **pages}, notes=notes)


def _render_reaches(store, p, reaches, tiles, html: dict) -> list[dict]:
    """The reach pages (into *html*) and their index rows, on the screened readings of the period
    and the one before (the trend)."""
    from envq.water.reaches import load_reaches, reach_report
    from envq.water.screen import screen
    from geo import pack
    from maps.assets import render_offline
    from maps.reach import reach_map

    reaches = load_reaches() if reaches is None else reaches
    if not reaches:
        return []
    prev = p.previous()
    long, _ = screen(store.read_water(prev.start.date(), (p.end - pd.Timedelta(days=1)).date()))
    locations = pd.DataFrame(pack.layer("sections", "display").drop(columns="geometry"))
    rows = []
    for rid, reach in reaches.items():
        rep = reach_report(long, reach, p.label)
        m = reach_map(rep, locations, tiles=tiles, home="../index.html")
        html[f"reaches/{rid}.html"] = _page(m, tiles.allow)
        rows.append({**rep.summary(), "href": f"reaches/{rid}.html", "example": reach.example})
    return rows
