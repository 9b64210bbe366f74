"""``checkout kiosk --headless`` on the demo basket: the bill, line by line, recomputed from catalog and basket.csv."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from catalog.repository import Catalog
from kiosk.cli import main
from kiosk.domain.money import format_inr, round_half_up, round_to_rupee
from kiosk.domain.pricing import split_inclusive_gst
from kiosk.store import SalesStore

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
CAMERA = f"folder:{DEMO.as_posix()}/camera?fps=8&hold=8"
SCALE = f"script:{DEMO.as_posix()}/scale.txt"


def expected_lines(demo_catalog_db: Path) -> list[dict]:
    with open(DEMO / "basket.csv", newline="") as fh:
        basket = list(csv.DictReader(fh))
    out = []
    with Catalog.open(demo_catalog_db) as cat:
        for row in basket:
            s = cat.get(row["sku"])
            assert s.sold_by == row["sold_by"]
            if s.sold_by == "weight":
                grams = int(row["grams"])
                total = round_half_up(Fraction(s.price_paise * grams, 1000))
            else:
                grams, total = None, s.price_paise
            out.append({"sku": s.sku, "name": s.name, "sold_by": s.sold_by, "net_grams": grams, "total": total,
                        "gst_bp": s.gst_bp, "unit_price": s.price_paise})
    return out


def test_headless_demo_basket_prints_the_right_bill(demo_bundle, demo_catalog_db, tmp_path, capsys):
    store = tmp_path / "sales.sqlite"
    rc = main(["kiosk", "--headless", "--camera", CAMERA, "--scale", SCALE, "--bundle", str(demo_bundle),
               "--catalog", str(demo_catalog_db), "--store", str(store), "--captures", str(tmp_path / "captures")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    want = expected_lines(demo_catalog_db)
    assert len(want) >= 8 and sum(1 for w in want if w["sold_by"] == "weight") >= 3

    with SalesStore.open(store) as s:
        (sale,) = s.sales()
    receipt = json.loads(sale.receipt_json)
    got = [{k: line[k] for k in ("sku", "name", "sold_by", "net_grams", "total", "gst_bp", "unit_price")}
           for line in receipt["lines"]]
    assert got == want  # every item, in order, priced from the catalog with the basket's weights

    gross = sum(w["total"] for w in want)
    assert receipt["gross"] == gross
    assert receipt["total"] == round_to_rupee(gross) and receipt["round_off"] == round_to_rupee(gross) - gross
    by_rate: dict[int, int] = {}
    for w in want:
        by_rate[w["gst_bp"]] = by_rate.get(w["gst_bp"], 0) + w["total"]
    want_tax = [split_inclusive_gst(g, r) for r, g in sorted(by_rate.items())]
    assert [(t["rate_bp"], t["taxable"], t["cgst"], t["sgst"]) for t in receipt["tax"]] == [
        (t.rate_bp, t.taxable, t.cgst, t.sgst) for t in want_tax]
    assert len(want_tax) >= 2  # the demo basket mixes GST rates

    # the printed bill says the same
    assert out == sale.receipt_text
    for w in want:
        assert w["name"] in out
        if w["net_grams"]:
            kg, g = divmod(w["net_grams"], 1000)
            assert f"{kg}.{g:03d} kg x {format_inr(w['unit_price'])}/kg" in out
        assert format_inr(w["total"]) in out
    assert "TOTAL" in out and format_inr(round_to_rupee(gross)) in out
    assert "Round off" in out and format_inr(round_to_rupee(gross) - gross, sign=True) in out
    assert "CGST" in out and "SGST" in out and "Taxable" in out
    # every placement image was kept for staff corrections
    assert len(list((tmp_path / "captures").rglob("*.jpg"))) == len(want)


def test_without_a_display_the_kiosk_falls_back_to_headless(demo_bundle, demo_catalog_db, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'camera = "{CAMERA}"\nscale = "{SCALE}"\nbundle = "{demo_bundle.as_posix()}"\n'
                      f'catalog = "{demo_catalog_db.as_posix()}"\nstore = "{(tmp_path / "s.sqlite").as_posix()}"\n'
                      f'captures = "{(tmp_path / "cap").as_posix()}"\nkiosk_id = "K9"\nstore_name = "Demo Mart"\n'
                      '[trigger]\nstill_frames = 5\n')
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "kiosk", "--config", str(config)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no display" in proc.stderr and "running headless" in proc.stderr
    assert "Demo Mart" in proc.stdout and "Receipt K9-000001" in proc.stdout and "TOTAL" in proc.stdout


def test_a_broken_bundle_stops_start_up_with_one_line(demo_catalog_db, tmp_path, capsys):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{not json")
    rc = main(["kiosk", "--headless", "--camera", CAMERA, "--scale", SCALE, "--bundle", str(bundle),
               "--catalog", str(demo_catalog_db), "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "manifest.json" in err and "not valid JSON" in err
    rc = main(["kiosk", "--headless", "--camera", CAMERA, "--scale", SCALE, "--bundle", str(tmp_path / "nope"),
               "--catalog", str(demo_catalog_db), "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "nope" in err and "not found" in err


def test_config_file_rejects_unknown_keys(tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text('camera = "folder:x"\ncamra = "typo"\n')
    assert main(["kiosk", "--headless", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "camra" in err and str(config) in err
