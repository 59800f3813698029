"""The warnings of a run as markdown (the artifact, what ``envq run`` and ``make demo`` print)."""

from __future__ import annotations

import pandas as pd

from envq.alerts.model import RULES, SEVERITIES, SEVERITY_ZH

__all__ = ["warnings_markdown"]


def _cell(text) -> str:
    return str(text).replace("|", "｜").replace("\n", " ")


def warnings_markdown(warnings: pd.DataFrame, *, day: str, label: str = "", limit: int = 100) -> str:
    """A heading with the counts by severity, then one table row per warning (most severe first)."""
    head = f"# envq warnings {day} {label}".rstrip()
    if warnings is None or not len(warnings):
        return head + "\n\n无预警 No warnings.\n"
    counts = warnings["severity"].value_counts()
    lines = [head, "", " · ".join(f"{SEVERITY_ZH[s]} {s}: {int(counts.get(s, 0))}" for s in reversed(SEVERITIES)), "",
             "| 级别 severity | 规则 rule | 对象 scope | 内容 message | 对象单位 for |", "|---|---|---|---|---|"]
    for r in warnings.head(limit).to_dict("records"):
        rule = f"{RULES.get(r['rule'], (r['rule'],))[0]} `{r['rule']}`"
        lines.append(f"| {SEVERITY_ZH.get(r['severity'], r['severity'])} | {rule} | {_cell(r['label'])} | "
                     f"{_cell(r['message'])} | {_cell(r['audience'])} |")
    if len(warnings) > limit:
        lines.append(f"| … {len(warnings) - limit} more (stored as warnings/{day}) | | | | |")
    return "\n".join(lines) + "\n"
