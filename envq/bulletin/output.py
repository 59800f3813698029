"""Write a bulletin as CSV tables, an xlsx workbook and Markdown (the HTML and PDF are rendered by
``maps.bulletin``, the rendering layer).

- CSV: one file per table, program column names, UTF-8 with BOM, formulas neutralised
  (:func:`envq.tables.write_csv`).
- xlsx: one sheet per table with the Chinese headers, numbers as numbers shown with their
  published decimals, frozen header, readable widths (:func:`envq.tables.write_xlsx`), and a last
  sheet 说明 describing sources, editions, the day rule and the generation time.
- Markdown: the same bulletin as text and tables (the Prefect artifact of the nightly run).
"""

from __future__ import annotations

import re
from pathlib import Path

from envq.bulletin.model import Bulletin, Table
from envq.tables import Sheet, write_csv, write_xlsx

__all__ = ["SHEET_NAMES", "sheet_name", "write_bulletin_csv", "write_bulletin_xlsx", "bulletin_markdown"]

#: Table key (without the ``_ytd`` suffix) -> sheet name.
SHEET_NAMES = {
    "air_cities": "空气优良天数", "air_pollutants": "空气污染物与综合指数", "air_editions": "两版AQI标准",
    "water_systems": "水系水质", "water_basins": "流域水质", "water_reaches": "河段水质",
    "water_sections_missing_target": "未达标断面", "water_dongting": "洞庭湖",
}


def sheet_name(key: str) -> str:
    """``air_cities_ytd`` -> ``空气优良天数(累计)``."""
    base, ytd = (key[:-4], True) if key.endswith("_ytd") else (key, False)
    return SHEET_NAMES.get(base, base) + ("(累计)" if ytd else "")


def write_bulletin_csv(b: Bulletin, folder) -> list[Path]:
    """One CSV per table into *folder* (``<key>.csv``); the paths."""
    folder = Path(folder)
    return [write_csv(t.frame, folder / f"{t.key}.csv") for t in b.tables.values()]


def write_bulletin_xlsx(b: Bulletin, path) -> Path:
    """The bulletin as one workbook: a sheet per table, then 说明 (about)."""
    import pandas as pd

    sheets = [Sheet(sheet_name(t.key), t.frame, headers=dict(t.headers), decimals=dict(t.decimals), title=t.title,
                    notes=list(t.notes)) for t in b.tables.values()]
    about = pd.DataFrame(b.about, columns=["item", "value"])
    sheets.append(Sheet("说明", about, headers={"item": "项目 item", "value": "内容 value"}, title=b.title,
                        notes=list(b.notes)))
    return write_xlsx(sheets, path)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def _md(text) -> str:
    """Text from data made inert in Markdown (no link, no HTML, no table break)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    cols = list(t.frame.columns)
    lines = [f"**{_md(t.title)}**", "", "| " + " | ".join(_md(t.header(c)) for c in cols) + " |",
             "|" + "|".join("---:" if c in t.decimals or str(t.frame[c].dtype) in ("Int64", "int64") else "---"
                            for c in cols) + "|"]
    for row in t.frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md(t.text(c, v)) for c, v in zip(cols, row)) + " |")
    for n in t.notes:
        lines.append("")
        lines.append(f"注：{_md(n)}")
    lines.append("")
    return lines


def bulletin_markdown(b: Bulletin, *, tables: bool = True) -> str:
    """The bulletin as Markdown: title, generation time, each section's text and tables, about."""
    out = [f"# {_md(b.title)}", "", f"生成时间 generated: {_md(b.generated)}", ""]
    for s in b.sections:
        out += [f"## {_md(s.heading)}", ""]
        for p in s.paragraphs:
            out += [_md(p), ""]
        if tables:
            for key in s.tables:
                out += _md_table(b.tables[key])
    out += ["## 说明 About", ""]
    out += [f"- **{_md(k)}**: {_md(v)}" for k, v in b.about]
    for n in b.notes:
        out.append(f"- {_md(n)}")
    return "\n".join(out).rstrip() + "\n"
