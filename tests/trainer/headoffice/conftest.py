import pytest

from tests.trainer.headoffice.seed import seed


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """A head office with four weeks of three stores' feedback, heartbeats, audit batches and a channel (read-only)."""
    return seed(tmp_path_factory.mktemp("head-office"))


@pytest.fixture
def users(seeded, tmp_path):
    """The dashboard's user file with one user, meera, whose password is the seed's."""
    from trainer.headoffice.users import Users

    users = Users(tmp_path / "users.json")
    users.add("meera", seeded.password)
    return users


@pytest.fixture
def client(seeded, users, folder):
    """A dashboard over the seed with the Label page on the module's ``folder`` (a collect folder), not signed in."""
    from fastapi.testclient import TestClient

    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.web import create_app

    data = DashboardData(str(seeded.root), catalog=str(seeded.catalog), feedback=str(folder))
    return TestClient(create_app(data, users, secret="s" * 64), follow_redirects=False)
