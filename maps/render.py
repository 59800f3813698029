"""Render every page from the store: ``index.html``, ``air.html``, ``water.html``, ``reaches/<id>.html``.

:func:`render_maps` reads only the results a run stored (``air_rates``, ``air_city_days``,
``air_station_rates``, ``air_station_days``, ``water_sections``, ``water_rates``,
``water_basin_rates``, ``water_reach_rates``, ``water_reach_sections``) and the geometry pack,
and writes the pages: it computes nothing, judges nothing (every verdict is the stored
``target_met``) and reads no raw readings, so the pages show what ``envq reach show --store``
and the headline show. Every page is rendered and checked to reference nothing
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
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from envq.periods import Period, parse_period, periods_of

__all__ = ["Rendered", "render_maps", "tiles_from_config", "check_output", "MANIFEST_FORMAT"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Rendered:
    """What :func:`render_maps` wrote: ``index`` path, ``pages`` {key: path}, notes for the reader."""

    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        return {k: p.stat().st_size for k, p in self.pages.items()}


#: ``format`` of the ``maps.json`` envq writes: a folder holding it is envq's to rewrite.
MANIFEST_FORMAT = "envq-maps"
_TMP = re.compile(r"^\.(?P<name>.+)\.tmp(?P<pid>\d+)$")


def check_output(out: Path) -> None:
    """Refuse to write into a non-empty folder envq did not create (as the store does): a folder
    is envq's when it holds envq's ``maps.json``. Raises :class:`envq.errors.UsageError`."""
    from envq.errors import UsageError

    if not out.is_dir() or not any(out.iterdir()) or _ours(out / "maps.json"):
        return
    shown = sorted(p.name for p in out.iterdir())
    listed = ", ".join(shown[:5]) + (f" ... ({len(shown)} entries)" if len(shown) > 5 else "")
    raise UsageError(f"maps: {out} is a folder envq did not create (it holds {listed} and no envq maps.json); "
                     "refusing to write into it, which would replace its index.html: give an empty or new folder")


def _ours(manifest: Path) -> bool:
    """A ``maps.json`` envq wrote (its format, or, before the format was written, its layout)."""
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and (doc.get("format") == MANIFEST_FORMAT or (
        "format" not in doc and isinstance(doc.get("pages"), dict) and "period" in doc and "generated" in doc))


def _remove_orphans(out: Path) -> None:
    """Temporaries (``.<page>.tmp<pid>``) of a writer that died, and this process's own."""
    for p in [out, *(d for d in out.iterdir() if d.is_dir())]:
        for f in p.iterdir():
            m = _TMP.match(f.name)
            if m and f.is_file() and (int(m["pid"]) == os.getpid() or not _alive(int(m["pid"]))):
                f.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_all(out: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Write every file as a temporary first, then move them all into place: a full disk leaves the
    previous files whole and no temporary, and the error names the file it could not write."""
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, data in files.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
            staged.append((tmp, path))
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(staged[-1][1]) if staged else str(out)) from None
    for tmp, path in staged:  # renames need no space
        os.replace(tmp, path)
    return {rel: path for rel, (_, path) in zip(files, staged)}


def _page(m, allow) -> str:
    """The page's HTML: stable element ids, assets inline, nothing external (or it raises)."""
    from maps.assets import render_offline
    from maps.base import stable_ids

    return render_offline(stable_ids(m), allow=allow)


def tiles_from_config(spec: str | None = None, config: dict | None = None, environ=None):
    """The :class:`maps.base.Tiles` of *spec* (a command-line value) or ``[maps] tiles``."""
    from envq.config import load_config
    from maps.base import tiles_setting

    env = os.environ if environ is None else environ
    conf = (load_config(environ=env) if config is None else config).get("maps", {})
    key = conf.get("tianditu_key") or env.get("ENVQ_TIANDITU_KEY")
    return tiles_setting(spec if spec is not None else conf.get("tiles"), tianditu_key=key,
                         crs=conf.get("tiles_crs", "wgs84"))


def _result(store, name: str, period) -> pd.DataFrame | None:
    """The stored result *name* of *period*, None when the store holds none."""
    from envq.store.errors import StoreError

    try:
        df = store.read_result(name, period)
    except StoreError:
        return None
    return df if len(df) else None


def _periods(store, period, water_period) -> tuple[Period, Period, list[str]]:
    """The air and water Periods, each as the store holds it (:func:`envq.periods.resolve_held`: a
    year to date ends on the part's last stored day, a range of a calendar period's days is that
    period). A text the grammar does not know, or a period neither part holds, is a usage error
    quoting the grammar and listing the periods the store holds; a period only one part holds
    leaves the other undrawn (noted on the index). Also the notes saying which period a text
    was taken as."""
    from envq.errors import PeriodError, UsageError
    from envq.periods import GRAMMAR, resolve_held

    names = store.result_names()
    parts = (("period", period, "air_rates", store.air_days), ("water period", water_period, "water_rates",
                                                               store.water_days))
    out, held, refused, notes = [], {}, [], []
    for name, value, result, days in parts:
        held[result] = store.result_periods(result) if result in names else []
        try:
            p = parse_period(value)
        except PeriodError as exc:
            raise UsageError(f"maps: {name} {str(value)!r}: {exc.problem}; use {GRAMMAR}; "
                             + _held_text(held) + "; --water-period sets the water one") from None
        try:
            last = days()
            q = resolve_held(p, held[result], last_day=max(last) if last else None)
            if q.label != p.label or (q.start, q.end) != (p.start, p.end):
                notes.append(f"{'空气' if result == 'air_rates' else '水质'}：时段 {value} 即 {q}（{q.start}..{q.end}）"
                             f" {name} {value} is {q} as stored")
            out.append(q)
        except PeriodError as exc:
            refused.append(f"{name} {str(value)!r}: {exc.problem}")
            out.append(p)
    if len(refused) == len(parts):
        raise UsageError(f"maps: {'; '.join(refused)}; use {GRAMMAR}; {_held_text(held)}; "
                         "--water-period sets the water one")
    return out[0], out[1], notes


def _held_text(held: dict) -> str:
    return "; ".join(f"the store holds {result} of {', '.join(map(str, ps)) or 'no period'}"
                     for result, ps in held.items())


def render_maps(store, output, *, period, day: str | None = None, water_period=None,
                tiles=None, reaches=None, reports=None) -> Rendered:
    """Render the pages of *period* (and *water_period*, default the same) into *output*.

    Parameters
    ----------
    store : envq.store.Store
    output : path
        Folder for the pages (created): new, empty, or one envq rendered into before (it holds envq's
        ``maps.json``); any other non-empty folder is refused (:func:`check_output`). All pages are
        written as temporaries first and then moved into place: a failure (a full disk) leaves the
        previous pages whole and no temporary, and names the file.
    period : envq.periods.Period or str
        The air period (``2019``, ``2019-07``, ``2019-Q3``, ``2019-H1``): cities by their ratio
        over it and the day control over its days.
    day : str, optional
        ``YYYY-MM-DD``, the day the stations show first; default the last day with data.
    water_period : Period or str, optional
        The water period (sections, basins, reaches); default *period*.
    tiles : maps.base.Tiles or str, optional
        Base tiles (default none, see :mod:`maps.base`).
    reaches : iterable of reach ids (or a mapping keyed by them), optional
        Which of the stored reaches get a page (default every stored reach of the water period).
    reports : path, optional
        The bulletins' folder (``envq report --output``, ``maps.bulletin.render_report``): the
        index links the bulletin of each period it holds (``reports.json``) among the past periods.

    History: besides the pages of the latest render at the top of *output*, each period's pages
    are kept in ``<output>/<period>/`` (``2019/air.html``, ``2026-08/water.html``,
    ``2026-08/reaches/<id>.html``, their home link the top index); rendering a period again
    replaces only that period's pages, and the index lists every period held (往期) with its
    bulletin. ``maps.json`` records them under ``history``.
    """
    from maps.base import tiles_setting

    out = Path(output)
    check_output(out)  # before any work: a foreign folder is refused
    tiles = tiles_setting(tiles)
    allow = tiles.allow
    ap, wp, notes = _periods(store, period, water_period if water_period is not None else period)
    html: dict[str, str] = {}  # page path under *output* -> text, written once all are rendered
    now = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M（北京时间 UTC+8）")

    air_rates, day, edition = _render_air(store, ap, day, tiles, html, notes)
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
        from maps.water import water_map

        reach_rows = _render_reaches(store, wp, tiles, html, notes, None if reaches is None else list(reaches))
        m = water_map(sections=sections, basin_rates=basin_water, province_rate=water_province, period=wp.label,
                      history=_class_history(store, wp), tiles=tiles, home="index.html", reaches=reach_rows)
        html["water.html"] = _page(m, allow)

    freshness = []
    air_days, water_days = store.air_days(), store.water_days()
    freshness.append(("空气站点小时数据截至", "air station-hours stored through",
                      str(max(air_days)) if air_days else "无 none"))
    freshness.append(("水质自动站数据截至", "water readings stored through",
                      str(max(water_days)) if water_days else "无 none"))
    if air_rates is not None:
        freshness.append((f"空气结果 {ap} 截至", f"air results of {ap} through", str(air_rates["through"].max())))
    if water_province is not None:
        freshness.append((f"水质结果 {wp} 截至", f"water results of {wp} through", str(water_province.get("through", ""))))
    from maps.index import index_html

    keys = {"air.html": "air", "water.html": "water"}
    links = {keys.get(rel, rel): rel for rel in html}
    from maps.alerts import alerts_section, latest_audit, latest_warnings

    history, copies = _history(out, html, ap, wp)
    html.update(copies)
    index = index_html(generated=now, day=day, air_period=ap.label if air_rates is not None else None,
                       water_period=wp.label if sections is not None else None, freshness=freshness,
                       air_rates=air_rates, water_province=water_province, basin_water=basin_water,
                       reaches=reach_rows, pages=links, notes=notes, edition=edition,
                       alerts_html=alerts_section(latest_warnings(store), latest_audit(store)),
                       past=past_periods(out, history, reports))
    from maps.assets import ExternalReferenceError, external_urls

    left = external_urls(index)
    if left:
        raise ExternalReferenceError(left, where="index.html")
    html["index.html"] = index
    return _publish(out, html, notes, {"generated": now, "period": ap.label, "water_period": wp.label, "day": day,
                                       "tiles": tiles.name}, history)


def _render_air(store, ap: Period, day, tiles, html: dict, notes: list):
    """The air page of *ap* into *html*; (the period's rates or None, the day shown, the edition)."""
    air_rates = _result(store, "air_rates", ap)
    edition = "hj633_2012"
    if air_rates is None:
        notes.append(f"空气：时段 {ap} 无结果，未绘制空气地图 air: no results for {ap}, no air map")
        return None, None, edition
    from envq import standards
    from geo import pack
    from maps.air import air_map

    through = str(air_rates["through"].max())
    day = day or through
    edition = standards.edition_for("hj633", day)
    year = Period.year_of(ap.year)
    city_days = _result(store, "air_city_days", year)
    station_days = _result(store, "air_station_days", year)
    station_rates = _result(store, "air_station_rates", ap)
    if station_days is None:
        notes.append("空气：存储中无站点日结果（旧版本运行），站点按无数据显示 air: no station-day results in the "
                     "store (written by an older run); re-run the period to colour the stations")
    # a day outside the period is the user's to fix (UsageError); any other error is envq's
    m = air_map(rates=air_rates, city_days=city_days if city_days is not None else pd.DataFrame(
                    columns=["city", "date", "aqi", "category", "valid"]),
                station_rates=station_rates, station_days=station_days,
                stations=pack.layer("stations", "display"), period=ap.label, day=day, tiles=tiles,
                edition=edition, home="index.html", notes=notes)
    html["air.html"] = _page(m, tiles.allow)
    return air_rates, day, edition


def _class_history(store, wp: Period) -> pd.DataFrame:
    """The stored section classes of the months of *wp*'s year up to its end (the popups' history)."""
    allsec = store.read_result("water_sections")
    months = periods_of(allsec["period"].astype(str))
    keep = [q.kind == "month" and q.year == wp.year and q.start <= wp.end for q in months]
    return allsec[keep]


def _page_key(rel: str) -> str:
    """``air.html`` -> ``air``, ``reaches/<id>.html`` -> ``reach/<id>``."""
    if rel.startswith("reaches/"):
        return "reach/" + rel[len("reaches/"):-len(".html")]
    return rel[:-len(".html")]


def _old_manifest(out: Path) -> dict:
    old = out / "maps.json"
    if not old.is_file():
        return {}
    try:
        doc = json.loads(old.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _rehome(text: str, depth: int) -> str:
    """A page's link to the index, *depth* folders further down (``index.html`` -> ``../index.html``)."""
    up = "../" * depth
    return re.sub(r'(<a class="envq-home" href=")((?:\.\./)*)index\.html"',
                  lambda m: f'{m[1]}{up}{m[2]}index.html"', text)


def _history(out: Path, html: dict[str, str], ap: Period, wp: Period) -> tuple[dict, dict[str, str]]:
    """The periods held (the previous ``maps.json`` history with this render's periods replaced)
    and this render's period copies (path under *out* -> HTML): the air page into ``<air
    period>/``, the water and reach pages into ``<water period>/``."""
    history = {k: dict(v) for k, v in (_old_manifest(out).get("history") or {}).items() if isinstance(v, dict)}
    copies: dict[str, str] = {}
    if "air.html" in html:
        rel = f"{ap.label}/air.html"
        copies[rel] = _rehome(html["air.html"], 1)
        history.setdefault(ap.label, {})["air"] = rel
    if "water.html" in html:
        rel = f"{wp.label}/water.html"
        copies[rel] = _rehome(html["water.html"], 1)
        entry = history.setdefault(wp.label, {})
        entry["water"] = rel
        entry["reaches"] = []
        for page in sorted(p for p in html if p.startswith("reaches/")):
            copies[f"{wp.label}/{page}"] = _rehome(html[page], 1)
            entry["reaches"].append(f"{wp.label}/{page}")
    return dict(sorted(history.items())), copies


def past_periods(out: Path, history: dict, reports=None) -> list[dict]:
    """The rows of the index's past periods (往期), latest first: ``period``, ``maps`` (label ->
    href) and ``bulletin`` (format -> href, from the reports folder's ``reports.json``)."""
    from maps.bulletin import read_manifest

    held = read_manifest(reports)["periods"] if reports is not None else {}
    rows = []
    for label in set(history) | set(held):
        try:
            p = parse_period(label)
        except ValueError:
            continue
        h = history.get(label, {})
        maps_ = {k: h[k] for k in ("air", "water") if h.get(k)}
        files = (held.get(label) or {}).get("files", {})
        bulletin = {fmt: os.path.relpath(Path(reports) / rel, out).replace(os.sep, "/")
                    for fmt, rel in files.items() if fmt in ("html", "pdf", "xlsx", "md")}
        rows.append({"period": label, "start": p.start, "end": p.end, "maps": maps_, "bulletin": bulletin,
                     "title": (held.get(label) or {}).get("title", "")})
    return sorted(rows, key=lambda r: (r["end"], r["start"]), reverse=True)


def _publish(out: Path, html: dict[str, str], notes, meta, history: dict | None = None) -> Rendered:
    """Write every page and ``maps.json`` (all or none, :func:`_write_all`); remove the previous
    render's pages not written now (at the top, and in the periods rendered now)."""
    out.mkdir(parents=True, exist_ok=True)
    _remove_orphans(out)
    old = _old_manifest(out)
    before: set[str] = set()
    try:
        before = {v["path"] for v in old.get("pages", {}).values()}
    except (AttributeError, KeyError, TypeError):
        before = set()
    history = history or {}
    for label, entry in (old.get("history") or {}).items():  # a period's part rendered again: its old pages
        if not isinstance(entry, dict):
            continue
        if f"{label}/air.html" in html and isinstance(entry.get("air"), str):
            before.add(entry["air"])
        if f"{label}/water.html" in html:
            before |= {v for v in [entry.get("water"), *(entry.get("reaches") or [])] if isinstance(v, str)}
    data = {rel: text.encode("utf-8") for rel, text in html.items()}
    top = {rel for rel in data if rel.startswith("reaches/") or "/" not in rel}
    manifest = {"format": MANIFEST_FORMAT, **meta,
                "pages": {_page_key(rel): {"path": rel, "bytes": len(b)} for rel, b in data.items()
                          if rel != "index.html" and rel in top},
                "history": history, "notes": notes}
    written = _write_all(out, {**data, "maps.json": json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")})
    pages = {_page_key(rel): written[rel] for rel in html if rel in top}
    for rel in sorted(before - set(html)):
        stale = (out / rel).resolve()
        if stale.is_relative_to(out.resolve()) and stale.suffix == ".html" and stale.is_file():
            stale.unlink()
    index = pages.pop("index")
    return Rendered(index=index, pages={"index": index, **pages}, notes=notes)


def _render_reaches(store, wp: Period, tiles, html: dict, notes: list, only=None) -> list[dict]:
    """The reach pages (into *html*) and their index rows, from the stored reach results of *wp*
    (those of *only*, reach ids, when given)."""
    from envq.water.reaches import reports_from_tables
    from geo import pack
    from maps.reach import reach_map

    rates = _result(store, "water_reach_rates", wp)
    sections = _result(store, "water_reach_sections", wp)
    if rates is None or sections is None:
        notes.append(f"河长制：时段 {wp} 无河段结果，未绘制河段页 reaches: no reach results for {wp} in the store")
        return []
    locations = pd.DataFrame(pack.layer("sections", "display").drop(columns="geometry"))
    rows = []
    for rid, rep in reports_from_tables(rates, sections).items():
        if only is not None and rid not in only:
            continue
        m = reach_map(rep, locations, tiles=tiles, home="../index.html")
        html[f"reaches/{rid}.html"] = _page(m, tiles.allow)
        rows.append({**rep.summary(), "href": f"reaches/{rid}.html", "example": rep.reach.example,
                     "sections": list(rep.reach.sections)})
    return rows
