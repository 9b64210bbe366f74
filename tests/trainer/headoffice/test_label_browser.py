"""The Label page in a real browser (Debian's headless Chromium through Selenium): a user signs in, opens Label, sees
the crop, types a SKU, presses Label and sees it recorded (in the page and in DIR/labels.csv); ticks two rows and
labels both with the form above the table; opens Groups and labels a whole group with one form; makes a new product
and labels ticked rows with it."""

from __future__ import annotations

import csv

import pytest

from tests.trainer.headoffice import browser

REASON = browser.missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no browser for the dashboard test: {REASON}")


@pytest.fixture
def app(seeded, tmp_path):  # tmp_path/out: review_folder's collect folder
    from tests.trainer.headoffice.test_label import review_folder
    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    users = Users(tmp_path / "users.json")
    users.add("meera", seeded.password)
    data = DashboardData(str(seeded.root), catalog=str(seeded.catalog), feedback=str(review_folder(tmp_path)))
    return create_app(data, users)


def test_labelling_in_chromium(app, seeded, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with browser.served(app) as url, browser.chromium() as driver:
        driver.get(url + "/label")
        browser.sign_in(driver, url, "meera", seeded.password)
        assert driver.current_url == url + "/label"
        row = driver.find_element(By.ID, "label-S-K1-p2")
        crop = row.find_element(By.TAG_NAME, "img")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", crop) == 96
        row.find_element(By.NAME, "sku").send_keys("banana")
        button = row.find_element(By.CSS_SELECTOR, "button[value=sku]")
        button.click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "label-notice"))
        assert driver.find_element(By.ID, "label-notice").text.startswith("S/K1/p2 labelled banana")
        assert driver.find_elements(By.ID, "label-S-K1-p2") == []  # labelled: no longer on the rows still to label
        driver.get(url + "/label?show=all")
        given = driver.find_element(By.ID, "label-S-K1-p2").find_element(By.CLASS_NAME, "given").text
        assert "banana" in given and "by meera" in given
        assert browser.refused_by_policy(driver) == []
    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        assert [(r["placement_id"], r["sku"], r["labelled_by"]) for r in csv.DictReader(fh)] == [("p2", "banana",
                                                                                                  "meera")]


def test_bulk_labelling_in_chromium(app, seeded, tmp_path):
    """Tick two rows, type a SKU in the form above the table, press Label ticked: both carry it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with browser.served(app) as url, browser.chromium() as driver:
        driver.get(url + "/label")
        browser.sign_in(driver, url, "meera", seeded.password)
        driver.get(url + "/label?show=all")
        for placement in ("p2", "p3"):
            driver.find_element(By.ID, f"label-S-K1-{placement}").find_element(By.NAME, "pick").click()
        driver.find_element(By.ID, "bulk-sku").send_keys("lemon")
        driver.find_element(By.ID, "bulk-label").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "label-notice"))
        assert driver.find_element(By.ID, "label-notice").text.startswith("2 placements labelled lemon")
        assert driver.current_url == url + "/label?show=all"  # back on the same filters
        for placement in ("p2", "p3"):
            given = driver.find_element(By.ID, f"label-S-K1-{placement}").find_element(By.CLASS_NAME, "given").text
            assert "lemon" in given and "by meera" in given
        browser.full_page(driver, tmp_path / "headoffice-label.png")
        assert browser.refused_by_policy(driver) == []
    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        assert [(r["placement_id"], r["sku"]) for r in csv.DictReader(fh)] == [("p2", "lemon"), ("p3", "lemon")]


def test_group_labelling_in_chromium(app, seeded, tmp_path):
    """Open Groups, type a SKU in a group's form, press Label group: both its crops carry it in the list view."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from trainer.fleet.clusters_file import COLUMNS

    sha = "a" * 64
    (tmp_path / "out" / "clusters.csv").write_text(",".join(COLUMNS) + "\n" + "".join(
        f"S,K1,{p},images/S/K1/{p}.jpg,0,2,lemon,0.9100,3,{sha}\n" for p in ("p3", "p2")))
    with browser.served(app) as url, browser.chromium() as driver:
        driver.get(url + "/label")
        browser.sign_in(driver, url, "meera", seeded.password)
        driver.find_element(By.ID, "groups-link").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "group-0"))
        group = driver.find_element(By.ID, "group-0")
        assert "looks like Lemon (0.91)" in group.text and "0 of 2 labelled" in group.text
        crops = group.find_elements(By.TAG_NAME, "img")
        WebDriverWait(driver, 30).until(lambda d: all(d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", c) == 96 for c in crops))
        browser.full_page(driver, tmp_path / "headoffice-label-groups.png")
        group.find_element(By.NAME, "sku").send_keys("banana")
        group.find_element(By.CSS_SELECTOR, "button[value=sku]").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "label-notice"))
        assert driver.find_element(By.ID, "label-notice").text.startswith("group 0: 2 placements labelled banana")
        assert driver.current_url == url + "/label?view=groups"
        assert "2 of 2 labelled" in driver.find_element(By.ID, "group-0").text
        driver.find_element(By.ID, "list-link").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "none-to-label"))
        driver.get(url + "/label?show=all")
        for placement in ("p2", "p3"):
            given = driver.find_element(By.ID, f"label-S-K1-{placement}").find_element(By.CLASS_NAME, "given").text
            assert "banana" in given and "by meera" in given
        assert browser.refused_by_policy(driver) == []


def test_new_product_labelling_in_chromium(app, seeded, tmp_path):
    """Tick two rows, open "New product…" in the form above the table, fill it in, press Make product and label: both
    carry the new SKU, the product is in DIR/new-products.csv and listed as waiting for the catalog."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with browser.served(app) as url, browser.chromium() as driver:
        driver.get(url + "/label")
        browser.sign_in(driver, url, "meera", seeded.password)
        for placement in ("p2", "p3"):
            driver.find_element(By.ID, f"label-S-K1-{placement}").find_element(By.NAME, "pick").click()
        form = driver.find_element(By.ID, "bulk")
        form.find_element(By.TAG_NAME, "summary").click()
        for name, value in (("new_sku", "mango-alphonso"), ("name", "Alphonso mango"), ("price", "149.50"),
                            ("hsn", "0804")):
            form.find_element(By.NAME, name).send_keys(value)
        Select(form.find_element(By.NAME, "sold_by")).select_by_value("weight")
        Select(form.find_element(By.NAME, "gst_percent")).select_by_value("5")
        form.find_element(By.CSS_SELECTOR, "button.make").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "label-notice"))
        assert driver.find_element(By.ID, "label-notice").text.startswith(
            "new product mango-alphonso: 2 placements labelled mango-alphonso")
        waiting = driver.find_element(By.ID, "new-mango-alphonso").text
        assert "Alphonso mango" in waiting and "₹149.50/kg" in waiting and waiting.endswith("2")
        driver.get(url + "/label?show=all")
        for placement in ("p2", "p3"):
            given = driver.find_element(By.ID, f"label-S-K1-{placement}").find_element(By.CLASS_NAME, "given").text
            assert "mango-alphonso" in given and "by meera" in given
        driver.find_element(By.ID, "bulk").find_element(By.TAG_NAME, "summary").click()
        browser.full_page(driver, tmp_path / "headoffice-label-new-product.png")
        assert browser.refused_by_policy(driver) == []
    with open(tmp_path / "out" / "new-products.csv", newline="") as fh:
        assert [(r["sku"], r["sold_by"], r["price_paise"], r["gst_percent"]) for r in csv.DictReader(fh)] == [
            ("mango-alphonso", "weight", "14950", "5")]
