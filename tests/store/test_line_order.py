"""A staff correction keeps its place: the store remembers which line a line replaces and lists it there."""

from kiosk.domain.cart import CartLine
from kiosk.store import SalesStore


def test_a_replacing_line_is_listed_in_place_of_the_one_it_replaced_after_reopening(tmp_path):
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path) as store:
        a = store.add_unit("a", "A", 100, 0)
        b = store.add_unit("b", "B", 200, 0)
        store.add_unit("c", "C", 300, 0)
        store.add_line(CartLine.unit("d", "D", 400, 0, replaces=b.line_id))
        store.void_line(b.line_id, by="staff")
    with SalesStore.open(path) as store:
        cart = store.open_cart()
        assert [x.sku for x in cart.lines] == ["a", "d", "c"]
        assert cart.change_kind(cart.lines[1]) == "corrected" and cart.original(cart.lines[1]).sku == "b"
        assert cart.lines[0].line_id == a.line_id and cart.lines[0].replaces is None
