"""checkout report taught and the dashboard's Taught page: the products staff taught at the kiosks, per SKU (stores,
kiosks, photos, withdrawn, whether a published release knows it) and per enrollment with its photos; a broken batch
named and skipped whole; photos served only from listed batches."""

from __future__ import annotations

import json
import shutil

import pytest

from kiosk.cli import main
from trainer.headoffice.taught import taught_report


def by_sku(report) -> dict:
    return {s.sku: s for s in report.skus}


def test_each_taught_product_is_summed_over_the_stores_that_taught_it(seeded):
    report = taught_report(str(seeded.root), seeded.channel)
    skus = by_sku(report)
    assert sorted(skus) == ["avocado", "banana", "garlic"] and report.skipped == [] and report.channel_problems == []
    avocado = skus["avocado"]
    assert (avocado.stores, avocado.kiosks, avocado.enrollments, avocado.photos, avocado.withdrawn) == (
        ["BLR-0042", "BLR-0107"], 2, 2, 11, 0)
    assert avocado.first_at < avocado.last_at and avocado.released_in == []  # taught, no release knows it yet
    garlic = skus["garlic"]  # withdrawn by staff before it was sent: counted, its photos not
    assert (garlic.enrollments, garlic.withdrawn, garlic.photos, garlic.kiosks, garlic.last_at) == (1, 1, 0, 0, "")
    assert skus["banana"].released_in == ["default"]
    assert report.skus[0].sku == "avocado"  # most kiosks first
    times = [e.created_at for e in report.enrollments]
    assert times == sorted(times, reverse=True) and len(times) == 4


def test_without_a_channel_the_release_is_not_guessed(seeded):
    assert {s.released_in for s in taught_report(str(seeded.root)).skus} == {None}


def test_a_broken_batch_is_named_and_skipped_whole(seeded, tmp_path):
    root = tmp_path / "ho"
    shutil.copytree(seeded.root / "enrollment", root / "enrollment")
    victim = sorted((root / "enrollment" / "BLR-0107").rglob("*.tar"))[0]
    victim.write_bytes(victim.read_bytes()[:-4000])  # cut short in transit
    (root / "enrollment" / "stray.tar").write_bytes(b"not a batch")
    report = taught_report(str(root))
    assert sorted(s["batch"].split("/")[1] for s in report.skipped) == ["BLR-0107", "stray.tar"]
    avocado = by_sku(report)["avocado"]
    assert (avocado.stores, avocado.photos) == (["BLR-0042"], 6)


def test_a_channel_that_cannot_be_read_is_said_not_hidden(seeded, tmp_path):
    channel = tmp_path / "channel"
    shutil.copytree(seeded.channel, channel)
    (channel / "bundles" / "v000003-x.tar").write_bytes(b"\0" * 100)
    report = taught_report(str(seeded.root), channel)
    assert len(report.channel_problems) == 1 and "group default: release v3" in report.channel_problems[0]
    assert by_sku(report)["banana"].released_in is None  # unknown: no release could be read, so not "not yet"


def test_the_command_prints_the_table_and_json(seeded, capsys):
    assert main(["report", "taught", str(seeded.root), "--channel", str(seeded.channel)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 product(s) taught at the kiosks, 4 enrollment(s)")
    avocado = next(line for line in out.splitlines() if line.startswith("avocado"))
    assert "BLR-0042, BLR-0107" in avocado and "not yet" in avocado
    assert main(["report", "taught", str(seeded.root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {s["sku"] for s in doc["skus"]} == {"banana", "avocado", "garlic"}
    assert main(["report", "taught", str(seeded.root / "nowhere")]) != 0
    assert "no such head-office directory" in capsys.readouterr().err


@pytest.fixture
def client(seeded, tmp_path):
    pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")
    from fastapi.testclient import TestClient

    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    users = Users(tmp_path / "users.json")
    users.add("meera", seeded.password)
    data = DashboardData(str(seeded.root), str(seeded.keys), str(seeded.channel), str(seeded.catalog))
    app = create_app(data, users, secret="s" * 64)
    return TestClient(app, follow_redirects=False)


def test_the_taught_page_shows_the_products_and_their_photos(client, seeded):
    assert client.get("/taught").status_code == 303
    batch = taught_report(str(seeded.root)).enrollments[0].batch
    assert client.get(f"/taught/photo/{batch}/0.png").status_code == 401  # photos need a signed-in user too
    client.post("/login", data={"username": "meera", "password": seeded.password, "next": "/taught"})
    page = client.get("/taught").text
    assert 'id="taught-avocado"' in page and "not yet" in page and "withdrawn" in page
    assert page.count('src="/taught/photo/') == 4 + 4 + 4 + 3  # up to four thumbnails per enrollment
    photo = client.get(f"/taught/photo/{batch}/0.png")
    assert photo.status_code == 200 and photo.content[:8] == b"\x89PNG\r\n\x1a\n"
    for bad in (f"/taught/photo/{batch}/99.png", "/taught/photo/enrollment-0000.tar/0.png",
                "/taught/photo/..%2F..%2Fusers.json/0.png", f"/taught/photo/{batch}/-1.png"):
        assert client.get(bad).status_code in (404, 422), bad
    assert {s["sku"] for s in client.get("/api/taught").json()["skus"]} == {"banana", "avocado", "garlic"}


def test_the_products_head_offices_catalog_lacks_become_a_catalog_csv(seeded, tmp_path, capsys):
    """The stores' catalog rows travel with their enrollments: head office sees each taught product's name and price,
    which ones its catalog lacks, and imports those with `checkout catalog import`."""
    report = taught_report(str(seeded.root), seeded.channel, seeded.catalog)
    skus = by_sku(report)
    assert skus["avocado"].product["name"] == "Hass Avocado" and skus["avocado"].in_catalog is False
    assert skus["banana"].in_catalog is True and skus["garlic"].in_catalog is False
    out = tmp_path / "new.csv"
    assert main(["report", "taught", str(seeded.root), "--catalog", str(seeded.catalog), "--new-products",
                 str(out)]) == 0
    captured = capsys.readouterr()
    assert "Hass Avocado" in captured.out and "missing" in captured.out
    assert f"wrote {out}: 1 new product(s)" in captured.err  # garlic was withdrawn everywhere, banana is known
    db = tmp_path / "ho-catalog.sqlite"
    shutil.copy(seeded.catalog, db)
    assert main(["catalog", "import", str(out), "--db", str(db)]) == 0
    capsys.readouterr()
    assert by_sku(taught_report(str(seeded.root), None, db))["avocado"].in_catalog is True


def put_enrollment(root, kiosk: str, eid: int, sku: str, created_at: str, product=None) -> None:
    """One enrollment batch (one photo) as kiosk ``kiosk`` of BLR-0042 would upload it."""
    import hashlib

    from kiosk.exchange import batch_key, write_batch
    from kiosk.exchange.enrollment import KIND, photo_member
    from tests.trainer.headoffice.seed import _photo

    data = _photo("garlic", eid)
    sha = hashlib.sha256(data).hexdigest()
    meta = {"kiosk_id": kiosk, "store_id": "BLR-0042", "enrollment_id": eid, "sku": sku, "created_at": created_at,
            "staff": "101", "source": "teach-screen", "refused": 0, "withdrawn_at": None,
            **({"product": product} if product else {})}
    name, blob = write_batch(KIND, meta, [{"image": photo_member(eid, sha), "sha256": sha, "sharpness": 1.0}],
                             {photo_member(eid, sha): data})
    path = root / batch_key(KIND, "BLR-0042", kiosk, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)


def test_kiosks_in_other_time_zones_are_ordered_by_the_moment_not_the_text(tmp_path):
    root = tmp_path / "ho"
    put_enrollment(root, "K8", 1, "kiwi", "2026-12-01T10:00:00+05:30")  # 04:30 UTC
    put_enrollment(root, "K9", 1, "kiwi", "2026-12-01T05:00:00Z")  # later, though its text sorts first
    report = taught_report(str(root))
    assert [e.kiosk for e in report.enrollments] == ["K9", "K8"]
    assert report.skus[0].first_at.endswith("+05:30") and report.skus[0].last_at.endswith("Z")


def test_a_catalog_row_that_would_not_import_is_named(seeded, tmp_path, capsys):
    from tests.trainer.headoffice.seed import PRODUCTS
    from trainer.headoffice.taught import new_products

    root = tmp_path / "ho"
    shutil.copytree(seeded.root / "enrollment", root / "enrollment")
    bad = dict(PRODUCTS["garlic"], sku="black-garlic", price_paise="a lot")
    put_enrollment(root, "K9", 4, "black-garlic", "2026-12-01T10:00:00+05:30", bad)
    rows, problems = new_products(taught_report(str(root)))
    assert [r["sku"] for r in rows] == ["avocado", "banana"]
    assert len(problems) == 1 and problems[0].startswith("black-garlic: its catalog row would not import")


def test_an_enrollment_whose_catalog_row_names_another_sku_is_refused_whole():
    import hashlib

    from kiosk.exchange import BatchError, write_batch
    from kiosk.exchange.enrollment import KIND, photo_member, read_enrollment_batch
    from tests.trainer.headoffice.seed import PRODUCTS

    data = b"\x89PNG not really"
    sha = hashlib.sha256(data).hexdigest()
    base = {"kiosk_id": "K1", "store_id": "S1", "enrollment_id": 2, "sku": "kiwi", "created_at": "2026-12-01T10:00:00Z",
            "staff": "", "source": "", "refused": 0, "withdrawn_at": None}
    records, files = [{"image": photo_member(2, sha), "sha256": sha}], {photo_member(2, sha): data}
    for product in (PRODUCTS["banana"], {"sku": "kiwi", "name": 7}, {"sku": "kiwi", "name": "x" * 300}, ["kiwi"]):
        name, blob = write_batch(KIND, base | {"product": product}, records, files)
        with pytest.raises(BatchError, match="product"):
            read_enrollment_batch(blob, name)
    name, blob = write_batch(KIND, base | {"product": {"sku": "kiwi", "name": "Kiwi"}}, records, files)
    assert read_enrollment_batch(blob, name).meta["product"]["name"] == "Kiwi"
