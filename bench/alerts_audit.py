"""Benchmark: the audit and the day's warnings on the bundled data (docs/alerts.md).

    .venv/bin/python bench/alerts_audit.py     # part of make bench; needs demo-output/store

Times (best of 3) the audit of the 2019 Hunan archive year (644,762 station-hours, screening
included), of the 2026-03-10T09 national live hour, of the July-August 2026 water readings
(37,204), and the warnings of the demo store's last air and water days; the peak memory. The last
stdout line is one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), times[0]


def main() -> int:
    warnings.simplefilter("ignore")
    from envq.air.pipeline import read_air
    from envq.alerts import day_warnings
    from envq.audit import audit_air, audit_water
    from envq.sources.cnemc_water import read_cnemc_water
    from envq.store import Store

    data = REPO / "data"
    year = read_air(data / "air/hunan_sites_2019_wide.csv.gz")
    live = read_air(data / "air/cnemc_live_2026-03-10T09.csv")
    water = read_cnemc_water(data / "water/hunan_water_auto_20260709_20260823.csv.gz")
    out = {}
    for key, fn in (("audit_air_2019_year_s", lambda: audit_air(year)),
                    ("audit_air_2026_hour_s", lambda: audit_air(live)),
                    ("audit_water_2026_s", lambda: audit_water(water))):
        out[key], out[key.replace("_s", "_cold_s")] = best(fn)
    root = REPO / "demo-output" / "store"
    if (root / "store.json").is_file():
        store = Store(root, create=False)
        out["warnings_air_2019_12_31_s"], _ = best(lambda: day_warnings(store, "2019-12-31", parts=["air"]))
        out["warnings_water_2026_08_23_s"], _ = best(lambda: day_warnings(store, "2026-08-23", parts=["water"]))
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for k, v in out.items():
        print(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}", file=sys.stderr)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
