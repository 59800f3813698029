"""The alerts step of a run (flows.alerts.publish_alerts): a step that fails loses no other.

A store holding an audit table in a form the merge cannot take (here: a table without its ``day``
column) made the whole step fail before the day's warnings were stored or sent. The
warnings are real (the early-warning engine on the bundled 2026-08-23 readings), the audit is
real (the bundled water file), the receiver is a real HTTP server on 127.0.0.1.
"""

import datetime as dt
from pathlib import Path

import pandas as pd
from _receivers import Receiver
from prefect.logging import disable_run_logger

from envq.store import Store

DAY = dt.date(2026, 8, 23)
DATA = Path(__file__).resolve().parents[1] / "data" / "water" / "hunan_water_auto_20260709_20260823.csv.gz"


def _real_warnings_and_audit():
    from envq.alerts.rules import water_section_warnings
    from envq.audit import audit_water
    from envq.sources.cnemc_water import read_cnemc_water, to_long
    from envq.water.reaches import load_reaches
    from envq.water.screen import screen
    from envq.water.warning import latest_values

    readings = read_cnemc_water(DATA)
    long, _ = screen(to_long(readings))
    long = long[long["time"] >= pd.Timestamp(DAY)]
    w = water_section_warnings(latest_values(long), day=DAY, reaches=load_reaches())
    audit = audit_water(readings[readings["time"] >= pd.Timestamp(DAY)].assign(file=DATA.name))
    return w, audit


def test_a_failing_audit_store_loses_neither_the_warnings_nor_their_delivery(tmp_path):
    from flows.alerts import publish_alerts

    w, audit = _real_warnings_and_audit()
    assert len(w) and audit.compared
    store = Store(tmp_path / "store")
    with store.lock(run_id="test"):
        store.write_result("audit_water", "2026-08", pd.DataFrame({"section": ["昭山"], "when": ["2026-08-01"]}))
    with Receiver() as rx, disable_run_logger(), store.lock(run_id="test"):
        conf = {"maps": {"base_url": "http://127.0.0.1:8000/maps/"},
                "alerts": [{"channel": "webhook", "url": rx.url, "format": "json", "retries": 0}]}
        out = publish_alerts(store, day=DAY, parts=["water"], audits=[audit], warnings_future=w, config=conf,
                             artifacts=False)
        assert out.error.startswith("audit: KeyError"), out.error  # the failure is reported, in the run-health report too
        assert "failed" in set(out.health_rows()["kind"])
        assert "warnings: " not in out.error, out.error
        assert any("warnings" in p for p in out.written), out.written
        stored = store.read_result("warnings", DAY.isoformat())
        assert sorted(stored["name"]) == sorted(w["name"])  # the warnings are stored
        assert [d.ok for d in out.deliveries] == [True] and len(rx.requests) == 1  # and sent
        body = rx.json()
        assert sorted(x["name"] for x in body["warnings"]) == sorted(w["name"])
        assert out.warnings_md and "胜利" in out.warnings_md
