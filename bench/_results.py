"""Results of a benchmark run, checked table by table against a reference run (issue 16).

A faster pipeline must give the very same results. The reference is the result tables of the
code before the performance work, computed once on the same (deterministic) inputs:

- ``bench/reference_results.json`` (committed): for every table, its rows, columns with dtypes
  and a SHA-256 of its content (:func:`digest`), and the commit that made it;
- ``bench/out/reference/<group>/<table>.parquet`` (not committed; ``bench/pipeline.py
  --make-reference`` rebuilds it from that commit): the tables themselves, so that a difference
  can be shown cell by cell.

:func:`compare` says, per table, ``equal`` or what differs; ``results_equal`` is True only when
every reference table is present and equal (a table the reference did not have is listed
apart, as ``extra``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["digest", "digest_tables", "digest_store_results", "compare", "save_tables", "load_manifest"]

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "bench" / "reference_results.json"
REFERENCE_DIR = ROOT / "bench" / "out" / "reference"


def digest(df: pd.DataFrame) -> dict:
    """Rows, columns (name: dtype) and the SHA-256 of the whole content of *df*: the column
    names and dtypes, the index, then every cell (``pandas.util.hash_pandas_object``, which
    hashes a float's bytes, so 0.1 + 0.2 and 0.3 differ and NaN equals NaN)."""
    h = hashlib.sha256()
    cols = [[str(c), str(df[c].dtype)] for c in df.columns]
    h.update(json.dumps(cols, ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps([type(df.index).__name__, str(df.index.dtype), list(map(str, df.index.names))]).encode())
    if len(df):
        h.update(np.ascontiguousarray(pd.util.hash_pandas_object(df, index=True).to_numpy()).tobytes())
    return {"rows": int(len(df)), "columns": {c: t for c, t in cols}, "sha256": h.hexdigest()}


def digest_tables(tables: dict[str, pd.DataFrame]) -> dict[str, dict]:
    return {name: digest(df) for name, df in sorted(tables.items())}


def store_result_tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every result table a flow run left in the store at *root*: ``results/<name>/<period>.parquet``
    as ``"<name>/<period>"``."""
    out = {}
    base = Path(root) / "results"
    for p in sorted(base.glob("*/*.parquet")):
        out[f"{p.parent.name}/{p.name[: -len('.parquet')]}"] = pd.read_parquet(p)
    return out


def digest_store_results(root: Path) -> dict[str, dict]:
    return digest_tables(store_result_tables(root))


def save_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    """Write each table as ``<folder>/<name>.parquet`` (``/`` in a name makes a sub-folder)."""
    for name, df in tables.items():
        p = Path(folder) / f"{name}.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(p)


def load_manifest(path: Path = MANIFEST) -> dict | None:
    return json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else None


def _cell_diff(ref: pd.DataFrame, new: pd.DataFrame) -> str:
    """A short description of how *new* differs from *ref* (for the log)."""
    if list(ref.columns) != list(new.columns):
        return f"columns {list(ref.columns)} -> {list(new.columns)}"
    dt = {c: (str(ref[c].dtype), str(new[c].dtype)) for c in ref.columns if str(ref[c].dtype) != str(new[c].dtype)}
    if dt:
        return f"dtypes {dt}"
    if len(ref) != len(new):
        return f"rows {len(ref)} -> {len(new)}"
    if not ref.index.equals(new.index):
        return "index differs"
    out = []
    for c in ref.columns:
        a, b = ref[c], new[c]
        same = (a == b).fillna(False).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy(dtype=bool)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            out.append(f"{c}: {int((~same).sum())} cells, first row {i}: {a.iloc[i]!r} -> {b.iloc[i]!r}")
    return "; ".join(out) or "bytes differ (e.g. -0.0 vs 0.0, or float bits)"


def compare(group: str, got: dict[str, dict], tables: dict[str, pd.DataFrame] | None = None,
            manifest: dict | None = None) -> dict:
    """Compare the digests *got* of a run's *group* (``national``, ``hunan_library``, ``nightly``,
    ``backfill``) with the reference manifest. Returns ``{"equal": bool|None, "tables": {name:
    "equal" | "differs: ..." | "missing"}, "extra": [...]}``; ``equal`` is None without a
    reference, and True when every reference table is there and equal (tables the reference
    did not have are listed under ``extra``)."""
    manifest = load_manifest() if manifest is None else manifest
    ref = (manifest or {}).get("tables", {}).get(group)
    if ref is None:
        return {"equal": None, "tables": {}, "note": f"no reference for {group!r} in {MANIFEST.name}"}
    status = {}
    for name, d in ref.items():
        if name not in got:
            status[name] = "missing"
        elif got[name]["sha256"] == d["sha256"]:
            status[name] = "equal"
        else:
            why = ""
            p = REFERENCE_DIR / group / f"{name}.parquet"
            if tables is not None and name in tables and p.exists():
                why = _cell_diff(pd.read_parquet(p), tables[name])
            elif d["columns"] != got[name]["columns"]:
                why = f"columns {d['columns']} -> {got[name]['columns']}"
            elif d["rows"] != got[name]["rows"]:
                why = f"rows {d['rows']} -> {got[name]['rows']}"
            status[name] = "differs" + (f": {why}" if why else "")
    extra = sorted(n for n in got if n not in ref)
    out = {"equal": all(v == "equal" for v in status.values()), "tables": status}
    if extra:   # a table the reference code did not make: listed, not a changed result
        out["extra"] = extra
    return out
