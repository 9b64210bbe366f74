"""Text that ends in a newline, or carries digits that are not ASCII, is not an id, a number or a code.

Python's ``$`` also matches before a final ``"\\n"`` and ``str.isdigit()`` is true for ``"²"`` (which ``int()``
refuses) and ``"٣"``: a feedback label ``"apple\\n"`` was accepted at head office and split a report's row in two,
and a ``²`` in a version folder, a ``--since`` or a simulated scale's script was a ``ValueError`` traceback. The
validators anchor with ``\\Z`` and check ``isascii()`` beside ``isdigit()``; the source scans below keep it so.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.conftest import REPO

ROOMS = ("kiosk", "catalog", "trainer")


def _sources():
    for room in ROOMS:
        yield from sorted((REPO / room).rglob("*.py"))


def test_no_validator_anchors_with_dollar():
    """A pattern written ``^…$`` is a validator: it must end with ``\\Z``."""
    found = [f"{p.relative_to(REPO)}:{n}" for p in _sources()
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"""re\.compile\(r?["']\^.*\$["']""", line)]
    assert found == []


#: ``isdigit()`` where no ``int()`` follows (a name that is only digits; a scale frame already matched ASCII digits)
DIGIT_CHECKS_WITHOUT_INT = {"kiosk/staff/accounts.py", "kiosk/scale/protocol.py", "kiosk/barcodes/synth.py"}


def test_isdigit_comes_with_isascii():
    found = [f"{p.relative_to(REPO)}:{n}" for p in _sources()
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if ".isdigit()" in line and "isascii()" not in line
             and str(p.relative_to(REPO)) not in DIGIT_CHECKS_WITHOUT_INT]
    assert found == []


@pytest.mark.parametrize("tail", ["\n", "\r\n"])
def test_ids_with_a_line_end_are_refused(tail):
    from catalog.model import Sku, validate_sku
    from kiosk.exchange.feedback import _sku
    from trainer.data.manifest import validate_sku as manifest_sku

    assert _sku("apple") and not _sku("apple" + tail)
    assert manifest_sku("apple") is None and manifest_sku("apple" + tail) is not None
    good = Sku(sku="apple", name="Apple", group="Fruit", sold_by="unit", price_paise=100, gst_bp=0, hsn="0808")
    assert validate_sku(good) == []
    assert [e.column for e in validate_sku(replace(good, sku="apple" + tail))] == ["sku"]
    assert [e.column for e in validate_sku(replace(good, hsn="0808" + tail))] == ["hsn"]


def test_rupee_amounts_and_scans_take_ascii_digits_only():
    from kiosk.barcodes.gtin import expand_upce
    from kiosk.domain.money import parse_inr

    assert parse_inr("12.50") == 1250
    for text in ("١٢.50", "١,٢٣,٤٥٦", "1,23,456\n.00"):
        with pytest.raises(ValueError, match="not a rupee amount"):
            parse_inr(text)
    assert expand_upce("0²345678") is None


def test_superscript_digits_are_refused_in_one_line():
    import argparse

    from kiosk.audit.show import parse_since
    from kiosk.commands import window_size
    from kiosk.errors import UserError
    from kiosk.scale.base import ScaleError
    from kiosk.scale.simulated import parse_script

    with pytest.raises(argparse.ArgumentTypeError):
        window_size("1²80x800")
    with pytest.raises(UserError, match="²h"):
        parse_since("²h")
    with pytest.raises(ScaleError, match="bad count|cannot read"):
        parse_script("²x 250", source="script")


def test_a_version_folder_named_in_other_digits_is_not_a_version(tmp_path):
    from kiosk.bundles.store import BundleStore

    store = BundleStore(tmp_path / "models")
    store.versions_dir.mkdir(parents=True, exist_ok=True)
    for name in ("3", "²", "٣"):
        (store.versions_dir / name).mkdir()
    assert store.installed_versions() == [3]
