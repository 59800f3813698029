"""The air cube in the store: a zarr version per month and a pointer to the current one
(docs/pipeline.md, "Store")::

    air/hourly/YYYY-MM.json       pointer: {"version": "YYYY-MM.vN.zarr", "days": [...], ...}
    air/hourly/YYYY-MM.vN.zarr    the hourly cube of the natural days of that month

The cube's format, the checks of an incoming dataset and the merge are :mod:`envq.store.air`;
this module versions the months, switches each pointer atomically (copy-on-write), records the
revisions, reads a span of days back, and removes the versions nothing points to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr

from envq.canonical import AIR_UNITS
from envq.store import air as _air
from envq.store._fs import fault, json_bytes
from envq.store.dates import check_span, month_of_name, month_version_of_name, months_between, now_utc
from envq.store.errors import StoreError
from envq.store.revisions import empty_revisions

__all__ = ["AirCubes", "DIGEST_KIND", "input_digest", "unchanged_revision", "unchanged_counts",
           "revision_of_counts"]

HOURLY = "air/hourly"


#: The kind of digest a month pointer's ``input_digest`` holds (``"<kind>:<hex>"``): SHA-256 over
#: the month, stations, labels, the SHA-256 of each pollutant's bytes (hashed on two threads),
#: the station coords. A pointer written before (``input_sha256``, one stream) is not compared:
#: its next unchanged upsert goes the full way once and records the new digest.
DIGEST_KIND = "sha256x6"


def input_digest(inc: _air.Incoming | _air.Planes, sel: slice, month: str) -> str:
    """The digest of what an upsert into *month* is made of: stations, hour labels, the six
    pollutants' bytes, the station coords (:data:`DIGEST_KIND`). Stored in the month's pointer:
    the same input again is recognised without reading the cube."""
    def plane(i: int) -> bytes:
        return hashlib.sha256(np.ascontiguousarray(inc.plane(i, sel))).digest()   # releases the GIL

    with ThreadPoolExecutor(2) as pool:
        planes = list(pool.map(plane, range(len(_air.POLLUTANTS))))
    h = hashlib.sha256()

    def part(data: bytes) -> None:   # each piece after its length: no two inputs give one stream
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    part(month.encode())
    part("\0".join(inc.stations.tolist()).encode("utf-8"))
    part(np.ascontiguousarray(inc.labels[sel]).view(np.int64).tobytes())
    for digest in planes:
        part(digest)
    c = inc.coord_arrays
    for name in ("name", "city", "province"):
        part("\0".join(c[name].tolist()).encode("utf-8"))
    for name in ("lon", "lat", "is_background"):
        part(np.ascontiguousarray(c[name]).tobytes())
    part(np.asarray(inc.known, dtype=bool).tobytes())
    return f"{DIGEST_KIND}:{h.hexdigest()}"


def unchanged_counts(rev: pd.DataFrame) -> dict:
    """The counts of an upsert of the same input again, from the revision *rev* of the upsert
    that stored it (every value it gave is then unchanged: new + changed + unchanged of *rev*),
    for the pointer: ``{"day": [...], "stations": [...], "values": [...]}``."""
    values = rev["values_new"] + rev["values_changed"] + rev["values_unchanged"]
    return {"day": [d.isoformat() for d in rev["day"]], "stations": [int(x) for x in rev["stations"]],
            "values": [int(x) for x in values]}


def revision_of_counts(counts: dict) -> pd.DataFrame:
    """The revision rows of an unchanged upsert from a pointer's :func:`unchanged_counts`."""
    zeros = np.zeros(len(counts["day"]), dtype=np.int64)
    return pd.DataFrame({"day": [dt.date.fromisoformat(d) for d in counts["day"]],
                         "stations": np.asarray(counts["stations"], dtype=np.int64),
                         "values_new": zeros, "values_changed": zeros, "values_removed": zeros,
                         "values_unchanged": np.asarray(counts["values"], dtype=np.int64)})


def unchanged_revision(inc: _air.Incoming | _air.Planes, sel: slice, month: str) -> pd.DataFrame:
    """The revision counts of an upsert that changes nothing (what :func:`envq.store.air.merge`
    counts then): every incoming value unchanged, per natural day."""
    labels = _air.month_labels(month)
    cols = ((inc.labels[sel] - labels[0]) // np.timedelta64(1, "h").astype("timedelta64[ns]")).astype(np.int64)
    has = np.stack([~np.isnan(inc.plane(i, sel)) for i in range(len(_air.POLLUTANTS))])  # (pollutant, station, label)
    days, starts = np.unique(cols // 24, return_index=True)
    unchanged = np.add.reduceat(has.sum(axis=(0, 1)), starts)
    stations = (np.add.reduceat(has.any(axis=0).astype(np.int64), starts, axis=1) > 0).sum(axis=0)
    first_day = np.datetime64(month, "M").astype("datetime64[D]")
    zeros = np.zeros(days.size, dtype=np.int64)
    return pd.DataFrame({"day": [d.item() for d in first_day + days], "stations": stations.astype(np.int64),
                         "values_new": zeros, "values_changed": zeros, "values_removed": zeros,
                         "values_unchanged": unchanged.astype(np.int64)})


class AirCubes:
    """The hourly air cubes of the store on *backend*; revisions recorded in *revisions*."""

    def __init__(self, backend, revisions):
        self.backend, self.revisions = backend, revisions

    # -- versions and pointers ------------------------------------------------------------------

    def pointer(self, month: str) -> dict | None:
        """The pointer of *month* (None when the month holds nothing); StoreError when it is
        damaged or points to a missing version."""
        key = f"{HOURLY}/{month}.json"
        raw = self.backend.get(key)
        if raw is None:
            return None
        where = self.backend.where(key)
        try:
            ptr = json.loads(raw.decode("utf-8"))
            ptr["version"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{where}: damaged pointer ({exc})") from None
        if not self.backend.exists(f"{HOURLY}/{ptr['version']}/zarr.json"):
            raise StoreError(f"{where}: points to {ptr['version']}, which is missing")
        return ptr

    def months(self) -> list[str]:
        """The months holding a pointer, sorted."""
        return sorted(m for k in self.backend.list(f"{HOURLY}/")
                      if k.count("/") == 2 and (m := month_of_name(k.rsplit("/", 1)[-1], ".json")))

    def versions(self, month: str) -> list[int]:
        """The version numbers of *month* present (current, superseded or half-written)."""
        names = self.backend.children(HOURLY, start=f"{month}.v")
        return [v[1] for n in names if (v := month_version_of_name(n)) and v[0] == month]

    def clean_orphans(self) -> None:
        """Remove the versions no pointer names (superseded, or a dead writer's); a month whose
        pointer cannot be read keeps every version (under the lock)."""
        current, unreadable = set(), set()
        names = self.backend.children(HOURLY)
        for n in names:
            if m := month_of_name(n, ".json"):
                try:
                    current.add(json.loads(self.backend.get(f"{HOURLY}/{n}").decode("utf-8"))["version"])
                except (AttributeError, OSError, ValueError, KeyError, TypeError):
                    unreadable.add(m)
        orphans = [f"{HOURLY}/{n}" for n in sorted(names) if (v := month_version_of_name(n)) and n not in current
                   and v[0] not in unreadable]
        if orphans:
            self.backend.remove_tree(orphans)

    # -- upsert -------------------------------------------------------------------------------

    def upsert(self, hourly: xr.Dataset, *, source: str, run_id: str = "") -> pd.DataFrame:
        """See :meth:`envq.store.Store.upsert_air`."""
        self.backend.require_lock("upsert_air")
        run_id = str(run_id or self.backend.run_id)
        digests: dict[str, str] = {}
        same = self._same_input(hourly, digests)
        if same is not None:  # one append of the months' rows (the revisions file rewritten once)
            return self.revisions.record("air", pd.concat(same, ignore_index=True), source, run_id)
        inc = _air.Incoming.from_dataset(hourly)
        with ThreadPoolExecutor(1) as background:
            return self._upsert_months(inc, digests, background, source, run_id)

    def _upsert_months(self, inc, digests: dict[str, str], background, source: str, run_id: str) -> pd.DataFrame:
        out = []
        for month, sel in inc.months():
            ptr = self.pointer(month)
            digest = pending = None
            if month in digests or (ptr is not None and ptr.get("input_digest")):
                digest = digests.get(month) or input_digest(inc, sel, month)
            else:   # nothing to compare it with: hashed while the month is merged and written
                pending = background.submit(input_digest, inc, sel, month)
            if digest is not None and ptr is not None and ptr.get("input_digest") == digest:
                # the very input that made this version: replacing its labels again is a no-op
                # (an upsert is idempotent), so nothing is decompressed or compared
                out.append(self.revisions.record("air", self._unchanged(ptr, inc, sel, month), source, run_id))
                continue
            old = _air.read_cube(self.backend.open_tree(f"{HOURLY}/{ptr['version']}"), month) if ptr else None
            cube, rev, changed = _air.merge(old, inc, sel, month)
            if not changed:
                digest = digest or pending.result()
                out.append(self.revisions.record("air", rev, source, run_id))
                if ptr is None:
                    continue   # an empty month given no station: nothing stored, no pointer
                # recognise this input next time (a pointer of an older digest, or another
                # input that changes nothing): the same version, the digest and counts renewed
                self.backend.put(f"{HOURLY}/{month}.json", json_bytes(
                    ptr | {"input_digest": digest, "input_counts": unchanged_counts(rev)}))
                continue
            name = f"{month}.v{max(self.versions(month), default=0) + 1}.zarr"
            self.backend.write_tree(f"{HOURLY}/{name}", lambda target: _air.write_cube(target, cube),
                                    mid_arrays=_air.is_data_chunk)
            out.append(self.revisions.record("air", rev, source, run_id))
            digest = digest or pending.result()
            fault("air:before-switch")
            pointer = {"format": "envq-store/air-month", "month": month, "version": name,
                       "days": cube.days_with_data(), "stations": int(cube.stations.size),
                       "source": str(source), "run_id": run_id, "updated": now_utc(), "input_digest": digest,
                       "input_counts": unchanged_counts(rev)}
            self.backend.put(f"{HOURLY}/{month}.json", json_bytes(pointer))
            fault("air:after-switch")
        return pd.concat(out, ignore_index=True) if out else empty_revisions()

    def compact(self) -> list[str]:
        """Rewrite every month whose current version is of format 1 (float64, a chunk per day:
        schema version 1) in the current format (:func:`envq.store.air.write_cube`): a new
        version with the very same values, switched like an upsert; no revision is recorded
        (no value changes). The months rewritten. Run again, it finds nothing to do."""
        self.backend.require_lock("compact")
        done = []
        for month in self.months():
            ptr = self.pointer(month)
            tree = self.backend.open_tree(f"{HOURLY}/{ptr['version']}")
            if _air.MonthArrays.open(tree, month).format >= 2:
                continue
            cube = _air.read_cube(tree, month)
            name = f"{month}.v{max(self.versions(month), default=0) + 1}.zarr"
            self.backend.write_tree(f"{HOURLY}/{name}", lambda target: _air.write_cube(target, cube),
                                    mid_arrays=_air.is_data_chunk)
            self.backend.put(f"{HOURLY}/{month}.json", json_bytes(ptr | {"version": name, "compacted": now_utc()}))
            fault("air:after-switch")
            done.append(month)
        return done

    def _same_input(self, hourly, digests: dict[str, str]) -> list[pd.DataFrame] | None:
        """The revisions of an upsert of the very input that made every month it touches (then
        nothing is checked, copied, sorted, read or decompressed: the digest covers every byte
        the store checked the first time), else None. An input already in the store's order is
        hashed as it is (:class:`envq.store.air.Planes`); the digests of the months that match
        are left in *digests* for the full upsert."""
        if not isinstance(hourly, xr.Dataset) or "time" not in hourly.dims or hourly.sizes["time"] == 0:
            return None
        times = np.asarray(hourly["time"].values)
        if times.dtype.kind != "M" or np.isnat(times[[0, -1]]).any():
            return None
        first, last = (_air.natural_day(times[[0, -1]]).astype("datetime64[M]")).astype(str)
        if any(not (ptr := self.pointer(m)) or not ptr.get("input_digest") for m in {first, last}):
            return None   # a month (the first or last touched) never stored from a digested input
        planes = _air.Planes.of(hourly)
        if planes is None:
            return None
        revs = []
        for month, sel in planes.months():
            ptr = self.pointer(month)
            if ptr is None or not ptr.get("input_digest"):
                return None
            digest = input_digest(planes, sel, month)
            if digest != ptr["input_digest"]:
                return None
            digests[month] = digest
            revs.append(self._unchanged(ptr, planes, sel, month))
        return revs

    @staticmethod
    def _unchanged(ptr: dict, inc, sel: slice, month: str) -> pd.DataFrame:
        """The revision of the same input again: the counts its pointer keeps (else counted)."""
        counts = ptr.get("input_counts")
        return revision_of_counts(counts) if counts else unchanged_revision(inc, sel, month)

    # -- read ---------------------------------------------------------------------------------

    def read(self, start: dt.date, end: dt.date, *, chunks=None) -> xr.Dataset:
        """See :meth:`envq.store.Store.read_air`."""
        start, end = check_span(start, end)
        labels = _air.day_labels(start, end)
        if chunks is not None:
            return self._read_lazy(start, end, labels, chunks)
        held = [(month, ptr) for month in months_between(start, end) if (ptr := self.pointer(month)) is not None]
        # one pool for opening the months and decoding them, shut down whatever happens
        with ThreadPoolExecutor(min(len(_air.POLLUTANTS), os.cpu_count() or 1)) as pool:
            opened = pool.map(lambda mp: _air.MonthArrays.open(self.backend.open_tree(f"{HOURLY}/{mp[1]['version']}"),
                                                               mp[0]), held)
            months, versions = [], []
            for (month, ptr), m in zip(held, opened):
                # the month's labels within the span: positions in the month and in the result
                lo, hi = np.searchsorted(m.labels, labels[[0, -1]])
                hi = min(int(hi) + 1, m.labels.size)
                if hi <= lo:
                    continue
                months.append((m, slice(int(lo), hi), int(np.searchsorted(labels, m.labels[lo]))))
                versions.append(ptr["version"])
            union = np.unique(np.concatenate([m.stations for m, _, _ in months])).astype(str) if months \
                else np.array([], dtype=str)
            # each month decoded straight into its place (one copy of the span, written once); the
            # six pollutants on threads (decoding and the first touch of the result's memory, which
            # is most of a year's read, release the GIL)
            covered = np.zeros(labels.size, dtype=bool)
            for m, cols, at in months:
                covered[at: at + cols.stop - cols.start] = True

            def one(v: str) -> np.ndarray:
                dst = np.empty((union.size, labels.size))
                for m, cols, at in months:
                    place = dst[:, at: at + cols.stop - cols.start]
                    if m.stations.size == union.size:
                        m.decode(v, cols, out=place)
                    else:
                        place[...] = np.nan
                        place[np.searchsorted(union, m.stations)] = m.decode(v, cols)
                if not covered.all():
                    dst[:, ~covered] = np.nan
                return dst

            data = dict(zip(_air.POLLUTANTS, pool.map(one, _air.POLLUTANTS)))
        out = xr.Dataset({v: (("station", "time"), data.pop(v)) for v in _air.POLLUTANTS},
                         coords={"station": union, "time": labels})
        last = months[-1][0] if months else None
        if last is not None and last.stations.size == union.size and all(m.same_coords(last) for m, _, _ in months):
            # every month holds the same stations and coordinates (the usual case): the merge
            # below gives the last month's, without building a frame per month
            c = last.coord_arrays
            named = (c["name"] != "") | (c["province"] != "")
            coords = pd.DataFrame({"name": c["name"], "city": c["city"], "province": c["province"], "lon": c["lon"],
                                   "lat": c["lat"], "is_background": c["is_background"] & named})
            return self._finish(out, union, [], versions, coords=coords)
        return self._finish(out, union, [m.coords for m, _, _ in months], versions)

    def _read_lazy(self, start, end, labels, chunks) -> xr.Dataset:
        """:meth:`read` as dask arrays (*chunks* to ``xarray.open_zarr``)."""
        pieces, tables, versions = [], [], []
        for month in months_between(start, end):
            ptr = self.pointer(month)
            if ptr is None:
                continue
            ds = _air.open_cube(self.backend.open_tree(f"{HOURLY}/{ptr['version']}"), chunks=chunks)
            ds = ds.sel(time=slice(labels[0], labels[-1]))
            stations = _air.text_array(ds["station"].values)
            tables.append(_air.coords_of(ds))
            pieces.append(ds[list(_air.POLLUTANTS)].drop_vars(list(_air.STATION_COORDS)).assign_coords(station=stations))
            versions.append(ptr["version"])
        union = np.unique(np.concatenate([t.index.to_numpy(dtype=str) for t in tables])) if tables \
            else np.array([], dtype=str)
        union = union.astype(str)
        if pieces:
            pieces = [p if np.array_equal(p["station"].values, union) else p.reindex(station=union) for p in pieces]
            out = xr.concat(pieces, dim="time", data_vars="all", coords="minimal", join="exact",
                            combine_attrs="drop") if len(pieces) > 1 else pieces[0]
            out = out.assign_coords(time=out["time"].values.astype("datetime64[ns]"))
            if out.sizes["time"] != labels.size:
                out = out.reindex(time=labels)
        else:
            out = xr.Dataset({v: (("station", "time"), np.empty((0, labels.size))) for v in _air.POLLUTANTS},
                             coords={"station": union, "time": labels})
        return self._finish(out, union, tables, versions)

    def _finish(self, out: xr.Dataset, union: np.ndarray, tables: list, versions: list, *,
                coords: pd.DataFrame | None = None) -> xr.Dataset:
        """The station coordinates (later months win where they have a non-empty value; or
        *coords* already merged), attributes, and the result loaded unless dask-backed."""
        coords = _air.empty_coords(union) if coords is None else coords
        for t in tables:   # later months win where they have a non-empty value
            if t.index.size == union.size and coords.index.equals(t.index) and t.equals(coords):
                continue
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
            out[v].attrs = {"units": AIR_UNITS[v], "long_name": _air.LONG_NAMES[v]}
        out.attrs = {"source": f"envq store {self.backend.root}", "store_versions": versions}
        if out["pm25"].chunks is None:
            out = out.load()
        return out

    def days(self) -> list[dt.date]:
        """The natural days holding at least one stored air value, sorted."""
        days = []
        for month in self.months():
            days.extend(self.pointer(month)["days"])
        return sorted(dt.date.fromisoformat(x) for x in days)
