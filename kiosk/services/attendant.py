"""What needs the attendant: the shopper's Help button, and removing a line worth more than a set value.

* **Help**: :meth:`Attendant.call` raises a call (``HelpCallChanged(active=True)``) that stays up until the shopper
  cancels it or staff answers it — unlocking staff mode at the kiosk answers it. Each step is audited.
* **Removals**: every removal is confirmed on screen first; a line worth more than ``approval_above`` paise is not
  removed at once but held (``RemovalPending``, and staff is called) until staff approves or refuses it, or the
  shopper keeps the item (``RemovalDecided``; the call ends too); payment waits meanwhile. Requests and decisions
  are audited with who made them; an approved removal's ``removal_approved`` row (with ``approved_by``, the
  supervisor whose approval it needed) is written in the removal's own store transaction.
* A removal is about the item, not the row: when staff correct or re-price the line meanwhile, the waiting removal
  follows the line that took its place (announced again with ``RemovalPending``), and approving it takes that line
  off — the shopper asked for the item to go, and a changed price does not change that. When staff voided or took
  the line off meanwhile, approving it removes nothing more. A voided line itself is never removed (it is the record
  of what the line was: the first price the staff limits and the receipt go by).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain.money import format_inr
from kiosk.services import audit
from kiosk.services.errors import CheckoutError
from kiosk.services.events import HelpCallChanged, Notice, RemovalDecided, RemovalPending

__all__ = ["Attendant", "HelpCall", "PendingRemoval", "REMOVAL_CALL"]

#: the reason of the help call a removal that waits for staff raises by itself
REMOVAL_CALL = "removal approval"


@dataclass(frozen=True)
class HelpCall:
    since: datetime
    reason: str


@dataclass(frozen=True)
class PendingRemoval:
    line_id: str
    name: str
    total: int


class Attendant:
    """``store``: where the audit rows go; ``line``: a cart line by id (raises for an unknown one); ``remove(line_id,
    by, audit_with)`` takes a line off the bill with those audit rows; ``staff``: the staff desk
    (:class:`~kiosk.services.staff_desk.StaffDesk`: ``require``, ``authorize``, ``standing_for``, ``worth``)."""

    def __init__(self, *, store: Any, line: Callable[[str], Any], remove: Callable[..., None], staff: Any,
                 emit: Callable[..., None], clock: Callable[[], datetime], approval_above: int) -> None:
        self._store, self._line, self._remove, self._staff = store, line, remove, staff
        self._emit, self._clock, self.approval_above = emit, clock, approval_above
        self._mutex = threading.Lock()
        self.help: HelpCall | None = None
        self.removal: PendingRemoval | None = None

    # -- help -------------------------------------------------------------------------------------
    def call(self, reason: str = "help") -> bool:
        """The shopper asked for help; False when a call is already up (nothing changes)."""
        with self._mutex:
            if self.help is not None:
                return False
            self.help = HelpCall(self._clock(), str(reason or "help")[:40])
            call = self.help
        audit.record(self._store, "help_called", "shopper", reason=call.reason)
        self._emit(HelpCallChanged(True, call.reason, call.since.isoformat()))
        return True

    def cancel(self) -> None:
        """The shopper no longer needs help."""
        self._end("shopper", "help_cancelled")

    def answered(self, who: str) -> bool:
        """Staff unlocked the kiosk: a call that was up is answered by ``who``. Always True (for chaining)."""
        self._end(who, "help_answered")
        return True

    def _end(self, who: str, action: str) -> None:
        with self._mutex:
            call, self.help = self.help, None
        if call is None:
            return
        waited = max(0, round((self._clock() - call.since).total_seconds()))
        audit.record(self._store, action, who, reason=call.reason, waited_s=waited)
        self._emit(HelpCallChanged(False, call.reason, call.since.isoformat(), who))

    # -- removals ---------------------------------------------------------------------------------
    def remove(self, line_id: str) -> bool:
        """The shopper confirmed removing ``line_id``: removed now (True), or held for a staff approval (False)."""
        try:
            line = self._line(line_id)
        except (KeyError, ValueError):  # CartError: not in the open cart
            raise CheckoutError(f"no line {line_id!r} in the open cart") from None
        if line.voided:  # off the bill already: kept as the record of what it was
            raise CheckoutError(f"line {line_id!r} is voided")
        if line.total <= self.approval_above:
            self._remove(line_id, "shopper")
            return True
        with self._mutex:
            if self.removal is not None and self.removal.line_id != line_id:
                raise CheckoutError(f"staff is already asked to remove {self.removal.name}: wait for them")
            self.removal = PendingRemoval(line_id, line.name, line.total)
        audit.record(self._store, "removal_requested", "shopper", line_id=line_id, name=line.name, total=line.total)
        self._emit(RemovalPending(line_id, line.name, format_inr(line.total), line.total),
                   Notice("warning", f"staff must approve removing {line.name} ({format_inr(line.total)})"))
        self.call(REMOVAL_CALL)  # the attendant's light goes on: someone must come and approve
        return False

    def keep(self) -> None:
        """The shopper keeps the item after all (a pending removal is dropped)."""
        with self._mutex:
            pending, self.removal = self.removal, None
        if pending is not None:
            audit.record(self._store, "removal_withdrawn", "shopper", line_id=pending.line_id, name=pending.name)
            self._emit(RemovalDecided(pending.line_id, False, "shopper"))
            if self.help is not None and self.help.reason == REMOVAL_CALL:
                self._end("shopper", "help_cancelled")  # the call was for that approval only

    def decide(self, approve: bool) -> None:
        """Staff approves (the line now standing for the one the shopper asked about is removed) or refuses the
        pending removal; approving one worth more than the ``[staff]`` rules allow an assistant needs a supervisor
        (``SupervisorNeeded``, audited), whose staff number the ``removal_approved`` row names (``approved_by``)."""
        waiting = self.removal
        line = self._staff.standing_for(waiting.line_id) if approve and waiting else None
        if line is not None:
            member, approver = self._staff.authorize("remove", self._staff.worth(line), line_id=line.line_id,
                                                     name=line.name)
            who, approved_by = member.staff_id, approver.staff_id if approver is not None else ""
        else:
            who, approved_by = self._staff.require(), ""
        with self._mutex:
            pending, self.removal = self.removal, None
        if pending is None:
            raise CheckoutError("no removal is waiting for a staff approval")
        detail = {"line_id": pending.line_id, "name": pending.name, "total": pending.total}
        if not approve:
            audit.record(self._store, "removal_refused", who, **detail)
        elif line is None:  # staff voided or took it off meanwhile: nothing on the bill is left to remove
            audit.record(self._store, "removal_approved", who, **detail, removed="", approved_by=approved_by)
        else:
            row = ("removal_approved", who, {**detail, "removed": line.line_id, "approved_by": approved_by})
            try:
                self._remove(line.line_id, f"shopper, approved by {who}", audit_with=[row])
            except BaseException:
                with self._mutex:  # still waiting (the bill could not change): staff may try again
                    self.removal = self.removal or pending
                raise
        self._emit(RemovalDecided(pending.line_id, bool(approve), who))

    def replaced(self, line_id: str, new_line_id: str) -> None:
        """Staff put ``new_line_id`` in the place of ``line_id`` (a correction, a price override): a removal waiting
        for ``line_id`` now waits for the new line, announced again (name and price as they are now)."""
        line = self._line(new_line_id)
        with self._mutex:
            if self.removal is None or self.removal.line_id != line_id:
                return
            self.removal = PendingRemoval(line.line_id, line.name, line.total)
        self._emit(RemovalPending(line.line_id, line.name, format_inr(line.total), line.total))

    def refuse_payment(self) -> None:
        """Payment waits while a removal waits for staff (the shopper meant to take that item off the bill)."""
        if self.removal is not None:
            raise CheckoutError(f"staff must first approve removing {self.removal.name}")

    def events(self) -> list[Any]:
        """The state as events, for a UI that just connected."""
        out: list[Any] = []
        if self.help is not None:
            out.append(HelpCallChanged(True, self.help.reason, self.help.since.isoformat()))
        if self.removal is not None:
            r = self.removal
            out.append(RemovalPending(r.line_id, r.name, format_inr(r.total), r.total))
        return out
