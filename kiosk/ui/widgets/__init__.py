"""Kiosk widgets. Each one renders what it is given and emits what the person asked for; none
of them talks to the service (the main window forwards intents and feeds events in). Each writes its texts in
``retranslate()``, which runs again when the language changes (:mod:`kiosk.ui.i18n`)."""

from kiosk.ui.widgets.browse import BrowsePanel
from kiosk.ui.widgets.camera_view import CameraView
from kiosk.ui.widgets.cart import CartPanel, TotalsPanel
from kiosk.ui.widgets.confirm import ConfirmOverlay
from kiosk.ui.widgets.header import Header
from kiosk.ui.widgets.keypad import NumericKeypad, OnScreenKeyboard
from kiosk.ui.widgets.payment import PaymentPanel, PaymentWaitPanel
from kiosk.ui.widgets.receipt import ReceiptPanel
from kiosk.ui.widgets.search import SearchPanel
from kiosk.ui.widgets.staff import PriceOverridePanel, StaffPanel, StaffPinPanel
from kiosk.ui.widgets.staff_call import StaffCallPanel
from kiosk.ui.widgets.status import KioskStatusBar, NoticeBanner
from kiosk.ui.widgets.suggestions import SuggestionButton, SuggestionPanel
from kiosk.ui.widgets.weight import WeightPanel

__all__ = [
    "BrowsePanel", "CameraView", "CartPanel", "ConfirmOverlay", "Header", "TotalsPanel", "NumericKeypad",
    "OnScreenKeyboard", "PaymentPanel", "PaymentWaitPanel", "ReceiptPanel", "SearchPanel", "StaffPinPanel",
    "StaffPanel", "PriceOverridePanel", "KioskStatusBar", "NoticeBanner", "StaffCallPanel", "SuggestionButton",
    "SuggestionPanel", "WeightPanel",
]
