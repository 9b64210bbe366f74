"""The screenshots of every screen state (``tools/screenshot.py --states``, ``make screenshots``): the tool runs and
grabs each state it names, and the ones checked into docs/screens are complete, the right size and small."""

import re
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.screen_states import STATES, take_states  # noqa: E402

SCREENS = REPO / "docs" / "screens"
LANGUAGES = ("en", "hi")
MAX_BYTES = 150 * 1024


def _check_png(path: Path) -> None:
    with Image.open(path) as image:
        assert image.size == (1024, 768), path.name
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"


def test_the_tool_grabs_the_first_states_into_small_pngs_and_an_index(qapp, tmp_path):
    (tmp_path / "hi-07-a-state-no-longer-walked.png").write_bytes(b"old")
    (tmp_path / "en-01-welcome.png").write_bytes(b"another language: kept")
    files = take_states(tmp_path, ["hi"], (1024, 768), until="not-sure-choose")
    assert [f.name for f in files] == ["hi-01-welcome.png", "hi-02-auto-added.png", "hi-03-not-sure-choose.png"]
    for f in files:
        _check_png(f)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["en-01-welcome.png"] + [f.name for f in files]
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"\]\(([^)]+\.png)\)", index) == [f.name for f in files]
    assert STATES["auto-added"] in index and "fixed auto-add threshold (0.9)" in index


def test_every_state_is_checked_into_docs_in_both_languages():
    index = (SCREENS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)]+\.png)\)", index))
    expected = {f"{language}-{n:02d}-{name}.png" for language in LANGUAGES for n, name in enumerate(STATES, 1)}
    assert {p.name for p in SCREENS.glob("*.png")} == expected == linked
    for name in sorted(expected):
        _check_png(SCREENS / name)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"docs/screens/((?:en|hi)-\d\d-[a-z-]+\.png)", readme)
    assert len(set(shown)) >= 2 and set(shown) <= expected


@pytest.mark.slow
def test_the_walk_grabs_exactly_the_states_it_names(qapp, tmp_path):
    files = take_states(tmp_path, ["en"], (1024, 768))
    assert [f.name for f in files] == [f"en-{n:02d}-{name}.png" for n, name in enumerate(STATES, 1)]
