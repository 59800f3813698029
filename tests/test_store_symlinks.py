"""Folders of the store may be symbolic links (raw payloads or results on a bigger disk): envq
follows them for reads, writes and the clean-up of a crashed writer's temporaries, and a link loop
does not hang it (issue 12, item 9: documented in docs/pipeline.md)."""

import datetime as dt
import os

import pandas as pd

from envq.store import Store


def test_linked_folders_are_followed(tmp_path):
    store = Store(tmp_path / "store")
    elsewhere = tmp_path / "big-disk"
    for name in ("raw", "results"):
        (elsewhere / name).mkdir(parents=True)
        os.symlink(elsewhere / name, tmp_path / "store" / name)
    os.symlink(tmp_path / "store", tmp_path / "store" / "loop")  # a loop must not hang the walks
    day = dt.date(2026, 7, 20)
    table = pd.DataFrame({"period": ["2026-07"], "name": ["湖南省"], "value": [95.1]})
    with store.lock(run_id="a"):
        kept = store.keep_raw("water", day, "w.csv", b"section,time\n")
        store.write_results({"water_rates": table}, 2026)
    assert kept.resolve().is_relative_to(elsewhere) and (elsewhere / "raw/water/2026/2026-07-20/w.csv").is_file()
    assert any((elsewhere / "results").rglob("*.parquet"))
    orphan = elsewhere / "results" / "left-by-a-crash.envq.tmp"
    orphan.write_bytes(b"half")
    with Store(tmp_path / "store", create=False).lock(run_id="b"):  # the next writer cleans up
        pass
    assert not orphan.exists()
    got = Store(tmp_path / "store", create=False).read_result("water_rates")
    assert got["value"].tolist() == [95.1]
