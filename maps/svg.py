"""Small inline SVG charts for popups and pages (no script, no external file).

- :func:`aqi_chart`: one bar per day of a period, coloured by AQI category, with the AQI 100 line
  (the good-day limit). One ``<path>`` per category, a bar per day drawn as a vertical stroke, so a
  year of days stays near 4 KB per chart.
- :func:`class_profile`: the water class of a reach's sections in order along the river (upstream
  left), with the target class marked.
- :func:`class_history`: a row of coloured cells, one per period, for a section's class history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from maps.style import NO_DATA_COLOUR, aqi_colours, class_colour, class_name, esc

__all__ = ["aqi_chart", "class_profile", "class_history"]


def aqi_chart(dates: Sequence[str], aqi, levels, *, edition: str = "hj633_2012", width: int = 340,
              height: int = 80, good_limit: int = 100) -> str:
    """Daily AQI bars over *dates* (one per day, gaps for days without a valid AQI).

    Parameters
    ----------
    dates : sequence of str
        The days, in order (``YYYY-MM-DD``); the first and last label the axis.
    aqi : array of float
        Daily AQI [-], NaN where the day is not valid.
    levels : array of int
        AQI level 1..6 of each day (0 = no valid day): the bar colour (HJ 633 Table 2).
    width, height : int
        Display size [px]; the bars are stretched to *width*.

    Returns
    -------
    str: HTML (a ``div`` holding the ``svg`` and its axis labels).
    """
    aqi = np.asarray(aqi, dtype=float)
    levels = np.asarray(levels, dtype=int)
    n = len(dates)
    if n == 0 or len(aqi) != n or len(levels) != n:
        raise ValueError(f"aqi_chart: {n} dates, {len(aqi)} AQI values, {len(levels)} levels")
    finite = aqi[np.isfinite(aqi)]
    top = float(max(200.0, math.ceil(finite.max() / 50.0) * 50.0)) if len(finite) else 200.0
    top = min(top, 500.0)
    h = 100  # drawing units; the viewBox is (2 n) x 100 and stretched to width x height
    colours = aqi_colours(edition)
    paths = []
    for lv in range(1, 7):
        idx = np.flatnonzero((levels == lv) & np.isfinite(aqi))
        if not len(idx):
            continue
        ys = np.round(h - np.minimum(aqi[idx], top) / top * h).astype(int)
        d = "".join(f"M{2 * i + 1} {h}V{min(y, h - 1)}" for i, y in zip(idx, ys))
        paths.append(f'<path stroke="{colours[lv]}" stroke-width="2" d="{d}"/>')
    y100 = round(h - good_limit / top * h, 1)
    svg = (f'<svg class="envq-aqi-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {2 * n} {h}" preserveAspectRatio="none" role="img" '
           f'aria-label="日AQI daily AQI {esc(dates[0])}..{esc(dates[-1])}">'
           f'<rect width="{2 * n}" height="{h}" fill="#fafafa"/>' + "".join(paths) +
           f'<path d="M0 {y100}H{2 * n}" stroke="#333" stroke-dasharray="4 3" '
           f'vector-effect="non-scaling-stroke" stroke-width="1"/></svg>')
    valid = int(np.isfinite(aqi).sum())
    return (f'<div class="envq-chart" style="width:{width}px;font-size:10px;color:#555">'
            f'<div style="display:flex;justify-content:space-between"><span>日AQI daily AQI (0–{int(top)})'
            f'</span><span>虚线 dashed = {good_limit}</span></div>{svg}'
            f'<div style="display:flex;justify-content:space-between"><span>{esc(dates[0])}</span>'
            f'<span>{valid}/{n} 天有效 valid days</span><span>{esc(dates[-1])}</span></div></div>')


def class_history(periods: Sequence[str], classes: Sequence) -> str:
    """One coloured cell per period with its class (Ⅰ类 .. 劣Ⅴ类, "—" without data)."""
    cells = "".join(
        f'<td style="background:{class_colour(c)};padding:1px 4px;text-align:center">'
        f'{esc(p)}<br><b>{esc(class_name(c))}</b></td>' for p, c in zip(periods, classes))
    return f'<table class="envq-class-history" style="border-collapse:collapse;font-size:11px"><tr>{cells}</tr></table>'


def class_profile(names: Sequence[str], classes: Sequence, *, target_class: int = 3, width: int | None = None) -> str:
    """The class of each section along a reach (upstream left), Ⅰ类 at the top, target dashed.

    Sections without a class for the period are drawn as a grey ring on the axis and break the line.
    """
    n = len(names)
    if n == 0:
        raise ValueError("class_profile: no section")
    left, right, top, row = 56, 44, 26, 22
    step = 64
    w = width or left + right + max(1, n - 1) * step + 20
    step = (w - left - right - 20) / max(1, n - 1)
    plot_h = row * 5
    label_h = 90
    hgt = top + plot_h + label_h

    def y_of(c):
        return top + (int(c) - 1) * row

    out = [f'<svg class="envq-profile" width="{int(w)}" height="{hgt}" viewBox="0 0 {int(w)} {hgt}" '
           f'role="img" aria-label="水质类别沿程变化 class along the river" font-size="11">']
    for k in range(1, 7):  # class rows with their colours
        out.append(f'<rect x="{left}" y="{y_of(k) - row / 2}" width="{w - left - right}" height="{row}" '
                   f'fill="{class_colour(k)}" fill-opacity="0.25"/>')
        out.append(f'<text x="{left - 6}" y="{y_of(k) + 4}" text-anchor="end">{esc(class_name(k))}</text>')
    ty = y_of(target_class) + row / 2
    out.append(f'<path d="M{left} {ty}H{w - right}" stroke="#333" stroke-dasharray="5 3"/>')
    out.append(f'<path d="M{w - right - 128} 8H{w - right - 104}" stroke="#333" stroke-dasharray="5 3"/>'
               f'<text x="{w - right - 100}" y="12" fill="#333">目标 target {esc(class_name(target_class))}</text>')
    xs = [left + 10 + i * step for i in range(n)]
    seg: list[str] = []
    lines = []
    for x, c in zip(xs, classes):
        if _is_class(c):
            seg.append(f"{x:.1f} {y_of(c)}")
        else:
            if len(seg) > 1:
                lines.append("M" + "L".join(seg))
            seg = []
    if len(seg) > 1:
        lines.append("M" + "L".join(seg))
    for d in lines:
        out.append(f'<path d="{d}" fill="none" stroke="#1f4e79" stroke-width="2"/>')
    for i, (x, name, c) in enumerate(zip(xs, names, classes), start=1):
        if _is_class(c):
            out.append(f'<circle class="envq-profile-point" cx="{x:.1f}" cy="{y_of(c)}" r="6" '
                       f'fill="{class_colour(c)}" stroke="#000"><title>{i}. {esc(name)}: {esc(class_name(c))}'
                       f'</title></circle>')
        else:
            out.append(f'<circle class="envq-profile-missing" cx="{x:.1f}" cy="{top + plot_h + 2}" r="5" '
                       f'fill="none" stroke="{NO_DATA_COLOUR}" stroke-width="2"><title>{i}. {esc(name)}: 无数据 no data'
                       f'</title></circle>')
        lx, ly = x, top + plot_h + 14
        out.append(f'<text x="{lx:.1f}" y="{ly}" transform="rotate(35 {lx:.1f} {ly})">{i}. {esc(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _is_class(c) -> bool:
    try:
        return 1 <= int(c) <= 6
    except (TypeError, ValueError):
        return False
