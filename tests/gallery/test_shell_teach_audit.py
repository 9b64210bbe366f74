"""``checkout sku enroll|forget`` from the shell write the till's audit log as the Teach page does.

Before, a product taught or withdrawn from the shell changed what the till suggests with no row in the till's audit
log (only the gallery's own record): the head-office audit view and ``audit verify`` never saw it. With the kiosk's
settings (``--config``) the row (``staff.teach``, ``staff.teach_withdrawn``) is written inside the gallery's
transaction, with who ran it; a row that cannot be written leaves the gallery unchanged. The real CLI, demo model
(``make demo-bundle``), catalog, gallery and sales file."""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest

from kiosk.cli import main as checkout

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "var" / "demo" / "bundle"


@pytest.fixture
def kiosk(tmp_path):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog

    with Catalog.open(tmp_path / "catalog.sqlite") as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    photos = tmp_path / "banana"
    photos.mkdir()
    for p in sorted((REPO / "assets" / "demo" / "train" / "banana").glob("*.jpg"))[:8]:
        shutil.copy(p, photos / p.name)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'catalog = "{tmp_path / "catalog.sqlite"}"\nstore = "{tmp_path / "sales.sqlite"}"\n'
                      f'gallery = "{tmp_path / "gallery"}"\nbundle = "{BUNDLE}"\nkiosk_id = "K7"\n')
    return tmp_path, config, photos


def _rows(tmp_path: Path, kind: str) -> list[tuple[str, dict]]:
    from kiosk.store import SalesStore

    with SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="K7", readonly=True) as store:
        return [(r["actor"], r["detail"]) for r in store.audit_rows() if r["kind"] == kind]


def test_enroll_and_forget_from_the_shell_write_the_tills_audit_rows(kiosk, capsys):
    tmp_path, config, photos = kiosk
    assert checkout(["sku", "enroll", "banana", "--images", str(photos), "--config", str(config),
                     "--staff", "asha", "--json"]) == 0
    (actor, detail), = _rows(tmp_path, "staff.teach")
    assert actor == "asha" and detail["sku"] == "banana" and detail["source"] == "checkout sku enroll"
    assert detail["photos"] >= 5 and detail["photos"] + detail["refused"] == 8 and detail["enrollment"] == 1
    assert checkout(["sku", "forget", "banana", "--config", str(config)]) == 0
    assert _rows(tmp_path, "staff.teach_withdrawn") == [(getpass.getuser(), {"sku": "banana", "enrollments": 1,
                                                                              "source": "checkout sku forget"})]
    assert checkout(["sku", "forget", "banana", "--config", str(config)]) == 2  # nothing taught: no row for it
    assert len(_rows(tmp_path, "staff.teach_withdrawn")) == 1
    assert checkout(["audit", "verify", "--config", str(config)]) == 0, capsys.readouterr()


def test_a_row_that_cannot_be_written_leaves_the_gallery_unchanged(kiosk, monkeypatch, capsys):
    from kiosk.gallery import Gallery
    from kiosk.store import SalesStore

    tmp_path, config, photos = kiosk

    real = SalesStore._append

    def dies(self, c, kind, actor, detail):
        if kind == "staff.teach":
            raise RuntimeError(f"killed before the {kind} row")
        return real(self, c, kind, actor, detail)

    with monkeypatch.context() as m:
        m.setattr(SalesStore, "_append", dies)
        with pytest.raises(RuntimeError, match="killed before the staff.teach row"):
            checkout(["sku", "enroll", "banana", "--images", str(photos), "--config", str(config)])
    with Gallery.open(tmp_path / "gallery") as gallery:
        assert gallery.enrollments(active_only=False) == []
    assert _rows(tmp_path, "staff.teach") == []


def test_without_the_kiosks_settings_no_sales_file_is_made(kiosk, tmp_path):
    _, _, photos = kiosk
    assert checkout(["sku", "enroll", "banana", "--images", str(photos), "--gallery", str(tmp_path / "g2"),
                     "--bundle", str(BUNDLE), "--catalog", str(tmp_path / "catalog.sqlite")]) == 0
    assert not (tmp_path / "sales.sqlite").exists()
