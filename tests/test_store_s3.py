"""The store on S3-compatible object storage: the same store and the same guarantees as a local
folder (issue 16), against a real S3 API on 127.0.0.1 (moto in server mode).

- the same data gives the same reads, results and revisions as a local store, and a re-run
  changes nothing;
- one writer at a time: a lease taken by a conditional create (``If-None-Match``), of racing
  writers exactly one wins, a writer whose lease was taken over writes nothing more;
- a writer killed (SIGKILL, a real subprocess) in the middle of a commit leaves the previous
  state readable; the next writer takes over once the dead writer's lease expired and removes
  what it left half-written;
- a backfill on a Dask LocalCluster whose worker processes read the store from the bucket gives
  the results of a local store, byte for byte.
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.pipeline import read_air
from envq.store import Store, StoreError, StoreLockedError
from envq.store.objects import S3Objects
from tests._s3 import child_env, new_bucket, s3_server

pytest.importorskip("moto")


@pytest.fixture(scope="module")
def s3():
    with s3_server() as env:
        yield env


@pytest.fixture()
def s3env(s3, monkeypatch):
    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    return s3


@pytest.fixture()
def url(s3env):
    return f"s3://{new_bucket(s3env)}/stores/hunan"


@pytest.fixture(scope="module")
def days(data_dir):
    """The first five natural days of 2019 and the last of January (82 real Hunan stations)."""
    h = read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")
    return h.sel(time=slice("2019-01-01T01:00", "2019-01-06T00:00")), h.sel(time=slice("2019-01-31T01:00", "2019-02-01T00:00"))


def _keys(url: str, prefix: str = "") -> list[str]:
    bucket, _, p = url[len("s3://"):].partition("/")
    return S3Objects(bucket, p).list(prefix)


def test_same_store_as_a_local_folder(url, tmp_path, days):
    first, last = days
    results = pd.DataFrame({"name": ["长沙市", "株洲市"], "good_day_ratio": [80.1, 83.0]})
    stores = {"s3": Store(url), "local": Store(tmp_path / "local")}
    revs = {}
    for kind, store in stores.items():
        with store.lock(run_id="r1"):
            revs[kind] = pd.concat([store.upsert_air(first, source="air"), store.upsert_air(last, source="air")])
            store.write_result("air_rates", "2019-01", results)
            store.write_report("summary", "# 湖南省 83.0%\n")
            store.keep_raw("air", pd.Timestamp("2019-01-02").date(), "china_sites_20190102.csv", b"date,hour\n")
    s3, local = stores["s3"], stores["local"]
    assert repr(s3).startswith("Store('s3://")
    a, b = s3.read_air(pd.Timestamp("2019-01-01").date(), pd.Timestamp("2019-01-31").date()), \
        local.read_air(pd.Timestamp("2019-01-01").date(), pd.Timestamp("2019-01-31").date())
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert int(a["pm25"].notnull().sum()) > 10_000
    pd.testing.assert_frame_equal(revs["s3"].drop(columns="recorded"), revs["local"].drop(columns="recorded"))
    assert s3.air_days() == local.air_days() and len(s3.air_days()) == 6
    pd.testing.assert_frame_equal(s3.read_result("air_rates", "2019-01"), results)
    pd.testing.assert_frame_equal(s3.read_result("air_rates"), local.read_result("air_rates"))
    assert s3.read_report("summary") == "# 湖南省 83.0%\n"
    # a lazy read: dask-backed, a natural day per chunk, the same values
    lazy = s3.read_air(pd.Timestamp("2019-01-02").date(), pd.Timestamp("2019-01-03").date(), chunks={})
    assert lazy["pm25"].chunks is not None
    xr.testing.assert_identical(lazy.compute().drop_attrs(),
                                local.read_air(pd.Timestamp("2019-01-02").date(), pd.Timestamp("2019-01-03").date()).drop_attrs())
    # the re-run changes nothing: no new version, the same revisions counted as unchanged
    before = _keys(url)
    with s3.lock(run_id="r2"):
        rev = s3.upsert_air(first, source="air")
    after = _keys(url)   # nothing new; the superseded v1 removed by the writer taking the lock
    assert set(after) <= set(before) and set(before) - set(after) == {k for k in before if ".v1.zarr/" in k}
    assert (rev["values_changed"] == 0).all() and (rev["values_new"] == 0).all() and rev["values_unchanged"].sum() > 0
    assert not [k for k in _keys(url, "air/hourly/") if ".v3.zarr" in k]   # v1, v2: the two upserts of January
    # a store's checks hold there too
    with pytest.raises(StoreError, match="writer lock"):
        s3.write_result("air_rates", "2019-02", results)
    with pytest.raises(StoreError, match="no envq store"):
        Store(url.rsplit("/", 1)[0] + "/nothing-here", create=False)


def test_water_on_s3(url, tmp_path):
    long = pd.DataFrame({"section": ["S1", "S1", "S2"], "time": pd.to_datetime(["2026-07-20 08:00"] * 3),
                         "item": ["ph", "do", "ph"], "value": [7.1, 6.5, 7.4], "below_detection": [False] * 3,
                         "source_kind": ["auto"] * 3, "file": ["f.csv"] * 3, "row": [2, 3, 4]})
    day = pd.Timestamp("2026-07-20").date()
    got = {}
    for kind, store in (("s3", Store(url)), ("local", Store(tmp_path / "local"))):
        with store.lock():
            store.upsert_water(long, source="water")
        got[kind] = store.read_water(day, day)
        assert [str(d) for d in store.water_days()] == ["2026-07-20"]
    # the same rows as a local store, in the same order
    pd.testing.assert_frame_equal(got["s3"], got["local"])
    assert sorted(zip(got["s3"]["section"], got["s3"]["item"], got["s3"]["value"])) == \
        [("S1", "do", 6.5), ("S1", "ph", 7.1), ("S2", "ph", 7.4)]


def test_one_writer_at_a_time(url):
    a, b = Store(url), Store(url)
    with a.lock(run_id="run-a"):
        with pytest.raises(StoreLockedError) as err:
            with b.lock(run_id="run-b"):
                pass
        assert err.value.run_id == "run-a" and "run-a" in str(err.value)
    with b.lock(run_id="run-b"):   # released: the next writer gets it
        pass
    # writers racing for the lease: exactly one wins (the winner holds it until every other racer
    # has been refused, so a racer slowed down by a loaded machine cannot come after its release)
    stores = [Store(url) for _ in range(6)]
    won, lost, barrier = [], [], threading.Barrier(len(stores))
    all_refused = threading.Condition()

    def race(s, i):
        barrier.wait()
        try:
            with s.lock(run_id=f"racer-{i}"):
                with all_refused:
                    won.append(i)
                    all_refused.notify_all()
                    all_refused.wait_for(lambda: len(won) + len(lost) == len(stores), timeout=120)
        except StoreLockedError:
            with all_refused:
                lost.append(i)
                all_refused.notify_all()

    threads = [threading.Thread(target=race, args=(s, i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == len(stores) - 1


def test_a_writer_whose_lease_was_taken_over_writes_nothing_more(url, monkeypatch):
    monkeypatch.setenv("ENVQ_STORE_LEASE_S", "1")
    slow, other = Store(url), Store(url)
    with slow.lock(run_id="paused"):
        slow.lease._stop.set()          # the writer is paused: it no longer renews its lease
        slow.lease._renewer.join()
        time.sleep(1.3)                   # its lease expires
        with other.lock(run_id="successor", wait_s=5):
            with pytest.raises(StoreError, match="lost the store's lease"):
                slow.write_report("summary", "from a writer that lost its lease")
            other.write_report("summary", "successor")
    assert Store(url).read_report("summary") == "successor"


def test_a_writer_whose_lease_was_taken_over_removes_nothing(url, days, monkeypatch):
    """Clean-up is a write too: a paused writer whose lease was taken over cannot remove a tree
    (here the version the successor's pointer names), or readers would find a pointer to nothing."""
    first, _ = days
    store = Store(url)
    with store.lock(run_id="first"):
        store.upsert_air(first, source="air")
    live = sorted({k.split("/")[2] for k in _keys(url, "air/hourly/") if ".zarr/" in k})
    assert live == ["2019-01.v1.zarr"]
    monkeypatch.setenv("ENVQ_STORE_LEASE_S", "1")
    slow, other = Store(url), Store(url)
    with slow.lock(run_id="paused"):
        slow.lease._stop.set()          # paused: no renewal
        slow.lease._renewer.join()
        time.sleep(1.3)                   # its lease expires
        with other.lock(run_id="successor", wait_s=5):
            with pytest.raises(StoreError, match="lost the store's lease"):
                slow.backend.remove_tree([f"air/hourly/{live[0]}"])
    assert [k for k in _keys(url, "air/hourly/") if k.startswith(f"air/hourly/{live[0]}/")]
    got = Store(url).read_air(pd.Timestamp("2019-01-01").date(), pd.Timestamp("2019-01-05").date())
    assert int(got["pm25"].notnull().sum()) > 1_000


KILLED_WRITER = """
import pickle, sys
from envq.store import Store
data = pickle.load(open(sys.argv[2], "rb"))
store = Store(sys.argv[1])
with store.lock(run_id="killed-writer"):
    store.upsert_air(data, source="air")
print("not killed")
"""


@pytest.mark.parametrize("point", ["air:mid-arrays", "air:before-switch"])
def test_a_writer_killed_mid_commit(url, s3env, days, tmp_path, point):
    first, _ = days
    store = Store(url)
    with store.lock(run_id="first"):
        store.upsert_air(first, source="air")
    a, b = pd.Timestamp("2019-01-01").date(), pd.Timestamp("2019-01-05").date()
    before = store.read_air(a, b)
    changed = first.copy(deep=True)
    changed["pm25"] = changed["pm25"] + 1.0
    path = tmp_path / "changed.pkl"
    path.write_bytes(pickle.dumps(changed))
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, url, str(path)], capture_output=True, text=True,
                          env=child_env(s3env, ENVQ_STORE_FAULT=point, ENVQ_STORE_LEASE_S=4), timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]   # SIGKILL, mid-commit
    v2 = [k for k in _keys(url, "air/hourly/") if "2019-01.v2.zarr/" in k]
    assert v2   # the dead writer left a half-written (or unswitched) version
    # readers see the previous state, whole
    xr.testing.assert_identical(Store(url).read_air(a, b), before)
    # the dead writer's lease is still running: the next writer is told who holds it
    with pytest.raises(StoreLockedError) as err:
        with Store(url).lock(run_id="next"):
            pass
    assert err.value.run_id == "killed-writer"
    # once it expired, the next writer takes over, cleans the half-written version and re-runs
    nxt = Store(url)
    with nxt.lock(run_id="next", wait_s=30):
        assert nxt.lease.took_over["run_id"] == "killed-writer"
        assert [k for k in _keys(url, "air/hourly/") if "2019-01.v2.zarr/" in k] == []
        nxt.upsert_air(changed, source="air")
    after = Store(url).read_air(a, b)
    np.testing.assert_array_equal(after["pm25"].values, before["pm25"].values + 1.0)


def test_backfill_on_a_dask_local_cluster_reading_from_s3(s3env, tmp_path):
    """The flow on a LocalCluster of 2 worker processes: the compute tasks open the store in
    the bucket themselves (the same environment); the results equal a local store's, byte for byte."""
    pytest.importorskip("prefect.testing.utilities")
    from prefect.testing.utilities import prefect_test_harness

    from flows.cli import dask_runner
    from flows.pipeline import backfill

    url = f"s3://{new_bucket(s3env)}/stores/cluster"
    kw = dict(start="2019-01-01", end="2019-01-31", parts=["air"], maps=False, return_state=True)
    with prefect_test_harness(server_startup_timeout=180):
        plain = backfill(store_root=str(tmp_path / "plain"), **kw)
        runner = dask_runner("local")
        runner.cluster_kwargs.update(n_workers=2, processes=True)
        on_s3 = backfill.with_options(task_runner=runner)(store_root=url, dask_chunks=True, **kw)
    assert plain.is_completed() and on_s3.is_completed(), on_s3.message
    local = {p.relative_to(tmp_path / "plain").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((tmp_path / "plain" / "results").rglob("*.parquet"))}
    bucket, _, prefix = url[len("s3://"):].partition("/")
    objs = S3Objects(bucket, prefix)
    remote = {k: hashlib.sha256(objs.get(k)).hexdigest() for k in objs.list("results/")}
    assert len(local) >= 5 and remote == local


@pytest.mark.parametrize("where", ["local", "s3"])
def test_the_same_input_again_is_recognised_without_reading_the_cube(where, tmp_path, days, request, monkeypatch):
    """An upsert of the very input that made a month's version is skipped by its content hash
    (issue 16: nothing decompressed); its revision rows are those a full comparison gives."""
    from envq.store import air as store_air

    root = request.getfixturevalue("url") if where == "s3" else tmp_path / "store"
    first, last = days
    other = Store(tmp_path / "other")   # compared in full: its pointer holds the hash of another input
    with other.lock():
        other.upsert_air(first, source="air")
        other.upsert_air(last, source="air")
        full = other.upsert_air(first, source="air")
    store = Store(root)
    with store.lock():
        store.upsert_air(first, source="air")   # the pointer records this input's hash
    reads = []
    monkeypatch.setattr(store_air, "read_cube", lambda *a, **k: reads.append(a) or pytest.fail("cube read"))
    with store.lock():
        skipped = store.upsert_air(first, source="air")
    assert reads == []
    cols = ["day", "stations", "values_new", "values_changed", "values_removed", "values_unchanged"]
    pd.testing.assert_frame_equal(skipped[cols], full[cols])
    assert full["values_unchanged"].sum() > 10_000 and (full["values_changed"] == 0).all()
    # a changed value is not skipped
    monkeypatch.undo()
    changed = first.copy(deep=True)
    changed["so2"][0, 5] = 999.0
    with store.lock():
        rev = store.upsert_air(changed, source="air")
    assert rev["values_changed"].sum() == 1


def test_the_bulletin_reads_which_periods_are_held_through_the_store(url):
    """envq report on a store in a bucket: the periods held come from the store (not a glob of a
    local results/ folder, which a bucket does not have)."""
    from envq.bulletin.results import StoredResults
    from envq.periods import parse_period

    store = Store(url)
    with store.lock():
        store.write_result("air_rates", "2019-08", pd.DataFrame({"name": ["湖南省"], "good_day_ratio": [90.3]}))
        store.write_result("air_rates", "2019-01-01..2019-08-31", pd.DataFrame({"name": ["湖南省"], "good_day_ratio": [88.1]}))
    results = StoredResults(store)
    assert results.held("air_rates") == ["2019-01-01..2019-08-31", "2019-08"] and results.held("water_rates") == []
    assert results.years("air_rates") == {2019}
    assert results.missing_reason("air_rates", parse_period("2018-08"), part="air").startswith("存储中无2018年空气数据")
    assert results.missing_reason("air_rates", parse_period("2019-07"), part="air").startswith("存储中无2019-07的空气结果")
