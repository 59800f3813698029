"""axe-core (vendored, ``tests/vendor/axe-core``) run on a page opened with ``_browser.open_page``.

The engine is injected into the page the test opened (an inline script: nothing is fetched) and
run on the whole document with its default rules (WCAG 2.0/2.1/2.2 A and AA and best practices).
:func:`serious` keeps the violations of impact "serious" or "critical".
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core"


@cache
def axe_source() -> str:
    return (AXE / "axe.min.js").read_text(encoding="utf-8")


def provenance_sha256() -> str:
    """The sha256 of ``axe.min.js`` as PROVENANCE.md records it."""
    text = (AXE / "PROVENANCE.md").read_text(encoding="utf-8")
    return re.search(r"`axe\.min\.js` \| \d+ \| `([0-9a-f]{64})`", text).group(1)


def file_sha256() -> str:
    return hashlib.sha256((AXE / "axe.min.js").read_bytes()).hexdigest()


def run_axe(page) -> list[dict]:
    """The violations axe finds on *page*: ``[{id, impact, help, nodes: [target...]}]``."""
    page.add_script_tag(content=axe_source())
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]
