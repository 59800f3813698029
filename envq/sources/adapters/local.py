"""Kind ``local``: files in a folder (docs/pipeline.md, "Sources").

Options of a ``[sources.<name>]`` table with ``kind = "local"``:

- ``path``: the folder (relative paths are taken from the configuration file's folder);
- ``pattern``: a glob of file names in it (default ``*``).

:meth:`LocalSource.fetch` selects the files by the dates in their names: a name holding a date
(``YYYYMMDD`` or ``YYYY-MM-DD``) is a file of that day, one holding two dates (or more) spans
the first to the last (``hunan_water_auto_20260709_20260823.csv.gz``); a file is kept when that
span meets the days whose file is needed (:meth:`envq.sources.adapters.Source.file_days`: air
``start .. end+1``, water ``start .. end``). Files without a date in the name
(``hunan_sites_2019_wide.csv.gz``) are always kept: :meth:`parse` restricts their content.
Payloads reference the files by path (``data`` None).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from envq.sources.adapters import FetchError, OptionError, Payload, Source, day_range

__all__ = ["LocalSource", "SOURCE", "check_options", "name_date_spans"]

_OPTIONS = ("path", "pattern")
# YYYYMMDD or YYYY-MM-DD, not inside a longer run of digits
_DATE = r"(?<!\d)(?P<y>\d{4})(?P<sep>-?)(?P<m>\d{2})(?P=sep)(?P<d>\d{2})(?!\d)"


def check_options(options: dict, base: Path) -> dict:
    """``path`` (required, made absolute against ``base``) and ``pattern`` (default ``*``)."""
    for key in options:
        if key not in _OPTIONS:
            raise OptionError(key, options[key], f"is not an option of kind 'local' (options: {', '.join(_OPTIONS)})")
    path = options.get("path")
    if path is None:
        raise OptionError("path", "", "is missing: kind 'local' needs the folder of the files")
    if not isinstance(path, str) or not path.strip():
        raise OptionError("path", path, "is not a folder path")
    pattern = options.get("pattern", "*")
    if not isinstance(pattern, str) or not pattern.strip():
        raise OptionError("pattern", pattern, "is not a glob pattern of file names (e.g. \"china_sites_*.csv\")")
    p = Path(path).expanduser()
    return {"path": str(p if p.is_absolute() else (base / p).resolve()), "pattern": pattern}


def name_date_spans(names) -> pd.DataFrame:
    """First and last date written in each file name (``NaT`` when a name holds none).

    >>> name_date_spans(["china_sites_20191231.csv", "w_20260709_20260823.csv.gz",
    ...                  "live_2026-03-10T09.csv", "hunan_sites_2019_wide.csv.gz"])
           first       last
    0 2019-12-31 2019-12-31
    1 2026-07-09 2026-08-23
    2 2026-03-10 2026-03-10
    3        NaT        NaT
    """
    names = pd.Series(list(names), dtype=object)
    out = pd.DataFrame({"first": pd.Series(pd.NaT, index=names.index, dtype="datetime64[ns]"),
                        "last": pd.Series(pd.NaT, index=names.index, dtype="datetime64[ns]")})
    if not len(names):
        return out
    found = names.str.extractall(_DATE)
    if not len(found):
        return out
    day = pd.to_datetime(found["y"] + found["m"] + found["d"], format="%Y%m%d", errors="coerce")
    span = day.groupby(level=0).agg(["min", "max"])  # NaT (not a real date) is skipped
    out.loc[span.index, "first"] = span["min"].to_numpy()
    out.loc[span.index, "last"] = span["max"].to_numpy()
    return out


class LocalSource(Source):
    """Files of a local folder (see the module docstring)."""

    kind = "local"

    @property
    def folder(self) -> Path:
        return Path(self.config.options["path"])

    def select(self, names, start, end) -> np.ndarray:
        """Mask of the file names that may hold data of the natural days ``start..end``."""
        first, last = (pd.Timestamp(d) for d in self.file_days(start, end))
        spans = name_date_spans(names)
        undated = spans["first"].isna().to_numpy()
        meets = ((spans["first"] <= last) & (spans["last"] >= first)).to_numpy()
        return undated | meets

    def fetch(self, start, end) -> list[Payload]:
        """The folder's files matching ``pattern`` that may cover ``start..end``, sorted by name.

        Raises :class:`FetchError` when the folder is missing or a file cannot be read. An empty
        list means no file covers the days.
        """
        start, end = day_range(start, end)
        folder = self.folder
        if not folder.is_dir():
            raise FetchError(self.name, str(folder), "is not a folder (missing, or not mounted?)")
        files = sorted((p for p in folder.glob(self.config.options.get("pattern", "*")) if p.is_file()),
                       key=lambda p: p.name)
        keep = self.select([p.name for p in files], start, end)
        out = []
        for p in (f for f, k in zip(files, keep, strict=True) if k):
            try:
                out.append(Payload.from_path(p))
            except OSError as exc:
                raise FetchError(self.name, str(p), f"cannot be read: {exc.strerror or exc}") from None
        return out


SOURCE = LocalSource
