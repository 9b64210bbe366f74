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


# -- a kiosk cuts its audit batches by bytes; head office joins them into the one chain -------------------------------
HEAD_OFFICE_READS = 100_000  # batch.json bytes head office takes here (MAX_INDEX_BYTES, 64 MiB for real)


def noisy_kiosk(work, rows: int = 40, size: int = 3000, big: dict[int, int] | None = None):
    """A kiosk store whose audit log holds its first row and ``rows`` of about ``size`` bytes (``big``: row index ->
    its size; row ``i`` is seq ``i + 2``)."""
    from kiosk.store import SalesStore

    s = SalesStore.open(work / "kiosk.sqlite", kiosk_id="K1")
    for i in range(rows):
        s.audit("help.note", "101", text=f"{i:04d}" + "x" * (big or {}).get(i, size))
    return s


def pack_into(root, store, **kw) -> int:
    from kiosk.audit.packer import AuditPacker
    from tests.trainer.headoffice.seed import _Outbox

    return AuditPacker(store, _Outbox(root, "S1", "K1"), kiosk_id="K1", store_id="S1", **kw).pack()


def test_a_large_audit_backlog_is_cut_by_bytes_and_head_office_joins_the_one_chain(tmp_path, monkeypatch):
    """Before: one batch of all the rows, over what head office reads: BatchTooLarge at every round, the range left
    open and nothing behind it sent. Now: batches under the limit, each marking packed only its rows, and head office
    reads the same chain as from one batch."""
    from kiosk.exchange import batch
    from trainer.headoffice.audit_status import enroll_key

    (tmp_path / "kiosk").mkdir()
    s = noisy_kiosk(tmp_path / "kiosk")  # 40 rows of 3 kB: 130 kB, one batch of 1000 rows would hold them all
    keys = tmp_path / "keys"
    enroll_key(keys, "S1", "K1", s.audit_key_path.read_text())
    whole = pack_into(tmp_path / "whole", s)  # what one batch gives (head office's real limit)
    one = collect_audit(str(tmp_path / "whole"), keys)
    s._conn.execute("DELETE FROM audit_packs")
    monkeypatch.setattr(batch, "MAX_INDEX_BYTES", HEAD_OFFICE_READS)
    made = pack_into(tmp_path / "ho", s)
    assert whole == 1 and made >= 4 and s.open_audit_packs() == [] and s.next_audit_range(1000) is None
    tars = sorted((tmp_path / "ho/audit/S1/K1").iterdir())
    assert len(tars) == made and all(p.stat().st_size <= HEAD_OFFICE_READS for p in tars)
    ranges = sorted((m["first_seq"], m["last_seq"]) for m in (batch.read_batch(p.read_bytes()).meta for p in tars))
    assert ranges[0][0] == 1 and ranges[-1][1] == 41 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
    cut = collect_audit(str(tmp_path / "ho"), keys)
    (k,), (w,) = cut.kiosks, one.kiosks
    assert cut.refusals == [] and (k.status, k.rows, k.last_seq, k.problems, k.batches) == ("ok", 41, 41, [], made)
    assert (w.status, w.rows, w.last_seq, w.last_at) == (k.status, k.rows, k.last_seq, k.last_at)


def test_a_range_left_open_by_the_old_packer_is_cut_and_finished(tmp_path, monkeypatch):
    """A kiosk stuck on a range too large for one batch (the old packer recorded it, then failed at every round)
    sends it once it runs the new one: the same range, cut."""
    from kiosk.exchange import batch

    (tmp_path / "kiosk").mkdir()
    s = noisy_kiosk(tmp_path / "kiosk")
    s.begin_audit_pack(1, 41)
    monkeypatch.setattr(batch, "MAX_INDEX_BYTES", HEAD_OFFICE_READS)
    assert pack_into(tmp_path / "ho", s) >= 4 and s.open_audit_packs() == []
    assert pack_into(tmp_path / "ho", s) == 0  # nothing sent twice
    (k,) = collect_audit(str(tmp_path / "ho"), None).kiosks
    assert (k.rows, k.last_seq, k.problems) == (41, 41, [])


def test_a_row_larger_than_a_batch_goes_withheld_and_blocks_nothing(tmp_path, monkeypatch, caplog):
    """One row over the limit on its own: sent without its detail (which stays at the kiosk), its hash and MAC still
    chaining it; the rows after it leave; head office checks it and names it, the chain whole."""
    from kiosk.exchange import batch
    from kiosk.exchange.audit import verify_rows
    from trainer.headoffice.audit_status import enroll_key

    (tmp_path / "kiosk").mkdir()
    s = noisy_kiosk(tmp_path / "kiosk", rows=6, size=200, big={2: 120_000})  # more than head office reads
    keys = tmp_path / "keys"
    enroll_key(keys, "S1", "K1", s.audit_key_path.read_text())
    monkeypatch.setattr(batch, "MAX_INDEX_BYTES", HEAD_OFFICE_READS)
    assert pack_into(tmp_path / "ho", s) >= 1 and s.open_audit_packs() == [] and s.next_audit_range(1000) is None
    assert "row 4 (help.note" in caplog.text and "sent without its detail" in caplog.text
    sent = [r for p in (tmp_path / "ho/audit/S1/K1").iterdir() for r in batch.read_batch(p.read_bytes()).records]
    stub = next(r for r in sent if r["seq"] == 4)
    assert stub["detail"] == {} and stub["withheld"] > 120_000 and stub["hash"] == s.audit_rows()[3]["hash"]
    (k,) = collect_audit(str(tmp_path / "ho"), keys).kiosks
    assert (k.status, k.rows, k.last_seq, k.problems) == ("ok", 7, 7, [])
    assert len(k.withheld) == 1 and k.withheld[0].startswith("row 4 (help.note")
    assert verify_rows([stub], {}, expect_first=4, expect_prev=stub["prev"]).counts() == {"edited": 1}  # kiosk side


def test_a_refusal_log_line_nested_too_deep_is_left_as_it_is(seeded, tmp_path, capsys):
    """Head office's own refusal log edited by hand (a line nested 100,000 deep) was a RecursionError traceback from
    `audit collect`; the line is kept, a warning names it, and the refusal is logged after it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "audit-refusals.jsonl").write_text("[" * 100_000 + "\n")
    assert main(["audit", "collect", str(seeded.root), "--keys", str(seeded.keys), "--out", str(out)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    lines = (out / "audit-refusals.jsonl").read_text().splitlines()
    assert lines[0] == "[" * 100_000 and json.loads(lines[1])["store"] == "BLR-0107"
