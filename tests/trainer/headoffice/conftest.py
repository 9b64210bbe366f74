import pytest

from tests.trainer.headoffice.seed import seed


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """A head office with four weeks of three stores' feedback, heartbeats, audit batches and a channel (read-only)."""
    return seed(tmp_path_factory.mktemp("head-office"))
