"""The receipt page in the shopper's language, like a person: paid by card or cash, then Hindi — the summary and the
receipt's "Paid by" name the method as the payment page did, in Hindi, never the service's code (CARD, CASH)."""

from __future__ import annotations

import re

import pytest

from tests.ui.helpers import tap

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def paid_by(window) -> str:
    totals = window.receipt.view.totals
    for row in range(totals.rowCount()):
        left = totals.itemAtPosition(row, 0)
        if left is not None and left.widget().text() in ("Paid by", "भुगतान"):
            return totals.itemAtPosition(row, 1).widget().text()
    raise AssertionError("no Paid by row")


@pytest.mark.parametrize(("method", "english", "hindi"), [("card", "Card", "कार्ड"),
                                                          ("cash", "Cash at desk", "काउंटर पर नकद")])
def test_the_payment_method_in_the_shoppers_words(qtbot, window, service, method, english, hindi):
    service.choose("oatly-oat-milk")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons[method])
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert f"paid by {english}." in window.receipt.summary.text() and paid_by(window) == english
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    summary = window.receipt.summary.text()
    assert f"{hindi} से हुआ" in summary and not LATIN_WORD.search(summary), summary
    assert paid_by(window) == hindi
