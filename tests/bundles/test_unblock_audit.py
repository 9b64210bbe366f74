"""``checkout kiosk update --archive FILE --unblock --config`` (kiosk/update_cli.py) and the till's audit log: staff
unblocking a version at a shell is a row of the till's log, as a shell rollback and clock reset are
(tests/bundles/test_rollback_audit.py, test_clock_reset_audit.py). The ``model.unblock`` row is written under the
store's lock once the archive has verified and its version is blocked, before the store unblocks it; the store's
``unblock`` line names it (``audit_seq``) and both carry the unblock's id; an unblock that fails after the row is a
``model.unblock_failed`` row; nothing to unblock (the version not blocked, the archive refused) writes no row;
``checkout audit verify --config`` names a row the store never made and a line naming a row that is not its own."""

from __future__ import annotations

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from tests.bundles.factory import TINY_LABELS
from tests.bundles.test_rollback_audit import rows_before, till_model_rows, verify

REASON = "head office fixed the banana labels"


@pytest.fixture
def rolled_back(two_versions, head_office_key, kiosk_bundles, catalog_schema_version, tmp_path):
    """``two_versions`` rolled back to v1 at the store (v2 blocked, no till row), v2 as an archive, and
    ``update(*argv)``: ``checkout kiosk update --archive v2.tar --unblock`` by Ravi with those."""
    config, store, toml = two_versions
    assert store.rollback(TrustStore.from_keys(head_office_key.public), actor="Ravi", reason="v2 misreads") == 1
    assert store.blocked_versions() == {2}
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")

    def update(*argv: str, archive: str = "v2") -> int:
        path = tmp_path / f"{archive}.tar"
        if not path.exists():
            write_archive(kiosk_bundles[archive], path)
        return main(["kiosk", "update", "--channel", str(tmp_path / "no-channel"), "--store-id", "S1",
                     "--catalog-schema", str(catalog_schema_version), "--active-skus", str(skus), "--archive",
                     str(path), "--unblock", "--staff", "Ravi", "--reason", REASON, *argv])

    return config, store, toml, update


def _unblock_lines(store: BundleStore) -> list[dict]:
    return [e for e in store.read_audit() if e["event"] == "unblock"]


def test_an_unblock_with_the_kiosks_settings_writes_the_tills_row_first(rolled_back, capsys):
    config, store, toml, update = rolled_back
    with rows_before(config, "blocked") as seen:  # the row must be in the till's log before the version is unblocked
        assert update("--config", str(toml)) == 0
    assert "activated model version 2" in capsys.readouterr().out
    assert seen == [["model.unblock"]]
    assert store.active_version() == 2 and store.blocked_versions() == set()
    (kind, actor, row), = till_model_rows(config)
    (line,) = _unblock_lines(store)
    assert (kind, actor, row["version"], row["reason"]) == ("model.unblock", "Ravi", 2, REASON)
    assert row["source"] == "checkout kiosk update"
    assert line["unblock_id"] == row["unblock_id"] and line["version"] == 2 and line["actor"] == "Ravi"
    assert isinstance(line["audit_seq"], int) and line["audit_seq"] > 0
    assert verify(toml, capsys)[0] == 0
    assert update("--config", str(toml)) == 0 and "already the active version" in capsys.readouterr().out
    assert len(till_model_rows(config)) == 1 and len(_unblock_lines(store)) == 1  # nothing to unblock: no row


def test_an_unblock_failing_after_its_row_is_called_off(rolled_back, capsys, monkeypatch):
    config, store, toml, update = rolled_back
    real = BundleStore.write_state

    def refuse(self, **changes):
        if "blocked" in changes:
            raise OSError(28, "No space left on device")
        return real(self, **changes)

    monkeypatch.setattr(BundleStore, "write_state", refuse)
    assert update("--config", str(toml)) != 0
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disk is full" in err, err
    assert store.blocked_versions() == {2} and store.active_version() == 1 and _unblock_lines(store) == []
    (_, _, began), (kind, actor, failed) = till_model_rows(config)
    assert (kind, actor, failed["unblock_id"]) == ("model.unblock_failed", "Ravi", began["unblock_id"])
    assert verify(toml, capsys)[0] == 0


def test_nothing_to_unblock_writes_no_row(rolled_back, capsys):
    config, store, toml, update = rolled_back
    assert update("--config", str(toml), archive="v2-other-catalog") == 2  # refused before any unblock
    assert "refused (catalog)" in capsys.readouterr().err
    assert store.blocked_versions() == {2} and till_model_rows(config) == []
    store.write_state(blocked=[])  # v2 not blocked: installed without an unblock
    assert update("--config", str(toml)) == 0 and "activated model version 2" in capsys.readouterr().out
    assert till_model_rows(config) == [] and _unblock_lines(store) == []
    assert verify(toml, capsys)[0] == 0


def test_audit_verify_names_an_unblock_never_made_and_a_line_naming_another_row(two_versions, capsys):
    from kiosk.store.cli import till_log

    config, store, toml = two_versions
    with till_log(str(toml), "test") as write:  # a command killed between its row and the store
        row = write("model.unblock", "Ravi", version=2, reason="x", unblock_id="u-never")
    rc, out = verify(toml, capsys)
    assert rc == 1 and "unfinished: audit row" in out and "model.unblock v2" in out and "u-never" in out, out
    with till_log(str(toml), "test") as write:
        write("model.unblock_failed", "Ravi", reason="killed", unblock_id="u-never")
    assert verify(toml, capsys)[0] == 0
    store.audit("unblock", version=2, actor="Ravi", reason="x", source="archive v2.tar", unblock_id="u-other",
                audit_seq=row["seq"])
    rc, out = verify(toml, capsys)
    assert rc == 1 and "missing: the model store's unblock u-other (v2" in out and f"audit row {row['seq']}" in out


def test_an_unblock_names_one_store_only(rolled_back, tmp_path, capsys):
    config, store, toml, update = rolled_back
    assert update("--config", str(toml), "--state", str(tmp_path / "other-models")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another store's unblock" in err
    assert update() == 2 and "--config kiosk.toml, or --state DIR --keys PATH" in capsys.readouterr().err
    assert store.blocked_versions() == {2} and till_model_rows(config) == []
    assert update("--state", config.model_state, "--keys", config.trusted_keys) == 0  # no till: the store's line only
    assert till_model_rows(config) == [] and store.blocked_versions() == set()
    (line,) = _unblock_lines(store)
    assert line["actor"] == "Ravi" and "audit_seq" not in line
