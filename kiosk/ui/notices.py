"""The service's notices and refusals, as the shopper reads them: translated, starting with a capital, and not shown
at all when the page already says the same (no message twice).

The service speaks English (its notices are also what the log and headless runs print); this table maps each
message a shopper or staff member meets at the kiosk to a translatable template whose ``{fields}`` are the
message's variable parts. A message not in the table is shown as it is, with a capital first letter.
``tests/ui/test_i18n.py`` checks the templates against the service's own wording.
"""

from __future__ import annotations

import re

from kiosk.ui.i18n import mark, translate

__all__ = ["NOTICES", "notice_text"]

_C = "Notice"

#: (pattern of the service's message, template for the screen — None: shown elsewhere on the page, not as a notice)
NOTICES: tuple[tuple[str, str | None], ...] = (
    # what the step area, the weighing prompt or the removal question already say
    (r"place (?P<name>.+) on the scale and hold still", None),
    (r"item not recognised: search by name or PLU", None),
    (r"Not recognised — search or call staff", None),
    (r"Staff is on the way: (?P<reason>.+)", None),
    (r"staff must approve removing (?P<name>.+) \((?P<amount>[^)]*)\)", None),
    # the shopper's
    (r"barcode not read: scan it again", mark("Notice", "Barcode not read: scan it again")),
    (r"barcode (?P<code>\d+) is not in the catalog(?:: search by name or PLU)?",
     mark("Notice", "Barcode {code} is not in the catalog: search by name or PLU")),
    (r"(?P<what>.+): search by name or PLU", mark("Notice", "{what}: search by name or PLU")),
    (r"(?P<name>.+) was not weighed: tap it again to add it",
     mark("Notice", "{name} was not weighed: tap it again to add it")),
    (r"(?P<name>.+) was taken away before it was weighed",
     mark("Notice", "{name} was taken away before it was weighed")),
    (r"(?P<name>.+) was never weighed and is not on the bill",
     mark("Notice", "{name} was never weighed and is not on the bill")),
    (r"scale zeroed", mark("Notice", "Scale zeroed")),
    (r"the scale did not zero", mark("Notice", "The scale did not zero: take everything off the tray")),
    (r"tare (?P<container>\w+): (?P<grams>\d+) g", mark("Notice", "Tare {container}: {grams} g")),
    (r"tare: (?P<grams>\d+) g", mark("Notice", "Tare: {grams} g")),
    (r"receipt (?P<number>\S+) printed: please take it", mark("Notice", "Receipt {number} printed: please take it")),
    (r"nothing to pay: the cart is empty", mark("Notice", "Nothing to pay: your cart is empty")),
    # paying (kiosk.services.paying, kiosk.store.payments): the terminal's own reason is in the log, not on screen
    (r"payment declined: (?P<why>.+)",
     mark("Notice", "The payment was declined: try again or choose another way to pay")),
    (r"the payment terminal did not answer \((?P<why>.*)\); the payment of (?P<amount>₹\S+) is kept and checked "
     r"again, never charged twice",
     mark("Notice", "The payment terminal did not answer: tap your payment method again — {amount} is never charged "
                    "twice")),
    (r"a payment of (?P<amount>₹\S+) is waiting for the terminal, which does not answer \((?P<why>.*)\); ask staff",
     mark("Notice", "A payment of {amount} is waiting for the terminal, which does not answer: please call staff")),
    (r"the terminal has not confirmed the payment of (?P<amount>₹\S+) yet \((?P<status>[^)]*)\); tap Pay again to "
     r"check",
     mark("Notice", "The terminal has not confirmed the payment of {amount} yet: tap your payment method again to "
                    "check")),
    (r"a payment of (?P<amount>₹\S+) is in progress for this cart \((?P<state>[^)]*)\); the cart cannot change until "
     r"it is settled",
     mark("Notice", "A payment of {amount} is in progress: the cart cannot change until it is settled")),
    (r"cart (?P<cart>.+) already has a payment in progress",
     mark("Notice", "A payment is already in progress for this cart")),
    (r"cart (?P<cart>.+) is not open: nothing to pay", mark("Notice", "Nothing to pay: this sale is already closed")),
    (r"staff must check (?P<name>.+?) (?:before payment|first: .*)", mark("Notice", "Staff must check {name} first")),
    (r"staff must first approve removing (?P<name>.+)", mark("Notice", "Staff must first approve removing {name}")),
    (r"staff is already asked to remove (?P<name>.+): wait for them",
     mark("Notice", "Staff is already asked to remove {name}: please wait")),
    (r"(?P<name>.+) not added by (?P<who>.+)", mark("Notice", "{name} not added by staff")),
    (r"(?P<name>.+) added by (?P<who>.+)", mark("Notice", "{name} added by staff")),
    (r"corrected (?P<old>.+) → (?P<new>.+)", mark("Notice", "Staff corrected {old} to {new}")),
    (r"(?P<name>.+): price (?P<old>₹\S+) → (?P<new>₹\S+) by (?P<who>.+)",
     mark("Notice", "{name}: price changed from {old} to {new}")),
    (r"(?P<name>.+) taken off by (?P<who>.+)", mark("Notice", "{name} taken off the bill by staff")),
    (r"new recognition model v(?P<version>\S+) active", mark("Notice", "New recognition model v{version} active")),
    (r"the receipt printer did not print: (?P<why>.+)",
     mark("Notice", "The receipt printer did not print: call staff")),
    (r"no receipt printer is set up at this kiosk.*", mark("Notice", "This kiosk has no receipt printer")),
    # staff's
    (r"wrong staff PIN", mark("Notice", "Wrong staff PIN")),
    (r"wrong staff number or PIN", mark("Notice", "Wrong staff number or PIN")),
    (r"too many wrong PINs: try again in (?P<seconds>\d+) s",
     mark("Notice", "Too many wrong PINs: try again in {seconds} s")),
    (r"staff mode is locked.*", mark("Notice", "Staff mode is locked: unlock it with the staff PIN first")),
    # why staff are called to the tray (kiosk.services.second_opinion: the weight does not fit the item)
    (r"(?P<grams>\d+) g on the tray fits (?P<count>\d+) × (?P<name>.+) \((?P<low>\d+)-(?P<high>\d+) g each\), "
     r"not (?P<qty>\d+)",
     mark("Notice", "{grams} g on the tray fits {count} × {name} ({low}-{high} g each), not {qty}")),
    (r"(?P<grams>\d+) g on the tray does not fit (?P<name>.+) \((?P<low>\d+)-(?P<high>\d+) g each\)",
     mark("Notice", "{grams} g on the tray does not fit {name} ({low}-{high} g each)")),
    (r"the label says (?P<label>\d+) g, the tray weighs (?P<grams>\d+) g",
     mark("Notice", "The label says {label} g, the tray weighs {grams} g")),
    # why a supervisor is asked (kiosk.staff.rules, kiosk.services.staff_desk)
    (r"a price override changing the bill by more than (?P<most>₹\S+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "A price change of more than {most} needs a supervisor's approval")),
    (r"taking off a line worth more than (?P<most>₹\S+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "Taking off a line worth more than {most} needs a supervisor's approval")),
    (r"rolling the recognition model back needs a supervisor: ask a supervisor to approve",
     mark("Notice", "Rolling the recognition model back needs a supervisor's approval")),
    (r"the role (?P<role>.+) may do nothing at the till: ask a supervisor to approve",
     mark("Notice", "This staff role may do nothing at the till: a supervisor must approve")),
    (r"(?P<what>.+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "This needs a supervisor's approval")),
)
_COMPILED = tuple((re.compile(pattern + r"\.?\Z", re.DOTALL), template) for pattern, template in NOTICES)


def notice_text(message: str) -> str | None:
    """The message for the screen in the current language; ``None`` when the page already shows it."""
    text = str(message or "").strip()
    for pattern, template in _COMPILED:
        match = pattern.match(text)
        if match:
            return None if template is None else translate(_C, template).format(**match.groupdict())
    return text[:1].upper() + text[1:]
