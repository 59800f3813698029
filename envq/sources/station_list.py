"""The national air-monitoring station list (国控空气质量监测站点).

The bundled list ``envq/data/stations/NewSiteList_TrajRF_gbk.csv`` (2,026 stations, GBK-encoded,
from the public repository liujun2024/TrajRF) is read lazily on first use and cached. The readers
in :mod:`envq.sources` use it to give each station of a dataset its name, prefecture, province,
coordinates and background flag (:func:`attach_station_coords`).

Files are opened by :mod:`envq.sources.files` (gzip, encodings, located decoding errors) and
checked as tables by :mod:`envq.sources.csvfile`.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from envq.errors import InputError, UnknownStationWarning
from envq.sources.files import codec_label, read_bytes, read_text
from envq.sources.csvfile import check_csv, normalise_newlines, require_columns

__all__ = [
    "STATION_LIST_COLUMNS",
    "read_station_list",
    "hunan_stations",
    "attach_station_coords",
]

#: File columns -> envq names.
STATION_LIST_COLUMNS = {
    "监测点编码": "code",
    "监测点名称": "name",
    "城市": "city_short",
    "经度": "lon",
    "纬度": "lat",
    "对照点": "is_background",
    "省级行政区": "province",
    "地级行政区": "city",
}

_BUNDLED = Path(__file__).resolve().parent.parent / "data" / "stations" / "NewSiteList_TrajRF_gbk.csv"
_STOPPED = re.compile(r"停运\d{6}")
_COLUMNS_OUT = ["name", "city", "city_short", "province", "lon", "lat", "is_background", "stopped"]


# --------------------------------------------------------------------------------------------
# the station list


def read_station_list(path=None, *, encoding: str = "gbk") -> pd.DataFrame:
    """Read a CNEMC station list (the TrajRF ``NewSiteList.csv`` layout).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A CSV with columns ``监测点编码,监测点名称,城市,经度,纬度,对照点,省级行政区,地级行政区``
        (gzip accepted). Default: the bundled national list, read once and cached.
    encoding : str, default "gbk"
        Text encoding of the file. The bundled list is GBK.

    Returns
    -------
    pandas.DataFrame
        Indexed by station code (``"1335A"``), one row per station, columns

        - ``name`` : station name as published (may carry ``(对照点)`` or ``(停运YYMMDD)``)
        - ``city`` : prefecture-level division, full name (``长沙市``, ``湘西土家族苗族自治州``)
        - ``city_short`` : the list's short city name (``长沙``, ``湘西州``)
        - ``province`` : province-level division (``湖南省``)
        - ``lon``, ``lat`` : float degrees, NaN when the list gives none (approximate; some
          background sites differ between sources by several km)
        - ``is_background`` : bool, ``对照点 == "Y"`` (background/control station, not counted
          in a city's assessment)
        - ``stopped`` : bool, the name carries ``停运YYMMDD`` (stopped on that date)

    Raises
    ------
    envq.errors.InputError
        Undecodable bytes or a header that shows the wrong encoding (the message suggests the
        right one), missing columns, an unparsable coordinate, a ``对照点`` other than Y/N, an
        empty or duplicated station code. Row numbers are 1-based file lines, header = 1.

    Examples
    --------
    >>> st = read_station_list()
    >>> st.loc["1335A", "name"], st.loc["1335A", "city"], bool(st.loc["1335A", "is_background"])
    ('经开区环保局', '长沙市', False)
    """
    if path is None and encoding == "gbk":
        return _bundled_station_list().copy()
    return _parse_station_list(_BUNDLED if path is None else path, encoding)


@functools.lru_cache(maxsize=1)
def _bundled_station_list() -> pd.DataFrame:
    return _parse_station_list(_BUNDLED, "gbk")


def _parse_station_list(path, encoding: str) -> pd.DataFrame:
    text = normalise_newlines(read_text(path, encoding))
    check_csv(path, text, repeats_ok=True, empty_names_ok=True)  # cut rows, huge fields, no rows
    table = pd.read_csv(
        io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
        index_col=False,
    )
    required = list(STATION_LIST_COLUMNS)
    found = [str(c) for c in table.columns]
    hint = None
    if any(c not in found for c in required):
        # A UTF-8 file read as GBK (or the reverse) often decodes without error into mojibake:
        # show that the header would be right under another encoding.
        raw = read_bytes(path)
        for other in ("utf-8-sig", "gbk"):
            if other == encoding:
                continue
            try:
                first = raw.decode(other).split("\n", 1)[0]
            except UnicodeDecodeError:
                continue
            if all(c in first for c in required):
                hint = (
                    f"the file looks {codec_label(other)}-encoded, not {codec_label(encoding)}: "
                    f"pass encoding={other.replace('-sig', '')!r}"
                )
                break
    require_columns(path, found, required, text_hint=hint)

    table = table[required].rename(columns=STATION_LIST_COLUMNS)
    line = np.arange(2, len(table) + 2)
    blank = (table == "").all(axis=1).to_numpy()
    table, line = table[~blank], line[~blank]
    table = table.apply(lambda s: s.str.strip())

    code = table["code"].to_numpy(dtype=str)
    if (bad := np.flatnonzero(code == "")).size:
        raise InputError(path, int(line[bad[0]]), "监测点编码", "", "is empty: every station needs a code")
    dup = pd.Series(code).duplicated(keep=False).to_numpy()
    if dup.any():
        first_code = code[dup][0]
        rows = line[code == first_code]
        raise InputError(
            path, int(rows[1]), "监测点编码", first_code, f"duplicates the station code of row {int(rows[0])}"
        )

    coords = {}
    for col, label, lo, hi in (("lon", "经度", -180, 180), ("lat", "纬度", -90, 90)):
        raw = table[col]
        num = pd.to_numeric(raw.where(raw != ""), errors="coerce").to_numpy(dtype=float)
        unparsable = np.isnan(num) & (raw != "").to_numpy()
        out_of_range = ~np.isnan(num) & ((num < lo) | (num > hi))
        bad = np.flatnonzero(unparsable | out_of_range)
        if bad.size:
            i = bad[0]
            problem = "is not a number" if np.isnan(num[i]) else f"is outside {lo}..{hi} degrees"
            raise InputError(path, int(line[i]), label, raw.iloc[i], problem)
        coords[col] = num

    flag = table["is_background"].str.upper()
    if (bad := np.flatnonzero(~flag.isin(["Y", "N", ""]).to_numpy())).size:
        i = bad[0]
        raise InputError(path, int(line[i]), "对照点", table["is_background"].iloc[i], "is not Y or N")

    out = pd.DataFrame(
        {
            "name": table["name"].to_numpy(dtype=str),
            "city": table["city"].to_numpy(dtype=str),
            "city_short": table["city_short"].to_numpy(dtype=str),
            "province": table["province"].to_numpy(dtype=str),
            "lon": coords["lon"],
            "lat": coords["lat"],
            "is_background": (flag == "Y").to_numpy(),
            "stopped": table["name"].str.contains(_STOPPED).to_numpy(dtype=bool),
        },
        index=pd.Index(code, name="code"),
    )
    return out


def hunan_stations(stations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The stations of Hunan province (省级行政区 湖南省).

    Parameters
    ----------
    stations : pandas.DataFrame, optional
        A table from :func:`read_station_list`; default the bundled list.

    Returns
    -------
    pandas.DataFrame
        The rows with ``province == "湖南省"``: 82 in the bundled list (长沙 10, 常德 8, 湘潭 7,
        株洲 7, 衡阳 7, 岳阳 6, 邵阳/益阳/郴州/永州/怀化/娄底 5 each, 张家界 4, 湘西州 3), of which
        17 are background stations (three of them, 常德 1853A/1855A/1856A, are stopped city
        sites also flagged Y).

    Examples
    --------
    >>> len(hunan_stations())
    82
    """
    stations = read_station_list() if stations is None else stations
    return stations[stations["province"] == "湖南省"]


# --------------------------------------------------------------------------------------------
# station coordinates on a dataset


def attach_station_coords(ds, stations: pd.DataFrame | None = None, fallback: pd.DataFrame | None = None,
                          *, stacklevel: int = 2):
    """Give a dataset's stations their metadata from the station list.

    Parameters
    ----------
    ds : xarray.Dataset
        With a ``station`` dimension whose coordinate holds station codes.
    stations : pandas.DataFrame, optional
        Station table as from :func:`read_station_list` (index = code; columns ``name, city,
        province, lon, lat, is_background`` used). Default: the bundled list.
    fallback : pandas.DataFrame, optional
        Metadata given by the data file itself (index = code; any of ``name, city, lon, lat``),
        used only for stations the list does not know (e.g. new stations in the live feed).
    stacklevel : int, default 2
        Passed to :func:`warnings.warn` (readers point the warning at their caller).

    Returns
    -------
    xarray.Dataset
        A copy with station coords ``name, city, province`` (str), ``lon, lat`` [degrees]
        (float, NaN if unknown) and ``is_background`` (bool), and
        ``attrs["unknown_stations"]``: the codes not in the list (sorted list of str).

    Warns
    -----
    envq.errors.UnknownStationWarning
        When some codes are not in the station list. Such stations get name/city/province ""
        (unless ``fallback`` has them), lon/lat NaN (same) and ``is_background`` False.
    """
    stations = read_station_list() if stations is None else stations
    missing = [c for c in ("name", "city", "province", "lon", "lat", "is_background") if c not in stations.columns]
    if missing:
        raise ValueError(f"station table lacks column(s) {missing}; found {list(stations.columns)}")
    codes = pd.Index(np.asarray(ds["station"].values, dtype=str))
    known = codes.isin(stations.index)
    table = stations.reindex(codes)
    if fallback is not None and not known.all():
        fb = fallback.reindex(codes)
        for col in ("name", "city", "lon", "lat"):
            if col in fb.columns:
                table[col] = table[col].where(known, fb[col])

    def text(col):
        return np.asarray(table[col].where(table[col].notna(), "").astype(str).to_numpy(), dtype=str)

    ds = ds.assign_coords(
        name=("station", text("name")),
        city=("station", text("city")),
        province=("station", text("province")),
        lon=("station", pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=float)),
        lat=("station", pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=float)),
        is_background=("station", table["is_background"].where(known, False).to_numpy(dtype=bool)),
    )
    ds["lon"].attrs.update(units="degrees_east", long_name="longitude (approximate)")
    ds["lat"].attrs.update(units="degrees_north", long_name="latitude (approximate)")
    ds["is_background"].attrs["long_name"] = "background (control) station, 对照点"
    ds["city"].attrs["long_name"] = "prefecture-level division, 地级行政区"
    unknown = sorted(codes[~known])
    ds.attrs["unknown_stations"] = unknown
    if unknown:
        shown = ", ".join(unknown[:10]) + (f", ... ({len(unknown)} in all)" if len(unknown) > 10 else "")
        what = "name, city and coordinates from the file" if fallback is not None else "no name, city or coordinates"
        warnings.warn(
            f"{len(unknown)} station(s) not in the station list ({what}): {shown}",
            UnknownStationWarning,
            stacklevel=stacklevel,
        )
    return ds
