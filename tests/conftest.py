import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's console log handler keeps the stream of the first test that logs; pytest closes
# captured streams between tests (xdist workers too). Run logs still go to the API.
for _handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
    os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{_handler}_LEVEL", "CRITICAL")
# Tests use the shipped section registry, whatever a developer's shell configures.
for _var in ("ENVQ_SECTIONS", "ENVQ_SECTIONS_EXTRA", "ENVQ_REACHES", "ENVQ_BASINS", "ENVQ_BASINS_FIELD",
             "ENVQ_CONFIG"):
    os.environ.pop(_var, None)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled real data (data/ at the repository root; see data/README.md)."""
    return REPO / "data"


@pytest.fixture(scope="session")
def maps_site(tmp_path_factory):
    """A real store (July 2019 air, 2026 water; ``_maps_store``) and the maps rendered from it:
    ``(store, rendered)``. Built once per test process."""
    from _maps_store import AIR_PERIOD, WATER_PERIOD, build_store
    from maps.render import render_maps

    root = tmp_path_factory.mktemp("maps-site")
    store = build_store(root / "store")
    return store, render_maps(store, root / "out", period=AIR_PERIOD, water_period=WATER_PERIOD)
