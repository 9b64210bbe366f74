"""Paying: the open cart is charged on the payment terminal exactly once, and its receipt is shown (again after a
crash) and can be reprinted by staff.

:meth:`Till.pay` commits a payment intent with a fresh idempotency key (``SalesStore.begin_payment``) BEFORE the
terminal is asked, commits the approval the moment the terminal returns it, then closes the cart as one sale from
that approval. :meth:`Till.recover` (at start) settles what a crash interrupted, without ever charging again:

* an intent with an approval completes its sale (the shopper has paid: the receipt is shown at start);
* an intent without one asks the terminal for the status of its key: approved → completed as above; declined →
  the cart stays open; never received (``NOT_FOUND``) → cancelled, the cart stays open and can be paid normally;
  no answer → left as it is (the cart stays locked; the next pay or start asks again).

Whatever a driver raises when the line fails (a TerminalError, but also ConnectionResetError, TimeoutError, any
OSError, a garbled answer) is "the terminal did not answer": the outcome is unknown and asked about later, never
charged again. Only a programming error (:data:`PROGRAMMING_ERRORS`) is let out as it is.

The service's lock guards a :class:`Till` (a payment is one intent at a time); it has no lock of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.money import format_inr
from kiosk.payments.terminal import ChargeRequest, ChargeStatus, PaymentTerminal, TerminalError, TerminalReply
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError

__all__ = ["PROGRAMMING_ERRORS", "Till", "Recovery"]

log = logging.getLogger(__name__)

#: a driver's own bugs: let out as they are (not taken for a terminal that does not answer)
PROGRAMMING_ERRORS = (TypeError, AttributeError, NameError, AssertionError, ImportError, NotImplementedError,
                      SyntaxError, RecursionError)


@dataclass
class Recovery:
    """What :meth:`Till.recover` did: sales completed from approvals, intents the terminal never saw or declined, and
    intents still waiting for the terminal's answer."""

    completed: list = field(default_factory=list)
    cancelled: int = 0
    declined: int = 0
    unresolved: int = 0


@dataclass(frozen=True)
class ReceiptSummary:
    """One line of the staff's receipt list."""

    receipt_no: str
    time: str  # HH:MM, the kiosk's local time
    items: int
    total: int  # paise
    payment_method: str


class Till:
    def __init__(self, cart: CartKeeper, terminal: PaymentTerminal) -> None:
        self._cart, self.terminal = cart, terminal

    @property
    def store(self):
        return self._cart.store

    def ask(self, question: Callable[[Any], TerminalReply], arg: Any) -> TerminalReply:
        """One question to the terminal (``terminal.charge`` or ``terminal.status``). Any failure of the driver but a
        programming error becomes a TerminalError: the terminal did not answer, the outcome is unknown."""
        try:
            return question(arg)
        except (TerminalError, *PROGRAMMING_ERRORS):
            raise
        except Exception as exc:
            log.warning("payment terminal %s: %s: %s", self.terminal.describe(), type(exc).__name__, exc)
            raise TerminalError(f"{type(exc).__name__}: {exc}") from exc

    def pay(self, method: str):
        """Charge the open cart and close it as a sale; returns the Sale. Raises CheckoutError when the terminal
        declines or does not answer (nothing is charged twice: the next try asks about the same payment first)."""
        cart = self._cart.cart
        if not cart.lines:
            raise CheckoutError("nothing to pay: the cart is empty")
        live = self.store.live_payment(cart.cart_id)
        if live is not None:
            sale = self._settle_existing(live)
            if sale is not None:
                return sale
        intent = self.store.live_payment(cart.cart_id) or self.store.begin_payment(
            cart.cart_id, cart.bill().total, method, self.terminal.key)
        try:
            reply = self.ask(self.terminal.charge, ChargeRequest(intent.idempotency_key, intent.amount,
                                                                 intent.method, intent.cart_id))
        except TerminalError as exc:
            raise CheckoutError(f"the payment terminal did not answer ({exc}); the payment of "
                                f"{format_inr(intent.amount)} is kept and checked again, never charged twice") from None
        return self._settle(intent, reply)

    def _settle_existing(self, intent):
        """A payment already under way for this cart: finish it from what the store and the terminal know."""
        if intent.state == "approved":
            return self._complete(intent.idempotency_key)
        try:
            reply = self.ask(self.terminal.status, intent.idempotency_key)
        except TerminalError as exc:
            raise CheckoutError(f"a payment of {format_inr(intent.amount)} is waiting for the terminal, which does not "
                                f"answer ({exc}); ask staff") from None
        if reply.status is ChargeStatus.NOT_FOUND:  # nothing was charged: pay anew under a new key
            self.store.cancel_payment(intent.idempotency_key, "never reached the terminal")
            return None
        if reply.status is ChargeStatus.DECLINED:  # that try was declined: this tap is a new one
            self.store.record_decline(intent.idempotency_key, reply.message)
            return None
        return self._settle(intent, reply)

    def _settle(self, intent, reply: TerminalReply):
        if reply.approved:
            self.store.record_approval(intent.idempotency_key, reply.approval_ref)  # committed before anything else
            return self._complete(intent.idempotency_key)
        if reply.status is ChargeStatus.DECLINED:
            self.store.record_decline(intent.idempotency_key, reply.message)
            raise CheckoutError(f"payment declined: {reply.message or 'by the terminal'}")
        raise CheckoutError(f"the terminal has not confirmed the payment of {format_inr(intent.amount)} yet "
                            f"({reply.status.value}); tap Pay again to check")

    def _complete(self, key: str):
        sale = self.store.complete_payment(key)
        self._cart.reload()
        return sale

    def recover(self) -> Recovery:
        """Settle every payment a crash interrupted (see the module docstring). Never raises for the terminal."""
        done = Recovery()
        for intent in self.store.payments(states=("pending", "approved")):
            try:
                if intent.state == "approved":
                    done.completed.append(self._complete(intent.idempotency_key))
                    continue
                reply = self.ask(self.terminal.status, intent.idempotency_key)
            except TerminalError as exc:
                log.warning("payment %s: the terminal does not answer (%s); left pending", intent.intent_id, exc)
                done.unresolved += 1
                continue
            if reply.approved:
                self.store.record_approval(intent.idempotency_key, reply.approval_ref)
                done.completed.append(self._complete(intent.idempotency_key))
            elif reply.status is ChargeStatus.DECLINED:
                self.store.record_decline(intent.idempotency_key, reply.message)
                done.declined += 1
            elif reply.status is ChargeStatus.NOT_FOUND:
                self.store.cancel_payment(intent.idempotency_key, "never reached the terminal (found at start)")
                done.cancelled += 1
            else:
                done.unresolved += 1
        self._cart.reload()
        return done

    def receipts_of(self, day) -> list[ReceiptSummary]:
        """The receipts of ``day``, newest first, one summary each (for staff to pick one to reprint)."""
        from kiosk.store import StoreError

        try:
            receipts = self.store.receipts_on(day)
        except StoreError as exc:
            raise CheckoutError(str(exc)) from None
        return [ReceiptSummary(r.receipt_no, r.issued_at.strftime("%H:%M"), r.bill.item_count, r.bill.total,
                               r.payment_method) for r in reversed(receipts)]

    def takings_text(self, day) -> str:
        """The end-of-day report of ``day`` as printed (:meth:`kiosk.store.SalesStore.takings`)."""
        from kiosk.store import StoreError

        try:
            return self.store.takings(day).to_text()
        except StoreError as exc:
            raise CheckoutError(str(exc)) from None

    def reprint(self, receipt_no: str | None, who: str):
        """A marked duplicate of ``receipt_no`` (None: the last sale); recorded with ``who``."""
        from kiosk.store import StoreError

        try:
            return self.store.reprint(receipt_no, by=who)
        except StoreError as exc:
            raise CheckoutError(str(exc)) from None
