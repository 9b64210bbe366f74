"""Staff names that read the same are one name (probe-staff fault 6): five accounts all read "Asha Rao" (a Cyrillic
А, a trailing Hangul filler or braille blank, a combining grapheme joiner inside), "ＡＳＨＡ RAO" and "ﬁ" passed (no
NFKC), "Émile" and "émile" both passed (SQLite's lower() folds ASCII only), 22 stacked combining marks passed."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.domain.staff_names import name_key, name_problem
from kiosk.staff.accounts import StaffAccountError, add_account, check_name, set_active
from kiosk.store import SalesStore
from kiosk.store.staff import account_mac

PIN = "5820"


@pytest.mark.parametrize("name, why", [
    ("Аsha Rao", "mixes letters of Cyrillic and Latin"),  # Cyrillic А
    ("Asha Rao\u3164", "invisible character(s) U+3164"),  # Hangul filler
    ("Asha Rao\u2800", "invisible character(s) U+2800"),  # braille blank
    ("As\u034fha Rao", "invisible character(s) U+034F"),  # combining grapheme joiner
    ("Asha\uffa0Rao", "invisible character(s) U+FFA0"),  # half-width Hangul filler
    ("Asha\ufe0f Rao", "invisible character(s) U+FE0F"),  # variation selector
    ("a" + "\u0301" * 22, "more than 4 combining marks"),
])
def test_a_name_that_hides_or_mixes_is_refused_saying_what(name, why):
    with pytest.raises(StaffAccountError, match="a name must read as only itself") as refused:
        check_name(name)
    assert why in str(refused.value)


@pytest.mark.parametrize("name", ["Asha Rao", "O'Brien-Smith", "राहुल शर्मा", "山田 花子", "やまだ はなこ",
                                  "Tiếng Việt", "Émile", "José María", "Zoë", "ਗੁਰਪ੍ਰੀਤ", "Аша Rao"])
def test_real_names_pass(name):
    assert check_name(name) == name and name_problem(name) is None


def test_names_that_read_the_same_are_one_name(tmp_path):
    with SalesStore.open(tmp_path / "s.sqlite") as store:
        add_account(store, "Asha Rao", "assistant", PIN, by="test")
        add_account(store, "Émile", "assistant", PIN, by="test")
        for same in ("ＡＳＨＡ RAO", "asha  rao", "Аѕһа Rao", "émile", "E\u0301MILE", "ÉMILE"):
            with pytest.raises(StaffAccountError, match="exists already"):
                add_account(store, same, "supervisor", PIN, by="test")
        add_account(store, "ﬁ", "assistant", PIN, by="test")
        with pytest.raises(StaffAccountError, match=r"'fi' exists already \(staff number 103, 'ﬁ'"):
            add_account(store, "fi", "assistant", PIN, by="test")
        assert set_active(store, "ÉMILE", False, by="test").staff_no == "102"  # found as a reader finds it
        assert [a.name for a in store.staff_accounts()] == ["Asha Rao", "Émile", "ﬁ"]
        with pytest.raises(sqlite3.IntegrityError), store._tx() as c:  # the database itself holds the rule
            c.execute("INSERT INTO staff_accounts (staff_no, name, role, pin_hash, created_at, updated_at, name_key) "
                      "VALUES ('199', 'ASHA RAO', 'supervisor', 'x', 'now', 'now', ?)", (name_key("ASHA RAO"),))


def test_a_database_with_look_alikes_already_migrates(tmp_path):
    path = tmp_path / "s.sqlite"
    with SalesStore.open(path) as store:
        add_account(store, "Asha Rao", "assistant", PIN, by="test")
        key = store._audit_key
        pin_hash = store.staff_account("101").pin_hash
    conn = sqlite3.connect(path)  # what a kiosk before name keys let in
    conn.execute("DROP INDEX staff_accounts_name_key")
    conn.execute("ALTER TABLE staff_accounts DROP COLUMN name_key")
    for no, name in (("102", "Аsha Rao"), ("103", "Asha Rao\u3164"), ("104", "ÉMILE"), ("105", "émile")):
        conn.execute("INSERT INTO staff_accounts (staff_no, name, role, pin_hash, created_at, updated_at, mac) VALUES "
                     "(?, ?, 'assistant', ?, 'now', 'now', ?)",
                     (no, name, pin_hash, account_mac(key, no, name, "assistant", True, pin_hash)))
    conn.execute("PRAGMA user_version = 8")
    conn.commit()
    conn.close()
    with SalesStore.open(path) as store:
        assert [a.staff_no for a in store.staff_accounts()] == ["101", "102", "103", "104", "105"]  # none lost
        assert store.find_staff("asha rao").staff_no == "101" and store.find_staff("Émile").staff_no == "104"
        with pytest.raises(StaffAccountError, match="exists already"):
            add_account(store, "ASHA RAO", "supervisor", PIN, by="test")
        keys = [r[0] for r in store._conn.execute("SELECT name_key FROM staff_accounts ORDER BY staff_no")]
    assert keys[0] == "asha rao" and keys[3] == "émile" and len(set(keys)) == 5
