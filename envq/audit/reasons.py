"""The reasons the audit can name for a disagreement with a published figure (one vocabulary).

Each disagreement row carries one ``reason`` code from :data:`REASONS` (never empty:
``unexplained`` when envq cannot name one) and a ``detail`` sentence with the values.
The codes are tried in the order of :data:`REASONS`; the first that explains the published value
wins.
"""

from __future__ import annotations

__all__ = ["REASONS", "UNEXPLAINED", "reason_table"]

UNEXPLAINED = "unexplained"

#: code -> (Chinese, English) description. Order = precedence.
REASONS: dict[str, tuple[str, str]] = {
    "screened": (
        "envq 筛除了发布方使用的数值",
        "envq screened out a value the publisher used (plausibility screening); with it envq gives the "
        "published figure",
    ),
    "publication_rule": (
        "缺测污染物与发布规则不同",
        "a pollutant is missing and envq's publication rule (the edition's) and the publisher's differ: "
        "one side published a value, the other withheld it",
    ),
    "unknown_iaqi": (
        "污染物 IAQI 未知（SO2 1小时 > 800 等）",
        "a pollutant's IAQI is unknown (HJ 633-2012 Table 1 notes 2-3: SO2 1-hour above 800 without "
        "the 24-hour SO2, O3 8-hour above 800 without the 1-hour O3): envq leaves the AQI undetermined "
        "where that IAQI could change it (publication code 4), or, at the cap of 500, names the "
        "pollutant as primary only as its unknown_iaqi parameter says (publication code 5)",
    ),
    "value_not_in_file": (
        "发布方使用了文件中没有的数值",
        "a pollutant is missing from the file and the published figure is above what the pollutants "
        "present give: the publisher used a value the file does not carry",
    ),
    "edition": (
        "标准版本不同",
        "the published figure follows the other edition of the standard than the one in force for "
        "that day",
    ),
    "rounding": (
        "修约方式不同",
        "the published figure is what a different rounding gives (unrounded concentrations, or IAQI "
        "rounded to nearest instead of up)",
    ),
    "unknown_section": (
        "断面不在名录中",
        "the section is not in envq's section registry, so envq classed it as a river with target "
        "class III; as a lake or reservoir (湖、库 limits) it gets the published class",
    ),
    "platform_screened": (
        "发布方未采用的异常值",
        "an isolated spike envq keeps (spike screening is off by default) that the publisher did not "
        "use; without it envq gives the published class",
    ),
    "no_item": (
        "无可评价的监测项目",
        "no classification item was measured (or every one was screened out), yet a class was published",
    ),
    UNEXPLAINED: (
        "无法解释",
        "envq cannot name the cause",
    ),
}


def reason_table():
    """The vocabulary as a table ``reason, reason_zh, meaning`` (for documentation and outputs).

    >>> reason_table().iloc[-1].tolist()
    ['unexplained', '无法解释', 'envq cannot name the cause']
    """
    import pandas as pd

    return pd.DataFrame([(k, zh, en) for k, (zh, en) in REASONS.items()],
                        columns=["reason", "reason_zh", "meaning"])
