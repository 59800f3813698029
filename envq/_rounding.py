"""GB/T 8170-2008 rounding (四舍六入五成双) and exact integer helpers, vectorised.

Concentrations are rounded once, from the value as measured, to the decimals the standard asks
for. A binary float cannot hold most decimal fractions exactly (0.15 is 0.1499999...), so a value
whose scaled fractional part lies within ``tie_tolerance`` of one half is treated as an exact tie,
as the decimal string it was read from would be (reference/standards.md §1.4).
"""

from __future__ import annotations

import numpy as np

__all__ = ["round_gbt8170", "round_scaled", "ceil_div", "to_scaled_int"]

_TIE_TOL = 1e-9


def round_gbt8170(x, decimals: int = 0, *, tie_tolerance: float = _TIE_TOL) -> np.ndarray:
    """Round half to even (GB/T 8170-2008 §3.2), vectorised; NaN stays NaN.

    Parameters
    ----------
    x : array_like
        Values in their own units.
    decimals : int
        Decimals to keep (0 for ug/m3 concentrations, 1 for CO in mg/m3).

    Notes
    -----
    Negative numbers are rounded by absolute value and the sign restored (§3.2 note), which is the
    same as half-to-even. The rule is applied once to the raw value, never in steps.

    Examples
    --------
    >>> round_gbt8170([0.5, 1.5, 2.5, 150.4, -2.5]).tolist()
    [0.0, 2.0, 2.0, 150.0, -2.0]
    >>> round_gbt8170([0.15, 0.25, 1.255, 0.35], 1).tolist()
    [0.2, 0.2, 1.3, 0.4]
    """
    return round_scaled(x, decimals, tie_tolerance=tie_tolerance) / 10.0**decimals + 0.0


def round_scaled(x, decimals: int = 0, *, tie_tolerance: float = _TIE_TOL) -> np.ndarray:
    """GB/T 8170 rounding in units of 10**-decimals: an integer-valued float array (NaN kept).

    ``round_scaled(0.15, 1)`` is 2.0 (0.2 in units of 0.1). This is the form the AQI lookup
    wants; :func:`round_gbt8170` divides it back.
    """
    a0 = np.asarray(x, dtype=np.float64)
    a = a0.reshape(-1) if a0.ndim == 0 else a0  # in-place steps below need arrays, not scalars
    s = np.abs(a)
    if decimals:
        s *= 10.0**decimals
    r = np.rint(s)  # half to even on exact ties
    # A value a float artefact away from a tie (0.15 * 10 = 1.4999999999999998) is a tie too:
    # |s - r| within tie_tolerance * max(s, 1) of one half. Screen candidates against the
    # largest s first (cheap), then test the few candidates exactly.
    d = s - r
    np.abs(d, out=d)
    biggest = np.fmax.reduce(s, axis=None, initial=1.0) if s.size else 1.0
    cand = d >= 0.5 - tie_tolerance * biggest
    if cand.any():
        sc = s[cand]
        near = d[cand] >= 0.5 - tie_tolerance * np.maximum(sc, 1.0)
        lower = np.floor(sc[near])
        rc = r[cand]
        rc[near] = lower + (lower % 2 == 1)
        r[cand] = rc
    if (a < 0).any():
        np.copysign(r, a, out=r)
    return r.reshape(a0.shape)


def to_scaled_int(x, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Values already rounded to *decimals*, as exact int64 in units of 10**-decimals.

    Returns ``(ints, valid)``; where *x* is NaN, ``ints`` is 0 and ``valid`` False.
    """
    a = np.asarray(x, dtype=np.float64)
    valid = np.isfinite(a)
    ints = np.rint(np.where(valid, a, 0.0) * 10**decimals).astype(np.int64)
    return ints, valid


def ceil_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Exact ceiling of num/den for int64 arrays with den > 0."""
    return -((-num) // den)
