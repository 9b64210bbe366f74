"""``checkout bench enroll``: it works only in a new or empty folder (a kiosk's own folder is never changed), and a
probe photo that cannot be read is named plainly."""

from __future__ import annotations

from pathlib import Path

from kiosk.cli import main

REPO = Path(__file__).resolve().parents[1]
PRODUCTS = REPO / "assets" / "demo" / "products"


def _bench(tmp_path: Path, *extra: str) -> int:
    probe = sorted(PRODUCTS.glob("*.jpg"))[0]
    return main(["bench", "enroll", "banana", "--bundle", str(tmp_path / "no-bundle"), "--catalog",
                 str(tmp_path / "no-catalog.db"), "--images", str(PRODUCTS), "--probe", str(probe), *extra])


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*"))


def test_a_kiosk_folder_as_work_is_refused_and_left_as_it_was(tmp_path, capsys):
    till = tmp_path / "till"
    (till / "gallery" / "photos").mkdir(parents=True)
    (till / "gallery" / "gallery.sqlite").write_bytes(b"a kiosk's gallery")
    (till / "sales.sqlite").write_bytes(b"a kiosk's sales")
    before = _tree(till)
    assert _bench(tmp_path, "--work", str(till)) == 2
    err = capsys.readouterr().err.strip()
    assert f"{till}: not an empty folder" in err and len(err.splitlines()) == 1, err
    assert _tree(till) == before
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert _bench(tmp_path, "--work", str(a_file)) == 2
    assert f"{a_file}: not an empty folder" in capsys.readouterr().err


def test_a_probe_that_cannot_be_read_is_named_plainly(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["bench", "enroll", "banana", "--bundle", str(tmp_path), "--catalog", str(tmp_path / "c.db"),
                 "--images", str(PRODUCTS), "--probe", str(PRODUCTS / "missing.png"), str(bad),
                 "--work", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{PRODUCTS / 'missing.png'}: a probe photo cannot be read" in err, err
    assert "PosixPath" not in err and "[" not in err and not (tmp_path / "new").exists()
