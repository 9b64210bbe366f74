"""What staff are told when a limit, their account or the session stops them is said in Hindi on a Hindi screen, in
words of its own (not only the catch-all "this needs a supervisor's approval")."""

from __future__ import annotations

import re

from kiosk.staff.rules import ACTIONS, StaffRules
from kiosk.ui.i18n import Translations
from kiosk.ui.notices import notice_text

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
CATCH_ALL = "This needs a supervisor's approval"


def test_every_limit_of_an_assistant_is_said_in_hindi_in_its_own_words(qapp):
    rules = StaffRules()
    refusals = {f"{why}: ask a supervisor to approve" for action in ACTIONS for paise in (-10**9, 10**9)
                if (why := rules.refusal("assistant", action, paise))}
    assert len(refusals) == 6  # override, correct, remove, void, rollback, day_report
    generic = {m for m in refusals if notice_text(m) == CATCH_ALL}
    assert generic <= {"the day's takings report needs a supervisor: ask a supervisor to approve"}
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        for message in refusals:
            assert DEVANAGARI.search(notice_text(message)), message
        assert "₹20.00" in notice_text("a correction lowering the bill by more than ₹20.00 needs a supervisor: ask a "
                                       "supervisor to approve")
        assert "₹2,000.00" in notice_text("voiding a line worth more than ₹2,000.00 needs a supervisor: ask a "
                                          "supervisor to approve")
    finally:
        translations.switch("en")


def test_a_session_ended_by_an_account_change_says_why_in_hindi(qapp):
    from kiosk.services.staff import ended_text

    reasons = ("removed", "disabled", "role_changed", "pin_reset", "tampered", "something new")
    generic = notice_text("staff mode is locked: unlock it with the staff PIN first")
    assert len({notice_text(ended_text(why)) for why in reasons} | {generic}) == len(reasons) + 1
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        for why in reasons:
            assert DEVANAGARI.search(notice_text(ended_text(why))), why
    finally:
        translations.switch("en")


def test_an_account_edited_outside_the_kiosk_is_refused_in_hindi(qapp):
    from kiosk.services.staff_desk import _REFUSALS

    message = _REFUSALS["tampered"]
    assert notice_text(message) == ("This staff account was changed outside the kiosk and cannot sign in: ask the "
                                    "store manager")
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        assert DEVANAGARI.search(notice_text(message))
    finally:
        translations.switch("en")
