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
    (r"(?P<name>.+) was not added yet: the bill could not be saved \((?P<why>.*)\); trying again",
     mark("Notice", "{name} was not added yet: the kiosk is trying again")),
    (r"scale zeroed", mark("Notice", "Scale zeroed")),
    (r"the scale did not zero", mark("Notice", "The scale did not zero: take everything off the tray")),
    (r"tare (?P<container>\w+): (?P<grams>\d+) g", mark("Notice", "Tare {container}: {grams} g")),
    (r"tare: (?P<grams>\d+) g", mark("Notice", "Tare: {grams} g")),
    (r"receipt (?P<number>\S+) printed: please take it", mark("Notice", "Receipt {number} printed: please take it")),
    (r"nothing to pay: the cart is empty", mark("Notice", "Nothing to pay: your cart is empty")),
    (r"the bill is ₹0\.00: there is nothing to charge; staff void the cart",
     mark("Notice", "The bill is ₹0.00: please call staff")),
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
    (r"the terminal's answer does not match the payment of (?P<amount>₹\S+): the sale is not closed and staff is "
     r"called",
     mark("Notice", "The terminal's answer does not match the payment of {amount}: the sale is not closed and staff "
                    "has been called")),
    (r"the payment of (?P<amount>₹\S+) was declined by the terminal: the cart can be paid again",
     mark("Notice", "The payment of {amount} was declined: you can pay again")),
    (r"the payment of (?P<amount>₹\S+) never reached the terminal: nothing was charged, the cart can be paid again",
     mark("Notice", "The payment of {amount} never reached the terminal: nothing was charged, you can pay again")),
    (r"cart (?P<cart>.+) is not open: nothing to pay", mark("Notice", "Nothing to pay: this sale is already closed")),
    # the payment page holds the bill as it shows it (kiosk.services.cart_lines FROZEN, paying.check_shown)
    (r"finish or cancel the payment first: the scan was not added",
     mark("Notice", "Finish or cancel the payment first: the scan was not added")),
    (r"finish or cancel the payment first: the bill cannot change while you pay",
     mark("Notice", "Finish or cancel the payment first: your bill cannot change while you pay")),
    (r"the bill is now (?P<now>₹\S+), not the (?P<shown>₹\S+) shown: check it and pay again",
     mark("Notice", "Your bill is now {now}, not the {shown} shown: check it and pay again")),
    (r"the amount shown must be whole paise, got (?P<kind>.+)",
     mark("Notice", "The amount to pay could not be checked: please call staff")),
    (r"staff must check (?P<name>.+?) (?:before payment|first: .*)", mark("Notice", "Staff must check {name} first")),
    (r"staff must first approve removing (?P<name>.+)", mark("Notice", "Staff must first approve removing {name}")),
    (r"staff is already asked to remove (?P<name>.+): wait for them",
     mark("Notice", "Staff is already asked to remove {name}: please wait")),
    (r"(?P<name>.+) not added by (?P<who>.+)", mark("Notice", "{name} not added by staff")),
    (r"(?P<name>.+) added by (?P<who>.+)", mark("Notice", "{name} added by staff")),
    (r"corrected (?P<old>.+) → (?P<new>.+)", mark("Notice", "Staff corrected {old} to {new}")),
    # staff label today's unlabelled items (kiosk.services.not_recognised)
    (r"labelled (?P<name>.+): it goes to head office as a staff label",
     mark("Notice", "Labelled {name}: it goes to head office as a staff label")),
    (r"marked not a product: it is kept out of training", mark("Notice", "Marked not a product: kept out of training")),
    (r"(?P<name>.+): placement (?P<placement>\S+) is not one nobody labelled today \(.*\)",
     mark("Notice", "This item cannot be labelled any more: labelled already, on a bill, or its photo is gone")),
    (r"(?P<name>.+): price (?P<old>₹\S+) → (?P<new>₹\S+) by (?P<who>.+)",
     mark("Notice", "{name}: price changed from {old} to {new}")),
    (r"(?P<name>.+) taken off by (?P<who>.+)", mark("Notice", "{name} taken off the bill by staff")),
    (r"new recognition model v(?P<version>\S+) active", mark("Notice", "New recognition model v{version} active")),
    # a receipt the printer could not print (kiosk.services.printing; reasons: kiosk.printing.base)
    (r"receipt (?P<number>\S+) not printed: the printer is not connected — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer is not connected. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: the printer does not answer — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer does not answer. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: the printer is out of paper — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer is out of paper. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: the printer's cover is open — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer's cover is open. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: the printer is offline — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer is offline. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: the printer reports a fault — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer reports a fault. Staff can reprint it")),
    (r"receipt (?P<number>\S+) not printed: (?P<why>.+) — staff can reprint",
     mark("Notice", "Receipt {number} not printed: the printer is not working. Staff can reprint it")),
    (r"the receipt printer did not print: (?P<why>.+)",
     mark("Notice", "The receipt printer did not print: call staff")),
    (r"no receipt printer is set up at this kiosk.*", mark("Notice", "This kiosk has no receipt printer")),
    # the scale's Zero key (kiosk.services.scale_desk)
    (r"zero: take everything off the tray first", mark("Notice", "Zero: take everything off the tray first")),
    (r"zero: the scale must be still and within (?P<grams>\d+) g of zero",
     mark("Notice", "Zero: the scale must be still and within {grams} g of zero")),
    # the camera, recognition and the scanner (kiosk.services.live): their error's own words are in the log
    (r"camera lost(?:: (?P<why>.*))?", None),  # the camera view says it over the picture, with the retry
    (r"camera back", mark("Notice", "The camera works again")),
    (r"camera failed: (?P<why>.*)", mark("Notice", "The camera is not working: please call staff")),
    # the camera against the scale (kiosk.services.tray_watch)
    (r"the camera did not see what is on the scale \((?P<grams>\d+) g\): call staff",
     mark("Notice", "The camera did not see what is on the scale ({grams} g): please call staff")),
    (r"the scale holds (?P<grams>\d+) g the camera did not see: call staff",
     mark("Notice", "The scale holds {grams} g the camera did not see: please call staff before paying")),
    (r"the camera sees the tray again", mark("Notice", "The camera sees the tray again")),
    (r"the camera's picture has not changed: call staff",
     mark("Notice", "The camera's picture is not changing: please call staff")),
    (r"the camera sees nothing: is it covered\? call staff",
     mark("Notice", "The camera sees nothing: is it covered? Please call staff")),
    (r"recognition failed: (?P<why>.*)", mark("Notice", "The item was not recognised: search by name or PLU")),
    (r"scan failed: (?P<why>.*)", mark("Notice", "The barcode was not read: scan it again")),
    (r"scale reading failed: (?P<why>.*)", mark("Notice", "The scale could not be read: if this goes on, call staff")),
    (r"cannot save placement image (?P<path>.*)", None),  # the sale goes on; the log has it for staff
    # a tap that came too late (another tap, staff or the service got there first) or a text the kiosk does not offer
    (r"no line (?P<line>.+) in the open cart", mark("Notice", "That line is no longer on the bill")),
    (r"line (?P<line>.+) is voided", mark("Notice", "That line was taken off the bill")),
    (r"no department (?P<group>.+) to browse \(one of .*\)", mark("Notice", "That department is not offered")),
    (r"unknown SKU (?P<sku>.+): not in the catalog.*", mark("Notice", "This product is not in the catalog")),
    (r"(?P<name>.+) \((?P<sku>[^()]+)\) is not on sale", mark("Notice", "{name} is not on sale")),
    (r"language (?P<code>.+) is not offered at this kiosk.*", mark("Notice", "This language is not offered here")),
    (r"no removal is waiting for a staff approval", mark("Notice", "No removal is waiting for staff approval")),
    (r"no item is waiting for staff", mark("Notice", "No item is waiting for staff")),
    # staff's actions (kiosk.services.staff_desk, teaching, model_updates)
    (r"taught products are not suggested by model v(?P<version>\S+): it has no gallery fusion; teach them again "
     r"under a newer model or roll forward",
     mark("Notice", "Taught products are not suggested by model v{version}: it has no gallery fusion; teach them "
                    "again under a newer model or roll forward")),
    (r"(?P<name>.+) is sold by weight: put it on the scale, then correct again",
     mark("Notice", "{name} is sold by weight: put it on the scale, then correct again")),
    (r"(?P<name>.+): (?P<net>-?\d+) g net \((?P<gross>\d+) g less (?P<tare>\d+) g tare\) is under the scale's "
     r"minimum of (?P<least>\d+) g: weigh it again",
     mark("Notice", "{name}: {net} g net ({gross} g less {tare} g tare) is under the scale's minimum of {least} g: "
                    "weigh it again")),
    (r"price override must be whole paise >= 0, got (?P<paise>.+)", mark("Notice", "A price must be zero or more")),
    (r"a price override is at most (?P<most>₹\S+)", mark("Notice", "A price is at most {most}")),
    (r"receipt (?P<number>\S+) reprinted \(copy (?P<copy>\d+)\) by (?P<who>.+)",
     mark("Notice", "Receipt {number}: duplicate {copy} made")),
    (r"approved by (?P<name>.+): go ahead", mark("Notice", "Approved by {name}: go ahead")),
    (r"this kiosk runs a plain bundle.*nothing to roll back to",
     mark("Notice", "There is no earlier model to roll back to")),
    (r"rollback refused: (?P<why>.+)", mark("Notice", "The model was not rolled back: see the kiosk's log")),
    (r"model version (?P<version>\S+) is active in .+: it runs from the next start",
     mark("Notice", "Model v{version} is active but does not run yet: it runs from the next start")),
    (r"model rolled back from v(?P<old>\S+) to v(?P<new>\S+) by (?P<who>.+)",
     mark("Notice", "Model rolled back from v{old} to v{new}")),
    (r"no update channel is configured.*", mark("Notice", "No model update channel is set up at this kiosk")),
    (r"(?P<sku>.+) added to the catalog", None),  # the Teach page says it
    (r"taught (?P<what>.+): suggested from the next placement", None),  # the Teach page says it
    (r"(?P<sku>.+): (?P<n>\d+) enrollment\(s\) withdrawn", mark("Notice", "{sku}: no longer suggested from photos")),
    # staff's
    (r"wrong staff PIN", mark("Notice", "Wrong staff PIN")),
    (r"wrong staff number or PIN", mark("Notice", "Wrong staff number or PIN")),
    (r"too many wrong PINs: try again in (?P<seconds>\d+) s",
     mark("Notice", "Too many wrong PINs: try again in {seconds} s")),
    (r"too many wrong PINs at this kiosk: try again in (?P<seconds>\d+) s",
     mark("Notice", "Too many wrong PINs at this kiosk: try again in {seconds} s")),
    (r"this staff account was changed outside the kiosk and cannot sign in: ask the store manager",
     mark("Notice", "This staff account was changed outside the kiosk and cannot sign in: ask the store manager")),
    (r"an approval needs a supervisor's staff number and PIN",
     mark("Notice", "An approval needs a supervisor's staff number and PIN")),
    (r"no staff PIN is configured.*", mark("Notice", "No staff PIN is set up at this kiosk: ask the store manager")),
    # a session ended because the person's account changed since the sign-in (kiosk.services.staff)
    (r"staff mode is locked: your staff account is gone: ask the store manager",
     mark("Notice", "Staff mode is locked: your staff account is gone: ask the store manager")),
    (r"staff mode is locked: your staff account was disabled: ask the store manager",
     mark("Notice", "Staff mode is locked: your staff account was disabled: ask the store manager")),
    (r"staff mode is locked: your staff account has another role now: sign in again",
     mark("Notice", "Staff mode is locked: your role was changed: sign in again")),
    (r"staff mode is locked: your staff PIN was changed: sign in with the new PIN",
     mark("Notice", "Staff mode is locked: your staff PIN was changed: sign in with the new PIN")),
    (r"staff mode is locked: your staff account was changed outside the kiosk: ask the store manager",
     mark("Notice", "Staff mode is locked: your staff account was changed outside the kiosk: ask the store manager")),
    (r"staff mode is locked: your staff account changed: sign in again",
     mark("Notice", "Staff mode is locked: your staff account changed: sign in again")),
    (r"staff mode is locked: staff accounts are in use now: sign in with your staff number and PIN",
     mark("Notice", "Staff mode is locked: staff accounts are in use now: sign in with your staff number and PIN")),
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
    (r"a correction lowering the bill by more than (?P<most>₹\S+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "A correction lowering the bill by more than {most} needs a supervisor's approval")),
    (r"voiding a line worth more than (?P<most>₹\S+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "Voiding a line worth more than {most} needs a supervisor's approval")),
    (r"rolling the recognition model back needs a supervisor: ask a supervisor to approve",
     mark("Notice", "Rolling the recognition model back needs a supervisor's approval")),
    (r"(?P<what>.+): the shared staff PIN has no supervisor to approve it: ask the store manager to add staff "
     r"accounts",
     mark("Notice", "This needs a supervisor, and the shared staff PIN has none: ask the store manager to add staff "
                    "accounts")),
    (r"the role (?P<role>.+) may do nothing at the till: ask a supervisor to approve",
     mark("Notice", "This staff role may do nothing at the till: a supervisor must approve")),
    (r"(?P<what>.+) needs a supervisor: ask a supervisor to approve",
     mark("Notice", "This needs a supervisor's approval")),
    (r"(?P<what>.+): ask a supervisor to approve", mark("Notice", "This needs a supervisor's approval")),
    # the barcode scanner: a flood of codes (kiosk.services.scans), the device gone and back (its status observers)
    (r"the barcode scanner sends codes faster than anyone scans: scanning is paused, please call staff",
     mark("Notice", "The barcode scanner is sending codes too fast: scanning is paused, please call staff")),
    (r"the barcode scanner is read again|barcode scanner back", mark("Notice", "The barcode scanner works again")),
    (r"barcode scanner lost(?:: (?P<why>.*))?",
     mark("Notice", "The barcode scanner is not connected: please call staff")),
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
