"""Payments exactly once: a payment intent with an idempotency key is committed BEFORE the terminal is asked, the
terminal's approval is committed the moment it comes back, and the sale is closed from the approved intent.

States of an intent (``payment_intents.state``)::

    pending ──approval──▶ approved ──sale committed──▶ completed
       │                                        (one transaction with the sale and its receipt)
       ├──declined by the terminal──▶ declined
       └──the terminal never saw it──▶ cancelled

At most one intent per cart is pending, approved or completed (a unique index), so the store itself can never
hold two approvals for one cart; while one is pending or approved the cart cannot change (the amount asked is the
amount billed). After a crash: an approved intent completes its sale; a pending one is settled by asking the
terminal for the status of its key (:class:`kiosk.services.paying.Till`), never by charging again.

An approval the terminal gives after the intent was released (declined or cancelled: the terminal broke its own
limits) is recorded on that intent (:meth:`PaymentsMixin.record_late_approval`: its ``approval_ref``, state and
``updated_at`` unchanged, audited ``payment.late_approval`` at its own time) for staff to refund or collect; it closes
no cart. :meth:`late_approvals` lists them; the day's takings count them on the day they were approved.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from kiosk.domain.cart import CartError
from kiosk.domain.money import format_inr

__all__ = ["LIVE_STATES", "PaymentIntent", "PaymentsMixin", "migrate_payments_and_receipts"]

LIVE_STATES = ("pending", "approved")


def migrate_payments_and_receipts(c: sqlite3.Connection) -> None:
    """Sales schema 3: payment intents, and when each receipt was shown or reprinted."""
    c.execute("""
        CREATE TABLE payment_intents (
            intent_id INTEGER PRIMARY KEY AUTOINCREMENT,
            idempotency_key TEXT NOT NULL UNIQUE,
            cart_id TEXT NOT NULL REFERENCES carts(cart_id),
            amount INTEGER NOT NULL CHECK (amount > 0),
            method TEXT NOT NULL,
            terminal TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'completed', 'declined', 'cancelled')),
            approval_ref TEXT NOT NULL DEFAULT '',
            receipt_no TEXT,
            message TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            CHECK (state NOT IN ('approved', 'completed') OR approval_ref != '')
        )""")
    # one live-or-paid intent per cart: never two approvals for one cart
    c.execute("CREATE UNIQUE INDEX payment_intents_one_per_cart ON payment_intents(cart_id) "
              "WHERE state IN ('pending', 'approved', 'completed')")
    c.execute("""
        CREATE TABLE receipt_prints (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            receipt_no TEXT NOT NULL REFERENCES sales(receipt_no),
            kind TEXT NOT NULL CHECK (kind IN ('shown', 'reprint')),
            by TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        )""")
    c.execute("CREATE INDEX receipt_prints_receipt ON receipt_prints(receipt_no, kind)")
    # sales closed before this version were shown when they were made
    c.execute("INSERT INTO receipt_prints (receipt_no, kind, by, at) "
              "SELECT receipt_no, 'shown', 'before-upgrade', closed_at FROM sales")


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    intent_id: int
    idempotency_key: str
    cart_id: str
    amount: int
    method: str
    terminal: str
    state: str
    approval_ref: str
    receipt_no: str | None
    message: str
    created_at: str
    updated_at: str

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> PaymentIntent:
        return cls(*(r[k] for k in ("intent_id", "idempotency_key", "cart_id", "amount", "method", "terminal",
                                    "state", "approval_ref", "receipt_no", "message", "created_at", "updated_at")))


class PaymentsMixin:
    """Payment intents on :class:`kiosk.store.SalesStore` (uses its transaction, clock and ``_close_cart``)."""

    def _intent(self, c: sqlite3.Connection, key: str) -> PaymentIntent:
        row = c.execute("SELECT * FROM payment_intents WHERE idempotency_key = ?", (key,)).fetchone()
        if row is None:
            raise CartError(f"no payment with idempotency key {key!r} in {self.path}")
        return PaymentIntent._from_row(row)

    def _live_intent(self, c: sqlite3.Connection, cart_id: str) -> PaymentIntent | None:
        row = c.execute("SELECT * FROM payment_intents WHERE cart_id = ? AND state IN ('pending', 'approved')",
                        (cart_id,)).fetchone()
        return PaymentIntent._from_row(row) if row else None

    def _refuse_during_payment(self, c: sqlite3.Connection, cart_id: str) -> None:
        live = self._live_intent(c, cart_id)
        if live is not None:
            raise CartError(f"a payment of {format_inr(live.amount)} is in progress for this cart "
                            f"({live.state}); the cart cannot change until it is settled")

    def begin_payment(self, cart_id: str, amount: int, method: str, terminal: str) -> PaymentIntent:
        """Commit a new pending intent with a fresh idempotency key (before the terminal is asked)."""
        with self._tx() as c:
            row = c.execute("SELECT status FROM carts WHERE cart_id = ?", (cart_id,)).fetchone()
            if row is None or row["status"] != "open":
                raise CartError(f"cart {cart_id!r} is not open: nothing to pay")
            if self._live_intent(c, cart_id) is not None:
                raise CartError(f"cart {cart_id!r} already has a payment in progress")
            now = self._time()
            key = uuid.uuid4().hex
            c.execute("INSERT INTO payment_intents (idempotency_key, cart_id, amount, method, terminal, state,"
                      " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                      (key, cart_id, amount, method, terminal, now, now))
            self._audit(c, "payment.started", "shopper", {"cart_id": cart_id, "amount": amount, "method": method,
                                                          "terminal": terminal, "key": key})
            return self._intent(c, key)

    def _move(self, key: str, to: str, frm: tuple[str, ...], **fields: str) -> PaymentIntent:
        with self._tx() as c:
            intent = self._intent(c, key)
            if intent.state == to and all(getattr(intent, k) == v for k, v in fields.items()):
                return intent  # a retry after a crash: already there
            if intent.state not in frm:
                raise CartError(f"payment {key}: cannot go from {intent.state} to {to}")
            sets = ", ".join(f"{k} = ?" for k in fields)
            c.execute(f"UPDATE payment_intents SET state = ?, updated_at = ?{', ' if sets else ''}{sets} "
                      "WHERE idempotency_key = ?", (to, self._time(), *fields.values(), key))
            self._audit(c, f"payment.{to}", "kiosk", {"cart_id": intent.cart_id, "amount": intent.amount,
                                                      "method": intent.method, "key": key, **fields})
            return self._intent(c, key)

    def record_approval(self, key: str, approval_ref: str) -> PaymentIntent:
        """The terminal approved: commit its reference at once (before anything else happens)."""
        if not approval_ref:
            raise CartError(f"payment {key}: an approval needs the terminal's reference")
        return self._move(key, "approved", ("pending",), approval_ref=approval_ref)

    def record_decline(self, key: str, message: str) -> PaymentIntent:
        return self._move(key, "declined", ("pending",), message=message[:500])

    def cancel_payment(self, key: str, message: str) -> PaymentIntent:
        """The terminal never received the request under ``key``: nothing was charged; the cart may be paid anew."""
        return self._move(key, "cancelled", ("pending",), message=message[:500])

    def record_late_approval(self, key: str, approval_ref: str) -> PaymentIntent:
        """The terminal approved ``key`` after it was released (declined or cancelled): its reference is kept on the
        intent, whose state stays as it is (its cart was released; no cart is closed with it), and audited as
        ``payment.late_approval`` for staff to refund or collect. A repeated call changes nothing."""
        if not approval_ref:
            raise CartError(f"payment {key}: an approval needs the terminal's reference")
        with self._tx() as c:
            intent = self._intent(c, key)
            if intent.state not in ("declined", "cancelled"):
                raise CartError(f"payment {key} is {intent.state}: only a released payment is approved late")
            if intent.approval_ref == approval_ref:
                return intent
            message = f"approved ({approval_ref}) after the cart was released: refund or collect"
            # updated_at stays the time it was declined or cancelled (the day reports count that on); the late
            # approval is its own event, its audit row, with its own time (ReceiptsMixin.approved_late_on)
            c.execute("UPDATE payment_intents SET approval_ref = ?, message = ? WHERE idempotency_key = ?",
                      (approval_ref, message, key))
            self._audit(c, "payment.late_approval", "kiosk", {"cart_id": intent.cart_id, "amount": intent.amount,
                                                              "method": intent.method, "key": key,
                                                              "state": intent.state, "approval_ref": approval_ref})
            return self._intent(c, key)

    def late_approvals(self) -> list[PaymentIntent]:
        """Released payments the terminal approved afterwards (:meth:`record_late_approval`), oldest first."""
        with self._lock:
            return [PaymentIntent._from_row(r) for r in self._conn.execute(
                "SELECT * FROM payment_intents WHERE state IN ('declined', 'cancelled') AND approval_ref != '' "
                "ORDER BY intent_id")]

    def record_mismatch(self, key: str, problem: str, **answer: object) -> PaymentIntent:
        """The terminal answered about ``key`` with something that is not this payment (another amount, key or
        reference; ``answer``: what it said): audited as ``payment.mismatch``; the intent stays as it is, so the cart
        is neither closed nor released."""
        with self._tx() as c:
            intent = self._intent(c, key)
            self._audit(c, "payment.mismatch", "kiosk", {"cart_id": intent.cart_id, "amount": intent.amount,
                                                         "method": intent.method, "key": key,
                                                         "problem": problem[:500], "answer": answer})
            return intent

    def complete_payment(self, key: str):
        """Close the cart of an approved intent as ONE sale (with the approval as its payment reference) in the
        same transaction that marks the intent completed; a repeated call returns that sale."""
        with self._tx() as c:
            intent = self._intent(c, key)
            if intent.state not in ("approved", "completed"):
                raise CartError(f"payment {key} is {intent.state}: only an approved payment completes a sale")
            sale = self._close_cart(c, intent.cart_id, intent.method, intent.approval_ref)
            c.execute("UPDATE payment_intents SET state = 'completed', receipt_no = ?, updated_at = ? "
                      "WHERE idempotency_key = ?", (sale.receipt_no, self._time(), key))
        return sale

    def live_payment(self, cart_id: str) -> PaymentIntent | None:
        with self._lock:
            return self._live_intent(self._conn, cart_id)

    def payment(self, key: str) -> PaymentIntent | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM payment_intents WHERE idempotency_key = ?", (key,)).fetchone()
        return PaymentIntent._from_row(row) if row else None

    def payments(self, *, states: tuple[str, ...] | None = None) -> list[PaymentIntent]:
        """Intents oldest first (``states``: only those; e.g. :data:`LIVE_STATES` for the unfinished ones)."""
        where, params = ("", ()) if states is None else (
            f" WHERE state IN ({','.join('?' * len(states))})", tuple(states))
        with self._lock:
            return [PaymentIntent._from_row(r) for r in self._conn.execute(
                f"SELECT * FROM payment_intents{where} ORDER BY intent_id", params)]
