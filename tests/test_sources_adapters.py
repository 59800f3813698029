"""Source adapters (docs/pipeline.md, "Sources"): local and http kinds, parse, configuration.

Real components only: a real HTTP server on 127.0.0.1 serves the bundled real files; nothing is
mocked and nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import pickle
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.pipeline import default_data_dir, read_air
from envq.errors import InputError, UnknownStationWarning
from envq.sources.adapters import (
    FetchError,
    NotPublished,
    Payload,
    SourceConfig,
    open_source,
    parse_payloads,
    source_config,
)
from envq.sources.adapters.http import HttpSource
from envq.sources.adapters.local import LocalSource
from envq.sources.cnemc_archive import read_cnemc_archive
from envq.sources.cnemc_water import read_cnemc_water, to_long

pytestmark = pytest.mark.filterwarnings("ignore", category=UnknownStationWarning)

TIMEOUT_S = 0.5
STALL_S = 2.5
AIR_TEMPLATE = "china_sites_{date:%Y%m%d}.csv.gz"
WATER_TEMPLATE = "National_Water_{date:%Y%m%d}.csv.gz"


# --------------------------------------------------------------------------------------------
# a real HTTP server serving the bundled files


def _handler(data_dir: Path):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def _send(self, status, body: bytes, length: int | None = None):
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def _file(self, folder, name) -> bytes | None:
            p = data_dir / folder / name
            return p.read_bytes() if p.is_file() else None

        def do_GET(self):
            route, _, name = urlsplit(self.path).path.lstrip("/").partition("/")
            try:
                if route in ("air", "water"):
                    body = self._file(route, name)
                    if body is None:
                        self._send(404, b"not found")
                    else:
                        self._send(200, body)
                elif route == "fail":
                    self._send(500, b"boom")
                elif route == "stall":
                    time.sleep(STALL_S)
                    self._send(200, b"late")
                elif route == "trunc":  # announce the whole file, send half, close
                    body = self._file("air", name)
                    self.close_connection = True
                    self._send(200, body[: len(body) // 2], length=len(body))
                elif route == "truncgz":  # a correct Content-Length, but half a gzip stream
                    body = self._file("air", name)
                    self._send(200, body[: len(body) // 2])
                else:
                    self._send(404, b"no route")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

    return Handler


@pytest.fixture(scope="module")
def server(data_dir):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _handler(data_dir))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _http_conf(name, base_url, template, **extra):
    return {"sources": {name: {"kind": "http", "base_url": base_url, "template": template,
                               "timeout_s": TIMEOUT_S, **extra}}}


def _labels(ds, start, end):
    """The dataset restricted to the hour labels of natural days start..end."""
    t = ds["time"].values
    lo, hi = np.datetime64(start, "ns"), np.datetime64(end + dt.timedelta(days=1), "ns")
    return ds.isel(time=np.flatnonzero((t > lo) & (t <= hi)))


@pytest.fixture(scope="module")
def air_20191231(data_dir):
    return read_air(data_dir / "air" / "china_sites_20191231.csv.gz")


@pytest.fixture(autouse=True)
def _no_config(monkeypatch, tmp_path):
    """No envq.toml of a developer's working folder leaks in."""
    monkeypatch.delenv("ENVQ_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------------------------
# http


def test_http_air_day_equals_local_file(server, data_dir, air_20191231):
    day = dt.date(2019, 12, 31)
    src = open_source("air", _http_conf("air", f"{server}/air/", AIR_TEMPLATE))
    assert isinstance(src, HttpSource) and type(src).__module__ == "envq.sources.adapters.http"
    payloads = src.fetch(day, day)
    # the file of 2020-01-01 (hour 24 of 2019-12-31) is not served: its 404 is not an error
    assert [p.name for p in payloads] == ["china_sites_20191231.csv.gz"]
    p = payloads[0]
    raw = (data_dir / "air" / "china_sites_20191231.csv.gz").read_bytes()
    assert p.origin == f"{server}/air/china_sites_20191231.csv.gz"
    assert p.path is None and p.data == raw and p.sha256 == hashlib.sha256(raw).hexdigest()

    ds = src.parse(payloads, day, day)
    ref = _labels(air_20191231, day, day)
    times = pd.DatetimeIndex(ds["time"].values)
    assert len(times) == 23  # 01:00..23:00; 2020-01-01 00:00 is in tomorrow's file
    assert times[0] == pd.Timestamp("2019-12-31 01:00") and times[-1] == pd.Timestamp("2019-12-31 23:00")
    assert ds.attrs["source"] == p.origin
    assert all(p.origin in s for s in ds.attrs["duplicates_dropped"])  # not the temporary file
    xr.testing.assert_identical(ds.assign_attrs(ref.attrs), ref)  # exact values, coords, attrs of variables
    assert float(ds["o3"].sel(station="2484A", time="2019-12-31T18:00")) == 1200.0  # the known bogus value, as pulled


def test_http_water_day_equals_local_read(server, data_dir):
    day = dt.date(2026, 7, 20)
    src = open_source("water", _http_conf("water", f"{server}/water", WATER_TEMPLATE))
    payloads = src.fetch(day, day)
    assert [p.origin for p in payloads] == [f"{server}/water/National_Water_20260720.csv.gz"]
    got = src.parse(payloads, day, day)

    local = open_source("water", {"sources": {"water": {
        "kind": "local", "path": str(data_dir / "water"), "pattern": "National_Water_*.csv.gz"}}})
    assert isinstance(local, LocalSource)
    lp = local.fetch(day, day)
    assert [p.name for p in lp] == ["National_Water_20260720.csv.gz"] and lp[0].sha256 == payloads[0].sha256
    pd.testing.assert_frame_equal(got, local.parse(lp, day, day))

    ref = to_long(read_cnemc_water(data_dir / "water" / "National_Water_20260720.csv.gz"))
    ref = ref[ref["time"].dt.date == day].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref)
    assert len(got) > 100_000 and (got["time"].dt.date == day).all()


@pytest.mark.parametrize("route, exc_type, reason", [
    ("fail", FetchError, "HTTP 500 Internal Server Error"),
    ("stall", FetchError, f"timed out after {TIMEOUT_S:g} s"),
    ("trunc", FetchError, "truncated: got {half} of {full} bytes"),
    ("truncgz", FetchError, "truncated: the gzip body of {half} bytes ends before its end-of-stream marker"),
    ("air", NotPublished, "HTTP 404 Not Found: not published (yet)"),
])
def test_http_failures_name_url_and_reason(server, data_dir, route, exc_type, reason):
    day = dt.date(2019, 1, 1) if route != "air" else dt.date(2019, 6, 1)  # no file of 2019-06-01 is served
    src = open_source("air", _http_conf("air", f"{server}/{route}/", AIR_TEMPLATE))
    url = f"{server}/{route}/china_sites_{day:%Y%m%d}.csv.gz"
    full = (data_dir / "air" / "china_sites_20190101.csv.gz").stat().st_size
    t0 = time.monotonic()
    with pytest.raises(exc_type) as info:
        src.fetch(day, day)
    assert time.monotonic() - t0 < 1.5
    err = info.value
    assert type(err) is exc_type
    assert (err.source, err.origin, err.reason) == ("air", url, reason.format(half=full // 2, full=full))
    assert str(err) == f"air source: {url}: {err.reason}"
    assert err.status == {"fail": 500, "air": 404}.get(route)


def test_http_water_404_and_connection_refused(server):
    src = open_source("water", _http_conf("water", f"{server}/water/", WATER_TEMPLATE))
    with pytest.raises(NotPublished, match=r"water source: .*/water/National_Water_20260721\.csv\.gz: HTTP 404"):
        src.fetch("2026-07-20", "2026-07-21")  # the 20th is served, the 21st is not

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = open_source("water", _http_conf("water", f"http://127.0.0.1:{port}/", WATER_TEMPLATE))
    with pytest.raises(FetchError, match=r"water source: http://127\.0\.0\.1:\d+/National_Water_20260720\.csv\.gz: "
                                         r"cannot connect") as info:
        src.fetch(dt.date(2026, 7, 20), dt.date(2026, 7, 20))
    assert not isinstance(info.value, NotPublished)


def test_fetch_errors_pickle():
    for err in (FetchError("air", "http://h/x.csv", "HTTP 503 Service Unavailable", status=503),
                NotPublished("water", "http://h/y.csv", "HTTP 404 Not Found", status=404)):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.status == err.status


# --------------------------------------------------------------------------------------------
# local


def test_local_selects_files_by_the_dates_in_their_names(data_dir):
    air = open_source("air", {"sources": {"air": {"kind": "local", "path": str(data_dir / "air")}}})
    water = open_source("water", {"sources": {"water": {"kind": "local", "path": str(data_dir / "water")}}})

    def names(src, start, end):
        return [p.name for p in src.fetch(dt.date.fromisoformat(start), dt.date.fromisoformat(end))]

    wide = "hunan_sites_2019_wide.csv.gz"  # no date in the name: always a candidate
    assert names(air, "2019-12-30", "2019-12-31") == ["china_sites_20191231.csv.gz", wide]
    # hour 24 of 2018-12-31 is the first row of the file of 2019-01-01
    assert names(air, "2018-12-31", "2018-12-31") == ["china_sites_20190101.csv.gz", wide]
    assert names(air, "2019-01-02", "2019-12-29") == [wide]
    assert names(air, "2026-03-09", "2026-03-09") == ["cnemc_live_2026-03-10T09.csv", wide]
    assert names(air, "2018-02-20", "2018-02-20") == ["cnemc_live_snapshot_2018-02-20T07_all_stations.geojson.gz", wide]

    excerpts, span = "hunan_auto_station_weekly_excerpts.csv", "hunan_water_auto_20260709_20260823.csv.gz"
    assert names(water, "2026-07-20", "2026-07-20") == ["National_Water_20260720.csv.gz", excerpts, span]
    assert names(water, "2026-07-19", "2026-07-19") == [excerpts, span]  # water: no day-after file
    assert names(water, "2026-07-08", "2026-07-08") == [excerpts]
    assert names(water, "2026-08-23", "2026-08-31") == [excerpts, span]
    assert names(water, "2026-08-24", "2026-08-31") == [excerpts]

    p = water.fetch(dt.date(2026, 7, 20), dt.date(2026, 7, 20))[0]
    f = data_dir / "water" / "National_Water_20260720.csv.gz"
    assert (p.path, p.data, p.origin, p.sha256) == (f, None, str(f), hashlib.sha256(f.read_bytes()).hexdigest())

    gone = open_source("air", {"sources": {"air": {"kind": "local", "path": str(data_dir / "nowhere")}}})
    with pytest.raises(FetchError, match=r"air source: .*nowhere: is not a folder"):
        gone.fetch(dt.date(2019, 1, 1), dt.date(2019, 1, 1))


def test_local_default_air_natural_days(data_dir):
    src = open_source("air")  # the embedded default: the bundled Hunan 2019 extract
    start, end = dt.date(2019, 3, 1), dt.date(2019, 3, 2)
    payloads = src.fetch(start, end)
    assert [p.name for p in payloads] == ["hunan_sites_2019_wide.csv.gz"]
    ds = src.parse(payloads, start, end)
    times = pd.DatetimeIndex(ds["time"].values)
    assert len(times) == 48
    assert times[0] == pd.Timestamp("2019-03-01 01:00") and times[-1] == pd.Timestamp("2019-03-03 00:00")
    ref = _labels(read_air(data_dir / "air" / "hunan_sites_2019_wide.csv.gz"), start, end)
    xr.testing.assert_identical(ds.assign_attrs(ref.attrs), ref)
    assert ds.sizes["station"] == 82


def test_local_merges_files(data_dir, air_20191231):
    src = open_source("air", {"sources": {"air": {"kind": "local", "path": str(data_dir / "air"),
                                                  "pattern": "china_sites_*.csv.gz"}}})
    start, end = dt.date(2018, 12, 31), dt.date(2019, 12, 31)
    payloads = src.fetch(start, end)
    assert [p.name for p in payloads] == ["china_sites_20190101.csv.gz", "china_sites_20191231.csv.gz"]
    ds = src.parse(payloads, start, end)
    times = pd.DatetimeIndex(ds["time"].values)
    # each file's 00:00 .. 23:00 (00:00 is hour 24 of the day before, also in the range)
    assert len(times) == 24 + 24 and times[0] == pd.Timestamp("2019-01-01 00:00")
    assert times[-1] == pd.Timestamp("2019-12-31 23:00")
    ref = _labels(read_cnemc_archive([p.path for p in payloads]), start, end)  # the reader's own merge
    xr.testing.assert_identical(ds, ref)


def test_later_payload_wins(data_dir, air_20191231):
    day = dt.date(2019, 12, 31)
    path = data_dir / "air" / "china_sites_20191231.csv.gz"
    table = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["date", "hour", "type", "1001A", "1002A"])
    table = table[table["hour"].isin(["22", "23"])]
    num = pd.to_numeric(table["1001A"].replace("", None))
    # the revision raises 1001A's concentrations by 1000 and its published AQI by 1 (an AQI over
    # 500 is bad input since 513a752: HJ 633 gives none)
    delta = np.where(table["type"].eq("AQI"), 1, 1000)
    table["1001A"] = (num + delta).map(lambda x: "" if pd.isna(x) else f"{x:g}")
    table["1002A"] = ""  # the revision withdraws 1002A's values of 22:00 and 23:00
    revision = Payload.from_bytes("china_sites_20191231.csv", "http://example.test/rev/china_sites_20191231.csv",
                                  table.to_csv(index=False).encode())
    original = Payload.from_path(path)

    ds = parse_payloads("air", [original, revision], day, day)
    ref = _labels(air_20191231, day, day)
    late = ["2019-12-31T22:00", "2019-12-31T23:00"]
    for var, d in (("pm25", 1000), ("o3", 1000), ("aqi_cnemc", 1), ("co_24h_moving", 1000)):
        np.testing.assert_array_equal(ds[var].sel(station="1001A", time=late).values,
                                      ref[var].sel(station="1001A", time=late).values + d)
        assert np.isnan(ds[var].sel(station="1002A", time=late).values).all()
    untouched = ds.drop_sel(station=["1001A", "1002A"])
    xr.testing.assert_identical(untouched.assign_attrs(ref.attrs), ref.drop_sel(station=["1001A", "1002A"]))
    xr.testing.assert_identical(ds.sel(time=slice(None, "2019-12-31T21:00")).assign_attrs(ref.attrs),
                                ref.sel(time=slice(None, "2019-12-31T21:00")))
    assert ds.attrs["source"] == [original.origin, revision.origin]

    # the other order: the full file is the later one and wins everywhere
    back = parse_payloads("air", [revision, original], day, day)
    xr.testing.assert_identical(back.assign_attrs(ref.attrs), ref)


def test_local_default_water_days_unscreened(data_dir):
    src = open_source("water")
    start, end = dt.date(2026, 7, 20), dt.date(2026, 7, 21)
    payloads = src.fetch(start, end)
    assert [p.name for p in payloads] == ["hunan_water_auto_20260709_20260823.csv.gz"]
    got = src.parse(payloads, start, end)
    full = to_long(read_cnemc_water(data_dir / "water" / "hunan_water_auto_20260709_20260823.csv.gz"))
    ref = full[full["time"].dt.date.between(start, end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref)  # everything as pulled: no value screened away
    assert set(got["time"].dt.date) == {start, end}
    empty = src.parse([], start, end)
    assert list(empty.columns) == list(got.columns) and len(empty) == 0


def test_parse_errors_name_the_origin(data_dir):
    url = "http://example.test/air/china_sites_20191231.csv"
    bad = Payload.from_bytes("china_sites_20191231.csv", url, b"date,hour,type,1001A\n20191231,0,PM2.5,abc\n")
    with pytest.raises(InputError) as info:
        parse_payloads("air", [bad], "2019-12-31", "2019-12-31")
    e = info.value
    assert (e.file, e.row, e.field, e.value) == (url, 2, "1001A", "abc")
    assert str(e).startswith(f"{url}: row 2, field '1001A': value 'abc'")

    with gzip.open(data_dir / "water" / "National_Water_20260720.csv.gz", "rt", encoding="utf-8-sig") as fh:
        header, row = fh.readline(), fh.readline()
    cells = row.split(",")
    cells[6] = "x7.7"  # pH(无量纲)
    wurl = "http://example.test/water/National_Water_20260720.csv"
    badw = Payload.from_bytes("National_Water_20260720.csv", wurl, (header + ",".join(cells)).encode())
    with pytest.raises(InputError) as info:
        parse_payloads("water", [badw], "2026-07-20", "2026-07-20")
    assert (info.value.file, info.value.row, info.value.field, info.value.value) == (wurl, 2, "pH(无量纲)", "x7.7")


# --------------------------------------------------------------------------------------------
# configuration


def _write_config(tmp_path, text) -> Path:
    f = tmp_path / "conf" / "envq.toml"
    f.parent.mkdir(exist_ok=True)
    f.write_text(text, encoding="utf-8")
    return f


def test_config_file(tmp_path, monkeypatch):
    f = _write_config(tmp_path, """
[sources.air]
kind = "http"
base_url = "http://127.0.0.1:8000/air/"
template = "china_sites_{date:%Y%m%d}.csv"
timeout_s = 12.5
retries = 5
retry_delays_s = [1, 2]
repull_days = 7

[sources.water]
kind = "local"
path = "water"
""")
    monkeypatch.setenv("ENVQ_CONFIG", str(f))
    assert source_config("air") == SourceConfig(
        name="air", kind="http", options={"base_url": "http://127.0.0.1:8000/air/",
                                          "template": "china_sites_{date:%Y%m%d}.csv"},
        timeout_s=12.5, retries=5, retry_delays_s=(1, 2), repull_days=7)
    water = source_config("water")  # relative to the configuration file's folder; pattern default *
    assert water == SourceConfig(name="water", kind="local", options={"path": str(f.parent / "water"), "pattern": "*"})
    src = open_source("air")
    assert isinstance(src, HttpSource)
    assert src.url_for(dt.date(2019, 12, 31)) == "http://127.0.0.1:8000/air/china_sites_20191231.csv"


@pytest.mark.parametrize("table, field, value", [
    ('kind = "ftp"', "kind", "ftp"),
    ('kind = "_parse"', "kind", "_parse"),
    ('path = "x"', "kind", ""),
    ('kind = "http"\ntemplate = "a_{date:%Y%m%d}.csv"', "base_url", ""),
    ('kind = "http"\nbase_url = "ftp://h/"\ntemplate = "a.csv"', "base_url", "ftp://h/"),
    ('kind = "http"\nbase_url = "http://h/"', "template", ""),
    ('kind = "http"\nbase_url = "http://h/"\ntemplate = "a_{day}.csv"', "template", "a_{day}.csv"),
    ('kind = "local"', "path", ""),
    ('kind = "local"\npath = "x"\npatern = "*.csv"', "patern", "*.csv"),
    ('kind = "local"\npath = "x"\ntimeout_s = -1', "timeout_s", -1),
    ('kind = "local"\npath = "x"\nretries = "3"', "retries", "3"),
    ('kind = "local"\npath = "x"\nretry_delays_s = ["soon"]', "retry_delays_s", ["soon"]),
    ('kind = "local"\npath = "x"\nrepull_days = 1.5', "repull_days", 1.5),
])
def test_config_errors_name_file_table_field_value(tmp_path, monkeypatch, table, field, value):
    f = _write_config(tmp_path, f"[sources.air]\n{table}\n")
    monkeypatch.setenv("ENVQ_CONFIG", str(f))
    with pytest.raises(InputError) as info:
        open_source("air")
    e = info.value
    assert (e.file, e.field, e.value) == (str(f), field, value)
    assert str(e).startswith(f"{f}: field {field!r}: value {value!r} ")
    assert "(in table [sources.air])" in str(e)


def test_embedded_default():
    assert source_config("air") == SourceConfig(
        name="air", kind="local", options={"path": str(default_data_dir() / "air"), "pattern": "hunan_sites_*.csv.gz"})
    assert source_config("water") == SourceConfig(
        name="water", kind="local",
        options={"path": str(default_data_dir() / "water"), "pattern": "hunan_water_auto_*.csv.gz"})
    # a configuration with only [sources.air] keeps the default water source
    conf = _http_conf("air", "http://127.0.0.1:1/", AIR_TEMPLATE)
    assert source_config("air", conf).kind == "http"
    assert source_config("water", conf) == source_config("water")
    with pytest.raises(ValueError, match="unknown source 'soil'"):
        source_config("soil")
    with pytest.raises(ValueError, match="exactly one of data and path"):
        Payload(name="x", origin="x", data=b"", path=Path("x"), sha256="")


def test_library_does_not_import_prefect():
    code = ("import sys, envq.sources.adapters as a; a.open_source('air', {}); "
            "import envq.sources.adapters.http, envq.sources.adapters.local, envq.sources.adapters._parse; "
            "assert 'prefect' not in sys.modules, 'prefect imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
