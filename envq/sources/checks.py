"""Checks of parsed values shared by the readers of :mod:`envq.sources`."""

from __future__ import annotations

import datetime as _dt

import numpy as np

from envq.errors import InputError

__all__ = ["EARLIEST", "FUTURE_SLACK", "AQI_MAX", "check_times", "check_published_aqi"]

#: Earliest time a monitoring record may carry (the national networks' data start much later).
EARLIEST = np.datetime64("1970-01-01T00:00", "s")
#: How far past this machine's clock (UTC) a record may be dated: Beijing time runs 8 h ahead,
#: and an hour-ending label of today's last hour is tomorrow 00:00.
FUTURE_SLACK = np.timedelta64(2, "D")
#: The largest AQI (HJ 633-2012 Table 1: IAQI tops at 500; HJ 633-2026 §4.1.1: AQI 1..500).
AQI_MAX = 500


def check_published_aqi(path, aqi, rows: np.ndarray, fields, text=None) -> None:
    """Refuse a published AQI that no edition of HJ 633 gives: an AQI is an integer (HJ 633-2012
    §6.2, HJ 633-2026 §4.2.6: IAQI and AQI rounded up to an integer) from 0 to :data:`AQI_MAX`.

    *aqi* is 1-D (one per row) or 2-D (rows x stations); *rows* the file row of each; *fields* the
    field name, or one per column of a 2-D *aqi*; *text* the values as written (aligned with *aqi*;
    default the numbers themselves). NaN is a missing AQI, not an error.
    """
    a = np.asarray(aqi, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(a) & ((a < 0) | (a > AQI_MAX) | (a != np.round(a)))
    if not bad.any():
        return
    where = tuple(int(x) for x in np.argwhere(bad)[0])
    field = fields if isinstance(fields, str) else fields[where[-1]]
    shown = str(np.asarray(text)[where]) if text is not None else f"{a[where]:g}"
    raise InputError(path, int(rows[where[0]]), field, shown,
                     f"is not an AQI (an integer from 0 to {AQI_MAX}: HJ 633-2012 §6.2, HJ 633-2026 §4.1.1 and §4.2.6)")


def check_times(path, times, rows: np.ndarray, field: str, text: np.ndarray | None = None) -> np.ndarray:
    """Refuse times before :data:`EARLIEST` or after now + :data:`FUTURE_SLACK`; the times as
    ``datetime64[ns]``.

    ``times`` (datetime64 of any resolution, as pandas parsed them: year 9999 fits in
    microseconds, not in nanoseconds, so the check comes before the conversion; no NaT), ``rows``
    (file rows) and, for the message, ``text`` (the values as written) are aligned.
    """
    t = np.asarray(times)
    if t.dtype.kind != "M":
        t = t.astype("datetime64[ns]")
    if not len(t):
        return t.astype("datetime64[ns]")
    t = t.astype("datetime64[s]")
    now = np.datetime64(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None), "s")
    bad = (t < EARLIEST) | (t > now + FUTURE_SLACK)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = str(text[i]) if text is not None else str(t[i].astype("datetime64[m]"))
        when = "before 1970" if t[i] < EARLIEST else (
            f"in the future (this machine's clock says {str(now.astype('datetime64[D]'))})")
        raise InputError(path, int(rows[i]), field, shown, f"is {when}: check the year")
    return np.asarray(times).astype("datetime64[ns]")
