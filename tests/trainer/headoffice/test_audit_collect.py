"""Head office checks the kiosks' audit batches: a forged batch is refused and the refusal logged, an altered or
misplaced one too, a wiped kiosk (its log starting again at row 1) and rows never received are named."""

from __future__ import annotations

import json
import shutil

from kiosk.cli import main
from tests.trainer.headoffice.seed import forge_audit_batch, kiosk_audit
from trainer.headoffice.audit_status import collect_audit


def statuses(result) -> dict:
    return {(k.store, k.kiosk): k.status for k in result.kiosks}


def test_the_seeded_fleet(seeded):
    result = collect_audit(str(seeded.root), seeded.keys)
    assert statuses(result) == {("BLR-0042", "K1"): "ok", ("BLR-0042", "K2"): "ok",
                                ("BLR-0107", "K1"): "refused batches", ("MYS-0003", "K1"): "broken"}
    (forged,) = result.refusals
    assert forged["kiosk"] == "K1" and "MAC is not this kiosk's" in forged["reason"]
    wiped = next(k for k in result.kiosks if k.store == "MYS-0003")
    assert "began again at row 1" in wiped.restarts[0] and "10 rows of the earlier log" in wiped.restarts[0]
    honest = next(k for k in result.kiosks if k.store == "BLR-0107")
    assert honest.rows == 10 and honest.problems == []  # the forged row never counts


def test_refusals_are_logged_once_and_the_command_fails(seeded, tmp_path, capsys):
    out = tmp_path / "out"
    for _ in range(2):
        assert main(["audit", "collect", str(seeded.root), "--keys", str(seeded.keys), "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "refused audit/BLR-0107/K1/" in text and "began again at row 1" in text
    logged = [json.loads(line) for line in (out / "audit-refusals.jsonl").read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["store"] == "BLR-0107"
    status = json.loads((out / "audit-status.json").read_text())
    assert {k["status"] for k in status["kiosks"]} == {"ok", "refused batches", "broken"}


def test_altered_misplaced_missing_and_unenrolled(tmp_path):
    root, keys, work = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosks"
    work.mkdir()
    kiosk_audit(root, keys, work, "S1", "K1", sales=4)  # 3 batches of at most 6 rows
    kiosk_audit(root, keys, work, "S2", "K9", sales=1)
    assert statuses(collect_audit(str(root), keys)) == {("S1", "K1"): "ok", ("S2", "K9"): "ok"}
    first, second, third = sorted((root / "audit/S1/K1").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    (own,) = (root / "audit/S2/K9").iterdir()
    data = bytearray(own.read_bytes())
    data[600] ^= 1
    own.write_bytes(bytes(data))  # altered on the way
    shutil.copy(first, root / "audit/S2/K9" / first.name)  # S1's batch filed as S2's
    second.unlink()  # never arrived
    result = collect_audit(str(root), keys)
    reasons = sorted(r["reason"] for r in result.refusals)
    assert len(reasons) == 2 and "claims kiosk S1/K1 but came in under S2/K9" in reasons[0]
    assert "does not match its name" in reasons[1]
    s1 = next(k for k in result.kiosks if k.kiosk == "K1")
    assert s1.status == "broken" and s1.problems == ["rows 7–12 not received (a batch still on its way, or deleted "
                                                     "at the kiosk) (between rows 6 and 13)"]
    (keys / "S2" / "K9.key").unlink()
    assert statuses(collect_audit(str(root), keys))[("S2", "K9")] == "refused batches"  # the misfiled one still
    forge_audit_batch(root, "S2", "K9", {"seq": 99, "at": "2026-12-01T10:00:00+00:00", "hash": "0" * 64,
                                         "key_id": "0" * 16})
    unenrolled = next(k for k in collect_audit(str(root), keys).kiosks if k.kiosk == "K9")
    assert unenrolled.key_id is None  # without a key head office can only check the chain
