import os

import pytest


@pytest.fixture(scope="session")
def shared_data_cache(tmp_path_factory):
    """One cache folder for the whole session, so each embedded domain is built once."""
    return tmp_path_factory.mktemp("advlab-cache")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(shared_data_cache):
    """Every test, and every process a test starts, caches under the session folder, never ~/.cache/advlab."""
    previous = os.environ.get("ADVLAB_CACHE")
    os.environ["ADVLAB_CACHE"] = str(shared_data_cache)
    yield
    if previous is None:
        os.environ.pop("ADVLAB_CACHE", None)
    else:
        os.environ["ADVLAB_CACHE"] = previous


@pytest.fixture
def data_cache(shared_data_cache, monkeypatch):
    """Point ADVLAB_CACHE at the session cache (kept for tests that name it explicitly)."""
    monkeypatch.setenv("ADVLAB_CACHE", str(shared_data_cache))
    return shared_data_cache
