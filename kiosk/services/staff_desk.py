"""What staff do at the kiosk once signed in: correct a line to another SKU, void it, override its price, take it off,
reprint a receipt, roll the model back — each within the signed-in person's role (:class:`kiosk.staff.rules.
StaffRules`), or with a supervisor's one-off approval.

Every sign-in, sign-out (done, idle, paid), action and refusal is written to the kiosk's audit log
(:meth:`SalesStore.audit <kiosk.store.audit.AuditMixin.audit>`); the line changes themselves are audited by the
store in the same transaction as the change, and so is the action's own row (``staff.override``, ``staff.remove``,
``staff.void`` -- every void, approved or not --, ``staff.correction``; ``staff.resolve`` for a held item staff let
on the bill, :meth:`~kiosk.services.counter.Counter.resolve_held`) with ``approved_by``, the supervisor whose
approval it needed: a crash never leaves a change without the row that says who made it and who approved it. A
refusal changes nothing: the sale in progress stays as it is. Corrections are stored with the placement photo
(``SalesStore.record_correction``) as labelled data for the next training run; every change keeps the line's
provenance and is committed before it shows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from catalog.model import MAX_PRICE_PAISE
from kiosk.domain.cart import CartLine
from kiosk.domain.money import format_inr
from kiosk.services import not_recognised
from kiosk.services.cart_lines import CartKeeper, weighed_line
from kiosk.services.errors import CheckoutError, RollbackUnfinished, StaffAccountChanged, SupervisorNeeded
from kiosk.services.events import CartChanged, CartView, Notice, StaffModeChanged
from kiosk.services.staff import StaffMember, StaffSession, UnlockResult, ended_text
from kiosk.staff.rules import StaffRules
from kiosk.weighing import Weighing

__all__ = ["StaffDesk", "StaffIntents"]

_REFUSALS = {"kiosk_locked": "too many wrong PINs at this kiosk: try again in {wait} s",
             "locked": "too many wrong PINs: try again in {wait} s",
             "not_supervisor": "an approval needs a supervisor's staff number and PIN",
             "tampered": "this staff account was changed outside the kiosk and cannot sign in: ask the store manager"}


def _approver(approver: StaffMember | None) -> str:
    """An action's ``approved_by``: the staff number of the supervisor whose approval it needed ("": none)."""
    return approver.staff_id if approver is not None else ""


class StaffDesk:
    def __init__(self, session: StaffSession, cart: CartKeeper, *, active_sku: Callable[[str], Any],
                 weighing: Weighing, lock: threading.RLock, cart_view: Callable[[], CartView],
                 emit: Callable[..., None], clock: Callable[[], datetime], pin_configured: bool,
                 rules: StaffRules | None = None, audit: Callable[..., Any] | None = None) -> None:
        self.session, self._cart, self._active_sku, self._weighing = session, cart, active_sku, weighing
        self._lock, self._cart_view, self._emit, self._clock = lock, cart_view, emit, clock
        self._pin_configured = pin_configured
        self.rules = rules or StaffRules()
        self._audit = audit or getattr(cart.store, "audit", lambda *a, **k: None)
        self.rollback: Callable[..., tuple[int | None, int]] | None = None  # the service sets it (model_state)

    # -- signing in and out ---------------------------------------------------------------------------------------
    def _mode_event(self, reason: str = "") -> StaffModeChanged:
        m = self.session.member
        open_ = self.session.is_open()[0]
        return StaffModeChanged(open_, m.staff_id if m and open_ else "", m.name if m and open_ else "",
                                m.role if m and open_ else "", reason)

    @property
    def unlocked(self) -> bool:
        """Whether a session is open; one that timed out, or whose person's account changed since the sign-in, ends
        here (announced, audited)."""
        if not self._still_open():
            return False
        changed = self.session.account_changed()
        if changed is not None:
            self._account_changed(*changed)
            self._emit(Notice("warning", ended_text(changed[1])))
            return False
        return True

    def _still_open(self) -> bool:
        unlocked, timed_out = self.session.is_open()
        if timed_out:
            self._audit("staff.signout", self.session.staff_id, reason="idle")
            self._emit(StaffModeChanged(False, reason="idle"))
        return unlocked

    def _account_changed(self, member: StaffMember, why: str) -> None:
        """The session ended because ``member``'s account changed (``why``): audited and announced."""
        self._audit("staff.signout", member.staff_id, reason="account_changed", change=why)
        self._emit(StaffModeChanged(False, reason="account_changed"))

    def _refusal_text(self, result: UnlockResult) -> str:
        if result.reason in _REFUSALS:
            return _REFUSALS[result.reason].format(wait=result.wait_s)
        if not self.session.sign_in.personal and not self._pin_configured:
            return "no staff PIN is configured: add staff with `checkout staff add`"
        return "wrong staff number or PIN" if self.session.sign_in.personal else "wrong staff PIN"

    def _known(self, staff_id: str) -> str:
        """The staff number as typed when it names an account (never anything else typed at the pad: a PIN typed into
        the number field stays out of the audit log); before any account exists, the shared PIN's ``staff``."""
        accounts = self.session.sign_in._accounts
        if self.session.sign_in.personal:
            return staff_id if accounts.staff_account(staff_id) is not None else "unknown"
        return "staff"

    def unlock(self, pin: str, staff_id: str = "staff") -> bool:
        was = self.session.member if self.unlocked else None
        result = self.session.unlock(pin, staff_id)
        if result.ok:
            m = result.member
            if was is not None and was.staff_id != m.staff_id:
                self._audit("staff.signout", was.staff_id, reason="switched", to=m.staff_id)
            shared = {} if m.stamp else {"shared_pin": True}  # no account behind it: whoever knows the shared PIN
            self._audit("staff.signin", m.staff_id, name=m.name, role=m.role, **shared)
            self._emit(self._mode_event())
        else:
            self._audit("staff.signin_refused", self._known(staff_id), reason=result.reason, wait_s=result.wait_s)
            self._emit(Notice("warning", self._refusal_text(result)))
        return result.ok

    def approve(self, pin: str, staff_id: str) -> bool:
        """A supervisor approves the next action of this session (their staff number and PIN)."""
        who = self.require()
        result = self.session.approve(pin, staff_id)
        if result.ok:
            self._audit("staff.approval", result.member.staff_id, session=who, name=result.member.name)
            self._emit(Notice("info", f"approved by {result.member.name}: go ahead"))
        else:
            self._audit("staff.approval_refused", self._known(staff_id), session=who, reason=result.reason,
                        wait_s=result.wait_s)
            self._emit(Notice("warning", self._refusal_text(result)))
        return result.ok

    def lock(self, reason: str = "done") -> None:
        who = self.session.staff_id
        if self.session.lock():
            self._audit("staff.signout", who, reason=reason)
            self._emit(StaffModeChanged(False, reason=reason))

    def signed_out(self, reason: str) -> bool:
        """End the session without an event (the caller sends it with others); audited. Whether one was open."""
        who = self.session.staff_id
        if not self.session.lock():
            return False
        self._audit("staff.signout", who, reason=reason)
        return True

    def require(self, action: str = "", paise: int = 0) -> str:
        """The staff id of the open session, allowed to do ``action`` (worth ``paise``): raises StaffLocked when
        nobody is signed in, SupervisorNeeded (audited) when the role may not and no supervisor approved — a plain
        CheckoutError under the shared PIN, where no staff account, so no supervisor, exists to approve it."""
        return self.authorize(action, paise)[0].staff_id

    def authorize(self, action: str, paise: int = 0, **what: Any) -> tuple[StaffMember, StaffMember | None]:
        """``(who, approving supervisor or None)`` for ``action``; see :meth:`require`."""
        self._still_open()  # announces a time-out
        try:
            member = self.session.touch_member()  # the account read again: changed since the sign-in, it ends
        except StaffAccountChanged as exc:
            self._account_changed(self.session.member, exc.reason)
            raise
        why = self.rules.refusal(member.role, action, paise) if action else None
        if why is None:
            return member, None
        approver, changed = self.session.take_approval()
        if approver is not None and changed:
            self._audit("staff.approval_dropped", approver.staff_id, session=member.staff_id, change=changed,
                        action=action)
        elif approver is not None:
            return member, approver
        self._audit("staff.refused", member.staff_id, action=action, role=member.role, paise=paise, reason=why,
                    **what)
        if not self.session.sign_in.personal:  # no staff account yet: no supervisor who could approve it
            raise CheckoutError(f"{why}: the shared staff PIN has no supervisor to approve it: ask the store manager "
                                "to add staff accounts")
        raise SupervisorNeeded(f"{why}: ask a supervisor to approve", action)

    # -- actions on lines ------------------------------------------------------------------------------------------
    def _chain(self, line: CartLine) -> tuple[CartLine, ...]:
        """``line`` and the lines it stands in for, the first first: the limits judge a change against the first."""
        return self._cart.cart.chain(line)

    def _weighed(self, old: CartLine, before: Any, sku: Any) -> tuple[CartLine, tuple[int, int] | None]:
        """By-weight ``sku`` in place of ``old``: the same load, netted with ``sku``'s tare as choosing ``sku`` would
        (:func:`weighed_line`): the gross and chosen tare stored with ``old``; a scanned label's weight (stored without
        them: already net) as it is; else the placement's scale reading, or the load on the scale now."""
        stored = self._cart.store.weighing_of(old.line_id)
        if stored is not None:
            return weighed_line(sku, *stored, self._weighing.rules)
        if old.net_grams:  # a label's printed net weight (or a line from before gross weights were stored)
            return CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, old.net_grams), None
        if before is not None and before.scale_grams:  # the placement's load, less the chosen tare of the time
            return weighed_line(sku, before.scale_grams, 0, self._weighing.rules)
        net = self._weighing.net()  # the load no line claimed (the increase over a claimed one)
        if not net.priceable:
            raise CheckoutError(f"{sku.name} is sold by weight: put it on the scale, then correct again")
        return weighed_line(sku, net.gross, self._weighing.chosen_tare_grams, self._weighing.rules)

    def correct(self, line_id: str, new_sku: str) -> str:
        """The item of ``line_id`` is really ``new_sku``: replace the line, record the correction (one store
        transaction). One that lowers the bill (this step, or the line's changes added up) by more than an
        assistant's limit needs a supervisor."""
        self.require()
        with self._lock:
            old = self._cart.open_line(line_id)
            sku = self._active_sku(new_sku)
            before = self._cart.provenance(line_id)
            weighed = None
            if sku.by_weight:
                new, weighed = self._weighed(old, before, sku)
            else:
                new = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, old.qty or 1)
            change = self.rules.bill_change(self._chain(old), new, "correct")
        member, approver = self.authorize("correct", change, line_id=line_id, sku=old.sku, new_sku=sku.sku)
        who = member.staff_id
        with self._lock:
            correction = {"recognised_sku": (before.recognised_sku if before else None) or old.sku,
                          "corrected_sku": sku.sku, "image_path": before.image_path if before else "",
                          "when": self._clock(), "approved_by": _approver(approver)}
            stored = self._cart.replace(line_id, new, who, weighed=weighed, correction=correction)
            view = self._cart_view()
        self._emit(CartChanged(view), Notice("info", f"corrected {old.name} → {sku.name}"))
        return stored.line_id

    def standing_for(self, line_id: str) -> CartLine | None:
        """The line on the bill that stands for ``line_id`` now (itself, or what staff put in its place), or None."""
        with self._lock:
            return self._cart.current(line_id)

    def worth(self, line: CartLine) -> int:
        """What taking ``line`` off takes off the bill, to the limits (the most it was worth, through its chain)."""
        with self._lock:
            return self.rules.line_worth(self._chain(line))

    def reprint(self, make: Callable[[str], Any]) -> str:
        """A duplicate receipt, made by ``make(who)`` (a ``kiosk.store.receipts.Reprint``); staff only."""
        who = self.require("reprint")
        copy = make(who)
        self._emit(Notice("info", f"receipt {copy.sale.receipt_no} reprinted (copy {copy.copy}) by {who}"))
        return copy.text

    def day_report(self, make: Callable[[str], str]) -> str:
        """The day's takings as printed (``make(who)``); a supervisor's (or with one's approval), audited."""
        who, approver = self.authorize("day_report")
        text = make(who.staff_id)
        self._audit("staff.day_report", who.staff_id, **({"approved_by": approver.staff_id} if approver else {}))
        return text

    def void(self, line_id: str) -> None:
        """Void a line: it takes the line off the bill like a removal, so above the rules' value (the most the line
        was worth, through the lines it replaced) only a supervisor, or with one's approval."""
        self.require()
        with self._lock:
            line = self._cart.open_line(line_id)
            worth = self.rules.line_worth(self._chain(line))
        member, approver = self.authorize("void", worth, line_id=line_id, name=line.name)
        row = ("staff.void", member.staff_id, {"line_id": line_id, "name": line.name, "total": line.total,
                                               "worth": worth, "approved_by": _approver(approver)})
        with self._lock:  # the void and its row (approved or not: every void has one): one store transaction
            self._cart.void(line_id, by=member.staff_id, audit_with=[row])
            view = self._cart_view()
        self._emit(CartChanged(view))

    def remove(self, line_id: str) -> None:
        """Staff takes a line off the bill (a shopper's removal they approve); above the rules' value only a
        supervisor (or with one's approval)."""
        self.require()
        with self._lock:
            line = self._cart.open_line(line_id)
            worth = self.rules.line_worth(self._chain(line))
        member, approver = self.authorize("remove", worth, line_id=line_id, name=line.name)
        row = ("staff.remove", member.staff_id, {"line_id": line_id, "name": line.name, "total": line.total,
                                                 "approved_by": _approver(approver)})
        with self._lock:  # the removal and its row: one store transaction
            self._cart.remove(line_id, by=member.staff_id, audit_with=[row])
            view = self._cart_view()
        self._emit(CartChanged(view), Notice("info", f"{line.name} taken off by {member.name}"))

    def override_price(self, line_id: str, paise: int) -> str:
        """Re-price a line (``paise`` per unit, or per kg for weighed lines, at most the catalog's MAX_PRICE_PAISE); the
        old line is voided."""
        self.require()
        if isinstance(paise, bool) or not isinstance(paise, int) or paise < 0:
            raise CheckoutError(f"price override must be whole paise >= 0, got {paise!r}")
        if paise > MAX_PRICE_PAISE:  # the catalog's own limit (a typo past it overflowed a 32-bit signal, SQLite)
            raise CheckoutError(f"a price override is at most {format_inr(MAX_PRICE_PAISE)}")
        with self._lock:
            old = self._cart.open_line(line_id)
            new = CartLine(line_id=uuid.uuid4().hex, sku=old.sku, name=old.name, sold_by=old.sold_by,
                           unit_price=paise, gst_bp=old.gst_bp, qty=old.qty, net_grams=old.net_grams)
            judged = self.rules.bill_change(self._chain(old), new, "override")  # this step's, or added up
        change = new.total - old.total
        member, approver = self.authorize("override", judged, line_id=line_id, sku=old.sku,
                                          old_price=old.unit_price, new_price=paise)
        row = ("staff.override", member.staff_id, {"line_id": line_id, "new_line_id": new.line_id, "sku": old.sku,
                                                   "old_price": old.unit_price, "new_price": paise, "change": change,
                                                   "judged": judged, "approved_by": _approver(approver)})
        with self._lock:  # the new line, the void and the override's row: one store transaction
            stored = self._cart.replace(line_id, new, member.staff_id, audit_with=[row],
                                        weighed=self._cart.store.weighing_of(line_id) if old.net_grams else None)
            view = self._cart_view()
        self._emit(CartChanged(view), Notice("info", f"{old.name}: price {format_inr(old.unit_price)} → "
                                                     f"{format_inr(paise)} by {member.name}"))
        return stored.line_id

    # -- the model ---------------------------------------------------------------------------------------------
    def rollback_model(self, reason: str = "") -> int:
        """Roll the recognition model back to the previous installed version (supervisors); returns it. Its
        ``model.rollback`` row is written before the model store changes anything (:func:`~kiosk.services.
        model_updates.model_rollback`): one that fails after it is called off (``model.rollback_failed``, the same
        ``rollback_id``), one the store made but the kiosk could not load now says so
        (``model.rollback_unfinished``)."""
        if self.rollback is None:
            self.require()
            raise CheckoutError("this kiosk runs a plain bundle (no model_state): there is nothing to roll back to")
        member, approver = self.authorize("rollback")
        why = reason.strip() or "rolled back from staff mode"
        began: list[str] = []  # the rollback_id of the row written

        def record(intent: dict) -> dict:
            row = self._audit("model.rollback", member.staff_id, from_version=intent["from"],
                              to_version=intent["to"], reason=why, approved_by=_approver(approver),
                              rollback_id=intent["id"])
            began.append(intent["id"])
            return {"audit_seq": row["seq"]} if isinstance(row, dict) else {}

        try:
            before, now = self.rollback(f"{member.staff_id} ({member.name})", why, record)
        except RollbackUnfinished as exc:  # made in the model store: the row stands
            self._audit("model.rollback_unfinished", member.staff_id, reason=str(exc)[:300],
                        **{"rollback_id": began[0]} if began else {})
            raise
        except Exception as exc:  # refused (nothing older, not verified, the row not written) or failed after it
            self._audit("model.rollback_failed", member.staff_id, reason=str(exc)[:300],
                        **{"rollback_id": began[0]} if began else {})
            raise CheckoutError(f"rollback refused: {exc}") from None
        self._emit(Notice("info", f"model rolled back from v{before} to v{now} by {member.name}"))
        return now


class StaffIntents:
    """The staff intents of :class:`~kiosk.services.checkout.CheckoutService` (its ``_desk``, ``_counter``,
    ``_attendant``, and for receipts ``_till``, ``_receipts`` and ``_clock``)."""

    _desk: StaffDesk
    _attendant: Any  # kiosk.services.attendant.Attendant
    _till: Any  # kiosk.services.paying.Till
    _receipts: Any  # kiosk.services.printing.ReceiptDesk
    _clock: Callable[[], datetime]

    # -- receipts (staff) ------------------------------------------------------------------------------------------
    def staff_reprint(self, receipt_no: str | None = None) -> str:
        """Staff: a marked duplicate of ``receipt_no`` (None: the last sale), recorded with who asked."""
        return self._desk.reprint(lambda who: self._till.reprint(receipt_no, who))

    def _store_today(self):
        """Today in the store's time zone (``store_timezone``; none: this process's local zone, as the store writes),
        whatever zone the clock's reading is in."""
        return self._clock().astimezone(self.config.tz).date()

    def staff_receipts_today(self) -> list:
        """Staff: today's receipts, newest first (``receipt_no, time, items, total, payment_method``), to reprint
        one."""
        self._desk.require("reprint")
        return self._till.receipts_of(self._store_today())

    # -- today's placements nobody labelled (kiosk.services.not_recognised) -----------------------------------------
    def staff_not_recognised_today(self) -> list:
        """Staff: today's placements nobody labelled whose crop is kept, newest first (``UnlabelledView``)."""
        self._desk.require()
        return not_recognised.today(self.store, self._shelf.find, self._clock(), self.config.tz)

    def staff_label_placement(self, placement_id: str, sku: str) -> str:
        """Staff: that placement was ``sku`` (active in the catalog): a staff-trusted label, sent to head office."""
        return not_recognised.label(self._desk, self.store, self._shelf.active, self._emit, placement_id, sku)

    def staff_not_a_product(self, placement_id: str) -> None:
        """Staff: that placement was no product: kept out of training."""
        not_recognised.not_a_product(self._desk, self.store, self._emit, placement_id)

    def staff_day_report(self, print_it: bool = False) -> str:
        """Staff (a supervisor): today's takings, as the end-of-day report prints them (``checkout receipt day``);
        ``print_it``: on the receipt printer too."""
        def make(who: str) -> str:
            text = self._till.takings_text(self._store_today())
            if print_it:
                self._receipts.print_document(text, "day_report", who)
            return text

        return self._desk.day_report(make)

    @property
    def can_print(self) -> bool:
        """A receipt printer is set up at this kiosk."""
        return self._receipts.available

    @property
    def staff_unlocked(self) -> bool:
        return self._desk.unlocked

    @property
    def staff_member(self) -> StaffMember | None:
        """Who is signed in (None when staff mode is locked)."""
        return self._desk.session.member if self._desk.unlocked else None

    @property
    def staff_accounts_in_use(self) -> bool:
        """True once staff accounts exist: sign-in takes a staff number and a personal PIN."""
        return self._desk.session.sign_in.personal

    def staff_lock(self) -> None:
        self._desk.lock()

    def staff_approve(self, pin: str, staff_id: str) -> bool:
        """A supervisor approves the next action above the signed-in person's role (one action, a minute)."""
        return self._desk.approve(pin, staff_id)

    def staff_correct(self, line_id: str, new_sku: str) -> str:
        new = self._desk.correct(line_id, new_sku)
        self._attendant.replaced(line_id, new)  # a removal waiting for the line follows it
        return new

    def staff_void(self, line_id: str) -> None:
        self._desk.void(line_id)

    def staff_remove_line(self, line_id: str) -> None:
        """Staff takes a line off (above ``[staff] supervisor_removal_above_paise``: a supervisor)."""
        self._desk.remove(line_id)

    def staff_override_price(self, line_id: str, paise: int) -> str:
        new = self._desk.override_price(line_id, paise)
        self._attendant.replaced(line_id, new)  # a removal waiting for the line follows it
        return new

    def staff_rollback_model(self, reason: str = "") -> int:
        """Supervisors: the previous installed model version becomes active (swapped in between two frames)."""
        return self._desk.rollback_model(reason)

    def staff_resolve(self, approve: bool) -> str | None:
        """Staff decides on the item the scale disagreed with (StaffCalled): add it or not."""
        return self._counter.resolve_held(approve, self._desk.require("resolve"))
