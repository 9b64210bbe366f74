"""The checkout flow gluing catalog, store, camera, trigger, recogniser and scale (no Qt).

See :mod:`kiosk.services.checkout` for the service contract and :mod:`kiosk.services.events` for the events.
"""

from kiosk.services.checkout import (
    CheckoutError,
    CheckoutService,
    Placement,
    StaffLocked,
    open_catalog,
)
from kiosk.services.events import (
    AwaitingWeight,
    BillView,
    CameraStatusChanged,
    CartChanged,
    CartLineView,
    CartView,
    FrameCaptured,
    ModelChanged,
    Notice,
    PlacementCleared,
    SaleClosed,
    StaffModeChanged,
    SuggestionsReady,
    SuggestionView,
    TaxRowView,
    UpdateStatusChanged,
    WeighingEnded,
    WeightChanged,
)

__all__ = [
    "AwaitingWeight", "BillView", "CameraStatusChanged", "CartChanged", "CartLineView", "CartView", "CheckoutError",
    "CheckoutService", "FrameCaptured", "ModelChanged", "Notice", "Placement", "PlacementCleared", "SaleClosed",
    "StaffLocked", "StaffModeChanged", "SuggestionView", "SuggestionsReady", "TaxRowView", "UpdateStatusChanged",
    "WeighingEnded", "WeightChanged", "open_catalog",
]
