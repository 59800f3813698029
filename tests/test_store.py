"""The embedded local store on the bundled real data (docs/pipeline.md, section "Store").

Air: the Hunan 2019 CNEMC archive (``data/air/hunan_sites_2019_wide.csv.gz``) read by
:func:`envq.air.pipeline.read_air`; water: the July/August 2026 automatic-station extract read by
:func:`envq.water.cli.load_inputs`. Both are read once per module and sliced.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from _files import tree
import pandas as pd
import pytest
import xarray as xr

from envq.errors import InputError, PeriodError, UsageError
from envq.periods import parse_period
from envq.store import (
    MIGRATIONS,
    REVISION_COLUMNS,
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreLockedError,
    default_root,
)
from envq.store import schema as store_schema

P = ["pm25", "pm10", "so2", "no2", "co", "o3"]
COUNTS = ["values_new", "values_changed", "values_removed", "values_unchanged"]
D = dt.date


@pytest.fixture(scope="module")
def hourly(data_dir):
    from envq.air.pipeline import read_air

    return read_air(data_dir / "air" / "hunan_sites_2019_wide.csv.gz")


@pytest.fixture(scope="module")
def water_long(data_dir):
    from envq.water.cli import load_inputs

    long, _, _ = load_inputs([data_dir / "water" / "hunan_water_auto_20260709_20260823.csv.gz"])
    day = long["time"].dt.date
    return long[(day >= D(2026, 7, 30)) & (day <= D(2026, 8, 2))].reset_index(drop=True)


def days(ds: xr.Dataset, start: dt.date, end: dt.date) -> xr.Dataset:
    """The labels of the natural days start..end present in *ds* (``start 01:00 .. end+1 00:00``)."""
    lo = pd.Timestamp(start) + pd.Timedelta(hours=1)
    hi = pd.Timestamp(end) + pd.Timedelta(days=1)
    return ds.sel(time=slice(lo, hi))


def full_labels(start: dt.date, end: dt.date) -> np.ndarray:
    n = ((end - start).days + 1) * 24
    return (np.datetime64(start, "ns") + np.timedelta64(1, "h")) + np.arange(n) * np.timedelta64(1, "h")




def month_data(root) -> dict[str, bytes]:
    """The month data of a store: zarr versions and water files (not pointers' timestamps)."""
    t = tree(root)
    return {k: v for k, v in t.items() if ".zarr" in k or k.startswith("water")}


def assert_same_values(got: xr.Dataset, want: xr.Dataset) -> None:
    for v in P:
        xr.testing.assert_equal(got[v].reset_coords(drop=True), want[v].reset_coords(drop=True))


@pytest.fixture(scope="module")
def jan_feb(hourly, tmp_path_factory):
    """A store holding the natural days 2019-01-01..2019-02-28 (upserted once)."""
    store = Store(tmp_path_factory.mktemp("jan_feb") / "store")
    with store.lock(run_id="jan-feb"):
        store.upsert_air(days(hourly, D(2019, 1, 1), D(2019, 2, 28)), source="hunan_sites_2019_wide")
    return store


# --------------------------------------------------------------------------------------------
# air


def test_air_round_trip_and_idempotent_rerun(hourly, tmp_path):
    sub = days(hourly, D(2019, 1, 3), D(2019, 1, 5))
    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        rev = store.upsert_air(sub, source="archive")
    assert list(rev.columns) == REVISION_COLUMNS
    assert rev["day"].tolist() == [D(2019, 1, 3), D(2019, 1, 4), D(2019, 1, 5)]
    assert (rev["kind"] == "air").all() and (rev["run_id"] == "r1").all() and (rev["source"] == "archive").all()
    n_values = sum(int(sub[v].notnull().sum()) for v in P)
    assert int(rev["values_new"].sum()) == n_values
    assert rev[["values_changed", "values_removed", "values_unchanged"]].to_numpy().sum() == 0
    has = sum(sub[v].notnull() for v in P) > 0                 # stations with a value, per day
    assert rev["stations"].tolist() == [int(has.isel(time=slice(24 * i, 24 * i + 24)).any("time").sum())
                                        for i in range(3)]

    back = store.read_air(D(2019, 1, 3), D(2019, 1, 5))
    labels = full_labels(D(2019, 1, 3), D(2019, 1, 5))
    np.testing.assert_array_equal(back["time"].values, labels)
    assert back["time"].dtype == np.dtype("datetime64[ns]")
    assert_same_values(back, sub.reindex(time=labels))
    for c in ("name", "city", "province", "lon", "lat", "is_background"):
        np.testing.assert_array_equal(back[c].values, sub[c].values)
    assert all(back[v].dtype == np.float64 for v in P)
    # float64 exactly as given: the CO values GB/T 8170 rounding must see
    assert float(back["co"].sel(station="1335A", time="2019-01-03T01:00")) == \
        float(sub["co"].sel(station="1335A", time="2019-01-03T01:00"))
    assert store.air_days() == [D(2019, 1, 3), D(2019, 1, 4), D(2019, 1, 5)]

    before = tree(store.root / "air")
    with store.lock(run_id="r2"):
        again = store.upsert_air(sub, source="archive")
    assert tree(store.root / "air") == before              # byte-identical, no new version
    assert again[["values_new", "values_changed", "values_removed"]].to_numpy().sum() == 0
    assert int(again["values_unchanged"].sum()) == n_values
    revs = store.revisions()
    assert revs["run_id"].tolist() == ["r1"] * 3 + ["r2"] * 3
    assert sorted(p.name for p in (store.root / "air" / "hourly").iterdir()) == ["2019-01.json", "2019-01.v1.zarr"]


def test_air_same_input_recognised_before_any_check_or_copy(hourly, tmp_path, monkeypatch):
    # issue 16: an input already in the store's order is hashed as it is (envq.store.air.Planes),
    # with the very digest the checked and sorted input gives; the very input that made every
    # month it touches is then skipped before Incoming.from_dataset (no check, sort or copy), with
    # the revision rows of a full comparison
    from envq.store import air as store_air
    from envq.store.air_cubes import input_digest

    sub = days(hourly, D(2019, 1, 30), D(2019, 2, 2))            # two months
    planes, inc = store_air.Planes.of(sub), store_air.Incoming.from_dataset(sub)
    assert planes is not None and [m for m, _ in planes.months()] == ["2019-01", "2019-02"]
    for month, sel in inc.months():
        assert input_digest(planes, sel, month) == input_digest(inc, sel, month)
    assert store_air.Planes.of(sub.isel(station=slice(None, None, -1))) is None   # not in order: checked first
    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        store.upsert_air(sub, source="archive")
    with store.lock(run_id="r2"):   # the full path (stations reversed): the same digests, nothing rewritten
        full = store.upsert_air(sub.isel(station=slice(None, None, -1)), source="archive")
    before = tree(store.root / "air")

    def refuse(ds):
        raise AssertionError("the same input was checked and copied again")

    monkeypatch.setattr(store_air.Incoming, "from_dataset", staticmethod(refuse))
    with store.lock(run_id="r3"):
        quick = store.upsert_air(sub, source="archive")
    assert tree(store.root / "air") == before
    cols = ["kind", "day", "source", "stations", *COUNTS]
    pd.testing.assert_frame_equal(quick[cols], full[cols])
    assert store.revisions()["run_id"].tolist()[-len(quick):] == ["r3"] * len(quick)
    # one value changed in the second month: not the same input, so checked and merged
    monkeypatch.undo()
    changed = sub.copy(deep=True)
    changed["pm25"][0, -1] = 999.0
    with store.lock(run_id="r4"):
        rev = store.upsert_air(changed, source="archive")
    assert int(rev["values_changed"].sum()) + int(rev["values_new"].sum()) == 1


def test_air_pointer_of_an_older_digest_renewed(hourly, tmp_path, monkeypatch):
    # a pointer written before the per-pollutant digest (input_sha256) is not compared: the next
    # upsert of the same input goes the full way once, writes no version, and renews the digest
    # and the counts, so the one after is recognised before any check
    from envq.store import air as store_air
    from envq.store.air_cubes import DIGEST_KIND, unchanged_revision

    sub = days(hourly, D(2019, 3, 10), D(2019, 3, 11))
    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        first = store.upsert_air(sub, source="archive")
    ptr_path = store.root / "air" / "hourly" / "2019-03.json"
    ptr = json.loads(ptr_path.read_text())
    assert ptr["input_digest"].startswith(DIGEST_KIND + ":")
    inc = store_air.Incoming.from_dataset(sub)
    (month, sel), = inc.months()
    counted = unchanged_revision(inc, sel, month)                # the counts kept equal the counted
    assert ptr["input_counts"]["values"] == counted["values_unchanged"].tolist() \
        == (first["values_new"]).tolist()
    assert ptr["input_counts"]["stations"] == counted["stations"].tolist()
    legacy = {k: v for k, v in ptr.items() if k not in ("input_digest", "input_counts")} | {"input_sha256": "0" * 64}
    ptr_path.write_text(json.dumps(legacy))
    with store.lock(run_id="r2"):
        again = store.upsert_air(sub, source="archive")
    assert sorted(p.name for p in (store.root / "air" / "hourly").glob("*.zarr")) == ["2019-03.v1.zarr"]
    renewed = json.loads(ptr_path.read_text())
    assert renewed["input_digest"] == ptr["input_digest"] and renewed["input_counts"] == ptr["input_counts"]
    assert renewed["version"] == "2019-03.v1.zarr"

    def refuse(ds):
        raise AssertionError("the same input was checked and copied again")

    monkeypatch.setattr(store_air.Incoming, "from_dataset", staticmethod(refuse))
    with store.lock(run_id="r3"):
        quick = store.upsert_air(sub, source="archive")
    cols = ["day", "stations", *COUNTS]
    pd.testing.assert_frame_equal(quick[cols], again[cols])
    assert int(quick["values_unchanged"].sum()) == int(first["values_new"].sum()) > 0


def test_air_pointer_without_a_digest_never_means_unchanged(hourly, tmp_path):
    # a pointer that keeps no digest (written before it, or damaged) compares with nothing: a
    # changed input is merged, never taken for the input that made the month
    sub = days(hourly, D(2019, 3, 10), D(2019, 3, 11))
    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        store.upsert_air(sub, source="archive")
    ptr_path = store.root / "air" / "hourly" / "2019-03.json"
    ptr = json.loads(ptr_path.read_text())
    ptr_path.write_text(json.dumps({k: v for k, v in ptr.items() if k not in ("input_digest", "input_counts")}))
    changed = sub.copy(deep=True)
    station = str(changed["station"].values[0])
    changed["pm25"].loc[{"station": station, "time": "2019-03-10T05:00"}] = 777.0
    with store.lock(run_id="r2"):
        rev = store.upsert_air(changed, source="archive")
    assert int(rev["values_changed"].sum()) + int(rev["values_new"].sum()) == 1
    got = store.read_air(D(2019, 3, 10), D(2019, 3, 10))
    assert float(got["pm25"].sel(station=station, time="2019-03-10T05:00")) == 777.0


def test_air_upsert_of_no_station_into_an_empty_month(hourly, tmp_path):
    # a pull that names no station (none of the area's reported) changes nothing: zero counts
    # per day, no month version, no pointer; as schema 1 did (the unchanged-pointer refresh of
    # schema 2 raised TypeError on the month that has no pointer yet)
    none = days(hourly, D(2019, 5, 1), D(2019, 5, 2)).isel(station=slice(0, 0))
    assert none.sizes["station"] == 0 and none.sizes["time"] == 48
    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        rev = store.upsert_air(none, source="archive")
    assert rev["day"].tolist() == [D(2019, 5, 1), D(2019, 5, 2)]
    assert rev["stations"].tolist() == [0, 0] and (rev[COUNTS].to_numpy() == 0).all()
    assert store.air_days() == [] and not list((store.root / "air" / "hourly").glob("2019-05*"))


def test_air_revision_counted_exactly(hourly, tmp_path):
    sub = days(hourly, D(2019, 3, 10), D(2019, 3, 11))
    store = Store(tmp_path / "s")
    with store.lock(run_id="first"):
        store.upsert_air(sub, source="archive")

    revised = sub.copy(deep=True)
    pm25 = revised["pm25"].values
    # change five values of day 03-10 and two of day 03-11
    have = np.argwhere(~np.isnan(pm25))
    day_of = (have[:, 1] // 24)  # the slice starts at 03-10 01:00 with every label present
    assert sub.sizes["time"] == 48
    ch10 = have[day_of == 0][:5]
    ch11 = have[day_of == 1][:2]
    for s, t in np.concatenate([ch10, ch11]):
        pm25[s, t] += 1.0
    # one new value (was missing) on day 03-11
    gap = np.argwhere(np.isnan(revised["so2"].values))
    gap11 = gap[gap[:, 1] >= 24][0]
    revised["so2"].values[gap11[0], gap11[1]] = 7.0
    # a station missing at one hour (NaN at a present label): its values there are removed
    st, hour = "1336A", np.datetime64("2019-03-10T15:00", "ns")
    removed = sum(int(np.isfinite(float(sub[v].sel(station=st, time=hour)))) for v in P)
    assert removed > 0
    for v in P:
        revised[v].loc[{"station": st, "time": hour}] = np.nan

    with store.lock(run_id="second"):
        rev = store.upsert_air(revised, source="archive")
    total = [sum(int(days(sub, d, d)[v].notnull().sum()) for v in P) for d in (D(2019, 3, 10), D(2019, 3, 11))]
    r10, r11 = rev.iloc[0], rev.iloc[1]
    assert (r10["day"], r11["day"]) == (D(2019, 3, 10), D(2019, 3, 11))
    assert (r10["values_new"], r10["values_changed"], r10["values_removed"]) == (0, 5, removed)
    assert r10["values_unchanged"] == total[0] - 5 - removed
    assert (r11["values_new"], r11["values_changed"], r11["values_removed"]) == (1, 2, 0)
    assert r11["values_unchanged"] == total[1] - 2
    assert_same_values(store.read_air(D(2019, 3, 10), D(2019, 3, 11)), revised)

    # a dataset of one label without station 1337A: 1337A becomes missing there, the rest stays
    hour2 = np.datetime64("2019-03-11T08:00", "ns")
    one = revised.sel(time=[hour2]).drop_sel(station="1337A")
    gone = sum(int(np.isfinite(float(revised[v].sel(station="1337A", time=hour2)))) for v in P)
    kept = sum(int(one[v].notnull().sum()) for v in P)
    with store.lock(run_id="third"):
        rev3 = store.upsert_air(one, source="archive")
    assert len(rev3) == 1 and rev3["day"].iloc[0] == D(2019, 3, 11)
    assert rev3[COUNTS].iloc[0].tolist() == [0, 0, gone, kept]
    back = store.read_air(D(2019, 3, 10), D(2019, 3, 11))
    assert all(np.isnan(float(back[v].sel(station="1337A", time=hour2))) for v in P)
    expect = revised.copy(deep=True)
    for v in P:
        expect[v].loc[{"station": "1337A", "time": hour2}] = np.nan
    assert_same_values(back, expect)   # every other label untouched
    assert store.revisions()["run_id"].tolist() == ["first"] * 2 + ["second"] * 2 + ["third"]


def test_air_month_boundary_and_midnight_label(hourly, tmp_path):
    store = Store(tmp_path / "s")
    sub = days(hourly, D(2019, 1, 31), D(2019, 2, 1))      # 2019-01-31 01:00 .. 2019-02-02 00:00
    first = hourly.isel(time=[0])                          # 2019-01-01 00:00: natural day 2018-12-31
    assert str(first["time"].values[0])[:16] == "2019-01-01T00:00"
    with store.lock(run_id="edge"):
        rev = store.upsert_air(xr.concat([first, sub], dim="time"), source="archive")
    assert rev["day"].tolist() == [D(2018, 12, 31), D(2019, 1, 31), D(2019, 2, 1)]
    hourly_dir = store.root / "air" / "hourly"
    assert sorted(p.name for p in hourly_dir.glob("*.json")) == ["2018-12.json", "2019-01.json", "2019-02.json"]
    ptr = json.loads((hourly_dir / "2019-01.json").read_text())
    assert ptr["version"] == "2019-01.v1.zarr" and ptr["days"] == ["2019-01-31"]
    # the 00:00 label of 02-01 is the last hour of natural day 01-31, in the 2019-01 cube
    jan31 = store.read_air(D(2019, 1, 31), D(2019, 1, 31))
    assert str(jan31["time"].values[-1])[:16] == "2019-02-01T00:00" and jan31.sizes["time"] == 24
    with xr.open_zarr(hourly_dir / "2019-01.v1.zarr", consolidated=False) as cube:
        assert cube.sizes["time"] == 31 * 24 and str(cube["time"].values[-1])[:16] == "2019-02-01T00:00"
        assert cube["pm25"].encoding["chunks"] == (82, 31 * 24)   # one chunk: the month, all stations
        assert cube["pm25"].dtype == np.int16 and cube["co"].dtype == np.int16   # compact, exact (schema 2)
    dec31 = store.read_air(D(2018, 12, 31), D(2018, 12, 31))
    assert_same_values(dec31.sel(time=first["time"].values), first)
    assert int(dec31["pm25"].notnull().sum()) == int(first["pm25"].notnull().sum())
    both = store.read_air(D(2019, 1, 31), D(2019, 2, 1))
    assert_same_values(both, sub.reindex(time=full_labels(D(2019, 1, 31), D(2019, 2, 1))))
    assert store.air_days() == [D(2018, 12, 31), D(2019, 1, 31), D(2019, 2, 1)]


def test_read_air_across_months_dask_and_good_day_rates(hourly, jan_feb):
    """Good-day rates from the store equal those from the file (and through dask chunks)."""
    from envq.air.pipeline import city_days_from_hourly
    from envq.air.rates import good_day_rates

    period = "2019-01-01..2019-02-28"
    sub = days(hourly, D(2019, 1, 1), D(2019, 2, 28))
    mem = jan_feb.read_air(D(2019, 1, 1), D(2019, 2, 28))
    assert_same_values(mem, sub.reindex(time=full_labels(D(2019, 1, 1), D(2019, 2, 28))))
    want = good_day_rates(city_days_from_hourly(sub)[0], period, by="both")
    got = good_day_rates(city_days_from_hourly(mem)[0], period, by="both")
    pd.testing.assert_frame_equal(got, want)
    # dask-backed (chunks passed to open_zarr): same numbers, same rates (a span across the months)
    import dask.array as da

    lazy = jan_feb.read_air(D(2019, 1, 30), D(2019, 2, 2), chunks={})
    assert isinstance(lazy["pm25"].data, da.Array)
    assert lazy["pm25"].chunks[1] == (48, 48)                  # one chunk per month cube (2 days of each)
    assert lazy["pm25"].dtype == np.float64                    # decoded as read
    assert_same_values(lazy.compute(), mem.sel(time=lazy["time"].values))
    span = "2019-01-30..2019-02-02"
    pd.testing.assert_frame_equal(
        good_day_rates(city_days_from_hourly(lazy)[0], span, by="both"),
        good_day_rates(city_days_from_hourly(days(hourly, D(2019, 1, 30), D(2019, 2, 2)))[0], span, by="both"))
    # a range reaching outside the stored months: NaN-filled, full labels
    wide = jan_feb.read_air(D(2018, 12, 30), D(2019, 3, 2))
    assert wide.sizes["time"] == (D(2019, 3, 2) - D(2018, 12, 30)).days * 24 + 24
    assert int(wide["pm25"].notnull().sum()) == int(mem["pm25"].notnull().sum())
    empty = jan_feb.read_air(D(2020, 1, 1), D(2020, 1, 2))
    assert empty.sizes == {"station": 0, "time": 48}


def test_station_union_and_coords(hourly, tmp_path):
    store = Store(tmp_path / "s")
    d = days(hourly, D(2019, 5, 1), D(2019, 5, 1))
    a = d.isel(station=slice(0, 50))
    b = d.isel(station=slice(30, 82)).sel(time=d["time"].values[12:])
    with store.lock():
        store.upsert_air(a, source="x")
        store.upsert_air(b, source="x")
    back = store.read_air(D(2019, 5, 1), D(2019, 5, 1))
    np.testing.assert_array_equal(back["station"].values, d["station"].values)
    np.testing.assert_array_equal(back["city"].values, d["city"].values)
    # labels of b: stations 0..29 (absent from b) became missing; labels before: a's values
    expect = a.reindex(station=d["station"].values)
    for v in P:
        expect[v].values[:, 12:] = np.nan
        expect[v].values[30:, 12:] = b[v].values
    assert_same_values(back, expect)


def test_superseded_versions_cleaned_by_next_writer(hourly, tmp_path):
    store = Store(tmp_path / "s")
    d = days(hourly, D(2019, 6, 1), D(2019, 6, 2))
    with store.lock():
        store.upsert_air(d.isel(time=slice(0, 24)), source="x")
        store.upsert_air(d, source="x")
    hourly_dir = store.root / "air" / "hourly"
    assert sorted(p.name for p in hourly_dir.iterdir()) == ["2019-06.json", "2019-06.v1.zarr", "2019-06.v2.zarr"]
    assert store.read_air(D(2019, 6, 2), D(2019, 6, 2)).attrs["store_versions"] == ["2019-06.v2.zarr"]
    with store.lock():
        pass
    assert sorted(p.name for p in hourly_dir.iterdir()) == ["2019-06.json", "2019-06.v2.zarr"]


def test_air_bad_input(hourly, tmp_path):
    store = Store(tmp_path / "s")
    d = days(hourly, D(2019, 1, 3), D(2019, 1, 3))
    with store.lock():
        with pytest.raises(ValueError, match="'time' dimension"):
            store.upsert_air(d.rename(time="hour"), source="x")
        with pytest.raises(ValueError, match="'station' dimension"):
            store.upsert_air(d.isel(station=0), source="x")
        with pytest.raises(ValueError, match=r"lacks variable\(s\) \['co'\]"):
            store.upsert_air(d.drop_vars("co"), source="x")
        with pytest.raises(ValueError, match="float32"):
            store.upsert_air(d.assign(co=d["co"].astype("float32")), source="x")
        with pytest.raises(ValueError, match="not on the hour"):
            store.upsert_air(d.assign_coords(time=d["time"].values + np.timedelta64(30, "m")), source="x")
        with pytest.raises(TypeError):
            store.upsert_air(d.to_dataframe(), source="x")
    assert not (store.root / "air").exists()
    assert len(store.revisions()) == 0


# --------------------------------------------------------------------------------------------
# water


def test_water_round_trip_idempotent_and_revision(water_long, tmp_path):
    store = Store(tmp_path / "s")
    with store.lock(run_id="w1"):
        rev = store.upsert_water(water_long, source="cnemc-water")
    assert rev["day"].tolist() == [D(2026, 7, 30), D(2026, 7, 31), D(2026, 8, 1), D(2026, 8, 2)]
    assert int(rev["values_new"].sum()) == len(water_long)
    assert rev[["values_changed", "values_removed", "values_unchanged"]].to_numpy().sum() == 0
    assert rev["stations"].tolist() == water_long.groupby(water_long["time"].dt.date)["section"].nunique().tolist()
    files = sorted(p.name for p in (store.root / "water" / "readings").iterdir())
    assert files == ["2026-07.parquet", "2026-08.parquet"]
    back = store.read_water(D(2026, 7, 30), D(2026, 8, 2))
    want = water_long.sort_values(["time", "section", "item", "source_kind"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, want)
    assert store.water_days() == [D(2026, 7, 30), D(2026, 7, 31), D(2026, 8, 1), D(2026, 8, 2)]
    pd.testing.assert_frame_equal(store.read_water(D(2026, 8, 1), D(2026, 8, 1)),
                                  want[want["time"].dt.date == D(2026, 8, 1)].reset_index(drop=True))

    before = tree(store.root / "water")
    with store.lock(run_id="w2"):
        again = store.upsert_water(water_long.sample(frac=1.0, random_state=0), source="cnemc-water")
    assert tree(store.root / "water") == before
    assert again[["values_new", "values_changed", "values_removed"]].to_numpy().sum() == 0
    assert int(again["values_unchanged"].sum()) == len(water_long)

    # revision of day 07-31: 4 values changed, 1 flag changed, 3 readings dropped, 2 added
    day31 = water_long[water_long["time"].dt.date == D(2026, 7, 31)].reset_index(drop=True)
    rev31 = day31.copy()
    rev31.loc[0:3, "value"] = rev31.loc[0:3, "value"] + 0.5
    rev31.loc[4, "below_detection"] = not rev31.loc[4, "below_detection"]
    rev31 = rev31.drop(index=[10, 11, 12])
    extra = day31.iloc[[20, 21]].assign(item=["made_up_a", "made_up_b"])
    rev31 = pd.concat([rev31, extra], ignore_index=True)
    with store.lock(run_id="w3"):
        r3 = store.upsert_water(rev31, source="cnemc-water")
    assert r3["day"].tolist() == [D(2026, 7, 31)]
    assert r3[COUNTS].iloc[0].tolist() == [2, 5, 3, len(day31) - 8]
    back = store.read_water(D(2026, 7, 30), D(2026, 8, 2))
    assert len(back) == len(water_long) - 3 + 2
    # other days untouched
    pd.testing.assert_frame_equal(back[back["time"].dt.date != D(2026, 7, 31)].reset_index(drop=True),
                                  want[want["time"].dt.date != D(2026, 7, 31)].reset_index(drop=True))


def test_water_pairs_keep_other_source_kind(water_long, tmp_path):
    store = Store(tmp_path / "s")
    manual = water_long[water_long["time"].dt.date == D(2026, 8, 1)].head(5).assign(source_kind="manual")
    with store.lock():
        store.upsert_water(water_long, source="auto")
        r = store.upsert_water(manual, source="manual-entry")
        assert r[COUNTS].iloc[0].tolist() == [5, 0, 0, 0]
        r = store.upsert_water(water_long[water_long["time"].dt.date == D(2026, 8, 1)], source="auto")
        assert r["values_new"].sum() == 0 and r["values_removed"].sum() == 0
    back = store.read_water(D(2026, 8, 1), D(2026, 8, 1))
    assert (back["source_kind"] == "manual").sum() == 5
    assert len(back) == int((water_long["time"].dt.date == D(2026, 8, 1)).sum()) + 5


def test_water_bad_input(water_long, tmp_path):
    store = Store(tmp_path / "s")
    with store.lock():
        with pytest.raises(ValueError, match=r"lacks column\(s\) \['below_detection'\]"):
            store.upsert_water(water_long.drop(columns="below_detection"), source="x")
        with pytest.raises(ValueError, match="column 'time'"):
            store.upsert_water(water_long.assign(time=water_long["time"].astype(str)), source="x")
        dup = pd.concat([water_long.head(3), water_long.iloc[[1]].assign(value=99.0, row=777)])
        with pytest.raises(InputError) as err:
            store.upsert_water(dup, source="x")
        assert err.value.row == 777 and err.value.file == water_long["file"].iloc[1]
        empty_section = water_long.head(3).copy()
        empty_section.loc[2, "section"] = ""
        with pytest.raises(InputError, match="field 'section'") as err:
            store.upsert_water(empty_section, source="x")
        assert err.value.row == int(water_long["row"].iloc[2])
    assert not (store.root / "water").exists()


# --------------------------------------------------------------------------------------------
# lock


def test_lock_second_store_refused(tmp_path):
    a, b = Store(tmp_path / "s"), Store(tmp_path / "s")
    with a.lock(run_id="nightly-1"):
        holder = json.loads((a.root / ".lock.json").read_text())
        assert holder["pid"] == os.getpid() and holder["run_id"] == "nightly-1" and holder["host"]
        with pytest.raises(StoreLockedError) as err:
            with b.lock(wait_s=0.2):
                pass
        assert err.value.pid == os.getpid() and err.value.run_id == "nightly-1"
        assert f"pid {os.getpid()}" in str(err.value) and "nightly-1" in str(err.value)
        with a.lock():                      # re-entrant in the holder
            a.write_result("r", "2019-01", pd.DataFrame({"x": [1]}))
        with pytest.raises(StoreError, match="writer lock"):
            b.write_result("r", "2019-01", pd.DataFrame({"x": [1]}))
    assert not (a.root / ".lock.json").exists()
    with b.lock():
        pass


def test_lock_held_by_another_process(tmp_path):
    root = tmp_path / "s"
    Store(root)
    child = textwrap.dedent(f"""
        import sys
        from envq.store import Store
        with Store({str(root)!r}).lock(run_id="child-run"):
            print("locked", flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError) as err:
            with Store(root).lock():
                pass
        assert err.value.pid == proc.pid and err.value.run_id == "child-run"
        assert f"pid {proc.pid}" in str(err.value)
        proc.stdin.write("\n")
        proc.stdin.flush()
        with Store(root).lock(wait_s=20):       # released when the child is done
            pass
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_writes_need_the_lock(hourly, tmp_path):
    store = Store(tmp_path / "s")
    with pytest.raises(StoreError, match="upsert_air"):
        store.upsert_air(days(hourly, D(2019, 1, 3), D(2019, 1, 3)), source="x")
    with pytest.raises(StoreError, match="upsert_water"):
        store.upsert_water(pd.DataFrame(), source="x")
    with pytest.raises(StoreError, match="write_result"):
        store.write_result("a", "2019", pd.DataFrame())
    with pytest.raises(StoreError, match="keep_raw"):
        store.keep_raw("http", D(2019, 1, 1), "f.csv", b"x")


# --------------------------------------------------------------------------------------------
# schema


def test_store_json_and_default_root(tmp_path, monkeypatch):
    store = Store(tmp_path / "new" / "deeper")
    meta = json.loads((store.root / "store.json").read_text())
    assert meta["format"] == "envq-store" and meta["schema_version"] == SCHEMA_VERSION == 2
    assert meta["created"] and meta["envq_version"]
    assert store.schema_version == 2
    monkeypatch.setenv("ENVQ_HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home"
    assert Store().root == tmp_path / "home"
    monkeypatch.delenv("ENVQ_HOME")
    monkeypatch.chdir(tmp_path)
    assert default_root() == tmp_path / "envq-data"


def test_newer_schema_refused(tmp_path):
    store = Store(tmp_path / "s")
    meta = json.loads((store.root / "store.json").read_text())
    (store.root / "store.json").write_text(json.dumps(meta | {"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(StoreError, match="newer than this envq.*upgrade envq"):
        Store(store.root)
    with pytest.raises(StoreError, match="upgrade envq"):   # an open Store re-checks under the lock
        with store.lock():
            pass


def test_migration_runs_once(tmp_path, monkeypatch):
    root = tmp_path / "s"
    Store(root)
    calls = []
    v = SCHEMA_VERSION

    def to_next(store):   # a migration is given the Store, under its writer lock
        assert store.lease is None and store.backend.holds_lock()
        calls.append(store.root)
        (store.root / "migrated-marker").write_text("next")

    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", v + 1)
    monkeypatch.setitem(MIGRATIONS, v, to_next)
    store = Store(root)
    assert calls == [root] and store.schema_version == v + 1
    meta = json.loads((root / "store.json").read_text())
    assert meta["schema_version"] == v + 1 and "migrated" in meta
    assert not (root / ".lock.json").exists()
    Store(root)
    assert calls == [root]
    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", v + 2)       # no migration registered further
    with pytest.raises(StoreError, match=f"no migration from schema version {v + 1}"):
        Store(root)


def as_schema_1(root, months) -> None:
    """Rewrite the store at *root* as schema version 1 wrote it: each month of *months* a float64
    cube with a chunk per day (version 7), ``store.json`` at version 1."""
    import zarr

    from envq.store import air as store_air

    hourly_dir = root / "air" / "hourly"
    for month in months:   # each month as schema version 1 wrote it
        ptr = json.loads((hourly_dir / f"{month}.json").read_text())
        with store_air.open_cube(hourly_dir / ptr["version"]) as cube:
            old = cube.load()
        old.attrs.pop(store_air.CUBE_FORMAT)
        for v in P:
            old[v].attrs = {"units": old[v].attrs["units"], "long_name": old[v].attrs["long_name"]}
        n = old.sizes["station"]
        enc = {v: {"chunks": (n, 24), "shards": (n, old.sizes["time"])} for v in P}
        old.to_zarr(hourly_dir / f"{month}.v7.zarr", mode="w-", zarr_format=3, consolidated=False, encoding=enc)
        (hourly_dir / f"{month}.json").write_text(json.dumps(ptr | {"version": f"{month}.v7.zarr"}))
        assert zarr.open_group(hourly_dir / f"{month}.v7.zarr")["pm25"].dtype == np.float64
    meta = json.loads((root / "store.json").read_text())
    (root / "store.json").write_text(json.dumps(meta | {"schema_version": 1}))


def test_migration_1_to_2_compacts_air_months(hourly, tmp_path):
    """A schema-1 store (float64 cubes, a chunk per day) is rewritten compact on opening: the
    same values bit for bit, new versions, no revision rows, the old versions removed."""
    import zarr

    from envq.store import air as store_air

    root = tmp_path / "s"
    store = Store(root)
    sub = days(hourly, D(2019, 1, 30), D(2019, 2, 2))
    with store.lock(run_id="r1"):
        store.upsert_air(sub, source="archive")
    want = store.read_air(D(2019, 1, 30), D(2019, 2, 2))
    revisions = store.revisions()
    hourly_dir = root / "air" / "hourly"
    as_schema_1(root, ("2019-01", "2019-02"))

    migrated = Store(root)
    assert migrated.schema_version == 2 == json.loads((root / "store.json").read_text())["schema_version"]
    for month in ("2019-01", "2019-02"):
        ptr = json.loads((hourly_dir / f"{month}.json").read_text())
        assert ptr["version"] == f"{month}.v8.zarr" and "compacted" in ptr
        group = zarr.open_group(hourly_dir / ptr["version"])
        assert group.attrs[store_air.CUBE_FORMAT] == 2
        assert group["pm25"].dtype == np.int16 and group["co"].attrs[store_air.ENC_DIVISOR] in (10, 100, 1000)
        assert not (hourly_dir / f"{month}.v7.zarr").exists()   # the superseded version removed
    got = migrated.read_air(D(2019, 1, 30), D(2019, 2, 2))
    for v in P:   # the same float64 values, bit for bit (NaN where missing)
        np.testing.assert_array_equal(got[v].values.view(np.int64), want[v].values.view(np.int64))
    assert got.identical(want.assign_attrs(got.attrs))
    pd.testing.assert_frame_equal(migrated.revisions(), revisions)   # no value changed: no revision
    assert Store(root).compact_air() == []                            # nothing left to do


def test_migration_1_to_2_killed_midway_is_refused_by_schema_1_and_resumed(hourly, tmp_path):
    """A migration killed after the first month is rewritten: from its start, store.json names
    schema version 2, so an envq of schema 1 (which would read the integers as values) refuses
    the store; the next opening finishes it, with the very values."""
    import zarr

    from envq.store import air as store_air

    root = tmp_path / "s"
    store = Store(root)
    with store.lock(run_id="r1"):
        store.upsert_air(days(hourly, D(2019, 1, 30), D(2019, 2, 2)), source="archive")
    want = store.read_air(D(2019, 1, 30), D(2019, 2, 2))
    as_schema_1(root, ("2019-01", "2019-02"))
    env = os.environ | {"ENVQ_STORE_FAULT": "air:after-switch"}   # killed once a month is switched
    child = subprocess.run([sys.executable, "-c", "import sys; from envq.store import Store; Store(sys.argv[1])",
                            str(root)], env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]
    hourly_dir = root / "air" / "hourly"
    formats = {m: zarr.open_group(hourly_dir / json.loads((hourly_dir / f"{m}.json").read_text())["version"])
               .attrs.get(store_air.CUBE_FORMAT, 1) for m in ("2019-01", "2019-02")}
    assert formats == {"2019-01": 2, "2019-02": 1}                  # killed between the two months
    meta = json.loads((root / "store.json").read_text())
    assert meta["schema_version"] == 2                              # schema 1 refuses it (check_not_newer)

    resumed = Store(root)
    assert resumed.schema_version == 2
    meta = json.loads((root / "store.json").read_text())
    assert meta["schema_version"] == 2 and "migrated" in meta and set(meta) & {"migrating_from"} == set()
    for month in ("2019-01", "2019-02"):
        ptr = json.loads((hourly_dir / f"{month}.json").read_text())
        assert zarr.open_group(hourly_dir / ptr["version"]).attrs[store_air.CUBE_FORMAT] == 2
    got = resumed.read_air(D(2019, 1, 30), D(2019, 2, 2))
    for v in P:   # the same float64 values, bit for bit (NaN where missing)
        np.testing.assert_array_equal(got[v].values.view(np.int64), want[v].values.view(np.int64))
    assert Store(root).compact_air() == []


def test_non_store_directory_refused(tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(StoreError, match="not an envq store"):
        Store(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.docx"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        Store(tmp_path / "afile")
    with pytest.raises(StoreError, match="no envq store"):
        Store(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    (tmp_path / "empty").mkdir()
    assert Store(tmp_path / "empty").schema_version == SCHEMA_VERSION
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "store.json").write_text('{"format": "something-else"}')
    with pytest.raises(StoreError, match="not an envq store"):
        Store(tmp_path / "other")


# --------------------------------------------------------------------------------------------
# results, raw payloads


def test_results_write_read(jan_feb, tmp_path):
    from envq.air.pipeline import city_days_from_hourly
    from envq.air.rates import good_day_rates

    store = Store(tmp_path / "s")
    city_days = city_days_from_hourly(jan_feb.read_air(D(2019, 1, 1), D(2019, 2, 28)))[0]
    jan = good_day_rates(city_days, "2019-01", by="both")
    feb = good_day_rates(city_days, "2019-02", by="both")
    with store.lock():
        p = store.write_result("air_good_day_rates", "2019-01", jan)
        store.write_result("air_good_day_rates", "2019-02", feb)
        store.write_result("counts", "2019-01", pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "b"], name="k")))
        with pytest.raises(ValueError, match="not usable"):
            store.write_result("../escape", "2019-01", jan)
    assert p == store.root / "results" / "air_good_day_rates" / "2019-01.parquet"
    # object columns (here target_met: bools) come back typed as Parquet stores them
    pd.testing.assert_frame_equal(store.read_result("air_good_day_rates", "2019-02"), feb, check_dtype=False)
    both = store.read_result("air_good_day_rates")
    pd.testing.assert_frame_equal(both, pd.concat([jan, feb], ignore_index=True), check_dtype=False)
    counts = store.read_result("counts")
    assert counts["period"].tolist() == ["2019-01", "2019-01"] and counts.index.tolist() == ["a", "b"]
    with pytest.raises(StoreError, match="no result") as e:
        store.read_result("air_good_day_rates", "2019-03")
    assert e.value.held == ["2019-01", "2019-02"] and isinstance(e.value, UsageError)  # a usage error (exit 2)
    assert store.result_periods("air_good_day_rates") == [parse_period("2019-01"), parse_period("2019-02")]
    assert store.read_result("air_good_day_rates", parse_period("2019-02")).equals(store.read_result(
        "air_good_day_rates", "2019-02"))
    with store.lock(), pytest.raises(PeriodError):
        store.write_result("counts", "Jan 2019", pd.DataFrame({"n": [1]}))
    with pytest.raises(StoreError, match="no result"):
        store.read_result("nothing")


def test_keep_raw(data_dir, tmp_path):
    store = Store(tmp_path / "s")
    payload = (data_dir / "air" / "china_sites_20190101.csv.gz").read_bytes()
    with store.lock():
        p = store.keep_raw("cnemc-http", D(2019, 1, 1), "china_sites_20190101.csv.gz", payload)
        mtime = p.stat().st_mtime_ns
        assert store.keep_raw("cnemc-http", D(2019, 1, 1), "china_sites_20190101.csv.gz", payload) == p
        assert p.stat().st_mtime_ns == mtime
        with pytest.raises(ValueError):
            store.keep_raw("cnemc-http", D(2019, 1, 1), "a/b.csv", payload)
    assert p == store.root / "raw" / "cnemc-http" / "2019" / "2019-01-01" / "china_sites_20190101.csv.gz"
    assert p.read_bytes() == payload


def test_library_does_not_import_prefect():
    """docs/pipeline.md: the library never imports Prefect (checked on the source of envq.store)."""
    import ast
    from pathlib import Path

    import envq.store

    for path in Path(envq.store.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "prefect" for n in names), f"{path.name} imports prefect"


def test_read_air_of_a_damaged_month_leaves_no_thread(hourly, tmp_path):
    # read_air opens the months on a thread pool: a month that cannot be read raises, and the
    # pool is shut down all the same (no worker thread left behind in a long-running service)
    import shutil
    import threading

    store = Store(tmp_path / "s")
    with store.lock(run_id="r1"):
        store.upsert_air(days(hourly, D(2019, 1, 30), D(2019, 2, 2)), source="archive")
    ptr = json.loads((store.root / "air" / "hourly" / "2019-02.json").read_text())
    shutil.rmtree(store.root / "air" / "hourly" / ptr["version"] / "city")   # a coordinate array gone
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(Exception, match="city"):
        store.read_air(D(2019, 1, 30), D(2019, 2, 2))
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()
            and t.name.startswith("ThreadPoolExecutor")]
    assert left == []
