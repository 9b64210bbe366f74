"""Refusals of the checkout service's intents (one line each, shown to the shopper or staff as a notice)."""

from kiosk.errors import UserError

__all__ = ["CheckoutError", "StaffLocked", "SupervisorNeeded"]


class CheckoutError(UserError):
    """An intent that cannot be carried out (empty cart, unknown line or SKU, no weight)."""


class StaffLocked(CheckoutError):
    """A staff action was asked for while staff mode is locked."""


class SupervisorNeeded(CheckoutError):
    """A staff action above the signed-in role's rights (``action``: correct, override, remove, rollback …): a
    supervisor may approve it (their number and PIN) or do it themselves. Nothing was changed."""

    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.action = action
