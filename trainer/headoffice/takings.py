"""``checkout report takings SRC --keys DIR [--date D | --from D --to D] [--store S] [--csv FILE] [--json]``: each
store's day across all its kiosks, from the audit logs the kiosks send to head office (what a till cannot quietly
rewrite), rather than from what each till prints (``checkout receipt day``).

The audit batches are read and checked as ``checkout audit collect`` checks them (:mod:`.audit_status`: a forged or
altered batch refused whole, the accepted ones joined per kiosk). Each kiosk's rows are then replayed in order: its
carts are rebuilt from their ``line.add`` / ``line.remove`` / ``line.void`` rows (each line's stated total checked
against its price and quantity or weight), and at each ``sale.closed`` the cart becomes a receipt with the till's own
code (:class:`kiosk.domain.receipt.Receipt`), so the GST per rate (taxable value, CGST, SGST: each bill's
GST-inclusive split, summed), payments, items and staff changes are what the kiosk's day report shows, to the paisa
(:class:`kiosk.domain.takings.Takings`). A sale whose rebuilt lines do not give the gross, round-off, total and line
count its ``sale.closed`` row states (line rows missing, withheld or edited) is **not counted**: it is listed as a
discrepancy with its receipt number and what each side says.

The day is a calendar day in the store's time zone, by the kiosk's own rule (:mod:`kiosk.domain.store_time`: each
time converted to the zone, then its date). The zone is the one the kiosk's newest ``sale.closed`` row states
(``"zone"``, its ``store_timezone``), and it dates all that kiosk's rows, those written before the zone was set (with
another offset) too, as the kiosk dates every stored time in its zone now; a kiosk that has stated none (no
``store_timezone``: it writes and counts in its machine's zone) has each row dated in the offset it was written with.
A sale counts on the day of its ``sale.closed`` row, a reprint (``receipt.reprinted``) and a declined or cancelled
payment on theirs, and a payment the terminal approved after it was released (``payment.late_approval``: money taken
with no sale, for staff to refund or collect) on the day it was approved (once, however often it was reported).

Per store and day every kiosk of the store is listed (one that sold nothing shows zeros), with its status: ``ok``,
or ``unverified: <first problem>`` when its chain has one (rows not received, rewritten, a log that began again, a
batch refused, no enrolled key). An unverified kiosk's figures are shown but **left out of the store total**, which
sums the verified kiosks only and names those left out. Rows sent withheld for size (their detail stays at the
kiosk) are named.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path

from catalog.csv_io import neutralise_formula
from kiosk.domain.cart import MAX_CART_LINES, Cart, CartError, CartLine
from kiosk.domain.money import format_inr, format_paise
from kiosk.domain.pricing import format_rate
from kiosk.domain.receipt import PAYMENT_METHODS, Receipt, StoreInfo, columns, printable
from kiosk.domain.store_time import store_zone
from kiosk.domain.takings import Takings
from kiosk.errors import UserError
from kiosk.exchange.audit import withheld
from trainer.headoffice.audit_status import KioskAudit, join_runs, read_audit

__all__ = ["KioskDay", "StoreDay", "TakingsReport", "csv_columns", "csv_rows", "format_takings", "parse_days",
           "read_kiosks", "takings_report", "write_csv"]

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
DECLINED = ("payment.declined", "payment.cancelled")  # what the till counts as "Payments declined"
LATE = "payment.late_approval"  # what the till counts as "Approved late" (refund or collect)
SHOWN = 40  # printed columns of a kiosk's own text (receipt number, id, SKU) quoted in the report
OTHER = "other"  # the column of any payment method the till does not offer (PAYMENT_METHODS)


def said(value: object, width: int = SHOWN) -> str:
    """A kiosk's text as quoted in the report: one line, at most ``width`` columns (cut ones end in ``…``)."""
    text = printable(value)
    return text if columns(text) <= width else printable(text, width - 1) + "…"


def _count(value: object) -> bool:
    return type(value) is int  # exact: not a bool, not a float equal to it


# -- options ---------------------------------------------------------------------------------------------------------
def _date(option: str, text: str) -> date:
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UserError(f"{option} {text!r}: not a date (YYYY-MM-DD)")


def parse_days(on: str | None, first: str | None, last: str | None) -> tuple[date | None, date | None]:
    """``--date`` or ``--from`` / ``--to`` as the first and last day (inclusive; None: open), one line when wrong."""
    if on is not None and (first is not None or last is not None):
        raise UserError("--date is one day, --from/--to a range: give one or the other")
    if on is not None:
        day = _date("--date", on)
        return day, day
    start = _date("--from", first) if first is not None else None
    end = _date("--to", last) if last is not None else None
    if start and end and start > end:
        raise UserError(f"--from {start} is after --to {end}: no day between")
    return start, end


# -- reading the kiosks' audit logs ----------------------------------------------------------------------------------
@dataclass
class _Kiosk:
    audit: KioskAudit
    chains: list[list[dict]] = field(default_factory=list)  # the rows of each accepted batch
    refusals: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        problems = self.audit.restarts + self.audit.problems + self.refusals
        if problems:
            return f"unverified: {problems[0]}"
        return "ok" if self.audit.key_id else "unverified: no enrolled key (its rows' MACs cannot be checked)"

    def runs(self) -> list[list[dict]]:
        """The rows in order: one run per start of the kiosk's log (as ``audit collect`` joins them), each in
        sequence order, the older run first."""
        return [[run[s] for s in sorted(run)] for run in join_runs(self.chains)]


def read_kiosks(src: str, keys_dir: str | Path) -> dict[tuple[str, str], _Kiosk]:
    """Every kiosk's accepted audit rows at ``src`` and its chain's status, checked with the enrolled keys in
    ``keys_dir`` as ``checkout audit collect`` checks them (each batch read once; a batch out of place is no
    kiosk's: audit collect names it)."""
    audits, chains, refusals = read_audit(src, keys_dir, datetime.now(timezone.utc), need_folder=True)
    kiosks = {where: _Kiosk(audit, chains.get(where, [])) for where, audit in audits.items()}
    for r in refusals:
        if (r["store"], r["kiosk"]) in kiosks:
            kiosks[(r["store"], r["kiosk"])].refusals.append(
                f"batch {r['batch'].rsplit('/', 1)[-1]} refused: {r['reason']}")
    return kiosks


# -- replaying one kiosk's rows --------------------------------------------------------------------------------------
def _day(row: dict, zone: tzinfo | None = None) -> tuple[date, datetime] | None:
    """The store's day of a row's time, and the time on the store's clock: in ``zone`` (None: the row's own
    offset)."""
    try:
        at = datetime.fromisoformat(row["at"])
        if zone is not None and at.tzinfo is not None:
            at = at.astimezone(zone)
    except (TypeError, ValueError, OverflowError):
        return None
    return at.date(), at


def kiosk_zone(runs: list[list[dict]]) -> tzinfo | None:
    """The store's time zone as the kiosk last stated it (its newest ``sale.closed`` row with a ``"zone"`` this
    machine knows); None when it stated none (each row is then dated in its own offset)."""
    for run in reversed(runs):
        for row in reversed(run):
            detail = row.get("detail")
            name = detail.get("zone") if row.get("kind") == "sale.closed" and isinstance(detail, dict) else None
            if isinstance(name, str) and name and withheld(row) is None:
                try:
                    return store_zone(name)
                except ValueError:
                    continue
    return None


def _paise(value: object) -> str:
    return format_inr(value) if _count(value) else said(repr(value))


@dataclass
class _Ledger:
    """One kiosk's sales rebuilt from its rows: receipts, discrepancies, reprints, declines and withheld rows by
    day."""

    store: str
    kiosk: str
    carts: dict[str, dict[str, CartLine]] = field(default_factory=dict)  # open carts: line id -> line, added order
    broken: dict[str, str] = field(default_factory=dict)  # cart id -> why its lines cannot be trusted
    receipts: dict[date, list[Receipt]] = field(default_factory=lambda: defaultdict(list))
    discrepancies: dict[date, list[dict]] = field(default_factory=lambda: defaultdict(list))
    withheld: dict[date, list[str]] = field(default_factory=lambda: defaultdict(list))
    reprints: Counter = field(default_factory=Counter)
    declined: Counter = field(default_factory=Counter)
    late: dict[date, tuple[int, int]] = field(default_factory=dict)  # approved late: (payments, paise)
    late_keys: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    zone: tzinfo | None = None  # the store's zone (kiosk_zone); None: each row's own offset

    def replay(self, row: dict) -> None:
        when = _day(row, self.zone)
        if when is None:  # a kiosk writes ISO times; only a kiosk with no enrolled key (unverified) could send other
            return
        day, at = when
        self.days.add(day)
        kind, detail = row["kind"], row["detail"]
        if withheld(row) is not None:
            self.withheld[day].append(f"row {row['seq']} ({said(kind)}, {said(row['at'])}): its detail "
                                      f"({withheld(row)} bytes) was too large for a batch and stays in the kiosk's log"
                                      + (": that sale is not counted here" if kind == "sale.closed" else ""))
        elif kind.startswith("line."):
            self._line(row["seq"], kind, detail)
        elif kind == "sale.closed":
            self._close(*(_day({"at": detail.get("closed_at")}, self.zone) or (day, at)), detail)  # the receipt's time
        elif kind == "receipt.reprinted":
            self.reprints[day] += 1
        elif kind in DECLINED:
            self.declined[day] += 1
        elif kind == LATE and str(detail.get("key")) not in self.late_keys:  # once, on the day first approved
            self.late_keys.add(str(detail.get("key")))
            n, paise = self.late.get(day, (0, 0))
            amount = detail.get("amount")
            self.late[day] = (n + 1, paise + (amount if _count(amount) else 0))

    def _line(self, seq: int, kind: str, d: dict) -> None:
        cart_id = str(d.get("cart_id") or "")
        lines = self.carts.setdefault(cart_id, {})
        try:
            line = CartLine.from_dict(d)
        except (CartError, KeyError, TypeError, ValueError) as exc:
            self.broken.setdefault(cart_id, f"row {seq} ({said(kind)}) is not a cart line: {said(exc, 200)}")
            return
        why = ""
        if not _count(d.get("total")) or d.get("total") != line.total:
            why = (f"row {seq} ({kind}): {said(line.sku)} says {_paise(d.get('total'))}, its price makes "
                   f"{_paise(line.total)}")
        elif kind == "line.add":
            why = f"row {seq}: line {said(line.line_id)} added twice" if line.line_id in lines else ""
            lines.setdefault(line.line_id, line)
        elif kind in ("line.remove", "line.void") and line.line_id not in lines:
            why = f"row {seq} ({kind}): line {said(line.line_id)} was never added (its row not received)"
        elif kind == "line.remove":
            del lines[line.line_id]
        elif kind == "line.void":
            lines[line.line_id] = replace(lines[line.line_id], voided=True)
        else:
            why = f"row {seq}: {said(kind)} is no line event head office knows"
        if why:
            self.broken.setdefault(cart_id, why)

    def _close(self, day: date, at: datetime, d: dict) -> None:
        self.days.add(day)
        cart_id, receipt_no = str(d.get("cart_id") or ""), str(d.get("receipt_no") or "?")
        lines, why = self.carts.pop(cart_id, {}), self.broken.pop(cart_id, "")
        if len(lines) > MAX_CART_LINES:  # a till refuses the line after them
            why = why or f"{len(lines)} lines: more than a till's cart holds ({MAX_CART_LINES} lines)"
        try:
            cart = Cart(cart_id or None, lines.values(), closed=True)
            receipt = Receipt.from_cart(cart, receipt_no, at, store=StoreInfo(name=self.store, kiosk_id=self.kiosk),
                                        payment_method=str(d.get("method") or ""))
        except (CartError, ValueError) as exc:
            cart, receipt, why = None, None, why or said(exc, 200)
        if receipt is not None and not why and not cart.lines:
            why = "no line left to pay for (a till never closes an empty cart)"
        if receipt is not None and not why:
            b, stated = receipt.bill, tuple(d.get(k) for k in ("gross", "round_off", "total", "lines"))
            if all(_count(v) for v in stated) and (b.gross, b.round_off, b.total, len(cart.lines)) == stated:
                self.receipts[day].append(receipt)
                return
        made = (f"its line rows make {len(cart.lines)} line(s), gross {format_inr(receipt.bill.gross)}, total "
                f"{format_inr(receipt.bill.total)}" if receipt is not None else "its lines cannot be rebuilt")
        self.discrepancies[day].append({
            "receipt_no": receipt_no, "cart_id": cart_id, "gross": d.get("gross"), "total": d.get("total"),
            "lines": d.get("lines"),
            "message": f"receipt {said(receipt_no)}: closed with {said(d.get('lines'))} line(s), gross "
                       f"{_paise(d.get('gross'))}, total {_paise(d.get('total'))}; {made}"
                       + (f" ({why})" if why else "") + ": not counted"})


def _ledger(store: str, kiosk: str, k: _Kiosk) -> _Ledger:
    runs = k.runs()
    led = _Ledger(store, kiosk, zone=kiosk_zone(runs))
    for run in runs:
        for row in run:
            led.replay(row)
        led.carts.clear()  # a cart left open when the log began again is gone with that database
        led.broken.clear()
    return led


# -- the report ------------------------------------------------------------------------------------------------------
@dataclass
class KioskDay:
    kiosk: str
    status: str  # "ok" or "unverified: <first problem>"
    takings: Takings
    discrepancies: list[dict] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.status == "ok"

    @property
    def discrepant_total(self) -> int:
        """What the sales not counted (discrepancies) were closed at, by their ``sale.closed`` rows."""
        return sum(d["total"] for d in self.discrepancies if isinstance(d["total"], int))

    def to_dict(self) -> dict:
        return {**self.takings.to_dict(), "kiosk": self.kiosk, "status": self.status, "verified": self.verified,
                "discrepancies": self.discrepancies, "discrepant_total": self.discrepant_total,
                "withheld": self.withheld}


@dataclass
class StoreDay:
    store: str
    day: date
    kiosks: list[KioskDay]
    total: Takings  # the verified kiosks' takings summed

    @property
    def left_out(self) -> list[str]:
        return [k.kiosk for k in self.kiosks if not k.verified]

    def to_dict(self) -> dict:
        return {"store": self.store, "day": self.day.isoformat(), "kiosks": [k.to_dict() for k in self.kiosks],
                "total": {**self.total.to_dict(), "kiosks_counted": [k.kiosk for k in self.kiosks if k.verified],
                          "kiosks_left_out": self.left_out}}


@dataclass
class TakingsReport:
    source: str
    first: date | None
    last: date | None
    days: list[StoreDay]
    unshown: list[str] = field(default_factory=list)  # "store/kiosk: unverified: …" of kiosks in no day shown

    @property
    def clean(self) -> bool:
        """Every kiosk verified (those in no day shown too: one whose batches never came) and no sale discrepant."""
        return not self.unshown and all(k.verified and not k.discrepancies for s in self.days for k in s.kiosks)

    def to_dict(self) -> dict:
        return {"source": self.source, "from": self.first.isoformat() if self.first else None,
                "to": self.last.isoformat() if self.last else None, "stores": [s.to_dict() for s in self.days],
                "unverified_kiosks_not_shown": self.unshown,
                "currency": "INR", "amounts_in": "paise"}


def _kiosk_day(day: date, store: str, kiosk: str, k: _Kiosk, led: _Ledger) -> KioskDay:
    takings = Takings.of(day, led.receipts.get(day, []), kiosk_id=kiosk, reprints=led.reprints[day],
                         declined=led.declined[day], approved_late=led.late.get(day, (0, 0)))
    return KioskDay(kiosk, k.status, replace(takings, store_name=store), list(led.discrepancies.get(day, [])),
                    list(led.withheld.get(day, [])))


def _store_day(store: str, day: date, kiosks: dict[str, tuple[_Kiosk, _Ledger]]) -> StoreDay:
    rows = [_kiosk_day(day, store, name, k, led) for name, (k, led) in sorted(kiosks.items())]
    counted = [name for name, row in zip(sorted(kiosks), rows) if row.verified]
    receipts = [r for name in counted for r in kiosks[name][1].receipts.get(day, [])]
    late = [kiosks[n][1].late.get(day, (0, 0)) for n in counted]
    total = Takings.of(day, receipts, reprints=sum(kiosks[n][1].reprints[day] for n in counted),
                       declined=sum(kiosks[n][1].declined[day] for n in counted),
                       approved_late=(sum(n for n, _ in late), sum(a for _, a in late)))
    return StoreDay(store, day, rows, replace(total, kiosk_id="", store_name=store, first_receipt="", last_receipt=""))


def takings_report(src: str, keys_dir: str | Path, *, first: date | None = None, last: date | None = None,
                   stores: list[str] | None = None) -> TakingsReport:
    """Each store's takings per day from ``first`` to ``last`` (inclusive; None: open), per kiosk and in total."""
    kiosks = read_kiosks(src, keys_dir)
    known = sorted({s for s, _ in kiosks})
    unknown = [s for s in stores or [] if s not in known]
    if unknown:
        raise UserError(f"--store {unknown[0]}: no kiosk of that store at {src} (stores: {', '.join(known) or 'none'})")
    by_store: dict[str, dict[str, tuple[_Kiosk, _Ledger]]] = defaultdict(dict)
    for (store, kiosk), k in sorted(kiosks.items()):
        if not stores or store in stores:
            by_store[store][kiosk] = (k, _ledger(store, kiosk, k))
    days = []
    for store, members in sorted(by_store.items()):
        active = set().union(*(led.days for _, led in members.values()))
        if first is not None and first == last:
            active.add(first)  # the day asked for, even when nothing happened
        for day in sorted(d for d in active if (first is None or d >= first) and (last is None or d <= last)):
            days.append(_store_day(store, day, members))
    shown = {(s.store, k.kiosk) for s in days for k in s.kiosks}
    unshown = [f"{store}/{kiosk}: {k.status}" for store, members in sorted(by_store.items())
               for kiosk, (k, _) in sorted(members.items()) if (store, kiosk) not in shown and k.status != "ok"]
    return TakingsReport(str(src), first, last, days, unshown)


# -- text, CSV -------------------------------------------------------------------------------------------------------
def _methods_rates(days: list[StoreDay]) -> tuple[list[str], list[int]]:
    """The payment methods (the till's own, then ``other`` for any it does not offer: a handful of columns however
    many names a kiosk sends) and GST rates (the accepted slabs) any kiosk of ``days`` took."""
    ts = [k.takings for s in days for k in s.kiosks]
    seen = {m if m in PAYMENT_METHODS else OTHER for t in ts for m in t.payments}
    return [m for m in (*PAYMENT_METHODS, OTHER) if m in seen], sorted({r.rate_bp for t in ts for r in t.tax_rows})


def _paid(t: Takings, method: str) -> tuple[int, int]:
    """Sales and amount paid by ``method`` (``other``: by every method the till does not offer)."""
    if method != OTHER:
        return t.payments.get(method, (0, 0))
    other = [v for m, v in t.payments.items() if m not in PAYMENT_METHODS]
    return sum(n for n, _ in other), sum(a for _, a in other)


def _figures(t: Takings, methods: list[str], rates: list[int]) -> list[tuple[str, str]]:
    """``(label, value)`` of every figure of ``t``, in the order of the till's day report."""
    tax = {r.rate_bp: r for r in t.tax_rows}
    receipts = f"{said(t.first_receipt, 16)}–{said(t.last_receipt, 16)}" if t.first_receipt else "-"
    out = [("Sales", str(t.sales)), ("Receipts", receipts),
           ("Items", str(t.items)), ("Gross (incl. GST)", format_inr(t.gross)),
           ("Round off", format_inr(t.round_off, sign=True)), ("TOTAL", format_inr(t.total))]
    for m in methods:
        n, paid = _paid(t, m)
        out += [(f"Paid by {m.upper()}", f"{n}: {format_inr(paid)}")]
    for rate in rates:
        r = tax.get(rate)
        out += [(f"GST {format_rate(rate)} {what}", format_inr(getattr(r, key) if r else 0)) for what, key in
                (("taxable", "taxable"), ("CGST", "cgst"), ("SGST", "sgst"), ("incl. GST", "gross"))]
    out += [("Voided by staff", f"{t.voided} ({format_inr(t.voided_paise)})"), ("Corrected by staff", str(t.corrected)),
            ("Re-priced by staff", str(t.repriced)), ("Receipts reprinted", str(t.reprints)),
            ("Payments declined", str(t.declined)),
            ("Approved late: refund or collect", f"{t.approved_late} ({format_inr(t.approved_late_paise)})")]
    return out


def _store_day_text(s: StoreDay) -> list[str]:
    methods, rates = _methods_rates([s])
    heads = [said(k.kiosk, 20) for k in s.kiosks] + ["store total"]
    columns = [_figures(k.takings, methods, rates) for k in s.kiosks] + [_figures(s.total, methods, rates)]
    width = max(14, *(len(v) + 2 for col in columns for _, v in col), *(len(h) + 2 for h in heads))
    lw = max(22, *(len(label) for label, _ in columns[0]))
    out = [f"{said(s.store)}  {s.day.isoformat()} ({s.day:%A})", f"{'':<{lw}}" + "".join(f"{h:>{width}}"
                                                                                             for h in heads)]
    for i, (label, _) in enumerate(columns[0]):
        out.append(f"{label:<{lw}}" + "".join(f"{col[i][1]:>{width}}" for col in columns))
    for k in s.kiosks:
        if not k.verified:
            out.append(f"  {said(k.kiosk)} {said(k.status, 300)} — not in the store total")
        out += [f"  {said(k.kiosk)} discrepancy: {said(d['message'], 600)}" for d in k.discrepancies]
        out += [f"  {said(k.kiosk)} withheld: {said(w, 600)}" for w in k.withheld]
    return out


def format_takings(report: TakingsReport) -> str:
    unshown = "".join(f"\n{said(u, 300)}" for u in report.unshown)
    if not report.days:
        span = (f" from {report.first}" if report.first else "") + (f" to {report.last}" if report.last else "")
        return f"{report.source}: no sales, reprints or payments recorded{span}{unshown}"
    blocks = ["\n".join(_store_day_text(s)) for s in report.days]
    return ("\n\n".join(blocks) + f"\n{unshown}" * bool(unshown)
            + "\n\nFrom the kiosks' audit logs; a store total sums its verified kiosks only.")


def csv_columns(report: TakingsReport) -> list[str]:
    methods, rates = _methods_rates(report.days)
    return (["store", "day", "kiosk", "status", "sales", "first_receipt", "last_receipt", "items", "gross",
             "round_off", "total"] + [f"paid_{m}_{x}" for m in methods for x in ("sales", "amount")]
            + [f"gst_{format_rate(r)}_{x}" for r in rates for x in ("taxable", "cgst", "sgst", "total")]
            + ["voided_lines", "voided_amount", "corrected_lines", "repriced_lines", "reprints", "declined_payments",
               "approved_late_payments", "approved_late_amount", "discrepancies", "discrepant_total", "withheld_rows"])


def csv_rows(report: TakingsReport) -> list[dict[str, str]]:
    """One row per store, day and kiosk (the store total is their verified rows' sum), amounts in rupees with two
    decimals as the till's tax CSV writes them."""
    methods, rates = _methods_rates(report.days)
    out = []
    for s in report.days:
        for k in s.kiosks:
            t = k.takings
            tax = {r.rate_bp: r for r in t.tax_rows}
            row = {"store": neutralise_formula(s.store), "day": s.day.isoformat(), "kiosk": neutralise_formula(k.kiosk),
                   "status": neutralise_formula(k.status), "sales": str(t.sales),
                   "first_receipt": neutralise_formula(t.first_receipt),
                   "last_receipt": neutralise_formula(t.last_receipt),
                   "items": str(t.items), "gross": format_paise(t.gross), "round_off": format_paise(t.round_off),
                   "total": format_paise(t.total)}
            for m in methods:
                n, paid = _paid(t, m)
                row |= {f"paid_{m}_sales": str(n), f"paid_{m}_amount": format_paise(paid)}
            for rate in rates:
                r = tax.get(rate)
                row |= {f"gst_{format_rate(rate)}_{x}": format_paise(getattr(r, key) if r else 0) for x, key in
                        (("taxable", "taxable"), ("cgst", "cgst"), ("sgst", "sgst"), ("total", "gross"))}
            row |= {"voided_lines": str(t.voided), "voided_amount": format_paise(t.voided_paise),
                    "corrected_lines": str(t.corrected), "repriced_lines": str(t.repriced),
                    "reprints": str(t.reprints), "declined_payments": str(t.declined),
                    "approved_late_payments": str(t.approved_late),
                    "approved_late_amount": format_paise(t.approved_late_paise),
                    "discrepancies": str(len(k.discrepancies)), "discrepant_total": format_paise(k.discrepant_total),
                    "withheld_rows": str(len(k.withheld))}
            out.append(row)
    return out


def write_csv(path: str | Path, report: TakingsReport) -> int:
    """Write :func:`csv_rows` to ``path`` atomically; returns how many rows."""
    from kiosk.bundle_format.atomic import atomic_write

    rows = csv_rows(report)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(report), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    try:
        atomic_write(Path(path), buf.getvalue().encode("utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot write the CSV ({exc.strerror or exc})") from None
    return len(rows)
