"""Cart, money, pricing, GST and receipts: pure standard-library code (no Qt, no torch, no sqlite)."""

from kiosk.domain.cart import MAX_NET_GRAMS, MAX_UNIT_QTY, Cart, CartError, CartLine
from kiosk.domain.money import format_inr, parse_inr, round_half_up, round_to_rupee
from kiosk.domain.pricing import GST_RATES_BP, Bill, SoldBy, TaxRow, compute_bill, split_inclusive_gst
from kiosk.domain.receipt import Receipt, ReceiptLine, StoreInfo

__all__ = [
    "Bill", "Cart", "CartError", "CartLine", "GST_RATES_BP", "MAX_NET_GRAMS", "MAX_UNIT_QTY", "Receipt",
    "ReceiptLine", "SoldBy", "StoreInfo", "TaxRow", "compute_bill", "format_inr", "parse_inr", "round_half_up",
    "round_to_rupee", "split_inclusive_gst",
]
