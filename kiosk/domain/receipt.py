"""The receipt of a closed cart: numbered, timed, with lines, GST table and totals.

Identical unit lines of the cart (same SKU, unit price and GST rate) are printed as one row
with the summed quantity; weighed lines are always printed one per weighing. Every row keeps
the ids of the cart lines it stands for, so the JSON can be traced back to the store.

Whatever text reaches the printed bill (product names, store header, payment method) goes through
:func:`printable`: one line, control/format/separator characters turned into spaces, cut to the roll's width
counted in printed columns (a full-width character takes two), so no name can add or wrap into a line of its
own — a forged ``TOTAL`` line cannot be smuggled in through the catalog.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from kiosk.domain.cart import Cart, CartError
from kiosk.domain.money import format_inr, format_paise
from kiosk.domain.pricing import Bill, SoldBy, TaxRow, compute_bill, format_rate, line_items, unit_line_total

__all__ = ["PAYMENT_METHODS", "StoreInfo", "ReceiptLine", "Receipt", "StaffChanges", "RECEIPT_SCHEMA", "printable",
           "columns", "roll_line", "roll_centred", "tax_table", "money_row", "wrap_words"]

RECEIPT_SCHEMA = "kiosk.receipt/1"
#: The ways a shopper can pay at the till (its payment page's buttons); a report lists any other as "other".
PAYMENT_METHODS = ("card", "upi", "cash")
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _char_columns(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def columns(text: str) -> int:
    """How many printed columns ``text`` takes (full-width characters two, combining marks none)."""
    return sum(_char_columns(ch) for ch in text)


def printable(text: object, width: int | None = None) -> str:
    """``text`` as one printed line: NFC, every control/format/surrogate/private-use/separator character a space,
    and (with ``width``) cut to that many printed columns."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in text)
    if width is None or columns(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_columns(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


def roll_line(left: str, right: str, width: int) -> str:
    """One printed line: ``left`` and ``right`` flush to the roll's edges (``left`` cut, marked ``~``, when both do
    not fit)."""
    left, right = printable(left), printable(right, width)
    space = width - columns(left) - columns(right)
    if space < 1:
        left = printable(left, max(0, width - columns(right) - 2)) + "~"
        space = width - columns(left) - columns(right)
    return left + " " * max(space, 0) + right


def roll_centred(text: str, width: int) -> str:
    text = printable(text, width)
    margin = width - columns(text)
    return (" " * (margin // 2 + (margin & width & 1)) + text).rstrip()  # as str.center places it


def wrap_words(text: str, width: int, indent: str = "    ") -> list[str]:
    """Generated text (no names: a line's detail, a staff price note) as lines of at most ``width`` columns: whole
    when it fits, else broken between its double-space groups, then between words, continuation lines indented. A
    word (an amount, a weight) is never cut unless it alone is wider than the roll."""
    text = printable(text)
    if columns(text) <= width:
        return [text]
    lead = text[:len(text) - len(text.lstrip(" "))]
    units: list[str] = []
    for group in text.strip().split("  "):
        units += [group] if columns(group) <= width - len(indent) else group.split()
    lines, current = [], lead
    for unit in (u.strip() for u in units if u.strip()):
        joined = current + (" " if current.strip() else "") + unit
        if current.strip() and columns(joined) > width:
            lines.append(current)
            joined = indent + unit
        current = joined
    lines.append(current)
    return [printable(line, width) for line in lines]


def money_row(left: str, amount: str, width: int, *, wrap: bool = False) -> list[str]:
    """A label and an amount: one line when both fit, else the label (``wrap``: generated text, wrapped; else cut
    like any name) and then the amount right-aligned on a line of its own. The amount is never cut."""
    if columns(printable(left)) + 1 + columns(amount) <= width:
        return [roll_line(left, amount, width)]
    head = wrap_words(left, width) if wrap else [printable(left, width)]
    return [*head, " " * max(width - columns(amount), 0) + amount]


_TAX_HEAD = ("Taxable", "CGST", "SGST", "Total")
#: the GST table's layouts, tried in turn: the four amounts on one line; Taxable and Total over CGST and SGST
_TAX_LAYOUTS = (((0, 1, 2, 3),), ((0, 3), (1, 2)))


def _tax_grid(body: list[tuple[str, list[str]]], layout: tuple[tuple[int, ...], ...], width: int) -> list[str] | None:
    """The table in ``layout`` (lines of column indexes), each column as wide as its widest figure or heading and the
    spare space shared between the gaps; None when it does not fit ``width``."""
    rate_w = max(columns(rate) for rate, _ in [("GST", []), *body])
    ncols = max(len(line) for line in layout)
    col_w = [max(columns(text) for line in layout if j < len(line)
                 for text in [_TAX_HEAD[line[j]], *(values[line[j]] for _, values in body)]) for j in range(ncols)]
    spare = width - rate_w - sum(1 + w for w in col_w)
    if spare < 0:
        return None
    gaps = [1 + spare // ncols + (1 if j < spare % ncols else 0) for j in range(ncols)]

    def lines(rate: str, texts: Sequence[str]) -> list[str]:
        out = []
        for i, line in enumerate(layout):
            cells = "".join(" " * (gaps[j] + col_w[j] - columns(texts[k])) + texts[k] for j, k in enumerate(line))
            out.append(" " * (rate_w - columns(rate if i == 0 else "")) + (rate if i == 0 else "") + cells)
        return out

    out = lines("GST", _TAX_HEAD)
    for rate, values in body:
        out += lines(rate, values)
    return out


def tax_table(rows: Sequence[TaxRow], width: int) -> list[str]:
    """The GST table as printed: a row per rate (taxable value, CGST, SGST, total incl. GST) and their sums, its
    columns sized from the widest figure. Where the four do not fit on one line a row takes two (Taxable and Total
    over CGST and SGST), and where those do not fit either each figure gets a labelled line: a figure is never cut."""
    sums = [sum(getattr(r, k) for r in rows) for k in ("taxable", "cgst", "sgst", "gross")]
    body = [(format_rate(r.rate_bp), [format_paise(v) for v in (r.taxable, r.cgst, r.sgst, r.gross)]) for r in rows]
    body.append(("", [format_paise(v) for v in sums]))
    for layout in _TAX_LAYOUTS:
        grid = _tax_grid(body, layout, width)
        if grid is not None:
            return grid
    out = []
    for rate, values in body:
        out.append(printable(f"GST {rate}" if rate else "All rates", width))
        for head, value in zip(_TAX_HEAD, values):
            out += money_row(f"  {head}", value, width)
    return out


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """Header printed on every receipt, and the store's time zone its times are in (``timezone``: None for the
    machine's local zone; not printed, not stored with a receipt, not compared)."""

    name: str = "Self-checkout"
    address: str = ""
    gstin: str = ""
    kiosk_id: str = ""
    phone: str = ""
    timezone: tzinfo | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One printed row: a weighed line, or one or more identical unit lines summed."""

    sku: str
    name: str
    sold_by: SoldBy
    unit_price: int
    gst_bp: int
    qty: int | None
    net_grams: int | None
    total: int
    line_ids: tuple[str, ...]
    note: str = ""  # what staff changed: "corrected from Banana", "price changed from ₹125.50"

    @property
    def items(self) -> int:
        """Items the row counts on the bill (:func:`~kiosk.domain.pricing.line_items`)."""
        return line_items(self.sold_by, self.qty)

    def detail(self) -> str:
        if self.sold_by is SoldBy.WEIGHT:
            kg, g = divmod(self.net_grams, 1000)
            return f"{kg}.{g:03d} kg x {format_inr(self.unit_price)}/kg"
        return f"{self.qty} x {format_inr(self.unit_price)}"

    def to_dict(self) -> dict:
        return {
            "sku": self.sku, "name": self.name, "sold_by": self.sold_by.value, "unit_price": self.unit_price,
            "gst_bp": self.gst_bp, "qty": self.qty, "net_grams": self.net_grams, "total": self.total,
            "line_ids": list(self.line_ids), **({"note": self.note} if self.note else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ReceiptLine:
        return cls(d["sku"], d["name"], SoldBy(d["sold_by"]), d["unit_price"], d["gst_bp"], d["qty"],
                   d["net_grams"], d["total"], tuple(d["line_ids"]), d.get("note", ""))


def _note(cart: Cart, line) -> str:
    """The receipt's mark for a line staff changed (corrected to another item, or re-priced)."""
    kind, before = cart.shown_change(line)  # against the line's first price or item, not the last step's
    if kind == "corrected":
        return f"corrected by staff (was {before.name})"
    if kind == "price":
        per_kg = "/kg" if before.sold_by is SoldBy.WEIGHT else ""
        return f"price changed by staff (was {format_inr(before.unit_price)}{per_kg})"
    return ""


@dataclass(frozen=True, slots=True)
class StaffChanges:
    """What staff changed on a bill, told apart: lines voided outright (not charged, ``voided_paise`` their worth),
    lines corrected to another item, lines re-priced. A correction or a price change voids the line it replaces;
    that line is counted as the correction or price change, never as a void."""

    voided: int = 0
    voided_paise: int = 0
    corrected: int = 0
    repriced: int = 0

    @classmethod
    def of(cls, cart: Cart) -> StaffChanges:
        replaced = {line.replaces for line in cart.all_lines if line.replaces}
        voids = [line for line in cart.all_lines if line.voided and line.line_id not in replaced]
        kinds = [cart.change_kind(line) for line in cart.all_lines if line.replaces]
        return cls(len(voids), sum(line.total for line in voids), kinds.count("corrected"), kinds.count("price"))

    @classmethod
    def from_dict(cls, d: dict, lines: tuple[ReceiptLine, ...]) -> StaffChanges:
        """Read from a receipt's JSON; one written before the kinds were told apart (only ``voided_count``, which
        counted the lines a correction or price change replaced too) gets them from its lines' marks."""
        if "corrected_count" in d:
            return cls(d["voided_count"], d.get("voided_paise", 0), d["corrected_count"], d["repriced_count"])
        marked = {kind: sum(len(x.line_ids) for x in lines if x.note.startswith(prefix))
                  for kind, prefix in (("corrected", "corrected by staff"), ("price", "price changed by staff"))}
        voided = max(0, d.get("voided_count", 0) - marked["corrected"] - marked["price"])
        return cls(voided, 0, marked["corrected"], marked["price"])

    def to_dict(self) -> dict:
        return {"voided_count": self.voided, "voided_paise": self.voided_paise, "corrected_count": self.corrected,
                "repriced_count": self.repriced}

    def text_lines(self) -> list[tuple[str, str]]:
        """The receipt's rows (left, right) for the kinds that happened, in English."""
        rows = []
        if self.voided:
            rows.append((f"Voided by staff: {self.voided} (not charged)",
                         format_inr(self.voided_paise) if self.voided_paise else ""))
        if self.corrected:
            rows.append((f"Corrected by staff: {self.corrected}", ""))
        if self.repriced:
            rows.append((f"Re-priced by staff: {self.repriced}", ""))
        return rows


def _consolidate(cart: Cart) -> tuple[ReceiptLine, ...]:
    rows: list[ReceiptLine] = []
    index: dict[tuple, int] = {}
    for line in cart.lines:
        note = _note(cart, line)
        if line.sold_by is SoldBy.UNIT:
            key = (line.sku, line.unit_price, line.gst_bp, line.name, note)
            if key in index:
                i = index[key]
                old = rows[i]
                qty = old.qty + line.qty
                rows[i] = ReceiptLine(old.sku, old.name, old.sold_by, old.unit_price, old.gst_bp, qty, None,
                                      unit_line_total(old.unit_price, qty), old.line_ids + (line.line_id,), old.note)
                continue
            index[key] = len(rows)
        rows.append(ReceiptLine(line.sku, line.name, line.sold_by, line.unit_price, line.gst_bp, line.qty,
                                line.net_grams, line.total, (line.line_id,), note))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class Receipt:
    receipt_no: str
    issued_at: datetime
    cart_id: str
    lines: tuple[ReceiptLine, ...]
    bill: Bill
    store: StoreInfo = field(default_factory=StoreInfo)
    payment_method: str = ""
    staff_changes: StaffChanges = field(default_factory=StaffChanges)

    @property
    def voided_count(self) -> int:
        """Lines staff voided outright (not those a correction or price change replaced)."""
        return self.staff_changes.voided

    @classmethod
    def from_cart(cls, cart: Cart, receipt_no: str, issued_at: datetime, *, store: StoreInfo | None = None,
                  payment_method: str = "") -> Receipt:
        """Build the receipt of a closed cart (``cart.close()`` first)."""
        if not cart.closed:
            raise CartError(f"cart {cart.cart_id} must be closed before its receipt is made")
        if issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware (a receipt time is a legal record)")
        return cls(
            receipt_no=receipt_no, issued_at=issued_at, cart_id=cart.cart_id, lines=_consolidate(cart),
            bill=cart.bill(), store=store or StoreInfo(), payment_method=payment_method,
            staff_changes=StaffChanges.of(cart),
        )

    # -- text ----------------------------------------------------------------------------
    def to_text(self, width: int = 42) -> str:
        """The monospace bill as printed on a thermal roll (``width`` characters a line)."""
        if width < 32:
            raise ValueError("a receipt needs at least 32 columns")
        rule = "-" * width

        def lr(left: str, right: str) -> str:
            return roll_line(left, right, width)

        def centred(text: str) -> str:
            return roll_centred(text, width)

        out = [centred(self.store.name)]
        if self.store.address:
            out.append(centred(self.store.address))
        if self.store.phone:
            out.append(centred(f"Phone {self.store.phone}"))
        if self.store.gstin:
            out.append(centred(f"GSTIN {self.store.gstin}"))
        # a tax invoice names the seller's GSTIN; without one configured the kiosk prints a plain receipt
        out += [rule, centred("TAX INVOICE" if self.store.gstin else "RECEIPT"),
                *money_row(f"Receipt {self.receipt_no}", self.issued_at.strftime("%d-%m-%Y %H:%M"), width)]
        if self.store.kiosk_id:
            out.append(printable(f"Kiosk {self.store.kiosk_id}", width))
        out.append(rule)
        for row in self.lines:
            out.append(printable(row.name, width))
            out += money_row(f"  {row.detail()}  GST {format_rate(row.gst_bp)}", format_inr(row.total), width,
                             wrap=True)
            if row.note:  # a price note's amount is wrapped, never cut; a correction's item name is cut like names
                note = f"  * {row.note}"
                out += wrap_words(note, width) if row.note.startswith("price changed") else [printable(note, width)]
        out.append(rule)
        b = self.bill
        out.append(f"Items {sum(r.items for r in self.lines)}")  # pricing.line_items: units, 1 per weighed line
        for left, amount in (("Gross (incl. GST)", format_inr(b.gross)),
                             ("Round off", format_inr(b.round_off, sign=True)), ("TOTAL", format_inr(b.total))):
            out += money_row(left, amount, width)
        if self.payment_method:
            out.append(lr("Paid by", self.payment_method.upper()))
        out.append(rule)
        out += tax_table(b.tax_rows, width)
        out.append(rule)
        note = "Prices include GST. CGST = SGST = half."
        out += [note] if len(note) <= width else ["Prices include GST.", "CGST = SGST = half."]
        for left, right in self.staff_changes.text_lines():
            out += money_row(left, right, width, wrap=True) if right else [printable(left, width)]
        out.append("Thank you!".center(width).rstrip())
        return "\n".join(out) + "\n"

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        b = self.bill
        return {
            "schema": RECEIPT_SCHEMA,
            "receipt_no": self.receipt_no,
            "issued_at": self.issued_at.isoformat(),
            "cart_id": self.cart_id,
            "store": {"name": self.store.name, "address": self.store.address, "gstin": self.store.gstin,
                      "kiosk_id": self.store.kiosk_id, **({"phone": self.store.phone} if self.store.phone else {})},
            "lines": [r.to_dict() for r in self.lines],
            "tax": [{"rate_bp": r.rate_bp, "gross": r.gross, "taxable": r.taxable, "cgst": r.cgst, "sgst": r.sgst}
                    for r in b.tax_rows],
            "gross": b.gross,
            "round_off": b.round_off,
            "total": b.total,
            "item_count": b.item_count,
            "payment_method": self.payment_method,
            **self.staff_changes.to_dict(),
            "currency": "INR",
            "amounts_in": "paise",
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Receipt:
        d = json.loads(text)
        if d.get("schema") != RECEIPT_SCHEMA:
            raise ValueError(f"not a {RECEIPT_SCHEMA} document: schema={d.get('schema')!r}")
        tax_rows = tuple(TaxRow(t["rate_bp"], t["gross"], t["taxable"], t["cgst"], t["sgst"]) for t in d["tax"])
        bill = Bill(gross=d["gross"], tax_rows=tax_rows, round_off=d["round_off"], total=d["total"],
                    item_count=d["item_count"])
        lines = tuple(ReceiptLine.from_dict(x) for x in d["lines"])
        # the stored totals must agree with the lines: a receipt that does not add up is refused
        expected = compute_bill((x.total, x.gst_bp) for x in lines)
        if (expected.gross, expected.tax_rows, expected.round_off, expected.total) != (
                bill.gross, bill.tax_rows, bill.round_off, bill.total):
            raise ValueError(f"receipt {d['receipt_no']}: totals do not match its lines")
        s = d["store"]
        return cls(receipt_no=d["receipt_no"], issued_at=datetime.fromisoformat(d["issued_at"]), cart_id=d["cart_id"],
                   lines=lines, bill=bill,
                   store=StoreInfo(s["name"], s["address"], s["gstin"], s["kiosk_id"], s.get("phone", "")),
                   payment_method=d["payment_method"], staff_changes=StaffChanges.from_dict(d, lines))
