"""Benchmark: rendering the maps from the demo store, and their sizes.

Renders every page of air 2019 (82 stations x 365 days, the largest page) and water August 2026
from ``demo-output/store`` (``make demo`` first) into a temporary folder, three times, and prints
the render time and each page's size; then opens them with ``bench/maps_open.py``.

    .venv/bin/python bench/maps_render.py [--store demo-output/store]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=REPO / "demo-output" / "store")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if not (args.store / "store.json").is_file():
        print(f"{args.store}: no store; run `make demo` first", file=sys.stderr)
        return 1
    from envq.store import Store
    from maps.render import render_maps

    store = Store(args.store, create=False)
    out = Path(tempfile.mkdtemp(prefix="envq-maps-bench-"))
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        done = render_maps(store, out, period="2019", water_period="2026-08")
        times.append(time.perf_counter() - t)
    print(f"render all pages (air 2019, water 2026-08): median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s ({args.runs} runs, first includes imports and the pack load)")
    for key, path in done.pages.items():
        print(f"  {key:32s} {path.stat().st_size / 1e6:5.2f} MB")
    pages = [str(p) for k, p in done.pages.items() if k != "index"]
    return subprocess.call([sys.executable, str(REPO / "bench" / "maps_open.py"), *pages, "--runs", "5"])


if __name__ == "__main__":
    sys.exit(main())
