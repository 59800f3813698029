"""Packaging: the metadata setuptools builds from pyproject.toml, without deprecation warnings
(issue 12: `license = {text = ...}` warned on every install)."""

import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_pyproject_builds_without_deprecation_warnings_and_ships_the_licence(monkeypatch):
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(REPO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert [str(w.message)[:80] for w in caught if "Deprecat" in w.category.__name__] == []
    meta = dist.metadata
    assert meta.license_expression == "MIT"
    assert list(dist.metadata.license_files or dist.license_files) == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
