"""CNEMC live hourly release (全国城市空气质量实时发布平台): CSV and the older JSON/GeoJSON feed.

Two layouts of the same one-hour-per-file release:

- the live CSV (2022 onward), columns ``timepoint,stationcode,longitude,latitude,area,
  positionname,primarypollutant,aqi,pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,
  no2,no2_24h,so2,so2_24h,co,co_24h``; UTF-8 (BOM tolerated); ``timepoint`` like
  ``2026-04-15T0900``; ``NA`` = missing, ``/`` = pollutant not in the station's monitoring plan;
- the older JSON feed (e.g. ``airnow.json``, 2018), a GeoJSON FeatureCollection (or a plain list
  of records) whose property values are all strings, missing = ``-;``, ``timepoint`` like
  ``2018-02-20T07:00:00``, coordinates in the point geometry.

:func:`read_cnemc_live` parses either into envq's canonical hourly air dataset (see
:func:`envq.sources.cnemc_archive.read_cnemc_archive` for the shared layout).

The O3 quirk of the feed: up to early 2026 the field ``o3_24h`` holds the current 1-hour O3 (the
value the published AQI uses) and ``o3`` a larger running value (never below ``o3_24h``); in later
2026 files ``o3_24h`` is ``NA`` and ``o3`` is the current 1-hour value. See ``o3_field``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from envq.errors import InputError
from envq.sources.air_dataset import POLLUTANTS, build_air_dataset, format_number, select_variables
from envq.sources.checks import check_published_aqi, check_times
from envq.sources.files import as_paths, read_text
from envq.sources.csvfile import MAX_FIELD_CHARS, check_csv, normalise_newlines, read_csv_text, require_columns

__all__ = ["LIVE_VARIABLE_MAP", "O3_FIELDS", "read_cnemc_live"]

#: Live field -> canonical variable, besides O3 (see ``o3_field``). ``o3_8h_24h`` (the day's
#: running maximum of the 8-hour mean) is not kept; ``o3_24h`` is not a moving mean.
LIVE_VARIABLE_MAP = {
    "pm2_5": "pm25",
    "pm10": "pm10",
    "so2": "so2",
    "no2": "no2",
    "co": "co",
    "aqi": "aqi_cnemc",
    "pm2_5_24h": "pm25_24h_moving",
    "pm10_24h": "pm10_24h_moving",
    "so2_24h": "so2_24h_moving",
    "no2_24h": "no2_24h_moving",
    "co_24h": "co_24h_moving",
    "o3_8h": "o3_8h_moving",
}
#: Accepted values of ``o3_field``.
O3_FIELDS = ("auto", "o3", "o3_24h")

_MISSING = ("", "NA", "-;")  # "/" (not monitored) is handled apart
_REQUIRED = ["timepoint", "stationcode", "pm2_5", "pm10", "so2", "no2", "co", "o3"]
_OPTIONAL_NUMBERS = ["o3_24h", "o3_8h_24h"] + [f for f in LIVE_VARIABLE_MAP if f not in _REQUIRED]
_TIME_FORMATS = ("%Y-%m-%dT%H%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_POLLUTANT_FIELD = {"pm25": "pm2_5", "pm10": "pm10", "so2": "so2", "no2": "no2", "co": "co"}


def read_cnemc_live(path_or_paths, stations: pd.DataFrame | None = None, *, o3_field: str = "auto",
                    variables=None, encoding: str = "utf-8") -> xr.Dataset:
    """Read CNEMC live hourly files (CSV or JSON/GeoJSON) into the canonical hourly air dataset.

    Parameters
    ----------
    path_or_paths : str, os.PathLike, or a list of them
        Live CSV files (``timepoint,stationcode,...``) and/or old-feed JSON/GeoJSON files, plain
        or gzip (recognised by content). JSON is recognised by its first character (``{``/``[``).
    stations : pandas.DataFrame, optional
        Station table (:func:`envq.sources.station_list.read_station_list`); default the bundled
        list. Stations it lacks take name (``positionname``), city (``area``) and lon/lat
        (``longitude``/``latitude``, or the GeoJSON geometry) from the file and are listed in
        ``attrs["unknown_stations"]``.
    o3_field : {"auto", "o3", "o3_24h"}, default "auto"
        Which field holds the current 1-hour O3. Up to early 2026 the feed's ``o3_24h`` holds the
        1-hour O3 used by the published AQI while ``o3`` holds a larger running value (from
        ``o3`` about 13% of the 2018 snapshot's AQIs cannot be reproduced; from ``o3_24h`` none
        fail); later 2026 files leave ``o3_24h`` ``NA`` and put the current value in ``o3``.
        ``"auto"`` decides per file: ``o3_24h`` if that column holds any number, else ``o3``.
        The choice is recorded in ``attrs["o3_field"]`` (``"mixed: file=field; ..."`` when files
        differ).
    variables : iterable of str, optional
        Canonical variables to keep (default all the file gives).
    encoding : str or None, default "utf-8"
        ``None`` or ``"auto"``: UTF-8, or GB18030 with a warning (see
        :func:`envq.sources.files.read_text`).

    Returns
    -------
    xarray.Dataset
        Dims ``("station", "time")``: ``pm25, pm10, so2, no2, o3`` [ug/m3] and ``co`` [mg/m3]
        1-hour values; ``aqi_cnemc`` (published hourly AQI, NaN for ``NA``);
        ``primary_pollutant_cnemc`` (object array of str as published, e.g. ``细颗粒物(PM2.5)``;
        ``""`` when empty or ``-;``, ``"NA"`` kept as ``"NA"``, ``""`` where the station has no
        row); the published moving means ``pm25_24h_moving, pm10_24h_moving, so2_24h_moving,
        no2_24h_moving, co_24h_moving`` (fields ``*_24h``) and ``o3_8h_moving`` (``o3_8h``).
        ``time`` is ``timepoint`` as labelled (hour-ending Beijing time, ``2026-04-15T0900`` ->
        ``2026-04-15T09:00``). Coord ``in_plan`` (station, pollutant) is False where every row
        of the station writes ``/`` in that pollutant's 1-hour field (not in its monitoring
        plan). Station coords and attrs ``source``, ``unknown_stations``,
        ``duplicates_dropped`` as for the archive reader, plus ``o3_field``.

    Raises
    ------
    envq.errors.InputError
        For CSV, rows are 1-based file lines with the header as line 1 (first data row = row 2);
        for JSON, rows are 1-based feature (record) numbers, except for JSON syntax errors, which
        give the line. Raised for undecodable bytes, missing required columns (``timepoint,
        stationcode, pm2_5, pm10, so2, no2, co, o3``), a value that is not a number (``""``,
        ``NA`` and ``-;`` are missing, ``/`` is not monitored), an unparsable or off-the-hour
        ``timepoint``, an empty ``stationcode``, and two rows with the same timepoint and
        station that differ (identical ones are kept once and listed in
        ``attrs["duplicates_dropped"]``).

    Examples
    --------
    >>> ds = read_cnemc_live("data/air/cnemc_live_2026-03-10T09.csv")  # doctest: +SKIP
    >>> ds.attrs["o3_field"]  # doctest: +SKIP
    'o3_24h'
    """
    if o3_field not in O3_FIELDS:
        raise ValueError(f"o3_field must be one of {O3_FIELDS}, not {o3_field!r}")
    files = [str(p) for p in as_paths(path_or_paths)]
    if not files:
        raise ValueError("no input files given")
    parts = [_read_live_file(f, o3_field, encoding) for f in files]
    available = set().union(*(p.values for p in parts))
    if any(p.primary is not None for p in parts):
        available.add("primary_pollutant_cnemc")
    keep = select_variables(variables, available)

    # -- all rows of all files, duplicates resolved
    n = [len(p.lines) for p in parts]
    tns = np.concatenate([p.times for p in parts])
    code = np.concatenate([p.codes for p in parts])
    file_of = np.repeat(np.arange(len(parts)), n)
    line = np.concatenate([p.lines for p in parts])
    numeric = [v for v in keep if v != "primary_pollutant_cnemc"]
    values = np.column_stack(
        [np.concatenate([p.values.get(v, np.full(len(p.lines), np.nan)) for p in parts]) for v in numeric]
    ) if numeric else np.empty((len(tns), 0))
    primary = np.concatenate(
        [p.primary if p.primary is not None else np.full(len(p.lines), "", dtype=object) for p in parts]
    ).astype(object)
    slash = np.concatenate([p.slash for p in parts])
    rows, dropped = _drop_duplicates(parts, tns, code, file_of, line, values, numeric, primary, slash)
    tns, code, values, primary, slash = (a[rows] for a in (tns, code, values, primary, slash))

    # -- pivot to (station, time)
    codes, s = np.unique(code, return_inverse=True)
    times, t = np.unique(tns, return_inverse=True)
    data = {}
    for j, var in enumerate(numeric):
        arr = np.full((codes.size, times.size), np.nan)
        arr[s, t] = values[:, j]
        data[var] = arr
    if "primary_pollutant_cnemc" in keep:
        arr = np.full((codes.size, times.size), "", dtype=object)
        arr[s, t] = primary
        data["primary_pollutant_cnemc"] = arr
    in_plan = pd.DataFrame(~slash).groupby(s).any().reindex(range(codes.size), fill_value=True).to_numpy()

    meta = pd.concat([p.meta for p in parts]).groupby(level=0).first()
    choices = {p.path: p.o3_field for p in parts}
    choice = next(iter(choices.values())) if len(set(choices.values())) == 1 else (
        "mixed: " + "; ".join(f"{k}={v}" for k, v in choices.items())
    )
    ordered = {v: data[v] for v in keep}
    return build_air_dataset(
        ordered,
        codes,
        times,
        stations=stations,
        fallback=meta,
        in_plan=in_plan,
        attrs={
            "source": files[0] if len(files) == 1 else files,
            "duplicates_dropped": dropped,
            "o3_field": choice,
        },
    )


# --------------------------------------------------------------------------------------------


class _LiveRows:
    """One file's rows, parsed: one entry per row."""

    def __init__(self, path, lines, times, codes, values, slash, primary, meta, o3_field):
        self.path, self.lines, self.times, self.codes = path, lines, times, codes
        self.values, self.slash, self.primary, self.meta = values, slash, primary, meta
        self.o3_field = o3_field


def _read_live_file(path, o3_field: str, encoding: str) -> _LiveRows:
    text = normalise_newlines(read_text(path, encoding))
    if text.lstrip()[:1] in ("{", "["):
        frame, rows = _json_records(path, text)
    else:
        names = check_csv(path, text, _REQUIRED)
        frame = read_csv_text(path, text, dtype=str)
        frame.columns = names
        rows = np.arange(2, len(frame) + 2)
        blank = (frame == "").all(axis=1).to_numpy()
        frame, rows = frame[~blank], rows[~blank]
    require_columns(path, [str(c) for c in frame.columns], _REQUIRED)
    frame = frame.fillna("").astype(str).apply(lambda col: col.str.strip())

    # -- keys
    code = frame["stationcode"].to_numpy(dtype=str)
    if (bad := np.flatnonzero(code == "")).size:
        raise InputError(path, int(rows[bad[0]]), "stationcode", "", "is empty: every row needs a station code")
    times = _parse_timepoints(path, frame["timepoint"].to_numpy(dtype=str), rows)

    # -- which field is the 1-hour O3
    numbers = {}
    slashes = {}
    for field in _REQUIRED[2:] + [f for f in _OPTIONAL_NUMBERS if f in frame.columns]:
        numbers[field], slashes[field] = _parse_field(path, frame[field], field, rows)
    if o3_field == "auto":
        has_o3_24h = "o3_24h" in numbers and (~np.isnan(numbers["o3_24h"])).any()
        chosen = "o3_24h" if has_o3_24h else "o3"
    else:
        chosen = o3_field
        if chosen not in numbers:
            require_columns(path, [str(c) for c in frame.columns], _REQUIRED + [chosen])

    if "aqi" in numbers:
        check_published_aqi(path, numbers["aqi"], rows, "aqi", frame["aqi"].to_numpy(dtype=str))
    values = {var: numbers[f] for f, var in LIVE_VARIABLE_MAP.items() if f in numbers}
    values["o3"] = numbers[chosen]
    slash = np.column_stack([slashes[_POLLUTANT_FIELD.get(p, chosen)] for p in POLLUTANTS])

    primary = None
    if "primarypollutant" in frame.columns:
        primary = frame["primarypollutant"].replace({"-;": ""}).to_numpy(dtype=object)

    meta = pd.DataFrame(index=pd.Index(code, name="code"))
    if "positionname" in frame.columns:
        meta["name"] = frame["positionname"].replace({"-;": "", "NA": ""}).to_numpy(dtype=str)
    if "area" in frame.columns:
        meta["city"] = frame["area"].replace({"-;": "", "NA": ""}).to_numpy(dtype=str)
    for field, col in (("longitude", "lon"), ("latitude", "lat")):
        if field in frame.columns:
            meta[col] = _parse_field(path, frame[field], field, rows)[0]
    return _LiveRows(path, rows, times, code, values, slash, primary, meta, chosen)


def _json_records(path, text: str):
    """Properties of a GeoJSON FeatureCollection (or a list of records) as a frame of strings."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise InputError(path, None, None, text[:60], "is JSON nested too deeply to be a CNEMC feed") from None
    except json.JSONDecodeError as exc:
        snippet = text.splitlines()[exc.lineno - 1][max(0, exc.colno - 30) : exc.colno + 30] if text else ""
        raise InputError(path, exc.lineno, None, snippet, f"is not valid JSON ({exc.msg}, column {exc.colno})") from None
    if isinstance(doc, dict) and "features" in doc:
        features = doc["features"]
        records = []
        for i, feat in enumerate(features):
            if not isinstance(feat, dict) or not isinstance(feat.get("properties"), dict):
                raise InputError(path, i + 1, "properties", str(feat)[:80], "is not a GeoJSON feature with properties")
            rec = dict(feat["properties"])
            geom = feat.get("geometry") or {}
            xy = geom.get("coordinates") if isinstance(geom, dict) else None
            if geom and geom.get("type") == "Point" and isinstance(xy, list) and len(xy) >= 2:
                rec["longitude"], rec["latitude"] = xy[0], xy[1]
            records.append(rec)
    elif isinstance(doc, list):
        records = doc
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise InputError(path, i + 1, None, str(rec)[:80], "is not a record (JSON object)")
    else:
        raise InputError(path, None, None, text[:60], "is neither a GeoJSON FeatureCollection nor a list of records")
    if not records:
        raise InputError(path, None, None, None, "has no records (an empty feature collection or list)")
    frame = pd.DataFrame.from_records(records)
    frame = frame.map(lambda v: "" if v is None else str(v))
    for col in frame.columns:
        size = frame[col].str.len().to_numpy()
        if (long := np.flatnonzero(size > MAX_FIELD_CHARS)).size:
            i = int(long[0])
            raise InputError(path, i + 1, str(col), frame[col].iloc[i], f"is {int(size[i]):,} characters long, "
                             f"more than the {MAX_FIELD_CHARS:,} envq accepts in a field")
    return frame, np.arange(1, len(frame) + 1)


def _parse_field(path, col: pd.Series, field: str, rows: np.ndarray):
    """Numbers of one field (NaN for ``"" NA -;`` and ``/``) and where it says ``/``."""
    text = col.to_numpy(dtype=str)
    slash = text == "/"
    missing = np.isin(text, _MISSING) | slash
    num = pd.to_numeric(pd.Series(np.where(missing, "nan", text)), errors="coerce").to_numpy(dtype=float)
    bad = (np.isnan(num) & ~missing) | np.isinf(num)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise InputError(
            path, int(rows[i]), field, text[i], "is not a number (missing: '', 'NA', '-;'; not monitored: '/')"
        )
    return num, slash


def _parse_timepoints(path, text: np.ndarray, rows: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(text, return_inverse=True)
    parsed = np.full(uniq.size, np.datetime64("NaT"), dtype="datetime64[s]")
    for fmt in _TIME_FORMATS:
        todo = np.isnat(parsed)
        if not todo.any():
            break
        found = pd.to_datetime(pd.Series(uniq[todo]), format=fmt, errors="coerce")
        parsed[todo] = found.to_numpy("datetime64[s]")
    if np.isnat(parsed).any():
        i = np.flatnonzero(np.isnat(parsed)[inv])[0]
        raise InputError(path, int(rows[i]), "timepoint", text[i], "is not a time like 2026-04-15T0900")
    times = check_times(path, parsed[inv], rows, "timepoint", text)  # 1970..now, then in ns
    off = times != times.astype("datetime64[h]")
    if off.any():
        i = np.flatnonzero(off)[0]
        raise InputError(path, int(rows[i]), "timepoint", text[i], "is not on the hour")
    return times


def _drop_duplicates(parts, tns, code, file_of, line, values, numeric, primary, slash):
    """Indices of the rows to keep and the dropped-row notes; raises on conflicting duplicates."""
    key = pd.DataFrame({"t": tns, "c": code})
    dup = key.duplicated(keep=False).to_numpy()
    if not dup.any():
        return np.arange(len(tns)), []
    idx = np.flatnonzero(dup)
    sub = pd.DataFrame(values[idx], columns=numeric)
    sub["t"], sub["c"], sub["p"] = tns[idx], code[idx], primary[idx]
    for j, pol in enumerate(POLLUTANTS):
        sub[f"slash_{pol}"] = slash[idx, j]
    exact = sub.duplicated(keep="first").to_numpy()
    first = pd.Series(idx).groupby([sub["t"], sub["c"]]).transform("first").to_numpy()
    conflict = sub[~exact].duplicated(subset=["t", "c"], keep=False).to_numpy()
    if conflict.any():
        cand = idx[~exact][conflict]
        a = cand[0]
        b = cand[np.flatnonzero((tns[cand] == tns[a]) & (code[cand] == code[a]))[1]]
        field, va, vb = "primarypollutant", primary[a], primary[b]
        field_of = {v: f for f, v in LIVE_VARIABLE_MAP.items()} | {"o3": parts[file_of[b]].o3_field}
        for j, var in enumerate(numeric):
            x, y = values[a, j], values[b, j]
            if not (x == y or (np.isnan(x) and np.isnan(y))):
                field, va, vb = field_of[var], format_number(x), format_number(y)
                break
        else:
            if primary[a] == primary[b]:
                field, va, vb = "(monitoring plan '/')", "", "/"
        where_a = f"row {int(line[a])}" if file_of[a] == file_of[b] else f"{parts[file_of[a]].path} row {int(line[a])}"
        raise InputError(
            parts[file_of[b]].path, int(line[b]), field, vb,
            f"differs from {where_a} ({va!r}), which has the same timepoint "
            f"{pd.Timestamp(tns[a]):%Y-%m-%dT%H:%M} and station {code[a]}: duplicate rows must be identical",
        )
    drop = idx[exact]
    def where(i, f):
        return f"row {int(line[f])}" if file_of[i] == file_of[f] else f"{parts[file_of[f]].path} row {int(line[f])}"

    dropped = [
        f"{parts[file_of[i]].path}: row {int(line[i])} (timepoint {pd.Timestamp(tns[i]):%Y-%m-%dT%H:%M}, "
        f"station {code[i]}) repeats {where(i, f)}"
        for i, f in zip(drop, first[exact])
    ]
    keep = np.ones(len(tns), dtype=bool)
    keep[drop] = False
    return np.flatnonzero(keep), dropped
