import pytest


@pytest.fixture(scope="session")
def shared_data_cache(tmp_path_factory):
    """One cache folder for the whole session, so each embedded domain is built once."""
    return tmp_path_factory.mktemp("advlab-cache")


@pytest.fixture
def data_cache(shared_data_cache, monkeypatch):
    """Point ADVLAB_CACHE at the session cache, so tests never touch ~/.cache/advlab."""
    monkeypatch.setenv("ADVLAB_CACHE", str(shared_data_cache))
    return shared_data_cache
