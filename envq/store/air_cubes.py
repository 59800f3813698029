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

import numpy as np
import pandas as pd
import xarray as xr

from envq.canonical import AIR_UNITS
from envq.store import air as _air
from envq.store._fs import fault, json_bytes
from envq.store.dates import check_span, month_of_name, month_version_of_name, months_between, now_utc
from envq.store.errors import StoreError
from envq.store.revisions import empty_revisions

__all__ = ["AirCubes", "input_digest", "unchanged_revision"]

HOURLY = "air/hourly"


def input_digest(inc: _air.Incoming | _air.Planes, sel: slice, month: str) -> str:
    """SHA-256 of what an upsert into *month* is made of: stations, hour labels, the six
    pollutants' bytes, the station coords. Stored in the month's pointer: the same input again
    is recognised without reading the cube."""
    h = hashlib.sha256()
    h.update(month.encode())
    h.update("\0".join(inc.stations.tolist()).encode("utf-8"))
    h.update(np.ascontiguousarray(inc.labels[sel]).view(np.int64).tobytes())
    for i in range(len(_air.POLLUTANTS)):
        h.update(np.ascontiguousarray(inc.plane(i, sel)))  # its buffer: the same bytes, no second copy
    h.update(pd.util.hash_pandas_object(inc.coords.reset_index(), index=False).to_numpy().tobytes())
    h.update(np.asarray(inc.known, dtype=bool).tobytes())
    return h.hexdigest()


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
        out = []
        for month, sel in inc.months():
            ptr = self.pointer(month)
            digest = digests.get(month) or input_digest(inc, sel, month)
            if ptr is not None and ptr.get("input_sha256") == digest:
                # the very input that made this version: replacing its labels again is a no-op
                # (an upsert is idempotent), so nothing is decompressed or compared
                out.append(self.revisions.record("air", unchanged_revision(inc, sel, month), source, run_id))
                continue
            old = _air.read_cube(self.backend.open_tree(f"{HOURLY}/{ptr['version']}"), month) if ptr else None
            cube, rev, changed = _air.merge(old, inc, sel, month)
            if not changed:
                out.append(self.revisions.record("air", rev, source, run_id))
                continue
            name = f"{month}.v{max(self.versions(month), default=0) + 1}.zarr"
            self.backend.write_tree(f"{HOURLY}/{name}", lambda target: _air.write_cube(target, cube),
                                    mid_arrays=_air.is_data_chunk)
            out.append(self.revisions.record("air", rev, source, run_id))
            fault("air:before-switch")
            pointer = {"format": "envq-store/air-month", "month": month, "version": name,
                       "days": cube.days_with_data(), "stations": int(cube.stations.size),
                       "source": str(source), "run_id": run_id, "updated": now_utc(), "input_sha256": digest}
            self.backend.put(f"{HOURLY}/{month}.json", json_bytes(pointer))
            fault("air:after-switch")
        return pd.concat(out, ignore_index=True) if out else empty_revisions()

    def _same_input(self, hourly, digests: dict[str, str]) -> list[pd.DataFrame] | None:
        """The revisions of an upsert of the very input that made every month it touches (then
        nothing is checked, copied, sorted, read or decompressed: the digest covers every byte
        the store checked the first time), else None. An input already in the store's order is
        hashed as it is (:class:`envq.store.air.Planes`); the digests of the months that match
        are left in *digests* for the full upsert."""
        planes = _air.Planes.of(hourly)
        if planes is None:
            return None
        revs = []
        for month, sel in planes.months():
            ptr = self.pointer(month)
            if ptr is None or not ptr.get("input_sha256"):
                return None
            digest = input_digest(planes, sel, month)
            if digest != ptr["input_sha256"]:
                return None
            digests[month] = digest
            revs.append(unchanged_revision(planes, sel, month))
        return revs

    # -- read ---------------------------------------------------------------------------------

    def read(self, start: dt.date, end: dt.date, *, chunks=None) -> xr.Dataset:
        """See :meth:`envq.store.Store.read_air`."""
        start, end = check_span(start, end)
        labels = _air.day_labels(start, end)
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
        coords = _air.empty_coords(union)
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
            out[v].attrs = {"units": AIR_UNITS[v], "long_name": _air.LONG_NAMES[v]}
        out.attrs = {"source": f"envq store {self.backend.root}", "store_versions": versions}
        if chunks is None:
            out = out.load()
        return out

    def days(self) -> list[dt.date]:
        """The natural days holding at least one stored air value, sorted."""
        days = []
        for month in self.months():
            days.extend(self.pointer(month)["days"])
        return sorted(dt.date.fromisoformat(x) for x in days)
