"""Manual (laboratory) surface-water monitoring data from bureaus, CSV or XLSX, in envq's template.

The template (docs/water.md) is one row per sample::

    section,time,ph,do(mg/L),codmn(mg/L),nh3n(mg/L),tp(mg/L),hg(ug/L),cd(mg/L),...

* ``section`` (断面名称) and ``time`` (监测时间: ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``; an Excel
  date cell is accepted) are required.
* Every other column is one item, named by its canonical code (``ph, do, codmn, cod, bod5, nh3n,
  tp, tn, cu, zn, f, se, as, hg, cd, cr6, pb, cn, phenol, petroleum, las, sulfide,
  fecal_coliform, water_temp, chla, sd, conductivity, turbidity``), its Chinese name (``氨氮``) or
  a common abbreviation (``NH3-N``, ``CODMn``, ``DO``), **followed by its unit** in parentheses
  (``氨氮(mg/L)``, ``hg(ug/L)``; full-width parentheses, ``[unit]`` and ``name_unit`` such as
  ``DO_mg_L`` are accepted too). Only pH may omit the unit.
* Cells: a number; ``0.002L`` (or ``<0.002``) = below the detection limit 0.002 (in the column's
  unit); ``-``, ``--``, ``—``, ``/`` or empty = not measured.

Everything is converted here, once, to canonical names and units (mg/L; pH dimensionless;
fecal coliform count/L; chla mg/m3; SD m), into the canonical long table of
:func:`envq.sources.cnemc_water.to_long` with ``source_kind = "manual"``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from envq.errors import InputError
from envq.sources.checks import check_times
from envq.sources.cnemc_water import LONG_COLUMNS
from envq.sources.files import read_bytes
from envq.sources.csvfile import MAX_FIELD_CHARS, read_csv_table, separator_hint

__all__ = [
    "TEMPLATE_ITEMS",
    "ITEM_UNITS",
    "UNIT_FACTORS",
    "MISSING_TOKENS",
    "read_manual_water",
    "write_template",
    "parse_header",
]

#: Items of the template, in Table-1 order, then the trophic and field parameters.
TEMPLATE_ITEMS = (
    "water_temp", "ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "cu", "zn", "f", "se",
    "as", "hg", "cd", "cr6", "pb", "cn", "phenol", "petroleum", "las", "sulfide", "fecal_coliform",
    "chla", "sd", "conductivity", "turbidity",
)

#: Canonical unit of each item.
ITEM_UNITS = {c: "mg/L" for c in TEMPLATE_ITEMS}
ITEM_UNITS.update(water_temp="degC", ph="1", fecal_coliform="count/L", chla="mg/m3", sd="m",
                  conductivity="uS/cm", turbidity="NTU")

#: (canonical unit, unit written in a header) -> factor to the canonical unit.
UNIT_FACTORS = {
    ("mg/L", "mg/l"): 1.0, ("mg/L", "ug/l"): 1e-3, ("mg/L", "ng/l"): 1e-6, ("mg/L", "g/l"): 1e3,
    ("mg/m3", "mg/m3"): 1.0, ("mg/m3", "ug/l"): 1.0, ("mg/m3", "mg/l"): 1e3,
    ("count/L", "count/l"): 1.0, ("count/L", "个/l"): 1.0, ("count/L", "mpn/l"): 1.0,
    ("count/L", "cfu/l"): 1.0, ("count/L", "mpn/100ml"): 10.0, ("count/L", "cfu/100ml"): 10.0,
    ("count/L", "个/100ml"): 10.0,
    ("degC", "degc"): 1.0, ("degC", "℃"): 1.0, ("degC", "°c"): 1.0, ("degC", "c"): 1.0,
    ("1", ""): 1.0, ("1", "1"): 1.0, ("1", "无量纲"): 1.0, ("1", "dimensionless"): 1.0,
    ("1", "pH"): 1.0,
    ("m", "m"): 1.0, ("m", "cm"): 0.01,
    ("uS/cm", "us/cm"): 1.0, ("uS/cm", "ms/m"): 10.0,
    ("NTU", "ntu"): 1.0,
}

#: Cells meaning "not measured".
MISSING_TOKENS = ("", "-", "--", "—", "/", "nan", "NaN")

_ALIASES = {
    "water_temp": ["水温", "wt", "temp", "temperature", "watertemp"],
    "ph": ["ph值", "ph"],
    "do": ["溶解氧", "do", "dissolvedoxygen"],
    "codmn": ["高锰酸盐指数", "codmn", "permanganateindex", "imn"],
    "cod": ["化学需氧量", "cod", "codcr"],
    "bod5": ["五日生化需氧量", "bod5", "bod"],
    "nh3n": ["氨氮", "nh3n", "nh3", "nh4n", "ammonia"],
    "tp": ["总磷", "tp"],
    "tn": ["总氮", "tn"],
    "cu": ["铜", "cu"],
    "zn": ["锌", "zn"],
    "f": ["氟化物", "f", "fluoride"],
    "se": ["硒", "se"],
    "as": ["砷", "as"],
    "hg": ["汞", "hg"],
    "cd": ["镉", "cd"],
    "cr6": ["铬(六价)", "六价铬", "cr6", "cr6+", "crvi", "cr(vi)"],
    "pb": ["铅", "pb"],
    "cn": ["氰化物", "cn", "cyanide"],
    "phenol": ["挥发酚", "phenol", "volatilephenol"],
    "petroleum": ["石油类", "petroleum", "oil"],
    "las": ["阴离子表面活性剂", "las"],
    "sulfide": ["硫化物", "sulfide", "s2-"],
    "fecal_coliform": ["粪大肠菌群", "fecalcoliform", "fecal_coliform", "faecalcoliform"],
    "chla": ["叶绿素a", "叶绿素α", "chla", "chl-a", "chlorophylla"],
    "sd": ["透明度", "sd", "secchidepth", "transparency"],
    "conductivity": ["电导率", "conductivity", "ec"],
    "turbidity": ["浊度", "turbidity"],
}
_NAME = {}
for _code, _names in _ALIASES.items():
    for _n in [_code, *_names]:
        _NAME[re.sub(r"[\s\-_]", "", _n.lower())] = _code

_SECTION_NAMES = ("section", "断面名称", "断面")
_TIME_NAMES = ("time", "监测时间", "采样时间", "date", "采样日期")
_IGNORED_NAMES = ("code", "断面编码", "note", "备注", "remark")
_UNIT_TOKEN = {"mg_l": "mg/L", "ug_l": "ug/L", "ng_l": "ng/L", "mg_m3": "mg/m3", "us_cm": "uS/cm"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BDL = re.compile(r"^(?:<\s*)?([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?:[Ll])?$")


def _norm_unit(u: str) -> str:
    u = u.strip().replace("μ", "u").replace("µ", "u").replace("³", "3").replace(" ", "")
    return u if u == "pH" else u.lower()


def parse_header(name: str) -> tuple[str | None, str | None, float | None, str]:
    """Split a template header into ``(item code, unit as written, factor, problem)``.

    Returns ``(None, None, None, problem)`` when the header is not an item column.

    Examples
    --------
    >>> parse_header("氨氮(mg/L)")[:3]
    ('nh3n', 'mg/L', 1.0)
    >>> parse_header("hg（ug/L）")[:3]
    ('hg', 'ug/L', 0.001)
    >>> parse_header("DO_mg_L")[:3]
    ('do', 'mg/L', 1.0)
    >>> parse_header("pH")[:3]
    ('ph', '', 1.0)
    """
    text = name.strip().replace("（", "(").replace("）", ")")
    unit = None
    m = re.match(r"^(.*?)\s*[\(\[]([^()\[\]]*)[\)\]]\s*$", text)
    if m and _NAME.get(re.sub(r"[\s\-_]", "", m.group(1).lower())) is not None:
        base, unit = m.group(1), m.group(2)
    else:
        base = text
        for token, u in _UNIT_TOKEN.items():
            if text.lower().endswith("_" + token):
                base, unit = text[: -len(token) - 1], u
                break
    code = _NAME.get(re.sub(r"[\s\-_]", "", base.lower()))
    if code is None:
        code = _NAME.get(re.sub(r"[\s\-_]", "", text.lower()))
        unit = None if code is None else unit
    if code is None:
        return None, None, None, "is not an item of the template (see docs/water.md)"
    if unit is None:
        if code == "ph":
            return code, "", 1.0, ""
        return code, None, None, f"has no unit: write it as {code}({ITEM_UNITS[code]}) (units are required in the header)"
    factor = UNIT_FACTORS.get((ITEM_UNITS[code], _norm_unit(unit)))
    if factor is None:
        return code, unit, None, f"has a unit {unit!r} that envq cannot convert to {ITEM_UNITS[code]} for {code}"
    return code, unit.strip(), factor, ""


def _xlsx_strings(path, sheet) -> tuple[pd.DataFrame, np.ndarray]:
    import io
    import zipfile

    import openpyxl

    raw = read_bytes(path)  # size bound; a gzip file is refused by openpyxl below
    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise InputError(path, None, None, None, f"is not a readable .xlsx workbook ({type(exc).__name__}: "
                         f"{exc}); save it again from Excel or WPS as .xlsx, or as CSV (UTF-8)") from None
    try:
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        fws = formulas[sheet] if sheet is not None else formulas.worksheets[0]
    except KeyError:
        raise InputError(path, None, None, sheet, f"is not a sheet of the workbook (sheets: {', '.join(wb.sheetnames)})") from None
    rows, numbers = [], []
    header = None
    for i, (row, frow) in enumerate(zip(ws.iter_rows(values_only=True), fws.iter_rows(values_only=True)), start=1):
        for j, (v, f) in enumerate(zip(row, frow)):
            if v is None and isinstance(f, str) and f.startswith("="):  # a formula nobody computed
                raise InputError(path, i, header[j] if header and j < len(header) else None, f,
                                 "is a formula without a computed value (the workbook was written by a program, "
                                 "not saved by Excel or WPS): open and save it in Excel or WPS, or type the value")
        cells = ["" if v is None else _cell_text(v) for v in row]
        if header is None:
            if not any(cells):
                continue
            header = [c.strip() for c in cells]
            header_row = i
            continue
        if not any(c.strip() for c in cells):
            continue
        for j, c in enumerate(cells):
            if len(c) > MAX_FIELD_CHARS:
                raise InputError(path, i, header[j] if j < len(header) else None, c, f"is {len(c):,} characters "
                                 f"long, more than the {MAX_FIELD_CHARS:,} envq accepts in a cell")
        rows.append((cells + [""] * len(header))[: len(header)])
        numbers.append(i)
    wb.close()
    formulas.close()
    if header is None:
        raise InputError(path, None, None, "", "is empty: the sheet has no header")
    while header and header[-1] == "":
        header.pop()
        rows = [r[: len(header)] for r in rows]
    df = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)
    df.attrs["header_row"] = header_row
    return df, np.asarray(numbers, dtype=np.int64)


def _cell_text(v) -> str:
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def read_manual_water(path, *, sheet: str | None = None, section_field: str | None = None,
                      time_field: str | None = None, ignore_fields=(), ignore_unknown: bool = False,
                      encoding: str = "utf-8") -> pd.DataFrame:
    """Read manual monitoring data in envq's template (CSV or XLSX) into the canonical long table.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv`` (``.csv.gz`` accepted) or ``.xlsx``.
    sheet : str, optional
        XLSX sheet name (default the first sheet).
    section_field, time_field : str, optional
        Header of the section and time columns when they are not ``section``/``断面名称`` and
        ``time``/``监测时间``.
    ignore_fields : iterable of str
        Other columns to skip (e.g. ``("report", "source_url")``).
    ignore_unknown : bool
        Skip every column that is not an item instead of failing.

    Returns
    -------
    pandas.DataFrame
        Columns ``section, time, item, value, below_detection, source_kind ("manual"), file,
        row`` (row = 1-based line in the CSV, or row in the sheet). ``value`` is in the canonical
        unit; where ``below_detection`` is True it is the detection limit. Cells meaning "not
        measured" are not rows.

    Raises
    ------
    envq.errors.InputError
        Header without unit, unknown or unconvertible unit, unknown column, a cell that is not a
        number / ``<number>L`` / a not-measured token, an empty section, an unreadable time (or
        one before 1970 or in the future), the same item of a section at the same time twice
        with different values (equal ones are kept once, listed in
        ``attrs["duplicates_dropped"]``), and every problem of the file as a table
        (:mod:`envq.sources.csvfile`).

    Notes
    -----
    A file with a header and no data rows gives an empty table whose ``attrs["units"]`` lists
    the items (a way to check a template, e.g. :func:`write_template`'s); ``attrs["data_rows"]``
    is 0. The reader dispatcher (:func:`envq.sources.dispatch.read_water`, used by the command
    line and the nightly run) refuses such a file: "FILE has a header but no data rows".

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "m.csv")
    ...     _ = open(p, "w", encoding="utf-8").write("section,time,nh3n(mg/L),cd(ug/L),pb(mg/L)\\n"
    ...                                              "昭山,2026-07-15,0.35,2L,-\\n")
    ...     long = read_manual_water(p)
    >>> long[["item", "value", "below_detection"]].values.tolist()
    [['nh3n', 0.35, False], ['cd', 0.002, True]]
    """
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        df, rows = _xlsx_strings(path, sheet)
    else:
        df, rows = read_csv_table(path, encoding, rows_required=False)
    header = list(df.columns)
    sec_col = section_field or next((c for c in header if c.lower() in _SECTION_NAMES), None)
    time_col = time_field or next((c for c in header if c.lower() in _TIME_NAMES), None)
    missing = [n for n, c in (("section", sec_col), ("time", time_col)) if c is None or c not in header]
    if missing:
        hint = separator_hint(header)
        raise InputError(path, 1, ", ".join(missing), ",".join(header[:12]),
                         f"is the header, which lacks the required column(s) {', '.join(missing)} "
                         "(the template starts section,time,...; see docs/water.md)" + (f"; {hint}" if hint else ""))
    skip = {sec_col, time_col, *ignore_fields}
    items = []
    seen = {}
    for col in header:
        if col in skip or col.lower() in _IGNORED_NAMES:
            continue
        code, unit, factor, problem = parse_header(col)
        if code is None and ignore_unknown:
            continue
        if problem:
            raise InputError(path, 1, col, col, problem)
        if code in seen:
            raise InputError(path, 1, col, col, f"repeats item {code} (already in column {seen[code]!r})")
        seen[code] = col
        items.append((col, code, factor))

    sec = df[sec_col].astype(str).str.strip()
    empty = (sec == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(path, int(rows[i]), sec_col, "", "is empty: every sample needs a section name")
    tt = df[time_col].astype(str).str.strip()
    times = pd.to_datetime(tt, format="ISO8601", errors="coerce")
    bad = times.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, int(rows[i]), time_col, tt.iloc[i], "is not a date or time (expected YYYY-MM-DD or YYYY-MM-DD HH:MM)")
    times = check_times(path, times.to_numpy(), rows, time_col, tt.to_numpy())  # 1970..now, then in ns

    frames = []
    for col, code, factor in items:
        s = df[col].astype(str).str.strip()
        miss = s.isin(MISSING_TOKENS).to_numpy()
        num = pd.to_numeric(s.where(s.str.fullmatch(_NUMBER.pattern), None), errors="coerce").to_numpy(np.float64)
        ext = s.str.extract(_BDL)[0]
        is_bdl = (~np.isfinite(num)) & ext.notna().to_numpy() & ~miss
        num = np.where(is_bdl, pd.to_numeric(ext, errors="coerce").to_numpy(np.float64), num)
        bad = ~np.isfinite(num) & ~miss
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problem = ("is a non-detect without its detection limit: write it as e.g. 0.002L"
                       if s.iloc[i].upper() in ("ND", "L", "未检出", "<DL") else
                       "is not a number, a detection limit like 0.002L, or '-'/empty for not measured")
            raise InputError(path, int(rows[i]), col, s.iloc[i], problem)
        keep = ~miss
        frames.append(pd.DataFrame({
            "section": sec.to_numpy(object)[keep],
            "time": times[keep],
            "item": code,
            "value": num[keep] * factor,
            "below_detection": is_bdl[keep],
            "source_kind": "manual",
            "file": os.fspath(p.name),
            "row": rows[keep],
        }))
    if frames:
        out = pd.concat(frames, ignore_index=True)
        order = {c: i for i, (_, c, _) in enumerate(items)}
        out = out.iloc[np.lexsort((out["item"].map(order).to_numpy(), out["row"].to_numpy()))].reset_index(drop=True)
        out = _drop_duplicates(path, out, {code: col for col, code, _ in items}, {code: f for _, code, f in items})
    else:
        out = pd.DataFrame(columns=LONG_COLUMNS)
    out.attrs["units"] = {code: ITEM_UNITS[code] for _, code, _ in items}
    dropped = out.attrs.get("duplicates_dropped", [])
    out = out[LONG_COLUMNS]
    out.attrs["duplicates_dropped"] = dropped
    out.attrs["data_rows"] = len(rows)
    return out


def _drop_duplicates(path, out: pd.DataFrame, header_of: dict, factor_of: dict) -> pd.DataFrame:
    """The same item of a section at the same time given twice: once if equal, else an error."""
    key = ["section", "time", "item"]
    dup = out.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        out.attrs["duplicates_dropped"] = []
        return out
    sub = out[dup]
    g = sub.groupby(key, sort=False)
    first_row = g["row"].transform("first").to_numpy()
    first_val = g["value"].transform("first").to_numpy()
    first_bdl = g["below_detection"].transform("first").to_numpy()
    differ = (sub["value"].to_numpy() != first_val) | (sub["below_detection"].to_numpy() != first_bdl)
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        r = sub.iloc[i]
        f = factor_of[r["item"]]

        def shown(v, bdl):
            return f"{v / f:g}" + ("L" if bdl else "")

        when = f"{r['time']:%Y-%m-%d %H:%M}" if r["time"] != r["time"].normalize() else f"{r['time']:%Y-%m-%d}"
        raise InputError(path, int(r["row"]), header_of[r["item"]], shown(r["value"], r["below_detection"]),
                         f"differs from row {int(first_row[i])} ({shown(first_val[i], first_bdl[i])!r}), which has "
                         f"the same section {r['section']} and time {when}: duplicate samples must be identical "
                         "(give the sampling time, YYYY-MM-DD HH:MM, when a section is sampled twice a day)")
    later = sub.index[sub["row"].to_numpy() != first_row]
    dropped = [f"{path}: row {int(out.at[k, 'row'])} ({out.at[k, 'section']}, {out.at[k, 'item']}) repeats row {int(fr)}"
               for k, fr in zip(later, first_row[sub["row"].to_numpy() != first_row])]
    kept = out.drop(index=later).reset_index(drop=True)
    kept.attrs["duplicates_dropped"] = dropped
    return kept


def write_template(path, items=None) -> Path:
    """Write an empty manual-data template (header with canonical units) as CSV or XLSX.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv`` or ``.xlsx``.
    items : iterable of str, optional
        Items to include (default the 21 classification items, TN, fecal coliform, water
        temperature, chla and SD).
    """
    codes = list(items or [c for c in TEMPLATE_ITEMS if c not in ("conductivity", "turbidity")])
    header = ["section", "time"] + [c if c == "ph" else f"{c}({ITEM_UNITS[c]})" for c in codes]
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "data"
        ws.append(header)
        wb.save(p)
    else:
        p.write_text(",".join(header) + "\n", encoding="utf-8")
    return p
