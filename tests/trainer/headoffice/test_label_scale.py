"""The Label page with a fleet's worth of placements for review (2,000): pages of 50 newest first, a store filter and
todo/all, bad query values as a one-line notice, unlabelled.csv and labels.csv parsed once per change (the crops
found through the parse's index), and bulk labelling of ticked rows, all or nothing."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")


from tests.trainer.headoffice.test_label import labels, sign_in  # noqa: E402
from trainer.fleet import labels as ho_labels  # noqa: E402

ROWS, STORES = 2000, ("S0", "S1", "S2", "S3")
OWN = 1940  # the placements from this one on have a crop of their own
START = datetime(2026, 12, 1, 8, tzinfo=timezone(timedelta(hours=5, minutes=30)))
COLUMNS = "path,store,kiosk,placement_id,predicted,chooser,last_sku,label,time,batch,reason"


def tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 180, 40)).save(buf, format="PNG")
    return buf.getvalue()


def row_line(i: int) -> str:
    """Placement p<i> of store S<i % 4>, placed i minutes after 08:00 (p1999 the newest); its crop its own file from
    :data:`OWN` on, the store's one shared crop before (2,000 files took 1.6 s to write here)."""
    store = STORES[i % len(STORES)]
    when = (START + timedelta(minutes=i)).isoformat()
    return f"{crop_of(i)},{store},K1,p{i:04d},,removed,,,{when},b,no label"


def crop_of(i: int) -> str:
    return f"images/{STORES[i % len(STORES)]}/K1/{f'p{i:04d}' if i >= OWN else 'shared'}.png"


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "out"
    png = tiny_png()
    for store in STORES:
        (out / "images" / store / "K1").mkdir(parents=True)
        (out / "images" / store / "K1" / "shared.png").write_bytes(png)
    for i in range(OWN, ROWS):
        (out / crop_of(i)).write_bytes(png)
    (out / "unlabelled.csv").write_text("\n".join([COLUMNS] + [row_line(i) for i in range(ROWS)]) + "\n")
    return out


@pytest.fixture
def client(client, seeded):
    """The conftest's client, signed in."""
    sign_in(client, seeded)
    return client


def shown(page: str) -> list[str]:
    """The placements a Label page lists, in order."""
    return re.findall(r'<tr id="label-S\d-K1-(p\d{4})">', page)


def span(page: str) -> str:
    return re.search(r'<span id="label-span">([^<]*)</span>', page).group(1)


def pick(i: int) -> str:
    return f"store={STORES[i % len(STORES)]}&kiosk=K1&placement=p{i:04d}"


def test_pages_of_fifty_newest_first_and_past_the_end_the_last(client):
    first = client.get("/label").text
    assert shown(first) == [f"p{i:04d}" for i in range(1999, 1949, -1)] and span(first) == "rows 1–50 of 2,000"
    assert 'href="/label?page=2" rel="next"' in first and 'rel="prev"' not in first
    for asked in ("40", "999", "000040"):
        page = client.get("/label", params={"page": asked}).text
        assert shown(page) == [f"p{i:04d}" for i in range(49, -1, -1)] and span(page) == "rows 1,951–2,000 of 2,000"
        assert 'href="/label?page=39" rel="prev"' in page and 'rel="next"' not in page
        assert 'name="at_page" value="40"' in page and 'id="label-query"' not in page


@pytest.mark.parametrize("params, says", [
    ({"page": "abc"}, "page 'abc' is not a page number: the first page is shown"),
    ({"page": "0"}, "page '0' is not a page number"),
    ({"page": "-3"}, "page '-3' is not a page number"),
    ({"page": "9" * 30}, "is not a page number"),
    ({"show": "done"}, "show 'done' is not one of todo, all: todo is shown"),
    ({"store": "S9"}, "store 'S9' has no placements for review: every store is shown"),
    ({"store": '"><script>alert(1)</script>', "page": "x"}, "has no placements for review"),
])
def test_a_bad_query_value_is_a_one_line_notice_and_its_default(client, params, says):
    r = client.get("/label", params=params)
    assert r.status_code == 200 and "<script>" not in r.text and "Traceback" not in r.text
    (notice,) = [line for line in r.text.splitlines() if 'id="label-query"' in line]
    assert says in html.unescape(notice) and span(r.text) == "rows 1–50 of 2,000"


def test_the_store_filter_lists_the_stores_and_its_links_keep_it(client):
    page = client.get("/label", params={"store": "S1", "page": "2"}).text
    assert all(f'<option value="{s}"' in page for s in STORES) and '<option value="S1" selected>' in page
    assert span(page) == "rows 51–100 of 500" and shown(page)[0] == "p1797"  # the 51st newest of S1: 1997 - 4 * 50
    assert {p for p in shown(page) if int(p[1:]) % 4 != 1} == set()
    assert 'href="/label?store=S1" rel="prev"' in page and 'href="/label?page=3&amp;store=S1" rel="next"' in page


def test_todo_hides_what_head_office_labelled_and_all_shows_it_with_its_label(client, folder):
    ho_labels.set_label(folder, "S3", "K1", "p1999", sku="banana", user="ravi")
    todo = client.get("/label").text
    assert "p1999" not in shown(todo) and span(todo) == "rows 1–50 of 1,999"
    everything = client.get("/label", params={"show": "all"}).text
    assert shown(everything)[0] == "p1999" and "by ravi" in everything and span(everything) == "rows 1–50 of 2,000"
    assert 'href="/label?page=2&amp;show=all" rel="next"' in everything


def test_the_files_are_parsed_once_until_they_change_and_crops_never_reread_them(client, folder, monkeypatch):
    calls = {"unlabelled": 0, "labels": 0}

    def counted(name, real):
        def read(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return read

    monkeypatch.setattr(ho_labels, "read_unlabelled", counted("unlabelled", ho_labels.read_unlabelled))
    monkeypatch.setattr(ho_labels, "read_labels", counted("labels", ho_labels.read_labels))
    for n in range(10):
        assert client.get("/label", params={"page": str(n + 1), "show": "all"}).status_code == 200
    for i in range(1000, 2000, 20):
        r = client.get("/label/photo.png", params=dict(x.split("=") for x in pick(i).split("&")))
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert calls == {"unlabelled": 1, "labels": 1}
    with open(folder / "unlabelled.csv", "a") as fh:
        fh.write(row_line(2000) + "\n")
    (folder / "images" / "S0" / "K1" / "p2000.png").write_bytes(tiny_png())
    assert shown(client.get("/label").text)[0] == "p2000" and calls == {"unlabelled": 2, "labels": 1}
    assert client.post("/label", data={"store": "S0", "kiosk": "K1", "placement": "p2000", "sku": "banana"}) \
        .status_code == 303 and calls["unlabelled"] == 2  # the label checked against the parse, not a re-read
    assert "p2000" not in shown(client.get("/label").text) and calls == {"unlabelled": 2, "labels": 3}


def test_bulk_labels_every_ticked_row_in_one_post_and_returns_to_the_same_page(client, folder):
    form = {"pick": [pick(1999), pick(1998), pick(1000)], "sku": " banana ", "verdict": "sku", "at_page": "2",
            "at_store": "", "at_show": "all"}
    r = client.post("/label/bulk", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/label?page=2&show=all"
    assert sorted((x["placement_id"], x["sku"], x["labelled_by"]) for x in labels(folder)) == \
        [("p1000", "banana", "meera"), ("p1998", "banana", "meera"), ("p1999", "banana", "meera")]
    page = html.unescape(client.get(r.headers["location"]).text)
    assert 'id="label-notice">3 placements labelled banana;' in page
    r = client.post("/label/bulk", data={**form, "pick": [pick(5), pick(6)], "sku": "", "verdict": "not-a-product"})
    assert r.status_code == 303 and "2 placements labelled not a product" in client.get("/label").text
    assert len(labels(folder)) == 5 and span(client.get("/label").text) == "rows 1–50 of 1,995"


@pytest.mark.parametrize("picks, sku, says", [
    ([pick(1999), "store=S0&kiosk=K1&placement=p9999", pick(1998)], "banana",
     "placement S0/K1/p9999 is not for review"),
    ([pick(1999), pick(1998)], "dragonfruit-xl", "SKU dragonfruit-xl is not in the catalog"),
    ([pick(1999), pick(1998)], "", "enter a SKU"),
    ([pick(1999), "store=S3&kiosk=K1"], "banana", "a ticked row does not name a placement"),
    ([pick(1999), "../../etc/passwd"], "banana", "a ticked row does not name a placement"),
    ([], "banana", "tick the placements to label first"),
    ([pick(i) for i in range(501)], "banana", "tick at most 500 placements at once"),
])
def test_a_refused_bulk_label_writes_nothing_and_says_why_in_one_line(client, folder, picks, sku, says):
    r = client.post("/label/bulk", data={"pick": picks, "sku": sku, "verdict": "sku", "at_page": "3"})
    assert r.status_code == 400 and "Traceback" not in r.text and 'name="at_page" value="3"' in r.text
    (error,) = [line for line in r.text.splitlines() if 'id="label-error"' in line]
    assert says in html.unescape(error) and labels(folder) == []


def test_a_cross_site_bulk_post_or_one_without_a_session_labels_nothing(client, seeded, folder):
    form = {"pick": [pick(1999), pick(1998)], "sku": "banana"}
    for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
        r = client.post("/label/bulk", data=form, headers=headers)
        assert r.status_code == 403 and "label on the dashboard&#39;s own page" in r.text
    client.get("/logout")
    r = client.post("/label/bulk", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/login") and labels(folder) == []


@pytest.mark.parametrize("at, back", [
    ({"at_page": "3", "at_store": "S1", "at_show": "all"}, "/label?page=3&store=S1&show=all"),
    ({"at_page": "abc", "at_store": "<b>S9</b>", "at_show": "javascript:x"}, "/label"),
    ({"at_page": "7", "at_store": "//evil.example", "at_show": "todo"}, "/label?page=7"),
])
def test_a_label_returns_to_the_page_and_filters_it_came_from_as_far_as_they_are_valid(client, at, back):
    r = client.post("/label", data={"store": "S1", "kiosk": "K1", "placement": "p1997", "sku": "banana", **at})
    assert r.status_code == 303 and r.headers["location"] == back
