"""The bulletin bureaus publish (环境质量状况及排名): tables, text and charts of any period, built from
the results in the store, written as CSV, xlsx and Markdown here and as HTML and PDF by
``maps.bulletin``. See docs/bulletin.md.
"""

from envq.bulletin.build import EDITIONS, PARTS, build_bulletin
from envq.bulletin.model import Bulletin, Section, Table
from envq.bulletin.nightly import RunBulletin, parts_with_results, run_bulletins
from envq.bulletin.output import bulletin_markdown, write_bulletin_csv, write_bulletin_xlsx

__all__ = ["build_bulletin", "Bulletin", "Section", "Table", "PARTS", "EDITIONS", "bulletin_markdown",
           "write_bulletin_csv", "write_bulletin_xlsx", "RunBulletin", "parts_with_results", "run_bulletins"]
