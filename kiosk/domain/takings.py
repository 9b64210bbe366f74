"""A kiosk's takings over a day (the end-of-day, or Z, report), summed from the receipts it issued.

Every figure is the sum of what the receipts say: the GST table adds each receipt's own CGST and SGST per rate
(what each invoice stated, which is what the returns are filed from), never tax recomputed on the day's total, so
the report and the receipts always agree to the paisa. Payments are counted per method; what staff changed
(voided, corrected, re-priced lines) is summed from the receipts too. The kiosk's store adds what no receipt holds:
reprints, payment attempts declined or cancelled that day, and payments the terminal approved that day after
they were released (declined or cancelled: the shopper gone or paid another way): money taken with no sale, shown
as "Approved late" with "refund or collect" for staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from kiosk.domain.money import format_inr, format_paise
from kiosk.domain.pricing import TaxRow, format_rate
from kiosk.domain.receipt import Receipt, columns, money_row, printable, roll_centred, roll_line, tax_table

__all__ = ["LATE_NOTE", "Takings", "TAX_CSV_HEADER", "tax_csv_rows"]

#: what staff do about a payment approved late (printed under its count)
LATE_NOTE = "refund or collect"

TAX_CSV_HEADER = ("receipt_no", "issued_at", "kiosk", "payment_method", "gst_rate", "taxable", "cgst", "sgst",
                  "total_incl_gst")


def _sum_tax(receipts: Sequence[Receipt]) -> tuple[TaxRow, ...]:
    per_rate: dict[int, list[int]] = {}
    for r in receipts:
        for row in r.bill.tax_rows:
            acc = per_rate.setdefault(row.rate_bp, [0, 0, 0, 0])
            for i, v in enumerate((row.gross, row.taxable, row.cgst, row.sgst)):
                acc[i] += v
    return tuple(TaxRow(rate, *acc) for rate, acc in sorted(per_rate.items()))


@dataclass(frozen=True)
class Takings:
    day: date
    kiosk_id: str = ""
    store_name: str = ""
    sales: int = 0
    first_receipt: str = ""
    last_receipt: str = ""
    items: int = 0
    gross: int = 0  # paise, GST included
    round_off: int = 0
    total: int = 0  # what the shoppers paid
    tax_rows: tuple[TaxRow, ...] = ()
    payments: dict[str, tuple[int, int]] = field(default_factory=dict)  # method -> (sales, paise)
    voided: int = 0
    voided_paise: int = 0
    corrected: int = 0
    repriced: int = 0
    reprints: int = 0
    declined: int = 0  # payment attempts declined or cancelled
    approved_late: int = 0  # released payments the terminal approved after all: refund or collect
    approved_late_paise: int = 0

    @classmethod
    def of(cls, day: date, receipts: Iterable[Receipt], *, kiosk_id: str = "", reprints: int = 0,
           declined: int = 0, approved_late: tuple[int, int] = (0, 0)) -> Takings:
        """The takings of ``receipts`` (the day's, in receipt order); ``approved_late``: ``(payments, paise)``
        approved that day after they were released (money taken with no sale)."""
        rs = list(receipts)
        payments: dict[str, tuple[int, int]] = {}
        for r in rs:
            n, paid = payments.get(r.payment_method or "-", (0, 0))
            payments[r.payment_method or "-"] = (n + 1, paid + r.bill.total)
        changes = [r.staff_changes for r in rs]
        return cls(day, kiosk_id or (rs[0].store.kiosk_id if rs else ""), rs[0].store.name if rs else "", len(rs),
                   rs[0].receipt_no if rs else "", rs[-1].receipt_no if rs else "",
                   sum(r.bill.item_count for r in rs), sum(r.bill.gross for r in rs),
                   sum(r.bill.round_off for r in rs), sum(r.bill.total for r in rs), _sum_tax(rs),
                   dict(sorted(payments.items())), sum(c.voided for c in changes),
                   sum(c.voided_paise for c in changes), sum(c.corrected for c in changes),
                   sum(c.repriced for c in changes), reprints, declined, *approved_late)

    def to_dict(self) -> dict:
        return {"day": self.day.isoformat(), "kiosk_id": self.kiosk_id, "store": self.store_name,
                "sales": self.sales, "first_receipt": self.first_receipt, "last_receipt": self.last_receipt,
                "items": self.items, "gross": self.gross, "round_off": self.round_off, "total": self.total,
                "tax": [{"rate_bp": r.rate_bp, "taxable": r.taxable, "cgst": r.cgst, "sgst": r.sgst,
                         "gross": r.gross} for r in self.tax_rows],
                "payments": {m: {"sales": n, "amount": a} for m, (n, a) in self.payments.items()},
                "voided_lines": self.voided, "voided_paise": self.voided_paise, "corrected_lines": self.corrected,
                "repriced_lines": self.repriced, "reprints": self.reprints, "declined_payments": self.declined,
                "approved_late_payments": self.approved_late, "approved_late_paise": self.approved_late_paise,
                "currency": "INR", "amounts_in": "paise"}

    def to_text(self, width: int = 42) -> str:
        """The report as printed on the receipt roll (``width`` columns)."""
        rule = "-" * width
        out = [roll_centred(self.store_name or "Self-checkout", width), rule,
               roll_centred("END OF DAY", width), roll_line(f"Kiosk {self.kiosk_id or '-'}",
                                                            self.day.strftime("%d-%m-%Y"), width), rule,
               roll_line("Sales", str(self.sales), width)]
        if self.sales:
            out.append(roll_line("Receipts", f"{self.first_receipt} to {self.last_receipt}", width))
        out.append(roll_line("Items", str(self.items), width))
        for label, amount in (("Gross (incl. GST)", format_inr(self.gross)),
                              ("Round off", format_inr(self.round_off, sign=True)), ("TOTAL", format_inr(self.total))):
            out += money_row(label, amount, width)
        # the payments' columns are as wide as their widest figure (a day can take crores)
        sales_w = max([5, *(len(str(n)) for n, _a in self.payments.values())])
        amount_w = max([6, *(columns(format_inr(a)) for _n, a in self.payments.values())])
        out += [rule, roll_line("Paid by", f"{'Sales':>{sales_w}} {'Amount':>{amount_w}}", width)]
        for m, (n, a) in self.payments.items():
            amount = format_inr(a)
            figures = f"{n:>{sales_w}} {' ' * (amount_w - columns(amount))}{amount}"
            out += money_row(f"  {printable(m).upper()}", figures, width)
        out += [rule, *tax_table(self.tax_rows, width), rule]
        out += money_row("Voided by staff", f"{self.voided} ({format_inr(self.voided_paise)})", width)
        out += [roll_line(label, value, width) for label, value in (
            ("Corrected by staff", str(self.corrected)), ("Re-priced by staff", str(self.repriced)),
            ("Receipts reprinted", str(self.reprints)), ("Payments declined", str(self.declined)))]
        out += money_row("Approved late", f"{self.approved_late} ({format_inr(self.approved_late_paise)})", width)
        if self.approved_late:  # money taken with no sale: staff refund the shopper (or collect the sale)
            out.append(roll_line(f"  {LATE_NOTE}", "", width))
        return "\n".join(out) + "\n"


def tax_csv_rows(receipts: Iterable[Receipt]) -> list[tuple[str, ...]]:
    """One row per receipt and GST rate (:data:`TAX_CSV_HEADER`), amounts in rupees with two decimals: what an
    accountant sums for the GST returns."""
    return [(r.receipt_no, r.issued_at.isoformat(), r.store.kiosk_id, r.payment_method, format_rate(row.rate_bp),
             format_paise(row.taxable), format_paise(row.cgst), format_paise(row.sgst), format_paise(row.gross))
            for r in receipts for row in r.bill.tax_rows]
