"""The nightly run with warnings, the audit and delivery, on Prefect's real local API: what it
stores and publishes, a webhook configured in envq.toml that receives the message, one that
fails (retried, reported in the run-health report, the run still succeeds and the warnings are
kept)."""

import json

import pandas as pd
import pytest
from _receivers import Receiver

from envq.store import Store

prefect_testing = pytest.importorskip("prefect.testing.utilities")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def harness():
    with prefect_testing.prefect_test_harness(server_startup_timeout=180):
        yield


def _config(tmp_path, monkeypatch, url, fmt="json", **extra):
    lines = ['[maps]', 'base_url = "http://127.0.0.1:8000/envq/maps/"', "",
             "[[alerts]]", 'channel = "webhook"', f'url = "{url}"', f'format = "{fmt}"', "retry_delays_s = [0.1]",
             *[f"{k} = {json.dumps(v)}" for k, v in extra.items()]]
    p = tmp_path / "envq.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(p))


def test_nightly_water_stores_publishes_and_delivers_the_warnings(tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client

    from flows.pipeline import nightly

    with Receiver() as rx:
        _config(tmp_path, monkeypatch, rx.url)
        state = nightly(date="2026-08-04", parts=["water"], store_root=str(tmp_path / "store"), maps=False,
                        return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    store = Store(tmp_path / "store", create=False)
    # the day's warnings, stored, in the summary and delivered in one message
    w = store.read_result("warnings", "2026-08-04")
    assert len(w) and set(w["part"]) <= {"water", "data"} and "胜利" in set(w["name"])
    assert "# envq warnings 2026-08-04" in summary.alerts and "Delivery json 127.0.0.1" in summary.alerts
    assert len(rx.requests) == 1
    body = rx.json()
    assert len(body["warnings"]) == len(w) and body["title"].startswith("envq 环境质量预警 2026-08-04：")
    assert "http://127.0.0.1:8000/envq/maps/index.html" in body["text"]
    # the audit of the re-pulled days 08-02..08-04: the four NH3-N readings of 澧水三江口 on 08-04
    dis = store.read_result("audit_water", "2026-08")
    assert list(dis["section"]) == ["澧水三江口"] * 4 and (dis["reason"] == "platform_screened").all()
    days = store.read_result("audit_days", "2026-08").set_index("day")
    assert list(days.index) == ["2026-08-02", "2026-08-03", "2026-08-04"]
    assert days.loc["2026-08-04", "compared"] - days.loc["2026-08-04", "agreeing"] == 4
    assert "地表水 class water: " in summary.alerts and "4 differ: platform_screened 4" in summary.alerts
    # the artifacts
    with get_client(sync_client=True) as client:
        arts = {a.key: a for a in client.read_artifacts() if a.key in ("envq-warnings", "envq-audit")}
    assert "胜利" in arts["envq-warnings"].data and "澧水三江口" in arts["envq-audit"].data
    # re-running the day changes nothing stored
    before = {p.name: p.read_bytes() for p in (tmp_path / "store" / "results").rglob("*.parquet")
              if p.parent.name in ("warnings", "audit_water", "audit_days")}
    with Receiver() as rx2:
        _config(tmp_path, monkeypatch, rx2.url)
        assert nightly(date="2026-08-04", parts=["water"], store_root=str(tmp_path / "store"), maps=False,
                       return_state=True).is_completed()
    after = {p.name: p.read_bytes() for p in (tmp_path / "store" / "results").rglob("*.parquet")
             if p.parent.name in ("warnings", "audit_water", "audit_days")}
    assert after == before


def test_a_channel_that_never_answers_is_reported_and_the_run_succeeds(tmp_path, monkeypatch):
    from flows.pipeline import nightly

    with Receiver(never_answers=True) as rx:
        _config(tmp_path, monkeypatch, rx.url, fmt="wecom", timeout_s=0.5, retries=1)
        state = nightly(date="2026-08-04", parts=["water"], store_root=str(tmp_path / "store"), maps=False,
                        return_state=True)
    assert state.is_completed(), state.message  # the channel never fails the run
    summary = state.result()
    assert len(rx.requests) == 2  # tried, then retried
    assert "alert_delivery_failed" in summary.health and "wecom 127.0.0.1" in summary.health
    store = Store(tmp_path / "store", create=False)
    assert "alert_delivery_failed" in store.read_report("health")
    assert len(store.read_result("warnings", "2026-08-04"))  # the warnings are kept


def test_envq_run_rejects_a_bad_alerts_table_before_starting(tmp_path, monkeypatch, capsys):
    from envq.cli import main

    p = tmp_path / "envq.toml"
    p.write_text('[maps]\nbase_url = "http://x/maps/"\n[[alerts]]\nchannel = "webhook"\nurl = "http://x/h"\n'
                 'format = "slack"\n', encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(p))
    code = main(["run", "--date", "2026-08-04", "--parts", "water", "--store", str(tmp_path / "store"), "--no-maps"])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad configuration" in err and "alerts[1].format" in err and "wecom, dingtalk, feishu, json" in err
    assert not (tmp_path / "store").exists()  # nothing written


def test_air_nightly_warnings_and_audit(tmp_path, monkeypatch):
    from flows.pipeline import nightly

    monkeypatch.delenv("ENVQ_CONFIG", raising=False)
    state = nightly(date="2019-12-31", parts=["air"], store_root=str(tmp_path / "store"), return_state=True)
    assert state.is_completed(), state.message
    store = Store(tmp_path / "store", create=False)
    w = store.read_result("warnings", "2019-12-31")
    # three days in the store: the runs of non-good days count from 12-29; no channel configured
    runs = w[w["rule"] == "air.non_good_run"].set_index("name")
    assert set(runs.index) == {"株洲市", "永州市", "湘潭市", "益阳市", "衡阳市"}
    assert "1853A" in set(w.loc[w["rule"] == "data.silent", "name"])
    assert "2484A" in set(w.loc[w["rule"] == "data.screened", "name"])  # O3 = 1200 at 18:00
    days = store.read_result("audit_days", "2019-12")
    assert list(days["day"]) == ["2019-12-29", "2019-12-30", "2019-12-31"] and (days["part"] == "air").all()
    dis = store.read_result("audit_air", "2019-12")
    assert set(dis["reason"]) <= {"publication_rule", "value_not_in_file", "screened"}
    # the file a disagreement comes from is named as kept under raw/, not by this machine's path
    assert set(dis["file"]) == {"hunan_sites_2019_wide.csv.gz"}, set(dis["file"])
    assert "Delivery" not in state.result().alerts
    # the index page shows them: counts, the most severe first, escaped; and the audit's agreement
    index = (tmp_path / "store" / "maps" / "index.html").read_text(encoding="utf-8")
    # (a store holding only 12-29..12-31 of 2019: three valid days, the year's target lost for each city)
    assert "<h2>预警 Warnings (2019-12-31)</h2>" in index and "全年目标已无法完成" in index
    assert "发布数据审核 Audit of the published figures" in index and "空气 AQI：2019-12-31 一致 agree" in index


def test_the_index_section_escapes_what_it_shows():
    from maps.alerts import alerts_section

    w = pd.DataFrame({"day": ["2026-08-23"], "severity": ["critical"], "message": ["<script>alert(1)</script>"]})
    html = alerts_section(w, None)
    assert "<script>" not in html and "&lt;script&gt;" in html and "严重 1" in html


def test_make_demo_prints_writes_shows_and_delivers_the_warnings_and_the_audit(tmp_path, monkeypatch, capsys):
    """``make demo`` (flows.demo) over a few days of each bundled file, with a JSON webhook in the
    envq.toml of the folder it runs in: it prints the warnings and the audit rates of its runs,
    writes them to the output folder (CSV, UTF-8 with BOM), the index page shows them, and each
    run delivers one message to the receiver."""
    from flows import demo

    monkeypatch.setattr(demo, "AIR_RANGE", ("2019-12-29", "2019-12-31"))
    monkeypatch.setattr(demo, "WATER_RANGE", ("2026-08-02", "2026-08-04"))
    monkeypatch.setattr(demo, "BULLETIN_PERIODS", ("2019-12", "2026-08"))  # the bulletins of the days run
    monkeypatch.delenv("ENVQ_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # envq.toml of the current folder, as `make demo` reads it
    base = "http://127.0.0.1:8000/envq/maps/"
    with Receiver() as rx:
        (tmp_path / "envq.toml").write_text(
            f'[maps]\nbase_url = "{base}"\n\n[[alerts]]\nchannel = "webhook"\nurl = "{rx.url}"\nformat = "json"\n',
            encoding="utf-8")
        out = tmp_path / "demo-output"
        code = demo._run(out, out / "store")
    printed = capsys.readouterr().out
    assert code == 0, printed
    # printed: the warnings of each run's last day and the audit rates of what it pulled
    assert "# envq warnings 2019-12-31" in printed and "# envq warnings 2026-08-04" in printed
    assert "Audit: 空气 AQI air: " in printed and "Audit: 地表水 class water: " in printed
    assert "4 differ: platform_screened 4" in printed  # the four NH3-N readings at 澧水三江口 on 08-04
    assert "Delivery json 127.0.0.1" in printed and "FAILED" not in printed
    # written: the warnings and the audit as CSV (UTF-8 with BOM, for Excel on Chinese Windows)
    for name in ("warnings", "audit_days", "audit_air", "audit_water"):
        assert (out / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf"), name
    w = pd.read_csv(out / "warnings.csv", encoding="utf-8-sig")
    assert set(w["day"]) == {"2019-12-31", "2026-08-04"}
    assert "air.budget_exhausted" in set(w["rule"]) and "胜利" in set(w["name"])
    days = pd.read_csv(out / "audit_days.csv", encoding="utf-8-sig").set_index(["part", "day"])
    assert days.loc[("water", "2026-08-04"), "compared"] - days.loc[("water", "2026-08-04"), "agreeing"] == 4
    assert ("air", "2019-12-31") in days.index
    water = pd.read_csv(out / "audit_water.csv", encoding="utf-8-sig")
    assert list(water["section"]) == ["澧水三江口"] * 4 and set(water["reason"]) == {"platform_screened"}
    # shown on the index page
    index = (out / "maps" / "index.html").read_text(encoding="utf-8")
    assert "预警 Warnings (2019-12-31 / 2026-08-04)" in index and "全年目标已无法完成" in index
    assert "发布数据审核 Audit of the published figures" in index and "地表水 水质类别：2026-08-04 一致 agree" in index
    # delivered: one message per run, in Chinese, the warnings listed, links under [maps] base_url
    assert len(rx.requests) == 2
    air, water_msg = rx.json(0), rx.json(1)
    assert air["title"].startswith("envq 环境质量预警 2019-12-31：") and "严重" in air["title"]
    assert water_msg["title"].startswith("envq 环境质量预警 2026-08-04：")
    for body, day in ((air, "2019-12-31"), (water_msg, "2026-08-04")):
        assert body["day"] == day and f"{base}index.html" in body["text"] and "file://" not in body["text"]
        assert len(body["warnings"]) == int((w["day"] == day).sum())
        assert all(x["link"].startswith(base) for x in body["warnings"])
        assert {"severity", "scope", "rule", "message"} <= set(body["warnings"][0])
    lost = [x for x in air["warnings"] if x["rule"] == "air.budget_exhausted"]
    assert lost and all("全年目标已无法完成" in x["message"] for x in lost)
    assert any(x["name"] == "胜利" and "溶解氧" in x["message"] for x in water_msg["warnings"])
    assert "审核 audit：" in water_msg["text"] and "platform_screened 4" in water_msg["text"]
