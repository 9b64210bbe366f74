"""Staff mode's model rollback and the till's audit log (probe audit-gaps, finding 2): the ``model.rollback`` row was
written after the model store had moved its pointer and the new model was swapped in, so a kiosk killed between the
two ran (and went on running, after a restart) a model staff rolled back to with no row in its audit log saying who
did it.

Now the row comes first, under the model store's lock once every check passed and before anything there changes
(the store's rollback intent carries the row's number, and so does its ``staff-rollback`` line): a refusal of the
row changes nothing, a rollback that fails after it is a ``model.rollback_failed`` row naming it, one the model store
made but the kiosk could not load now is ``model.rollback_unfinished``, and a kiosk killed between the row and the
store's intent says at its next start that the rollback was not made. ``checkout audit verify`` with the kiosk's
settings holds the rows against the model store: a row whose rollback the store never made nor the log called off,
and a store rollback naming a row that is not its own, are named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from kiosk.services.checkout import CheckoutService
from kiosk.services.errors import CheckoutError
from tests.services.test_staff_line_changes import _fail_on

REPO = Path(__file__).resolve().parents[2]
def model_rows(service) -> list[tuple[str, str, dict]]:
    return [(r["kind"], r["actor"], r["detail"]) for r in service.store.audit_rows() if r["kind"].startswith("model.")]


def verify(toml, capsys) -> tuple[int, str]:
    rc = main(["audit", "verify", "--config", str(toml)])
    return rc, capsys.readouterr().out


def test_the_row_is_written_before_the_model_store_changes(two_versions):
    config, store, _ = two_versions
    with CheckoutService.from_config(config) as service:
        assert service.staff_unlock("7391", "101")
        seen = []
        real = BundleStore.write_state

        def write_state(self, **changes):  # the intent: the row must be in the till's log by then
            if changes.get("rolling_back"):
                seen.append([kind for kind, _, _ in model_rows(service)])
            return real(self, **changes)

        BundleStore.write_state = write_state
        try:
            assert service.staff_rollback_model("wrong labels on apples") == 1
        finally:
            BundleStore.write_state = real
        assert seen == [["model.rollback"]] and service.model.version == 1
        (kind, actor, detail), = model_rows(service)
        row = service.store.audit_rows()[-1]
    last = store.read_audit()[-1]
    assert (actor, detail["from_version"], detail["to_version"], detail["approved_by"]) == ("101", 2, 1, "")
    assert last["event"] == "staff-rollback" and last["rollback_id"] == detail["rollback_id"]
    assert last["audit_seq"] == row["seq"]


def test_a_row_the_till_cannot_write_stops_the_rollback(two_versions):
    config, store, _ = two_versions
    with CheckoutService.from_config(config) as service:
        assert service.staff_unlock("7391", "101")
        _fail_on(service.store, "model.rollback")
        with pytest.raises(CheckoutError, match="rollback refused: killed before the model.rollback row"):
            service.staff_rollback_model("wrong labels on apples")
        assert service.model.version == 2
        (kind, _, detail), = model_rows(service)
        assert kind == "model.rollback_failed" and "rollback_id" not in detail
    assert store.active_version() == 2 and store.blocked_versions() == set() and store.pending_rollback() is None
    assert [e["event"] for e in store.read_audit()].count("staff-rollback") == 0


def test_a_rollback_failing_after_its_row_is_called_off_in_the_log(two_versions, monkeypatch):
    config, store, toml = two_versions
    with CheckoutService.from_config(config) as service:
        assert service.staff_unlock("7391", "101")

        def refuse(self, **changes):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(BundleStore, "write_state", refuse)
        with pytest.raises(CheckoutError, match="rollback refused: .*No space left"):
            service.staff_rollback_model("wrong labels on apples")
        monkeypatch.undo()
        assert service.model.version == 2 and store.active_version() == 2
        (_, _, began), (kind, actor, failed) = model_rows(service)
    assert (kind, actor, failed["rollback_id"]) == ("model.rollback_failed", "101", began["rollback_id"])


def test_a_rollback_the_kiosk_cannot_load_now_stands_and_says_so(two_versions, monkeypatch):
    config, store, _ = two_versions
    with CheckoutService.from_config(config) as service:
        assert service.staff_unlock("7391", "101")
        monkeypatch.setattr(service.model, "swap", lambda new: (_ for _ in ()).throw(MemoryError("out of memory")))
        with pytest.raises(CheckoutError, match="model version 1 is active .* next start"):
            service.staff_rollback_model("wrong labels on apples")
        (_, _, began), (kind, _, unfinished) = model_rows(service)
    assert (kind, unfinished["rollback_id"]) == ("model.rollback_unfinished", began["rollback_id"])
    assert store.active_version() == 1 and 2 in store.blocked_versions()


_KILLED = """
import os, sys
sys.path.insert(0, {repo!r})
from kiosk.bundles.store import BundleStore
from kiosk.config import KioskConfig
from kiosk.services.checkout import CheckoutService

service = CheckoutService.from_config(KioskConfig.from_file({toml!r}))
assert service.staff_unlock("7391", "101")
if {point!r} == "moved":  # the model store has rolled back (pointer, block, its own log): the kiosk dies
    real = BundleStore._complete_rollback

    def step(self, intent, resumed):
        real(self, intent, resumed)
        os._exit(9)

    BundleStore._complete_rollback = step
else:  # the till's row is written: the kiosk dies before the model store's intent
    real = BundleStore.write_state

    def step(self, **changes):
        if changes.get("rolling_back"):
            os._exit(9)
        return real(self, **changes)

    BundleStore.write_state = step
service.staff_rollback_model("wrong labels on apples")
"""


def kill_at(point: str, toml: Path, tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(_KILLED.format(repo=str(REPO), toml=str(toml), point=point)))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(child)], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 9, done.stderr[-2000:]


def test_a_kill_after_the_model_store_rolled_back_leaves_its_row(two_versions, tmp_path, capsys):
    config, store, toml = two_versions
    kill_at("moved", toml, tmp_path)
    assert store.active_version() == 1
    with CheckoutService.from_config(config) as service:
        assert service.model.version == 1  # the model staff rolled back to runs ...
        (kind, actor, detail), = model_rows(service)  # ... and the log says who did it
    assert (kind, actor, detail["from_version"], detail["to_version"]) == ("model.rollback", "101", 2, 1)
    assert store.read_audit()[-1]["rollback_id"] == detail["rollback_id"]
    assert verify(toml, capsys)[0] == 0


def test_a_kill_between_the_row_and_the_model_store_is_named_then_called_off(two_versions, tmp_path, capsys):
    config, store, toml = two_versions
    kill_at("recorded", toml, tmp_path)
    assert store.active_version() == 2 and store.pending_rollback() is None  # nothing changed there
    rc, out = verify(toml, capsys)
    assert rc == 1 and "unfinished: audit row" in out and "model.rollback" in out, out
    with CheckoutService.from_config(config) as service:  # the next start says it was not made
        assert service.model.version == 2
        (_, _, began), (kind, actor, failed) = model_rows(service)
        assert (kind, actor, failed["rollback_id"]) == ("model.rollback_failed", "101", began["rollback_id"])
        assert "not made" in failed["reason"]
        assert service.staff_unlock("7391", "101") and service.staff_rollback_model("again") == 1
    assert verify(toml, capsys)[0] == 0


def test_audit_verify_names_a_store_rollback_naming_a_row_that_is_not_its_own(two_versions, capsys):
    config, store, toml = two_versions
    with CheckoutService.from_config(config) as service:
        assert service.staff_unlock("7391", "101") and service.staff_rollback_model("wrong labels") == 1
    entry = store.read_audit()[-1]
    with open(store.audit_path, "a", encoding="utf-8") as fh:  # another rollback claiming the same row
        fh.write(json.dumps({**entry, "rollback_id": "0123456789abcdef"}) + "\n")
    rc, out = verify(toml, capsys)
    assert rc == 1 and "rollback 0123456789abcdef" in out and f"audit row {entry['audit_seq']}" in out, out


def shell_rollback(*argv: str) -> int:
    return main(["kiosk", "rollback", "--staff", "Ravi", "--reason", "wrong labels on apples", *argv])


def till_model_rows(config) -> list[tuple[str, str, dict]]:
    with CheckoutService.from_config(config) as service:
        return model_rows(service)


@contextmanager
def rows_before(config, key: str) -> Iterator[list[list[str]]]:
    """While open, each ``BundleStore.write_state`` that sets ``key`` (not to None) first notes the kinds of the
    till's ``model.*`` rows: what a command at a shell wrote before it changed the model store."""
    seen: list[list[str]] = []
    real = BundleStore.write_state

    def write_state(self, **changes):
        if changes.get(key) is not None:
            from kiosk.store.sales import SalesStore

            with SalesStore.open(config.store, readonly=True) as till:
                seen.append([r["kind"] for r in till.audit_rows() if r["kind"].startswith("model.")])
        return real(self, **changes)

    BundleStore.write_state = write_state
    try:
        yield seen
    finally:
        BundleStore.write_state = real


def test_a_shell_rollback_with_the_kiosks_settings_writes_the_tills_row_first(two_versions, capsys):
    """``checkout kiosk rollback --config`` (kiosk/rollback_cli.py): the store and keys come from the settings, the
    row is in the till's log before the store's intent, and the two name each other as staff mode's do."""
    config, store, toml = two_versions
    with rows_before(config, "rolling_back") as seen:  # the intent: the row must be in the till's log by then
        assert shell_rollback("--config", str(toml)) == 0
    out = capsys.readouterr().out
    assert "rolled back from model_version 2 to 1" in out and "the till's audit log" in out
    assert seen == [["model.rollback"]] and store.active_version() == 1 and store.blocked_versions() == {2}
    (kind, actor, detail), = till_model_rows(config)  # the kiosk's start runs v1 and settles nothing
    assert (kind, actor, detail["from_version"], detail["to_version"]) == ("model.rollback", "Ravi", 2, 1)
    assert detail["source"] == "checkout kiosk rollback" and detail["reason"] == "wrong labels on apples"
    last = store.read_audit()[-1]
    assert last["event"] == "staff-rollback" and last["rollback_id"] == detail["rollback_id"] and last["audit_seq"]
    assert verify(toml, capsys)[0] == 0


def test_a_shell_rollback_failing_after_its_row_is_called_off_and_a_refused_one_writes_nothing(
        two_versions, capsys, monkeypatch):
    config, store, toml = two_versions
    assert shell_rollback("--config", str(toml), "--to", "5") == 2  # refused before the row: nothing anywhere
    assert "rollback to 5: must be below" in capsys.readouterr().err

    def refuse(self, **changes):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BundleStore, "write_state", refuse)
    assert shell_rollback("--config", str(toml)) != 0
    monkeypatch.undo()
    assert "the disk is full" in capsys.readouterr().err
    assert store.active_version() == 2 and store.pending_rollback() is None
    (_, _, began), (kind, actor, failed) = till_model_rows(config)
    assert (kind, actor, failed["rollback_id"]) == ("model.rollback_failed", "Ravi", began["rollback_id"])
    assert failed["source"] == "checkout kiosk rollback"
    assert verify(toml, capsys)[0] == 0


def test_a_shell_rollback_names_one_store_only(two_versions, tmp_path, capsys):
    config, store, toml = two_versions
    other = tmp_path / "other-models"
    assert shell_rollback("--config", str(toml), "--state", str(other)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--state {other}" in err and "another store's rollback" in err
    assert shell_rollback() == 2 and "--config kiosk.toml, or --state DIR --keys PATH" in capsys.readouterr().err
    plain = tmp_path / "plain.toml"
    plain.write_text(f"bundle = {json.dumps(config.bundle)}\nstore = {json.dumps(config.store)}\n")
    assert shell_rollback("--config", str(plain)) == 2 and "no model_state" in capsys.readouterr().err
    assert store.active_version() == 2 and till_model_rows(config) == []
    assert shell_rollback("--state", config.model_state, "--keys", config.trusted_keys) == 0  # no till: store only
    assert store.active_version() == 1 and till_model_rows(config) == []
    assert store.read_audit()[-1]["event"] == "staff-rollback"
