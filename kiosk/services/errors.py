"""Refusals of the checkout service's intents (one line each, shown to the shopper or staff as a notice)."""

from kiosk.errors import UserError

__all__ = ["CheckoutError", "RollbackUnfinished", "StaffAccountChanged", "StaffLocked", "SupervisorNeeded"]


class CheckoutError(UserError):
    """An intent that cannot be carried out (empty cart, unknown line or SKU, no weight)."""


class StaffLocked(CheckoutError):
    """A staff action was asked for while staff mode is locked."""


class StaffAccountChanged(StaffLocked):
    """The signed-in person's account changed since they signed in (``reason``: disabled, a new PIN, another role,
    gone): their session has ended and nothing was done."""

    def __init__(self, message: str, staff_id: str, reason: str) -> None:
        super().__init__(message)
        self.staff_id, self.reason = staff_id, reason


class SupervisorNeeded(CheckoutError):
    """A staff action above the signed-in role's rights (``action``: correct, override, remove, rollback …): a
    supervisor may approve it (their number and PIN) or do it themselves. Nothing was changed."""

    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.action = action


class RollbackUnfinished(CheckoutError):
    """Staff's model rollback was made in the model store (it stands: its audit row is true) but is not running now
    (``version`` could not be loaded, or the store's last steps failed): it is finished and runs from the next
    start."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version
