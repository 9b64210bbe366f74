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
from kiosk.store.payments import LIVE_STATES

__all__ = ["PROGRAMMING_ERRORS", "STAFF_CALL", "Till", "Recovery"]

log = logging.getLogger(__name__)

#: the reason of the help call raised when the terminal answers about another payment than the one asked
STAFF_CALL = "payment check"

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
    """``alert(reason)`` calls staff to the kiosk (the service's help call): used when the terminal answers about
    another payment than the one asked."""

    def __init__(self, cart: CartKeeper, terminal: PaymentTerminal,
                 alert: Callable[[str], object] | None = None) -> None:
        self._cart, self.terminal = cart, terminal
        self.alert: Callable[[str], object] = alert or (lambda reason: None)
        self._refused: set[tuple[str, TerminalReply]] = set()  # answers already audited as not about their payment

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
        undecided = reply.status is ChargeStatus.NOT_FOUND  # said of the request it answers: asked about later
        outcome, sale = self.apply(intent, TerminalReply(ChargeStatus.PENDING) if undecided else reply)
        return self._settled(intent, reply, outcome, sale, declined_is_final=True)

    def _settle_existing(self, intent):
        """A payment already under way for this cart: finish it from what the store and the terminal know (None: it
        was declined or never reached the terminal, so this tap is a new payment)."""
        if intent.state == "approved":
            return self._complete(intent.idempotency_key)
        try:
            reply = self.ask(self.terminal.status, intent.idempotency_key)
        except TerminalError as exc:
            raise CheckoutError(f"a payment of {format_inr(intent.amount)} is waiting for the terminal, which does not "
                                f"answer ({exc}); ask staff") from None
        outcome, sale = self.apply(intent, reply, "never reached the terminal")
        return self._settled(intent, reply, outcome, sale, declined_is_final=False)

    def _settled(self, intent, reply: TerminalReply, outcome: str, sale, *, declined_is_final: bool):
        """The sale of an :meth:`apply` outcome, or the refusal the shopper reads (None: pay anew: the payment was
        declined before this tap, or never reached the terminal)."""
        if outcome == "completed":
            return sale
        if outcome == "mismatch":
            raise CheckoutError(f"the terminal's answer does not match the payment of {format_inr(intent.amount)}: "
                                f"the sale is not closed and staff is called")
        if outcome == "declined" and declined_is_final:
            raise CheckoutError(f"payment declined: {reply.message or 'by the terminal'}")
        if outcome != "pending":
            return None
        raise CheckoutError(f"the terminal has not confirmed the payment of {format_inr(intent.amount)} yet "
                            f"({reply.status.value}); tap Pay again to check")

    def apply(self, intent, reply: TerminalReply | None, cancel_note: str = "never reached the terminal"):
        """Settle the payment ``intent`` from the terminal's answer about it (None: it is approved, only its sale is
        missing); the caller holds the service's lock. Returns ``(outcome, sale)``: ``completed`` (with the sale),
        ``declined``, ``cancelled`` (the terminal never received it), ``pending`` (undecided), ``mismatch`` (the
        answer is about another payment: audited, staff called, nothing changes) or ``gone`` (settled meanwhile)."""
        key = intent.idempotency_key
        now = self.store.payment(key)
        if now is None or now.state not in LIVE_STATES:
            return "gone", None
        if now.state == "approved":
            return "completed", self._complete(key)
        if reply is None or reply.status is ChargeStatus.PENDING or (
                reply.status is ChargeStatus.APPROVED and not reply.approved):
            return "pending", None
        problem = reply.mismatch(key, now.amount, now.cart_id)
        if problem is not None:
            self._refuse(now, reply, problem)
            return "mismatch", None
        if reply.approved:
            self.store.record_approval(key, reply.approval_ref)  # committed before anything else
            return "completed", self._complete(key)
        if reply.status is ChargeStatus.DECLINED:
            self.store.record_decline(key, reply.message)
            return "declined", None
        self.store.cancel_payment(key, cancel_note)  # NOT_FOUND: nothing was charged
        return "cancelled", None

    def _refuse(self, intent, reply: TerminalReply, problem: str) -> None:
        """An answer about another payment: audited and staff called, once per answer; the cart stays as it is."""
        if (intent.idempotency_key, reply) in self._refused:
            return
        self._refused.add((intent.idempotency_key, reply))
        log.error("payment %s: the terminal's answer is not about it (%s): %r", intent.intent_id, problem, reply)
        self.store.record_mismatch(intent.idempotency_key, problem, status=reply.status.value,
                                   approval_ref=reply.approval_ref, amount=reply.amount_paise,
                                   answer_key=reply.idempotency_key, reference=reply.reference)
        self.alert(STAFF_CALL)

    def _complete(self, key: str):
        sale = self.store.complete_payment(key)
        self._cart.reload()
        return sale

    def recover(self) -> Recovery:
        """Settle every payment a crash interrupted (see the module docstring). Never raises for the terminal."""
        done = Recovery()
        for intent in self.store.payments(states=LIVE_STATES):
            reply = None
            if intent.state == "pending":
                try:
                    reply = self.ask(self.terminal.status, intent.idempotency_key)
                except TerminalError as exc:
                    log.warning("payment %s: the terminal does not answer (%s); left pending", intent.intent_id, exc)
                    done.unresolved += 1
                    continue
            outcome, sale = self.apply(intent, reply, "never reached the terminal (found at start)")
            if sale is not None:
                done.completed.append(sale)
            done.cancelled += outcome == "cancelled"
            done.declined += outcome == "declined"
            done.unresolved += outcome in ("pending", "mismatch")
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
