"""Static SVG charts of the bulletin (printed in the PDF; no script, nothing fetched).

- :func:`calendar_chart`: the daily AQI category of each city, as openair's ``calendarPlot``
  draws a month: one small calendar per city (weeks in rows, Monday first), each day a cell in
  its HJ 633 colour with the AQI printed in it; a period longer than a month becomes one strip
  per city (a cell per day, month ticks).
- :func:`ratio_chart`: the province's good-air-day ratio of each month against the target line,
  each bar labelled with its published value.
- :func:`class_chart`: the water class distribution (Ⅰ~Ⅲ, Ⅳ, Ⅴ, 劣Ⅴ) of each river system, one
  stacked bar per system with its counts.

Every text from data goes through :func:`maps.style.esc`; the charts carry their legends.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from envq.targets import judge, published
from maps.layout import FONT_STACK
from maps.style import NO_DATA_COLOUR, aqi_categories, class_colour, esc

__all__ = ["calendar_chart", "ratio_chart", "class_chart"]

# the pages' font stack (DejaVu Sans before WenQuanYi Micro Hei, which draws Ⅴ blank)
_FONT = f'font-family="{esc(FONT_STACK)}"'

_WEEK = "一二三四五六日"


def _text_colour(hex_colour: str) -> str:
    """Black or white, whichever reads better on *hex_colour* (relative luminance)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#fff"


def _legend(items: list[tuple[str, str]], x: float, y: float, *, size: int = 10, gap: int = 10) -> tuple[str, float]:
    """A row of swatches with labels; returns (svg, width)."""
    out, cx = [], x
    for colour, label in items:
        out.append(f'<rect x="{cx:.1f}" y="{y - size + 1:.1f}" width="{size}" height="{size}" fill="{colour}" stroke="#555" stroke-width="0.5"/>'
                   f'<text x="{cx + size + 3:.1f}" y="{y:.1f}" font-size="{size}">{esc(label)}</text>')
        cx += size + 6 + len(label) * size * 0.95 + gap
    return "".join(out), cx - x


def _aqi_legend(edition: str, x: float, y: float) -> str:
    items = [(c["hex"], c["category_zh"]) for c in aqi_categories(edition)] + [(NO_DATA_COLOUR, "无有效数据")]
    return _legend(items, x, y)[0]


def calendar_chart(days: pd.DataFrame, *, start: dt.date, end: dt.date, edition: str = "hj633_2012",
                   width: int = 680) -> str:
    """The calendar of daily AQI categories of each city over start..end.

    Parameters
    ----------
    days : pandas.DataFrame
        ``city, date (YYYY-MM-DD), aqi, level`` (level 0 = no valid day), cities in print order.
    start, end : datetime.date
        The period drawn (days without a row are drawn grey).
    width : int
        Drawing width [px] (the page's text width at 96 dpi is about 680 px on A4).
    """
    colours = [NO_DATA_COLOUR] + [c["hex"] for c in aqi_categories(edition)]
    cities = list(dict.fromkeys(days["city"]))
    dates = pd.date_range(start, end, freq="D")
    n = len(dates)
    key = {(c, d): (a, lv) for c, d, a, lv in zip(days["city"], days["date"], days["aqi"], days["level"])}
    if n <= 31 and start.month == end.month:
        return _month_calendars(cities, dates, key, colours, width, edition)
    return _strips(cities, dates, key, colours, width, edition)


def _month_calendars(cities, dates, key, colours, width, edition) -> str:
    cols = 4
    gap = 12
    cw = (width - gap * (cols - 1)) / cols
    cell = cw / 7
    first_wd = dates[0].weekday()
    rows = (first_wd + len(dates) + 6) // 7
    block_h = 16 + cell * 0.7 + rows * cell + 8
    nrow = (len(cities) + cols - 1) // cols
    height = nrow * block_h + 28
    out = [f'<svg class="envq-calendar" width="{width}" height="{height:.0f}" '
           f'viewBox="0 0 {width} {height:.0f}" {_FONT} role="img" '
           f'aria-label="各城市逐日空气质量类别 daily AQI category by city">']
    for i, city in enumerate(cities):
        bx = (i % cols) * (cw + gap)
        by = (i // cols) * block_h
        out.append(f'<text x="{bx:.1f}" y="{by + 12:.1f}" font-size="11" font-weight="bold">{esc(city)}</text>')
        for k, w in enumerate(_WEEK):
            out.append(f'<text x="{bx + k * cell + cell / 2:.1f}" y="{by + 16 + cell * 0.55:.1f}" font-size="{cell * 0.38:.1f}" '
                       f'text-anchor="middle" fill="#666">{w}</text>')
        top = by + 16 + cell * 0.7
        for j, d in enumerate(dates):
            pos = first_wd + j
            x = bx + (pos % 7) * cell
            y = top + (pos // 7) * cell
            aqi, lv = key.get((city, d.strftime("%Y-%m-%d")), (np.nan, 0))
            lv = int(lv) if lv == lv else 0
            fill = colours[lv if 0 <= lv < len(colours) else 0]
            label = f"{d.day}日 AQI {int(aqi)}" if lv and aqi == aqi else f"{d.day}日 无有效数据"
            out.append(f'<rect x="{x + 0.5:.1f}" y="{y + 0.5:.1f}" width="{cell - 1:.1f}" height="{cell - 1:.1f}" '
                       f'fill="{fill}" stroke="#fff" stroke-width="0.5"><title>{esc(city)} {esc(label)}</title></rect>')
            tc = _text_colour(fill)
            out.append(f'<text x="{x + 2:.1f}" y="{y + cell * 0.32:.1f}" font-size="{cell * 0.26:.1f}" fill="{tc}">{d.day}</text>')
            if lv and aqi == aqi:
                out.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell * 0.8:.1f}" font-size="{cell * 0.36:.1f}" '
                           f'text-anchor="middle" fill="{tc}">{int(aqi)}</text>')
    out.append(_aqi_legend(edition, 0, height - 8))
    out.append("</svg>")
    return "".join(out)


def _strips(cities, dates, key, colours, width, edition) -> str:
    left, row = 64, 14
    n = len(dates)
    cw = (width - left - 4) / n
    top = 16
    height = top + len(cities) * row + 34
    out = [f'<svg class="envq-calendar" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" {_FONT} role="img" aria-label="各城市逐日空气质量类别 daily AQI category by city">']
    for j, d in enumerate(dates):
        if d.day == 1 or j == 0:
            x = left + j * cw
            out.append(f'<text x="{x:.1f}" y="{top - 4}" font-size="9" fill="#444">{d.month}月</text>'
                       f'<path d="M{x:.1f} {top}V{top + len(cities) * row}" stroke="#444" stroke-width="0.6"/>')
    for i, city in enumerate(cities):
        y = top + i * row
        out.append(f'<text x="{left - 4}" y="{y + row - 4}" font-size="10" text-anchor="end">{esc(city)}</text>')
        runs: dict[int, list[str]] = {}
        for j, d in enumerate(dates):
            aqi, lv = key.get((city, d.strftime("%Y-%m-%d")), (np.nan, 0))
            lv = int(lv) if lv == lv else 0
            runs.setdefault(lv, []).append(f"M{left + j * cw:.2f} {y + 1}h{max(cw, 0.6):.2f}v{row - 2}h{-max(cw, 0.6):.2f}z")
        for lv, d in runs.items():  # one path per category and city keeps a year small
            out.append(f'<path fill="{colours[lv if 0 <= lv < len(colours) else 0]}" d="{"".join(d)}"/>')
    out.append(_aqi_legend(edition, left, height - 8))
    out.append("</svg>")
    return "".join(out)


def ratio_chart(monthly: pd.DataFrame, *, target: float, year: int, width: int = 680, height: int = 220) -> str:
    """The province's good-air-day ratio by month (bars, value labels) against the target line.

    *monthly*: ``month, scope, name, good_day_ratio`` and, when stored, ``target_met`` (the
    province rows are drawn, green when met; city rows,
    when present, as small grey dots for the spread).
    """
    left, bottom, top, right = 40, 26, 30, 10
    ph = height - top - bottom
    pw = width - left - right
    prov = monthly[monthly["scope"] == "province"].sort_values("month")
    cities = monthly[monthly["scope"] == "city"]
    low = pd.to_numeric(prov["good_day_ratio"], errors="coerce").min()
    lo = 50.0 if not low == low or low >= 55 else max(0.0, float(np.floor((low - 5) / 10) * 10))

    def y(v):
        return top + ph * (1 - (min(max(float(v), lo), 100.0) - lo) / (100 - lo))

    bw = pw / 12
    out = [f'<svg class="envq-ratio-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" {_FONT} role="img" aria-label="全省逐月优良天数比例与目标 monthly ratio against the target">']
    for v in range(int(lo), 101, 10):
        out.append(f'<path d="M{left} {y(v):.1f}H{width - right}" stroke="#ddd" stroke-width="0.6"/>'
                   f'<text x="{left - 4}" y="{y(v) + 3:.1f}" font-size="9" text-anchor="end">{v}%</text>')
    for m in range(1, 13):
        out.append(f'<text x="{left + (m - 0.5) * bw:.1f}" y="{height - bottom + 13}" font-size="9" text-anchor="middle">{m}月</text>')
    for _, r in cities.iterrows():
        if r["good_day_ratio"] == r["good_day_ratio"]:
            out.append(f'<circle cx="{left + (r["month"] - 0.5) * bw + bw * 0.3:.1f}" cy="{y(r["good_day_ratio"]):.1f}" r="1.6" fill="#999">'
                       f'<title>{esc(r["name"])} {int(r["month"])}月 {published(r["good_day_ratio"]):.1f}%</title></circle>')
    # the verdict is the stored target_met when the rows carry it, else the one rule
    # (envq.targets.judge: the published value, GB/T 8170, against the target); labels as published
    values = pd.to_numeric(prov["good_day_ratio"], errors="coerce").to_numpy(float)
    verdicts = (prov["target_met"].astype("boolean") if "target_met" in prov
                else pd.Series(judge(values, np.full(len(values), float(target))), index=prov.index))
    for (_, r), v, met in zip(prov.iterrows(), values, verdicts):
        if v != v:
            continue
        x = left + (r["month"] - 1) * bw + bw * 0.18
        shown = f"{published(v):.1f}"
        out.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bw * 0.5:.1f}" height="{top + ph - y(v):.1f}" '
                   f'fill="{"#1A9850" if met is not pd.NA and bool(met) else "#D73027"}"><title>{int(r["month"])}月 {shown}%</title></rect>'
                   f'<text x="{x + bw * 0.25:.1f}" y="{y(v) - 3:.1f}" font-size="9" text-anchor="middle">{shown}</text>')
    out.append(f'<path d="M{left} {y(target):.1f}H{width - right}" stroke="#000" stroke-width="1.2" stroke-dasharray="6 3"/>'
               f'<text x="{width - right}" y="{y(target) - 4:.1f}" font-size="10" text-anchor="end">目标 {target:g}%</text>')
    out.append(f'<text x="{left}" y="12" font-size="10">{year}年全省逐月优良天数比例（柱：全省；灰点：各城市）</text>')
    out.append("</svg>")
    return "".join(out)


def class_chart(dist: pd.DataFrame, *, width: int = 680) -> str:
    """Stacked bars of section counts by class group for each system (the province last).

    *dist*: ``name, i_iii, iv, v, worse_v`` (counts).
    """
    groups = (("i_iii", "Ⅰ~Ⅲ类", class_colour(2)), ("iv", "Ⅳ类", class_colour(4)), ("v", "Ⅴ类", class_colour(5)),
              ("worse_v", "劣Ⅴ类", class_colour(6)))
    left, row, top = 110, 20, 8
    height = top + len(dist) * row + 30
    pw = width - left - 40
    out = [f'<svg class="envq-class-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" {_FONT} role="img" aria-label="各水系断面水质类别分布 class distribution by system">']
    for i, (_, r) in enumerate(dist.iterrows()):
        yy = top + i * row
        total = sum(int(r[g]) for g, _, _ in groups)
        out.append(f'<text x="{left - 6}" y="{yy + row * 0.68:.1f}" font-size="10" text-anchor="end">{esc(r["name"])}</text>')
        x = left
        for g, label, colour in groups:
            k = int(r[g])
            if not k or not total:
                continue
            w = pw * k / total
            out.append(f'<rect x="{x:.1f}" y="{yy + 2}" width="{w:.1f}" height="{row - 4}" fill="{colour}" stroke="#fff" '
                       f'stroke-width="0.5"><title>{esc(r["name"])} {label} {k}个</title></rect>')
            if w > 14:
                out.append(f'<text x="{x + w / 2:.1f}" y="{yy + row * 0.68:.1f}" font-size="9" text-anchor="middle" '
                           f'fill="{_text_colour(colour)}">{k}</text>')
            x += w
        out.append(f'<text x="{left + pw + 4}" y="{yy + row * 0.68:.1f}" font-size="9">{total}个</text>')
    out.append(_legend([(c, label) for _, label, c in groups], left, height - 8)[0])
    out.append("</svg>")
    return "".join(out)
