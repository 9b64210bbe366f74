"""Refusals of the checkout service's intents (one line each, shown to the shopper or staff as a notice)."""

from kiosk.errors import UserError

__all__ = ["CheckoutError", "StaffLocked"]


class CheckoutError(UserError):
    """An intent that cannot be carried out (empty cart, unknown line or SKU, no weight)."""


class StaffLocked(CheckoutError):
    """A staff action was asked for while staff mode is locked."""
