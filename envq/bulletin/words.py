"""The bulletin's words: period names, place names and numbers as the official bulletins print them.

- Periods: ``2019年8月``, ``2019年1-8月`` (a year to date, 1至M月), ``2019年第三季度``,
  ``2019年上半年``, ``2019年`` (reference/bulletin.md: "YYYY年M月全省14个市州…", "1-M月").
- Places: the names the bulletins publish (``湘西州`` for 湘西土家族苗族自治州), in the order the
  provincial tables list the 14 cities (administrative code order, 4301 长沙市 … 4331 湘西州).
- Numbers: :func:`num` prints a figure with its published decimals; "—" for none.
"""

from __future__ import annotations

import datetime as dt
import math

from envq.periods import Period

__all__ = ["CITY_ORDER", "published_name", "period_zh", "num", "pollutant_zh"]

#: The 14 市州政府所在城市 in the provincial tables' order (administrative division codes).
CITY_ORDER = ("长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市", "郴州市",
              "永州市", "怀化市", "娄底市", "湘西土家族苗族自治州")

_PUBLISHED = {"湘西土家族苗族自治州": "湘西州", "unknown": "未归属 unassigned"}

_ZH_NUM = "一二三四"


def published_name(name) -> str:
    """The name as the bulletins print it.

    >>> published_name("湘西土家族苗族自治州"), published_name("长沙市")
    ('湘西州', '长沙市')
    """
    return _PUBLISHED.get(str(name), str(name))


def period_zh(p: Period) -> str:
    """The period as the bulletins name it.

    >>> from envq.periods import parse_period
    >>> import datetime as dt
    >>> [period_zh(parse_period(t)) for t in ("2019-08", "2019-Q3", "2019-H1", "2019", "2019-08-05")]
    ['2019年8月', '2019年第三季度', '2019年上半年', '2019年', '2019年8月5日']
    >>> period_zh(parse_period("2019-YTD", through=dt.date(2019, 8, 31)))
    '2019年1-8月'
    >>> period_zh(parse_period("2019-YTD", through=dt.date(2019, 8, 20)))
    '2019年1月1日-8月20日'
    """
    s, e = p.start, p.end
    if p.kind == "month":
        return f"{s.year}年{s.month}月"
    if p.kind == "quarter":
        return f"{s.year}年第{_ZH_NUM[(s.month - 1) // 3]}季度"
    if p.kind == "half":
        return f"{s.year}年{'上' if s.month == 1 else '下'}半年"
    if p.kind == "year":
        return f"{s.year}年"
    if p.kind == "day":
        return f"{s.year}年{s.month}月{s.day}日"
    month_end = (e + dt.timedelta(days=1)).month != e.month
    if p.kind == "ytd" and month_end:
        return f"{s.year}年1-{e.month}月" if e.month > 1 else f"{s.year}年1月"
    if s.year == e.year:
        return f"{s.year}年{s.month}月{s.day}日-{e.month}月{e.day}日"
    return f"{s.year}年{s.month}月{s.day}日-{e.year}年{e.month}月{e.day}日"


def num(value, decimals: int) -> str:
    """A figure with its published decimals, "—" when missing (the value is already rounded).

    >>> num(90.25, 1), num(None, 1), num(0.6, 1), num(27.0, 0)
    ('90.2', '—', '0.6', '27')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v):
        return "—"
    from envq._rounding import round_gbt8170

    return f"{float(round_gbt8170(v, decimals)):.{decimals}f}"


_POLLUTANT_ZH = {"pm25": "PM2.5", "pm10": "PM10", "o3": "O₃", "so2": "SO₂", "no2": "NO₂", "co": "CO"}


def pollutant_zh(code: str) -> str:
    """``o3`` -> ``O₃``; comma-joined codes (ties) joined by ``、``.

    >>> pollutant_zh("pm10,pm25")
    'PM10、PM2.5'
    """
    return "、".join(_POLLUTANT_ZH.get(c, c) for c in str(code).split(",") if c)
