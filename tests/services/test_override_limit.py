"""A price override is a price: at most the catalog's ₹1 crore (catalog.model.MAX_PRICE_PAISE), refused in one line
naming the limit before anything is asked of a supervisor or written."""

from __future__ import annotations

import pytest

from catalog.model import MAX_PRICE_PAISE
from kiosk.services import CheckoutError
from tests.services.conftest import PIN, place

UNIT_ANSWER = [("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3), ("banana", 0.05)]


@pytest.mark.parametrize("paise", [MAX_PRICE_PAISE + 1, 2**31, 2**63, 10**40])
def test_a_price_override_past_the_limit_is_refused_naming_it(kit, paise):
    k = kit(UNIT_ANSWER, threshold=0.5)
    line_id = place(k.service).auto_added_line_id
    assert k.service.staff_unlock(PIN)
    before = k.service.cart_view()
    with pytest.raises(CheckoutError) as refused:
        k.service.staff_override_price(line_id, paise)
    assert str(refused.value) == "a price override is at most ₹1,00,00,000.00"
    assert k.service.cart_view() == before


def test_the_limit_itself_is_a_price(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    line_id = place(k.service).auto_added_line_id
    assert k.service.staff_unlock(PIN)
    new_id = k.service.staff_override_price(line_id, MAX_PRICE_PAISE)
    (line,) = k.service.cart_view().lines
    assert (line.line_id, line.total) == (new_id, MAX_PRICE_PAISE)
