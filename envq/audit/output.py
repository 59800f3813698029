"""Write a table people hand round as CSV: UTF-8 with BOM (Excel on Chinese Windows), formula-safe.

One small function so that every table the audit and the warnings write goes one way; it uses the
project's shared writer (:func:`envq.tables.write_csv`) when that module is present.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["write_csv"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(df: pd.DataFrame, path) -> Path:
    """Write *df* to *path* (folder created) as UTF-8 CSV with BOM, text cells starting with a
    formula trigger prefixed with ``'``; the path."""
    try:
        from envq.tables import write_csv as shared
    except ImportError:  # until the shared writer is on main
        shared = None
    if shared is not None:
        return shared(df, path)
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            s = out[c]
            risky = s.map(lambda v: isinstance(v, str) and v[:1] in _TRIGGERS).to_numpy(bool)
            if risky.any():
                out.loc[risky, c] = "'" + s[risky].astype(str)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n")
    return p
