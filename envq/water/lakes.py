"""Lakes and reservoirs: lake-wide class from averaged indicators, and the trophic-state index.

A lake with several points (Dongting Lake: 南嘴, 岳阳楼, 小河嘴, 蒋家嘴 in the bundled registry)
is assessed on each indicator averaged first over time at each point, then over the points, with
the 湖、库 limits for TP and TN; TN is reported separately and does not enter the class
(环办〔2011〕22号, reference/standards.md §5.4).

The comprehensive trophic-state index (CNEMC 2004, reference §5.7) is

    TLI(j) = 10 (a_j + b_j ln x_j),   W_j = r_j² / Σ_k r_k²,   TLI(Σ) = Σ_j W_j TLI(j)

over chlorophyll a [mg/m3], TP, TN, CODMn [mg/L] and Secchi depth SD [m]. Where parameters are
missing (automatic stations do not measure SD; most do not measure chlorophyll a) the weights are
renormalised over the parameters present, and the result is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq.water._table import gb3838
from envq.water.classify import classify

__all__ = ["TLI_PARAMETERS", "tli_components", "tli", "trophic_state", "lake_points", "lake_assessment"]

#: Order of the TLI parameters.
TLI_PARAMETERS = ("chla", "tp", "tn", "sd", "codmn")


def _params() -> dict:
    return {p["item"]: p for p in gb3838().trophic["parameters"]}


def tli_components(**values) -> dict[str, np.ndarray]:
    """TLI(j) of each parameter given (``chla`` [mg/m3], ``tp``, ``tn``, ``codmn`` [mg/L], ``sd`` [m]).

    Non-positive or missing values give NaN.

    Examples
    --------
    >>> c = tli_components(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)   # E28
    >>> {k: round(float(v), 3) for k, v in c.items()}
    {'chla': 50.006, 'tp': 45.709, 'tn': 54.53, 'sd': 51.18, 'codmn': 37.979}
    """
    par = _params()
    out = {}
    for name, x in values.items():
        if name not in par:
            raise KeyError(f"unknown TLI parameter {name!r}; known: {', '.join(par)}")
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(x > 0, 10.0 * (par[name]["a"] + par[name]["b"] * np.log(np.where(x > 0, x, 1.0))), np.nan)
    return out


def tli(chla=None, tp=None, tn=None, sd=None, codmn=None, *, renormalise: bool = True) -> pd.DataFrame:
    """Comprehensive trophic-state index TLI(Σ), vectorised.

    Parameters
    ----------
    chla : array_like, optional
        Chlorophyll a [mg/m3] (= ug/L; the CNEMC CSV gives mg/L: multiply by 1000).
    tp, tn, codmn : array_like, optional
        [mg/L].
    sd : array_like, optional
        Secchi depth [m].
    renormalise : bool
        Where parameters are missing (NaN or not given), weight the others by ``r_j² / Σ r_k²``
        over the parameters present; otherwise the result is NaN.

    Returns
    -------
    pandas.DataFrame
        ``tli`` (TLI(Σ), NaN without any parameter), ``state`` (trophic state), ``n_params``,
        ``params`` (used, ``;``-joined), ``renormalised`` (True when fewer than the five
        parameters were used: the result is flagged).

    References
    ----------
    湖泊(水库)富营养化评价方法及分级技术规定 (CNEMC 2004); 环办〔2011〕22号 (reference §5.7).

    Examples
    --------
    >>> r = tli(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)   # E28
    >>> round(float(r["tli"].iloc[0]), 2), r["state"].iloc[0]
    (48.02, '中营养')
    >>> r = tli(chla=40, tp=0.15, tn=2.5, sd=0.4, codmn=8.0)   # E29
    >>> round(float(r["tli"].iloc[0]), 2), r["state"].iloc[0]
    (64.8, '中度富营养')
    """
    par = _params()
    given = {"chla": chla, "tp": tp, "tn": tn, "sd": sd, "codmn": codmn}
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in given.items() if v is not None}
    n = max((a.size for a in arrays.values()), default=1)
    names = list(TLI_PARAMETERS)
    comp = tli_components(**{k: np.broadcast_to(a, (n,)) for k, a in arrays.items()})
    t = np.column_stack([comp.get(k, np.full(n, np.nan)) for k in names])
    r2 = np.array([par[k]["r"] ** 2 for k in names])
    have = np.isfinite(t)
    w = np.where(have, r2[None, :], 0.0)
    wsum = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.where(wsum > 0, (w * np.nan_to_num(t)).sum(axis=1) / np.where(wsum > 0, wsum, 1), np.nan)
    k = have.sum(axis=1)
    if not renormalise:
        val = np.where(k == len(names), val, np.nan)
    labels = _bit_labels(have, names)
    return pd.DataFrame({"tli": val, "state": trophic_state(val), "n_params": k, "params": labels,
                         "renormalised": (k > 0) & (k < len(names))})


def _bit_labels(mask, names):
    bits = (mask.astype(np.int64) << np.arange(len(names))).sum(axis=1)
    uniq, inv = np.unique(bits, return_inverse=True)
    lab = np.array([";".join(nm for j, nm in enumerate(names) if (u >> j) & 1) for u in uniq], dtype=object)
    return lab[inv]


def trophic_state(tli_values) -> np.ndarray:
    """Trophic state of TLI(Σ) values (right-closed bounds: 50 is 中营养, 60 轻度, 70 中度).

    Examples
    --------
    >>> trophic_state([29.9, 30, 50, 50.01, 60, 70, 70.5]).tolist()
    ['贫营养', '中营养', '中营养', '轻度富营养', '轻度富营养', '中度富营养', '重度富营养']
    """
    v = np.atleast_1d(np.asarray(tli_values, dtype=np.float64))
    out = np.full(v.shape, "", dtype=object)
    done = ~np.isfinite(v)
    for s in gb3838().trophic["states"]:
        hi = np.inf if s["max"] is None else s["max"]
        ok = ~done & ((v <= hi) if s["max_inclusive"] else (v < hi))
        out[ok] = s["state_zh"]
        done |= ok
    return out


def lake_points(registry: pd.DataFrame, lake: str = "洞庭湖") -> list[str]:
    """Sections of the registry that are points of ``lake`` (lake/reservoir water body whose
    system or river is ``lake``)."""
    m = registry["is_lake"] & ((registry["system_name"] == lake) | (registry["river_name"] == lake))
    return sorted(registry.loc[m, "section"].unique())


def lake_assessment(values: pd.DataFrame, registry: pd.DataFrame | None = None, *, lake: str = "洞庭湖",
                    points=None, ph_mean: str = "arithmetic") -> pd.DataFrame:
    """Class and trophic state of each point of a lake and of the whole lake for a period.

    Parameters
    ----------
    values : pandas.DataFrame
        Period values (:func:`envq.water.periods.period_values`) including the lake's points.
    registry : pandas.DataFrame, optional
        Section registry (default the configured one); gives the lake's points.
    lake : str
        Lake name as in the registry's ``system``/``river`` (default 洞庭湖).
    points : list of str, optional
        The lake's points, overriding the registry.
    ph_mean : {"arithmetic", "hydrogen"}
        pH averaging over points.

    Returns
    -------
    pandas.DataFrame
        One row per point and a last row ``scope = "lake"`` (indicators averaged over the points):
        ``lake, scope, section, period, class, class_name, status, main_pollutants, tn_class,
        ph, do, codmn, nh3n, tp, tn, chla, tli, trophic_state, tli_params, tli_flag``. ``tli_flag``
        explains renormalised weights (e.g. no SD in automatic data) and chlorophyll magnitudes
        that look like a unit error.
    """
    from envq.water.periods import round_assessment, wide_values
    from envq.water.registry import load_registry

    registry = load_registry() if registry is None else registry
    pts = list(points) if points is not None else lake_points(registry, lake)
    sub = values[values["section"].isin(pts)]
    if not len(sub):
        raise ValueError(f"no period values for the points of {lake} ({', '.join(pts) or 'none in the registry'})")
    v, b, _ = wide_values(sub)
    raw = sub.pivot_table(index="section", columns="item", values="value_raw", aggfunc="first").reindex(v.index)
    frac = gb3838().nondetect["average_fraction"]
    # lake-wide: mean over points of each indicator (pH optionally via [H+])
    mean = {}
    for c in v.columns:
        x = np.where(b[c].to_numpy(bool), frac * v[c].to_numpy(float), v[c].to_numpy(float))
        x = x[np.isfinite(x)]
        if not x.size:
            continue
        m = -np.log10(np.mean(10.0 ** -x)) if (c == "ph" and ph_mean == "hydrogen") else float(np.mean(x))
        mean[c] = float(round_assessment(c, m))
    raw_mean = {c: float(np.nanmean(raw[c].to_numpy(float))) for c in raw.columns if np.isfinite(raw[c]).any()}
    table = pd.concat([v, pd.DataFrame([mean], index=["__lake__"])])
    bdl = pd.concat([b, pd.DataFrame([{c: False for c in b.columns}], index=["__lake__"])]).fillna(False).astype(bool)
    cls = classify(table, lake=True, below_detection=bdl)
    tli_in = pd.concat([raw, pd.DataFrame([raw_mean], index=["__lake__"])])
    t = tli(**{k: tli_in[k].to_numpy(float) if k in tli_in else None for k in TLI_PARAMETERS})
    period = sub["period"].iloc[0]
    out = pd.DataFrame({
        "lake": lake,
        "scope": ["point"] * len(v) + ["lake"],
        "section": list(v.index) + [lake],
        "period": period,
        "class": cls["class"].array,
        "class_name": cls["class_name"].to_numpy(),
        "status": cls["status"].to_numpy(),
        "main_pollutants": cls["main_pollutants"].to_numpy(),
        "tn_class": cls["tn_class"].array if "tn_class" in cls else pd.array([pd.NA] * len(cls), dtype="Int8"),
    })
    for c in ("ph", "do", "codmn", "nh3n", "tp", "tn", "chla", "sd"):
        out[c] = table[c].to_numpy(float) if c in table else np.nan
    out["tli"] = t["tli"].to_numpy()
    out["trophic_state"] = t["state"].to_numpy()
    out["tli_params"] = t["params"].to_numpy()
    flags = []
    for i in range(len(out)):
        f = []
        if t["renormalised"].iloc[i]:
            missing = [p for p in TLI_PARAMETERS if p not in t["params"].iloc[i].split(";")]
            f.append(f"missing {', '.join(missing)}: weights renormalised over {t['params'].iloc[i].replace(';', ', ')}")
        ch = out["chla"].iloc[i]
        if np.isfinite(ch) and (ch < 0.1 or ch > 500):
            f.append(f"chla {ch:g} mg/m3 is outside the usual 0.1-500: check its unit")
        flags.append("; ".join(f))
    out["tli_flag"] = flags
    return out
