"""A truncated body is not data (issue 12, item 2).

A real HTTP server on 127.0.0.1 answers HTTP/1.0 without Content-Length and closes the connection
in the middle of the body (legal HTTP: the body ends where the connection ends). Before, the
nightly run stored half a day of air and exited 0. Now the part fails (exit 3), nothing of that
day is stored, and the bytes received are kept for inspection; a cut local file likewise.
"""

from __future__ import annotations

import datetime as dt
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envq.cli import main
from envq.errors import InputError, UnknownStationWarning
from envq.sources.adapters import RejectedPayloads, open_source
from envq.store import Store

pytestmark = [pytest.mark.filterwarnings("ignore", category=UnknownStationWarning), pytest.mark.slow]
DAY = "china_sites_20191231.csv"


@pytest.fixture(scope="module")
def body(data_dir) -> bytes:
    return gzip.decompress((data_dir / "air" / f"{DAY}.gz").read_bytes())


@pytest.fixture(scope="module")
def cut(body) -> bytes:
    return body[: len(body) * 3 // 5]  # the connection drops 60% into the day


@pytest.fixture(scope="module")
def server(body, cut):
    class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: no Content-Length, the body ends at close
        def log_message(self, *args):
            pass

        def do_GET(self):
            if Path(self.path).name != DAY:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()
            self.wfile.write(cut if self.path.startswith("/cut/") else body)
            self.wfile.flush()
            self.close_connection = True

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _here(monkeypatch, tmp_path):
    monkeypatch.delenv("ENVQ_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def _conf(tmp_path, table: str, data_dir: Path) -> Path:
    """The air table given, and the bundled water (no 2019 data: that part has nothing to do)."""
    conf = tmp_path / "envq.toml"
    conf.write_text(table + "retries = 0\nrepull_days = 1\n\n[sources.water]\nkind = \"local\"\n"
                    f'path = "{data_dir / "water"}"\npattern = "hunan_water_auto_*.csv.gz"\nrepull_days = 1\n',
                    encoding="utf-8")
    return conf


def _http(server, route):
    return {"sources": {"air": {"kind": "http", "base_url": f"{server}/{route}/",
                                "template": "china_sites_{date:%Y%m%d}.csv", "timeout_s": 5}}}


def test_a_body_cut_without_content_length_is_refused_with_its_bytes(server, cut):
    src = open_source("air", _http(server, "cut"))
    day = dt.date(2019, 12, 31)
    payloads = src.fetch(day, day)  # the transport cannot tell: the body ended when the connection did
    assert [p.data for p in payloads] == [cut]
    with pytest.raises(RejectedPayloads) as info:
        src.pull(day, day)
    err = info.value
    assert isinstance(err, InputError) and err.file == f"{server}/cut/{DAY}"
    assert "the file ends in this row without a line break: it was cut off" in str(err)
    assert [p.data for p in err.payloads] == [cut]


def test_the_whole_body_is_read(server):
    src = open_source("air", _http(server, "whole"))
    day = dt.date(2019, 12, 31)
    payloads, data = src.pull(day, day)
    assert data.sizes["time"] == 23 and data.sizes["station"] > 1500  # 01:00..23:00 of the day


@pytest.fixture(scope="module")
def harness():
    prefect_testing = pytest.importorskip("prefect.testing.utilities")
    with prefect_testing.prefect_test_harness(server_startup_timeout=180):
        yield


def test_the_nightly_run_fails_the_part_stores_nothing_and_keeps_the_payload(harness, server, cut, tmp_path,
                                                                              monkeypatch, capsys, data_dir):
    conf = _conf(tmp_path, data_dir=data_dir, table=f'[sources.air]\nkind = "http"\nbase_url = "{server}/cut/"\n'
                           'template = "china_sites_{date:%Y%m%d}.csv"\ntimeout_s = 5\n')
    monkeypatch.setenv("ENVQ_CONFIG", str(conf))
    code = main(["run", "--date", "2019-12-31", "--store", str(tmp_path / "store"), "--no-maps"])
    _, err = capsys.readouterr()
    assert code == 3, err  # the air part failed; water (no 2019 data in the bundled source) did not
    assert f"air: bad input: {server}/cut/{DAY}: row " in err and "cut off" in err
    store = Store(tmp_path / "store", create=False)
    assert store.air_days() == []  # nothing of that day stored
    kept = tmp_path / "store" / "raw" / "air-rejected" / "2019" / "2019-12-31" / DAY
    assert kept.read_bytes() == cut and str(kept) in err
    assert "| failed | air |" in store.read_report("health")


def test_a_cut_local_file_fails_the_part_likewise(harness, cut, tmp_path, monkeypatch, capsys, data_dir):
    src = tmp_path / "src"
    src.mkdir()
    (src / DAY).write_bytes(cut)
    monkeypatch.setenv("ENVQ_CONFIG", str(_conf(tmp_path, '[sources.air]\nkind = "local"\npath = "src"\n'
                                                           'pattern = "*.csv"\n', data_dir)))
    code = main(["run", "--date", "2019-12-31", "--store", str(tmp_path / "store"), "--no-maps"])
    _, err = capsys.readouterr()
    assert code == 3 and f"air: bad input: {src / DAY}: row " in err and "cut off" in err
    assert Store(tmp_path / "store", create=False).air_days() == []
    assert not (tmp_path / "store" / "raw" / "air-rejected").exists()  # the file itself stays where it is
