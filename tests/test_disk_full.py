"""A full disk (issue 12, item 8): the error names the path, no temporary is left, what was stored
before stays whole. A real tmpfs filled up, not a simulated error."""

from __future__ import annotations

import errno

import pandas as pd
import pytest

from _tinyfs import fill, tiny_filesystem
from envq.errors import describe_os_error
from envq.sources.dispatch import read_water
from envq.store import Store


@pytest.fixture(scope="module")
def july(data_dir):
    long = read_water([data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz"]).long
    return long[(long["time"] >= "2026-07-09") & (long["time"] < "2026-07-21")]


def test_store_write_on_a_full_disk_names_the_file_and_keeps_the_previous_state(tmp_path, july):
    with tiny_filesystem(tmp_path / "fs", 2048) as fs:
        store = Store(fs / "store")
        first = july[july["time"] < "2026-07-15"]
        with store.lock(run_id="a"):
            store.upsert_water(first, source="water", run_id="a")
        before = store.read_water(pd.Timestamp("2026-07-09").date(), pd.Timestamp("2026-07-20").date())
        fill(fs, leave=8 * 1024)
        with store.lock(run_id="b"), pytest.raises(OSError) as info:
            store.upsert_water(july, source="water", run_id="b")
        exc = info.value
        assert exc.errno in (errno.ENOSPC, errno.EDQUOT) and str(fs / "store") in str(exc.filename)
        assert describe_os_error(exc).endswith("the disk is full (no space left on device); free some space and run again")
        (fs / "filler.bin").unlink()
        assert not [p for p in (fs / "store").rglob("*") if p.name.endswith(".envq.tmp")]
        after = Store(fs / "store", create=False).read_water(pd.Timestamp("2026-07-09").date(),
                                                              pd.Timestamp("2026-07-20").date())
        pd.testing.assert_frame_equal(after, before)
