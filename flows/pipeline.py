"""The Prefect flows: ``nightly`` and ``backfill`` (docs/pipeline.md).

Thin by design: every task calls one public library function; the flow itself holds the store's
writer lock for the whole run and is the only process that writes (tasks pull and compute, and
may run on a Dask cluster; they only read the store, which is copy-on-write).

Run shape, for each part (``air``, ``water``):

1. ``pull`` (task, with the source's retries and backoff): ``Source.fetch`` + ``Source.parse``;
2. the flow keeps the raw http payloads and upserts into the store (revisions recorded);
3. ``compute`` (task, one per part and year touched): the year's data to date from the store ->
   ``envq.report.air_results`` / ``water_results`` for the month, quarter and year touched;
4. ``basin_rates`` (task): the same periods by river basin (``geo.areas``);
5. the flow writes the results, then renders the maps (``maps`` task: ``maps.render.render_maps``
   into ``[maps] output`` or ``<store>/maps``; the year of the last day for air, its month for
   water) and publishes four artifacts: a markdown summary with the headline figures, a table of
   city and basin rates, the run-health report, and a link to the maps' index page.

A part that fails (its source down, bad data) does not stop the others: the run ends ``Failed``
with a message naming the failed parts, after publishing what succeeded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed

__all__ = ["nightly", "backfill", "yesterday", "PARTS", "RunSummary"]

PARTS = ("air", "water")
TIMEZONE = "Asia/Shanghai"
#: Months per pull batch in a backfill (each batch is one pull task; batches run in parallel).
BACKFILL_BATCH_MONTHS = 3


def yesterday(tz: str = TIMEZONE) -> dt.date:
    """Yesterday's date in Beijing time (the nightly run's default day)."""
    return (dt.datetime.now(ZoneInfo(tz)) - dt.timedelta(days=1)).date()


def _date(x) -> dt.date:
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))


@dataclasses.dataclass
class RunSummary:
    """What a run did, returned by the flows (and printed by ``envq run|backfill``)."""

    kind: str
    start: str
    end: str
    parts_ok: list[str]
    parts_failed: dict[str, str]
    revisions: list[dict]
    results: list[str]
    headline: str
    health: str
    maps_index: str = ""
    alerts: str = ""  # the warnings, the audit and the deliveries (flows.alerts)

    @property
    def ok(self) -> bool:
        return not self.parts_failed


# ------------------------------------------------------------------------------------------
# tasks: one library call each


@task(name="pull", persist_result=False, cache_policy=None)
def pull(part: str, start: dt.date, end: dt.date):
    """Fetch and parse one source for the natural days start..end (``envq.sources.adapters``)."""
    from envq.sources.adapters import open_source

    src = open_source(part)
    payloads, data = src.pull(start, end)  # a refused payload: RejectedPayloads, which carries it
    get_run_logger().info("pulled %s %s..%s from %s: %s", part, start, end,
                          ", ".join(p.origin for p in payloads) or "nothing", _shape(data))
    return payloads, data


@task(name="compute", persist_result=False, cache_policy=None)
def compute(part: str, store_root: str, start: dt.date, end: dt.date, periods: list[str], chunks=None):
    """Read a year (to date) from the store and compute its period results (``envq.report``)."""
    from envq import report
    from envq.store import Store

    store = Store(store_root, create=False)
    if part == "air":
        return report.air_results(store.read_air(start, end, chunks=chunks), periods)
    return report.water_results(store.read_water(start, end), periods)


@task(name="basin-rates", persist_result=False, cache_policy=None)
def basin_rates(part: str, store_root: str, start: dt.date, end: dt.date, periods: list[str]):
    """Rates by river basin for the periods (``geo.areas``: join, then aggregate)."""
    from envq.store import Store
    from geo.areas import air_rates_by_area, water_rates_by_area

    store = Store(store_root, create=False)
    out = []
    if part == "air":
        out.append(air_rates_by_area(store.read_air(start, end), "basins", periods, skip_empty=True))
    else:
        from envq.water.screen import screen

        long, _ = screen(store.read_water(start, end))
        for p in periods:
            ev = water_rates_by_area(long, "basins", p)
            if len(ev.values):
                out.append(ev.rates)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


@task(name="maps", persist_result=False, cache_policy=None)
def render(store_root: str, output: str, period: str, water_period: str, tiles=None):
    """Render the maps of the periods from the store (``maps.render.render_maps``)."""
    from envq.store import Store
    from maps.render import render_maps

    done = render_maps(Store(store_root, create=False), output, period=period, water_period=water_period,
                       tiles=tiles)
    for n in done.notes:
        get_run_logger().warning("maps: %s", n)
    get_run_logger().info("maps of %s (water %s): %s", period, water_period, done.index)
    return str(done.index)


def _maps_setting(store_root: str, output: str | None):
    """(absolute output folder, tiles) of the maps, read in the flow's process (a Dask worker may
    run elsewhere, in another folder, with another environment)."""
    from envq.config import load_config
    from maps.cli import tiles_from_config

    conf = load_config()
    out = output or conf.get("maps", {}).get("output") or os.path.join(store_root, "maps")
    return os.path.abspath(out), tiles_from_config(config=conf)


def _shape(data) -> str:
    if hasattr(data, "sizes"):
        return f"{data.sizes.get('station', 0)} stations x {data.sizes.get('time', 0)} hours"
    return f"{len(data)} readings"


# ------------------------------------------------------------------------------------------
# the run


def _days_of(part: str, data) -> list[dt.date]:
    """The natural days of the pulled data (air: hour-ending labels, so 00:00 is the day before)."""
    if part == "air":
        t = pd.DatetimeIndex(data["time"].values) - pd.Timedelta(hours=1)
    else:
        t = pd.DatetimeIndex(data["time"]) if len(data) else pd.DatetimeIndex([])
    return list(pd.Index(t.normalize().unique()).sort_values().date)


def _payload_day(name: str, default: dt.date) -> dt.date:
    """The first date written in a file name (YYYYMMDD or YYYY-MM-DD), else *default*."""
    import re

    m = re.search(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)", name)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    return default


def _years(days: list[dt.date]) -> dict[int, dt.date]:
    """Year -> last day touched in it."""
    out: dict[int, dt.date] = {}
    for d in days:
        out[d.year] = max(out.get(d.year, d), d)
    return out


def _batches(start: dt.date, end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    out, a = [], start
    while a <= end:
        b = (pd.Timestamp(a) + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
        b = min(b, end)
        out.append((a, b))
        a = b + dt.timedelta(days=1)
    return out


def _run(kind: str, start: dt.date, end: dt.date, parts, *, store_root: str | None, chunks=None,
         batch_months: int | None = None, ready_day: dt.date | None = None, maps: bool = True,
         maps_output: str | None = None, map_period: str | None = None, map_water_period: str | None = None,
         wait_minutes: float | None = None):
    from envq import report
    from envq.sources.adapters import RejectedPayloads, source_config
    from envq.store import Store
    from flows import alerts
    from flows.queue import exclusive_store, wait_seconds

    log = get_run_logger()
    store = Store(store_root)
    root = str(store.root)
    failed: dict[str, str] = {}
    revisions, written, computed = [], [], {}
    touched: dict[str, list[dt.date]] = {}
    run_id = _run_id()
    audits = []
    with exclusive_store(store, run_id=run_id, wait_s=wait_seconds(wait_minutes), log=log), _progress() as progress:
        # 1-2. pull (tasks, in parallel) and upsert (here, under the lock)
        futures = {}
        for part in parts:
            try:  # a bad [sources.<part>] table fails that part only
                cfg = source_config(part)
            except ValueError as exc:
                failed[part] = f"{type(exc).__name__}: {exc}"
                log.error("%s failed: %s", part, failed[part])
                continue
            t = pull.with_options(retries=cfg.retries, retry_delay_seconds=list(cfg.retry_delays_s),
                                  retry_condition_fn=_retry_unless_not_published)
            # batches help where each day is its own file (http); a local multi-day file is read once
            spans = _batches(start, end, batch_months) if batch_months and cfg.kind != "local" else [(start, end)]
            futures[part] = [t.submit(part, a, b) for a, b in spans]
            futures[part] = list(zip(futures[part], spans))
        pulling = progress.add_task("pull + store", total=sum(len(f) for f in futures.values()))
        for part in [p for p in parts if p in futures]:
            days: set[dt.date] = set()
            try:
                for fut, (a, b) in futures[part]:
                    payloads, data = fut.result()
                    audits.append(alerts.audit.submit(part, payloads, data, a, b))
                    for p in payloads:  # http bodies, kept for replay (local files stay where they are)
                        if p.data is not None:
                            store.keep_raw(part, _payload_day(p.name, start), p.name, p.data)
                    if (part == "air" and data.sizes.get("time", 0)) or (part == "water" and len(data)):
                        rev = store.upsert_air(data, source=part, run_id=run_id) if part == "air" \
                            else store.upsert_water(data, source=part, run_id=run_id)
                        revisions.extend(rev.to_dict("records"))
                        tot = rev[["values_new", "values_changed", "values_removed", "values_unchanged"]].sum()
                        log.info("stored %s %s..%s: %d new, %d changed, %d removed, %d unchanged values",
                                 part, rev["day"].min(), rev["day"].max(), *map(int, tot))
                        days.update(_days_of(part, data))
                    progress.advance(pulling)
            except RejectedPayloads as exc:  # bad data: this part fails, nothing of its span stored
                failed[part] = f"bad input: {exc}{_keep_rejected(store, part, exc.payloads, start)}"
                log.error("%s failed: %s", part, failed[part])
            except Exception as exc:  # this part fails (FetchError, InputError, StoreError, ...); the others go on
                failed[part] = f"{type(exc).__name__}: {exc}"
                log.error("%s failed: %s", part, failed[part])
            if days:
                touched[part] = sorted(days)
            elif part not in failed:
                log.warning("%s: no data for %s..%s", part, start, end)
        # 3-4. compute the periods touched (tasks, in parallel)
        jobs = {}
        for part, days in touched.items():
            for year, last in _years(days).items():
                periods = report.periods_touched([d for d in days if d.year == year])
                y0 = dt.date(year, 1, 1)
                jobs[(part, year)] = (compute.submit(part, root, y0, last, periods, chunks=chunks),
                                      basin_rates.submit(part, root, y0, last, periods))
        computing = progress.add_task("compute + publish", total=len(jobs))
        for (part, year), (fut, bfut) in sorted(jobs.items()):
            progress.advance(computing)
            try:
                res = fut.result()
                res[f"{part}_basin_rates"] = bfut.result()
            except Exception as exc:  # this computation fails; the others are still published
                failed[f"{part} {year}"] = f"{type(exc).__name__}: {exc}"
                log.error("compute %s %s failed: %s", part, year, exc)
                continue
            computed[(part, year)] = res
            # 5. results, one file per name and period (or year for day tables)
            written.extend(str(p) for p in store.write_results(res, year))
        # 6. the audit and the day's warnings: stored, published, delivered (never failing the run)
        day = ready_day or end
        outcome = alerts.publish_alerts(store, day=day, parts=list(parts), audits=audits,
                                        warnings_future=alerts.warnings.submit(root, day, list(parts)),
                                        label=f"{kind} {start}..{end}" if start != end else f"{kind} {end}")
        written.extend(outcome.written)
        # 7. the maps, from what the store now holds (a failure here leaves the results published)
        index = ""
        if maps and computed:
            last = ready_day or end
            try:
                out, tiles = _maps_setting(root, maps_output)
                index = render.submit(root, out, map_period or str(last.year), map_water_period or f"{last:%Y-%m}",
                                      tiles).result()
            except Exception as exc:
                failed["maps"] = f"{type(exc).__name__}: {exc}"
                log.error("maps failed: %s", failed["maps"])
        return _publish(kind, start, end, parts, failed, revisions, written, computed, store,
                        ready_day=ready_day or end, maps_index=index, alerts=outcome)


def _keep_rejected(store, part: str, payloads, start: dt.date) -> str:
    """Keep the fetched bodies of a refused pull under ``raw/<part>-rejected/`` (local files stay
    where they are); the sentence saying where, for the failure message."""
    kept = [store.keep_raw(f"{part}-rejected", _payload_day(p.name, start), p.name, p.data)
            for p in payloads if p.data is not None]
    if kept:
        return f" (the payload is kept for inspection: {', '.join(map(str, kept))})"
    return ""


def _progress():
    """A progress bar on stderr for interactive runs (silent under a scheduler or in logs)."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not sys.stderr.isatty())


def _retry_unless_not_published(task, task_run, state) -> bool:
    """Retry fetch failures (timeouts, HTTP errors, truncation); not a day that is not published
    yet, nor a file the readers refuse (InputError: the same bytes fail the same way)."""
    from envq.errors import InputError
    from envq.sources.adapters import NotPublished

    try:
        state.result()
    except (NotPublished, InputError):
        return False
    except Exception:
        return True
    return False


def _run_id() -> str:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id or "")
    except Exception:  # outside a flow run
        return f"pid{os.getpid()}"


def _latest(computed: dict, name: str) -> pd.DataFrame | None:
    frames = [res[name] for (part, year), res in sorted(computed.items()) if name in res and len(res[name])]
    return pd.concat(frames, ignore_index=True) if frames else None


def _publish(kind, start, end, parts, failed, revisions, written, computed, store, *, ready_day, maps_index="",
             alerts=None):
    from envq import report

    air, water = _latest(computed, "air_rates"), _latest(computed, "water_rates")
    basin_air, basin_water = _latest(computed, "air_basin_rates"), _latest(computed, "water_basin_rates")
    if basin_air is not None and air is not None:  # the basin table of the headline year
        basin_air = basin_air[basin_air["period"] == air.loc[air["period"].str.fullmatch(r"\d{4}"), "period"].max()]
    label = f"{kind} {start}..{end}" if start != end else f"{kind} {end}"
    headline = report.headline_markdown(air, water, basin_air=basin_air, basin_water=basin_water, run_label=label)
    health = report.health_report(
        day=ready_day, failures=failed,
        air_hourly=store.read_air(ready_day, ready_day) if "air" in parts and "air" not in failed else None,
        air_expected=_expected_stations() if "air" in parts else (),
        water_long=store.read_water(ready_day, ready_day) if "water" in parts and "water" not in failed else None,
        water_expected=_expected_sections() if "water" in parts else (),
        screened_air=_latest(computed, "air_screened"), screened_water=_latest(computed, "water_screened"))
    if alerts is not None:  # channels that failed (the warnings stay stored and published)
        health = pd.concat([health, alerts.health_rows()], ignore_index=True)
    health_md = report.health_markdown(health, run_label=label)
    store.write_report("summary", headline)
    store.write_report("health", health_md)
    create_markdown_artifact(key="envq-summary", markdown=headline, description=f"envq {label}: headline figures")
    rows = []
    for df, scope in ((air, None), (basin_air, "basin"), (water, None), (basin_water, "basin")):
        if df is not None:
            rows.extend(_table_rows(df, scope))
    if rows:
        create_table_artifact(key="envq-rates", table=rows, description=f"envq {label}: city and basin rates")
    create_markdown_artifact(key="envq-health", markdown=health_md, description=f"envq {label}: run health")
    if maps_index:
        from pathlib import Path

        create_link_artifact(key="envq-maps", link=Path(maps_index).resolve().as_uri(), link_text=maps_index,
                             description=f"envq {label}: maps index page")
    summary = RunSummary(kind, str(start), str(end), [p for p in parts if p not in failed], failed, revisions,
                         written, headline, health_md, maps_index, alerts.text() if alerts is not None else "")
    if failed:
        return Failed(message="failed parts: " + "; ".join(f"{k}: {v}" for k, v in failed.items()), data=summary)
    return Completed(message=f"{kind} {start}..{end}: {', '.join(parts)} ok", data=summary)


def _table_rows(df: pd.DataFrame, scope: str | None) -> list[dict]:
    from envq import report

    if "good_day_ratio" in df:
        sub = df[df["period"].str.fullmatch(r"\d{4}")] if df["period"].str.fullmatch(r"\d{4}").any() else df
        sub = sub[sub["period"] == sub["period"].max()]
        return [{"kind": "air", "scope": scope or r["scope"], "name": r["name"], "period": r["period"],
                 "value_pct": float(r["good_day_ratio"]), "count": f"{int(r['good_days'])}/{int(r['valid_days'])}"}
                for _, r in sub.iterrows()]
    sub = df[df["period"].str.fullmatch(r"\d{4}-\d{2}")]
    sub = sub[sub["period"] == sub["period"].max()] if len(sub) else sub
    return [{"kind": "water", "scope": scope or r["group"], "name": r["name"], "period": r["period"],
             "value_pct": report.published_pct(r["i_iii_share"]),
             "count": f"{int(r['class_1'] + r['class_2'] + r['class_3'])}/{int(r['sections'])}"}
            for _, r in sub.iterrows()]


def _expected_stations() -> list[str]:
    from envq.sources.station_list import hunan_stations

    st = hunan_stations()
    return list(st.index[~st["stopped"].astype(bool)])


def _expected_sections() -> list[str]:
    from envq.water.registry import load_registry

    return list(load_registry()["section"])


# ------------------------------------------------------------------------------------------
# flows


@flow(name="envq-nightly", log_prints=True)
def nightly(date: str | None = None, parts: list[str] = list(PARTS), store_root: str | None = None,
            maps: bool = True, maps_output: str | None = None, wait_minutes: float | None = None):
    """Pull yesterday's (or *date*'s) air and water data, upsert, recompute, publish.

    The source's ``repull_days`` last days are pulled again to catch upstream revisions and the
    hour-24 label of the previous day. The maps are rendered for the year of the day (air) and
    its month (water) into *maps_output* (default ``[maps] output`` or ``<store>/maps``). A run
    finding the store in use waits up to *wait_minutes* (default ``[store] wait_minutes``, 180;
    :mod:`flows.queue`).
    """
    from envq.sources.adapters import source_config

    day = _date(date) if date else yesterday()
    repull = max(source_config(p).repull_days for p in parts)
    start = day - dt.timedelta(days=max(repull, 1) - 1)
    return _run("nightly", start, day, list(parts), store_root=store_root, ready_day=day, maps=maps,
                maps_output=maps_output, wait_minutes=wait_minutes)


@flow(name="envq-backfill", log_prints=True)
def backfill(start: str, end: str, parts: list[str] = list(PARTS), store_root: str | None = None,
             dask_chunks: bool = False, maps: bool = True, maps_output: str | None = None,
             map_period: str | None = None, map_water_period: str | None = None,
             wait_minutes: float | None = None):
    """The nightly run over a range of days: pulls (http sources: in batches of a few months, in
    parallel; local sources: at once, their files hold many days), then recomputes every month,
    quarter and year touched.

    *dask_chunks* reads the store as dask arrays (a month per chunk) for the computations, as on
    a Dask cluster (``envq backfill --dask``). The maps are rendered at the end as in
    :func:`nightly`, for *map_period* / *map_water_period* if given (default: the year and the
    month of *end*).
    """
    a, b = _date(start), _date(end)
    if b < a:
        raise ValueError(f"backfill: {end} is before {start}")
    chunks = {"time": 24 * 31} if dask_chunks else None
    return _run("backfill", a, b, list(parts), store_root=store_root, chunks=chunks,
                batch_months=BACKFILL_BATCH_MONTHS, maps=maps, maps_output=maps_output, map_period=map_period,
                map_water_period=map_water_period, wait_minutes=wait_minutes)
