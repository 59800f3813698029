"""Sources at the edge (issue 11, item 4): one reader dispatcher, no engine imported by
``envq.sources``, no private name imported across modules."""

from __future__ import annotations

import ast
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from envq.sources.adapters import Payload, parse_payloads
from envq.sources.dispatch import read_water, sniff_format

REPO = Path(__file__).resolve().parents[1]
ENGINES = ("envq.air", "envq.water", "envq.report", "envq.store", "geo", "maps", "flows")


def _imports(path: Path):
    """Every module a file imports (top level and inside functions), with the names taken."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                yield node.lineno, node.module, a.name


def test_sources_import_no_engine():
    found = [f"{p.relative_to(REPO)}:{line} imports {mod}"
             for p in sorted((REPO / "envq" / "sources").rglob("*.py"))
             for line, mod, _ in _imports(p) if mod.startswith(ENGINES)]
    assert found == []


def test_reading_and_parsing_load_no_engine(data_dir):
    """At run time too: the dispatcher and the adapters' parse leave the engines unimported."""
    code = (
        "import sys, datetime as d\n"
        "from envq.sources.adapters import Payload, parse_payloads\n"
        "from envq.sources.dispatch import read_air, read_water\n"
        f"read_air({str(data_dir / 'air/china_sites_20190101.csv.gz')!r})\n"
        f"read_water([{str(data_dir / 'water/National_Water_20260720.csv.gz')!r}])\n"
        f"parse_payloads('water', [Payload.from_path({str(data_dir / 'water/National_Water_20260720.csv.gz')!r})],"
        " d.date(2026, 7, 20), d.date(2026, 7, 20))\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('envq.air', 'envq.water', 'envq.report', "
        "'envq.store', 'prefect')))\n"
        "assert not bad, bad\n")
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, cwd=REPO)


MY_MODULES = [*(REPO / "envq" / "sources").rglob("*.py"), REPO / "envq/water/cli.py", REPO / "envq/water/reach_cli.py",
              REPO / "envq/water/demo.py", REPO / "envq/air/cli.py", REPO / "envq/air/pipeline.py"]


@pytest.mark.parametrize("path", sorted(MY_MODULES), ids=lambda p: str(p.relative_to(REPO)))
def test_no_private_name_imported_from_another_module(path):
    own_package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    bad = [f"{line}: from {mod} import {name}" for line, mod, name in _imports(path)
           if name and name.startswith("_") and not name.startswith("__")
           and not (mod == own_package and name in ("_parse",))]  # a package's own private module
    assert bad == []


HEADER = ("省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
          "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L)\n")
ROW = "湖南省,长江流域,昭山,2026-07-09 21:00,2,29.7,7.45,6.43,209.5,20.6,1.22,0.03,0.06,1.565,0.0021,\n"


@pytest.mark.parametrize("name, content", [
    ("w.csv", (HEADER + ROW).encode("utf-8")),
    ("w.txt", (HEADER + ROW).encode("utf-8")),              # the name says nothing
    ("w.csv", gzip.compress((HEADER + ROW).encode("utf-8"))),  # gzip without .gz
    ("w.csv", b"\xef\xbb\xbf" + (HEADER + ROW).encode("utf-8")),
    ("w.csv", (HEADER + ROW).replace("\n", "\r\n").encode("utf-8")),
])
def test_one_dispatcher_for_the_command_line_and_the_adapters(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    assert sniff_format(p) == "water_cnemc"
    cli = read_water([p]).long
    parsed = parse_payloads("water", [Payload.from_path(p)], "2026-07-09", "2026-07-09")
    assert cli[["section", "item", "value"]].values.tolist() == parsed[["section", "item", "value"]].values.tolist()
    assert ["昭山", "nh3n", 0.03] in cli[["section", "item", "value"]].values.tolist()
