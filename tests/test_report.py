"""What a run publishes (envq.report) on the bundled real water readings."""

import datetime as dt

from envq import report
from envq.periods import periods_touched
from envq.water.cli import load_inputs


def test_headline_and_health_on_real_july_2026(data_dir):
    long = load_inputs([data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz"])[0]
    july = long[long["time"] < "2026-08-01"]
    res = report.water_results(july, periods_touched([dt.date(2026, 7, 31)]))
    md = report.headline_markdown(None, res["water_rates"], run_label="test")
    # 58 of 61 sections in Class I-III in July 2026 (docs/water.md, make demo): 95.1% >= 95%
    assert "**湖南省 province: 95.1%** (58/61 sections; target 95%: ✅ 达标 met)" in md
    assert "| 湘江 | 95.2% | 20/21 | — |" in md  # no target set for a river system: no mark
    assert "| 洞庭湖 | 50.0% | 2/4 | — |" in md
    health = report.health_report(day=dt.date(2026, 7, 31), water_long=july,
                                  water_expected=["昭山", "没有这个断面"])
    assert health.to_dict("records") == [
        {"kind": "water_sections_missing", "subject": "2026-07-31", "detail": "没有这个断面", "count": 1}]
    assert "| water_sections_missing | 2026-07-31 | 1 | 没有这个断面 |" in report.health_markdown(health)
