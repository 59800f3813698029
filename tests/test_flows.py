"""The Prefect flows on Prefect's real local API (prefect_test_harness) and the bundled real data."""

import hashlib
import socket

import pandas as pd
import pytest

from envq.air.pipeline import city_days_from_hourly, read_air
from envq.air.rates import good_day_rates
from envq.cli import main
from envq.store import Store

prefect_testing = pytest.importorskip("prefect.testing.utilities")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def harness():
    with prefect_testing.prefect_test_harness(server_startup_timeout=180):  # slow under a loaded CI
        yield


@pytest.fixture(scope="module")
def hunan_year(data_dir):
    return read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")


def _direct_rates(hourly, first_label, last_label, period):
    days, _, _ = city_days_from_hourly(hourly.sel(time=slice(first_label, last_label)))
    return good_day_rates(days, period, by="both").set_index("name")


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_nightly_pulls_the_repull_window_and_publishes(tmp_path, hunan_year):
    from flows.pipeline import nightly

    state = nightly(date="2019-07-15", parts=["air"], store_root=str(tmp_path), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.parts_ok == ["air"] and not summary.parts_failed
    store = Store(tmp_path, create=False)
    # the three days of the re-pull window (repull_days = 3), hour 24 of 07-15 included
    assert [str(d) for d in store.air_days()] == ["2019-07-13", "2019-07-14", "2019-07-15"]
    got = store.read_result("air_rates", "2019-07").set_index("name")
    want = _direct_rates(hunan_year, "2019-07-13T01:00", "2019-07-16T00:00", "2019-07")
    pd.testing.assert_series_equal(got["good_day_ratio"], want["good_day_ratio"].loc[got.index], check_dtype=False)
    cities = got[got["scope"] == "city"]
    assert len(cities) == 14 and (cities["valid_days"] == 3).all()
    assert got.loc["湖南省", "valid_days"] == 42 and got.loc["湖南省", "through"] == "2019-07-15"
    assert "湖南省 province" in store.read_report("summary")
    assert "1853A" in store.read_report("health")  # 1853A never reports in the 2019 extract: listed missing
    assert set(store.revisions()["day"].astype(str)) == {"2019-07-13", "2019-07-14", "2019-07-15"}
    # then the maps of the year to date, the stations of the night's day first
    assert summary.maps_index == str(tmp_path / "maps" / "index.html")
    import json

    manifest = json.loads((tmp_path / "maps" / "maps.json").read_text(encoding="utf-8"))
    assert (manifest["period"], manifest["water_period"], manifest["day"]) == ("2019", "2019-07", "2019-07-15")
    assert set(manifest["pages"]) == {"air"}  # no water stored: noted on the index, not drawn
    assert "no results for 2019-07" in (tmp_path / "maps" / "index.html").read_text(encoding="utf-8")


def test_backfill_twice_gives_identical_results_and_no_revisions(tmp_path, hunan_year, data_dir):
    from envq.water.cli import load_inputs
    from envq.water.groups import evaluate
    from flows.pipeline import backfill

    for _ in range(2):
        a = backfill(start="2019-01-01", end="2019-02-28", parts=["air"], store_root=str(tmp_path), return_state=True)
        w = backfill(start="2026-07-09", end="2026-07-31", parts=["water"], store_root=str(tmp_path),
                     return_state=True)
        assert a.is_completed() and w.is_completed(), (a.message, w.message)
        if _ == 0:
            first = _hashes(tmp_path / "results")
            n_rev = len(Store(tmp_path, create=False).revisions())
    assert _hashes(tmp_path / "results") == first
    rev = Store(tmp_path, create=False).revisions()
    second = rev.iloc[n_rev:]
    assert len(second) and (second[["values_new", "values_changed", "values_removed"]] == 0).all().all()
    assert len(first) >= 10  # months, quarter, year; air and water; city days; basins; screened
    store = Store(tmp_path, create=False)
    got = store.read_result("air_rates", "2019-01").set_index("name")
    want = _direct_rates(hunan_year, "2019-01-01T01:00", "2019-03-01T00:00", "2019-01")
    assert got.loc["长沙市", "valid_days"] == 31
    pd.testing.assert_series_equal(got["good_day_ratio"], want["good_day_ratio"].loc[got.index], check_dtype=False)
    wr = store.read_result("water_rates", "2026-07")
    prov = wr[wr["group"] == "province"].iloc[0]
    long = load_inputs([data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz"])[0]
    direct = evaluate(long[long["time"] < "2026-08-01"], "2026-07", by="province").rates.iloc[0]
    assert prov["sections"] == direct["sections"] == 61
    assert prov["i_iii_share"] == pytest.approx(direct["i_iii_share"]) == pytest.approx(100 * 58 / 61)
    basins = store.read_result("water_basin_rates", "2026-07").set_index("name")
    assert basins.loc["湘江", "sections"] == 20
    # the years to date beside the months, by basin too (issue 13: the bulletins' 1-M月累计): air's
    # from the compute task's own station daily values, equal to what geo.areas computes for them
    import datetime as dt

    from geo.areas import air_rates_by_area

    ytd = "2019-01-01..2019-02-28"
    got_b = store.read_result("air_basin_rates", ytd)
    want_b = air_rates_by_area(store.read_air(dt.date(2019, 1, 1), dt.date(2019, 2, 28)), "basins", ytd, scope="basin")
    assert len(want_b) and (got_b["period"] == ytd).all()
    pd.testing.assert_frame_equal(got_b, want_b, check_dtype=False)
    wytd = store.read_result("water_basin_rates", "2026-01-01..2026-07-31").set_index("name")
    assert wytd.loc["湘江", "sections"] == 20 and wytd.loc["湘江", "i_iii_share"] == basins.loc["湘江", "i_iii_share"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failing_source_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "envq.toml"
    conf.write_text(f'[sources.air]\nkind = "http"\nbase_url = "http://127.0.0.1:{_closed_port()}/"\n'
                    'template = "china_sites_{date:%Y%m%d}.csv"\ntimeout_s = 2\nretries = 1\n'
                    'retry_delays_s = [0]\n', encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(conf))
    code = main(["run", "--date", "2026-07-20", "--store", str(tmp_path / "store")])
    out, err = capsys.readouterr()
    assert code == 3  # some parts failed, the others were published
    assert "air: FetchError" in err and "127.0.0.1" in err
    store = Store(tmp_path / "store", create=False)
    assert "湖南省" in set(store.read_result("water_rates", "2026-07")["name"])
    assert "| failed | air |" in store.read_report("health")
    assert "Ⅰ~Ⅲ类水质断面比例" in out


def test_artifacts_are_published(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.pipeline import backfill

    state = backfill(start="2026-07-09", end="2026-07-12", parts=["water"], store_root=str(tmp_path),
                     return_state=True)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    by_key = {a.key: a for a in arts}
    assert {"envq-summary", "envq-rates", "envq-health", "envq-maps"} <= set(by_key)
    import json

    index = tmp_path / "maps" / "index.html"
    assert by_key["envq-maps"].type == "markdown" and index.as_uri() in by_key["envq-maps"].data
    assert '<div class="big">94.7%</div>' in index.read_text(encoding="utf-8")

    rows = json.loads(by_key["envq-rates"].data)
    assert by_key["envq-rates"].type == "table"
    prov = [r for r in rows if r["name"] == "湖南省"]
    assert prov == [{"kind": "water", "scope": "province", "name": "湖南省", "period": "2026-07",
                     "value_pct": 94.7, "count": "54/57",  # 2026-07-09..12: 57 sections reported
                     "target": 95.0, "target_met": False}]  # the engine's verdict, as stored
    assert "Ⅰ~Ⅲ类水质断面比例" in by_key["envq-summary"].data


def test_a_locked_store_exits_4(tmp_path, capsys):
    store = Store(tmp_path / "store")
    with store.lock(run_id="someone-else"):
        code = main(["run", "--date", "2026-07-20", "--parts", "water", "--store", str(tmp_path / "store"),
                     "--wait", "0"])  # runs queue for the store (flows.queue); 0: fail at once
    assert code == 4
    assert "someone-else" in capsys.readouterr().err


def test_backfill_on_a_dask_local_cluster_equals_the_default_path(tmp_path):
    from flows.cli import dask_runner
    from flows.pipeline import backfill

    runner = dask_runner("local")
    runner.cluster_kwargs.update(n_workers=2, processes=True)
    kw = dict(start="2019-01-01", end="2019-01-31", parts=["air"], return_state=True)
    plain = backfill(store_root=str(tmp_path / "plain"), **kw)
    on_dask = backfill.with_options(task_runner=runner)(store_root=str(tmp_path / "dask"), dask_chunks=True, **kw)
    assert plain.is_completed() and on_dask.is_completed(), on_dask.message
    assert _hashes(tmp_path / "plain" / "results") == _hashes(tmp_path / "dask" / "results")


def test_http_source_is_retried_and_its_payload_kept(tmp_path, monkeypatch, data_dir):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = (data_dir / "water/National_Water_20260720.csv.gz").read_bytes()
    hits = []

    class Flaky(BaseHTTPRequestHandler):  # the first request of each path fails, then it serves the file
        def do_GET(self):
            hits.append(self.path)
            if self.path != "/National_Water_20260720.csv.gz":
                self.send_error(404)
            elif hits.count(self.path) == 1:
                self.send_error(503)
            else:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conf = tmp_path / "envq.toml"
        conf.write_text(f'[sources.water]\nkind = "http"\nbase_url = "http://127.0.0.1:{server.server_port}/"\n'
                        'template = "National_Water_{date:%Y%m%d}.csv.gz"\ntimeout_s = 5\nretries = 2\n'
                        'retry_delays_s = [0]\nrepull_days = 1\n', encoding="utf-8")
        monkeypatch.setenv("ENVQ_CONFIG", str(conf))
        from flows.pipeline import nightly

        state = nightly(date="2026-07-20", parts=["water"], store_root=str(tmp_path / "store"), return_state=True)
    finally:
        server.shutdown()
        server.server_close()
    assert state.is_completed(), state.message
    assert hits.count("/National_Water_20260720.csv.gz") == 2  # failed once, retried, served
    store = Store(tmp_path / "store", create=False)
    kept = tmp_path / "store/raw/water/2026/2026-07-20/National_Water_20260720.csv.gz"
    assert kept.read_bytes() == body
    assert store.water_days() == [pd.Timestamp("2026-07-20").date()]


def test_a_bad_file_is_named_and_not_retried(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "china_sites_20190715.csv").write_text("date,hour,type,1001A\n20190715,1,PM2.5,abc\n", encoding="utf-8")
    conf = tmp_path / "envq.toml"
    conf.write_text('[sources.air]\nkind = "local"\npath = "src"\npattern = "*.csv"\nretries = 3\n'
                    'retry_delays_s = [60]\n', encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(conf))
    code = main(["run", "--date", "2019-07-15", "--parts", "air", "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 1  # the only part failed
    assert "china_sites_20190715.csv: row 2, field '1001A': value 'abc' is not a number" in err
    assert Store(tmp_path / "store", create=False).air_days() == []  # nothing stored


def test_a_failing_map_render_leaves_the_results_published(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the maps' folder should be", encoding="utf-8")
    code = main(["run", "--date", "2026-07-20", "--parts", "water", "--store", str(tmp_path / "store"),
                 "--maps-output", str(blocker)])
    _, err = capsys.readouterr()
    assert code == 3  # the maps failed; the water results were published
    assert "maps: FileExistsError" in err and "not-a-folder" in err
    store = Store(tmp_path / "store", create=False)
    assert "湖南省" in set(store.read_result("water_rates", "2026-07")["name"])
    assert "| failed | maps |" in store.read_report("health")
    assert main(["run", "--date", "2026-07-20", "--parts", "water", "--store", str(tmp_path / "s2"), "--no-maps"]) == 0
    assert not (tmp_path / "s2" / "maps").exists()


@pytest.mark.parametrize("toml,says", [
    ('[maps]\ntiles = "google"\n', "tiles must be one of"),
    ('[sources.water]\nkind = "ftp"\n', "sources.water"),
    ('[sources\nkind = 1\n', "is not valid TOML"),
    ('[reports]\nformats = "docx"\n', "reports.formats"),
    ('[reports]\noutput = 5\n', "reports.output"),
])
def test_a_bad_configuration_is_a_usage_error_before_anything_runs(tmp_path, monkeypatch, capsys, toml, says):
    conf = tmp_path / "envq.toml"
    conf.write_text(toml, encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(conf))
    code = main(["run", "--date", "2026-07-20", "--parts", "water", "--store", str(tmp_path / "store")])
    _, err = capsys.readouterr()
    assert code == 2 and "envq: bad configuration:" in err and says in err, err
    assert not (tmp_path / "store").exists()  # nothing started, nothing written


def _artifacts(state) -> dict:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    return {a.key: a for a in arts}


def test_nightly_publishes_the_bulletins_and_keeps_each_period(tmp_path):
    """The first run of August publishes the month to date and the final bulletin of July (issue
    13); the next night only the month to date. Their files and the maps are kept per period, and
    rendering a period again replaces only that period."""
    import json

    from openpyxl import load_workbook

    from flows.pipeline import nightly
    from maps.render import render_maps

    root, maps_dir, reports = tmp_path / "store", tmp_path / "maps", tmp_path / "reports"
    first = nightly(date="2026-08-01", parts=["water"], store_root=str(root), maps_output=str(maps_dir),
                    reports_output=str(reports), return_state=True)
    assert first.is_completed(), first.message
    arts = _artifacts(first)
    assert {"envq-bulletin", "envq-bulletin-final"} <= set(arts)
    assert arts["envq-bulletin"].type == "markdown" and arts["envq-bulletin-final"].type == "markdown"
    assert "2026年8月" in arts["envq-bulletin"].data and "截至8月1日" in arts["envq-bulletin"].data
    assert "2026年7月" in arts["envq-bulletin-final"].data and "水系" in arts["envq-bulletin-final"].data
    store = Store(root, create=False)
    # the figures are the stored ones: July (07-30..31) in the final bulletin, August 1 in the other
    jul = store.read_result("water_rates", "2026-07")
    prov = float(jul[jul["group"] == "province"]["i_iii_share"].iloc[0])
    assert f"{prov:.1f}" in store.read_report("bulletin-2026-07")
    assert store.read_report("bulletin") == arts["envq-bulletin"].data
    # the files, one folder per period
    summary = first.result()
    assert sorted(summary.reports) == [str(reports / "2026-07"), str(reports / "2026-08")]
    for period in ("2026-07", "2026-08"):
        folder = reports / period
        assert {"bulletin.xlsx", "bulletin.html", "bulletin.md"} <= {p.name for p in folder.iterdir()}
        assert load_workbook(folder / "bulletin.xlsx").sheetnames[0] == "水系水质"
    # the maps: the latest at the top, each period in its folder, the index listing 往期 with the bulletins
    assert (maps_dir / "2026-08" / "water.html").is_file()
    index = (maps_dir / "index.html").read_text(encoding="utf-8")
    assert "往期" in index and 'href="2026-08/water.html"' in index
    assert 'href="../reports/2026-08/bulletin.html"' in index and 'href="../reports/2026-07/bulletin.html"' in index

    second = nightly(date="2026-08-02", parts=["water"], store_root=str(root), maps_output=str(maps_dir),
                     reports_output=str(reports), return_state=True)
    assert second.is_completed(), second.message
    arts = _artifacts(second)
    assert "envq-bulletin" in arts and "envq-bulletin-final" not in arts  # July was published the night before
    assert "截至8月2日" in arts["envq-bulletin"].data

    # July's maps rendered again: a folder of its own; August's pages are left as they were
    aug_page = (maps_dir / "2026-08" / "water.html").read_bytes()
    render_maps(Store(root, create=False), maps_dir, period="2026", water_period="2026-07", reports=reports)
    assert (maps_dir / "2026-07" / "water.html").is_file()
    assert (maps_dir / "2026-08" / "water.html").read_bytes() == aug_page
    july_page = (maps_dir / "2026-07" / "water.html").read_text(encoding="utf-8")
    assert '<a class="envq-home" href="../index.html">' in july_page  # home: the top index
    manifest = json.loads((maps_dir / "maps.json").read_text(encoding="utf-8"))
    assert set(manifest["history"]) == {"2026-07", "2026-08"}
    index = (maps_dir / "index.html").read_text(encoding="utf-8")
    assert index.index('href="2026-08/water.html"') < index.index('href="2026-07/water.html"')  # latest first
    # a period's reach page no longer rendered goes with that period's render only
    stale = maps_dir / "2026-07" / "reaches" / "gone.html"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("old", encoding="utf-8")
    manifest["history"]["2026-07"].setdefault("reaches", []).append("2026-07/reaches/gone.html")
    manifest["history"]["2026-08"].setdefault("reaches", []).append("2026-08/reaches/kept.html")
    (maps_dir / "2026-08" / "reaches").mkdir(parents=True, exist_ok=True)
    (maps_dir / "2026-08" / "reaches" / "kept.html").write_text("old", encoding="utf-8")
    (maps_dir / "maps.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    render_maps(Store(root, create=False), maps_dir, period="2026", water_period="2026-07", reports=reports)
    assert not stale.exists() and (maps_dir / "2026-08" / "reaches" / "kept.html").exists()


def _pdf_pages(path) -> int:
    """Pages of a PDF Chromium printed (its page objects; the page tree's /Count agrees)."""
    import re

    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert str(pages).encode() in re.findall(rb"/Count\s+(\d+)", data)
    return pages


def _first_page_ink(pdf, tmp) -> float:
    """Share of the first page's pixels that are not white, the page rendered back by poppler's
    pdftoppm (installed by ``make test``: .ci/browser-deps) as an 8-bit grey PGM at 40 dpi."""
    import subprocess

    import numpy as np

    root = tmp / pdf.stem
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-singlefile", "-r", "40", "-gray", str(pdf), str(root)],
                   check=True, capture_output=True)
    data = root.with_suffix(".pgm").read_bytes()
    magic, w, h, maxval, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and maxval == b"255"
    img = np.frombuffer(pixels[: int(w) * int(h)], dtype=np.uint8)
    assert img.size == int(w) * int(h) and int(h) > int(w)  # a portrait A4 page
    return float((img < 200).mean())


def test_the_demo_writes_the_bulletins_and_links_them(tmp_path, monkeypatch, capsys):
    """``make demo``'s run (flows.demo, on shorter ranges of the same files): the bulletins of
    August 2019 (air) and August 2026 (water) in demo-output/reports/<period>/, their paths printed,
    the maps' index linking them among the past periods."""
    from openpyxl import load_workbook

    from flows import demo

    monkeypatch.setattr(demo, "AIR_RANGE", ("2019-07-01", "2019-08-31"))
    monkeypatch.setattr(demo, "WATER_RANGE", ("2026-08-01", "2026-08-05"))
    monkeypatch.setattr(demo, "MAP_PERIODS", ("2019-08", "2026-08"))
    out = tmp_path / "demo-output"
    assert demo._run(out, out / "store") == 0
    printed = capsys.readouterr().out
    for period, part, sheet in (("2019-08", "air", "空气优良天数"), ("2026-08", "water", "水系水质")):
        folder = out / "reports" / period
        assert f"Bulletin {period}: {folder.resolve()}/" in printed
        assert {"bulletin.xlsx", "bulletin.html", "bulletin.pdf", "bulletin.md"} <= {p.name for p in folder.iterdir()}
        wb = load_workbook(folder / "bulletin.xlsx")
        assert wb.sheetnames[0] == sheet and wb.sheetnames[-1] == "说明"
        assert _pdf_pages(folder / "bulletin.pdf") >= 2
        ink = _first_page_ink(folder / "bulletin.pdf", tmp_path)
        assert 0.005 < ink < 0.5, ink  # text, tables and a chart on white: not blank, not a black page
        md = (folder / "bulletin.md").read_text(encoding="utf-8")
        assert ("、环境空气质量（" in md) == (part == "air") and ("、地表水水质（" in md) == (part == "water")
    # 2019-08: 张家界市, 郴州市 and 湘西州 at 100%, the 14 cities ranked by the composite index
    md = (out / "reports" / "2019-08" / "bulletin.md").read_text(encoding="utf-8")
    assert "张家界市、郴州市、湘西州3个城市优良天数比例为100%" in md and "从好到差依次为：湘西州" in md
    index = (out / "maps" / "index.html").read_text(encoding="utf-8")
    for period in ("2019-08", "2026-08"):
        assert f'href="../reports/{period}/bulletin.pdf"' in index and f'href="../reports/{period}/bulletin.html"' in index
    assert 'href="2019-08/air.html"' in index and 'href="2026-08/water.html"' in index
    assert printed.rstrip().splitlines()[-1] == f"Maps: {(out / 'maps' / 'index.html').resolve()}"
