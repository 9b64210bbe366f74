"""What a broken or hostile kiosk can upload must not stop head office: each bad batch is named and skipped (or the
kiosk flagged), the rest is collected, and no command prints a traceback. Each case was a traceback, a memory
blow-up or a photo filed under another store's label before (found by a probe of corrupted upload trees)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import pytest

from kiosk.cli import main as checkout
from kiosk.exchange import batch_key
from kiosk.exchange.batch import INDEX, _member, batch_name
from kiosk.exchange.feedback import image_member
from tests.trainer.fleet.stores import crop, put_batch, record
from trainer.fleet.collect import collect_feedback


def raw_batch(root, store: str, kiosk: str, index: bytes, files: dict[str, bytes] | None = None) -> str:
    """A well-formed, correctly named batch whose batch.json is ``index`` as it is (JSON no writer would make)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_member(INDEX, len(index)), io.BytesIO(index))
        for n, b in sorted((files or {}).items()):
            tar.addfile(_member(n, len(b)), io.BytesIO(b))
    name = batch_name("feedback", out.getvalue())
    path = root / batch_key("feedback", store, kiosk, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return name


def index_of(records: list[dict], files: dict[str, bytes], meta: dict | None = None) -> str:
    listed = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in files.items()}
    return json.dumps({"format": 1, "kind": "feedback", "meta": meta or {"kiosk_id": "K1", "store_id": "S1"},
                       "records": records, "files": listed}, sort_keys=True)


GOOD = record("p9", "lemon", "shopper", rank=1)


@pytest.mark.parametrize("change, why", [
    (lambda text: text.replace('"grams": 500', '"grams": ' + "9" * 5000), "not JSON"),
    (lambda text: text.replace('"grams": 500', '"grams": ' + "[" * 100_000 + "]" * 100_000), "not JSON"),
    (lambda text: text.replace('"grams": 500', '"grams": 1e400'), "a number beyond"),
    (lambda text: text.replace('"grams": 500', '"grams": NaN'), "not JSON"),
    (lambda text: text.replace('"chooser": "shopper"', '"chooser": "\\ud800"'), "lone surrogate"),
    (lambda text: text.replace('"placed_at": "2026-12-01T10:00:00+05:30"', '"placed_at": "2026-13-45T10:00"'),
     "placed_at"),
    (lambda text: text.replace('"recognised_sku": "banana"', '"recognised_sku": "$\\\\undefined{$"'),
     "recognised_sku"),
    (lambda text: text.replace('"grams": 500', '"grams": -5'), "grams"),
    (lambda text: text.replace('"paid": true', '"paid": "false"'), "paid"),
    (lambda text: text.replace('"kiosk_id": "K1"', '"kiosk_id": "K 1"'), "meta.kiosk_id 'K 1' is not an id"),
])
def test_a_bad_batch_is_named_and_skipped_and_the_rest_collected(tmp_path, capsys, change, why):
    ho = tmp_path / "ho"
    put_batch(ho, "S2", "K2", [record("p1", "banana", "auto")], {"p1": crop(1)})
    files = {image_member("p9"): crop(9)}
    name = raw_batch(ho, "S1", "K1", change(index_of([GOOD], files)).encode(), files)
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    assert report.rows == 1 and len(report.skipped) == 1
    assert name in json.dumps(report.skipped) and why in json.dumps(report.skipped), report.skipped
    for argv in (["feedback", "collect", str(ho), "--out", str(tmp_path / "o2")], ["report", "quality", str(ho)],
                 ["report", "quality", str(ho), "--json", "--charts", str(tmp_path / "charts")]):
        assert checkout(argv) in (0, 1), argv
        assert "Traceback" not in capsys.readouterr().err


def test_two_stores_whose_ids_differ_only_in_a_character_never_share_a_photo(tmp_path):
    """"BLR 9" and "BLR_9" were one folder at head office: the lemon row showed the banana photo."""
    ho = tmp_path / "ho"
    put_batch(ho, "BLR_9", "K1", [record("p1", "banana", "staff")], {"p1": crop(1)})
    files = {image_member("p1"): crop(2)}
    raw_batch(ho, "BLR 9", "K1", index_of([record("p1", "lemon", "staff")], files,
                                          {"kiosk_id": "K1", "store_id": "BLR 9"}).encode(), files)
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    assert report.rows == 1 and "store_id 'BLR 9' is not an id" in json.dumps(report.skipped)
    (row,) = [r for r in (tmp_path / "out" / "feedback.csv").read_text().splitlines()[1:]]
    assert ",banana," in row


def test_a_crop_too_small_to_learn_from_is_unreadable(tmp_path):
    import cv2
    import numpy as np

    ho = tmp_path / "ho"
    tiny = cv2.imencode(".jpg", np.full((6, 6, 3), 120, np.uint8))[1].tobytes()
    put_batch(ho, "S1", "K1", [record("p1", "banana", "staff"), record("p2", "lemon", "staff")],
              {"p1": crop(1), "p2": tiny})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    assert report.rows == 1 and [u["reason"] for u in report.unreadable] == ["tiny: 6x6 px, shorter side below 64"]


def test_a_forged_jump_of_a_trillion_audit_rows_costs_nothing(tmp_path, capsys):
    from kiosk.store import SalesStore
    from tests.trainer.headoffice.seed import forge_audit_batch, kiosk_audit

    root, keys, work = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosks"
    work.mkdir()
    db = kiosk_audit(root, keys, work, "S1", "K1", sales=1)
    with SalesStore.open(db, kiosk_id="K1") as s:
        last = dict(s.audit_rows()[-1])
    forge_audit_batch(root, "S1", "K1", {**last, "seq": last["seq"] + 10**12})
    start = time.perf_counter()
    for argv in (["audit", "collect", str(root)], ["audit", "collect", str(root), "--keys", str(keys)]):
        assert checkout([*argv, "--out", str(tmp_path / "new" / "out")]) == 1
    assert time.perf_counter() - start < 20
    out = capsys.readouterr().out
    assert "not received" in out or "refused" in out
    assert (tmp_path / "new" / "out" / "audit-status.json").is_file()  # --out made, not an error


def test_a_refusal_log_cut_by_a_crash_and_a_key_file_of_bytes_are_one_line_each(tmp_path, capsys):
    from kiosk.store import SalesStore
    from tests.trainer.headoffice.seed import forge_audit_batch, kiosk_audit

    root, keys, work, out = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosks", tmp_path / "out"
    work.mkdir()
    db = kiosk_audit(root, keys, work, "S1", "K1", sales=1)
    with SalesStore.open(db, kiosk_id="K1") as s:
        forge_audit_batch(root, "S1", "K1", dict(s.audit_rows()[-1]))
    out.mkdir()
    (out / "audit-refusals.jsonl").write_text('{"batch": "audit/S1/K1/old.tar", "reason": "x"}\n{"batch": "aud')
    assert checkout(["audit", "collect", str(root), "--keys", str(keys), "--out", str(out)]) == 1
    lines = (out / "audit-refusals.jsonl").read_text().splitlines()
    assert lines[1] == '{"batch": "aud' and json.loads(lines[2])["store"] == "S1"  # the cut line kept apart
    (keys / "S1" / "K1.key").write_bytes(b"\xff\xfe not a key")
    kiosk_audit(root, keys, work, "S2", "K1")  # another kiosk, whose key is fine
    capsys.readouterr()
    assert checkout(["audit", "collect", str(root), "--keys", str(keys)]) == 1  # that kiosk's problem, not the fleet's
    captured = capsys.readouterr()
    assert "K1.key: cannot read the key" in captured.out and "Traceback" not in captured.err
    rows = {line.split()[0]: line for line in captured.out.splitlines() if line.startswith(("S1 ", "S2 "))}
    assert "broken" in rows["S1"] and "ok" in rows["S2"]


def test_batches_out_of_place_are_named_and_a_linked_store_folder_is_read(tmp_path, capsys):
    """A batch at the wrong depth, named .TAR, or filed under another kiosk's folder was read under its own claim
    (feedback) or skipped without a word (audit); a store folder that is a link (a mounted share) was not read."""
    ho, elsewhere = tmp_path / "ho", tmp_path / "share"
    good = put_batch(ho, "S1", "K1", [record("p1", "banana", "staff")], {"p1": crop(1)})
    linked = put_batch(elsewhere, "S3", "K3", [record("p3", "lemon", "staff")], {"p3": crop(3)})
    (ho / "feedback" / "S3").symlink_to(linked.parent.parent, target_is_directory=True)
    (ho / "feedback" / "S3" / "K3" / "loop").symlink_to(ho / "feedback", target_is_directory=True)
    deep = ho / "feedback" / "S1" / "K1" / "sub" / good.name
    deep.parent.mkdir()
    deep.write_bytes(good.read_bytes())
    (ho / "feedback" / "S1" / "K1" / good.name.upper()).write_bytes(good.read_bytes())
    other = ho / "feedback" / "S2" / "K2" / good.name  # S1/K1's batch copied under S2/K2
    other.parent.mkdir(parents=True)
    other.write_bytes(good.read_bytes())
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    reasons = {s["batch"].split("/", 1)[1]: s["reason"] for s in report.skipped}
    assert report.rows == 2 and len(reasons) == 3, reasons  # S1's and the linked S3's
    assert "not where a batch belongs" in reasons[f"S1/K1/sub/{good.name}"]
    assert "not where a batch belongs" in reasons[f"S1/K1/{good.name.upper()}"]
    assert reasons[f"S2/K2/{good.name}"] == "claims kiosk S1/K1 but came in under S2/K2"
    (ho / "audit").write_text("not a folder")
    assert checkout(["audit", "collect", str(ho)]) == 2
    assert "a file where head office keeps its audit/ folder" in capsys.readouterr().err
