"""The browser harness itself (tests/_browser.py): real headless Chromium, offline routing, errors."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import folium
import pytest

from _browser import assert_clean, chromium, open_page, wait_settled  # noqa: F401  (chromium: fixture)
from maps.assets import offline_map, save_offline

TESTS = Path(__file__).resolve().parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write(path: Path, html: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(html), encoding="utf-8")
    return path


def test_offline_folium_map_opens_clean_and_its_popup_works(chromium, tmp_path):
    m = offline_map(location=[27.6, 111.7], zoom_start=7)
    folium.CircleMarker([28.2, 112.9], radius=14, color="#d7301f", fill=True,
                        popup=folium.Popup("Changsha AQI 57", max_width=200)).add_to(m)
    page_path = save_offline(m, tmp_path / "map.html")

    with open_page(chromium, page_path, screenshot="harness-circle-marker") as visit:
        assert_clean(visit)
        assert visit.requests == [page_path.resolve().as_uri()]  # everything else is inline
        assert wait_settled(visit.page) == 1
        assert visit.page.locator("path.leaflet-interactive").count() == 1
        assert visit.page.locator(".leaflet-popup-content").count() == 0
        visit.page.locator("path.leaflet-interactive").click()
        popup = visit.page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "Changsha AQI 57" in popup.inner_text()
        assert_clean(visit)  # still nothing after the click
        popup_shot = visit.shoot("harness-circle-marker-popup")
        assert 0 < visit.load_ms < 30_000

    assert visit.screenshot_path == popup_shot  # the latest one
    for shot in (popup_shot.with_name("harness-circle-marker.png"), popup_shot):
        assert shot.is_file(), shot
        data = shot.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, shot


def test_network_requests_are_blocked_and_reported(chromium, tmp_path):
    page_path = _write(tmp_path / "net.html", """\
        <!doctype html><html><head><meta charset="utf-8"><title>net</title></head><body>
        <img src="https://example.com/x.png">
        <script src="http://127.0.0.1:9/x.js"></script>
        <script>window.sock = new WebSocket("ws://127.0.0.1:9/sock");</script>
        </body></html>""")
    with open_page(chromium, page_path, wait_for=None) as visit:
        for _ in range(50):  # the WebSocket route is called asynchronously
            if "ws://127.0.0.1:9/sock" in visit.blocked:
                break
            visit.page.wait_for_timeout(100)
        assert "https://example.com/x.png" in visit.blocked
        assert "http://127.0.0.1:9/x.js" in visit.blocked
        assert "ws://127.0.0.1:9/sock" in visit.blocked
        assert {"https://example.com/x.png", "http://127.0.0.1:9/x.js"} <= set(visit.requests)
        assert page_path.resolve().as_uri() not in visit.blocked
        with pytest.raises(AssertionError, match="example.com/x.png"):
            assert_clean(visit)


def test_uncaught_exception_is_a_console_error(chromium, tmp_path):
    page_path = _write(tmp_path / "boom.html", """\
        <!doctype html><html><head><meta charset="utf-8"><title>boom</title></head><body>
        <script>throw new Error("boom")</script>
        <script>console.error("said " + "loudly")</script>
        </body></html>""")
    with open_page(chromium, page_path, wait_for=None) as visit:
        assert any("boom" in e for e in visit.console_errors), visit.console_errors
        assert any("said loudly" in e for e in visit.console_errors), visit.console_errors
        assert visit.blocked == []
        with pytest.raises(AssertionError, match="boom"):
            assert_clean(visit)


def test_files_outside_allow_dir_are_blocked(chromium, tmp_path):
    inside, outside = tmp_path / "site" / "in.png", tmp_path / "elsewhere" / "out.png"
    for p in (inside, outside):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(PNG_SIGNATURE)  # the content does not matter
    page_path = _write(tmp_path / "site" / "page.html", f"""\
        <!doctype html><html><head><meta charset="utf-8"><title>files</title></head><body>
        <img src="in.png"><img src="{outside.as_uri()}">
        </body></html>""")

    with open_page(chromium, page_path, wait_for=None) as visit:
        assert visit.blocked == [outside.as_uri()]
        assert inside.as_uri() in visit.requests
    # allow_dir widens what may be read
    with open_page(chromium, page_path, wait_for=None, allow_dir=tmp_path) as visit:
        assert visit.blocked == []
        assert {inside.as_uri(), outside.as_uri()} <= set(visit.requests)


def _inner_pytest(tmp_path: Path, tests: dict[str, str], env_extra: dict) -> subprocess.CompletedProcess:
    """Run pytest on generated test files (name -> source), in its own process (tests/ on the path)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for name, source in tests.items():
        (tmp_path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    env = {**os.environ, **env_extra, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-c", str(tmp_path / "pytest.ini"), *(str(tmp_path / n) for n in tests)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_other_tests_can_use_asyncio_after_a_browser_test(tmp_path):
    # Playwright's sync API leaves its loop marked "running"; the fixture's guard must clear it.
    # Two modules import the fixture: pytest makes two session fixtures, which share one browser.
    second = """\
        import asyncio
        from _browser import chromium

        def test_5_other_module(chromium):
            page = chromium.new_page()
            assert page.evaluate("3 + 3") == 6
            page.close()

        def test_6_asyncio_at_the_end():
            assert asyncio.run(asyncio.sleep(0, result=9)) == 9
        """
    result = _inner_pytest(tmp_path, {"test_a.py": """\
        import asyncio
        import pytest
        from _browser import chromium, outside_playwright

        def test_1_browser(chromium):
            page = chromium.new_page()
            page.goto("about:blank")
            with pytest.raises(RuntimeError, match="running event loop"):
                asyncio.run(asyncio.sleep(0))
            with outside_playwright():
                assert asyncio.run(asyncio.sleep(0, result=1)) == 1
            assert page.evaluate("2 + 2") == 4
            page.close()

        def test_2_asyncio_after():
            assert asyncio.run(asyncio.sleep(0, result=42)) == 42

        def test_3_browser_again(chromium):
            page = chromium.new_page()
            assert page.evaluate("1 + 1") == 2
            page.close()

        def test_4_asyncio_last():
            assert asyncio.run(asyncio.sleep(0, result=7)) == 7
        """, "test_b.py": second}, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout


def test_missing_chromium_fails_with_install_hint(tmp_path):
    result = _inner_pytest(tmp_path, {"test_inner.py": """\
        from _browser import chromium

        def test_needs_browser(chromium):
            pass
        """}, {"ENVQ_CHROMIUM": str(tmp_path / "no-such-chromium")})
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "1 error" in out and "skipped" not in out, out
    assert "no-such-chromium" in out and "apt-get install" in out and ".ci/run" in out, out
