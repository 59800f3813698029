"""Benchmark: classify one million synthetic surface-water readings (GB 3838-2002).

Prints one JSON line: ``{"readings": ..., "seconds": ..., ...}``. ``seconds`` times
:func:`envq.water.classify.classify` with ``details=False`` (class and limiting items per reading,
the ``envq water classify`` output); ``seconds_details`` the full labelled result (status,
over-standard items with multiples, main pollutants, target compliance).

Usage: ``.venv/bin/python bench/water_classify.py [N]``
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = pd.DataFrame({
        "ph": np.round(rng.normal(7.6, 0.6, n), 2),
        "do": np.round(rng.gamma(9.0, 0.8, n), 2),
        "codmn": np.round(rng.gamma(3.0, 0.8, n), 2),
        "nh3n": np.round(rng.gamma(1.2, 0.15, n), 3),
        "tp": np.round(rng.gamma(2.0, 0.04, n), 3),
        "tn": np.round(rng.gamma(4.0, 0.4, n), 3),
    })
    for c in t.columns:  # about 3% missing per item, as in the real feed
        t.loc[rng.random(n) < 0.03, c] = np.nan
    lake = rng.random(n) < 0.08
    return t, lake


def main(argv=None) -> int:
    from envq.water.classify import classify

    n = int((argv or sys.argv[1:] or [1_000_000])[0])
    table, lake = synthetic(n)
    classify(table.head(1000), lake=lake[:1000])  # warm-up: load the standard
    t0 = time.perf_counter()
    res = classify(table, lake=lake, details=False)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = classify(table, lake=lake, details=True)
    seconds_details = time.perf_counter() - t0
    counts = res["class"].value_counts().sort_index()
    print(json.dumps({
        "readings": n,
        "seconds": round(seconds, 3),
        "seconds_details": round(seconds_details, 3),
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "main_pollutant_rows": int((full["main_pollutants"] != "").sum()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
