"""Receipts after the sale: when each was shown, and staff reprints (marked as duplicates, every one recorded).

A sale committed just before a crash has no ``shown`` record: the kiosk shows it again when it restarts
(:meth:`ReceiptsMixin.unshown_sales`). A reprint is the stored receipt text under a ``DUPLICATE`` line, so a copy
can never pass for a second sale; ``receipt_prints`` keeps who reprinted what and when. :meth:`ReceiptsMixin.takings`
sums a day's receipts into the end-of-day report (``checkout receipt day``). A day is a calendar day in the store's
time zone: each stored time is converted to it before its date is taken (a row written with another offset, by a
shell in another zone or before the kiosk had a store zone, counts on the store's day all the same).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from kiosk.domain.receipt import Receipt
from kiosk.domain.store_time import day_of, days_from
from kiosk.domain.takings import Takings

__all__ = ["Reprint", "ReceiptsMixin"]


@dataclass(frozen=True, slots=True)
class Reprint:
    sale: object  # kiosk.store.Sale
    copy: int  # 1 for the first reprint
    text: str


class ReceiptsMixin:
    """Receipt display and reprints on :class:`kiosk.store.SalesStore`."""

    def mark_receipt_shown(self, receipt_no: str, *, by: str = "kiosk") -> None:
        with self._tx() as c:
            if c.execute("SELECT 1 FROM receipt_prints WHERE receipt_no = ? AND kind = 'shown'",
                         (receipt_no,)).fetchone() is None:
                c.execute("INSERT INTO receipt_prints (receipt_no, kind, by, at) VALUES (?, 'shown', ?, ?)",
                          (receipt_no, by, self._time()))
                self._audit(c, "receipt.shown", by, {"receipt_no": receipt_no})

    def unshown_sales(self) -> list:
        """Sales whose receipt was never shown (committed just before a crash), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM sales s WHERE NOT EXISTS (SELECT 1 FROM receipt_prints p "
                "WHERE p.receipt_no = s.receipt_no AND p.kind = 'shown') ORDER BY receipt_seq").fetchall()
        return [self._sale_from_row(r) for r in rows]

    def reprint(self, receipt_no: str | None = None, *, by: str) -> Reprint:
        """The receipt ``receipt_no`` (None: the last sale's) as a marked duplicate; the reprint is recorded."""
        from kiosk.store.sales import StoreError

        if not by:
            raise ValueError("a reprint needs who asked for it")
        with self._tx() as c:
            if receipt_no is None:
                row = c.execute("SELECT * FROM sales ORDER BY receipt_seq DESC LIMIT 1").fetchone()
                if row is None:
                    raise StoreError(f"{self.path}: no sale yet, nothing to reprint")
            else:
                row = c.execute("SELECT * FROM sales WHERE receipt_no = ?", (receipt_no,)).fetchone()
                if row is None:
                    raise StoreError(f"{self.path}: no receipt {receipt_no!r}")
            sale = self._sale_from_row(row)
            at = self._time()
            c.execute("INSERT INTO receipt_prints (receipt_no, kind, by, at) VALUES (?, 'reprint', ?, ?)",
                      (sale.receipt_no, by, at))
            copy = c.execute("SELECT count(*) FROM receipt_prints WHERE receipt_no = ? AND kind = 'reprint'",
                             (sale.receipt_no,)).fetchone()[0]
            self._audit(c, "receipt.reprinted", by, {"receipt_no": sale.receipt_no, "copy": copy,
                                                     "total": sale.total})
        width = max((len(line) for line in sale.receipt_text.splitlines()), default=42)
        mark = f"*** DUPLICATE - reprint {copy} ***".center(width).rstrip()
        return Reprint(sale, copy, f"{mark}\n{at[:16].replace('T', ' ')}\n{sale.receipt_text}")

    def receipt_prints(self, receipt_no: str) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(
                "SELECT kind, by, at FROM receipt_prints WHERE receipt_no = ? ORDER BY id", (receipt_no,))]

    # -- the day's takings ------------------------------------------------------------------------------------------
    def receipts_on(self, day: date) -> list[Receipt]:
        """The receipts of the sales closed on ``day`` (a calendar day in the store's zone, :attr:`zone`), in order.
        A stored receipt that no longer reads (or does not add up) is a :class:`~kiosk.store.StoreError` naming it:
        a report never leaves a sale out quietly."""
        from kiosk.store.sales import StoreError

        with self._lock:
            rows = self._conn.execute("SELECT receipt_no, closed_at, receipt_json FROM sales WHERE substr(closed_at, 1,"
                                      " 10) BETWEEN ? AND ? ORDER BY receipt_seq", _near(day)).fetchall()
        out = []
        for row in rows:
            if self._day_of(row["closed_at"], f"receipt {row['receipt_no']}") != day:
                continue
            try:
                out.append(Receipt.from_json(row["receipt_json"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{self.path}: receipt {row['receipt_no']} cannot be read ({exc})") from None
        return out

    def sales_so_far(self, day: date) -> tuple[int, int]:
        """``(sales, total paise)`` closed on ``day`` (the store's) so far: read from the newest sale back to the first
        of two days before (the heartbeat asks every minute; years of sales are not scanned)."""
        count = total = 0
        zone, before = self.zone, days_from(day, -2).isoformat()
        with self._lock:
            for closed_at, paid in self._conn.execute("SELECT closed_at, total FROM sales ORDER BY receipt_seq DESC"):
                if closed_at[:10] < before:
                    break
                try:
                    if day_of(closed_at, zone) == day:
                        count, total = count + 1, total + paid
                except (ValueError, OverflowError):  # a time edited by hand (the report names it), or past the
                    continue  # calendar's end in the store's zone (on no day that can be asked for)
        return count, total

    def takings(self, day: date, receipts: list[Receipt] | None = None) -> Takings:
        """The day's takings (:class:`kiosk.domain.takings.Takings`): its receipts (``receipts``: read already by
        :meth:`receipts_on`) summed, with the reprints made, the payment attempts declined or cancelled that day and
        the payments approved late that day (:meth:`approved_late_on`) (the store's day, whatever offset each was
        written with)."""
        with self._lock:
            reprints = self._conn.execute("SELECT at FROM receipt_prints WHERE kind = 'reprint' AND "
                                          "substr(at, 1, 10) BETWEEN ? AND ?", _near(day)).fetchall()
            declined = self._conn.execute("SELECT updated_at FROM payment_intents WHERE state IN ('declined', "
                                          "'cancelled') AND substr(updated_at, 1, 10) BETWEEN ? AND ?",
                                          _near(day)).fetchall()
        reprints = sum(self._day_of(at, "a reprint") == day for (at,) in reprints)
        declined = sum(self._day_of(at, "a payment") == day for (at,) in declined)
        receipts = self.receipts_on(day) if receipts is None else receipts
        kiosk = receipts[0].store.kiosk_id if receipts and receipts[0].store.kiosk_id else self.kiosk_id
        return Takings.of(day, receipts, kiosk_id=kiosk, reprints=reprints, declined=declined,
                          approved_late=self.approved_late_on(day))

    def approved_late_on(self, day: date) -> tuple[int, int]:
        """``(payments, paise)`` the terminal approved on ``day`` (the store's) after they were released (declined or
        cancelled, the shopper gone or paid another way): money taken with no sale, for staff to refund or collect.
        Read from their ``payment.late_approval`` audit rows (each at its own time; a payment approved late twice
        counts once, on the day of the first), as head office counts them (:mod:`trainer.headoffice.takings`)."""
        first, last = _near(day)
        with self._lock:
            rows = self._conn.execute("SELECT id, at, detail FROM audit_log WHERE at >= ? AND at < ? AND kind = "
                                      "'payment.late_approval' ORDER BY id", (first, f"{last}~")).fetchall()
            found = []
            for row in rows:
                if self._day_of(row["at"], "a late approval") != day:
                    continue
                try:
                    detail = json.loads(row["detail"])
                    key = detail["key"]
                except (ValueError, TypeError, KeyError):
                    from kiosk.store.sales import StoreError

                    raise StoreError(f"{self.path}: the late approval at {row['at']} does not read") from None
                if key in {k for k, _ in found} or self._conn.execute(  # approved late before (another reference)
                        "SELECT 1 FROM audit_log WHERE id < ? AND kind = 'payment.late_approval' AND "
                        "json_extract(detail, '$.key') = ? LIMIT 1", (row["id"], key)).fetchone():
                    continue
                found.append((key, detail.get("amount")))
        return len(found), sum(a for _, a in found if type(a) is int)

    def today(self) -> date:
        """Today on the store's clock, in its zone."""
        return day_of(self._clock(), self.zone)

    def zone_of_sales(self) -> tzinfo | None:
        """The UTC offset the last sale was written with, as a fixed zone (None: no sale, or no offset): the store's
        zone as the kiosk wrote it, for a tool that is not told the zone."""
        with self._lock:
            row = self._conn.execute("SELECT closed_at FROM sales ORDER BY receipt_seq DESC LIMIT 1").fetchone()
        try:
            return datetime.fromisoformat(row[0]).tzinfo if row else None
        except (TypeError, ValueError):
            return None

    def _day_of(self, at: str, what: str) -> date | None:
        """The store's day of a stored time (None: a time past the calendar's ends in the store's zone, on no day a
        report can ask for); one that does not read is a StoreError naming ``what``."""
        from kiosk.store.sales import StoreError

        try:
            return day_of(at, self.zone)
        except OverflowError:
            return None
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: {what} has a time that does not read ({at!r})") from None


def _near(day: date) -> tuple[str, str]:
    """The dates a time on the store's ``day`` can be written with, whatever its offset (-14 h .. +14 h, and
    ``zone``'s): two days either side, so the SQL reads a few rows and the exact day is taken after converting."""
    return days_from(day, -2).isoformat(), days_from(day, 2).isoformat()
