"""The section registry: which river, system, water body, city and target class each section has.

envq ships a best-effort registry of the 61 Hunan national automatic sections
(``envq/data/water/hunan_water_sections.csv``, see ``SECTIONS_README.md`` beside it). A user
replaces it with the official registry, or extends it, by configuration only:

* ``load_registry(path)`` / ``--registry FILE`` / the environment variable ``ENVQ_SECTIONS``
  (a CSV path) replace the bundled file;
* ``load_registry(extend=[...])`` / ``--registry-extend FILE`` / ``ENVQ_SECTIONS_EXTRA`` (CSV
  paths separated by ``os.pathsep``) add sections or override fields of existing ones: a row is
  matched by ``section``; its non-empty cells replace the registry's, and a section not yet in the
  registry is added.

Columns (only ``section`` is required): ``section, code, river, system, water_body (river, lake,
reservoir), city, county, target_class (1..5, default 3 = Class III), lon, lat,
location_confidence (exact, town, county, unknown), valid_from, valid_to, source``. A trailing
``?`` on river, system, city or county marks an inference; ``unknown`` means no evidence. The
cleaned names used for grouping are in ``river_name, system_name, city_name, county_name`` and the
inference flags in ``<field>_inferred``.

Coordinates are approximate unless ``location_confidence`` is ``exact``: :func:`coordinate_note`
gives the label to show with them. A section without coordinates still counts in every rate.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from envq.errors import InputError

__all__ = [
    "REGISTRY_COLUMNS",
    "ENV_REGISTRY",
    "ENV_REGISTRY_EXTRA",
    "bundled_registry_path",
    "load_registry",
    "match_sections",
    "coordinate_note",
    "clean_name",
]

REGISTRY_COLUMNS = ["section", "code", "river", "system", "water_body", "city", "county", "target_class",
                    "lon", "lat", "location_confidence", "valid_from", "valid_to", "source"]
ENV_REGISTRY = "ENVQ_SECTIONS"
ENV_REGISTRY_EXTRA = "ENVQ_SECTIONS_EXTRA"

_WATER_BODIES = ("river", "lake", "reservoir")
_CONFIDENCE = ("exact", "town", "county", "unknown")
_NOTES = {
    "exact": "station coordinate from a public list (not independently verified)",
    "town": "approximate: the town or landmark the section is named after (about 2-8 km)",
    "county": "approximate: county seat or city centre, NOT the section (10-40 km off)",
    "unknown": "no coordinate",
}


def bundled_registry_path() -> Path:
    """The registry shipped with envq (61 Hunan automatic sections)."""
    return Path(__file__).resolve().parents[1] / "data" / "water" / "hunan_water_sections.csv"


def clean_name(text) -> tuple[str, bool]:
    """A registry name for grouping and whether it was marked inferred (trailing ``?``).

    Parenthesised notes are dropped; ``unknown`` (with or without notes) stays ``unknown``.

    Examples
    --------
    >>> clean_name("浏阳河(入湘江口)"), clean_name("资水?"), clean_name("unknown (湖库)")
    (('浏阳河', False), ('资水', True), ('unknown', False))
    >>> clean_name("沅江/酉水(沅陵县城段)?")
    ('沅江/酉水', True)
    """
    s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text).strip()
    inferred = "?" in s
    base = re.sub(r"[\(（].*$", "", s).replace("?", "").strip()
    if not base or base.lower().startswith("unknown"):
        return "unknown", inferred
    return base, inferred


def coordinate_note(confidence) -> np.ndarray:
    """The label to show with a coordinate of the given ``location_confidence``."""
    c = pd.Series(np.atleast_1d(np.asarray(confidence, dtype=object))).fillna("unknown").astype(str)
    return c.map(lambda x: _NOTES.get(x, "approximate")).to_numpy(object)


def _read(path) -> pd.DataFrame:
    from envq.sources.csvfile import read_csv_table

    df, rows = read_csv_table(path)
    df.columns = [c.strip() for c in df.columns]
    if "section" not in df.columns:
        raise InputError(path, 1, "section", ",".join(df.columns[:12]),
                         f"is the header, which lacks the column 'section' (registry columns: {', '.join(REGISTRY_COLUMNS)})")
    unknown = [c for c in df.columns if c not in REGISTRY_COLUMNS]
    if unknown:
        raise InputError(path, 1, unknown[0], unknown[0],
                         f"is not a registry column (known: {', '.join(REGISTRY_COLUMNS)})")
    df["section"] = df["section"].str.strip()
    df["_row"] = rows
    df["_file"] = str(path)
    empty = df["section"] == ""
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError(path, int(df["_row"].iloc[i]), "section", "", "is empty")
    dup = df["section"].duplicated() & (df.get("valid_from", "") == "").to_numpy() if "valid_from" in df else df["section"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, int(df["_row"].iloc[i]), "section", df["section"].iloc[i],
                         "appears twice (give valid_from/valid_to to keep several versions of a section)")
    return df


def _validate(reg: pd.DataFrame) -> None:
    def fail(mask, field, problem):
        i = int(np.flatnonzero(mask)[0])
        raise InputError(reg["_file"].iloc[i], int(reg["_row"].iloc[i]), field, reg[field].iloc[i], problem)

    wb = reg["water_body"].astype(str)
    bad = ~wb.isin(_WATER_BODIES + ("",))
    if bad.any():
        fail(bad.to_numpy(), "water_body", f"is not one of {', '.join(_WATER_BODIES)}")
    tc = reg["target_class"].astype(str)
    bad = ~tc.isin(["", "1", "2", "3", "4", "5", "I", "II", "III", "IV", "V", "Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ"])
    if bad.any():
        fail(bad.to_numpy(), "target_class", "is not a class 1..5 (or I..V)")
    for field, lo, hi in (("lon", 70, 140), ("lat", 0, 60)):
        s = reg[field].astype(str).str.strip()
        v = pd.to_numeric(s.replace("", None), errors="coerce")
        bad = (s != "") & (v.isna() | (v < lo) | (v > hi))
        if bad.any():
            fail(bad.to_numpy(), field, f"is not a {'longitude' if field == 'lon' else 'latitude'} in degrees ({lo}..{hi})")
    lc = reg["location_confidence"].astype(str)
    bad = ~lc.isin(_CONFIDENCE + ("",))
    if bad.any():
        fail(bad.to_numpy(), "location_confidence", f"is not one of {', '.join(_CONFIDENCE)}")
    for field in ("valid_from", "valid_to"):
        s = reg[field].astype(str).str.strip()
        bad = (s != "") & pd.to_datetime(s.replace("", None), errors="coerce", format="ISO8601").isna()
        if bad.any():
            fail(bad.to_numpy(), field, "is not a date YYYY-MM-DD")


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "Ⅴ": 5}


def _finish(reg: pd.DataFrame) -> pd.DataFrame:
    out = reg.copy()
    out["water_body"] = out["water_body"].replace("", "river")
    out["location_confidence"] = out["location_confidence"].replace("", "unknown")
    tc = out["target_class"].astype(str).str.strip()
    out["target_class"] = tc.map(lambda x: _ROMAN.get(x, int(x) if x.isdigit() else 3)).astype(np.int64)
    for f in ("lon", "lat"):
        out[f] = pd.to_numeric(out[f].astype(str).str.strip().replace("", None), errors="coerce").astype(float)
    for f in ("valid_from", "valid_to"):
        out[f] = pd.to_datetime(out[f].astype(str).str.strip().replace("", None), errors="coerce", format="ISO8601")
    for f in ("river", "system", "city", "county"):
        cleaned = out[f].map(clean_name)
        out[f"{f}_name"] = cleaned.map(lambda t: t[0]).astype(object)
        out[f"{f}_inferred"] = cleaned.map(lambda t: t[1]).astype(bool)
    out["is_lake"] = out["water_body"].isin(["lake", "reservoir"])
    out["has_coordinates"] = out["lon"].notna() & out["lat"].notna()
    out["coordinate_note"] = coordinate_note(out["location_confidence"])
    return out.drop(columns=["_row", "_file"]).reset_index(drop=True)


def _extend(base: pd.DataFrame, ext: pd.DataFrame) -> pd.DataFrame:
    base = base.copy()
    key = ["section", "valid_from"]
    ext = ext.copy()
    for c in REGISTRY_COLUMNS:
        if c not in ext:
            ext[c] = ""
    idx = {tuple(k): i for i, k in enumerate(base[key].astype(str).itertuples(index=False))}
    new_rows = []
    for _, row in ext.iterrows():  # a registry has tens to thousands of rows: a loop is fine here
        k = (row["section"], str(row["valid_from"]))
        if k in idx:
            i = idx[k]
            for c in REGISTRY_COLUMNS:
                if str(row[c]).strip() != "":
                    base.iat[i, base.columns.get_loc(c)] = row[c]
            base.iat[i, base.columns.get_loc("_row")] = row["_row"]
            base.iat[i, base.columns.get_loc("_file")] = row["_file"]
        else:
            new_rows.append(row)
    if new_rows:
        base = pd.concat([base, pd.DataFrame(new_rows)[base.columns]], ignore_index=True)
    return base


def load_registry(path=None, *, extend=(), environ=None) -> pd.DataFrame:
    """Load the section registry (bundled, replaced and/or extended by configuration).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A registry CSV replacing the bundled one. Default: ``$ENVQ_SECTIONS`` if set, else the
        bundled Hunan registry.
    extend : iterable of paths
        Extension CSVs applied in order, after those in ``$ENVQ_SECTIONS_EXTRA``.
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    pandas.DataFrame
        One row per section (version): the :data:`REGISTRY_COLUMNS` (``target_class`` int,
        default 3; ``lon``/``lat`` float, NaN when unknown; ``water_body`` default ``river``)
        plus ``river_name, system_name, city_name, county_name`` (cleaned), ``<field>_inferred``,
        ``is_lake``, ``has_coordinates`` and ``coordinate_note``. ``attrs["sources"]`` lists the
        files read.

    Raises
    ------
    envq.errors.InputError
        A malformed registry file (file, row, field, value).
    """
    env = os.environ if environ is None else environ
    if path is None and env.get(ENV_REGISTRY):
        path = env[ENV_REGISTRY]
    extras = [p for p in env.get(ENV_REGISTRY_EXTRA, "").split(os.pathsep) if p] + list(extend)
    if path is None and not extras:
        return _bundled().copy()
    return _load(None if path is None else str(path), tuple(str(p) for p in extras))


@functools.cache
def _bundled() -> pd.DataFrame:
    return _load(None, ())


def _load(path, extras) -> pd.DataFrame:
    if path is None:
        base = _read(bundled_registry_path())
        base["_file"] = "envq/data/water/hunan_water_sections.csv"
    else:
        base = _read(path)
    for c in REGISTRY_COLUMNS:
        if c not in base:
            base[c] = ""
    for e in extras:
        base = _extend(base, _read(e))
    _validate(base)
    reg = _finish(base[REGISTRY_COLUMNS + ["_row", "_file"]])
    reg.attrs["sources"] = [path or "bundled"] + list(extras)
    return reg


def match_sections(names, registry: pd.DataFrame, *, at=None) -> tuple[pd.DataFrame, list[str]]:
    """Registry rows for section names, and the names the registry does not know.

    Parameters
    ----------
    names : array_like of str
        Section names as found in the data.
    registry : pandas.DataFrame
        From :func:`load_registry`.
    at : datetime-like or array_like, optional
        Time of each name (for registries with validity dates); default: any version, latest
        first.

    Returns
    -------
    (pandas.DataFrame, list of str)
        Rows aligned with ``names`` (unknown names get ``water_body = river``, ``is_lake``
        False, ``target_class`` 3, groups ``unknown``, ``in_registry`` False) and the sorted
        unknown names. Unknown sections are never dropped.
    """
    names = pd.Series(np.asarray(names, dtype=object)).astype(str)
    reg = registry
    if at is not None and (reg["valid_from"].notna().any() or reg["valid_to"].notna().any()):
        t = pd.Series(pd.to_datetime(np.broadcast_to(np.asarray(at, dtype="datetime64[ns]"), (len(names),))))
        cand = pd.DataFrame({"section": names, "_t": t, "_i": np.arange(len(names))}).merge(
            reg.reset_index(names="_r"), on="section", how="left")
        ok = (cand["valid_from"].isna() | (cand["_t"] >= cand["valid_from"])) & (
            cand["valid_to"].isna() | (cand["_t"] <= cand["valid_to"]))
        cand = cand[ok | cand["_r"].isna()].drop_duplicates("_i", keep="last")
        rows = cand.set_index("_i").reindex(np.arange(len(names)))["_r"]
    else:
        first = reg.drop_duplicates("section", keep="last").reset_index(names="_r").set_index("section")["_r"]
        rows = names.map(first)
    known = rows.notna().to_numpy()
    out = reg.iloc[np.where(known, rows.fillna(0).astype(int), 0)].reset_index(drop=True)
    out["section"] = names.to_numpy()
    if (~known).any():
        defaults = {"water_body": "river", "is_lake": False, "target_class": 3, "river_name": "unknown",
                    "system_name": "unknown", "city_name": "unknown", "county_name": "unknown",
                    "location_confidence": "unknown", "has_coordinates": False, "lon": np.nan, "lat": np.nan,
                    "coordinate_note": _NOTES["unknown"]}
        for c in out.columns:
            if c == "section":
                continue
            val = defaults.get(c, "" if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]) else None)
            col = out[c].astype(object)
            col[~known] = val
            out[c] = col.infer_objects()
    out["in_registry"] = known
    unknown = sorted(set(names[~known]))
    return out, unknown
