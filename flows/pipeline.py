"""The Prefect flows: ``nightly`` and ``backfill`` (docs/pipeline.md).

Thin by design: every task calls one public library function; the flow itself holds the store's
writer lock for the whole run and is the only process that writes (tasks pull and compute, and
may run on a Dask cluster; they only read the store, which is copy-on-write).

Run shape, for each part (``air``, ``water``):

1. ``pull`` (task, with the source's retries and backoff): ``Source.fetch`` + ``Source.parse``;
2. the flow keeps the raw http payloads and upserts into the store (revisions recorded);
3. ``compute`` (task, one per part and year touched): the year's data to date from the store ->
   ``envq.report.air_results`` / ``water_results`` for the periods touched
   (:func:`envq.periods.periods_touched`: month, quarter, half-year and year), the river-chief reaches
   included;
4. ``basin_rates`` (task): the same periods and the years to date beside them (the bulletins'
   1-M月累计, as ``compute`` files them) by river basin (``geo.areas``); for air they are
   part of ``compute`` (``Part.basins_in_results``: the basins' days from the same station daily
   values, membership joined once per geometry-pack version), so no task runs for them;
5. the flow writes the results, then renders the maps (``maps`` task: ``maps.render.render_maps``
   into ``[maps] output`` or ``<store>/maps``; the year of the last day for air, its month for
   water) and publishes four artifacts: a markdown summary with the headline figures, a table of
   city and basin rates, the run-health report, and a link to the maps' index page.

A part that fails (its source down, bad data) does not stop the others: the run ends ``Failed``
with a message naming the failed parts, after publishing what succeeded. What differs between
the parts is in :mod:`flows.parts`; the steps here loop over them.
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

from envq.periods import Period, latest, parse_period, periods_touched
from flows.parts import PARTS

__all__ = ["nightly", "backfill", "yesterday", "PARTS", "RunSummary", "RunSpec", "MapSpec"]

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
    reports: list[str] = dataclasses.field(default_factory=list)  # the bulletins' folders written

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
                          ", ".join(p.origin for p in payloads) or "nothing", PARTS[part].shape(data))
    return payloads, data


@task(name="compute", persist_result=False, cache_policy=None)
def compute(part: str, store_root: str, start: dt.date, end: dt.date, periods: list, chunks=None):
    """Read a year (to date) from the store and compute its period results (``envq.report``)."""
    from envq.store import Store

    p = PARTS[part]
    return p.results(p.read(Store(store_root, create=False), start, end, chunks=chunks), _as_periods(periods))


@task(name="basin-rates", persist_result=False, cache_policy=None)
def basin_rates(part: str, store_root: str, start: dt.date, end: dt.date, periods: list):
    """Rates by river basin for the periods (``geo.areas``: join, then aggregate)."""
    from envq.store import Store

    p = PARTS[part]
    return p.basin_rates(p.read(Store(store_root, create=False), start, end), _as_periods(periods))


def _as_periods(periods) -> list[Period]:
    return [parse_period(x) for x in periods]


@task(name="maps", persist_result=False, cache_policy=None)
def render(store_root: str, output: str, period: str, water_period: str, tiles=None, reports: str | None = None):
    """Render the maps of the periods from the store (``maps.render.render_maps``)."""
    from envq.store import Store
    from maps.render import render_maps

    done = render_maps(Store(store_root, create=False), output, period=period, water_period=water_period,
                       tiles=tiles, reports=reports)
    for n in done.notes:
        get_run_logger().warning("maps: %s", n)
    get_run_logger().info("maps of %s (water %s): %s", period, water_period, done.index)
    return str(done.index)


@task(name="bulletins", persist_result=False, cache_policy=None)
def bulletins(store_root: str, day, parts: list, periods: list):
    """The bulletins of the run from the store (``envq.bulletin.run_bulletins``: the month to date
    of *day* and, on the first run of a month, the final bulletin of the month before; and those
    of *periods*)."""
    from envq.bulletin import run_bulletins
    from envq.store import Store

    return run_bulletins(Store(store_root, create=False), day, parts, periods=periods)


@task(name="report-files", persist_result=False, cache_policy=None)
def report_files(found: list, output: str, formats: list) -> list[str]:
    """Write each bulletin into ``<output>/<period>/`` (``maps.bulletin.render_report``); a missing
    Chromium leaves the PDF out (warned), not the rest."""
    from maps.bulletin import ChromiumMissing, render_report

    done = []
    for rb in found:
        try:
            rep = render_report(rb.bulletin, output, formats=formats)
        except ChromiumMissing as exc:
            get_run_logger().warning("bulletin %s: %s", rb.period, exc)
            done.append(str(os.path.join(output, rb.period.label)))
            continue
        get_run_logger().info("bulletin %s (%s): %s", rb.period, rb.kind, rep.folder)
        done.append(str(rep.folder))
    return done


def _reports_setting(store_root: str, output: str | None) -> tuple[str, list[str]]:
    """(absolute folder of the bulletins' files, formats): *output*, else ``[reports] output``, else
    ``<store>/bulletins``; formats ``[reports] formats`` (default xlsx, html, pdf, md)."""
    from envq.config import config_path, load_config
    from maps.bulletin import reports_from_config

    conf_out, formats = reports_from_config(load_config(), str(config_path() or "envq.toml"))
    out = output or conf_out or os.path.join(store_root, "bulletins")
    return os.path.abspath(out), formats


def _maps_setting(store_root: str, output: str | None):
    """(absolute output folder, tiles) of the maps, read in the flow's process (a Dask worker may
    run elsewhere, in another folder, with another environment)."""
    from envq.config import load_config
    from maps.render import tiles_from_config

    conf = load_config()
    out = output or conf.get("maps", {}).get("output") or os.path.join(store_root, "maps")
    return os.path.abspath(out), tiles_from_config(config=conf)




# ------------------------------------------------------------------------------------------
# the run


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


@dataclasses.dataclass(frozen=True)
class MapSpec:
    """The maps a run renders: whether, into which folder (default ``[maps] output`` or
    ``<store>/maps``), and for which periods (default the year and the month of the last day)."""

    enabled: bool = True
    output: str | None = None
    period: str | None = None
    water_period: str | None = None
    reports_output: str | None = None  # the bulletins' files (default [reports] output, <store>/bulletins)
    report_periods: tuple[str, ...] = ()  # bulletins asked for besides the nightly ones

    def periods(self, last: dt.date) -> tuple[str, str]:
        return (self.period or Period.year_of(last.year).label,
                self.water_period or Period.month_of(last.year, last.month).label)


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a run does: *kind* (nightly, backfill) over the natural days *start..end* for *parts*."""

    kind: str
    start: dt.date
    end: dt.date
    parts: tuple[str, ...]
    store_root: str | None = None
    chunks: dict | None = None
    batch_months: int | None = None
    ready_day: dt.date | None = None
    maps: MapSpec = MapSpec()
    wait_minutes: float | None = None  # how long a run waits for the store (flows.queue)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.start}..{self.end}" if self.start != self.end else f"{self.kind} {self.end}"

    @property
    def last_day(self) -> dt.date:
        return self.ready_day or self.end


@dataclasses.dataclass
class RunState:
    """What a run has done so far (filled by its steps, read by :func:`_publish`)."""

    spec: RunSpec
    store: object
    run_id: str
    failed: dict = dataclasses.field(default_factory=dict)
    revisions: list = dataclasses.field(default_factory=list)
    written: list = dataclasses.field(default_factory=list)
    computed: dict = dataclasses.field(default_factory=dict)
    touched: dict = dataclasses.field(default_factory=dict)
    audits: list = dataclasses.field(default_factory=list)
    alerts: object = None  # flows.alerts.publish_alerts' outcome
    maps_index: str = ""
    reports_dir: str | None = None
    bulletins: list = dataclasses.field(default_factory=list)  # envq.bulletin.RunBulletin
    report_folders: list = dataclasses.field(default_factory=list)

    def fail(self, what: str, exc: BaseException) -> None:
        self.failed[what] = f"{type(exc).__name__}: {exc}"
        get_run_logger().error("%s failed: %s", what, self.failed[what])


def _run(spec: RunSpec):
    from envq.store import Store
    from flows.queue import exclusive_store, wait_seconds

    store = Store(spec.store_root)
    run = RunState(spec, store, _run_id())
    with exclusive_store(store, run_id=run.run_id, wait_s=wait_seconds(spec.wait_minutes), log=get_run_logger()), \
            _progress() as progress:
        _pull_and_store(run, progress)       # 1-2. pull (tasks, in parallel), upsert (here, under the lock)
        _compute_and_write(run, progress)    # 3-5. compute the periods touched (tasks), write the results
        _alerts(run)                         # 6. the audit and the day's warnings (never failing the run)
        if run.computed:
            _bulletins(run)                  # 7. the bulletins (month to date, final), from the store
        if spec.maps.enabled and run.computed:
            _render_maps(run)                # 8. the maps, from what the store now holds
        return _publish(run)


def _bulletins(run: RunState) -> None:
    """The bulletins of the run (a nightly run: the month to date and, on the first run of a month,
    the final bulletin of the month before; any run: those asked for), kept in the store's
    reports, and their files (with the maps) into the reports folder, kept per period."""
    spec, root = run.spec, str(run.store.root)
    day = spec.last_day if spec.kind == "nightly" else None
    if day is None and not spec.maps.report_periods:
        return
    try:
        run.bulletins = bulletins.submit(root, day, list(spec.parts), list(spec.maps.report_periods)).result()
        for rb in run.bulletins:
            if rb.report:
                run.written.append(str(run.store.write_report(rb.report, rb.markdown)))
        if spec.maps.enabled and run.bulletins:
            run.reports_dir, formats = _reports_setting(root, spec.maps.reports_output)
            run.report_folders = report_files.submit(run.bulletins, run.reports_dir, formats).result()
    except Exception as exc:  # the results stay published
        run.fail("bulletin", exc)


def _alerts(run: RunState) -> None:
    """The audit of what was pulled and the day's warnings: stored, published, delivered."""
    from flows import alerts

    spec = run.spec
    run.alerts = alerts.publish_alerts(run.store, day=spec.last_day, parts=list(spec.parts), audits=run.audits,
                                       warnings_future=alerts.warnings.submit(str(run.store.root), spec.last_day,
                                                                              list(spec.parts)),
                                       label=spec.label)
    run.written.extend(run.alerts.written)


def _pull_and_store(run: RunState, progress) -> None:
    """Pull each part (batches of days in parallel) and upsert what comes back; the days touched."""
    from envq.sources.adapters import RejectedPayloads, source_config

    spec, log = run.spec, get_run_logger()
    futures = {}
    for name in spec.parts:
        try:  # a bad [sources.<part>] table fails that part only
            cfg = source_config(name)
        except ValueError as exc:
            run.fail(name, exc)
            continue
        t = pull.with_options(retries=cfg.retries, retry_delay_seconds=list(cfg.retry_delays_s),
                              retry_condition_fn=_retry_unless_not_published)
        # batches help where each day is its own file (http); a local multi-day file is read once
        spans = _batches(spec.start, spec.end, spec.batch_months) if spec.batch_months and cfg.kind != "local" \
            else [(spec.start, spec.end)]
        futures[name] = [(t.submit(name, a, b), (a, b)) for a, b in spans]
    pulling = progress.add_task("pull + store", total=sum(len(f) for f in futures.values()))
    from flows import alerts

    for name, futs in futures.items():
        part, days = PARTS[name], set()
        try:
            for fut, (a, b) in futs:
                payloads, data = fut.result()
                run.audits.append(alerts.audit.submit(name, payloads, data, a, b))
                for p in payloads:  # http bodies, kept for replay (local files stay where they are)
                    if p.data is not None:
                        run.store.keep_raw(name, _payload_day(p.name, spec.start), p.name, p.data)
                if part.has_data(data):
                    rev = part.upsert(run.store, data, run_id=run.run_id)
                    run.revisions.extend(rev.to_dict("records"))
                    tot = rev[["values_new", "values_changed", "values_removed", "values_unchanged"]].sum()
                    log.info("stored %s %s..%s: %d new, %d changed, %d removed, %d unchanged values",
                             name, rev["day"].min(), rev["day"].max(), *map(int, tot))
                    days.update(part.days_of(data))
                progress.advance(pulling)
        except RejectedPayloads as exc:  # bad data: this part fails, nothing of its span stored
            run.failed[name] = f"bad input: {exc}{_keep_rejected(run.store, name, exc.payloads, spec.start)}"
            log.error("%s failed: %s", name, run.failed[name])
        except Exception as exc:  # this part fails (FetchError, InputError, StoreError, ...); the others go on
            run.fail(name, exc)
        if days:
            run.touched[name] = sorted(days)
        elif name not in run.failed:
            log.warning("%s: no data for %s..%s", name, spec.start, spec.end)


def _compute_and_write(run: RunState, progress) -> None:
    """Compute each part's periods touched, year by year (tasks, in parallel), and write them."""
    root = str(run.store.root)
    jobs = {}
    for name, days in run.touched.items():
        part = PARTS[name]
        for year, last in _years(days).items():
            periods = periods_touched([d for d in days if d.year == year])
            labels = [p.label for p in periods]
            first = part.read_start(year, periods)
            jobs[(name, year)] = (compute.submit(name, root, first, last, labels, chunks=run.spec.chunks),
                                  None if part.basins_in_results else basin_rates.submit(name, root, first, last, labels))
    computing = progress.add_task("compute + publish", total=len(jobs))
    for (name, year), (fut, bfut) in sorted(jobs.items()):
        progress.advance(computing)
        try:
            res = fut.result()
            if bfut is not None:
                res[PARTS[name].basin_name] = bfut.result()
        except Exception as exc:  # this computation fails; the others are still published
            run.fail(f"{name} {year}", exc)
            continue
        run.computed[(name, year)] = res
        # results, one file per name and period (or year for day tables)
        run.written.extend(str(p) for p in run.store.write_results(res, year))


def _render_maps(run: RunState) -> None:
    """Render the maps (a failure here leaves the results published)."""
    try:
        out, tiles = _maps_setting(str(run.store.root), run.spec.maps.output)
        period, water_period = run.spec.maps.periods(run.spec.last_day)
        reports = run.reports_dir or _reports_setting(str(run.store.root), run.spec.maps.reports_output)[0]
        run.maps_index = render.submit(str(run.store.root), out, period, water_period, tiles, reports).result()
    except Exception as exc:
        run.fail("maps", exc)


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


def _publish(run: RunState):
    """The headline, the health report and the artifacts of a run, from its results (read only)."""
    from envq import report

    spec, store = run.spec, run.store
    air, water = _latest(run.computed, "air_rates"), _latest(run.computed, "water_rates")
    basin_air, basin_water = _latest(run.computed, "air_basin_rates"), _latest(run.computed, "water_basin_rates")
    if basin_air is not None and air is not None:  # the basin table of the headline year
        basin_air = basin_air[basin_air["period"] == latest(air["period"].unique(), "year")]
    headline = report.headline_markdown(air, water, basin_air=basin_air, basin_water=basin_water,
                                        run_label=spec.label)
    health = _health(run)
    if run.alerts is not None:  # channels that failed (the warnings stay stored and published)
        health = pd.concat([health, run.alerts.health_rows()], ignore_index=True)
    health_md = report.health_markdown(health, run_label=spec.label)
    store.write_report("summary", headline)
    store.write_report("health", health_md)
    create_markdown_artifact(key="envq-summary", markdown=headline, description=f"envq {spec.label}: headline figures")
    rows = []
    for df, scope in ((air, None), (basin_air, "basin"), (water, None), (basin_water, "basin")):
        if df is not None:
            rows.extend(artifact_rows(df, scope))
    if rows:
        create_table_artifact(key="envq-rates", table=rows, description=f"envq {spec.label}: city and basin rates")
    create_markdown_artifact(key="envq-health", markdown=health_md, description=f"envq {spec.label}: run health")
    for rb in run.bulletins:
        create_markdown_artifact(key=rb.artifact_key, markdown=rb.markdown,
                                 description=f"envq {spec.label}: bulletin {rb.period.label} ({rb.kind})")
    if run.maps_index:
        from pathlib import Path

        create_link_artifact(key="envq-maps", link=Path(run.maps_index).resolve().as_uri(), link_text=run.maps_index,
                             description=f"envq {spec.label}: maps index page")
    summary = RunSummary(spec.kind, str(spec.start), str(spec.end), [p for p in spec.parts if p not in run.failed],
                         run.failed, run.revisions, run.written, headline, health_md, run.maps_index,
                         run.alerts.text() if run.alerts is not None else "", list(run.report_folders))
    if run.failed:
        return Failed(message="failed parts: " + "; ".join(f"{k}: {v}" for k, v in run.failed.items()), data=summary)
    return Completed(message=f"{spec.kind} {spec.start}..{spec.end}: {', '.join(spec.parts)} ok", data=summary)


def _health(run: RunState) -> pd.DataFrame:
    from envq import report

    day, parts, failed, store = run.spec.last_day, run.spec.parts, run.failed, run.store
    return report.health_report(
        day=day, failures=failed,
        air_hourly=store.read_air(day, day) if "air" in parts and "air" not in failed else None,
        air_expected=_expected_stations() if "air" in parts else (),
        water_long=store.read_water(day, day) if "water" in parts and "water" not in failed else None,
        water_expected=_expected_sections() if "water" in parts else (),
        screened_air=_latest(run.computed, "air_screened"), screened_water=_latest(run.computed, "water_screened"))


def artifact_rows(df: pd.DataFrame, scope: str | None) -> list[dict]:
    """Rows of the artifact table: the latest year (air) or month (water) of a rates table, each
    with its published value, counts, target and the engine's verdict (``target_met``)."""
    from envq.targets import published

    def met(v):
        return None if v is None or pd.isna(v) else bool(v)

    if "good_day_ratio" in df:
        label = latest(df["period"].unique(), "year") or latest(df["period"].unique())
        sub = df[df["period"] == label]
        return [{"kind": "air", "scope": scope or r["scope"], "name": r["name"], "period": r["period"],
                 "value_pct": float(published(r["good_day_ratio"])), "count": f"{int(r['good_days'])}/{int(r['valid_days'])}",
                 "target": None if pd.isna(r["target"]) else float(r["target"]), "target_met": met(r["target_met"])}
                for _, r in sub.iterrows()]
    sub = df[df["period"] == latest(df["period"].unique(), "month")]
    return [{"kind": "water", "scope": scope or r["group"], "name": r["name"], "period": r["period"],
             "value_pct": float(published(r["i_iii_share"])), "count": f"{int(r['sections_i_iii'])}/{int(r['sections'])}",
             "target": None if pd.isna(r["i_iii_target"]) else float(r["i_iii_target"]), "target_met": met(r["target_met"])}
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
            maps: bool = True, maps_output: str | None = None, wait_minutes: float | None = None,
            reports_output: str | None = None):
    """Pull yesterday's (or *date*'s) air and water data, upsert, recompute, publish.

    The source's ``repull_days`` last days are pulled again to catch upstream revisions and the
    hour-24 label of the previous day. The maps are rendered for the year of the day (air) and
    its month (water) into *maps_output* (default ``[maps] output`` or ``<store>/maps``). A run
    finding the store in use waits up to *wait_minutes* (default ``[store] wait_minutes``, 180;
    :mod:`flows.queue`).

    It publishes the bulletin of the month to date as the Markdown artifact ``envq-bulletin`` and,
    on the first run of a month, the final bulletin of the month before as
    ``envq-bulletin-final`` (:func:`envq.bulletin.run_bulletins`), keeps them in the store's
    reports, and with the maps writes their files into *reports_output* (default ``[reports]
    output`` or ``<store>/bulletins``), one folder per period.
    """
    from envq.sources.adapters import source_config

    day = _date(date) if date else yesterday()
    repull = max(source_config(p).repull_days for p in parts)
    start = day - dt.timedelta(days=max(repull, 1) - 1)
    return _run(RunSpec("nightly", start, day, tuple(parts), store_root=store_root, ready_day=day,
                        maps=MapSpec(maps, maps_output, reports_output=reports_output), wait_minutes=wait_minutes))


@flow(name="envq-backfill", log_prints=True)
def backfill(start: str, end: str, parts: list[str] = list(PARTS), store_root: str | None = None,
             dask_chunks: bool = False, maps: bool = True, maps_output: str | None = None,
             map_period: str | None = None, map_water_period: str | None = None,
             wait_minutes: float | None = None, bulletin_periods: list[str] | None = None,
             reports_output: str | None = None):
    """The nightly run over a range of days: pulls (http sources: in batches of a few months, in
    parallel; local sources: at once, their files hold many days), then recomputes every month,
    quarter and year touched.

    *dask_chunks* reads the store as dask arrays (a month per chunk) for the computations, as on
    a Dask cluster (``envq backfill --dask``). The maps are rendered at the end as in
    :func:`nightly`, for *map_period* / *map_water_period* if given (default: the year and the
    month of *end*). The bulletins of *bulletin_periods* (for the parts the store holds results
    of) are kept in the store's reports, published as artifacts and, with the maps, written into
    *reports_output* as in :func:`nightly`.
    """
    a, b = _date(start), _date(end)
    if b < a:
        raise ValueError(f"backfill: {end} is before {start}")
    chunks = {"time": 24 * 31} if dask_chunks else None
    if map_period is not None:  # a wrong period fails before anything runs
        parse_period(map_period)
    if map_water_period is not None:
        parse_period(map_water_period)
    for p in bulletin_periods or ():
        parse_period(p)
    return _run(RunSpec("backfill", a, b, tuple(parts), store_root=store_root, chunks=chunks,
                        batch_months=BACKFILL_BATCH_MONTHS,
                        maps=MapSpec(maps, maps_output, map_period, map_water_period, reports_output,
                                     tuple(bulletin_periods or ())), wait_minutes=wait_minutes))
