"""The maps' output folder (issue 12, items 8 and 9): a non-empty folder envq did not create is
refused (an index.html of someone else's was overwritten, pages a foreign maps.json listed were
deleted); a full disk names the file, leaves no temporary and the previous page set whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from _maps_store import AIR_PERIOD, WATER_PERIOD
from _tinyfs import fill, tiny_filesystem
from envq.cli import main


@pytest.fixture(scope="module")
def rendered(maps_site):
    return maps_site


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("foreign", [
    {"index.html": b"<h1>the bureau's own portal</h1>"},
    {"maps.json": json.dumps({"pages": {"x": {"path": "report.html"}}}).encode(), "report.html": b"<p>keep</p>"},
    {"notes.txt": b"anything"},
])
def test_a_folder_envq_did_not_create_is_refused(rendered, tmp_path, capsys, foreign):
    store, _ = rendered
    out = tmp_path / "www"
    out.mkdir()
    for name, data in foreign.items():
        (out / name).write_bytes(data)
    code = main(["maps", "--period", AIR_PERIOD, "--water-period", WATER_PERIOD, "--store", str(store.root),
                 "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"{out} is a folder envq did not create" in err and "give an empty or new folder" in err
    assert _files(out) == foreign  # untouched


def test_envq_rewrites_its_own_folder_and_an_empty_one(rendered, tmp_path):
    from maps.render import MANIFEST_FORMAT, render_maps

    store, _ = rendered
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new"):
        render_maps(store, out, period=AIR_PERIOD, water_period=WATER_PERIOD)
        assert json.loads((out / "maps.json").read_text(encoding="utf-8"))["format"] == MANIFEST_FORMAT
        render_maps(store, out, period=AIR_PERIOD, water_period=WATER_PERIOD)  # its own: rewritten
    manifest = json.loads((tmp_path / "new" / "maps.json").read_text(encoding="utf-8"))
    del manifest["format"]  # a folder written before the format was recorded is still envq's
    (tmp_path / "new" / "maps.json").write_text(json.dumps(manifest), encoding="utf-8")
    render_maps(store, tmp_path / "new", period=AIR_PERIOD, water_period=WATER_PERIOD)
    with pytest.raises(FileExistsError):  # a file where the folder should be: the OS error names it
        (tmp_path / "file").write_text("x")
        render_maps(store, tmp_path / "file", period=AIR_PERIOD, water_period=WATER_PERIOD)


def test_orphan_temporaries_of_a_dead_writer_are_removed(rendered, tmp_path):
    from maps.render import render_maps

    store, _ = rendered
    out = tmp_path / "m"
    render_maps(store, out, period=AIR_PERIOD, water_period=WATER_PERIOD)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    orphan = out / f".water.html.tmp{dead}"
    orphan.write_text("half a page")
    live = out / f".water.html.tmp{os.getppid()}"  # a writer still running: left alone
    live.write_text("being written")
    render_maps(store, out, period=AIR_PERIOD, water_period=WATER_PERIOD)
    assert not orphan.exists() and live.exists()


def test_a_full_disk_names_the_page_and_leaves_the_previous_set_whole(rendered, tmp_path, capsys):
    store, _ = rendered
    size = sum(len(b) for b in _files(rendered[1].index.parent).values())
    with tiny_filesystem(tmp_path / "fs", (3 * size) // 1024 + 256) as fs:
        out = fs / "maps"
        argv = ["maps", "--period", AIR_PERIOD, "--water-period", WATER_PERIOD, "--store", str(store.root),
                "--output", str(out)]
        assert main(argv) == 0
        capsys.readouterr()
        before = _files(out)
        fill(fs, leave=size // 2)  # room for half the new pages
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and f"envq: {out}/" in err and "the disk is full (no space left on device)" in err
        (fs / "filler.bin").unlink()
        assert _files(out) == before  # the previous set, whole; no temporary
