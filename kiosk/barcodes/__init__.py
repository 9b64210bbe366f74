"""Barcodes at the counter: GTIN check digits, GS1 variable-measure labels, decoding camera frames (zxing-cpp) and
USB scanners (keyboard wedge or serial, one driver file each, chosen by ``[barcodes] scanner``).

Nothing here imports the recogniser or a bundle: a scanned price or weight is money, and no model decides it.
Heavy libraries (zxing-cpp, pyserial) are imported by the module that needs them, when it is used.
"""

from kiosk.barcodes.gtin import ScannedCode, canonical_gtin, lookup_forms, with_check_digit
from kiosk.barcodes.settings import BarcodeSettings
from kiosk.barcodes.variable import BarcodeConfigError, VariableLayout, VariableMeasure, match_variable

__all__ = ["BarcodeConfigError", "BarcodeSettings", "ScannedCode", "VariableLayout", "VariableMeasure",
           "canonical_gtin", "lookup_forms", "match_variable", "with_check_digit"]
