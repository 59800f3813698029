import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Tests use the shipped section registry, whatever a developer's shell configures.
for _var in ("ENVQ_SECTIONS", "ENVQ_SECTIONS_EXTRA", "ENVQ_REACHES", "ENVQ_BASINS", "ENVQ_BASINS_FIELD",
             "ENVQ_CONFIG"):
    os.environ.pop(_var, None)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled real data (data/ at the repository root; see data/README.md)."""
    return REPO / "data"
