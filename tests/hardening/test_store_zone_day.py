"""The kiosk and head office date a sale by one rule: its time in the store's zone (``store_timezone``, stated in each
``sale.closed`` row), the zone the kiosk states last dating the rows written before it was set too. A sale written at
20:00 UTC before the zone was set (01:30 IST on the 2nd) counts on the 2nd at both."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from kiosk.domain.receipt import StoreInfo
from tests.trainer.headoffice.seed import _Outbox
from trainer.headoffice.takings import takings_report

IST = ZoneInfo("Asia/Kolkata")


def _kiosk(tmp_path, zones: list):
    """Kiosk K1 of store S1 sells once per entry of ``zones`` (its store_timezone then: None for unset, with the
    clock in UTC), its audit rows sent to head office and its key enrolled."""
    from kiosk.audit.packer import AuditPacker
    from kiosk.store import SalesStore
    from trainer.headoffice.audit_status import enroll_key

    db, root, keys = tmp_path / "k.sqlite", tmp_path / "ho", tmp_path / "keys"
    t = [datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)]
    for i, zone in enumerate(zones):
        with SalesStore.open(db, kiosk_id="K1", clock=lambda: t[0],
                             store_info=StoreInfo(kiosk_id="K1", timezone=zone)) as s:
            s.add_unit(f"sku{i}", f"Item {i}", 450_00 + i * 100, 500)
            s.pay(s.open_cart().cart_id, method="cash")
            AuditPacker(s, _Outbox(root, "S1", "K1"), kiosk_id="K1", store_id="S1").pack()
            enroll_key(keys, "S1", "K1", s.audit_key_path.read_text())
        t[0] = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    return db, root, keys


def _days(db, root, keys, zone) -> tuple[dict, dict]:
    from kiosk.store import SalesStore

    with SalesStore.open(db, kiosk_id="K1", readonly=True, tz=zone,
                         clock=lambda: datetime(2026, 12, 3, tzinfo=timezone.utc)) as s:
        kiosk = {d: (s.takings(d).sales, s.takings(d).total) for d in (date(2026, 12, 1), date(2026, 12, 2))}
    report = takings_report(str(root), keys)
    head_office = {d.day: (d.total.sales, d.total.total) for d in report.days}
    return kiosk, head_office


def test_a_sale_from_before_the_zone_was_set_counts_on_the_same_day_at_both(tmp_path):
    kiosk, head_office = _days(*_kiosk(tmp_path, [None, IST]), IST)
    assert kiosk == {date(2026, 12, 1): (0, 0), date(2026, 12, 2): (2, 90100)}
    assert head_office == {date(2026, 12, 2): (2, 90100)}


def test_a_kiosk_that_never_set_a_zone_is_dated_by_each_rows_own_offset(tmp_path):
    """No zone stated: the kiosk counts in its clock's zone (UTC here), as its rows were written; so does head
    office."""
    kiosk, head_office = _days(*_kiosk(tmp_path, [None, None]), None)
    assert kiosk == {date(2026, 12, 1): (1, 45000), date(2026, 12, 2): (1, 45100)}
    assert head_office == {date(2026, 12, 1): (1, 45000), date(2026, 12, 2): (1, 45100)}
