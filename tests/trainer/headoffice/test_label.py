"""The Label page (``checkout headoffice serve … --feedback DIR``): collect's placements for review with their crops,
labelled by a signed-in user through a same-site form; the crop route reads only what unlabelled.csv names inside
DIR/images; without --feedback there is no such page."""

from __future__ import annotations

import csv
import html
import os

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from kiosk.cli import main as checkout  # noqa: E402
from tests.trainer.fleet.stores import crop, put_batch, record  # noqa: E402
from trainer.fleet.collect import collect_feedback  # noqa: E402
from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402

P2 = {"store": "S", "kiosk": "K1", "placement": "p2"}


def review_folder(tmp_path):
    """A collect folder: p2 and p3 not recognised with a crop (p3 the newer), p4 without one, p1 labelled."""
    ho, out = tmp_path / "ho", tmp_path / "out"
    put_batch(ho, "S", "K1", [record("p1", "lemon", "staff"), record("p2", None, "none", predicted="lemon"),
                              record("p3", None, "none", when="2026-12-01T11:00:00+05:30"),
                              record("p4", None, "none", image=False)],
              {"p1": crop(1), "p2": crop(2), "p3": crop(3)})
    collect_feedback(str(ho), out, progress=False, workers=1)
    return out


@pytest.fixture
def folder(tmp_path):
    return review_folder(tmp_path)


def sign_in(client, seeded):
    r = client.post("/login", data={"username": "meera", "password": seeded.password, "next": "/label"})
    assert r.status_code == 303 and r.headers["location"] == "/label"


def labels(folder) -> list[dict]:
    path = folder / "labels.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_page_lists_the_crops_newest_first_with_the_catalog_to_choose_from(client, seeded):
    sign_in(client, seeded)
    page = client.get("/label").text
    assert '<a href="/label" class="here">Label</a>' in page
    assert page.index('id="label-S-K1-p3"') < page.index('id="label-S-K1-p2"') and "label-S-K1-p4" not in page
    assert "label-S-K1-p1" not in page and "no label" in page and "<td>lemon</td>" in page  # what the model said
    assert 'src="/label/photo.png?store=S&amp;kiosk=K1&amp;placement=p2"' in page
    assert '<option value="banana">' in page  # the catalog's SKUs, with their names
    r = client.get("/label/photo.png", params=P2)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content == crop(2)


def test_a_label_is_recorded_as_the_signed_in_user_and_can_be_changed(client, seeded, folder):
    sign_in(client, seeded)
    r = client.post("/label", data={**P2, "sku": "banana", "verdict": "sku"})
    assert r.status_code == 303 and r.headers["location"] == "/label"
    assert [(x["placement_id"], x["sku"], x["verdict"], x["labelled_by"]) for x in labels(folder)] == \
        [("p2", "banana", "sku", "meera")]
    page = html.unescape(client.get("/label").text)
    assert 'id="label-notice">S/K1/p2 labelled banana;' in page and "label-S-K1-p2" not in page  # done: not todo
    assert 'id="label-notice"' not in client.get("/label").text  # said once
    assert "by meera" in client.get("/label", params={"show": "all"}).text
    r = client.post("/label", data={**P2, "sku": "", "verdict": "not-a-product", "at_show": "all"})
    assert r.headers["location"] == "/label?show=all"
    assert [(x["sku"], x["verdict"]) for x in labels(folder)] == [("", "not-a-product")]
    assert "not a product</span>" in client.get("/label?show=all").text


@pytest.mark.parametrize("form, says", [
    ({**P2, "sku": "Banana!", "verdict": "sku"}, "is not a SKU id"),
    ({**P2, "sku": "dragonfruit-xl", "verdict": "sku"}, "SKU dragonfruit-xl is not in the catalog"),
    ({**P2, "sku": "", "verdict": "sku"}, "enter a SKU"),
    ({**P2, "placement": "../p1", "sku": "banana"}, "is not for review"),
])
def test_a_bad_label_is_the_page_again_with_one_line(client, seeded, folder, form, says):
    sign_in(client, seeded)
    r = client.post("/label", data=form)
    assert r.status_code == 400 and 'id="label-error"' in r.text and "Traceback" not in r.text
    (error,) = [line for line in r.text.splitlines() if 'id="label-error"' in line]
    assert says in html.unescape(error) and labels(folder) == []


def test_a_cross_site_post_or_one_without_a_session_labels_nothing(client, seeded, folder):
    r = client.post("/label", data={**P2, "sku": "banana"})  # not signed in
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/label/photo.png", params=P2).status_code == 401
    sign_in(client, seeded)
    for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
        r = client.post("/label", data={**P2, "sku": "banana"}, headers=headers)
        assert r.status_code == 403 and "label on the dashboard&#39;s own page" in r.text
    assert labels(folder) == []
    assert client.post("/label", data={**P2, "sku": "banana"}, headers={"sec-fetch-site": "same-origin"}).status_code \
        == 303


def test_the_crop_route_reads_only_images_unlabelled_csv_names_inside_the_folder(client, seeded, folder, tmp_path):
    sign_in(client, seeded)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(crop(9))
    (folder / "images" / "S" / "K1" / "link.jpg").symlink_to(secret)
    (folder / "images" / "S" / "K1" / "page.jpg").write_bytes(b"<html>not a photo</html>")
    text = (folder / "unlabelled.csv").read_text()
    for name, where in (("a", "../secret.jpg"), ("b", str(secret)), ("c", "images/S/K1/link.jpg"),
                        ("d", "images/S/K1/page.jpg"), ("e", "images/../../secret.jpg"), ("f", "images/S/K1")):
        text += f"{where},S,K1,{name},,removed,,,2026-12-01T09:00:00+05:30,b,no label\n"
    (folder / "unlabelled.csv").write_text(text)
    for name in "abcdef":
        assert client.get("/label/photo.png", params={**P2, "placement": name}).status_code == 404, name
    for params in ({"store": "S", "kiosk": "K1", "placement": "../../secret"}, {"placement": "p2"}, {}):
        assert client.get("/label/photo.png", params=params).status_code == 404
    assert client.get("/label/photo.png", params=P2).content == crop(2)


def test_without_a_feedback_folder_there_is_no_label_page(seeded, users, folder):
    client = TestClient(create_app(DashboardData(str(seeded.root)), users, secret="s" * 64), follow_redirects=False)
    assert client.get("/label").status_code == 404
    sign_in_page = client.post("/login", data={"username": "meera", "password": seeded.password, "next": "/"})
    assert sign_in_page.status_code == 303 and 'href="/label"' not in client.get("/").text
    assert client.get("/label").status_code == 404 and client.get("/label/photo.png", params=P2).status_code == 404
    assert client.post("/label", data={**P2, "sku": "banana"}).status_code in (404, 405) and labels(folder) == []


def test_a_damaged_labels_file_is_one_line_on_the_page_and_at_serve(client, seeded, folder, users, tmp_path, capsys):
    sign_in(client, seeded)
    (folder / "labels.csv").write_text("who,what\n")
    r = client.get("/label")
    assert r.status_code == 200 and "labels.csv line 1: the header is not" in r.text and "Traceback" not in r.text
    empty = tmp_path / "empty"
    empty.mkdir()
    for where in (folder, empty):
        assert checkout(["headoffice", "serve", str(seeded.root), "--users", str(users.path), "--port", "0",
                         "--feedback", str(where)]) == 2
        err = capsys.readouterr().err
        assert (str(where / "labels.csv") if where == folder else "unlabelled.csv: cannot read it") in err
        assert len(err.strip().splitlines()) == 1, err
    assert os.path.exists(folder / "labels.csv")
