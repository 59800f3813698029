"""The reader dispatcher: which reader a file needs, decided in one place.

Every entry point that reads monitoring files (the ``envq air`` and ``envq water`` commands, the
source adapters of the nightly run, the demo) goes through :func:`read_air` and
:func:`read_water`, which recognise a file's format by :func:`sniff_format` and call the reader
of :mod:`envq.sources` for it:

=================  ==========================================================  ===============================
format             recognised by                                              reader
=================  ==========================================================  ===============================
``air_archive``    a folder, or a header starting ``date,hour,type``           :func:`~envq.sources.cnemc_archive.read_cnemc_archive`
``air_live_csv``   a header with ``timepoint`` and ``stationcode``             :func:`~envq.sources.cnemc_live.read_cnemc_live`
``air_live_json``  a ``.json``/``.geojson`` name, or text starting ``{``/``[``  :func:`~envq.sources.cnemc_live.read_cnemc_live`
``water_cnemc``    a header with ``断面名称`` and ``水质类别``                  :func:`~envq.sources.cnemc_water.read_cnemc_water`
``water_manual``   an ``.xlsx``/``.xlsm`` name, or any other CSV               :func:`~envq.sources.manual_water.read_manual_water`
=================  ==========================================================  ===============================

gzip is recognised by content (``.gz`` names are not needed). Encodings: ``"auto"`` (the
default here) reads UTF-8, or GB18030 with a warning (:func:`envq.sources.files.read_text`).
"""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from envq.errors import InputError
from envq.sources.files import as_paths, binary_kind, check_encoding, read_head

__all__ = ["AIR_FORMATS", "WATER_FORMATS", "sniff_format", "read_air", "read_water", "read_water_file", "WaterFiles"]

AIR_FORMATS = ("air_archive", "air_live_csv", "air_live_json")
WATER_FORMATS = ("water_cnemc", "water_manual")
_WORKBOOK = (".xlsx", ".xlsm")


def _first_line(path, encoding: str | None) -> str:
    head = read_head(path)
    if (kind := binary_kind(head)) is not None and Path(path).suffix.lower() not in _WORKBOOK:
        raise InputError(path, None, None, None, kind)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    elif line[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head.decode("utf-16", errors="ignore").split("\n", 1)[0].strip()
    enc = check_encoding(encoding)
    if enc is not None:
        return line.decode(enc, errors="replace").strip()
    try:
        return line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return line.decode("gb18030", errors="replace").strip()


def sniff_format(path, *, encoding: str | None = None) -> str:
    """The format of a file (or folder): one of :data:`AIR_FORMATS` and :data:`WATER_FORMATS`.

    Raises
    ------
    envq.errors.InputError
        A file of no known format (naming the header found), a damaged gzip file, a binary file.
    FileNotFoundError
        No such file or folder.

    Examples
    --------
    >>> from envq.sources.files import default_data_dir
    >>> [sniff_format(default_data_dir() / f) for f in ("air/china_sites_20190101.csv.gz",
    ...  "air/cnemc_live_2026-03-10T09.csv", "water/National_Water_20260720.csv.gz")]
    ['air_archive', 'air_live_csv', 'water_cnemc']
    """
    p = Path(path)
    if p.is_dir():
        return "air_archive"
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(p))
    name = p.name.lower()
    if name.endswith((".json", ".geojson", ".json.gz", ".geojson.gz")):
        return "air_live_json"
    if name.endswith(_WORKBOOK):
        return "water_manual"
    head = _first_line(p, encoding)
    if head.lstrip()[:1] in ("{", "["):
        return "air_live_json"
    cols = [c.strip().strip('"') for c in head.split(",")]
    if cols[:3] == ["date", "hour", "type"]:
        return "air_archive"
    if "timepoint" in cols and "stationcode" in cols:
        return "air_live_csv"
    if "断面名称" in head and "水质类别" in head:
        return "water_cnemc"
    return "water_manual"


def _air_format(path, encoding) -> str:
    kind = sniff_format(path, encoding=encoding)
    if kind in AIR_FORMATS:
        return kind
    if Path(path).suffix.lower() in _WORKBOOK:
        raise InputError(path, None, None, None, "is a workbook, not a CNEMC air file (archive or live CSV, live JSON)")
    head = _first_line(path, encoding)
    if not head:
        raise InputError(path, None, None, "", "is empty: the file has no header")
    if kind == "water_cnemc":
        raise InputError(path, 1, None, head, "is the header of a CNEMC surface-water file: read it with `envq water ...`")
    from envq.sources.csvfile import separator_hint

    hint = separator_hint([head])
    raise InputError(path, 1, None, head, "is not the header of a CNEMC archive (date,hour,type,...) or live "
                     "(timepoint,stationcode,...) file" + (f"; {hint}" if hint else ""))


def read_air(path_or_paths, *, stations: pd.DataFrame | None = None, encoding: str | None = "auto",
             **kwargs) -> xr.Dataset:
    """Read air files or folders of one kind (archive, or live CSV/JSON) into the canonical hourly dataset.

    Parameters
    ----------
    path_or_paths : str, os.PathLike, or a list of them
        Files and folders (a folder holds archive files).
    stations : pandas.DataFrame, optional
        Station table (default the bundled list).
    encoding : str, default "auto"
        ``"auto"``: UTF-8, or GB18030 with a warning; or an encoding name.
    **kwargs
        Passed to the reader (``variables``; live: ``o3_field``).
    """
    paths = as_paths(path_or_paths)
    if not paths:
        raise ValueError("no input files given")
    kinds = {_air_format(p, encoding) for p in paths}
    enc = check_encoding(encoding)
    target = paths[0] if len(paths) == 1 else paths
    if kinds == {"air_archive"}:
        from envq.sources.cnemc_archive import read_cnemc_archive

        return read_cnemc_archive(target, stations=stations, encoding=enc, **kwargs)
    if kinds <= {"air_live_csv", "air_live_json"}:
        from envq.sources.cnemc_live import read_cnemc_live

        return read_cnemc_live(target, stations=stations, encoding=enc, **kwargs)
    raise InputError(paths[0], None, None, None, "is given with files of another kind: read archive files and live "
                     "files apart")


def read_water_file(path, *, encoding: str | None = "auto", province: str | None = None):
    """One water file as ``(long, wide)``: the canonical long table and, for a CNEMC automatic
    file, its wide readings (None for manual data)."""
    from envq.sources.cnemc_water import read_cnemc_water, to_long
    from envq.sources.manual_water import read_manual_water

    enc = check_encoding(encoding)
    kind = sniff_format(path, encoding=encoding)
    if kind == "water_cnemc":
        wide = read_cnemc_water(path, province=province, encoding=enc)
        long = to_long(wide)
        long.attrs["duplicates_dropped"] = list(wide.attrs.get("duplicates_dropped", []))
        return long, wide
    if kind in AIR_FORMATS:
        raise InputError(path, 1, None, _first_line(path, encoding),
                         "is the header of a CNEMC air file: read it with `envq air ...`")
    long = read_manual_water(path, encoding=enc)
    if long.attrs.get("data_rows", 1) == 0:
        from envq.sources.csvfile import no_rows_error

        raise no_rows_error(path)
    return long, None


class WaterFiles:
    """Water files read together: ``long`` (canonical long table of every file), ``wide`` (the
    CNEMC automatic readings, None without such files), ``duplicates_dropped`` (notes)."""

    def __init__(self, long: pd.DataFrame, wide: pd.DataFrame | None, duplicates_dropped: list[str]):
        self.long, self.wide, self.duplicates_dropped = long, wide, duplicates_dropped


def read_water(paths, *, encoding: str | None = "auto") -> WaterFiles:
    """Read water files (CNEMC automatic CSVs, manual CSV/XLSX) into one long table.

    A reading (section, time, item, kind of data) given by several files is kept once when the
    files agree; when they differ it is an :class:`envq.errors.InputError` naming both files
    and rows (as :func:`envq.sources.cnemc_archive.read_cnemc_archive` does for air).
    """
    from envq.sources.cnemc_water import LONG_COLUMNS

    paths = as_paths(paths)
    if not paths:
        raise ValueError("no input files given")
    longs, wides, notes = [], [], []
    for i, p in enumerate(paths):
        long, wide = read_water_file(p, encoding=encoding)
        notes.extend(long.attrs.get("duplicates_dropped", []))
        longs.append(long.assign(_file=i))
        if wide is not None:
            wides.append(wide)
    long = pd.concat(longs, ignore_index=True)
    if len(paths) > 1:
        long, more = _between_files(paths, long)
        notes.extend(more)
    out = long[LONG_COLUMNS].reset_index(drop=True)
    out.attrs = {"units": {k: v for lg in longs for k, v in lg.attrs.get("units", {}).items()}}
    return WaterFiles(out, pd.concat(wides, ignore_index=True) if wides else None, notes)


def _between_files(paths, long: pd.DataFrame):
    key = ["section", "time", "item", "source_kind"]
    dup = long.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return long, []
    sub = long[dup]
    g = sub.groupby(key, sort=False)
    first_file = g["_file"].transform("first").to_numpy()
    first_row = g["row"].transform("first").to_numpy()
    first_val = g["value"].transform("first").to_numpy()
    first_bdl = g["below_detection"].transform("first").to_numpy()
    later = sub["_file"].to_numpy() != first_file
    differ = later & ((sub["value"].to_numpy() != first_val) | (sub["below_detection"].to_numpy() != first_bdl))
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        r = sub.iloc[i]
        raise InputError(paths[int(r["_file"])], int(r["row"]), r["item"], f"{r['value']:g}",
                         f"differs from {paths[int(first_file[i])]} row {int(first_row[i])} ({first_val[i]:g}), which "
                         f"has the same section {r['section']}, time {r['time']:%Y-%m-%d %H:%M} and item "
                         f"{r['item']} ({r['source_kind']} data): a reading given twice must be the same")
    pairs = pd.DataFrame({"file": sub["_file"].to_numpy()[later], "earlier": first_file[later]})
    notes = [f"{paths[int(f)]}: {n} reading(s) repeat {paths[int(e)]}"
             for (f, e), n in pairs.value_counts(sort=False).sort_index().items()]
    return long.drop(index=sub.index[later]), notes
