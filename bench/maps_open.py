"""Benchmark: opening offline HTML maps in headless Chromium (tests/_browser.py, Debian's chromium).

Each run opens the page in a fresh browser context and page, with the tests' routing (nothing
outside the page's folder is reachable), and measures, from the start of ``page.goto``:

- ``load``: the ``load`` event, read in the page (``performance`` navigation timing, loadEventEnd);
- ``open``: wall clock until the ``load`` event, ``.leaflet-container`` present, and every
  ``.leaflet-interactive`` element rendered (their count unchanged over 3 painted animation
  frames). ``open`` is the number to watch; the browser launch is not counted.

Prints one line per page: size in MB, interactive elements, median/max ``open`` and median
``load`` in ms, and the console errors / blocked requests of the first run (should be 0/0).

    .venv/bin/python bench/maps_open.py demo-output/maps/air.html demo-output/maps/water.html --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _browser import launch_chromium, open_page, wait_settled

LOAD_EVENT_JS = "performance.getEntriesByType('navigation')[0].loadEventEnd"


def bench(browser, page: Path, runs: int) -> str:
    opens, loads, first = [], [], None
    for _ in range(runs):
        with open_page(browser, page) as visit:
            n = wait_settled(visit.page)
            opens.append((time.perf_counter() - visit.started) * 1000)
            loads.append(visit.page.evaluate(LOAD_EVENT_JS))
            first = first or (n, len(visit.console_errors), len(visit.blocked), visit.console_errors + visit.blocked)
    n, errors, blocked, details = first
    line = (f"{page}: {page.stat().st_size / 1e6:.1f} MB, {n} interactive, open median "
            f"{statistics.median(opens):.0f} ms max {max(opens):.0f} ms, load event median "
            f"{statistics.median(loads):.0f} ms ({runs} runs); {errors} console errors, {blocked} blocked")
    return line + "".join(f"\n    {d}" for d in details[:10])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pw, browser = launch_chromium()
    try:
        print(f"chromium {browser.version}, launched in {(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
        failed = 0
        for page in args.pages:
            try:
                print(bench(browser, page, args.runs), flush=True)
            except PlaywrightError as exc:  # not a Leaflet page, or it did not open
                failed += 1
                print(f"{page}: FAILED {str(exc).splitlines()[0]}", flush=True)
    finally:
        browser.close()
        pw.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
