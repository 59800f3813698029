"""Benchmark: opening the offline HTML pages (maps and index) in headless Chromium (tests/_browser.py,
Debian's chromium), on this machine and as a phone on a slow link.

Each run opens the page in a fresh browser context and page and measures, from the start of
``page.goto``:

- ``paint``: first paint and first contentful paint (the page's ``performance`` paint entries):
  when the reader first sees something, and the first text (the title box of a map page shows
  before its script has run, with "地图载入中… loading the map");
- ``load``: the ``load`` event (``performance`` navigation timing, loadEventEnd);
- ``open`` (map pages): wall clock until the ``load`` event, ``.leaflet-container`` present, and
  every ``.leaflet-interactive`` element rendered (their count unchanged over 3 painted animation
  frames). The browser launch is not counted.

Two settings:

- ``local`` (default): ``file://``, with the tests' routing (nothing outside the page's folder
  reachable), the desktop window of the tests (1280x900);
- ``phone`` (``--phone``): the folder served over HTTP on 127.0.0.1, a 400x800 phone window with
  touch, Chromium's network throttling at 1.6 Mbit/s down, 0.75 Mbit/s up, 150 ms round trip
  (Lighthouse's "slow 4G") and its CPU slowed 4x (a mid-range phone): what a river chief on a
  slow link waits for. Requests outside the server are counted (should be 0).

Prints one line per page: size in MB, first paint / first contentful paint, load and open
(medians, and the max of open), console errors / blocked requests of the first run (0/0).

    .venv/bin/python bench/maps_open.py demo-output/maps/*.html demo-output/maps/reaches/*.html --runs 5
    .venv/bin/python bench/maps_open.py demo-output/maps/*.html --runs 3 --phone
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _browser import launch_chromium, open_page, wait_settled

TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
  return {fp: paint['first-paint'], fcp: paint['first-contentful-paint'], load: nav.loadEventEnd};
}"""
# Lighthouse's mobile "slow 4G": 1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT; CPU 4x slower
SLOW_LINK = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
CPU_SLOWDOWN = 4


def _is_map(page: Path) -> bool:
    return b"leaflet" in page.read_bytes()[:400_000].lower()


def _measure(visit_page, started: float, is_map: bool) -> dict:
    n = None
    if is_map:
        visit_page.wait_for_selector(".leaflet-container", state="attached")
        n = wait_settled(visit_page)
    opened = (time.perf_counter() - started) * 1000
    visit_page.wait_for_load_state("load")
    # paint entries are queued after the frame is presented: wait until the first contentful one is
    visit_page.wait_for_function("performance.getEntriesByType('paint').length >= 2", polling="raf",
                                 timeout=60_000)
    t = visit_page.evaluate(TIMING_JS)
    return {**t, "open": opened if is_map else None, "n": n}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(root: Path):
    """The folder over HTTP on 127.0.0.1 (a free port), in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _phone_run(browser, url: str, is_map: bool, host: str) -> tuple[dict, list[str]]:
    context = browser.new_context(viewport={"width": 400, "height": 800}, has_touch=True, is_mobile=True,
                                  service_workers="block")
    outside: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((host, "data:", "blob:")) else None)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=120_000)
        return _measure(page, started, is_map), outside
    finally:
        context.close()


def bench(browser, page: Path, runs: int, *, phone: bool = False, server=None, root: Path | None = None) -> str:
    is_map = _is_map(page)
    rows, first = [], None
    for _ in range(runs):
        if phone:
            host = f"http://127.0.0.1:{server.server_address[1]}/"
            url = host + page.resolve().relative_to(root).as_posix()
            m, outside = _phone_run(browser, url, is_map, host)
            first = first or (m["n"], 0, len(outside), outside)
        else:
            with open_page(browser, page, wait_for=None) as visit:
                m = _measure(visit.page, visit.started, is_map)
                first = first or (m["n"], len(visit.console_errors), len(visit.blocked),
                                  visit.console_errors + visit.blocked)
        rows.append(m)

    def med(k):
        vals = [r[k] for r in rows if r[k] is not None]
        return f"{statistics.median(vals):.0f}" if vals else "-"

    n, errors, blocked, details = first
    opens = [r["open"] for r in rows if r["open"] is not None]
    line = (f"{page}: {page.stat().st_size / 1e6:.2f} MB, first paint {med('fp')} ms, first contentful paint "
            f"{med('fcp')} ms, load {med('load')} ms"
            + (f", open {med('open')} ms (max {max(opens):.0f}), {n} interactive" if opens else "")
            + f" (median of {runs}); {errors} console errors, {blocked} "
            + ("requests outside the server" if phone else "blocked"))
    return line + "".join(f"\n    {d}" for d in details[:10])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--phone", action="store_true", help="a 400x800 phone on a slow link (served over HTTP)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pw, browser = launch_chromium()
    server = root = None
    try:
        print(f"chromium {browser.version}, launched in {(time.perf_counter() - t0) * 1000:.0f} ms"
              + (f"; phone: 400x800, {SLOW_LINK['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s down, "
                 f"{SLOW_LINK['latency']} ms RTT, CPU {CPU_SLOWDOWN}x slower" if args.phone else "; local file://"),
              flush=True)
        if args.phone:
            import os

            root = Path(os.path.commonpath([p.resolve().parent for p in args.pages]))
            server = _serve(root)
        failed = 0
        for page in args.pages:
            try:
                print(bench(browser, page, args.runs, phone=args.phone, server=server, root=root), flush=True)
            except PlaywrightError as exc:  # the page did not open
                failed += 1
                print(f"{page}: FAILED {str(exc).splitlines()[0]}", flush=True)
    finally:
        if server is not None:
            server.shutdown()
        browser.close()
        pw.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
