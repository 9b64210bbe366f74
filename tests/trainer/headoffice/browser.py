"""A real browser for the dashboard: Debian's headless Chromium driven by Selenium through Debian's chromedriver
(never a downloaded browser), and the app served by uvicorn on 127.0.0.1 in a thread (as `serve` runs it)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def missing() -> str | None:
    """Why the browser test cannot run here (None: it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found: apt-get install -y {package} (.ci/run installs it, as root)"
    return None


@contextmanager
def served(app, limits=None):
    """``url`` of ``app`` served on a free port of 127.0.0.1 until the block ends, by uvicorn as ``checkout
    headoffice serve`` runs it (:mod:`trainer.headoffice.serving`, under ``limits``)."""
    from trainer.headoffice.serving import Limits
    from trainer.headoffice.serving import server as make_server

    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(app, limits or Limits())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--lang=en-GB"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console: what the page's CSP refused
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def refused_by_policy(driver) -> list[str]:
    """What the pages' Content-Security-Policy refused since the last call (from the browser's console)."""
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def full_page(driver, path: Path) -> Path:
    """A screenshot of the whole page (the window grown to the page's height)."""
    width = driver.execute_script("return window.outerWidth")
    driver.set_window_size(width, 600)
    height = driver.execute_script("return Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)")
    driver.set_window_size(width, min(max(int(height) + 150, 420), 4000))  # + the browser's own bars
    driver.save_screenshot(str(path))
    return path


def sign_in(driver, url: str, user: str, password: str) -> None:
    """Fill in the sign-in form and send it; returns once the next page has loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    form = driver.find_element(By.ID, "sign-in")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    form.click()
    WebDriverWait(driver, 30).until(lambda d: _gone(form) and d.execute_script("return document.readyState")
                                    == "complete")


def _gone(element) -> bool:
    """The element left the document: stale, or (while the next page replaces it) Chrome's "Node with given id does
    not belong to the document", which Selenium raises as a plain WebDriverException."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def copy_screenshots(shots: list[Path], docs: Path) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        shutil.copy(shot, docs / shot.name)
