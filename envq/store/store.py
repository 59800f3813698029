"""The store's facade: one :class:`Store` over its parts (docs/pipeline.md, section "Store").

One data directory (default ``./envq-data`` or ``$ENVQ_HOME``), or an S3 prefix::

    store.json                    {"format": "envq-store", "schema_version": 2, ...}
    .lock, .lock.json             writer lock (fcntl.flock) and its holder (pid, host, started, run_id)
    air/hourly/YYYY-MM.json       pointer to the current version of the month cube
    air/hourly/YYYY-MM.vN.zarr    hourly cube of the natural days of that month, a chunk per pollutant
    water/readings/YYYY-MM.parquet
    results/<name>/<period>.parquet
    reports/<name>.md
    raw/<source>/YYYY/YYYY-MM-DD/<file>
    revisions.parquet             one row per (run, kind, day): values new/changed/removed/unchanged

Each part is a small module; this class only opens the store and hands each call to its part:

===========================  ==========================================================
:mod:`~envq.store.backend`   where the store lives (folder or bucket): objects, the atomic
                             switch, the writer lock (flock or lease), clean-up
:mod:`~envq.store.schema`    ``store.json``, the schema version, migrations
:mod:`~envq.store.air_cubes` the air cube: month versions and pointers (format: ``air``)
:mod:`~envq.store.water_readings`  water readings by month (format: ``water``)
:mod:`~envq.store.results`   results keyed by (name, Period)
:mod:`~envq.store.payloads`  run reports and raw payloads
:mod:`~envq.store.revisions` what each upsert changed
===========================  ==========================================================

Writes are copy-on-write with an atomic switch, so a crash leaves the previous state readable;
orphans (unreferenced ``*.vN.zarr``, ``*.envq.tmp``) are removed by the next writer when it
takes the lock. Reads need no lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pandas as pd
import xarray as xr

from envq.periods import Period
from envq.store import schema as _schema
from envq.store.air_cubes import AirCubes
from envq.store.backend import default_root, open_backend
from envq.store.payloads import RawPayloads, Reports
from envq.store.results import Results
from envq.store.revisions import REVISION_COLUMNS, Revisions
from envq.store.water_readings import WaterReadings

__all__ = ["Store", "default_root", "REVISION_COLUMNS"]


class Store:
    """The embedded store of envq (docs/pipeline.md, "Store").

    Parameters
    ----------
    root : str or os.PathLike, optional
        The data directory, or ``s3://bucket/prefix`` (object storage); default
        :func:`default_root` (``$ENVQ_HOME`` or ``./envq-data``).
    create : bool, default True
        Create the store when *root* is missing or an empty directory (prefix). A directory that
        is neither empty nor a store is always refused (StoreError): the store never writes into
        a folder it did not create.

    Raises
    ------
    StoreError
        Not a store, or a store of a newer schema version (upgrade envq), or no migration for an
        older one. Older stores are migrated (:data:`envq.store.schema.MIGRATIONS`) under the
        writer lock, so :class:`StoreLockedError` when another writer holds it.

    Notes
    -----
    Reading needs no lock. Every write (``upsert_*``, ``write_result``, ``write_report``,
    ``keep_raw``) needs the writer lock held by this object: ``with store.lock(run_id=...): ...``.
    """

    def __init__(self, root=None, *, create: bool = True):
        #: Where the store lives (:class:`envq.store.backend.Backend`).
        self.backend = open_backend(root)
        self.root = self.backend.root
        self._revisions = Revisions(self.backend)
        self._air = AirCubes(self.backend, self._revisions)
        self._water = WaterReadings(self.backend, self._revisions)
        self._results = Results(self.backend)
        self._reports = Reports(self.backend)
        self._raw = RawPayloads(self.backend)
        self.schema_version = _schema.SCHEMA_VERSION
        version = _schema.open_schema(self.backend, create)
        self.schema_version = version if version is not None else _schema.migrate(self)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, schema_version={self.schema_version})"

    # -- the writer lock ------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, *, run_id: str = "", wait_s: float = 0.0):
        """Hold the exclusive writer lock.

        A local store: ``fcntl.flock`` on ``root/.lock``, and ``root/.lock.json`` names the holder
        ``{pid, host, started, run_id}``; released by the kernel when its process dies, so a crash
        never leaves the store locked. Object storage: a lease (:mod:`envq.store.lease`). When
        another writer (another process, or another Store object on the same root) holds it, wait
        up to *wait_s* seconds, then raise :class:`StoreLockedError` naming it. On entry the
        schema is checked and the orphans of a crashed writer are removed. Re-entrant within one
        Store object. *run_id* is the default ``run_id`` of the upserts made under it.
        """
        with self.backend.lock(run_id=run_id, wait_s=wait_s, on_taken=self._on_lock_taken):
            yield self

    def _on_lock_taken(self) -> None:
        """A writer that takes the lock checks the schema and removes a crashed writer's orphans."""
        version = _schema.read_meta(self.backend)["schema_version"]
        _schema.check_not_newer(self.root, version)
        if version == _schema.SCHEMA_VERSION:
            self.clean_orphans()

    @property
    def lease(self):
        """The writer's lease (:class:`envq.store.lease.Lease`) while this Store holds the lock of
        a store in object storage, else None."""
        return self.backend.lease

    def clean_orphans(self) -> None:
        """Remove what a crashed writer left: unreferenced month versions and ``*.envq.tmp``
        files (under the lock; taking the lock does it)."""
        self.backend.require_lock("clean_orphans")
        self._air.clean_orphans()
        self.backend.clean_temporaries()

    # -- revisions ------------------------------------------------------------------------------

    def revisions(self) -> pd.DataFrame:
        """Every revision row recorded: ``kind, day, source, run_id, stations, values_new,
        values_changed, values_removed, values_unchanged, recorded`` (one row per upsert call,
        kind and day, in the order recorded).

        Rows are recorded *before* the data they describe is switched in: a crash between the
        two leaves a row for a change that did not land (the re-run records it again), never a
        landed change without its row, so "what changed" may over-report but never misses.
        """
        return self._revisions.read()

    # -- air ----------------------------------------------------------------------------------

    def upsert_air(self, hourly: xr.Dataset, *, source: str, run_id: str = "") -> pd.DataFrame:
        """Store the hour labels present in *hourly* (the canonical hourly dataset).

        Exactly the labels present are replaced, for every station: a station absent from
        *hourly*, or NaN there, becomes NaN at those labels; other labels are untouched. Values
        are the six pollutants ``pm25, pm10, so2, no2, co, o3`` as float64, exactly as given;
        other variables (``*_24h_moving``, ``in_plan``, ...) are not stored. The station axis of
        each month is the union of the stations ever stored; their coords ``name, city,
        province, lon, lat, is_background`` are kept (the latest non-empty value wins).

        Each month of natural days touched is written once, as a new version switched in
        atomically; a month whose content does not change is not rewritten (so a re-run leaves
        the files byte-identical), and the very input that made a month's version is recognised
        by its content hash without reading the cube.

        Parameters
        ----------
        hourly : xarray.Dataset
            Dims ``(station, time)``; ``time`` datetime64, hour-ending Beijing time, on the hour.
        source : str
            Where the data comes from (recorded in the revisions).
        run_id : str, optional
            Default: the ``run_id`` given to :meth:`lock`.

        Returns
        -------
        pandas.DataFrame
            One row per natural day touched (:data:`REVISION_COLUMNS`, ``kind="air"``), also
            appended to ``revisions.parquet``.

        Raises
        ------
        StoreError
            Without the writer lock.
        ValueError
            A dataset without a ``time``/``station`` dim or one of the six pollutants, labels not
            on the hour, repeated labels or stations, float32 or infinite values.
        """
        return self._air.upsert(hourly, source=source, run_id=run_id)

    def compact_air(self) -> list[str]:
        """Rewrite the air months still in the format of schema version 1 (float64) in the
        compact one (the schema migration 1 -> 2; under the writer lock). The months rewritten."""
        with self.lock(run_id="compact-air"):
            return self._air.compact()

    def read_air(self, start: dt.date, end: dt.date, *, chunks=None) -> xr.Dataset:
        """The canonical hourly dataset of the natural days *start..end* from the store.

        Time labels ``start 01:00 .. end+1 00:00`` (every hour, NaN where nothing is stored);
        stations: the union over the months read (sorted; NaN where a month lacks one), with
        coords ``name, city, province, lon, lat, is_background`` (the latest month's non-empty
        value wins). Data vars ``pm25, pm10, so2, no2, co, o3`` (float64). Usable by
        :func:`envq.air.pipeline.city_days_from_hourly`.

        *chunks* is passed to ``xarray.open_zarr`` (e.g. ``{}`` for the stored chunks, one
        month cube each): the result is then dask-backed and lazy (decoded to float64 as it is
        computed); without it the result is loaded in memory. A lazy result reads the month versions current at the call; they stay
        on disk until the next writer takes the lock.
        """
        return self._air.read(start, end, chunks=chunks)

    def air_days(self) -> list[dt.date]:
        """The natural days holding at least one stored air value, sorted."""
        return self._air.days()

    # -- water --------------------------------------------------------------------------------

    def upsert_water(self, long: pd.DataFrame, *, source: str, run_id: str = "") -> pd.DataFrame:
        """Store the canonical water long table *long*.

        For every ``(day, source_kind)`` present in *long* (day = ``time.date()``), the stored
        rows of that pair are replaced by the incoming ones; other rows are untouched. Stored
        columns: ``section, time, item, value, below_detection, source_kind, file, row``
        (extra columns are not kept), sorted by time, section, item, source_kind. Each month
        file touched is replaced atomically, and only if its content changes.

        Returns one row per day present (:data:`REVISION_COLUMNS`, ``kind="water"``; ``stations``
        = sections read that day; readings compared by key ``section, time, item, source_kind``
        on value and below_detection), also appended to ``revisions.parquet``.

        Raises StoreError without the lock; ValueError naming a missing or mistyped column;
        :class:`envq.errors.InputError` (file, row, field, value) for an empty key field, a
        missing time or flag, an infinite value or a repeated key.
        """
        return self._water.upsert(long, source=source, run_id=run_id)

    def read_water(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The stored readings with ``start <= time.date() <= end``, in the stored order."""
        return self._water.read(start, end)

    def water_days(self) -> list[dt.date]:
        """The days (``time.date()``) holding at least one stored water reading, sorted."""
        return self._water.days()

    # -- results ------------------------------------------------------------------------------

    def write_result(self, name: str, period, df: pd.DataFrame):
        """Write *df* as ``results/<name>/<period label>.parquet`` (atomic replace); the path.

        *period* is a :class:`envq.periods.Period` or a text of its grammar: results are keyed by
        (name, Period)."""
        return self._results.write(name, period, df)

    def write_results(self, results: dict[str, pd.DataFrame], year) -> list:
        """Write a run's result tables: a table with a ``period`` column as one file per period,
        any other (day tables) as the file of *year*; empty tables are skipped. The paths."""
        return self._results.write_many(results, year)

    def result_names(self) -> list[str]:
        """The names of the results stored, sorted."""
        return self._results.names()

    def result_periods(self, name: str) -> list[Period]:
        """The periods result *name* is held for, in time order (months before their quarter)."""
        return self._results.periods(name)

    def read_result(self, name: str, period=None) -> pd.DataFrame:
        """The result *name* of *period* (a Period or a text of its grammar); with
        ``period=None`` every period, concatenated in the order of their labels (a ``period``
        column is added first when the frames have none; a default RangeIndex is renumbered, any
        other index kept).

        A period not held raises :class:`envq.store.errors.NoResultError` (a usage error and a
        StoreError) listing the periods held. What Parquet stores is what comes back: object
        columns holding one type (e.g. bools) return with that type."""
        return self._results.read(name, period)

    # -- reports and raw payloads -------------------------------------------------------------

    def write_report(self, name: str, text: str):
        """Write a run report as ``reports/<name>.md`` (atomic replace; the latest run's)."""
        return self._reports.write(name, text)

    def read_report(self, name: str) -> str:
        """The latest run's report *name* (markdown)."""
        return self._reports.read(name)

    def keep_raw(self, source: str, day: dt.date, name: str, data: bytes):
        """Keep a raw payload as ``raw/<source>/YYYY/YYYY-MM-DD/<name>`` (atomic; not rewritten
        when the same bytes are already there); the path."""
        return self._raw.keep(source, day, name, data)
