"""What needs the attendant: the shopper's Help button, and removing a line worth more than a set value.

* **Help**: :meth:`Attendant.call` raises a call (``HelpCallChanged(active=True)``) that stays up until the shopper
  cancels it or staff answers it — unlocking staff mode at the kiosk answers it. Each step is audited.
* **Removals**: every removal is confirmed on screen first; a line worth more than ``approval_above`` paise is not
  removed at once but held (``RemovalPending``, and staff is called) until staff approves or refuses it, or the
  shopper keeps the item (``RemovalDecided``; the call ends too); payment waits meanwhile. Requests and decisions
  are audited with who made them.
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
    by)`` takes a line off the bill; ``require_staff()`` gives the staff id of an open staff session or raises."""

    def __init__(self, *, store: Any, line: Callable[[str], Any], remove: Callable[[str, str], None],
                 require_staff: Callable[[], str], emit: Callable[..., None], clock: Callable[[], datetime],
                 approval_above: int) -> None:
        self._store, self._line, self._remove, self._require_staff = store, line, remove, require_staff
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
        """Staff approves (the line is removed) or refuses the pending removal; approving one worth more than the
        ``[staff]`` rules allow an assistant needs a supervisor (``SupervisorNeeded``, audited)."""
        waiting = self.removal
        who = self._require_staff("remove", waiting.total) if approve and waiting else self._require_staff()
        with self._mutex:
            pending, self.removal = self.removal, None
        if pending is None:
            raise CheckoutError("no removal is waiting for a staff approval")
        if approve:
            try:
                self._remove(pending.line_id, f"shopper, approved by {who}")
            except CheckoutError:
                pass  # the line went meanwhile (voided by staff): nothing left to remove
        audit.record(self._store, "removal_approved" if approve else "removal_refused", who,
                     line_id=pending.line_id, name=pending.name, total=pending.total)
        self._emit(RemovalDecided(pending.line_id, bool(approve), who))

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
