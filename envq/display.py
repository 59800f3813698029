"""Plain-text tables for terminals: padding to a display width (CJK characters take two columns)."""

from __future__ import annotations

import unicodedata

__all__ = ["display_width", "pad"]


def display_width(text) -> int:
    """Columns ``text`` takes in a terminal: 2 for wide and full-width characters, else 1.

    >>> display_width("湘江 Xiang")
    10
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def pad(text, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` columns (on the left when ``right``).

    >>> pad("湘江", 6) + "|", pad(7, 3, right=True)
    ('湘江  |', '  7')
    """
    text = str(text)
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill
