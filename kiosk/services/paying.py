"""Paying: the open cart is charged on the payment terminal exactly once, and its receipt is shown (again after a
crash) and can be reprinted by staff.

:meth:`Till.pay` commits a payment intent with a fresh idempotency key (``SalesStore.begin_payment``) BEFORE the
terminal is asked, commits the approval the moment the terminal returns it, then closes the cart as one sale from
that approval. :meth:`Till.recover` (at start) settles what a crash interrupted, without ever charging again:

* an intent with an approval completes its sale (the shopper has paid: the receipt is shown at start);
* an intent without one asks the terminal for the status of its key: approved → completed as above; declined →
  the cart stays open; never received (``NOT_FOUND``) → released as below; no answer → left as it is (the cart
  stays locked; :class:`PaymentWatch` asks again, as does a tap on Pay).

"Never received" is not final: the request may still be on its way, or at the PIN pad, and the terminal may approve
it a minute later; released then, the cart would be charged again under a new key. So a payment is released as not
charged only once the terminal can no longer approve it (:meth:`Till.enquire`, :meth:`Till.apply`):

* the key is cancelled at the terminal first (``PaymentTerminal.cancel``): a confirmed ``CANCELLED`` releases it
  (the terminal refuses the request if it arrives later); an approval or a decline is taken as it is;
* a terminal without a cancel (or one that cannot cancel a key it has not seen) is believed only after its own
  longest transaction (``max_transaction_s``) has passed since the charge call ended (``timeout_s`` more for a
  payment a start found), and only when it says "never received" twice, :attr:`Till.confirm_s` apart; until then
  the payment waits (a tap on Pay: "not confirmed yet"), and is asked about again;
* an approval heard after a release (a terminal out of its own limits) is never lost nor used for another cart: it
  is recorded on the released payment (audited ``payment.late_approval``) and staff is called (:data:`LATE_CALL`:
  refund the shopper, or collect the sale); :class:`PaymentWatch` keeps asking about a payment released on "never
  received" alone for ``timeout_s + max_transaction_s`` more.

Every answer must be about the payment asked (:meth:`~kiosk.payments.TerminalReply.mismatch`: its key, and for an
approval its amount and reference): one about another payment never closes nor releases the cart; it is audited
(``payment.mismatch``), staff is called (a help call, :data:`STAFF_CALL`) and the payment is asked about again.

Whatever a driver raises when the line fails (a TerminalError, but also ConnectionResetError, TimeoutError, any
OSError, a garbled answer) is "the terminal did not answer": the outcome is unknown and asked about later, never
charged again. Only a programming error (:data:`PROGRAMMING_ERRORS`) is let out as it is.

While a payment's outcome is unknown (the answer was lost, the terminal did not answer or still waits for the
shopper's PIN, an answer was about another payment, or a start found the terminal silent) the kiosk does not wait
for someone to tap Pay again: :class:`PaymentWatch` asks the terminal about the payment's key on a thread of its
own, after 1 s and then with pauses doubling up to 30 s, and settles it exactly as a tap would: approved → the sale
is closed and its receipt shown, once; declined or never received → the cart is released (a notice says so). Staff
see what waits meanwhile (:class:`~kiosk.services.events.PaymentPending`).

The service's lock guards a :class:`Till` (a payment is one intent at a time); a tap on Pay and the watch take it to
decide and to settle, never to ask (a charge waits seconds at the PIN pad: the scanner, the scale and the camera go on,
refused while the cart is being paid): only the questions to the terminal are serialised by the till itself (a driver
need not be thread-safe). The payment a tap asks about is its own until the answer is applied (:meth:`Till.in_hand`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.money import format_inr
from kiosk.payments.terminal import ChargeRequest, ChargeStatus, PaymentTerminal, TerminalError, TerminalReply
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice, PaymentPending
from kiosk.store.payments import LIVE_STATES

__all__ = ["LATE_CALL", "PROGRAMMING_ERRORS", "STAFF_CALL", "PaymentWatch", "Till", "Recovery"]

log = logging.getLogger(__name__)

#: the reason of the help call raised when the terminal answers about another payment than the one asked
STAFF_CALL = "payment check"
#: the reason of the help call raised when the terminal approved a payment after its cart was released
LATE_CALL = "payment approved late: refund or collect"

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
    another payment than the one asked, or approves one after its cart was released. ``clock``: monotonic seconds
    (the deadlines of "never received", see the module docstring)."""

    #: seconds between the two "never received" answers that release a payment the terminal did not cancel
    confirm_s = 5.0

    def __init__(self, cart: CartKeeper, terminal: PaymentTerminal,
                 alert: Callable[[str], object] | None = None, *, clock: Callable[[], float] | None = None) -> None:
        self._cart, self.terminal = cart, terminal
        self.alert: Callable[[str], object] = alert or (lambda reason: None)
        #: told of a payment left pending with its outcome unknown (:class:`PaymentWatch` asks about it later)
        self.unsettled: Callable[[Any], None] = lambda intent: None
        self._asking = threading.Lock()  # one question to the terminal at a time
        self._refused: set[tuple[str, TerminalReply]] = set()  # answers already audited as not about their payment
        self._clock = clock or time.monotonic
        self._since = self._clock()  # a payment found at start was charged before this
        self._calls = threading.Lock()  # guards the five below
        self._charging: set[str] = set()  # keys whose charge call is under way
        self._ended: dict[str, float] = {}  # key → when its charge call ended
        self._unheard: dict[str, float] = {}  # key → when the terminal first said "never received", past the deadline
        self._released: dict[str, float] = {}  # key → released on "never received" alone: watched until then
        self._held: set[str] = set()  # keys a tap on Pay asks about and settles itself (the lock let go meanwhile)

    @property
    def store(self):
        return self._cart.store

    def ask(self, question: Callable[[Any], TerminalReply], arg: Any) -> TerminalReply:
        """One question to the terminal (``terminal.charge`` or ``terminal.status``). Any failure of the driver but a
        programming error becomes a TerminalError: the terminal did not answer, the outcome is unknown."""
        try:
            with self._asking:
                return question(arg)
        except (TerminalError, *PROGRAMMING_ERRORS):
            raise
        except Exception as exc:
            log.warning("payment terminal %s: %s: %s", self.terminal.describe(), type(exc).__name__, exc)
            raise TerminalError(f"{type(exc).__name__}: {exc}") from exc

    def pay(self, method: str, expected_paise: int | None = None, *, lock=None,
            closed: Callable[[Any], object] | None = None):
        """Charge the open cart and close it as a sale; returns the Sale. Raises CheckoutError when the terminal
        declines or does not answer (nothing is charged twice: the next try asks about the same payment first).
        ``expected_paise``: the total the shopper was shown and agreed to; a bill that is not that total (it changed
        since) is refused before the terminal is asked. None: the caller showed no one an amount (a replay, a tool).

        ``lock``: the service's lock, held to decide what to ask and to settle the answer, never while the terminal
        is asked (seconds at the PIN pad: the scanner, the scale and the camera go on meanwhile); the payment is the
        tap's own in between (:meth:`in_hand`: the watch neither asks about it nor settles it). ``closed(sale)``: run
        under that lock with the sale just closed (the counter starts afresh)."""
        lock = lock if lock is not None else contextlib.nullcontext()
        for _ in range(3):  # a payment already under way, declined or never received meanwhile: then a new one
            with lock:
                step = self._begin(method, expected_paise)
                if not isinstance(step, tuple):  # closed without the terminal: ₹0 due, or approved before
                    return _closed(step, closed)
            intent, charging = step
            try:
                reply = self._ask_about(intent, charging)
            except BaseException:
                self._let_go(intent.idempotency_key)
                raise
            with lock:
                try:
                    sale = self._answer(intent, reply, charging)
                finally:
                    self._let_go(intent.idempotency_key)
                if sale is not None:
                    return _closed(sale, closed)
        raise CheckoutError(f"cart {self._cart.cart.cart_id} already has a payment in progress")

    def _begin(self, method: str, expected_paise: int | None):
        """Under the service's lock: a sale closed without asking the terminal, or ``(intent, charging)``: the
        payment to ask about, now in hand (a new intent to charge, or the one already under way for this cart)."""
        cart = self._cart.cart
        if not cart.lines:
            raise CheckoutError("nothing to pay: the cart is empty")
        if cart.bill().gross <= 0:  # every line priced at ₹0 by staff: no terminal takes ₹0, the store keeps none
            raise CheckoutError("the bill is ₹0.00: there is nothing to charge; staff void the cart")
        if expected_paise is not None:
            check_shown(expected_paise, cart.bill().total)
        if cart.bill().total <= 0:  # 1-49 paise, rounded to the rupee (as every bill is): ₹0 due, nothing to charge
            log.info("cart %s: gross %d paise rounds to ₹0: closed with nothing charged", cart.cart_id,
                     cart.bill().gross)
            return self._cart.pay(method, payment_ref="")
        live = self.store.live_payment(cart.cart_id)
        if live is not None and live.state == "approved":
            return self._complete(live.idempotency_key)
        with self._calls:  # the watch sees the new intent only as charging: it asks nothing while the call lasts
            if live is not None and (live.idempotency_key in self._held or live.idempotency_key in self._charging):
                raise CheckoutError(f"cart {cart.cart_id} already has a payment in progress")
            intent = live or self.store.begin_payment(cart.cart_id, cart.bill().total, method, self.terminal.key)
            if live is None:
                self._charging.add(intent.idempotency_key)
            self._held.add(intent.idempotency_key)
        return intent, live is None

    def _ask_about(self, intent, charging: bool) -> TerminalReply:
        """Outside the service's lock: the charge of a new payment, or the status of the one under way."""
        if not charging:
            try:
                return self._enquire(intent.idempotency_key)
            except TerminalError as exc:
                self.unsettled(intent)
                raise CheckoutError(f"a payment of {format_inr(intent.amount)} is waiting for the terminal, which "
                                    f"does not answer ({exc}); ask staff") from None
        try:
            return self._charge(intent)
        except TerminalError as exc:
            self.unsettled(intent)
            raise CheckoutError(f"the payment terminal did not answer ({exc}); the payment of "
                                f"{format_inr(intent.amount)} is kept and checked again, never charged twice") from None
        except BaseException:
            self.unsettled(intent)  # a bug in the driver: what the terminal did is unknown all the same
            raise

    def _answer(self, intent, reply: TerminalReply, charging: bool):
        """Under the service's lock: the terminal's answer applied; the sale, or None: pay anew (the payment under
        way was declined before this tap, or never reached the terminal)."""
        if not charging:
            outcome, sale = self.apply(intent, reply, "never reached the terminal")
            return self._settled(intent, reply, outcome, sale, declined_is_final=False)
        undecided = reply.status is ChargeStatus.NOT_FOUND  # said of the request it answers: asked about later
        outcome, sale = self.apply(intent, TerminalReply(ChargeStatus.PENDING) if undecided else reply)
        return self._settled(intent, reply, outcome, sale, declined_is_final=True)

    def in_hand(self, key: str) -> bool:
        """A tap on Pay is asking the terminal about the payment ``key`` and settles it itself."""
        with self._calls:
            return key in self._held

    def _let_go(self, key: str) -> None:
        with self._calls:
            self._held.discard(key)

    def _charge(self, intent) -> TerminalReply:
        """The charge call; when it ends (answered, failed or timed out at the driver) is when the terminal's own
        longest transaction starts counting (see :meth:`_may_release`)."""
        try:
            return self.ask(self.terminal.charge, ChargeRequest(intent.idempotency_key, intent.amount,
                                                                intent.method, intent.cart_id))
        finally:
            with self._calls:
                self._charging.discard(intent.idempotency_key)
                self._ended[intent.idempotency_key] = self._clock()

    def enquire(self, key: str) -> TerminalReply | None:
        """What became of the payment ``key``, asked outside the service's lock: its status; a "never received" is
        followed by a cancel of the key where the terminal has one (its answer is returned then: CANCELLED, or the
        outcome decided meanwhile). None: its charge call is still under way, nothing was asked. TerminalError: the
        terminal did not answer."""
        with self._calls:
            if key in self._charging or key in self._held:
                return None
        return self._enquire(key)

    def _enquire(self, key: str) -> TerminalReply:
        reply = self.ask(self.terminal.status, key)
        if reply.status is not ChargeStatus.NOT_FOUND or reply.mismatch(key, 0, "") is not None:
            return reply
        try:
            cancelled = self.ask(self.terminal.cancel, key)
        except TerminalError as exc:  # the cancel may or may not have reached it: the deadline decides instead
            log.warning("payment %s: cancelling it at the terminal failed (%s)", key, exc)
            return reply
        return reply if cancelled is None else cancelled

    def _may_release(self, key: str) -> bool:
        """May a "never received" release the payment ``key``, which the terminal did not cancel? Only once the
        terminal can no longer approve it: its own longest transaction has passed since the charge call ended
        (since this start, plus the driver's deadline, for a payment charged before it), and it said so twice,
        :attr:`confirm_s` apart."""
        now, most = self._clock(), self._seconds("max_transaction_s")
        with self._calls:
            ended = self._ended.get(key)
            deadline = (ended + most if ended is not None else self._since + self._seconds("timeout_s") + most)
            if key in self._charging or now < deadline:
                self._unheard.pop(key, None)
                return False
            first = self._unheard.setdefault(key, now)
            if now - first < self.confirm_s:
                return False
            self._released[key] = now
            return True

    def _seconds(self, name: str) -> float:
        value = getattr(self.terminal, name, None)
        default = getattr(PaymentTerminal, name)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")
        return float(value) if ok else default

    def _settled(self, intent, reply: TerminalReply, outcome: str, sale, *, declined_is_final: bool):
        """The sale of an :meth:`apply` outcome, or the refusal the shopper reads (None: pay anew: the payment was
        declined before this tap, or never reached the terminal)."""
        if outcome == "completed":
            return sale
        if outcome in ("mismatch", "pending"):
            self.unsettled(intent)
        if outcome == "mismatch":
            raise CheckoutError(f"the terminal's answer does not match the payment of {format_inr(intent.amount)}: "
                                f"the sale is not closed and staff is called")
        if outcome in ("declined", "cancelled") and declined_is_final:  # cancelled: a key voided before its charge
            raise CheckoutError(f"payment declined: {reply.message or 'by the terminal'}")
        if outcome != "pending":
            return None
        raise CheckoutError(f"the terminal has not confirmed the payment of {format_inr(intent.amount)} yet "
                            f"({reply.status.value}); tap Pay again to check")

    def apply(self, intent, reply: TerminalReply | None, cancel_note: str = "never reached the terminal"):
        """Settle the payment ``intent`` from the terminal's answer about it (None: it is approved, only its sale is
        missing); the caller holds the service's lock. Returns ``(outcome, sale)``: ``completed`` (with the sale),
        ``declined``, ``cancelled`` (cancelled at the terminal, or never received and the terminal can no longer
        approve it: :meth:`_may_release`), ``pending`` (undecided, or "never received" too early to believe),
        ``mismatch`` (the answer is about another payment: audited, staff called, nothing changes), ``late`` (an
        approval of a payment already released: recorded, staff called) or ``gone`` (settled meanwhile)."""
        outcome, sale = self._decide(intent, reply, cancel_note)
        if outcome not in ("pending", "mismatch"):
            with self._calls:  # settled: its deadlines are no longer needed
                self._ended.pop(intent.idempotency_key, None)
                self._unheard.pop(intent.idempotency_key, None)
        return outcome, sale

    def _decide(self, intent, reply: TerminalReply | None, cancel_note: str):
        key = intent.idempotency_key
        now = self.store.payment(key)
        if now is None or now.state not in LIVE_STATES:
            return self._after_release(now, reply), None
        if now.state == "approved":
            return "completed", self._complete(key)
        if reply is None or reply.status is ChargeStatus.PENDING or (
                reply.status is ChargeStatus.APPROVED and not reply.approved):
            with self._calls:
                self._unheard.pop(key, None)  # "never received" twice means twice in a row
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
        if reply.status is ChargeStatus.CANCELLED:
            self.store.cancel_payment(key, f"cancelled at the terminal: {cancel_note}")
            return "cancelled", None
        if not self._may_release(key):  # NOT_FOUND, while the terminal may still approve it
            return "pending", None
        self.store.cancel_payment(key, f"{cancel_note}: said twice after the terminal's longest transaction")
        return "cancelled", None

    def _after_release(self, intent, reply: TerminalReply | None) -> str:
        """An answer about a payment no longer live: ``late`` when it is an approval of one released as not
        charged (recorded on it, audited, staff called once; no cart is closed with it), else ``gone``."""
        if (intent is None or reply is None or not reply.approved or intent.state not in ("cancelled", "declined")
                or reply.mismatch(intent.idempotency_key, intent.amount, intent.cart_id) is not None):
            return "gone"
        with self._calls:
            self._released.pop(intent.idempotency_key, None)
        if intent.approval_ref != reply.approval_ref:
            log.error("payment %s of %s for cart %s was approved (%s) after its cart was released: refund or "
                      "collect", intent.intent_id, format_inr(intent.amount), intent.cart_id, reply.approval_ref)
            self.store.record_late_approval(intent.idempotency_key, reply.approval_ref)
            self.alert(LATE_CALL)
        return "late"

    def released(self) -> list:
        """The payments released on "never received" alone (the terminal did not cancel them) whose approval could
        still come late: :class:`PaymentWatch` asks about them for ``timeout_s + max_transaction_s`` more."""
        now, window = self._clock(), self._seconds("timeout_s") + self._seconds("max_transaction_s")
        with self._calls:
            for key in [k for k, at in self._released.items() if now - at > window]:
                del self._released[key]
            keys = list(self._released)
        return [p for p in map(self.store.payment, keys) if p is not None]

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
                    reply = self.enquire(intent.idempotency_key)
                except Exception as exc:  # a bug in the driver too: the kiosk starts all the same, and asks again
                    log.warning("payment %s: the terminal does not answer (%s); left pending", intent.intent_id, exc,
                                exc_info=not isinstance(exc, TerminalError))
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


def _closed(sale, closed: Callable[[Any], object] | None):
    if closed is not None:
        closed(sale)
    return sale


def check_shown(shown: int, total: int) -> None:
    """The total the shopper was shown (``shown``, paise) is the bill's ``total``, or a one-line refusal."""
    if isinstance(shown, bool) or not isinstance(shown, int):
        raise CheckoutError(f"the amount shown must be whole paise, got {type(shown).__name__}")
    if shown != total:
        raise CheckoutError(f"the bill is now {format_inr(total)}, not the {format_inr(shown)} shown: check it and "
                            f"pay again")


def pauses(first_s: float, most_s: float) -> Iterator[float]:
    """The pauses between two questions about an unsettled payment: ``first_s``, doubling up to ``most_s``."""
    pause = first_s
    while True:
        yield pause
        pause = min(pause * 2, most_s)


class PaymentWatch:
    """Asks the terminal again about every payment whose outcome is unknown, on a thread of its own (see the module
    docstring), until none is left; :meth:`arm` (the till calls it) starts it again.

    ``lock``: the service's lock, held while a payment is settled; ``after_sale()`` (under that lock): the counter
    starts afresh after a sale and says what changed (events); ``paid(sale, events)``: the receipt is shown, as after
    a tap on Pay. It starts by itself when a payment is still unsettled when it is made (a start found the terminal
    silent)."""

    #: seconds before the first question about a payment, and the longest pause between two
    first_s, most_s = 1.0, 30.0

    def __init__(self, till: Till, *, lock, emit: Callable[..., None], after_sale: Callable[[], list],
                 paid: Callable[[Any, list], object]) -> None:
        self._till, self._lock, self._emit, self._after_sale, self._paid = till, lock, emit, after_sale, paid
        self._mutex = threading.Lock()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._asked: dict[str, tuple[int, str]] = {}  # key → (questions asked, the last answer)
        self._told: set[str] = set()  # keys whose mismatch the screen was told of
        till.unsettled = self.arm
        if till.store.payments(states=LIVE_STATES):
            self.arm()

    # -- the thread ------------------------------------------------------------------------------------
    def arm(self, intent=None) -> None:
        """A payment's outcome is unknown (``intent``, None: some): ask about it after ``first_s``."""
        if intent is not None:
            self._emit(self._event(intent))
        with self._mutex:
            self._stopping = False
            self._kick.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="payment-watch", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (a later :meth:`arm` starts it again); waits up to ``timeout`` for a question under way."""
        with self._mutex:
            self._stopping = True
            self._kick.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        waits = pauses(self.first_s, self.most_s)
        pause = next(waits)
        while True:
            kicked = self._kick.wait(pause)
            with self._mutex:
                if self._stopping:
                    return
                if kicked:  # (again) a payment just left unsettled: wait first_s from now
                    self._kick.clear()
                    waits = pauses(self.first_s, self.most_s)
                    pause = next(waits)
                    continue
            left = self.check_now()
            with self._mutex:
                if self._stopping or (not left and not self._kick.is_set()):
                    if self._thread is threading.current_thread():
                        self._thread = None
                    return
            pause = next(waits)

    # -- one round -------------------------------------------------------------------------------------
    def check_now(self) -> int:
        """Ask once about every unsettled payment and settle those the terminal decided; how many are left."""
        left = 0
        for intent in self._till.store.payments(states=LIVE_STATES):
            try:
                left += not self._check(intent)
            except Exception:  # a bug in the driver, the store failing: logged, asked again after the next pause
                log.exception("payment %s: checking it in the background failed", intent.intent_id)
                left += 1
        for intent in self._till.released():  # released on "never received" alone: an approval may come late
            left += 1
            try:
                self._check_late(intent)
            except Exception:
                log.exception("payment %s: checking it for a late approval failed", intent.intent_id)
        return left

    def _check_late(self, intent) -> None:
        try:
            reply = self._till.ask(self._till.terminal.status, intent.idempotency_key)
        except TerminalError as exc:
            log.info("payment %s (released): the terminal does not answer (%s)", intent.intent_id, exc)
            return
        with self._lock:
            outcome, _ = self._till.apply(intent, reply)
        if outcome == "late":
            self._emit(self._event(intent, "approved after the cart was released: refund or collect", active=False))

    def _check(self, intent) -> bool:
        """Ask about one payment (outside the service's lock) and settle it (under it); True: it is settled."""
        key, reply = intent.idempotency_key, None
        if intent.state == "pending":
            try:
                reply = self._till.enquire(key)
            except TerminalError as exc:
                log.warning("payment %s: the terminal still does not answer (%s)", intent.intent_id, exc)
                self._emit(self._event(intent, f"no answer: {exc}"))
                return False
            if reply is None:  # its charge call is under way (a tap on Pay): asked about once it has ended
                return False
        with self._lock:
            if self._till.in_hand(key):  # a tap on Pay asks about it now, and settles it itself
                return False
            outcome, sale = self._till.apply(intent, reply, "never reached the terminal (found in the background)")
            events = self._after_sale() if sale is not None else []
        if outcome in ("pending", "mismatch"):
            unheard = reply is not None and reply.status is ChargeStatus.NOT_FOUND
            self._emit(self._event(intent, "does not match this payment" if outcome == "mismatch" else
                                   "never received so far: released once the terminal can no longer approve it"
                                   if unheard else reply.message or reply.status.value))
            if outcome == "mismatch" and key not in self._told:
                self._told.add(key)
                self._emit(Notice("error", f"the terminal's answer does not match the payment of "
                                           f"{format_inr(intent.amount)}: the sale is not closed and staff is called"))
            return False
        log.info("payment %s settled in the background: %s", intent.intent_id, outcome)
        self._emit(self._event(intent, outcome, active=False))
        self._asked.pop(key, None)
        if sale is not None:
            self._paid(sale, events)
        elif outcome == "declined":
            self._emit(Notice("warning", f"the payment of {format_inr(intent.amount)} was declined by the terminal: "
                                         f"the cart can be paid again"))
        elif outcome == "cancelled":
            self._emit(Notice("info", f"the payment of {format_inr(intent.amount)} never reached the terminal: "
                                      f"nothing was charged, the cart can be paid again"))
        return True

    # -- what staff see --------------------------------------------------------------------------------
    def _event(self, intent, answer: str | None = None, *, active: bool = True) -> PaymentPending:
        checks, last = self._asked.get(intent.idempotency_key, (0, ""))
        if answer is not None:  # one more question asked, and what it heard
            checks, last = checks + 1, answer
            self._asked[intent.idempotency_key] = (checks, last)
        return PaymentPending(intent.cart_id, intent.amount, format_inr(intent.amount), intent.created_at, checks,
                              last, active)

    def pending(self) -> list[PaymentPending]:
        """The payments still unsettled, as staff see them (the UI that just connected is sent these)."""
        return [self._event(i) for i in self._till.store.payments(states=LIVE_STATES)]
