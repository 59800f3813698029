"""The bulletin as pages: HTML (Jinja2, autoescaped, A4 print CSS, static SVG charts) and PDF
(printed from the HTML by headless Chromium), with the xlsx, CSV and Markdown of
:mod:`envq.bulletin` beside them; ``envq report``.

:func:`render_report` writes one period's bulletin into ``<output>/<period>/`` (``bulletin.html``,
``bulletin.pdf``, ``bulletin.xlsx``, ``bulletin.md``, ``csv/<table>.csv``): the files are
rendered into a temporary folder first, then the folder replaces the period's previous one, so
re-rendering a period replaces only that period and a failed render leaves it as it was.
``<output>/reports.json`` lists the periods held (往期) for the index page.

The HTML reads only the :class:`envq.bulletin.Bulletin` (itself built from stored results):
every number is the library's. Every text from data goes through :func:`maps.style.esc` (the
Jinja2 environment escapes everything it prints and applies ``esc``), the charts are inline SVG,
the fonts are the system's: nothing is fetched, and :func:`maps.assets.external_urls` checks it.

PDF printing needs Chromium: Debian's ``/usr/bin/chromium`` (or ``$ENVQ_CHROMIUM``) driven by
Playwright, never a downloaded browser (docs/bulletin.md, "Install").
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from maps.style import esc

__all__ = ["FORMATS", "DEFAULT_FORMATS", "reports_from_config", "bulletin_html", "print_pdf", "render_report", "Report", "chromium_path",
           "ChromiumMissing", "read_manifest", "register"]

FORMATS = ("xlsx", "html", "pdf", "md", "csv")
#: The files a run writes of each bulletin unless ``[reports] formats`` says otherwise.
DEFAULT_FORMATS = ("xlsx", "html", "pdf", "md")
DEFAULT_CHROMIUM = "/usr/bin/chromium"


def reports_from_config(config: dict, file: str = "envq.toml") -> tuple[str | None, list[str]]:
    """``[reports]`` of envq.toml: (``output`` folder or None, ``formats``), checked, so that a run
    refuses a wrong setting before it starts rather than failing its bulletins at the end.

    >>> reports_from_config({"reports": {"formats": "md, pdf"}})
    (None, ['md', 'pdf'])
    """
    from envq.errors import InputError

    conf = config.get("reports") or {}
    out = conf.get("output")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise InputError(file, None, "reports.output", out, "must be a folder (a text)")
    formats = conf.get("formats", list(DEFAULT_FORMATS))
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and f in FORMATS for f in formats):
        raise InputError(file, None, "reports.formats", conf.get("formats"),
                         f"must be a list among {', '.join(FORMATS)} (e.g. [\"xlsx\", \"pdf\"])")
    return out, list(formats)
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update")
INSTALL_HINT = ("install Debian's Chromium and a CJK font (as root: `apt-get update && apt-get install -y chromium "
                "fonts-wqy-microhei`), or point ENVQ_CHROMIUM at a Chromium binary; never `playwright install`")
#: Tables with more columns than this print on a landscape A4 page.
WIDE_COLUMNS = 12
#: Text cells of a column whose longest text is longer than this may wrap.
LONG_TEXT = 14
MANIFEST = "reports.json"

_CSS = """
@page { size: A4; margin: 16mm 14mm 16mm 14mm; }
@page wide { size: A4 landscape; margin: 12mm 10mm 14mm 10mm; }
* { box-sizing: border-box; }
body { font-size: 10.5pt; line-height: 1.6; color: #111; margin: 0; background: #fff; }
main { max-width: 190mm; margin: 0 auto; padding: 8mm 4mm; }
.cover { border-bottom: 2px solid #1F4E79; margin-bottom: 6mm; }
.issuer { color: #1F4E79; font-size: 10pt; letter-spacing: 0.1em; }
h1 { font-size: 19pt; margin: 2mm 0; text-align: center; }
.meta { text-align: center; color: #444; font-size: 9pt; margin-bottom: 3mm; }
.summary { font-size: 10pt; margin: 2mm 0 4mm 0; }
h2 { font-size: 13.5pt; color: #1F4E79; border-bottom: 1px solid #1F4E79; margin: 6mm 0 2mm; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; break-after: avoid; text-align: center; }
p { text-indent: 2em; margin: 1.5mm 0; text-align: justify; }
p.note { text-indent: 0; font-size: 8pt; color: #444; margin: 0.5mm 0; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; line-height: 1.3; }
th, td { border: 0.6pt solid #555; padding: 0.8mm 1mm; vertical-align: middle; }
td { white-space: nowrap; }
td.long { white-space: normal; min-width: 10em; }
th { min-width: 2.8em; }
th { background: #E8EEF4; font-weight: bold; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; background: #F6F8FA; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.table-block { margin: 2mm 0 4mm; }
.table-block.wide { page: wide; }
.table-block.wide table { font-size: 7pt; }
figure { margin: 3mm 0; break-inside: avoid; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 9pt; color: #333; }
.envq-about th { width: 28%; text-align: left; }
.envq-about td, .envq-about th { font-size: 8.5pt; }
.envq-about td { white-space: normal; overflow-wrap: anywhere; }
@media print { main { max-width: none; padding: 0; margin: 0; } }
@media screen { body { background: #F4F6F8; } main { background: #fff; box-shadow: 0 0 6px #bbb; margin: 12px auto; }
                .table-block.wide { overflow-x: auto; } .table-block.wide:focus { outline: 2px solid #1F4E79; } }
@media screen and (max-width: 640px) {
  main { padding: 3mm; } h1 { font-size: 16pt; } p { text-indent: 0; }
  /* a table of many columns: one block per row, each cell with its column's name (as the maps' index) */
  table.envq-table thead { display: none; }
  table.envq-table, table.envq-table tbody, table.envq-table tr, table.envq-table td { display: block; width: auto; }
  table.envq-table tr { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 8px; padding: 4px 8px; background: #fff; }
  table.envq-table td { border: 0; padding: 1px 0; text-align: left; white-space: normal; }
  table.envq-table td[data-label]::before { content: attr(data-label) "："; color: #555; font-size: .9em; }
  .envq-about th, .envq-about td { display: block; width: auto; }
  figure svg { width: 100%; }
}
"""

_CHART_TITLES = {"calendar": "各城市逐日空气质量类别（HJ 633类别颜色，格内数字为AQI，灰色为无有效数据）",
                 "monthly_ratio": "全省逐月优良天数比例与目标（柱：全省，绿色达标、红色未达标；虚线：目标）",
                 "water_classes": "各水系断面水质类别分布（个）"}


class ChromiumMissing(RuntimeError):
    """No Chromium to print the PDF with (the message says how to install it)."""


@dataclass
class Report:
    """What :func:`render_report` wrote: the period folder and the files by format."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# HTML


def _finalize(value):
    """Every value a template prints: ``""`` for None, markup kept, anything else through esc."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return Markup(esc(value))


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("maps", "templates"), autoescape=select_autoescape(default=True),
                       finalize=_finalize, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _rows(t):
    """The table's rows as printed (published decimals; numeric cells right-aligned)."""
    import pandas as pd

    numeric = {c for c in t.frame.columns if pd.api.types.is_numeric_dtype(t.frame[c])
               and not pd.api.types.is_bool_dtype(t.frame[c])}
    out = []
    last = len(t.frame) - 1
    texts = [[t.text(c, v) for c, v in zip(t.frame.columns, row)] for row in t.frame.itertuples(index=False)]
    long = [c not in numeric and max((len(r[j]) for r in texts), default=0) > LONG_TEXT
            for j, c in enumerate(t.frame.columns)]
    for i, row in enumerate(t.frame.itertuples(index=False)):
        cells = [{"text": texts[i][j], "num": c in numeric, "long": long[j], "label": t.header(c)}
                 for j, c in enumerate(t.frame.columns)]
        first = str(row[0]) if len(row) else ""
        out.append({"cells": cells, "total": i == last and first in ("湖南省", "全省")})
    return out


def _charts(b) -> dict[str, str]:
    from maps.bulletin_charts import calendar_chart, class_chart, ratio_chart

    out = {}
    if "calendar" in b.charts:
        from envq import standards

        out["calendar"] = calendar_chart(b.charts["calendar"], start=b.period.start, end=b.period.end,
                                         edition=standards.edition_for("hj633", b.period.end))
    if "monthly_ratio" in b.charts:
        from envq.targets import AIR, Targets

        m = b.charts["monthly_ratio"]
        prov = m[m["scope"] == "province"]
        target = float(prov["target"].iloc[-1]) if len(prov) else Targets().get(AIR, "province", "湖南省", b.period.year)
        out["monthly_ratio"] = ratio_chart(m, target=target, year=b.period.year)
    if "water_classes" in b.charts:
        out["water_classes"] = class_chart(b.charts["water_classes"])
    return out


def _summary(b) -> list[str]:
    from envq.bulletin.words import num

    f = getattr(b, "facts", {})
    out = []
    air = f.get("air") or {}
    if air.get("province_ratio") == air.get("province_ratio") and "province_ratio" in air:
        out.append(f"全省平均优良天数比例 {num(air['province_ratio'], 1)}%"
                   + (f"；优良天数比例100%的城市：{'、'.join(air['cities_100'])}" if air.get("cities_100") else ""))
    if air.get("best"):
        out.append(f"综合指数最好：{'、'.join(air['best'])}；最差：{'、'.join(air['worst'])}")
    water = f.get("water") or {}
    if "province_share" in water and water["province_share"] == water["province_share"]:
        out.append(f"全省Ⅰ~Ⅲ类水质断面比例 {num(water['province_share'], 1)}%")
    return out


def bulletin_html(b) -> str:
    """The bulletin as one self-contained HTML page (A4 print CSS, inline SVG charts).

    Raises :class:`maps.assets.ExternalReferenceError` if anything external were left in it.
    """
    from maps.assets import ExternalReferenceError, external_urls

    tpl = _environment().get_template("bulletin.html.j2")
    charts = {k: Markup(v) for k, v in _charts(b).items()}
    from maps.layout import PAGE_CSS

    html = tpl.render(b=b, page_css=Markup(PAGE_CSS), css=Markup(_CSS), charts=charts, chart_titles=_CHART_TITLES, rows=_rows,
                      wide_columns=WIDE_COLUMNS, summary=_summary(b))
    left = external_urls(html)
    if left:
        raise ExternalReferenceError(left, where="bulletin.html")
    return html


# ------------------------------------------------------------------------------------------------
# PDF


def chromium_path() -> str:
    """``$ENVQ_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return os.environ.get("ENVQ_CHROMIUM") or DEFAULT_CHROMIUM


def _print(html_path: Path, pdf_path: Path, exe: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=list(CHROMIUM_ARGS))
        try:
            ctx = browser.new_context()
            ctx.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(("file:", "data:", "about:")) else route.abort())
            page = ctx.new_page()
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_path), print_background=True, prefer_css_page_size=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#555;'
                                     'font-family:sans-serif">第 <span class="pageNumber"></span> 页 / 共 '
                                     '<span class="totalPages"></span> 页</div>')
        finally:
            browser.close()


def print_pdf(html_path, pdf_path) -> Path:
    """Print *html_path* to *pdf_path* (A4, backgrounds, page numbers) with headless Chromium.

    Runs in its own thread: Playwright's sync API may not run inside an event loop (a Prefect
    task) and leaves its loop marked in the calling thread. Network other than ``file:`` is
    blocked. Raises :class:`ChromiumMissing` with the install command when there is no browser.
    """
    exe = chromium_path()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ChromiumMissing(f"Chromium not found at {exe}, needed to print the PDF: {INSTALL_HINT}")
    try:
        import playwright  # noqa: F401
    except ImportError as exc:  # pragma: no cover - a dependency of envq
        raise ChromiumMissing(f"the playwright package is missing ({exc}); reinstall envq") from None
    pdf_path = Path(pdf_path)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="envq-pdf") as ex:
        ex.submit(_print, Path(html_path), pdf_path, exe).result()
    return pdf_path


# ------------------------------------------------------------------------------------------------
# a period's folder


def read_manifest(output) -> dict:
    """``<output>/reports.json``: ``{"periods": {label: {"title", "generated", "files": {fmt: rel}}}}``."""
    p = Path(output) / MANIFEST
    if not p.is_file():
        return {"periods": {}}
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
        return m if isinstance(m.get("periods"), dict) else {"periods": {}}
    except (ValueError, AttributeError):
        return {"periods": {}}


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)
    return path


def render_report(b, output, *, formats=("xlsx", "html", "pdf", "md", "csv")) -> Report:
    """Write bulletin *b* into ``<output>/<period label>/`` in *formats*, replacing only that
    period's folder, and list it in ``<output>/reports.json``.

    The HTML is written whenever the PDF is asked for (the PDF is printed from it). If the PDF
    cannot be printed (no Chromium), the other files are still published and the error is raised
    after, naming what was written.
    """
    from envq.bulletin.output import bulletin_markdown, write_bulletin_csv, write_bulletin_xlsx

    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        from envq.errors import UsageError

        raise UsageError(f"unknown format(s) {', '.join(bad)}; choose among {', '.join(FORMATS)}")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    label = b.period.label
    final = out / label
    work = out / f".{label}.tmp{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    files: dict[str, Path] = {}
    pdf_error = None
    try:
        if "xlsx" in formats:
            files["xlsx"] = write_bulletin_xlsx(b, work / "bulletin.xlsx")
        if "csv" in formats:
            write_bulletin_csv(b, work / "csv")
            files["csv"] = work / "csv"
        if "md" in formats:
            files["md"] = _write_text(work / "bulletin.md", bulletin_markdown(b))
        if "html" in formats or "pdf" in formats:
            files["html"] = _write_text(work / "bulletin.html", bulletin_html(b))
        if "pdf" in formats:
            try:
                files["pdf"] = print_pdf(files["html"], work / "bulletin.pdf")
            except ChromiumMissing as exc:
                pdf_error = exc
        # swap the period's folder: the old one out, the new one in
        old = out / f".{label}.old{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(work, final)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = {k: final / v.relative_to(work) for k, v in files.items()}
    manifest = read_manifest(out)
    manifest["periods"][label] = {"title": b.title, "generated": b.generated, "start": b.period.start.isoformat(),
                                  "end": b.period.end.isoformat(),
                                  "files": {k: str(v.relative_to(out)) for k, v in files.items()}}
    manifest["periods"] = dict(sorted(manifest["periods"].items()))
    _write_text(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    rep = Report(final, files)
    if pdf_error is not None:
        raise ChromiumMissing(f"{pdf_error} (written: {', '.join(str(p) for p in files.values())})")
    return rep


# ------------------------------------------------------------------------------------------------
# envq report


def register(sub):
    """Add ``envq report`` to the ``envq`` parser (through the ``envq.commands`` entry point)."""
    import argparse

    p = sub.add_parser("report", help="write the bulletin of a period (xlsx, HTML, PDF, Markdown, CSV) from the store",
                       description="Write the air and water bulletin of a period (环境质量状况及排名: ratios, 同比/环比, "
                                   "rankings, targets) from the results in the store, into OUTPUT/<period>/. "
                                   "Re-writing a period replaces only that period's folder.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--period", required=True,
                   help="any period: 2019-08 (month, with 1-8月 beside it), 2019-Q3, 2019-H1, 2019, 2019-YTD")
    p.add_argument("--format", default="xlsx,html,pdf,md",
                   help=f"comma-separated formats among {', '.join(FORMATS)} (default xlsx,html,pdf,md; csv adds one "
                        "CSV per table)")
    p.add_argument("--output", "-o", required=True, help="folder of the reports; the period's files go into OUTPUT/<period>/")
    p.add_argument("--store", default=None, help="store folder (default $ENVQ_HOME or ./envq-data)")
    p.add_argument("--parts", default="air,water", help="air, water or both (default air,water)")
    p.add_argument("--editions", choices=("auto", "both"), default="auto",
                   help="auto: each figure under the AQI edition in force on its days; both: also the period's air "
                        "figures under HJ 633-2012 and HJ 633-2026 side by side")
    p.set_defaults(func=_report)
    return p


def _report(args) -> int:
    import sys

    from envq.bulletin import build_bulletin
    from envq.store import Store, StoreError

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        print(f"envq report: unknown format {', '.join(bad) or '(none)'}; choose among {', '.join(FORMATS)}",
              file=sys.stderr)
        return 2
    try:
        store = Store(args.store, create=False)
        b = build_bulletin(store, args.period, parts=parts, editions=args.editions)
        rep = render_report(b, args.output, formats=formats)
    except ChromiumMissing as exc:
        print(f"envq report: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:   # no store there (usage, input, no-data errors: envq.cli, exit 2; others exit 1)
        print(f"envq report: {exc}", file=sys.stderr)
        return 2
    for fmt, path in rep.files.items():
        print(f"{fmt}\t{path}")
    return 0
