"""The embedded local store (docs/pipeline.md, section "Store").

One data directory (default ``./envq-data`` or ``$ENVQ_HOME``)::

    store.json                    {"format": "envq-store", "schema_version": 1, ...}
    .lock, .lock.json             writer lock (fcntl.flock) and its holder (pid, host, started, run_id)
    air/hourly/YYYY-MM.json       pointer to the current version of the month cube
    air/hourly/YYYY-MM.vN.zarr    hourly cube of the natural days of that month, chunked by day
    water/readings/YYYY-MM.parquet
    results/<name>/<period>.parquet
    raw/<source>/YYYY/YYYY-MM-DD/<file>
    revisions.parquet             one row per (run, kind, day): values new/changed/removed/unchanged

Writes are copy-on-write with an atomic switch (``os.replace`` of a pointer or of a file), so a
crash leaves the previous state readable; orphans (unreferenced ``*.vN.zarr``, ``*.envq.tmp``)
are removed by the next writer when it takes the lock. Reads need no lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import io
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xarray as xr

from envq.store import air as _air
from envq.store import schema as _schema
from envq.store import water as _water
from envq.store import objects as _objects
from envq.store._fs import TMP_SUFFIX, atomic_write_bytes, check_name, fault, json_bytes, walk
from envq.periods import Period, parse_period
from envq.store.errors import NoResultError, StoreError, StoreLockedError

__all__ = ["Store", "default_root", "REVISION_COLUMNS"]

#: Columns of :meth:`Store.revisions` and of what the upserts return.
REVISION_COLUMNS = ["kind", "day", "source", "run_id", "stations", "values_new", "values_changed",
                    "values_removed", "values_unchanged", "recorded"]

_VERSION_DIR = re.compile(r"^(\d{4}-\d{2})\.v(\d+)\.zarr$")
_MONTH_FILE = re.compile(r"^(\d{4}-\d{2})\.(json|parquet)$")


def default_root() -> Path:
    """``$ENVQ_HOME`` if set, else ``./envq-data`` (in the current directory)."""
    env = os.environ.get("ENVQ_HOME")
    return Path(env).expanduser() if env else Path.cwd() / "envq-data"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _as_date(x, what: str) -> dt.date:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, (str, np.datetime64, pd.Timestamp)):
        return pd.Timestamp(x).date()
    raise TypeError(f"{what} must be a datetime.date, not {type(x).__name__}")


def _months(start: dt.date, end: dt.date) -> list[str]:
    m = np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 1)
    return [str(x) for x in m]


def _parquet_bytes(df: pd.DataFrame, *, index=False) -> bytes:
    table = pa.Table.from_pandas(df, preserve_index=index)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _empty_revisions() -> pd.DataFrame:
    return pd.DataFrame({
        "kind": pd.Series([], dtype="str"), "day": pd.Series([], dtype=object),
        "source": pd.Series([], dtype="str"), "run_id": pd.Series([], dtype="str"),
        **{c: pd.Series([], dtype=np.int64) for c in REVISION_COLUMNS[4:9]},
        "recorded": pd.Series([], dtype="datetime64[us, UTC]"),
    })


def _input_digest(inc, sel: slice, month: str) -> str:
    """SHA-256 of what an upsert into *month* is made of: stations, hour labels, the six
    pollutants' bytes, the station coords. Stored in the month's pointer: the same input again
    is recognised without reading the cube."""
    import hashlib

    h = hashlib.sha256()
    h.update(month.encode())
    h.update("\0".join(inc.stations.tolist()).encode("utf-8"))
    h.update(np.ascontiguousarray(inc.labels[sel]).view(np.int64).tobytes())
    for i in range(inc.values.shape[0]):
        h.update(np.ascontiguousarray(inc.values[i][:, sel]).tobytes())
    h.update(pd.util.hash_pandas_object(inc.coords.reset_index(), index=False).to_numpy().tobytes())
    h.update(np.asarray(inc.known, dtype=bool).tobytes())
    return h.hexdigest()


def _unchanged_revision(inc, sel: slice, month: str) -> pd.DataFrame:
    """The revision counts of an upsert that changes nothing (what :func:`envq.store.air.merge`
    counts then): every incoming value unchanged, per natural day."""
    labels = _air.month_labels(month)
    cols = ((inc.labels[sel] - labels[0]) // np.timedelta64(1, "h").astype("timedelta64[ns]")).astype(np.int64)
    has = ~np.isnan(inc.values[:, :, sel])                         # (pollutant, station, label)
    days, starts = np.unique(cols // 24, return_index=True)
    unchanged = np.add.reduceat(has.sum(axis=(0, 1)), starts)
    stations = (np.add.reduceat(has.any(axis=0).astype(np.int64), starts, axis=1) > 0).sum(axis=0)
    first_day = np.datetime64(month, "M").astype("datetime64[D]")
    zeros = np.zeros(days.size, dtype=np.int64)
    return pd.DataFrame({"day": [d.item() for d in first_day + days], "stations": stations.astype(np.int64),
                         "values_new": zeros, "values_changed": zeros, "values_removed": zeros,
                         "values_unchanged": unchanged.astype(np.int64)})


class Store:
    """The embedded local store of envq (docs/pipeline.md, "Store").

    Parameters
    ----------
    root : str or os.PathLike, optional
        The data directory; default :func:`default_root` (``$ENVQ_HOME`` or ``./envq-data``).
    create : bool, default True
        Create the store when *root* is missing or an empty directory. A directory that is
        neither empty nor a store is always refused (StoreError): the store never writes into
        a folder it did not create.

    Raises
    ------
    StoreError
        Not a store, or a store of a newer schema version (upgrade envq), or no migration for an
        older one. Older stores are migrated (:data:`envq.store.schema.MIGRATIONS`) under the
        writer lock, so :class:`StoreLockedError` when another writer holds it.

    Notes
    -----
    Reading needs no lock. Every write (``upsert_*``, ``write_result``, ``keep_raw``) needs the
    writer lock held by this object: ``with store.lock(run_id=...): ...``.
    """

    def __init__(self, root=None, *, create: bool = True):
        if _objects.is_url(root):   # object storage: s3://bucket/prefix (docs/pipeline.md)
            self._obj = _objects.open_objects(root)
            self.root = self._obj.url
        else:
            self.root = Path(root if root is not None else default_root()).expanduser().absolute()
            self._obj = _objects.LocalObjects(self.root)
        self._remote = not isinstance(self._obj, _objects.LocalObjects)
        self._lease = None
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None
        self._lock_depth = 0
        self._run_id = ""
        self.schema_version = self._open(create)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, schema_version={self.schema_version})"

    # ----------------------------------------------------------------------------------------
    # opening, schema, migrations

    @property
    def _meta_path(self):
        return self._where("store.json")

    def _where(self, key: str):
        """Where the object *key* is: a Path in a local store, a URL in object storage."""
        return f"{self.root}/{key}" if self._remote else self.root / key

    def _put(self, key: str, data: bytes, *, fault_prefix: str | None = None):
        """Replace the object *key* whole, atomically (local: tmp, fsync, rename)."""
        if self._remote:
            if self._lease is not None:
                self._lease.check()   # a writer that lost its lease switches nothing in
            if fault_prefix:
                fault(f"{fault_prefix}:mid-write")
                fault(f"{fault_prefix}:before-switch")
            self._obj.put(key, data)
            return self._where(key)
        return atomic_write_bytes(self.root / key, data, fault_prefix=fault_prefix)

    def _read_parquet(self, key: str, **kwargs) -> pd.DataFrame | None:
        if not self._remote:
            p = self.root / key
            return pd.read_parquet(p, **kwargs) if p.exists() else None
        data = self._obj.get(key)
        return None if data is None else pd.read_parquet(io.BytesIO(data), **kwargs)

    def _read_meta(self) -> dict:
        try:
            raw = self._obj.get("store.json")
            if raw is None:
                raise FileNotFoundError("no store.json")
            meta = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self._meta_path}: cannot be read as the store's description ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != _schema.FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else meta
            raise StoreError(f"{self._meta_path}: not an envq store (format {found!r}, expected {_schema.FORMAT!r})")
        if not isinstance(meta.get("schema_version"), int):
            raise StoreError(f"{self._meta_path}: schema_version {meta.get('schema_version')!r} is not an integer")
        return meta

    def _check_not_newer(self, version: int) -> None:
        if version > _schema.SCHEMA_VERSION:
            from envq import __version__

            raise StoreError(f"{self.root}: the store has schema version {version}, newer than this envq "
                             f"({__version__}) reads (schema version {_schema.SCHEMA_VERSION}); upgrade envq "
                             "to use this store")

    def _open(self, create: bool) -> int:
        if self._remote:
            return self._open_remote(create)
        root = self.root
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: exists and is not a directory, so it cannot be an envq store")
        if self._meta_path.exists():
            meta = self._read_meta()
        else:
            if root.is_dir() and any(not p.name.startswith("store.json") for p in root.iterdir()):
                raise StoreError(f"{root}: a non-empty directory that is not an envq store (no store.json); "
                                 "refusing to write into it: choose an empty or new directory ($ENVQ_HOME)")
            if not create:
                raise StoreError(f"{root}: no envq store here (create=False)")
            from envq import __version__

            root.mkdir(parents=True, exist_ok=True)
            meta = {"format": _schema.FORMAT, "schema_version": _schema.SCHEMA_VERSION, "created": _now(),
                    "envq_version": __version__}
            atomic_write_bytes(self._meta_path, json_bytes(meta))
            return _schema.SCHEMA_VERSION
        version = meta["schema_version"]
        self._check_not_newer(version)
        if version < _schema.SCHEMA_VERSION:
            version = self._migrate()
        return version

    def _open_remote(self, create: bool) -> int:
        """Open (or create) a store in object storage: the same checks as a local folder."""
        from envq import __version__

        if self._obj.exists("store.json"):
            version = self._read_meta()["schema_version"]
            self._check_not_newer(version)
            if version < _schema.SCHEMA_VERSION:
                version = self._migrate()
            return version
        if self._obj.list(""):
            raise StoreError(f"{self.root}: objects that are not an envq store (no store.json); refusing to "
                             "write there: choose an empty prefix")
        if not create:
            raise StoreError(f"{self.root}: no envq store here (create=False)")
        meta = {"format": _schema.FORMAT, "schema_version": _schema.SCHEMA_VERSION, "created": _now(),
                "envq_version": __version__}
        if self._obj.create("store.json", json_bytes(meta)) is None:   # another process created it first
            return self._open_remote(create=False)
        return _schema.SCHEMA_VERSION

    def _migrate(self) -> int:
        """Run the registered migrations up to :data:`SCHEMA_VERSION`, under the lock."""
        from envq import __version__

        with self.lock(run_id="schema-migration"):
            meta = self._read_meta()   # another process may have migrated meanwhile
            version = meta["schema_version"]
            self._check_not_newer(version)
            while version < _schema.SCHEMA_VERSION:
                step = _schema.MIGRATIONS.get(version)
                if step is None:
                    raise StoreError(f"{self.root}: no migration from schema version {version} to {version + 1} "
                                     "in this envq")
                step(self.root)
                version += 1
                meta = meta | {"schema_version": version, "migrated": _now(), "envq_version": __version__}
                self._put("store.json", json_bytes(meta))
            self.schema_version = version
            self._clean_orphans()
        return version

    # ----------------------------------------------------------------------------------------
    # lock

    def _holds_lock(self) -> bool:
        if self._remote:
            return self._lease is not None and self._lock_pid == os.getpid()
        return self._lock_fd is not None and self._lock_pid == os.getpid()

    def _holder(self) -> dict:
        try:
            holder = json.loads((self.root / ".lock.json").read_text(encoding="utf-8"))
            return holder if isinstance(holder, dict) else {}
        except (OSError, ValueError):
            return {}

    @contextlib.contextmanager
    def lock(self, *, run_id: str = "", wait_s: float = 0.0):
        """Hold the exclusive writer lock (``fcntl.flock`` on ``root/.lock``).

        ``root/.lock.json`` names the holder ``{pid, host, started, run_id}``. When another
        writer (another process, or another Store object on the same root) holds the lock, wait
        up to *wait_s* seconds, then raise :class:`StoreLockedError` naming it. On entry the
        orphans of a crashed writer are removed. Re-entrant within one Store object. The lock is
        released by the kernel when its process dies, so a crash never leaves the store locked.
        *run_id* is the default ``run_id`` of the upserts made under it.
        """
        if self._holds_lock():
            self._lock_depth += 1
            try:
                yield self
            finally:
                self._lock_depth -= 1
            return
        if self._remote:
            with self._remote_lock(run_id, wait_s):
                yield self
            return
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: the store's directory is gone")
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline = time.monotonic() + max(float(wait_s), 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreLockedError(self.root, self._holder()) from None
                    time.sleep(min(0.05, left))
        except BaseException:
            os.close(fd)
            raise
        pid = os.getpid()
        try:
            holder = {"pid": pid, "host": socket.gethostname(), "started": _now(), "run_id": str(run_id)}
            atomic_write_bytes(self.root / ".lock.json", json_bytes(holder))
            self._lock_fd, self._lock_pid, self._lock_depth, self._run_id = fd, pid, 1, str(run_id)
            self._on_lock_taken()
            yield self
        finally:
            if os.getpid() == pid:
                self._lock_fd, self._lock_pid, self._lock_depth, self._run_id = None, None, 0, ""
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / ".lock.json")
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _on_lock_taken(self) -> None:
        """A writer that takes the lock checks the schema and removes a crashed writer's orphans."""
        version = self._read_meta()["schema_version"]
        self._check_not_newer(version)
        if version == _schema.SCHEMA_VERSION:
            self._clean_orphans()

    @contextlib.contextmanager
    def _remote_lock(self, run_id: str, wait_s: float):
        """The writer lock of a store in object storage: a lease (:mod:`envq.store.lease`)."""
        from envq.store.lease import Lease

        lease = Lease(self._obj, run_id=run_id).acquire(wait_s)
        pid = os.getpid()
        try:
            self._lease, self._lock_pid, self._lock_depth, self._run_id = lease, pid, 1, str(run_id)
            self._on_lock_taken()
            yield self
        finally:
            if os.getpid() == pid:
                self._lease, self._lock_pid, self._lock_depth, self._run_id = None, None, 0, ""
                lease.release()

    def _require_lock(self, what: str) -> None:
        if not self._holds_lock():
            raise StoreError(f"{what} writes to the store and needs its writer lock held by this Store: "
                             f"use `with store.lock(run_id=...): store.{what}(...)`")

    def _clean_orphans(self) -> None:
        """Remove unreferenced month versions and ``*.envq.tmp`` files (under the lock)."""
        if self._remote:
            keys = self._obj.list("air/hourly/")
            current, unreadable = set(), set()
            for k in keys:
                m = _MONTH_FILE.match(k.rsplit("/", 1)[-1])
                if k.count("/") == 2 and m:
                    try:
                        current.add(json.loads(self._obj.get(k).decode("utf-8"))["version"])
                    except (AttributeError, ValueError, KeyError, TypeError):
                        unreadable.add(m.group(1))
            orphans = [k for k in keys if (v := _VERSION_DIR.match(k.split("/")[2])) and k.split("/")[2] not in current
                       and v.group(1) not in unreadable]
            self._obj.delete_many(orphans)
            return
        hourly = self.root / "air" / "hourly"
        if hourly.is_dir():
            current, unreadable = set(), set()
            for p in hourly.glob("*.json"):
                m = _MONTH_FILE.match(p.name)
                if not m:
                    continue
                try:
                    current.add(json.loads(p.read_text(encoding="utf-8"))["version"])
                except (OSError, ValueError, KeyError, TypeError):
                    unreadable.add(m.group(1))
            for d in hourly.iterdir():
                m = _VERSION_DIR.match(d.name)
                if m and d.name not in current and m.group(1) not in unreadable:
                    shutil.rmtree(d, ignore_errors=True)
        for dirpath, dirnames, filenames in walk(self.root):  # folder links followed
            for name in dirnames + filenames:
                if name.endswith(TMP_SUFFIX):
                    p = Path(dirpath) / name
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                        dirnames.remove(name)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()

    # ----------------------------------------------------------------------------------------
    # revisions


    def revisions(self) -> pd.DataFrame:
        """Every revision row recorded: ``kind, day, source, run_id, stations, values_new,
        values_changed, values_removed, values_unchanged, recorded`` (one row per upsert call,
        kind and day, in the order recorded).

        Rows are recorded *before* the data they describe is switched in: a crash between the
        two leaves a row for a change that did not land (the re-run records it again), never a
        landed change without its row, so "what changed" may over-report but never misses.
        """
        df = self._read_parquet("revisions.parquet")
        return _empty_revisions() if df is None else df

    def _record(self, kind: str, rev: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
        rows = pd.DataFrame({
            "kind": pd.Series(kind, index=rev.index, dtype="str"),
            "day": rev["day"].astype(object),
            "source": pd.Series(str(source), index=rev.index, dtype="str"),
            "run_id": pd.Series(str(run_id), index=rev.index, dtype="str"),
            **{c: rev[c].astype(np.int64) for c in REVISION_COLUMNS[4:9]},
            "recorded": pd.Series(pd.Timestamp.now(tz="UTC").floor("s"), index=rev.index).astype("datetime64[us, UTC]"),
        }).reset_index(drop=True)
        old = self.revisions()
        allrows = pd.concat([old, rows], ignore_index=True) if len(old) else rows
        self._put("revisions.parquet", _parquet_bytes(allrows), fault_prefix="revisions")
        return rows

    # ----------------------------------------------------------------------------------------
    # air

    def _air_dir(self) -> Path:
        return self.root / "air" / "hourly"

    def _air_pointer(self, month: str) -> dict | None:
        key = f"air/hourly/{month}.json"
        raw = self._obj.get(key)
        if raw is None:
            return None
        p = self._where(key)
        try:
            ptr = json.loads(raw.decode("utf-8"))
            ptr["version"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{p}: damaged pointer ({exc})") from None
        there = self._obj.exists(f"air/hourly/{ptr['version']}/zarr.json") if self._remote \
            else (self._air_dir() / ptr["version"]).is_dir()
        if not there:
            raise StoreError(f"{p}: points to {ptr['version']}, which is missing")
        return ptr

    def _cube_versions(self, month: str) -> list[int]:
        if self._remote:
            names = {k.split("/")[2] for k in self._obj.list(f"air/hourly/{month}.v")}
        else:
            d = self._air_dir()
            names = {x.name for x in d.iterdir()} if d.is_dir() else set()
        return [int(m.group(2)) for n in names if (m := _VERSION_DIR.match(n)) and m.group(1) == month]

    def _write_cube(self, name: str, cube) -> None:
        if not self._remote:
            self._air_dir().mkdir(parents=True, exist_ok=True)
            _air.write_cube(self._air_dir() / name, cube)
            return
        # object storage: the zarr version is written in memory, then each of its objects is put
        # under its own new prefix (copy-on-write: nothing points to it yet)
        from concurrent.futures import ThreadPoolExecutor

        from zarr.storage import MemoryStore

        objs: dict = {}
        _air.write_cube(MemoryStore(store_dict=objs), cube)
        items = sorted(objs.items())
        arrays = [k for k, _ in items if k.split("/", 1)[0] in _air.POLLUTANTS and "/c/" in k]
        if os.environ.get("ENVQ_STORE_FAULT") == "air:mid-arrays":
            for k in arrays[:3]:
                self._obj.put(f"air/hourly/{name}/{k}", objs[k].to_bytes())
            fault("air:mid-arrays")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda kv: self._obj.put(f"air/hourly/{name}/{kv[0]}", kv[1].to_bytes()), items))

    def _cube_store(self, version: str):
        """The month version *version* to open: its folder, or (object storage) its objects fetched
        into memory (a month is a few MB compressed; decoding stays lazy)."""
        if not self._remote:
            return self._air_dir() / version
        from concurrent.futures import ThreadPoolExecutor

        from zarr.core.buffer import default_buffer_prototype
        from zarr.storage import MemoryStore

        prefix = f"air/hourly/{version}/"
        keys = self._obj.list(prefix)
        with ThreadPoolExecutor(8) as pool:
            datas = list(pool.map(self._obj.get, keys))
        buf = default_buffer_prototype().buffer
        return MemoryStore(store_dict={k[len(prefix):]: buf.from_bytes(d) for k, d in zip(keys, datas)},
                           read_only=True)

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
        the files byte-identical).

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
        self._require_lock("upsert_air")
        inc = _air.Incoming.from_dataset(hourly)
        run_id = str(run_id or self._run_id)
        out = []
        for month, sel in inc.months():
            ptr = self._air_pointer(month)
            digest = _input_digest(inc, sel, month)
            if ptr is not None and ptr.get("input_sha256") == digest:
                # the very input that made this version: replacing its labels again is a no-op
                # (an upsert is idempotent), so nothing is decompressed or compared
                out.append(self._record("air", _unchanged_revision(inc, sel, month), source, run_id))
                continue
            old = _air.read_cube(self._cube_store(ptr["version"]), month) if ptr else None
            cube, rev, changed = _air.merge(old, inc, sel, month)
            if not changed:
                out.append(self._record("air", rev, source, run_id))
                continue
            n = max(self._cube_versions(month), default=0) + 1
            name = f"{month}.v{n}.zarr"
            self._write_cube(name, cube)
            out.append(self._record("air", rev, source, run_id))
            fault("air:before-switch")
            pointer = {"format": "envq-store/air-month", "month": month, "version": name,
                       "days": cube.days_with_data(), "stations": int(cube.stations.size),
                       "source": str(source), "run_id": run_id, "updated": _now(), "input_sha256": digest}
            self._put(f"air/hourly/{month}.json", json_bytes(pointer))
            fault("air:after-switch")
        return pd.concat(out, ignore_index=True) if out else _empty_revisions()

    def read_air(self, start: dt.date, end: dt.date, *, chunks=None) -> xr.Dataset:
        """The canonical hourly dataset of the natural days *start..end* from the store.

        Time labels ``start 01:00 .. end+1 00:00`` (every hour, NaN where nothing is stored);
        stations: the union over the months read (sorted; NaN where a month lacks one), with
        coords ``name, city, province, lon, lat, is_background`` (the latest month's non-empty
        value wins). Data vars ``pm25, pm10, so2, no2, co, o3`` (float64). Usable by
        :func:`envq.air.pipeline.city_days_from_hourly`.

        *chunks* is passed to ``xarray.open_zarr`` (e.g. ``{}`` for the stored chunks, one
        natural day each): the result is then dask-backed and lazy; without it the result is
        loaded in memory. A lazy result reads the month versions current at the call; they stay
        on disk until the next writer takes the lock.
        """
        start, end = _as_date(start, "start"), _as_date(end, "end")
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        labels = _air.day_labels(start, end)
        pieces, tables, versions = [], [], []
        for month in _months(start, end):
            ptr = self._air_pointer(month)
            if ptr is None:
                continue
            ds = _air.open_cube(self._cube_store(ptr["version"]), chunks=chunks)
            ds = ds.sel(time=slice(labels[0], labels[-1]))
            stations = _air._text(ds["station"].values)
            tables.append(_air.coords_of(ds))
            pieces.append(ds[list(_air.POLLUTANTS)].drop_vars(list(_air.STATION_COORDS)).assign_coords(station=stations))
            versions.append(ptr["version"])
        union = np.unique(np.concatenate([t.index.to_numpy(dtype=str) for t in tables])) if tables \
            else np.array([], dtype=str)
        union = union.astype(str)
        if pieces and chunks is None:
            # in memory: each month decoded straight into its place (no concat: one copy of the
            # year, not two)
            data = {v: np.full((union.size, labels.size), np.nan) for v in _air.POLLUTANTS}
            for piece in pieces:
                rows = np.searchsorted(union, piece["station"].values.astype(str))
                cols = np.searchsorted(labels, piece["time"].values.astype("datetime64[ns]"))
                whole = rows.size == union.size and (cols.size == 0 or cols[-1] - cols[0] + 1 == cols.size)
                for v in _air.POLLUTANTS:
                    values = piece[v].transpose("station", "time").values
                    if whole and cols.size:
                        data[v][:, cols[0]: cols[-1] + 1] = values
                    else:
                        data[v][rows[:, None], cols[None, :]] = values
            out = xr.Dataset({v: (("station", "time"), data.pop(v)) for v in _air.POLLUTANTS},
                             coords={"station": union, "time": labels})
        elif pieces:
            pieces = [p if np.array_equal(p["station"].values, union) else p.reindex(station=union) for p in pieces]
            out = xr.concat(pieces, dim="time", data_vars="all", coords="minimal", join="exact",
                            combine_attrs="drop") if len(pieces) > 1 else pieces[0]
            out = out.assign_coords(time=out["time"].values.astype("datetime64[ns]"))
            if out.sizes["time"] != labels.size:
                out = out.reindex(time=labels)
        else:
            out = xr.Dataset({v: (("station", "time"), np.empty((0, labels.size))) for v in _air.POLLUTANTS},
                             coords={"station": union, "time": labels})
        coords = _air._empty_coords(union)
        for t in tables:   # later months win where they have a non-empty value
            t = t.reindex(union)
            for c in ("name", "city", "province"):
                take = t[c].fillna("").ne("").to_numpy()
                coords.loc[take, c] = t[c].to_numpy()[take]
            for c in ("lon", "lat"):
                take = t[c].notna().to_numpy()
                coords.loc[take, c] = t[c].to_numpy()[take]
            take = (t["name"].fillna("").ne("") | t["province"].fillna("").ne("")).to_numpy()
            coords.loc[take, "is_background"] = t["is_background"].to_numpy()[take].astype(bool)
        out = out.assign_coords(
            station=("station", union),
            name=("station", coords["name"].to_numpy(dtype=str)),
            city=("station", coords["city"].to_numpy(dtype=str)),
            province=("station", coords["province"].to_numpy(dtype=str)),
            lon=("station", coords["lon"].to_numpy(dtype=float)),
            lat=("station", coords["lat"].to_numpy(dtype=float)),
            is_background=("station", coords["is_background"].to_numpy(dtype=bool)),
        )
        for v in _air.POLLUTANTS:
            out[v].attrs = {"units": _air.AIR_UNITS[v], "long_name": _air._LONG_NAMES[v]}
        out.attrs = {"source": f"envq store {self.root}", "store_versions": versions}
        if chunks is None:
            out = out.load()
        return out

    def air_days(self) -> list[dt.date]:
        """The natural days holding at least one stored air value, sorted."""
        days = []
        for key in self._obj.list("air/hourly/"):
            name = key.split("/")[-1]
            if key.count("/") == 2 and (m := _MONTH_FILE.match(name)) and m.group(2) == "json":
                days.extend(self._air_pointer(m.group(1))["days"])
        return sorted(dt.date.fromisoformat(x) for x in days)

    # ----------------------------------------------------------------------------------------
    # water

    def _water_dir(self) -> Path:
        return self.root / "water" / "readings"

    def _read_water_month(self, month: str) -> pd.DataFrame | None:
        df = self._read_parquet(f"water/readings/{month}.parquet")
        return None if df is None else _water.normalize(df, check=False)

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
        self._require_lock("upsert_water")
        inc = _water.normalize(long)
        run_id = str(run_id or self._run_id)
        if not len(inc):
            return _empty_revisions()
        months = _water.month_of(inc)
        out = []
        for month in np.unique(months):
            part = inc[months == month].reset_index(drop=True)
            old = self._read_water_month(str(month))
            new, rev, changed = _water.merge(old, part)
            out.append(self._record("water", rev, source, run_id))
            if changed:
                self._put(f"water/readings/{month}.parquet", _parquet_bytes(new), fault_prefix="water")
        return pd.concat(out, ignore_index=True)

    def read_water(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The stored readings with ``start <= time.date() <= end``, in the stored order."""
        start, end = _as_date(start, "start"), _as_date(end, "end")
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        parts = []
        for month in _months(start, end):
            df = self._read_water_month(month)
            if df is None:
                continue
            day = df["time"].to_numpy().astype("datetime64[D]")
            keep = (day >= np.datetime64(start, "D")) & (day <= np.datetime64(end, "D"))
            parts.append(df[keep])
        if not parts:
            return _water.empty()
        return pd.concat(parts, ignore_index=True)

    def water_days(self) -> list[dt.date]:
        """The days (``time.date()``) holding at least one stored water reading, sorted."""
        keys = [k for k in self._obj.list("water/readings/") if _MONTH_FILE.match(k.split("/")[-1])
                and k.endswith(".parquet") and k.count("/") == 2]
        days = [np.unique(self._read_parquet(k, columns=["time"])["time"].to_numpy().astype("datetime64[D]"))
                for k in keys]
        return [x.item() for x in np.unique(np.concatenate(days))] if days else []

    # ----------------------------------------------------------------------------------------
    # results and raw payloads

    def write_result(self, name: str, period, df: pd.DataFrame) -> Path:
        """Write *df* as ``results/<name>/<period label>.parquet`` (atomic replace); the path.

        *period* is a :class:`envq.periods.Period` or a text of its grammar: results are keyed by
        (name, Period)."""
        self._require_lock("write_result")
        check_name("result name", name)
        label = parse_period(period).label
        check_name("period", label)
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"write_result takes a pandas.DataFrame, not {type(df).__name__}")
        return self._put(f"results/{name}/{label}.parquet", _parquet_bytes(df, index=None))

    def write_results(self, results: dict[str, pd.DataFrame], year) -> list[Path]:
        """Write a run's result tables: a table with a ``period`` column as one file per period,
        any other (day tables) as the file of *year*; empty tables are skipped. The paths."""
        written = []
        for name, df in results.items():
            if not len(df):
                continue
            if "period" in df.columns:
                for period, sub in df.groupby("period", sort=True):
                    written.append(self.write_result(name, str(period), sub.reset_index(drop=True)))
            else:
                written.append(self.write_result(name, Period.year_of(int(year)), df))
        return written

    def write_report(self, name: str, text: str) -> Path:
        """Write a run report as ``reports/<name>.md`` (atomic replace; the latest run's)."""
        self._require_lock("write_report")
        check_name("report name", name)
        return self._put(f"reports/{name}.md", text.encode("utf-8"))

    def read_report(self, name: str) -> str:
        """The latest run's report *name* (markdown)."""
        check_name("report name", name)
        raw = self._obj.get(f"reports/{name}.md")
        if raw is None:
            raise StoreError(f"{self.root}: no report {name!r} (no run has published one)")
        return raw.decode("utf-8")

    def result_names(self) -> list[str]:
        """The names of the results stored, sorted."""
        return sorted({k.split("/")[1] for k in self._obj.list("results/")
                       if k.endswith(".parquet") and k.count("/") == 2})

    def result_periods(self, name: str) -> list[Period]:
        """The periods result *name* is held for, in time order (months before their quarter)."""
        check_name("result name", name)
        keys = [k for k in self._obj.list(f"results/{name}/") if k.endswith(".parquet") and k.count("/") == 2]
        return sorted(parse_period(k.split("/")[-1][: -len(".parquet")]) for k in keys)

    def read_result(self, name: str, period=None) -> pd.DataFrame:
        """The result *name* of *period* (a Period or a text of its grammar); with
        ``period=None`` every period, concatenated in the order of their labels (a ``period``
        column is added first when the frames have none; a default RangeIndex is renumbered, any
        other index kept).

        A period not held raises :class:`envq.store.errors.NoResultError` (a usage error and a
        StoreError) listing the periods held. What Parquet stores is what comes back: object
        columns holding one type (e.g. bools) return with that type."""
        check_name("result name", name)
        if period is not None:
            label = parse_period(period).label
            check_name("period", label)
            df = self._read_parquet(f"results/{name}/{label}.parquet")
            if df is None:
                raise NoResultError(self.root, name, label, self.result_periods(name))
            return df
        files = [k for k in self._obj.list(f"results/{name}/") if k.endswith(".parquet") and k.count("/") == 2]
        if not files:
            raise StoreError(f"{self.root}: no result {name!r}")
        frames = []
        for k in files:
            df = self._read_parquet(k)
            if "period" not in df.columns:
                df.insert(0, "period", k.split("/")[-1][: -len(".parquet")])
            frames.append(df)
        plain = all(isinstance(f.index, pd.RangeIndex) and f.index.name is None for f in frames)
        return pd.concat(frames, ignore_index=plain)

    def keep_raw(self, source: str, day: dt.date, name: str, data: bytes) -> Path:
        """Keep a raw payload as ``raw/<source>/YYYY/YYYY-MM-DD/<name>`` (atomic; not rewritten
        when the same bytes are already there); the path."""
        self._require_lock("keep_raw")
        check_name("source", source)
        check_name("payload name", name)
        day = _as_date(day, "day")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"keep_raw takes bytes, not {type(data).__name__}")
        key = f"raw/{source}/{day:%Y}/{day.isoformat()}/{name}"
        if self._obj.get(key) == bytes(data):
            return self._where(key)
        return self._put(key, bytes(data))
