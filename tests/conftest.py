from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def shared_data_dir(name: str) -> Path:
    """Directory of a real data set in ../shared/data, or skip when ../shared is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} does not exist (../shared is absent)")
    return path
