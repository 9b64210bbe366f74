"""Refresh the window's translations: ``pyside6-lupdate`` reads every text marked in ``kiosk/ui`` into
``kiosk/ui/i18n/kiosk_<code>.ts`` (new ones unfinished, gone ones dropped, translations kept), then
``pyside6-lrelease`` compiles each into the ``.qm`` the kiosk loads. Run it (``make translations``) after changing a
text; translators edit the ``.ts`` (Qt Linguist: ``.venv/bin/pyside6-linguist kiosk/ui/i18n/kiosk_hi.ts``).

    .venv/bin/python tools/translations.py [--check]

``--check`` changes nothing and exits 1 when a ``.ts`` lacks a text of the code, has an unfinished translation, or a
``.qm`` is older than its ``.ts`` content (what ``tests/ui/test_i18n.py`` also checks).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

UI = REPO / "kiosk" / "ui"
I18N = UI / "i18n"
LANGUAGES = {"hi": "hi_IN"}


def tool(name: str) -> str:
    """A Qt tool of the venv's PySide6 (next to this Python), else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"translations: {name} not found (it comes with PySide6: pip install PySide6)")
    return found


def sources() -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in UI.rglob("*.py"))


def lupdate(ts: Path, locale: str) -> None:
    from kiosk.ui.i18n import LUPDATE_ALIASES

    subprocess.run([tool("pyside6-lupdate"), *sources(), "-tr-function-alias", LUPDATE_ALIASES, "-no-obsolete",
                    "-locations", "none", "-source-language", "en", "-target-language", locale, "-ts", str(ts)],
                   cwd=REPO, check=True, capture_output=True, text=True)


def lrelease(ts: Path, qm: Path) -> None:
    subprocess.run([tool("pyside6-lrelease"), str(ts), "-qm", str(qm)], check=True, capture_output=True, text=True)


def messages(ts: Path) -> dict[tuple[str, str], str | None]:
    """``(context, source) → translation`` (``None``: unfinished)."""
    out = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name")
        for m in context.iter("message"):
            tr = m.find("translation")
            done = tr is not None and tr.get("type") not in ("unfinished", "vanished", "obsolete") and tr.text
            out[(name, m.findtext("source"))] = tr.text if done else None
    return out


def problems(code: str) -> list[str]:
    """What is out of date for language ``code`` (nothing changed on disk)."""
    ts, qm = I18N / f"kiosk_{code}.ts", I18N / f"kiosk_{code}.qm"
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / ts.name
        shutil.copy(ts, fresh)
        lupdate(fresh, LANGUAGES[code])
        have, want = messages(ts), messages(fresh)
        found += [f"{ts.name}: not in the catalogue: {k}" for k in want if k not in have]
        found += [f"{ts.name}: no longer in the code: {k}" for k in have if k not in want]
        found += [f"{ts.name}: unfinished: {k}" for k, v in want.items() if v is None]
        built = Path(tmp) / qm.name
        lrelease(ts, built)
        if not qm.exists() or built.read_bytes() != qm.read_bytes():
            found.append(f"{qm.name}: not compiled from {ts.name} as it is (run tools/translations.py)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report what is out of date, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = [p for code in LANGUAGES for p in problems(code)]
        print("\n".join(found) or "translations: up to date")
        return 1 if found else 0
    for code, locale in LANGUAGES.items():
        ts = I18N / f"kiosk_{code}.ts"
        lupdate(ts, locale)
        lrelease(ts, I18N / f"kiosk_{code}.qm")
        unfinished = [k for k, v in messages(ts).items() if v is None]
        print(f"{ts.relative_to(REPO)}: {len(messages(ts))} texts, {len(unfinished)} to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
