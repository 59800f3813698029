"""CNEMC station-hourly archive files (``china_sites_YYYYMMDD.csv``).

The widely mirrored archive of the national air-quality release holds one CSV per day, wide:
columns ``date,hour,type,<station codes...>``, 15 ``type`` rows per hour (AQI, PM2.5, PM2.5_24h,
PM10, PM10_24h, SO2, SO2_24h, NO2, NO2_24h, O3, O3_24h, O3_8h, O3_8h_24h, CO, CO_24h) and one
column per station that reported that day (the set changes from day to day). Missing values are
empty cells. ``hunan_sites_2019_wide.csv.gz`` is the same format, a year of days concatenated.

:func:`read_cnemc_archive` parses any of these into envq's canonical hourly air dataset
(documented there); this module also defines that dataset's variables (:data:`AIR_VARIABLES`),
which :mod:`envq.sources.cnemc_live` shares.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import xarray as xr

from envq.errors import InputError
from envq.sources.air_dataset import AIR_VARIABLES, POLLUTANTS, build_air_dataset, format_number, select_variables
from envq.sources.checks import check_published_aqi, check_times
from envq.sources.files import as_paths
from envq.sources.csvfile import open_csv, read_csv_text

__all__ = [
    "POLLUTANTS",
    "AIR_VARIABLES",
    "ARCHIVE_VARIABLE_MAP",
    "read_cnemc_archive",
    "list_archive_files",
]

# POLLUTANTS and AIR_VARIABLES are defined in envq.sources.air_dataset (re-exported here).

#: Archive ``type`` -> canonical variable. ``O3_24h`` (the day's running maximum of 1-hour O3)
#: and ``O3_8h_24h`` (running maximum of the 8-hour mean) are daily running statistics, not
#: hourly values, and are read (and checked) but not kept.
ARCHIVE_VARIABLE_MAP = {
    "PM2.5": "pm25",
    "PM10": "pm10",
    "SO2": "so2",
    "NO2": "no2",
    "CO": "co",
    "O3": "o3",
    "AQI": "aqi_cnemc",
    "PM2.5_24h": "pm25_24h_moving",
    "PM10_24h": "pm10_24h_moving",
    "SO2_24h": "so2_24h_moving",
    "NO2_24h": "no2_24h_moving",
    "CO_24h": "co_24h_moving",
    "O3_8h": "o3_8h_moving",
}
_IGNORED_TYPES = ("O3_24h", "O3_8h_24h")
_KEY_COLUMNS = ["date", "hour", "type"]
_MISSING = ["", "NA", "-;", "/"]
_ARCHIVE_NAME = re.compile(r"^china_sites_.*\.csv(\.gz)?$")
_HOUR = np.timedelta64(1, "h")


# --------------------------------------------------------------------------------------------
# public


def list_archive_files(folder) -> list[Path]:
    """The CNEMC archive daily files in a folder, sorted by name (= by date).

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    list of pathlib.Path
        Every ``china_sites_*.csv`` and ``china_sites_*.csv.gz`` directly in ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
    return sorted(p for p in folder.iterdir() if p.is_file() and _ARCHIVE_NAME.match(p.name))


def read_cnemc_archive(path_or_paths, stations: pd.DataFrame | None = None, *, variables=None,
                       encoding: str = "utf-8") -> xr.Dataset:
    """Read CNEMC archive daily files into the canonical hourly air dataset.

    Parameters
    ----------
    path_or_paths : str, os.PathLike, or a list of them
        A daily file ``china_sites_YYYYMMDD.csv`` (or ``.csv.gz``; gzip is recognised by its
        content), a concatenation of such files in one CSV (e.g. ``hunan_sites_2019_wide.csv.gz``),
        a folder (every ``china_sites_*.csv[.gz]`` in it, see :func:`list_archive_files`), or a
        list of files and folders.
    stations : pandas.DataFrame, optional
        Station table (:func:`envq.sources.station_list.read_station_list`) giving the station
        coordinates; default the bundled national list.
    variables : iterable of str, optional
        Canonical variables to keep (default all of them, see Returns). A national year with
        all 13 variables takes about 1.8 GB; the six pollutants alone less than half.
    encoding : str or None, default "utf-8"
        Text encoding (a UTF-8 BOM is always accepted); ``None`` or ``"auto"``: UTF-8, or GB18030
        with a warning when the file is not UTF-8 but decodes cleanly as GB18030 (see
        :func:`envq.sources.files.read_text`).

    Returns
    -------
    xarray.Dataset
        Dims ``("station", "time")``:

        - ``pm25, pm10, so2, no2, o3`` [ug/m3], ``co`` [mg/m3]: float64 1-hour values, NaN =
          missing (the archive types PM2.5, PM10, SO2, NO2, O3, CO);
        - ``aqi_cnemc``: the published hourly AQI (type AQI);
        - ``pm25_24h_moving, pm10_24h_moving, so2_24h_moving, no2_24h_moving, co_24h_moving``
          (types ``*_24h``) and ``o3_8h_moving`` (type O3_8h): moving means as published.
          Types ``O3_24h`` and ``O3_8h_24h`` (daily running maxima) are not kept.
        - coord ``station`` (code, sorted), ``time`` (datetime64[ns], naive): the hour-ending
          Beijing time exactly as CNEMC labels it, ``date + hour`` hours, so row ``date=20190101,
          hour=0`` is ``2019-01-01T00:00`` (the last hour of natural day 2018-12-31; no shift).
          The time axis is the sorted union of the hours present in the files, not a full
          calendar.
        - station coords ``name, city, province, lon, lat, is_background`` (see
          :func:`envq.sources.station_list.attach_station_coords`);
        - coord ``in_plan`` (station, pollutant): all True (the archive does not say).
        - attrs ``source`` (the path as str for one file, else a list of str),
          ``unknown_stations`` and ``duplicates_dropped`` (lists of str).

        Stations are the union over all files; a station absent from a day is NaN that day.

    Raises
    ------
    envq.errors.InputError
        Located at file, row, field and value. Rows are 1-based line numbers in the
        (decompressed) file with the header as line 1, so the first data row is row 2. Raised for
        a damaged or truncated gzip file, undecodable bytes, missing ``date``/``hour``/``type``
        columns, a row with fewer or more fields than the header (a file cut off mid-row), a
        field over :data:`envq.sources.csvfile.MAX_FIELD_CHARS` characters, a header without data
        rows, a ``date`` not YYYYMMDD or outside 1970..now, an ``hour`` not an integer in 0..23, an unknown
        ``type``, a cell that is not a number (empty cells, ``NA``, ``-;`` and ``/`` are the
        missing-value sentinels and read as NaN), and two rows with the same date, hour and
        type but different values (within a file or between files). Exact duplicate rows are
        dropped and listed in ``attrs["duplicates_dropped"]``.

    Notes
    -----
    Parsing is vectorised: each file is read by pandas and its rows are scattered into a
    ``(variable, time, station)`` array by integer codes, so the 127k-row Hunan 2019 extract
    loads in about a second.

    Examples
    --------
    >>> ds = read_cnemc_archive("data/air/china_sites_20190101.csv.gz")  # doctest: +SKIP
    >>> float(ds.pm25.sel(station="1335A", time="2019-01-01T00:00"))  # doctest: +SKIP
    42.0
    """
    keep = select_variables(variables, ARCHIVE_VARIABLE_MAP.values())
    files = _expand_paths(path_or_paths)
    parts = [_read_archive_file(f, keep, encoding) for f in files]
    values, codes, times, dropped = _merge_parts(parts, keep)
    ds = build_air_dataset(
        {var: values[i] for i, var in enumerate(keep)},
        codes,
        times,
        stations=stations,
        attrs={
            "source": str(files[0]) if len(files) == 1 else [str(f) for f in files],
            "duplicates_dropped": dropped,
        },
    )
    return ds


# --------------------------------------------------------------------------------------------
# files


def _expand_paths(path_or_paths) -> list[Path]:
    files = []
    for p in as_paths(path_or_paths):
        p = Path(p)
        if p.is_dir():
            found = list_archive_files(p)
            if not found:
                raise InputError(p, None, None, str(p), "is a folder without china_sites_*.csv[.gz] files")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(p))
    if not files:
        raise ValueError("no input files given")
    return files


def _parse_numbers(path, frame: pd.DataFrame, columns, names, lines: np.ndarray) -> np.ndarray:
    """Columns ``columns`` of ``frame`` as a float64 array; a non-number raises a located error.

    ``frame`` was read with the missing sentinels already turned into NaN, so any column that
    pandas could not read as numbers holds a bad cell. ``names`` are the header names of
    ``columns`` (for the message).
    """
    out = np.empty((len(frame), len(columns)), dtype=float)
    for j, (col, name) in enumerate(zip(columns, names)):
        s = frame[col]
        if s.dtype.kind in "fiu":
            out[:, j] = s.to_numpy(dtype=float)
            continue
        if s.dtype.kind == "b":  # pandas read True/False
            num = np.full(len(s), np.nan)
            bad = np.flatnonzero(s.notna().to_numpy())
        else:
            num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            bad = np.flatnonzero(np.isnan(num) & s.notna().to_numpy())
        if bad.size:
            raise InputError(path, int(lines[bad[0]]), name, str(s.iloc[bad[0]]), "is not a number")
        out[:, j] = num
    if np.isinf(out).any():
        i, j = np.argwhere(np.isinf(out))[0]
        raise InputError(path, int(lines[i]), names[j], str(frame[columns[j]].iloc[i]), "is not a finite number")
    return out


# --------------------------------------------------------------------------------------------
# archive files


class _Part:
    """One file's worth of values: ``values[v, t, s]``, ``lines[v, t]`` (0 = row absent)."""

    __slots__ = ("path", "codes", "times", "values", "lines", "dropped")

    def __init__(self, path, codes, times, values, lines, dropped):
        self.path, self.codes, self.times = path, codes, times
        self.values, self.lines, self.dropped = values, lines, dropped


def _read_archive_table(path, text: str, names: list[str]):
    """Keys (date, hour, type as str), station values (float64) and file line of each row.

    Fast path: pyarrow's CSV reader with the station columns typed float64. Anything unusual
    (a non-number, a ragged row, blank lines, a literal NaN/inf) falls back to pandas' reader,
    which keeps one row per file line and lets every problem be located.
    """
    key_pos = [names.index(k) for k in _KEY_COLUMNS]
    station_pos = [i for i, n in enumerate(names) if n not in _KEY_COLUMNS]
    if "\n\n" not in text:
        try:
            return _read_archive_table_arrow(text, names, key_pos, station_pos)
        except (pa.ArrowInvalid, _NotClean):
            pass
    frame = read_csv_text(path, text, dtype={k: str for k in _KEY_COLUMNS}, na_values=_MISSING)
    frame.columns = range(len(frame.columns))
    lines = np.arange(2, len(frame) + 2)
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():
        frame, lines = frame[~blank], lines[~blank]
    keys = [frame[i].fillna("").str.strip().to_numpy(dtype=str) for i in key_pos]
    values = _parse_numbers(path, frame, station_pos, [names[i] for i in station_pos], lines)
    return keys, values, lines


class _NotClean(Exception):
    """The fast reader met something only the slow reader can locate."""


def _read_archive_table_arrow(text: str, names, key_pos, station_pos):
    cols = [f"c{i}" for i in range(len(names))]
    types = {cols[i]: pa.float64() for i in station_pos} | {cols[i]: pa.string() for i in key_pos}
    table = pa_csv.read_csv(
        pa.BufferReader(text.encode("utf-8")),
        read_options=pa_csv.ReadOptions(column_names=cols, skip_rows=1),
        parse_options=pa_csv.ParseOptions(newlines_in_values=False),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, null_values=_MISSING, strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )
    values = np.empty((table.num_rows, len(station_pos)), dtype=float)
    for j, i in enumerate(station_pos):
        col = table.column(i)
        values[:, j] = col.to_numpy(zero_copy_only=False)
        if col.null_count != np.isnan(values[:, j]).sum():  # a literal NaN in the file
            raise _NotClean
    if np.isinf(values).any():
        raise _NotClean
    keys = [table.column(i).fill_null("").to_numpy(zero_copy_only=False).astype(str) for i in key_pos]
    keys = [np.char.strip(k) for k in keys]
    lines = np.arange(2, table.num_rows + 2)
    blank = (np.isnan(values).all(axis=1) & (keys[0] == "") & (keys[1] == "") & (keys[2] == ""))
    if blank.any():
        keys, values, lines = [k[~blank] for k in keys], values[~blank], lines[~blank]
    return keys, values, lines


def _read_archive_file(path, keep: list[str], encoding: str) -> _Part:
    csv = open_csv(path, encoding, _KEY_COLUMNS, repeats_ok=True)
    text, names = csv.text, csv.names
    (date, hour_text, kind), values, lines = _read_archive_table(path, text, names)
    codes = [n for n in names if n not in _KEY_COLUMNS]
    positions = [i + 1 for i, n in enumerate(names) if n not in _KEY_COLUMNS]
    values, codes, dropped = _drop_duplicate_columns(path, values, codes, positions, lines)

    # -- keys: date, hour, type
    uniq, inv = np.unique(date, return_inverse=True)
    parsed = pd.to_datetime(pd.Series(uniq), format="%Y%m%d", errors="coerce").to_numpy("datetime64[s]")
    ok = ~np.isnat(parsed) & (np.char.str_len(uniq) == 8)
    if not ok.all():
        i = np.flatnonzero(~ok[inv])[0]
        raise InputError(path, int(lines[i]), "date", date[i], "is not a date written YYYYMMDD (1970 or later)")
    day = check_times(path, parsed[inv], lines, "date", date)  # 1970..now, then in ns

    uniq, inv = np.unique(hour_text, return_inverse=True)
    hour_of = pd.to_numeric(pd.Series(uniq), errors="coerce").to_numpy(dtype=float)
    not_int = np.isnan(hour_of) | (hour_of != np.round(hour_of))
    if not_int.any():
        i = np.flatnonzero(not_int[inv])[0]
        raise InputError(path, int(lines[i]), "hour", hour_text[i], "is not an integer hour (0..23)")
    out_of_range = (hour_of < 0) | (hour_of > 23)
    if out_of_range.any():
        i = np.flatnonzero(out_of_range[inv])[0]
        raise InputError(path, int(lines[i]), "hour", hour_text[i], "is outside 0..23")
    hour = hour_of[inv].astype("int64")

    all_types = list(ARCHIVE_VARIABLE_MAP) + list(_IGNORED_TYPES)
    known = np.isin(kind, all_types)
    if not known.all():
        i = np.flatnonzero(~known)[0]
        raise InputError(
            path, int(lines[i]), "type", kind[i], f"is not an archive type (expected one of {', '.join(all_types)})"
        )

    # -- scatter the kept rows into (variable, time, station)
    var_of_type = {t: keep.index(v) for t, v in ARCHIVE_VARIABLE_MAP.items() if v in keep}
    vcode = pd.Series(kind).map(var_of_type).to_numpy(dtype=float)
    kept = ~np.isnan(vcode)
    vcode = vcode[kept].astype(np.intp)
    tns = (day + hour * _HOUR)[kept]
    values, lines, kind = values[kept], lines[kept], kind[kept]
    is_aqi = kind == "AQI"
    if is_aqi.any():
        check_published_aqi(path, values[is_aqi], lines[is_aqi], codes)

    values, vcode, tns, lines, dropped_rows = _drop_duplicate_rows(path, values, vcode, tns, lines, kind, codes)

    times, tcode = np.unique(tns, return_inverse=True)
    cube = np.full((len(keep), times.size, len(codes)), np.nan)
    cube[vcode, tcode, :] = values
    line_of = np.zeros((len(keep), times.size), dtype=np.int64)
    line_of[vcode, tcode] = lines
    return _Part(path, np.asarray(codes, dtype=str), times, cube, line_of, dropped + dropped_rows)


def _drop_duplicate_columns(path, values, codes, positions, lines):
    """Keep one of several columns with the same station code if they agree, else raise.

    (The national file of 2019-12-31 really has two identical ``3207A`` columns.)
    """
    codes = list(codes)
    seen, drop, dropped = {}, [], []
    for j, code in enumerate(codes):
        if code not in seen:
            seen[code] = j
            continue
        i = seen[code]
        a, b = values[:, i], values[:, j]
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if differ.any():
            r = np.flatnonzero(differ)[0]
            raise InputError(
                path, int(lines[r]), code, format_number(b[r]),
                f"differs from {format_number(a[r])!r} in the other column named {code} (header columns "
                f"{positions[i]} and {positions[j]}): a station column may repeat only with identical values",
            )
        drop.append(j)
        dropped.append(f"{path}: column {code} (header column {positions[j]}) repeats column {positions[i]}; kept one")
    if drop:
        keep = [j for j in range(len(codes)) if j not in drop]
        values, codes = values[:, keep], [codes[j] for j in keep]
    return values, codes, dropped


def _describe_key(t, kind) -> str:
    ts = pd.Timestamp(t)
    return f"date {ts:%Y%m%d}, hour {ts.hour}, type {kind}"


def _drop_duplicate_rows(path, values, vcode, tns, lines, kind, codes):
    """Drop rows identical to an earlier row with the same key; raise on conflicting ones."""
    key = pd.DataFrame({"t": tns, "v": vcode})
    dup = key.duplicated(keep=False).to_numpy()
    if not dup.any():
        return values, vcode, tns, lines, []
    sub = pd.DataFrame(values[dup], columns=range(len(codes)))
    sub.insert(0, "t", tns[dup])
    sub.insert(1, "v", vcode[dup])
    exact = sub.duplicated(keep="first").to_numpy()
    first_line = pd.Series(lines[dup]).groupby([sub["t"], sub["v"]]).transform("first").to_numpy()
    conflict = sub[~exact].duplicated(subset=["t", "v"], keep=False).to_numpy()
    if conflict.any():
        idx = np.flatnonzero(dup)[~exact][conflict]
        a, b = idx[0], idx[np.flatnonzero((tns[idx] == tns[idx[0]]) & (vcode[idx] == vcode[idx[0]]))[1]]
        differ = ~((values[a] == values[b]) | (np.isnan(values[a]) & np.isnan(values[b])))
        j = np.flatnonzero(differ)[0]
        raise InputError(
            path, int(lines[b]), codes[j], format_number(values[b, j]),
            f"differs from row {int(lines[a])} ({format_number(values[a, j])!r}), which has the same "
            f"{_describe_key(tns[a], kind[a])}: duplicate rows must be identical",
        )
    drop_idx = np.flatnonzero(dup)[exact]
    dropped = [
        f"{path}: row {int(lines[i])} ({_describe_key(tns[i], kind[i])}) repeats row {int(fl)}"
        for i, fl in zip(drop_idx, first_line[exact])
    ]
    keep_mask = np.ones(len(values), dtype=bool)
    keep_mask[drop_idx] = False
    return values[keep_mask], vcode[keep_mask], tns[keep_mask], lines[keep_mask], dropped


def _merge_parts(parts: list[_Part], keep: list[str]):
    """Union the files' stations and hours into one ``(variable, station, time)`` array."""
    codes = np.unique(np.concatenate([p.codes for p in parts])) if parts else np.array([], dtype=str)
    times = np.unique(np.concatenate([p.times for p in parts])).astype("datetime64[ns]")
    nv = len(keep)
    cube = np.full((nv, codes.size, times.size), np.nan)
    src_file = np.full((nv, times.size), -1, dtype=np.int64)
    src_line = np.zeros((nv, times.size), dtype=np.int64)
    dropped = []
    for f, part in enumerate(parts):
        dropped.extend(part.dropped)
        ti = np.searchsorted(times, part.times)
        si = np.searchsorted(codes, part.codes)
        present = part.lines > 0  # (v, t) rows this file has
        new = np.transpose(part.values, (0, 2, 1))  # v, s, t
        block = cube[:, si[:, None], ti[None, :]]  # copy: v, s, t
        overlap = present & (src_file[:, ti] >= 0)
        if overlap.any():
            _check_overlap(parts, f, part, ti, si, overlap, block, new, src_file, src_line, codes, keep, dropped)
        merged = np.where(np.isnan(block), new, block)
        cube[:, si[:, None], ti[None, :]] = merged
        first = present & (src_file[:, ti] < 0)
        sf, sl = src_file[:, ti], src_line[:, ti]
        sf[first], sl[first] = f, part.lines[first]
        src_file[:, ti], src_line[:, ti] = sf, sl
    return cube, codes, times, dropped


def _check_overlap(parts, f, part, ti, si, overlap, block, new, src_file, src_line, codes, keep, dropped):
    """Rows of ``part`` whose (time, type) an earlier file already gave: same values or raise."""
    prev_files = src_file[:, ti]
    for p in np.unique(prev_files[overlap]):
        rows = overlap & (prev_files == p)
        common = np.isin(part.codes, parts[p].codes)  # compare stations both files have
        a = block[:, common, :]
        b = new[:, common, :]
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        bad = rows & ~same.all(axis=1)
        if bad.any():
            v, t = np.argwhere(bad)[0]
            j = np.flatnonzero(~same[v, :, t])[0]
            code = part.codes[common][j]
            kind = _type_of(keep[v])
            raise InputError(
                part.path, int(part.lines[v, t]), str(code), format_number(b[v, j, t]),
                f"differs from {parts[p].path} row {int(src_line[v, ti[t]])} ({format_number(a[v, j, t])!r}), "
                f"which has the same {_describe_key(part.times[t], kind)}: duplicate rows must be identical",
            )
        for v, t in np.argwhere(rows):
            dropped.append(
                f"{part.path}: row {int(part.lines[v, t])} ({_describe_key(part.times[t], _type_of(keep[v]))}) "
                f"repeats {parts[p].path} row {int(src_line[v, ti[t]])}"
            )


def _type_of(var: str) -> str:
    return next(t for t, v in ARCHIVE_VARIABLE_MAP.items() if v == var)
