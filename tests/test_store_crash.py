"""Crash safety of the store (docs/pipeline.md, section "Store": copy-on-write, atomic switch,
orphans cleaned by the next writer).

A child process takes the writer lock and upserts; the store's fault-injection hook
(``ENVQ_STORE_FAULT=<point>``, see :data:`envq.store._fs.FAULT_POINTS`) makes it SIGKILL itself
at a named point of the write. The parent then checks that the store opens, the previous state
reads back identical, the lock is free, the orphans go at the next lock, and the re-run equals a
clean run. Real data: the CNEMC national archive day ``china_sites_20190101.csv.gz`` (Hunan
stations; its labels span natural days 2018-12-31 and 2019-01-01, so two month cubes) and the
national automatic water day ``National_Water_20260720.csv.gz``.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
import signal
import subprocess
import sys
import warnings

import numpy as np
from _files import tree
import pandas as pd
import pytest
import xarray as xr

from envq.store import Store
from envq.store._fs import TMP_SUFFIX

P = ["pm25", "pm10", "so2", "no2", "co", "o3"]
D = dt.date
DAY0, DAY1 = D(2018, 12, 31), D(2019, 1, 1)

CHILD = """
import pickle, sys
from envq.store import Store
root, kind, path = sys.argv[1:4]
with open(path, "rb") as fh:
    data = pickle.load(fh)
store = Store(root)
with store.lock(run_id="crashed"):
    if kind == "air":
        store.upsert_air(data, source="crash-test")
    else:
        store.upsert_water(data, source="crash-test")
print("completed")
"""


def start_child(root, kind: str, data_path, point: str) -> subprocess.Popen:
    env = os.environ | {"ENVQ_STORE_FAULT": point}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), kind, str(data_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)




def tmp_files(root) -> list[str]:
    return [os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files if n.endswith(TMP_SUFFIX)]


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    for v in P:
        xr.testing.assert_equal(a[v].reset_coords(drop=True), b[v].reset_coords(drop=True))


@pytest.fixture(scope="module")
def air_ab(data_dir, tmp_path_factory):
    """A: labels 2019-01-01 00:00..11:00 (days 2018-12-31 and 2019-01-01); B: all 24 labels, with
    the PM2.5 of A's labels revised (+1), so B changes both month cubes. Pickled for the child."""
    from envq.air.pipeline import read_air
    from envq.errors import UnknownStationWarning

    with warnings.catch_warnings():     # two national stations missing from the list: not Hunan's
        warnings.simplefilter("ignore", UnknownStationWarning)
        ds = read_air(data_dir / "air" / "china_sites_20190101.csv.gz")
    ds = ds.isel(station=np.flatnonzero(ds["province"].values == "湖南省"))
    a = ds.isel(time=slice(0, 12))
    b = ds.copy(deep=True)
    b["pm25"].values[:, :12] += 1.0
    path = tmp_path_factory.mktemp("crash_air") / "b.pickle"
    path.write_bytes(pickle.dumps(b))
    return a, b, path


@pytest.fixture(scope="module")
def water_ab(data_dir, tmp_path_factory):
    """A: the morning readings of 40 sections on 2026-07-20; B: the whole day, morning values revised."""
    from envq.water.cli import load_inputs

    long, _, _ = load_inputs([data_dir / "water" / "National_Water_20260720.csv.gz"])
    sections = np.sort(long["section"].unique())[:40]
    long = long[long["section"].isin(sections)].reset_index(drop=True)
    morning = long["time"].dt.hour < 12
    a = long[morning].reset_index(drop=True)
    b = long.copy()
    b.loc[morning, "value"] = b.loc[morning, "value"] * 2 + 0.1
    path = tmp_path_factory.mktemp("crash_water") / "b.pickle"
    path.write_bytes(pickle.dumps(b))
    return a, b, path


@pytest.fixture(scope="module")
def air_states(air_ab, tmp_path_factory):
    """The store after A (copied for each test) and what it reads."""
    a, _, _ = air_ab
    base = Store(tmp_path_factory.mktemp("air_base") / "store")
    with base.lock(run_id="base"):
        base.upsert_air(a, source="base")
    return base, base.read_air(DAY0, DAY1), base.revisions()


def clean_run(base: Store, kind: str, b, root) -> Store:
    """A then B without a crash (a copy of the base store, B upserted, then the next lock)."""
    clean = Store(shutil.copytree(base.root, root))
    with clean.lock(run_id="b"):
        (clean.upsert_air if kind == "air" else clean.upsert_water)(b, source="b")
    with clean.lock():          # the next writer's cleaning
        pass
    return clean


@pytest.fixture(scope="module")
def water_base(water_ab, tmp_path_factory):
    a, _, _ = water_ab
    base = Store(tmp_path_factory.mktemp("water_base") / "store")
    with base.lock(run_id="base"):
        base.upsert_water(a, source="base")
    return base


AIR_POINTS = ["air:mid-arrays", "air:before-switch", "revisions:mid-write", "air:after-switch"]
WATER_POINTS = ["water:mid-write", "water:before-switch"]


@pytest.fixture(scope="module")
def crashes(air_ab, air_states, water_ab, water_base, tmp_path_factory):
    """For each fault point: a copy of the base store that a child wrote B into and was killed at
    that point; and ``"clean:air"``, ``"clean:water"``: the clean runs. The children run
    concurrently, and the clean runs meanwhile (to keep the suite fast)."""
    running = {}
    for point in AIR_POINTS + WATER_POINTS:
        kind = "water" if point.startswith("water") else "air"
        base = water_base if kind == "water" else air_states[0]
        data = (water_ab if kind == "water" else air_ab)[2]
        root = shutil.copytree(base.root, tmp_path_factory.mktemp(point.replace(":", "_")) / "store")
        running[point] = (root, start_child(root, kind, data, point))
    done = {"clean:air": clean_run(air_states[0], "air", air_ab[1], tmp_path_factory.mktemp("clean") / "air"),
            "clean:water": clean_run(water_base, "water", water_ab[1], tmp_path_factory.mktemp("clean") / "water")}
    for point, (root, proc) in running.items():
        out, err = proc.communicate(timeout=120)
        done[point] = (root, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("point", AIR_POINTS)
def test_air_crash(point, air_ab, air_states, crashes):
    a, b, _ = air_ab
    _, before, before_revisions = air_states
    clean = crashes["clean:air"]
    root, returncode, out, err = crashes[point]
    hourly_dir = root / "air" / "hourly"
    assert returncode == -signal.SIGKILL, err
    assert "completed" not in out

    # the store opens (no lock needed to read) and reads back the previous state
    store = Store(root)
    after = store.read_air(DAY0, DAY1)
    if point == "air:after-switch":
        # the first month (2018-12, day 2018-12-31) was switched, the second not yet
        assert_same(after.sel(time=slice("2018-12-31T01:00", "2019-01-01T00:00")),
                    b.reindex(time=after["time"].values).sel(time=slice("2018-12-31T01:00", "2019-01-01T00:00")))
        assert_same(after.sel(time=slice("2019-01-01T01:00", None)), before.sel(time=slice("2019-01-01T01:00", None)))
        orphans = [hourly_dir / "2018-12.v1.zarr"]
    else:
        xr.testing.assert_identical(after.drop_attrs(deep=False), before.drop_attrs(deep=False))
        orphans = [hourly_dir / "2018-12.v2.zarr"] if point.startswith("air:") else \
            [root / ("revisions.parquet" + TMP_SUFFIX)]
    assert all(p.exists() for p in orphans)
    if point == "air:mid-arrays":      # killed in the middle: some pollutant arrays on disk, not all
        written = [v for v in P if (orphans[0] / v / "c" / "0" / "0").exists()]
        assert 0 < len(written) < len(P)
    revisions = store.revisions()                  # still readable
    crashed = revisions[revisions["run_id"] == "crashed"]
    if point in ("air:mid-arrays", "revisions:mid-write"):
        pd.testing.assert_frame_equal(revisions, before_revisions)
    else:   # recorded ahead of the switch: may over-report, never miss
        changed_00h = int(np.isfinite(a["pm25"].values[:, 0]).sum())   # 2019-01-01 00:00 is day 2018-12-31
        assert crashed["day"].tolist() == [DAY0] and crashed["values_changed"].tolist() == [changed_00h]
    assert (root / ".lock.json").exists()          # stale description of the dead holder

    # the lock is free; taking it removes the orphans
    with store.lock(run_id="rerun"):
        assert not any(p.exists() for p in orphans)
        assert tmp_files(root) == []
        listed = sorted(p.name for p in hourly_dir.iterdir())
        assert listed == [f"{m}{ext}" for m, v in (("2018-12", 2 if point == "air:after-switch" else 1),
                                                  ("2019-01", 1)) for ext in (".json", f".v{v}.zarr")]
        rerun = store.upsert_air(b, source="b")
    assert rerun["day"].tolist() == [DAY0, DAY1]

    xr.testing.assert_identical(store.read_air(DAY0, DAY1).drop_attrs(deep=False),
                                clean.read_air(DAY0, DAY1).drop_attrs(deep=False))
    with store.lock():
        pass
    got, want = tree(hourly_dir), tree(clean.root / "air" / "hourly")
    assert sorted(got) == sorted(want)
    assert {k: v for k, v in got.items() if ".zarr" in k} == {k: v for k, v in want.items() if ".zarr" in k}
    # every change of the clean run is recorded in the crashed store's revisions
    clean_b = clean.revisions().query("run_id == 'b'")
    seen = store.revisions().query("run_id in ['crashed', 'rerun']").groupby("day")["values_changed"].max()
    for day, n in zip(clean_b["day"], clean_b["values_changed"], strict=True):
        assert n == 0 or seen[day] == n


@pytest.mark.parametrize("point", WATER_POINTS)
def test_water_crash(point, water_ab, water_base, crashes):
    _, b, _ = water_ab
    root, returncode, _, err = crashes[point]
    assert returncode == -signal.SIGKILL, err
    day = D(2026, 7, 20)
    before = water_base.read_water(day, day)
    before_files = tree(water_base.root / "water")

    store = Store(root)
    pd.testing.assert_frame_equal(store.read_water(day, day), before)
    orphan = root / "water" / "readings" / ("2026-07.parquet" + TMP_SUFFIX)
    assert orphan.exists()
    assert tree(root / "water") == before_files | {os.path.relpath(orphan, root / "water"): orphan.read_bytes()}
    crashed = store.revisions().query("run_id == 'crashed'")
    assert crashed["day"].tolist() == [day] and int(crashed["values_changed"].iloc[0]) > 0

    with store.lock(run_id="rerun"):
        assert not orphan.exists() and tmp_files(root) == []
        rerun = store.upsert_water(b, source="b")
    assert int(rerun["values_changed"].iloc[0]) == int(crashed["values_changed"].iloc[0])

    clean = crashes["clean:water"]
    assert tree(root / "water") == tree(clean.root / "water")
    pd.testing.assert_frame_equal(store.read_water(day, day), clean.read_water(day, day))
