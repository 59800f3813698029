"""The audit as stored results: what the nightly run audits, kept by month, re-runs replacing days.

Tables (:func:`tables`):

- ``audit_air``, ``audit_water``: the disagreements (:data:`envq.audit.AIR_COLUMNS`,
  :data:`envq.audit.WATER_COLUMNS`) with a ``day`` column;
- ``audit_days``: the agreement of each part and day (``part, day, compared, agreeing,
  agreement_pct``).

Each is stored per month of its days (:func:`by_month`); a run that audits some days replaces the
rows of those days (:func:`merge`) and keeps the others, so re-running a day changes nothing.
"""

from __future__ import annotations

import datetime as dt

from pathlib import Path

import pandas as pd

from envq.air.daily import natural_day
from envq.audit.air import AuditResult, concat_results
from envq.periods import labels_of_days

__all__ = ["tables", "merge", "updates", "audit_pulled", "markdown"]


def _day_of(part: str, dis: pd.DataFrame) -> pd.Series:
    if part == "air":  # hour-ending labels: 00:00 closes the day before
        t = natural_day(pd.to_datetime(dis["timepoint"], format="%Y-%m-%dT%H%M"))
    else:
        t = pd.to_datetime(dis["time"])
    return t.dt.strftime("%Y-%m-%d")


def tables(results: list[AuditResult]) -> dict[str, pd.DataFrame]:
    """The stored tables of a run's audits (``audit_air``/``audit_water`` only for parts audited)."""
    out: dict[str, pd.DataFrame] = {}
    days = []
    for part, r in _by_part(results).items():
        dis = r.disagreements.copy()
        dis.insert(0, "day", _day_of(part, dis) if len(dis) else pd.Series([], dtype=object))
        out[f"audit_{part}"] = dis.reset_index(drop=True)
        days.append(r.by_day)
    if days:
        out["audit_days"] = pd.concat(days, ignore_index=True)
    return out


def _by_part(results) -> dict[str, AuditResult]:
    return {part: concat_results(mine) for part in ("air", "water")
            if (mine := [r for r in results if r is not None and r.part == part])}


def merge(old: pd.DataFrame | None, new: pd.DataFrame, days, *, part: str | None = None) -> pd.DataFrame:
    """*old* without the rows of the audited *days* (of *part*, for ``audit_days``), then *new*,
    sorted by day: a day audited again replaces its rows, disagreements that went away included."""
    if old is None or not len(old):
        return new.reset_index(drop=True)
    drop = old["day"].astype(str).isin([str(d) for d in days])
    if part is not None and "part" in old:
        drop &= old["part"].eq(part)
    keep = old[~drop.to_numpy()]
    if not len(keep):  # everything stored was audited again: exactly the run's rows (same bytes)
        return new.reset_index(drop=True)
    # a table stored before a column existed: the column is empty for its rows (never a KeyError)
    keep = keep.reindex(columns=list(new.columns))
    same = {c: t for c, t in new.dtypes.items() if keep[c].notna().any()}
    both = pd.concat([keep.astype(same, errors="ignore"), new], ignore_index=True)
    return both.sort_values("day", kind="stable").reset_index(drop=True)


def updates(results: list[AuditResult], read) -> list[tuple[str, str, pd.DataFrame]]:
    """``(name, month, table)`` to store after a run's audits: each month of the audited days,
    the stored table (``read(name, month)``, None when there is none) merged with the run's rows."""
    tabs = tables(results)
    out = []
    for part, r in _by_part(results).items():
        audited = r.by_day["day"].astype(str)
        for month, days in audited.groupby(labels_of_days(audited, "month")):
            for name, table, p in ((f"audit_{part}", tabs[f"audit_{part}"], None),
                                   ("audit_days", tabs["audit_days"], part)):
                new = table[table["day"].astype(str).isin(days)]
                if p is not None:
                    new = new[new["part"] == p]
                out.append((name, month, merge(read(name, month), new, days.tolist(), part=p)))
    return out


def audit_pulled(part: str, payloads, data, start: dt.date, end: dt.date) -> AuditResult | None:
    """The audit of what a run pulled for the days *start..end*: air from the parsed dataset (it
    keeps the published AQI), water from the CNEMC files among the payloads (the parsed long table
    does not keep the published class). None when nothing published was pulled."""
    if part == "air":
        from envq.audit.air import audit_air, has_published_aqi

        if data is None or not data.sizes.get("time", 0) or not has_published_aqi(data):
            return None
        # the payloads' file names (as kept under raw/), not the machine's paths: a stored table
        # holds the same bytes wherever the run ran (a checkout, a worker, a bucket)
        names = [p.name for p in payloads or () if getattr(p, "name", "")]
        src = data.attrs.get("source", "")
        src = [Path(str(s)).name for s in ([src] if isinstance(src, str) else src) if str(s)]
        return audit_air(data, source=";".join(names or src))
    from envq.audit.water import audit_water
    from envq.sources.adapters import materialised
    from envq.sources.cnemc_water import read_cnemc_water
    from envq.sources.dispatch import sniff_format

    frames = []
    with materialised(payloads) as paths:
        for p, path in zip(payloads, paths):
            if sniff_format(path) != "water_cnemc":  # manual data carry no published class
                continue
            w = read_cnemc_water(path)
            t = w["time"]
            keep = ((t >= pd.Timestamp(start)) & (t < pd.Timestamp(end) + pd.Timedelta(days=1))).to_numpy()
            frames.append(w[keep].assign(file=p.name))
    if not frames:
        return None
    readings = pd.concat(frames, ignore_index=True)
    return audit_water(readings) if len(readings) else None


def markdown(days: pd.DataFrame, disagreements: dict[str, pd.DataFrame], *, label: str = "", limit: int = 30) -> str:
    """The audit of a run as markdown: agreement per part and day, disagreements by reason, the
    first *limit* disagreements."""
    from envq.audit.reasons import REASONS

    lines = [f"# envq audit {label}".rstrip(), ""]
    if days is None or not len(days):
        return "\n".join(lines + ["Nothing published was pulled to audit.", ""])
    for part, g in days.groupby("part", sort=True):
        c, a = int(g["compared"].sum()), int(g["agreeing"].sum())
        name = "空气 AQI" if part == "air" else "地表水 水质类别"
        lines += [f"## {name}: {a}/{c} agree ({100 * a / c:.2f}%)" if c else f"## {name}: nothing compared", "",
                  "| day | compared | agreeing | % |", "|---|---:|---:|---:|"]
        shown = g.tail(31)
        lines += [f"| {r.day} | {r.compared} | {r.agreeing} | {r.agreement_pct:.2f} |" for r in shown.itertuples()]
        if len(g) > len(shown):
            lines.append(f"| … {len(g) - len(shown)} earlier days | | | |")
        dis = disagreements.get(part)
        if dis is not None and len(dis):
            lines += ["", "| reason | 原因 | count |", "|---|---|---:|"]
            lines += [f"| {k} | {REASONS.get(k, ('', ''))[0]} | {v} |" for k, v in dis["reason"].value_counts().items()]
            key = ["stationcode", "timepoint", "published_aqi", "computed_aqi"] if part == "air" else \
                ["section", "time", "published_class", "computed_class"]
            lines += ["", "| " + " | ".join(key) + " | reason |", "|" + "---|" * (len(key) + 1)]
            for r in dis.head(limit).to_dict("records"):
                lines.append("| " + " | ".join("" if pd.isna(r[k]) else str(r[k]) for k in key) + f" | {r['reason']} |")
            if len(dis) > limit:
                lines.append(f"| … {len(dis) - limit} more (stored as audit_{part}) |" + " |" * len(key))
        lines.append("")
    return "\n".join(lines)
