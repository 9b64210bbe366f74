"""Screenshots of the head-office dashboard for docs/: seeded head office (tests/trainer/headoffice/seed.py), the app
served on 127.0.0.1, Debian's headless Chromium through Selenium (apt-get install chromium chromium-driver).

    .venv/bin/python tools/headoffice_screenshots.py docs/
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.trainer.headoffice import browser  # noqa: E402
from tests.trainer.headoffice.seed import seed  # noqa: E402
from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.users import Users  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402

PAGES = (("/quality", "headoffice-quality.png"), ("/quality?store=BLR-0042", "headoffice-quality-store.png"),
         ("/", "headoffice-fleet.png"), ("/taught", "headoffice-taught.png"), ("/rollout", "headoffice-rollout.png"),
         ("/audit", "headoffice-audit.png"))


def main(out: str = "docs") -> int:
    problem = browser.missing()
    if problem:
        print(f"headoffice_screenshots: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        ho = seed(Path(tmp))
        app = create_app(DashboardData(str(ho.root), str(ho.keys), str(ho.channel), str(ho.catalog)), Users(ho.users))
        shots = []
        with browser.served(app) as url, browser.chromium() as driver:
            driver.get(url + "/login")
            shots.append(browser.full_page(driver, Path(tmp) / "headoffice-login.png"))
            browser.sign_in(driver, url, "meera", ho.password)
            for path, name in PAGES:
                driver.get(url + path)
                shots.append(browser.full_page(driver, Path(tmp) / name))
        browser.copy_screenshots(shots, Path(out))
    print("\n".join(f"{out}/{s.name}" for s in shots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
