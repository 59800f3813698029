"""GB 3838-2002 Table 1 and the 2011 evaluation method, read from ``gb3838_2002.yaml`` once.

Private: the rest of :mod:`envq.water` reads the standard through :func:`gb3838`, which turns the
YAML into frozen objects with limits as exact scaled integers; other packages import it from
:mod:`envq.water.classify`, where it is public. Nothing is read at import time.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from envq import standards

STANDARD_ID = "gb3838_2002"

#: Extra decimals kept, beyond the decimals of an item's limits, when a value is compared exactly.
EXTRA_DECIMALS = 6


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e-" in text:
        mant, exp = text.split("e-")
        return int(exp) + (len(mant.split(".")[1]) if "." in mant else 0)
    frac = text.split(".")[1] if "." in text else ""
    return 0 if frac == "0" else len(frac)


@dataclasses.dataclass(frozen=True)
class Item:
    """One item of GB 3838-2002 Table 1 (or another measured parameter)."""

    code: str
    no: int
    name_zh: str
    name_en: str
    unit: str
    direction: str  # upper | lower | range | none
    limits: tuple | None  # Class I..V [unit]
    lake_limits: tuple | None
    lake_only: bool
    ph_range: tuple | None
    classification: bool
    toxic: bool
    exceedance: bool
    decimals: int | None
    clause: str
    scale_decimals: int  # values and limits are compared as int64 in units of 10**-scale_decimals

    @property
    def classifiable(self) -> bool:
        return self.direction in ("upper", "lower", "range")

    def limit_array(self, lake: bool) -> np.ndarray | None:
        """The Class I..V limits for rivers or lakes as float64, or None."""
        lim = self.lake_limits if (lake and self.lake_limits is not None) else self.limits
        return None if lim is None else np.asarray(lim, dtype=np.float64)

    def scaled_limits(self, lake: bool) -> np.ndarray | None:
        lim = self.limit_array(lake)
        if lim is None:
            return None
        return np.rint(lim * 10.0**self.scale_decimals).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class Gb3838:
    """The standard as envq applies it (see ``gb3838_2002.yaml`` for every clause)."""

    doc: dict
    items: dict  # code -> Item, Table 1 order
    other: dict  # code -> dict for parameters outside Table 1
    classification_items: tuple
    classes: tuple  # 6 dicts, class 1..6
    evaluation: dict
    trophic: dict
    nondetect: dict
    statistics_2020: dict

    def item(self, code: str) -> Item:
        try:
            return self.items[code]
        except KeyError:
            raise KeyError(
                f"unknown GB 3838-2002 item {code!r}; known: {', '.join(self.items)}"
            ) from None

    def label(self, code: str) -> str:
        if code in self.items:
            return self.items[code].name_zh
        if code in self.other:
            return self.other[code]["name_zh"]
        return code


@functools.cache
def gb3838() -> Gb3838:
    """The GB 3838-2002 standards file as :class:`Gb3838` (loaded and validated once)."""
    doc = standards.load(STANDARD_ID)
    items = {}
    for d in doc["items"]:
        lims = [v for key in ("limits", "lake_limits") for v in (d.get(key) or [])]
        if d.get("range"):
            lims += [d["range"]["min"], d["range"]["max"]]
        dec = max([_decimals(v) for v in lims], default=0)
        items[d["item"]] = Item(
            code=d["item"],
            no=d["table_row"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            unit=d["unit"],
            direction=d["direction"],
            limits=tuple(d["limits"]) if d.get("limits") else None,
            lake_limits=tuple(d["lake_limits"]) if d.get("lake_limits") else None,
            lake_only=bool(d.get("lake_only", False)),
            ph_range=(d["range"]["min"], d["range"]["max"]) if d.get("range") else None,
            classification=bool(d["classification"]),
            toxic=bool(d["toxic"]),
            exceedance=bool(d["exceedance_multiple"]),
            decimals=d.get("assessment_decimals"),
            clause=d["clause"],
            scale_decimals=dec + EXTRA_DECIMALS,
        )
    ev = doc["evaluation"]
    cls_items = tuple(ev["classification_items"]["items"])
    unknown = [c for c in cls_items if c not in items]
    if unknown:
        raise ValueError(f"{STANDARD_ID}.yaml: classification items not in Table 1: {unknown}")
    return Gb3838(
        doc=doc,
        items=items,
        other={d["item"]: d for d in doc["other_parameters"]},
        classification_items=cls_items,
        classes=tuple(sorted(doc["classes"], key=lambda c: c["class"])),
        evaluation=ev,
        trophic=doc["trophic_state"],
        nondetect=doc["nondetect"],
        statistics_2020=doc["statistics_2020"],
    )
