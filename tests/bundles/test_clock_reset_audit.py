"""``checkout kiosk clock-reset --config`` (kiosk/clock_cli.py) and the till's audit log: a staff change to the model
store made at a shell is a row of the till's log, as a shell rollback is (tests/bundles/test_rollback_audit.py). The
``model.clock_reset`` row is written under the store's lock before the remembered time changes, the store's
``clock-reset`` line names it (``audit_seq``) and both carry the reset's id; a reset that fails after the row is a
``model.clock_reset_failed`` row; nothing to reset writes no row; ``checkout audit verify --config`` names a row the
store never made and a line naming a row that is not its own."""

from __future__ import annotations

import json

from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from tests.bundles.test_rollback_audit import rows_before, till_model_rows, verify

AHEAD = "2036-01-01T00:00:00Z"


def reset(*argv: str) -> int:
    return main(["kiosk", "clock-reset", "--staff", "Asha", "--reason", "NTP said 2036", *argv])


def _ahead(store: BundleStore) -> None:
    """The store remembers a time ten years ahead (a clock reading far ahead, once)."""
    store.write_state(last_seen=AHEAD)


def test_a_clock_reset_with_the_kiosks_settings_writes_the_tills_row_first(two_versions, capsys):
    config, store, toml = two_versions
    _ahead(store)
    with rows_before(config, "last_seen") as seen:  # the row must be in the till's log before the time changes
        assert reset("--config", str(toml)) == 0
    assert "went back from 2036" in capsys.readouterr().out
    assert seen == [["model.clock_reset"]]
    (kind, actor, row), = till_model_rows(config)
    line = store.read_audit()[-1]
    assert (kind, actor, row["from_time"], row["reason"]) == ("model.clock_reset", "Asha", AHEAD, "NTP said 2036")
    assert row["source"] == "checkout kiosk clock-reset" and row["to_time"] < "2030"
    assert line["event"] == "clock-reset" and line["reset_id"] == row["reset_id"] and line["to_time"] == row["to_time"]
    assert isinstance(line["audit_seq"], int) and line["audit_seq"] > 0
    assert store.read_state()["last_seen"] == row["to_time"]
    assert verify(toml, capsys)[0] == 0
    assert reset("--config", str(toml)) == 0 and "nothing to reset" in capsys.readouterr().out
    assert len(till_model_rows(config)) == 1  # nothing to reset: no row


def test_a_clock_reset_failing_after_its_row_is_called_off(two_versions, capsys, monkeypatch):
    config, store, toml = two_versions
    _ahead(store)

    def refuse(self, **changes):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BundleStore, "write_state", refuse)
    assert reset("--config", str(toml)) != 0
    monkeypatch.undo()
    assert "the disk is full" in capsys.readouterr().err
    assert store.read_state()["last_seen"] == AHEAD
    (_, _, began), (kind, actor, failed) = till_model_rows(config)
    assert (kind, actor, failed["reset_id"]) == ("model.clock_reset_failed", "Asha", began["reset_id"])
    assert verify(toml, capsys)[0] == 0


def test_audit_verify_names_a_reset_never_made_and_a_line_naming_another_row(two_versions, capsys):
    from kiosk.store.cli import till_log

    config, store, toml = two_versions
    with till_log(str(toml), "test") as write:  # a command killed between its row and the store
        row = write("model.clock_reset", "Asha", from_time=AHEAD, to_time="2026-12-04T00:00:00Z", reason="x",
                    reset_id="r-never")
    rc, out = verify(toml, capsys)
    assert rc == 1 and "unfinished: audit row" in out and "model.clock_reset" in out and "r-never" in out, out
    with till_log(str(toml), "test") as write:
        write("model.clock_reset_failed", "Asha", reason="killed", reset_id="r-never")
    assert verify(toml, capsys)[0] == 0
    store.audit("clock-reset", actor="Asha", reason="x", from_time=AHEAD, to_time="2026-12-04T00:00:00Z",
                reset_id="r-other", audit_seq=row["seq"])
    rc, out = verify(toml, capsys)
    assert rc == 1 and "missing: the model store's clock-reset r-other" in out and f"audit row {row['seq']}" in out


def test_a_clock_reset_names_one_store_only(two_versions, tmp_path, capsys):
    config, store, toml = two_versions
    _ahead(store)
    other = tmp_path / "other-models"
    assert reset("--config", str(toml), "--state", str(other)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another store's clock reset" in err
    assert reset() == 2 and "--config kiosk.toml, or --state DIR" in capsys.readouterr().err
    plain = tmp_path / "plain.toml"
    plain.write_text(f"bundle = {json.dumps(config.bundle)}\nstore = {json.dumps(config.store)}\n")
    assert reset("--config", str(plain)) == 2 and "no model_state" in capsys.readouterr().err
    assert store.read_state()["last_seen"] == AHEAD and till_model_rows(config) == []
    assert reset("--state", config.model_state) == 0  # no till: the store's line only
    assert till_model_rows(config) == [] and store.read_audit()[-1]["event"] == "clock-reset"
