"""The index page's small section on the warnings and the audit, read from the store.

The latest stored warnings of each part (``warnings/<day>``: air and water may be of different
days) with their counts and the first few messages, most severe first, and the agreement of the
audit (``audit_days``) on the latest audited day and over its month. Plain escaped HTML.
"""

from __future__ import annotations

import pandas as pd

from envq.periods import Period, labels_of_days
from maps.style import esc

__all__ = ["alerts_section", "latest_warnings", "latest_audit"]

_SEV = {"critical": ("严重", "#B3261E"), "warning": ("警告", "#C77700"), "info": ("提示", "#1F4E79")}
_PART = {"air": "空气 AQI", "water": "地表水 水质类别"}


def _read(store, name):
    from envq.store.errors import StoreError

    try:
        return store.read_result(name)
    except StoreError:
        return None


def latest_warnings(store) -> pd.DataFrame | None:
    """The warnings of the latest stored day of each part (None when none were ever stored)."""
    from envq.alerts import sort_warnings

    w = _read(store, "warnings")
    if w is None or not len(w):
        return None
    w = w.copy()
    part = w["part"].where(w["part"] != "data", "air")
    part = part.where(~(w["part"].eq("data") & (w["scope"].eq("section") | w["name"].eq("water"))), "water")
    last = w.groupby(part)["day"].transform("max")
    return sort_warnings(w[(w["day"] == last).to_numpy()].reset_index(drop=True))


def latest_audit(store) -> pd.DataFrame | None:
    """Per part: the latest audited day's agreement and that month's (``part, day, compared,
    agreeing, month, month_compared, month_agreeing``)."""
    d = _read(store, "audit_days")
    if d is None or not len(d):
        return None
    rows = []
    for part, g in d.groupby("part", sort=True):
        g = g.sort_values("day")
        last = g.iloc[-1]
        month = Period.containing(last["day"], "month").label
        m = g[labels_of_days(g["day"], "month") == month]
        rows.append({"part": part, "day": last["day"], "compared": int(last["compared"]),
                     "agreeing": int(last["agreeing"]), "month": month,
                     "month_compared": int(m["compared"].sum()), "month_agreeing": int(m["agreeing"].sum())})
    return pd.DataFrame(rows)


def _rate(a: int, c: int) -> str:
    return f"{a}/{c}（{100 * a / c:.2f}%）" if c else "—"


def alerts_section(warnings: pd.DataFrame | None, audit: pd.DataFrame | None, *, limit: int = 5) -> str:
    """The section's HTML ("" when nothing was stored): at most *limit* warnings of each day."""
    out = []
    if warnings is not None:
        days = " / ".join(sorted(set(map(str, warnings["day"]))))
        counts = warnings["severity"].value_counts() if len(warnings) else pd.Series(dtype=int)
        badges = " ".join(f'<span class="envq-sev" style="color:{c}">{esc(zh)} {int(counts.get(s, 0))}</span>'
                          for s, (zh, c) in _SEV.items())
        shown = warnings.groupby("day", sort=False).head(limit)  # the most severe of each day
        items = "".join(
            f'<li><b style="color:{_SEV.get(r["severity"], ("", "#333"))[1]}">'
            f'【{esc(_SEV.get(r["severity"], (r["severity"],))[0])}】</b>{esc(r["message"])}</li>'
            for r in shown.to_dict("records"))
        rest = len(warnings) - len(shown)
        more = f'<div class="note">另有 {rest} 条 {rest} more</div>' if rest else ""
        out.append(f'<h2>预警 Warnings ({esc(days)})</h2><div class="envq-warnings">{badges}'
                   + (f"<ul>{items}</ul>{more}" if len(warnings) else "<div>无预警 none</div>") + "</div>")
    if audit is not None and len(audit):
        lines = "".join(
            f'<li>{esc(_PART.get(r["part"], r["part"]))}：{esc(r["day"])} 一致 agree {_rate(r["agreeing"], r["compared"])}；'
            f'{esc(r["month"])} 月 {_rate(r["month_agreeing"], r["month_compared"])}</li>'
            for r in audit.to_dict("records"))
        out.append(f'<h2>发布数据审核 Audit of the published figures</h2><ul class="envq-audit">{lines}</ul>')
    return "".join(out)
