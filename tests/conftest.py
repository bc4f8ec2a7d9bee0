import os
import warnings
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: Published training runs, kept beside the repository (never copied into it).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"published data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def client():
    """A test client of the web app, one per test module; skips without the web extra (a
    module's own fixture of this name, e.g. with other app options, takes precedence)."""
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from computeplan.web import create_app

    with TestClient(create_app()) as c:
        yield c
