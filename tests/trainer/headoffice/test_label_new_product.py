"""The Label page's "New product…" form (POST /label/new-product): a product head office's catalog lacks is made into
DIR/new-products.csv (the catalog CSV `report taught --new-products` writes, checked by the catalog import's own row
validation) and labels a group, or the ticked rows, in one request, all or nothing; the page lists the products
waiting for the catalog; a collect leaves their crops for review until `checkout catalog import` has taken the file,
then takes them up."""

from __future__ import annotations

import csv
import html
import shutil

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from kiosk.cli import main as checkout  # noqa: E402
from tests.trainer.headoffice.test_label import labels, review_folder, sign_in  # noqa: E402
from trainer.data.manifest import read_manifest  # noqa: E402
from trainer.fleet import clusters_file as clusters  # noqa: E402
from trainer.fleet.collect import collect_feedback  # noqa: E402

PRODUCT = {"new_sku": "mango-alphonso", "name": "Alphonso mango", "group": "", "sold_by": "unit", "price": "12.50",
           "gst_percent": "0", "hsn": "0804"}
TICK = {"pick": ["store=S&kiosk=K1&placement=p2"]}


@pytest.fixture
def folder(tmp_path):
    """review_folder's collect folder (p2, p3 with crops, p4 without) with p2 and p3 one group (0)."""
    out = review_folder(tmp_path)
    (out / "clusters.csv").write_text(",".join(clusters.COLUMNS) + "\n" + "".join(
        f"S,K1,{p},images/S/K1/{p}.jpg,0,2,lemon,0.9100,3,{'a' * 64}\n" for p in ("p3", "p2")))
    return out


def one_line(text: str, element: str) -> str:
    (line,) = [x for x in text.splitlines() if f'id="{element}"' in x]
    return html.unescape(line)


def products(folder) -> list[dict]:
    path = folder / "new-products.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def group_form(folder, **fields) -> dict:
    return {"cluster": "0", "version": clusters.read_clusters(folder).version, **PRODUCT, "at_view": "groups",
            **fields}


def test_a_new_product_is_made_and_labels_a_group_at_once(client, seeded, folder):
    sign_in(client, seeded)
    group = client.get("/label?view=groups").text.split('id="group-0">', 1)[1].split("</section>", 1)[0]
    assert 'formaction="/label/new-product"' in group and 'name="new_sku"' in group
    assert 'id="new-products"' not in client.get("/label").text  # none waiting yet
    r = client.post("/label/new-product", data=group_form(folder))
    assert r.status_code == 303 and r.headers["location"] == "/label?view=groups"
    page = client.get(r.headers["location"]).text
    command = f"checkout catalog import {folder / 'new-products.csv'} --db {seeded.catalog}"
    notice = one_line(page, "label-notice")
    assert notice.count("new product mango-alphonso: group 0: 2 placements labelled mango-alphonso;") == 1
    assert command in notice
    assert sorted((x["placement_id"], x["sku"], x["labelled_by"]) for x in labels(folder)) == [
        ("p2", "mango-alphonso", "meera"), ("p3", "mango-alphonso", "meera")]
    assert products(folder) == [{"sku": "mango-alphonso", "name": "Alphonso mango", "group": "new products",
                                 "sold_by": "unit", "price_paise": "1250", "gst_percent": "0", "hsn": "0804",
                                 "plu": "", "barcodes": "", "unit_weight_min_g": "", "unit_weight_max_g": "",
                                 "active": "1", "image": ""}]
    waiting = html.unescape(page.split('id="new-products"', 1)[1].split("</section>", 1)[0])
    assert "<td>mango-alphonso</td><td>Alphonso mango</td><td>₹12.50</td><td>2</td>" in waiting
    assert command in waiting
    assert '<option value="mango-alphonso">Alphonso mango (new)</option>' in page  # the datalist offers it
    # a SKU of new-products.csv is known: the one-by-one form labels with it too
    assert client.post("/label", data={"store": "S", "kiosk": "K1", "placement": "p3", "sku": "mango-alphonso"}) \
        .status_code == 303


@pytest.mark.parametrize("price, paise", [("12.5", "1250"), ("0.05", "5"), ("₹ 99", "9900"), ("1200", "120000")])
def test_a_price_in_rupees_is_whole_paise(client, seeded, folder, price, paise):
    sign_in(client, seeded)
    assert client.post("/label/new-product", data={**TICK, **PRODUCT, "price": price}).status_code == 303
    assert [p["price_paise"] for p in products(folder)] == [paise]


@pytest.mark.parametrize("fields, says", [
    ({"price": "12.505"}, "price '12.505': rupees with at most two decimals (12.50), no sign"),
    ({"price": "-1"}, "price '-1': rupees with at most two decimals"),
    ({"price": "twelve"}, "price 'twelve': rupees with at most two decimals"),
    ({"price": ""}, "price '': rupees with at most two decimals"),
    ({"price": "1,000"}, "price '1,000': rupees"),
    ({"price": "0"}, "new product mango-alphonso: column price_paise value 0: must be a whole number of paise"),
    ({"gst_percent": "7"}, "column gst_percent value '7': must be one of 0, 5, 12, 18, 28"),
    ({"sold_by": "kg"}, "column sold_by value 'kg': must be 'unit' or 'weight'"),
    ({"hsn": "12"}, "column hsn value '12': HSN code must be 4, 6 or 8 digits"),
    ({"hsn": ""}, "column hsn value '': is required"),
    ({"name": ""}, "column name value '': is required"),
    ({"new_sku": "Mango!"}, "new product Mango!: column sku value 'Mango!'"),
    ({"new_sku": "banana"}, "SKU banana is already in the catalog: label the crops with it"),
])
def test_a_bad_product_is_one_line_and_writes_nothing(client, seeded, folder, fields, says):
    sign_in(client, seeded)
    r = client.post("/label/new-product", data={**TICK, **PRODUCT, **fields})
    assert r.status_code == 400 and "Traceback" not in r.text
    assert says in one_line(r.text, "label-error")
    assert products(folder) == [] and labels(folder) == []


def test_the_same_product_again_labels_more_crops_but_other_fields_are_refused(client, seeded, folder):
    sign_in(client, seeded)
    assert client.post("/label/new-product", data={**TICK, **PRODUCT}).status_code == 303
    made = (folder / "new-products.csv").read_bytes()
    r = client.post("/label/new-product", data={"pick": ["store=S&kiosk=K1&placement=p3"], **PRODUCT,
                                                "price": "12.5", "at_show": "all"})
    assert r.status_code == 303 and r.headers["location"] == "/label?show=all"
    assert (folder / "new-products.csv").read_bytes() == made
    assert [x["sku"] for x in labels(folder)] == ["mango-alphonso", "mango-alphonso"]
    r = client.post("/label/new-product", data={"pick": ["store=S&kiosk=K1&placement=p3"], **PRODUCT, "price": "13"})
    assert r.status_code == 400
    assert "SKU mango-alphonso is already a new product (Alphonso mango, ₹12.50) with other fields" in \
        one_line(r.text, "label-error")
    assert (folder / "new-products.csv").read_bytes() == made


def test_nothing_is_written_when_a_label_is_refused(client, seeded, folder):
    sign_in(client, seeded)
    for form in ({"pick": ["store=S&kiosk=K1&placement=p4"], **PRODUCT},  # p4 kept no crop
                 {"pick": ["store=S&kiosk=K1&placement=gone"], **PRODUCT}, {**PRODUCT},
                 group_form(folder, version="stale")):
        r = client.post("/label/new-product", data=form)
        assert r.status_code == 400 and one_line(r.text, "label-error"), form
        assert products(folder) == [] and labels(folder) == []
    assert "no crop was kept" in client.post("/label/new-product", data={
        "pick": ["store=S&kiosk=K1&placement=p4"], **PRODUCT}).text
    assert client.post("/label/new-product", data={**TICK, **PRODUCT, "new_sku": "kiwi-gold"}).status_code == 303
    before = (folder / "new-products.csv").read_bytes()
    r = client.post("/label/new-product", data={"pick": ["store=S&kiosk=K1&placement=p4"], **PRODUCT})
    assert r.status_code == 400 and (folder / "new-products.csv").read_bytes() == before  # the file as it was
    assert [x["sku"] for x in labels(folder)] == ["kiwi-gold"]


def test_a_cross_site_or_signed_out_new_product_makes_nothing(client, seeded, folder):
    r = client.post("/label/new-product", data={**TICK, **PRODUCT})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    sign_in(client, seeded)
    for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
        r = client.post("/label/new-product", data={**TICK, **PRODUCT}, headers=headers)
        assert r.status_code == 403 and "label on the dashboard&#39;s own page" in r.text
    assert products(folder) == [] and labels(folder) == []


def test_collect_leaves_the_crops_for_review_until_the_catalog_imports_the_new_products(client, seeded, folder,
                                                                                        tmp_path, capsys):
    sign_in(client, seeded)
    assert client.post("/label/new-product", data=group_form(folder, name="=HYPERLINK(1)")).status_code == 303
    assert "'=HYPERLINK(1)" in (folder / "new-products.csv").read_text()  # formula-safe, restored by the import
    catalog = tmp_path / "catalog.sqlite"
    shutil.copy(seeded.catalog, catalog)
    collect_feedback(str(tmp_path / "ho"), folder, catalog=catalog, progress=False, workers=1)
    with open(folder / "unlabelled.csv", newline="") as fh:
        review = {r["placement_id"]: r["reason"] for r in csv.DictReader(fh)}
    command = f"`checkout catalog import {folder / 'new-products.csv'} --db DB` first"
    assert sorted(review) == ["p2", "p3", "p4"]
    for p in ("p2", "p3"):
        assert review[p].endswith(f"; head office's label mango-alphonso is a new product: {command}"), review[p]
    assert "mango-alphonso" not in {r.sku for r in read_manifest(folder / "feedback.csv")}
    assert checkout(["catalog", "import", str(folder / "new-products.csv"), "--db", str(catalog)]) == 0
    capsys.readouterr()
    collect_feedback(str(tmp_path / "ho"), folder, catalog=catalog, progress=False, workers=1)
    taken = {r.extra["placement_id"]: r for r in read_manifest(folder / "feedback.csv") if r.sku == "mango-alphonso"}
    assert sorted(taken) == ["p2", "p3"] and {r.extra["trust"] for r in taken.values()} == {"staff"}
    with open(folder / "unlabelled.csv", newline="") as fh:
        assert [r["placement_id"] for r in csv.DictReader(fh)] == ["p4"]


def test_a_damaged_new_products_file_is_one_line_and_labels_nothing(client, seeded, folder):
    sign_in(client, seeded)
    (folder / "new-products.csv").write_text("sku,name\nx,y\n")
    r = client.get("/label")
    assert r.status_code == 200 and "Traceback" not in r.text
    assert "new-products.csv: " in one_line(r.text, "label-problem")
    for path, form in (("/label/new-product", {**TICK, **PRODUCT}), ("/label/bulk", {**TICK, "sku": "banana"})):
        r = client.post(path, data=form)
        assert r.status_code == 400 and "new-products.csv" in one_line(r.text, "label-error"), path
    assert labels(folder) == [] and (folder / "new-products.csv").read_text() == "sku,name\nx,y\n"
