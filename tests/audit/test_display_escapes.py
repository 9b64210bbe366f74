"""Terminal escapes from a hand-edited database or a forged batch never reach a manager's or head office's terminal:
every line ``audit verify``, ``audit show``, ``staff list``, ``receipt …`` and ``audit collect`` print from stored or
received data goes through one escape (:func:`kiosk.exchange.display.display`), and head office refuses a batch whose
``key_id``, ``actor`` or ``at`` is not what a kiosk writes."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from kiosk.cli import main
from kiosk.exchange import batch_key, write_batch
from kiosk.exchange.audit import KIND as AUDIT
from kiosk.exchange.audit import content_hash
from kiosk.exchange.display import display
from kiosk.store import SalesStore
from tests.services.conftest import Clock
from tests.trainer.headoffice.seed import kiosk_audit

#: what a terminal obeys or reorders by: C0 but the newline, DEL, C1, bidi overrides and isolates, line separators
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]")
#: the probe's actor: erases the lines above, prints a fake OK and hides what follows
FAKE_OK = "\x1b[1A\x1b[2K\x1b[1A\x1b[2K\rK: OK: the audit log is whole and unedited\x1b[8m"
EVIL = "\x1b]0;pwned\x07\x1b[31mEVIL\x1b[0m\u202e"


def test_display_escapes_what_a_terminal_obeys_and_keeps_the_rest():
    assert display("₹72.00 Asha Rao (assistant)") == "₹72.00 Asha Rao (assistant)"
    assert display("आशा राव\u200d") == "आशा राव\u200d"  # a joiner is part of how Hindi is written
    assert display(FAKE_OK) == "\\u001b[1A\\u001b[2K\\u001b[1A\\u001b[2K\\u000dK: OK: the audit log is whole and " \
                               "unedited\\u001b[8m"
    assert display("a\x9b2Jb\u202ec\u2066d\ud800e\U000e0041\n") == \
        "a\\u009b2Jb\\u202ec\\u2066d\\ud800e\\udb40\\udc41\\u000a"
    line = json.dumps({"actor": EVIL + "\x9b\ud800"}, ensure_ascii=False)
    assert not RAW.search(display(line)) and json.loads(display(line)) == json.loads(line)  # still the same JSON


@pytest.fixture
def edited(tmp_path):
    """A kiosk's file whose last audit row's actor and a staff name were edited by hand, and a receipt too."""
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="K1", clock=Clock()) as store:
        from kiosk.config import hash_pin

        store.add_staff("Asha", "assistant", hash_pin("5820"), by="cli")
        store.add_unit("milk", "Milk 1 l", 4500, 0, 1)
        store.pay(store.open_cart().cart_id)
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET actor = ? WHERE seq = (SELECT max(seq) FROM audit_log)", (FAKE_OK,))
    conn.execute("UPDATE staff_accounts SET name = ? WHERE staff_no = '101'", (EVIL,))
    conn.execute("UPDATE sales SET receipt_text = receipt_text || ?", (EVIL + "\n",))
    conn.commit()
    conn.close()
    return path


def run(capsys, *argv) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_audit_verify_and_show_print_no_escape(edited, capsys):
    rc, out = run(capsys, "audit", "verify", "--store", edited)
    assert rc == 1 and not RAW.search(out) and out.rstrip().split("\n")[-1].startswith("FAILED")
    assert "\\u001b[1A" in out
    for argv in (["audit", "show", "--store", edited], ["audit", "show", "--store", edited, "--json"]):
        rc, out = run(capsys, *argv)
        assert rc == 0 and not RAW.search(out) and "\\u001b[1A" in out
    rc, out = run(capsys, "audit", "show", "--store", edited, "--json")
    assert json.loads(out.splitlines()[-1])["actor"] == FAKE_OK  # a tool reading the JSON gets the row as stored


def test_staff_list_and_receipts_print_no_escape(edited, capsys):
    rc, out = run(capsys, "staff", "list", "--store", edited)
    assert rc == 0 and not RAW.search(out) and "\\u001b[31mEVIL" in out
    rc, out = run(capsys, "receipt", "reprint", "--last", "--store", edited)
    assert rc == 0 and not RAW.search(out) and "DUPLICATE" in out and "\\u001b]0;pwned" in out


def forge(root, after: dict, **fields) -> None:
    """A batch someone made without the kiosk's key, continuing ``after``, with ``fields`` as they chose them."""
    row = {"seq": after["seq"] + 1, "at": after["at"], "kind": "sale.closed", "actor": "kiosk",
           "detail": {"receipt_no": "K1-999999", "total": 1}, "prev": after["hash"], **fields}
    row["hash"] = content_hash(row)
    row["mac"], row["key_id"] = "0" * 64, fields.get("key_id", after["key_id"])
    name, data = write_batch(AUDIT, {"kiosk_id": "K1", "store_id": "S1", "first_seq": row["seq"],
                                     "last_seq": row["seq"]}, [row])
    (root / batch_key(AUDIT, "S1", "K1", name)).write_bytes(data)


def test_audit_collect_refuses_escapes_in_what_it_prints_and_escapes_the_rest(tmp_path, capsys):
    root, keys, work = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosks"
    work.mkdir()
    db = kiosk_audit(root, keys, work, "S1", "K1", sales=1)
    with SalesStore.open(db, kiosk_id="K1") as s:
        last = s.audit_rows()[-1]
    forge(root, last, key_id="\x1b[2J\x1b[H\x1b[8m" + "x" * 5)  # any 16 characters passed, quoted raw
    forge(root, last, actor=FAKE_OK)
    forge(root, last, at="\x1b[8m hidden")
    rc, out = run(capsys, "audit", "collect", root, "--keys", keys)
    assert rc == 1 and not RAW.search(out)
    refused = [line for line in out.splitlines() if line.startswith("refused ")]
    assert len(refused) == 3 and all("missing or of the wrong type" in line for line in refused)
    assert {re.search(r"field\(s\) (\S+)", line).group(1) for line in refused} == {"at", "key_id", "actor"}


def test_audit_collect_escapes_what_it_prints_of_a_batch_path(tmp_path, capsys):
    root, keys, work = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosks"
    work.mkdir()
    kiosk_audit(root, keys, work, "S1", "K1", sales=1)
    stray = root / "audit" / "S1" / f"audit-{'0' * 63}\x1b[8m.tar"
    stray.write_bytes(b"x")
    rc, out = run(capsys, "audit", "collect", root, "--keys", keys)
    assert rc == 1 and not RAW.search(out) and "\\u001b[8m.tar" in out
