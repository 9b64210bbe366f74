"""Who may do what at the till: the roles and the ``[staff]`` table of ``kiosk.toml``::

    [staff]
    assistant_override_max_paise = 2000     # an assistant's price override may change a bill by at most ₹20.00
    supervisor_removal_above_paise = 200000  # taking off a line worth more than ₹2,000.00 needs a supervisor
    approval_valid_s = 60.0                 # a supervisor's approval is good for one action within this time
    kiosk_free_failures = 10                # wrong PINs in a row at this kiosk (any staff number) before it locks
    legacy_pin_role = "supervisor"          # the role of the old shared staff_pin_hash (no accounts yet)

Roles: an **assistant** reprints receipts, decides on a weight the scale disagreed with, overrides a price or
corrects a line to a cheaper item within ``assistant_override_max_paise`` and voids or takes off lines up to
``supervisor_removal_above_paise``; a **supervisor** may do all that and more: larger overrides, corrections, voids
and removals, rolling the model back, and the day's takings report (end of day). What one role may not do, a
supervisor may approve (one action, ``approval_valid_s``).

The limits are judged by a change's effect on the bill against the line's FIRST price (through the lines it
``replaces``): overrides and corrections of one line add up (four ₹20 steps are an ₹80 change), and a void is a
removal of the most the line was worth (:meth:`StaffRules.reference`, :meth:`StaffRules.line_worth`,
:meth:`StaffRules.bill_change`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from kiosk.domain.cart import CartLine
from kiosk.domain.money import format_inr
from kiosk.errors import UserError

__all__ = ["ACTIONS", "ROLES", "StaffConfigError", "StaffRules"]

ROLES = ("assistant", "supervisor")
#: what staff do (the names audit rows and refusals use)
ACTIONS = ("correct", "void", "reprint", "resolve", "override", "remove", "rollback", "day_report")
_ASSISTANT_ALWAYS = {"reprint", "resolve"}


class StaffConfigError(UserError):
    """A ``[staff]`` setting that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class StaffRules:
    #: the most an assistant's price override may change a bill, paise (either way)
    assistant_override_max_paise: int = 2000
    #: lines worth more than this (paise) are taken off only by, or with the approval of, a supervisor
    supervisor_removal_above_paise: int = 200000
    #: seconds a supervisor's approval (their number and PIN on an assistant's session) stays good, for one action
    approval_valid_s: float = 60.0
    #: wrong PINs in a row at this kiosk, whatever the staff number, before the whole kiosk refuses sign-ins a while
    kiosk_free_failures: int = 10
    #: the role of whoever signs in with the shared ``staff_pin_hash`` while there are no staff accounts
    legacy_pin_role: str = "supervisor"

    def __post_init__(self) -> None:
        types = {"int": int, "float": float, "str": str}
        for f in fields(self):
            value, want = getattr(self, f.name), types[f.type]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif isinstance(value, bool) or not isinstance(value, want):
                raise StaffConfigError(f"[staff]: {f.name}={value!r} (expected {want.__name__})")
        ranges = {"assistant_override_max_paise": self.assistant_override_max_paise >= 0,
                  "supervisor_removal_above_paise": self.supervisor_removal_above_paise >= 0,
                  "approval_valid_s": 0 < self.approval_valid_s <= 3600,
                  "kiosk_free_failures": 3 <= self.kiosk_free_failures <= 1000,
                  "legacy_pin_role": self.legacy_pin_role in ROLES}
        bad = [f"{k}={getattr(self, k)!r}" for k, ok in ranges.items() if not ok]
        if bad:
            raise StaffConfigError(f"[staff]: out of range: {', '.join(bad)} (roles: {', '.join(ROLES)}; "
                                   "kiosk_free_failures 3..1000; approval_valid_s 0..3600)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StaffRules:
        if not isinstance(data, dict):
            raise StaffConfigError(f"[staff]: expected a table, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise StaffConfigError(f"[staff]: unknown key(s) {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def refusal(self, role: str, action: str, paise: int = 0) -> str | None:
        """Why ``role`` may not do ``action`` (involving ``paise``: the bill's change, the line's value); None: may.

        ``paise`` is what the staff desk measures against the line's first price (:meth:`line_worth`,
        :meth:`bill_change`): an override or a correction by the changes to the line added up, a void or a removal by
        the most the line was worth."""
        if role == "supervisor":
            return None
        if role != "assistant":
            return f"the role {role!r} may do nothing at the till"
        if action in _ASSISTANT_ALWAYS:
            return None
        if action == "override" and abs(paise) <= self.assistant_override_max_paise:
            return None
        if action == "correct" and -paise <= self.assistant_override_max_paise:
            return None
        if action in ("remove", "void") and paise <= self.supervisor_removal_above_paise:
            return None
        most, worth = format_inr(self.assistant_override_max_paise), format_inr(self.supervisor_removal_above_paise)
        limits = {"override": f"a price override changing the bill by more than {most}",
                  "correct": f"a correction lowering the bill by more than {most}",
                  "remove": f"taking off a line worth more than {worth}",
                  "void": f"voiding a line worth more than {worth}",
                  "rollback": "rolling the recognition model back", "day_report": "the day's takings report"}
        return f"{limits.get(action, action)} needs a supervisor"

    @staticmethod
    def reference(chain: Sequence[CartLine]) -> int:
        """What the limits measure a line against (``chain``: the line and the lines it stands in for, the first
        first): its first total, raised by a correction to a dearer item (that charges the item's own price; it is
        not a discount)."""
        worth = chain[0].total
        for before, after in zip(chain, chain[1:]):
            if after.sku != before.sku:
                worth = max(worth, after.total)
        return worth

    @classmethod
    def line_worth(cls, chain: Sequence[CartLine]) -> int:
        """What voiding or taking off the line takes off the bill, to the limits: the most of its :meth:`reference`
        and what it is now (an override down first does not make a big line small)."""
        return max(cls.reference(chain), chain[-1].total)

    @classmethod
    def bill_change(cls, chain: Sequence[CartLine], new: CartLine, action: str) -> int:
        """The change to the bill of ``new`` in place of ``chain[-1]``: of this step, and of the line's changes added
        up (against :meth:`reference`), whichever is further from zero — for a correction, whichever lowers the bill
        more (a correction that raises it charges the item's own price)."""
        step, added_up = new.total - chain[-1].total, new.total - cls.reference(chain)
        return min(step, added_up) if action == "correct" else max(step, added_up, key=abs)
