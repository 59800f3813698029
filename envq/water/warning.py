"""Early warning: sections close to, or already above, their target-class limit.

For each section's current values (latest readings, or period values) and each classification
item, the value is compared with the limit of the section's target class (目标类别, default III;
lakes use the 湖、库 TP limit):

* ``over``: the item's class is worse than the target class;
* ``near``: not over, but within ``margin`` of the limit (upper-limit items: value ≥
  (1 − margin) × limit; DO: value ≤ (1 + margin) × limit; pH: within ``ph_margin`` units of 6
  or 9).

Non-detects are never over or near. The margin is a parameter, not part of any standard.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq.water._table import gb3838
from envq.water.classify import item_class, limit_of

__all__ = ["latest_values", "early_warning", "warning_summary"]


def latest_values(long: pd.DataFrame, *, window_hours: float = 24.0) -> pd.DataFrame:
    """Current values of each section: per item the latest reading within ``window_hours`` of the
    section's latest reading.

    Returns a wide table ``section, time`` (the section's latest reading time) + item columns.
    """
    df = long[np.isfinite(long["value"].to_numpy(np.float64))]
    last = df.groupby("section")["time"].transform("max")
    df = df[df["time"] >= last - pd.Timedelta(hours=window_hours)]
    df = df.sort_values("time").drop_duplicates(["section", "item"], keep="last")
    wide = df.pivot(index="section", columns="item", values="value")
    if "below_detection" in df:
        bdl = df.pivot(index="section", columns="item", values="below_detection").reindex_like(wide)
        for c in bdl.columns:
            wide[f"{c}_bdl"] = bdl[c].fillna(False).astype(bool)
    wide.insert(0, "time", df.groupby("section")["time"].max())
    wide.columns.name = None
    return wide.reset_index()


def early_warning(current: pd.DataFrame, registry: pd.DataFrame | None = None, *, margin: float = 0.1,
                  ph_margin: float = 0.5, items=None) -> pd.DataFrame:
    """Items of sections within ``margin`` of their target-class limit, or above it.

    Parameters
    ----------
    current : pandas.DataFrame
        One row per section: ``section``, optional ``time``, item columns in canonical units
        (e.g. :func:`latest_values`, or :func:`envq.water.groups.section_table`), optional
        ``<item>_bdl`` flags.
    registry : pandas.DataFrame, optional
        Gives each section's target class and water body (default the configured registry).
    margin : float
        Relative margin (0.1 = within 10% of the limit).
    ph_margin : float
        pH units from 6 or 9 counted as near.
    items : iterable of str, optional
        Items to check (default the classification items present).

    Returns
    -------
    pandas.DataFrame
        One row per section and item that is ``over`` or ``near``: ``section, time, item,
        item_name, value, target_class, limit, ratio`` (value / limit; DO: limit / value),
        ``item_class, state``; sorted with ``over`` first, then by ratio.

    Examples
    --------
    >>> cur = pd.DataFrame({"section": ["x", "y"], "nh3n": [0.95, 1.2], "tp": [0.05, 0.05]})
    >>> w = early_warning(cur)
    >>> w[["section", "item", "state"]].values.tolist()
    [['y', 'nh3n', 'over'], ['x', 'nh3n', 'near']]
    """
    from envq.water.registry import load_registry, match_sections

    if not 0 <= margin < 1:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    g = gb3838()
    registry = load_registry() if registry is None else registry
    meta, _ = match_sections(current["section"].to_numpy(), registry)
    tgt = meta["target_class"].to_numpy(np.int64)
    lake = meta["is_lake"].to_numpy(bool)
    codes = [c for c in (items or g.classification_items) if c in current.columns]
    frames = []
    for c in codes:  # one vectorised pass per item
        it = g.items[c]
        v = current[c].to_numpy(np.float64)
        bdl = current[f"{c}_bdl"].to_numpy(bool) if f"{c}_bdl" in current else np.zeros(len(v), bool)
        cls = item_class(c, v, lake=lake, below_detection=bdl)
        over = (cls > tgt) & ~bdl
        if it.direction == "range":
            lo, hi = it.ph_range
            near = ~over & np.isfinite(v) & ((v < lo + ph_margin) | (v > hi - ph_margin))
            limit = np.where(v > (lo + hi) / 2, hi, lo)
            ratio = np.full(len(v), np.nan)
        else:
            limit = limit_of(c, tgt, lake=lake)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = v / limit if it.direction == "upper" else limit / v
                near = ~over & ~bdl & np.isfinite(v) & np.isfinite(limit) & (
                    (v >= (1 - margin) * limit) if it.direction == "upper" else (v <= (1 + margin) * limit))
        hit = over | near
        if not hit.any():
            continue
        frames.append(pd.DataFrame({
            "section": current["section"].to_numpy()[hit],
            "time": current["time"].to_numpy()[hit] if "time" in current else pd.NaT,
            "item": c,
            "item_name": it.name_zh,
            "value": v[hit],
            "target_class": tgt[hit],
            "limit": np.asarray(limit, dtype=float)[hit],
            "ratio": ratio[hit],
            "item_class": cls[hit],
            "state": np.where(over[hit], "over", "near"),
        }))
    cols = ["section", "time", "item", "item_name", "value", "target_class", "limit", "ratio", "item_class", "state"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["_o"] = out["state"].eq("over")
    out = out.sort_values(["_o", "item_class", "ratio"], ascending=[False, False, False]).drop(columns="_o")
    return out[cols].reset_index(drop=True)


def warning_summary(warnings: pd.DataFrame) -> pd.DataFrame:
    """One row per warned section: its state (``over`` if any item is over) and limiting item
    (the over item of the worst class, else the item nearest its limit)."""
    if not len(warnings):
        return pd.DataFrame(columns=["section", "state", "limiting_item", "value", "limit", "items"])
    first = warnings.groupby("section", sort=False).head(1).set_index("section")
    items = warnings.groupby("section", sort=False)["item"].agg(";".join)
    return pd.DataFrame({"state": first["state"], "limiting_item": first["item"], "value": first["value"],
                         "limit": first["limit"], "items": items}).reset_index()
