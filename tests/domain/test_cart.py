import pytest

from kiosk.domain.cart import MAX_NET_GRAMS, MAX_UNIT_QTY, Cart, CartError, CartLine
from kiosk.domain.pricing import SoldBy


def ids():
    n = iter(range(1, 10**6))
    return lambda: f"L{next(n)}"


def test_add_lines_in_order_and_totals():
    cart = Cart("c1", id_factory=ids())
    a = cart.add_unit("milk", "Milk", 7200, 0, 2)
    b = cart.add_weighed("banana", "Banana", 6000, 0, 1234)
    assert [x.line_id for x in cart.lines] == ["L1", "L2"]
    assert a.total == 14400 and b.total == 7404
    assert cart.total == 21804 and len(cart) == 2
    assert cart.bill().total == 21800


def test_repeated_unit_items_are_not_merged():
    cart = Cart(id_factory=ids())
    cart.add_unit("milk", "Milk", 7200, 0)
    cart.add_unit("milk", "Milk", 7200, 0)
    assert len(cart.lines) == 2 and cart.total == 14400


def test_remove_and_void():
    cart = Cart(id_factory=ids())
    a = cart.add_unit("milk", "Milk", 7200, 0)
    b = cart.add_unit("juice", "Juice", 25000, 1200)
    c = cart.add_unit("yog", "Yoghurt", 17900, 500)
    cart.remove(a.line_id)
    assert a.line_id not in cart
    v = cart.void(b.line_id)
    assert v.voided and b.line_id in cart
    assert [x.line_id for x in cart.lines] == [c.line_id]
    assert [x.line_id for x in cart.all_lines] == [b.line_id, c.line_id]
    assert cart.total == 17900
    with pytest.raises(CartError):
        cart.void(b.line_id)
    with pytest.raises(CartError):
        cart.remove("nope")


def test_zero_grams_refused():
    cart = Cart()
    with pytest.raises(CartError, match="net weight"):
        cart.add_weighed("banana", "Banana", 6000, 0, 0)
    assert len(cart) == 0


@pytest.mark.parametrize("qty", [0, -1, MAX_UNIT_QTY + 1, True, 1.0])
def test_bad_quantities_refused(qty):
    with pytest.raises(CartError):
        Cart().add_unit("milk", "Milk", 7200, 0, qty)


def test_limits_inclusive_and_huge_totals_exact():
    cart = Cart()
    line = cart.add_unit("tv", "Big thing", 99_999_999_99, 2800, MAX_UNIT_QTY)
    assert line.total == 99_999_999_99 * MAX_UNIT_QTY
    w = cart.add_weighed("rice", "Rice", 12345, 500, MAX_NET_GRAMS)
    assert w.total == 12345 * 100
    with pytest.raises(CartError):
        cart.add_weighed("rice", "Rice", 12345, 500, MAX_NET_GRAMS + 1)
    bill = cart.bill()
    assert bill.taxable + bill.cgst + bill.sgst == bill.gross


def test_kind_mismatch_refused():
    with pytest.raises(CartError):
        CartLine("x", "milk", "Milk", SoldBy.UNIT, 7200, 0, qty=1, net_grams=100)
    with pytest.raises(CartError):
        CartLine("x", "banana", "Banana", SoldBy.WEIGHT, 6000, 0, qty=1)
    with pytest.raises(CartError):
        CartLine("x", "milk", "Milk", SoldBy.UNIT, 7200, 700, qty=1)  # 7 % is no GST slab
    with pytest.raises(CartError):
        CartLine("x", "milk", "Milk", SoldBy.UNIT, -1, 0, qty=1)


def test_duplicate_line_id_refused():
    cart = Cart()
    cart.add(CartLine.unit("milk", "Milk", 7200, 0, line_id="same"))
    with pytest.raises(CartError):
        cart.add(CartLine.unit("milk", "Milk", 7200, 0, line_id="same"))


def test_close_freezes_and_empty_cart_cannot_close():
    with pytest.raises(CartError, match="no items"):
        Cart().close()
    cart = Cart()
    line = cart.add_unit("milk", "Milk", 7200, 0)
    cart.close()
    assert cart.closed
    for op in (lambda: cart.add_unit("milk", "Milk", 7200, 0), lambda: cart.remove(line.line_id),
               lambda: cart.void(line.line_id), cart.close):
        with pytest.raises(CartError, match="closed"):
            op()


def test_only_voided_lines_cannot_close():
    cart = Cart()
    line = cart.add_unit("milk", "Milk", 7200, 0)
    cart.void(line.line_id)
    with pytest.raises(CartError):
        cart.close()


def test_line_dict_round_trip():
    line = CartLine.weighed("banana", "Banana", 6000, 0, 250)
    assert CartLine.from_dict(line.to_dict()) == line
    assert line.to_dict()["total"] == 1500


def test_a_replacing_line_takes_the_place_of_the_line_it_replaces():
    n = iter(range(1, 100))
    cart = Cart("c", id_factory=lambda: f"L{next(n)}")
    a = cart.add_unit("a", "A", 100, 0)
    b = cart.add_unit("b", "B", 200, 0)
    c = cart.add_unit("c", "C", 300, 0)
    b2 = cart.add(CartLine.unit("d", "D", 400, 0, line_id="X", replaces=b.line_id))
    cart.void(b.line_id)
    assert [x.line_id for x in cart.lines] == [a.line_id, "X", c.line_id]
    assert [x.line_id for x in cart.all_lines] == [a.line_id, b.line_id, "X", c.line_id]
    assert cart.original(b2).line_id == b.line_id and cart.change_kind(b2) == "corrected"
    a2 = cart.add(CartLine.unit("a", "A", 50, 0, line_id="Y", replaces=a.line_id))
    cart.void(a.line_id)
    assert [x.line_id for x in cart.lines] == ["Y", "X", c.line_id] and cart.change_kind(a2) == "price"
    assert cart.change_kind(c) == "" and cart.original(c) is None
    # rebuilt from the stored lines (in the order they were written), the order is the same
    again = Cart("c", cart.all_lines)
    assert [x.line_id for x in again.lines] == ["Y", "X", c.line_id]
    assert CartLine.from_dict(b2.to_dict()) == b2 and "replaces" not in a.to_dict()


@pytest.mark.parametrize("field, value", [("sku", ["a"]), ("name", {"x": 1}), ("replaces", ["L0"]),
                                          ("replaces", {"a": 1}), ("voided", "false"), ("qty", True),
                                          ("unit_price", 155.0)])
def test_a_line_dict_of_the_wrong_types_is_refused_as_a_cart_error(field, value):
    """Every reader of a line dict (head office replays forged ones) gets a CartError, never a TypeError later in a
    dict key or a receipt row; ``voided: "false"`` is not read as voided."""
    d = {**CartLine.unit("tea", "Tea", 15500, 500, 1, line_id="L1").to_dict(), field: value}
    with pytest.raises(CartError):
        CartLine.from_dict(d)


def test_a_cart_takes_at_most_max_cart_lines_and_loads_any_stored_cart_in_linear_time():
    """The till refuses the line after MAX_CART_LINES; a stored cart of any size still loads (a kiosk must open what
    it recorded), fast: one by one, 16,000 replacing lines took 60 s."""
    import time

    from kiosk.domain.cart import MAX_CART_LINES

    lines = [CartLine.unit("tea", "Tea", 100, 500, 1, line_id="L0")]
    lines += [CartLine.unit("tea", "Tea", 100, 500, 1, line_id=f"L{i}", replaces="L0")
              for i in range(1, MAX_CART_LINES)]
    cart = Cart("c", lines)
    with pytest.raises(CartError, match="2000 lines"):
        cart.add_unit("tea", "Tea", 100, 500, 1)
    many = [lines[0]] + [CartLine.unit("tea", "Tea", 100, 500, 1, line_id=f"M{i}", replaces="L0")
                         for i in range(1, 20_000)]
    started = time.monotonic()
    loaded = Cart("c", many)
    assert time.monotonic() - started < 1.0 and len(loaded.all_lines) == 20_000
    assert [x.line_id for x in loaded.all_lines[:3]] == ["L0", "M19999", "M19998"]  # the latest correction first
