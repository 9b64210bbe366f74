"""A supervisor rolls the model back from staff mode (no shell): the previous signed version runs at once, the
bundle store audits it and blocks the version left, the kiosk's audit log names who did it; an assistant cannot."""

from __future__ import annotations

import pytest

from kiosk.bundle_format.trust import TrustStore
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from kiosk.services.checkout import CheckoutService
from kiosk.services.errors import SupervisorNeeded
from kiosk.staff.accounts import add_account


def test_a_supervisor_rolls_the_model_back_from_staff_mode(kiosk_config, kiosk_bundles, head_office_key):
    config = kiosk_config()
    CheckoutService.from_config(config).close()  # first start: v1 installed
    store = BundleStore(config.model_state)
    assert Updater(store, TrustStore.from_keys(head_office_key.public), "", "S1").install_directory(
        kiosk_bundles["v2"]).outcome == "activated"
    with CheckoutService.from_config(config) as service:
        assert service.model.version == 2
        add_account(service.store, "Asha", "assistant", "5820", by="test")
        add_account(service.store, "Ravi", "supervisor", "7391", by="test")
        assert service.staff_unlock("5820", "101")
        with pytest.raises(SupervisorNeeded):
            service.staff_rollback_model()
        assert service.model.version == 2
        assert service.staff_unlock("7391", "102")
        assert service.staff_rollback_model("wrong labels on apples") == 1
        assert service.model.version == 1  # swapped in at once
        row = service.store.audit_rows()[-1]
    assert (row["kind"], row["actor"], row["detail"]["from_version"], row["detail"]["to_version"]) == (
        "model.rollback", "102", 2, 1)
    last = store.read_audit()[-1]
    assert last["event"] == "staff-rollback" and last["actor"] == "102 (Ravi)" and 2 in store.blocked_versions()


def test_an_archive_of_a_version_staff_rolled_back_is_refused_unless_unblocked(kiosk_v1, bundles_dir, head_office_key,
                                                                               tmp_path, capsys):
    """A USB stick's v2 activated v2 right after staff had rolled back from it (state.json still listed it as
    blocked): now it is refused as the channel skips it, unless staff unblock it by name, with a reason, audited."""
    from kiosk.bundle_format.archive import write_archive
    from kiosk.bundle_format.verify import BundleRefused
    from kiosk.cli import main
    from tests.bundles.factory import TINY_LABELS

    store, updater = kiosk_v1.store, kiosk_v1.updater
    v2 = write_archive(bundles_dir / "v2", tmp_path / "v2.tar")
    assert updater.install_archive(v2).outcome == "activated"
    assert store.rollback(kiosk_v1.trust, actor="Asha", reason="v2 misreads bananas") == 1
    with pytest.raises(BundleRefused) as info:
        updater.install_archive(v2)
    assert info.value.reason == "version" and "blocked here" in str(info.value) and "--unblock" in str(info.value)
    assert store.active_version() == 1 and store.blocked_versions() == {2}
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "ho.pub").write_text(head_office_key.public.line())
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    cli = ["kiosk", "update", "--state", str(store.root), "--keys", str(keys), "--channel", str(tmp_path / "none"),
           "--store-id", "s1", "--catalog-schema", "1", "--active-skus", str(skus), "--archive", str(v2)]
    assert main([*cli, "--unblock", "--staff", "Ravi"]) == 2  # no reason: nothing done
    assert "needs the staff member's name" in capsys.readouterr().err and store.blocked_versions() == {2}
    assert main([*cli, "--unblock", "--staff", "Ravi", "--reason", "head office fixed the banana labels"]) == 0
    assert "activated model version 2" in capsys.readouterr().out
    assert store.active_version() == 2 and store.blocked_versions() == set()
    unblock = [e for e in store.read_audit() if e["event"] == "unblock"]
    assert len(unblock) == 1 and unblock[0]["actor"] == "Ravi" and unblock[0]["version"] == 2


def test_a_rollback_from_staff_mode_during_an_update_says_so_instead_of_freezing(kiosk_config, kiosk_bundles,
                                                                                   head_office_key, monkeypatch):
    """The updater holds the model store's lock through a whole download: staff mode waits a moment, then one line
    naming the holder (it waited as long as the download took, with the window frozen)."""
    import fcntl
    import os
    import time

    from kiosk.services import model_updates
    from kiosk.services.errors import CheckoutError

    monkeypatch.setattr(model_updates, "STAFF_LOCK_WAIT_S", 0.3)
    config = kiosk_config()
    CheckoutService.from_config(config).close()
    store = BundleStore(config.model_state)
    assert Updater(store, TrustStore.from_keys(head_office_key.public), "", "S1").install_directory(
        kiosk_bundles["v2"]).outcome == "activated"
    with CheckoutService.from_config(config) as service:
        add_account(service.store, "Ravi", "supervisor", "7391", by="test")
        assert service.staff_unlock("7391", "101")
        fd = os.open(store.root / "lock", os.O_RDWR)  # another open file: flock conflicts as another process's would
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            t0 = time.monotonic()
            with pytest.raises(CheckoutError, match="rollback refused: .*lock is still held"):
                service.staff_rollback_model("wrong labels on apples")
            assert time.monotonic() - t0 < 5
        finally:
            os.close(fd)
        assert service.model.version == 2
        assert service.staff_rollback_model("wrong labels on apples") == 1  # free again: it runs
