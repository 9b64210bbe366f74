"""Search bounds what it is given and never raises to the caller, whatever a shopper (or a script) types."""

from __future__ import annotations

import threading

import pytest

from catalog.model import Sku
from catalog.repository import MAX_SEARCH_CHARS, MAX_SEARCH_WORDS, Catalog, search_text

ODD = [
    " ".join(["banana"] * 993),  # was "Expression tree is too large"
    " ".join(["a"] * 5000),
    "x" * 50_000,  # one 50,000-character word
    "\ud800",  # a lone surrogate (was UnicodeEncodeError)
    "ban\udfffana",
    "\x00\x01\x02", "%", "_", "\\", "'", '"', "' OR 1=1 --", "١٠١", "²", "\u202ebanana", "\n\n", "",
]


@pytest.fixture
def cat(tmp_path):
    with Catalog.open(tmp_path / "c.sqlite") as c:
        c.upsert_many([Sku("banana", "Banana", "Fruit", "weight", 6000, 0, "0803", plu="101"),
                       Sku("milk", "Toned Milk", "Dairy", "unit", 2800, 500, "0401")])
        yield c


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
def test_odd_input_returns_a_list(cat, text):
    found = cat.search(text)
    assert isinstance(found, list)
    assert len(search_text(text)) <= MAX_SEARCH_CHARS and len(search_text(text).split()) <= MAX_SEARCH_WORDS


def test_bounds_keep_ordinary_search_working(cat):
    assert [s.sku for s in cat.search("ban")] == ["banana"]
    assert [s.sku for s in cat.search("101")] == ["banana"]
    assert [s.sku for s in cat.search("  toned \t MILK ")] == ["milk"]
    assert [s.sku for s in cat.search("milk " + "x" * 500)] == []  # the long word is cut, not matched
    assert cat.search("banana", limit=10**9) and cat.search("banana", limit=-5)


def test_a_database_error_is_no_results_not_an_exception(cat, monkeypatch):
    import sqlite3

    def broken(*a, **k):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(cat, "_select", broken)
    assert cat.search("banana") == []


def test_the_kiosk_search_never_raises(cat):
    from kiosk.services.shelf import Shelf
    from kiosk.services.views import Presenter

    shelf = Shelf(cat, threading.RLock(), Presenter(None))
    for text in ODD + [None, 42]:
        assert isinstance(shelf.search(text), list)
    assert [v.sku for v in shelf.search("banana")] == ["banana"]
