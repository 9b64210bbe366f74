import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_GROCERY = REPO.parent / "shared" / "datasets" / "grocery-store"
DEMO = REPO / "assets" / "demo"


@pytest.fixture(autouse=True)
def _root_logger_as_found():
    """Each test leaves the root logger as it found it. ``checkout kiosk`` (kiosk.logs.setup_logging) and the CLI's
    basicConfig install a stderr handler on the stream of the test that ran them; a later test's one-line refusal
    then carried a WARNING line too (only in the whole suite's order). pytest's own capture handlers are left alone."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        plain = type(handler) in (logging.StreamHandler, logging.FileHandler)
        ours = getattr(handler, "_checkout_handler", False) or plain
        if handler not in handlers and ours:
            root.removeHandler(handler)
            if isinstance(handler, logging.FileHandler):
                handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def grocery_root() -> Path:
    """The shared grocery-store dataset beside the repo; skips (with the reason) when it is absent."""
    if not (SHARED_GROCERY / "train.txt").is_file():
        pytest.skip(f"shared dataset not found at {SHARED_GROCERY} (clone with ../shared beside the repo)")
    return SHARED_GROCERY


# -- kiosk services: the demo model bundle (built once per session with the real trainer, cached) ----------
@pytest.fixture(scope="session")
def demo_bundle() -> Path:
    """A model bundle for the demo basket: MobileNetV2 head when the demo training photos and weights exist,
    else a quick tiny_cnn; cached under .cache/test-demo-bundle keyed by its inputs (tests/services/demo_bundle.py)."""
    from tests.services.demo_bundle import build_demo_bundle

    return build_demo_bundle()


# -- the demo catalog (assets/demo/catalog.csv, its photos in images/ beside it), imported once ------------------
@pytest.fixture(scope="session")
def demo_catalog_db(tmp_path_factory) -> Path:
    """``assets/demo/catalog.csv`` imported into a catalog database (read-only use, please)."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog

    path = tmp_path_factory.mktemp("demo-catalog") / "catalog.sqlite"
    with Catalog.open(path) as cat:
        import_csv(cat, DEMO / "catalog.csv")
    return path


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory) -> Path:
    """A tiny bundle carrying an int8 model (built once per session; copy it before changing it)."""
    from tests.recognition.int8_bundle import build_int8_bundle

    return build_int8_bundle(tmp_path_factory.mktemp("int8"))


# -- disk: the suite writes up to ~2.3 GB under the basetemp at once; say so when the disk is short ----------------
SUITE_PEAK_BYTES = 3 * 1024**3  # measured peak 2.3 GB (du every 2 s over `make test`)


def _disk_line(config) -> tuple[str, bool]:
    import shutil
    import tempfile

    where = Path(config.option.basetemp or tempfile.gettempdir())
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    gib = 1024**3
    line = f"disk: {free / gib:.1f} GiB free at {where} (the suite needs about {SUITE_PEAK_BYTES / gib:.0f} GiB)"
    return line, free >= SUITE_PEAK_BYTES


def pytest_report_header(config) -> str:
    return _disk_line(config)[0]


def pytest_sessionstart(session) -> None:
    """Under -q there is no header: a short disk is still said first, since it fails tests far from the cause."""
    line, enough = _disk_line(session.config)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not enough and reporter is not None:
        reporter.write_line(f"WARNING {line}: tests that write models will fail", yellow=True, bold=True)
