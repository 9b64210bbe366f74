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
