"""Open the offline HTML maps in real headless Chromium (Playwright, sync API), with no network.

Test modules import what they need, like ``_files``::

    from _browser import assert_clean, chromium, open_page  # chromium: a pytest fixture

- ``chromium`` (session fixture, one browser per pytest process / xdist worker): Debian's
  ``/usr/bin/chromium`` (or ``$ENVQ_CHROMIUM``) driven by Playwright; never a downloaded browser
  (do not run ``playwright install``). Missing browser = test failure, not a skip.
- :func:`open_page` opens a file in a fresh browser context whose only reachable URLs are
  ``file://`` paths inside ``allow_dir`` (default: the page's folder) and ``data:``/``blob:``/
  ``about:``; every other request is aborted and listed in :attr:`Visit.blocked`, WebSockets
  included (answered by a mock, never connected). Console errors and uncaught exceptions are
  collected unfiltered in :attr:`Visit.console_errors`; an aborted resource shows there too, as
  Chromium's own ``Failed to load resource: net::ERR_FAILED`` (with the resource URL).
- :func:`assert_clean`: no console error, nothing blocked.
- Screenshots go to ``$ENVQ_SCREENSHOTS`` or ``build/screenshots/`` (:func:`screenshot_dir`).

The event loop of Playwright's sync API: after every sync call Playwright marks its own asyncio
loop as *running* in the calling thread (``asyncio._set_running_loop``), and it needs that mark
while it works. Left alone, every later test of the same process (``asyncio.run``, Prefect, ...)
would see a running loop and fail. The ``chromium`` fixture therefore registers a small pytest
plugin that sets the mark before each phase (setup, call, teardown) of a test that uses
``chromium`` (as an argument or through its fixtures) and clears it before each phase of any
other test. Within a browser test's phases (its other fixtures included), asyncio code needs
``with outside_playwright(): ...``.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update")
_PLAYWRIGHT_LOOPS: set = set()  # the asyncio loops of the live Playwright instances of this process
INSTALL_HINT = ("install Debian's chromium (`apt-get update && apt-get install -y chromium`, or run "
                ".ci/run), or point ENVQ_CHROMIUM at a Chromium binary. Do not run `playwright install`.")


def chromium_path() -> str:
    return os.environ.get("ENVQ_CHROMIUM") or DEFAULT_CHROMIUM


def launch_chromium():
    """Start Playwright and the headless browser: ``(playwright, browser)``; stop both yourself.

    Raises FileNotFoundError (with the install hint) when the executable is missing.
    """
    exe = chromium_path()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise FileNotFoundError(f"Chromium not found at {exe}: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    loop = asyncio._get_running_loop()
    _PLAYWRIGHT_LOOPS.add(loop)
    stop = pw.stop

    def stop_and_forget() -> None:
        stop()
        _PLAYWRIGHT_LOOPS.discard(loop)

    pw.stop = stop_and_forget
    try:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=list(CHROMIUM_ARGS))
    except BaseException:
        pw.stop()
        raise
    return pw, browser


@contextmanager
def outside_playwright():
    """Clear Playwright's running-loop mark for the block (``asyncio.run()`` inside a browser test)."""
    loop = asyncio._get_running_loop()
    if loop not in _PLAYWRIGHT_LOOPS:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


class _PlaywrightLoopGuard:
    """pytest plugin: Playwright's loop is 'running' only during the phases of browser tests."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fixture: str):
        self.loop, self.fixture = loop, fixture

    def _switch(self, item) -> None:
        if self.fixture in item.fixturenames:
            asyncio._set_running_loop(self.loop)
        elif asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        self._switch(item)
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        self._switch(item)
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        self._switch(item)
        return (yield)


_SHARED: dict = {}  # the browser of this process, once launched


@pytest.fixture(scope="session")
def chromium(request):
    """The headless Chromium browser (Playwright ``Browser``), one per test process.

    pytest makes a separate session fixture for each module that imports this one; they all get
    the same browser, closed when pytest ends (``config.add_cleanup``).
    """
    if "browser" not in _SHARED:
        try:
            pw, browser = launch_chromium()
        except FileNotFoundError as exc:
            pytest.fail(str(exc), pytrace=False)
        except ImportError as exc:
            pytest.fail(f"playwright is not installed ({exc}): pip install -e '.[test]'", pytrace=False)
        loop = asyncio._get_running_loop()  # Playwright's own loop, marked running by the launch
        guard = _PlaywrightLoopGuard(loop, "chromium")
        config = request.config
        config.pluginmanager.register(guard, "envq-playwright-loop-guard")

        def close() -> None:
            config.pluginmanager.unregister(guard)
            _SHARED.clear()
            asyncio._set_running_loop(loop)  # the last test may not have been a browser test
            try:
                browser.close()
            finally:
                pw.stop()  # closes Playwright's loop and clears the running mark

        config.add_cleanup(close)
        _SHARED["browser"] = browser
    return _SHARED["browser"]


def screenshot_dir() -> Path:
    path = Path(os.environ.get("ENVQ_SCREENSHOTS", REPO / "build" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_url_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path)).resolve()


@dataclass
class Visit:
    """One page opened by :func:`open_page` (close it, or use ``with``)."""

    page: Any  # playwright.sync_api.Page
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    load_ms: float = float("nan")
    screenshot_path: Path | None = None
    started: float = 0.0  # time.perf_counter() just before page.goto

    def shoot(self, name: str) -> Path:
        """Full-page PNG ``<screenshot_dir>/<name>.png``; returns its path."""
        path = screenshot_dir() / (name if name.endswith(".png") else f"{name}.png")
        self.page.screenshot(path=str(path), full_page=True)
        self.screenshot_path = path
        return path

    def close(self) -> None:
        self.page.context.close()

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_page(browser, html_path, *, allow_dir=None, viewport=(1280, 900),
              wait_for: str | None = ".leaflet-container", screenshot: str | None = None,
              mobile: bool = False) -> Visit:
    """Open ``html_path`` (``file://``) in a new context of ``browser``, offline.

    Allowed: ``file://`` URLs inside ``allow_dir`` (default: the page's folder), ``data:``,
    ``blob:``, ``about:``; everything else is aborted and recorded in ``Visit.blocked``.
    ``load_ms``: from the start of ``goto`` to the ``load`` event plus ``wait_for`` attached to
    the DOM (skipped when None). ``screenshot``: a name: take a full-page screenshot once loaded.
    ``mobile``: a phone's browser (touch events, ``tap``; the page's viewport meta honoured).
    """
    html = Path(html_path).resolve()
    allowed = Path(allow_dir).resolve() if allow_dir is not None else html.parent
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  service_workers="block", has_touch=mobile, is_mobile=mobile)
    visit = Visit(page=None)

    def route(r) -> None:
        url = r.request.url
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("data", "blob", "about") or (
                scheme == "file" and _file_url_path(url).is_relative_to(allowed)):
            r.continue_()
        else:
            visit.blocked.append(url)
            r.abort()

    def route_ws(ws) -> None:  # never connected to the server; (ws.close() here hangs, 1.63)
        visit.blocked.append(ws.url)

    try:
        context.route("**/*", route)
        context.route_web_socket(re.compile(".*"), route_ws)
        page = context.new_page()
        visit.page = page

        def on_console(msg) -> None:
            if msg.type in ("error", "assert"):
                where = msg.location.get("url") or ""
                if where:
                    where = f" ({where}:{msg.location.get('lineNumber', 0)})"
                visit.console_errors.append(f"console.{msg.type}: {msg.text}{where}")

        def on_pageerror(err) -> None:
            at = next((ln.strip() for ln in (err.stack or "").splitlines() if ln.strip().startswith("at ")), "")
            visit.console_errors.append(f"pageerror: {err.name}: {err.message}" + (f" ({at})" if at else ""))

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("crash", lambda _: visit.console_errors.append("page crashed"))
        page.on("request", lambda req: visit.requests.append(req.url))

        visit.started = time.perf_counter()
        page.goto(html.as_uri(), wait_until="load")
        if wait_for:
            page.wait_for_selector(wait_for, state="attached")
        visit.load_ms = (time.perf_counter() - visit.started) * 1000
        if screenshot:
            visit.shoot(screenshot)
    except BaseException:
        context.close()
        raise
    return visit


_SETTLED_JS = """async (selector) => {
  // the number of matching elements unchanged over 3 animation frames (frames are painted)
  let last = -1, same = 0;
  while (same < 3) {
    await new Promise(requestAnimationFrame);
    const n = document.querySelectorAll(selector).length;
    same = n === last ? same + 1 : 0;
    last = n;
  }
  return last;
}"""


def wait_settled(page, selector: str = ".leaflet-interactive") -> int:
    """Wait until the count of ``selector`` elements is stable over 3 painted frames; the count."""
    return page.evaluate(_SETTLED_JS, selector)


def assert_clean(visit: Visit) -> None:
    """No console error or uncaught exception, no blocked request (so far: events sent before now)."""
    if visit.page is not None and not visit.page.is_closed():
        visit.page.evaluate("0")  # a round trip: Playwright delivers the events the page sent before it
    problems = [f"console: {e}" for e in visit.console_errors] + [f"blocked: {u}" for u in visit.blocked]
    assert not problems, (f"{visit.page.url if visit.page else '?'}: {len(visit.console_errors)} console "
                          f"error(s), {len(visit.blocked)} blocked request(s)\n  " + "\n  ".join(problems))
