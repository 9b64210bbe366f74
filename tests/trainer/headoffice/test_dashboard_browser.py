"""The dashboard in a real browser (Debian's headless Chromium through Selenium): sign-in is enforced, the pages load
with the seeded data and the drift alarm is visible. Screenshots go to the test's folder (``tools/headoffice_
screenshots.py`` puts the same ones in docs/)."""

from __future__ import annotations

import pytest

from tests.trainer.headoffice import browser

REASON = browser.missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no browser for the dashboard test: {REASON}")


@pytest.fixture
def app(seeded, tmp_path):
    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    users = Users(tmp_path / "users.json")
    users.add("meera", seeded.password)
    data = DashboardData(str(seeded.root), str(seeded.keys), str(seeded.channel), str(seeded.catalog))
    return create_app(data, users)


def test_the_dashboard_in_chromium(app, seeded, tmp_path):
    from selenium.webdriver.common.by import By

    with browser.served(app) as url, browser.chromium() as driver:
        driver.get(url + "/quality")
        assert driver.current_url == url + "/login?next=/quality"  # not signed in: the sign-in page
        browser.full_page(driver, tmp_path / "headoffice-login.png")
        browser.sign_in(driver, url, "meera", "not the password")
        assert "wrong user name or password" in driver.find_element(By.ID, "login-error").text
        browser.sign_in(driver, url, "meera", seeded.password)
        assert driver.current_url == url + "/quality"
        alarm = driver.find_element(By.ID, "drift-alarms")
        assert alarm.is_displayed() and "oatly-oat-milk" in alarm.text and "BLR-0042" in alarm.text
        assert "198, 40, 40" in alarm.value_of_css_property("border-left-color")  # shown red
        charts = driver.find_elements(By.CSS_SELECTOR, ".charts img")
        assert len(charts) == 4 and all(driver.execute_script("return arguments[0].naturalWidth", c) > 0
                                        for c in charts)  # the PNGs loaded
        shots = [browser.full_page(driver, tmp_path / "headoffice-quality.png")]
        driver.get(url + "/quality?store=BLR-0042")
        badge = driver.find_element(By.CSS_SELECTOR, "#sku-oatly-oat-milk .badge.alarm")
        assert badge.text.startswith("ALARM since")
        shots.append(browser.full_page(driver, tmp_path / "headoffice-quality-store.png"))
        driver.get(url + "/taught")
        assert "not yet" in driver.find_element(By.ID, "taught-avocado").text
        thumbs = driver.find_elements(By.CSS_SELECTOR, ".thumbs img")
        assert len(thumbs) == 15 and all(driver.execute_script("return arguments[0].complete && "
                                                               "arguments[0].naturalWidth", t) == 160 for t in thumbs)
        shots.append(browser.full_page(driver, tmp_path / "headoffice-taught.png"))
        for path, text in (("/", "MYS-0003"), ("/rollout", "BLR-0107/K1 (v2)"), ("/audit", "began again at row 1")):
            driver.get(url + path)
            assert text in driver.find_element(By.TAG_NAME, "main").text
            shots.append(browser.full_page(driver, tmp_path / f"headoffice-{path.strip('/') or 'fleet'}.png"))
        assert browser.refused_by_policy(driver) == []  # the pages keep to their CSP: nothing refused
        driver.get(url + "/logout")
        driver.get(url + "/audit")
        assert "/login" in driver.current_url
    assert all(s.stat().st_size > 10_000 for s in shots)
