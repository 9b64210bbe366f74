"""The batch container shared by till and head office: deterministic, content-addressed, refused whole when broken."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from kiosk.exchange import Batch, BatchError, batch_key, heartbeat_key, parse_batch_name, read_batch, write_batch
from kiosk.exchange.feedback import read_feedback_batch, trust_of, validate_record

META = {"kiosk_id": "K1", "store_id": "BLR-0042"}


def record(pid="20261201-101502-ab12cd34", **kw):
    rec = {"placement_id": pid, "revision": 1, "placed_at": "2026-12-01T10:15:02+05:30",
           "updated_at": "2026-12-01T10:15:02+05:30", "image": f"images/{pid}.jpg",
           "top_k": [["oatly-oat-milk", 0.55], ["arla-standard-milk", 0.3]], "recognised_sku": "oatly-oat-milk",
           "model_version": 3, "grams": 1059, "chooser": "shopper", "suggestion_rank": 2,
           "label": "arla-standard-milk", "trust": "shopper"}
    rec.update(kw)
    return rec


def test_same_content_same_bytes_and_name_and_it_reads_back():
    files = {"images/b.jpg": b"\xff\xd8b\xff\xd9", "images/a.jpg": b"\xff\xd8a\xff\xd9"}
    name, data = write_batch("feedback", META, [record()], files)
    again_name, again = write_batch("feedback", dict(META), [record()], dict(reversed(list(files.items()))))
    assert (name, data) == (again_name, again)
    kind, sha = parse_batch_name(name)
    assert kind == "feedback" and len(sha) == 64 and name.endswith(".tar")
    batch = read_batch(data, name)
    assert isinstance(batch, Batch) and batch.kind == "feedback" and batch.meta == META
    assert batch.records == [record()] and batch.files == files and batch.name == name
    other, _ = write_batch("feedback", META, [record(revision=2)], files)
    assert other != name  # any change is another batch


def test_a_batch_cut_short_or_altered_is_refused_by_name():
    name, data = write_batch("feedback", META, [record()], {"images/x.jpg": b"x" * 5000})
    for broken in (data[: len(data) // 2], data[:-1], data[:100] + b"\0" + data[101:], b""):
        with pytest.raises(BatchError, match=name):
            read_batch(broken, name)


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for n, b in members:
            info = tarfile.TarInfo(n)
            info.size = len(b)
            tar.addfile(info, io.BytesIO(b))
    return out.getvalue()


def index(files: dict[str, bytes], **kw) -> bytes:
    import hashlib

    doc = {"format": 1, "kind": "feedback", "meta": META, "records": [],
           "files": {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in files.items()}}
    doc.update(kw)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("members, match", [
    ([("images/a.jpg", b"a")], "first member"),
    ([("batch.json", index({"images/a.jpg": b"a"})), ("images/a.jpg", b"b")], "does not match its hash"),
    ([("batch.json", index({})), ("images/extra.jpg", b"x")], "differ"),
    ([("batch.json", index({"images/a.jpg": b"a"}))], "differ"),
    ([("batch.json", index({}, format=2))], "not format 1"),
    ([("batch.json", b"{not json")], "not JSON"),
    ([("batch.json", index({})), ("../escape.jpg", b"x")], "not allowed"),
    ([("batch.json", index({})), ("batch.json", index({}))], "twice"),
    ([("batch.json", index({}, records={"a": 1}))], "wrong records"),
])
def test_malformed_batches_are_refused_with_the_reason(members, match):
    with pytest.raises(BatchError, match=match):
        read_batch(tar_of(members), where="store/K1/x.tar")


def test_a_link_member_is_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("batch.json")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(BatchError, match="not a regular file"):
        read_batch(out.getvalue())


def test_a_renamed_batch_is_refused():
    name, data = write_batch("feedback", META, [])
    other_kind = "audit-" + name.split("-", 1)[1]
    with pytest.raises(BatchError, match="kind"):
        read_batch(data, other_kind)
    with pytest.raises(BatchError, match="not a batch name"):
        read_batch(data, "notes.txt")


def test_feedback_records_are_checked_and_one_bad_record_refuses_the_batch():
    good = record()
    assert validate_record(good, {good["image"]: b"x"}) is None
    assert "image" in validate_record(good, {})
    assert "trust" in validate_record(record(trust="boss"))
    assert "label" in validate_record(record(label=None))  # a label-less record must have trust none
    assert validate_record(record(label=None, trust="none", chooser="removed")) is None
    assert "top_k" in validate_record(record(top_k=[["a", float("nan")]]))
    name, data = write_batch("feedback", META, [good, record("p2", revision=0, image="")],
                             {good["image"]: b"x"})
    with pytest.raises(BatchError, match=r"record 2 \(p2\): field\(s\) revision"):
        read_feedback_batch(data, name)
    name, data = write_batch("feedback", META, [good], {good["image"]: b"x"})
    assert read_feedback_batch(data, name).records == [good]


def test_trust_follows_who_chose():
    assert [trust_of(c) for c in ("staff", "staff:ann", "barcode", "shopper", "search", "auto", "removed", "",
                                  "unknown")] == ["staff", "staff", "barcode", "shopper", "shopper", "auto", "none",
                                                  "none", "none"]


def test_keys_at_head_office_are_safe_paths():
    assert batch_key("feedback", "BLR-0042", "K1", "feedback-ab.tar") == "feedback/BLR-0042/K1/feedback-ab.tar"
    assert batch_key("feedback", "", "../K 1", "n.tar") == "feedback/-/_K_1/n.tar"
    assert heartbeat_key("BLR/42", "K1") == "heartbeats/BLR_42/K1.json"
    with pytest.raises(ValueError):
        batch_key("heartbeats", "s", "k", "n")
