"""Standards as data: one YAML file per standard edition, validated against one schema.

Each file in this package holds the numbers of one edition (HJ 633-2012, HJ 633-2026,
GB 3095-2012, GB 3095-2026, HJ 663-2013, HJ 663-2026, GB 3838-2002) together with the clause each
value comes from. Nothing is read at import time; files are loaded and validated on first use.

The edition in force is chosen by date (:func:`edition_for`); a caller can always force one, e.g.
to back-cast 2025 under the 2026 rules.
"""

from __future__ import annotations

import datetime as _dt
import functools
from importlib import resources

__all__ = [
    "FAMILIES",
    "assessment_pair",
    "available",
    "edition_for",
    "load",
    "schema",
    "validate",
]

#: Standard families and their editions, oldest first.
FAMILIES: dict[str, tuple[str, ...]] = {
    "hj633": ("hj633_2012", "hj633_2026"),
    "gb3095": ("gb3095_2012", "gb3095_2026"),
    "hj663": ("hj663_2013", "hj663_2026"),
    "gb3838": ("gb3838_2002",),
}


def _plain(obj):
    """YAML dates become ISO strings so that files validate as JSON."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return obj


def _read_yaml(name: str) -> dict:
    import yaml

    text = resources.files("envq.standards").joinpath(name).read_text(encoding="utf-8")
    # libyaml's parser when PyYAML has it (the same safe constructors, ten times faster: the
    # standards files are read on the first use of every run)
    return _plain(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


@functools.cache
def schema() -> dict:
    """The JSON Schema every standards file must satisfy."""
    return _read_yaml("schema.yaml")


def available() -> list[str]:
    """Ids of the standards files shipped with envq (e.g. ``hj633_2012``)."""
    return sorted(
        p.name[: -len(".yaml")]
        for p in resources.files("envq.standards").iterdir()
        if p.name.endswith(".yaml") and p.name != "schema.yaml"
    )


def validate(doc: dict, *, name: str = "<document>") -> None:
    """Raise ``ValueError`` naming the file and the failing path if *doc* breaks the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{name}: {'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors[:10]
        ]
        raise ValueError("standards file does not match the schema:\n" + "\n".join(lines))


@functools.cache
def load(standard_id: str) -> dict:
    """Load and validate one standards file, e.g. ``load("hj633_2026")``.

    The returned dict is cached and shared: treat it as read-only.
    """
    if standard_id not in available():
        raise KeyError(f"unknown standard {standard_id!r}; available: {', '.join(available())}")
    doc = _read_yaml(f"{standard_id}.yaml")
    validate(doc, name=f"{standard_id}.yaml")
    if doc["id"] != standard_id:
        raise ValueError(f"{standard_id}.yaml: id is {doc['id']!r}, expected {standard_id!r}")
    return doc


def edition_for(family: str, date, *, force: str | None = None) -> str:
    """The edition of *family* in force on *date* (or *force*, when given).

    Parameters
    ----------
    family : {"hj633", "gb3095", "hj663", "gb3838"}
    date : date-like
        The natural day being assessed (Beijing time).
    force : str, optional
        An edition id of the same family; returned unchanged after checking it exists.

    Examples
    --------
    >>> edition_for("hj633", "2026-02-28")
    'hj633_2012'
    >>> edition_for("hj633", "2026-03-01")
    'hj633_2026'
    >>> edition_for("hj633", "2025-06-01", force="hj633_2026")
    'hj633_2026'
    """
    if family not in FAMILIES:
        raise KeyError(f"unknown standard family {family!r}; known: {', '.join(FAMILIES)}")
    editions = FAMILIES[family]
    if force is not None:
        if force not in editions:
            raise ValueError(f"{force!r} is not an edition of {family} ({', '.join(editions)})")
        return force
    day = _dt.date.fromisoformat(str(date)[:10])
    chosen = None
    for ed in editions:
        if _dt.date.fromisoformat(load(ed)["in_force_from"]) <= day:
            chosen = ed
    if chosen is None:
        first = load(editions[0])
        raise ValueError(
            f"no edition of {family} is in force on {day}: the earliest, {first['number']}, "
            f"applies from {first['in_force_from']}; pass force= to apply it anyway"
        )
    return chosen


def assessment_pair(assessment: str) -> tuple[dict, dict]:
    """An HJ 663 edition and the GB 3095 edition in force when it took effect: (hj663, gb3095).

    HJ 663 carries the assessment rules (MDA8 windows, percentiles, composite index); GB 3095
    Table 4 the validity minimums they rely on.
    """
    if assessment not in FAMILIES["hj663"]:
        raise ValueError(
            f"assessment={assessment!r} is not an HJ 663 edition; use one of {', '.join(FAMILIES['hj663'])}"
        )
    hj = load(assessment)
    return hj, load(edition_for("gb3095", hj["in_force_from"]))
