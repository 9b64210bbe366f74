"""``checkout audit verify``'s sales cross-checks: what reports, lists and reprints read must be what the log recorded.

* every sale has its ``sale.closed`` row and every ``sale.closed`` row its sale; the sales table's columns, the
  receipt JSON (``receipt list``/``receipt day`` read it: number, cart, time, totals, payment method, item count,
  each line against the cart's ``line.*`` rows) and the receipt text (a reprint prints it: number, gross, total,
  paid by) agree with that row;
* receipt numbers run 1 … the receipt counter without a gap, and no cart is closed without its sale;
* every payment intent has its ``payment.started`` row, with the same amount, method and cart, and the state its
  later rows (and the sale it completed) say.
"""

from __future__ import annotations

import re
import sqlite3

from kiosk.audit.witness import Log, apart, guarded, listed
from kiosk.domain.money import format_inr
from kiosk.domain.receipt import Receipt

__all__ = ["payment_findings", "sale_findings"]

# sales column, sale.closed detail key
_COLUMNS = (("gross", "gross"), ("round_off", "round_off"), ("payment_method", "method"),
            ("payment_ref", "payment_ref"), ("cart_id", "cart_id"))


def _number(receipt_no: object) -> int | None:
    tail = str(receipt_no).rsplit("-", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) < 19 else None


def sale_findings(conn: sqlite3.Connection, log: Log) -> list[str]:
    closed: dict[object, dict] = {}
    for r in log.of("sale.closed"):
        closed.setdefault(r["detail"].get("receipt_no"), r)
    before = (log.started or {}).get("detail", {}).get("last_receipt_before") if log.started else None
    carts = _cart_lines(log)
    sales = conn.execute("SELECT * FROM sales ORDER BY receipt_seq").fetchall()
    out = []
    for sale in sales:
        out += guarded(f"sale {sale['receipt_no']!r}", _sale, sale, closed, before, carts)
    have = {s["receipt_no"] for s in sales}
    out += [f"deleted: sale {no} (audit row {r['seq']}, sale.closed) is not in the sales table"
            for no, r in closed.items() if no not in have]
    return out + _numbering(conn, sales, closed, log) + _closed_carts(conn)


def _sale(sale: sqlite3.Row, closed: dict, before: object, carts: dict) -> list[str]:
    row = closed.get(sale["receipt_no"])
    if row is None:
        if before is None or str(sale["receipt_no"]) > str(before):
            return [f"missing: sale {sale['receipt_no']} has no sale.closed audit row"]
        return []
    return _sale_columns(sale, row) + _receipt(sale, row, carts) + _receipt_text(sale, row)


def _sale_columns(sale: sqlite3.Row, row: dict) -> list[str]:
    d, no, seq = row["detail"], sale["receipt_no"], row["seq"]
    out = []
    if d.get("total") != sale["total"]:
        out.append(f"edited: sale {no} totals {sale['total']} paise in the sales table, {d.get('total')} in audit row "
                   f"{seq}")
    out += [f"edited: sale {no} {col} {sale[col]!r} in the sales table, {d[key]!r} in audit row {seq}"
            for col, key in _COLUMNS if key in d and d[key] != sale[col]]
    if apart(sale["closed_at"], row["at"]):
        out.append(f"edited: sale {no} closed at {sale['closed_at']} in the sales table, audit row {seq} at "
                   f"{row['at']}")
    return out


def _receipt(sale: sqlite3.Row, row: dict, carts: dict[str, dict[str, dict]]) -> list[str]:
    """The receipt JSON against the sale's ``sale.closed`` row and its cart's ``line.*`` rows."""
    d, no, seq = row["detail"], sale["receipt_no"], row["seq"]
    try:
        receipt = Receipt.from_json(sale["receipt_json"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"edited: receipt {no} cannot be read from its receipt JSON ({exc})"]
    b, ids = receipt.bill, [i for x in receipt.lines for i in x.line_ids]
    got = {"receipt_no": receipt.receipt_no, "cart_id": receipt.cart_id, "gross": b.gross,
           "round_off": b.round_off, "total": b.total, "method": receipt.payment_method, "lines": len(ids)}
    names = {"method": "payment method", "lines": "line count"}
    out = [f"edited: receipt {no} {names.get(k, k.replace('_', ' '))} {v!r} in its receipt JSON, {d[k]!r} in audit "
           f"row {seq}" for k, v in got.items() if k in d and d[k] != v]
    # items on the bill: one per line (receipts written before units were counted), or each unit of a unit line
    units = sum(x.qty if x.sold_by.value == "unit" and isinstance(x.qty, int) else len(x.line_ids)
                for x in receipt.lines)
    if b.item_count not in (len(ids), units):
        out.append(f"edited: receipt {no} item count {b.item_count!r} in its receipt JSON, its lines make "
                   f"{units} item(s)")
    if apart(receipt.issued_at.isoformat(), row["at"]):
        out.append(f"edited: receipt {no} issued at {receipt.issued_at.isoformat()} in its receipt JSON, audit row "
                   f"{seq} at {row['at']}")
    cart = d.get("cart_id", receipt.cart_id)
    if cart in carts:  # a cart begun before the log began has no line rows to hold its lines against
        out += _receipt_lines(no, receipt, carts[cart])
    return out


def _cart_lines(log: Log) -> dict[str, dict[str, dict]]:
    """Per cart, its lines still in it after the log's ``line.add``/``line.remove``/``line.void`` rows."""
    carts: dict[str, dict[str, dict]] = {}
    for r in log.of("line.add", "line.remove", "line.void"):
        cart = carts.setdefault(r["detail"].get("cart_id"), {})
        if r["kind"] == "line.add":
            cart[r["detail"].get("line_id")] = r["detail"]
        else:
            cart.pop(r["detail"].get("line_id"), None)
    return carts


def _receipt_lines(no: str, receipt: Receipt, audited: dict[str, dict]) -> list[str]:
    ids = [i for x in receipt.lines for i in x.line_ids]
    if sorted(map(str, ids)) != sorted(map(str, audited)) or not all(isinstance(i, str) for i in ids):
        extra = [str(i)[:12] for i in ids if i not in audited]
        gone = [str(i)[:12] for i in audited if i not in ids]
        return [f"edited: receipt {no} has {len(ids)} line(s) in its receipt JSON, {len(audited)} in its cart's line "
                "audit rows" + (f"; not in the log: {listed(extra)}" if extra else "")
                + (f"; left out: {listed(gone)}" if gone else "")]
    out = []
    for n, x in enumerate(receipt.lines, 1):
        lines = [audited[i] for i in x.line_ids]
        want = {"sku": {a.get("sku") for a in lines}, "name": {a.get("name") for a in lines},
                "sold_by": {a.get("sold_by") for a in lines}, "unit_price": {a.get("unit_price") for a in lines},
                "gst_bp": {a.get("gst_bp") for a in lines}, "total": {sum(a.get("total") or 0 for a in lines)},
                "qty": {sum(a.get("qty") or 0 for a in lines) or None},
                "net_grams": {sum(a.get("net_grams") or 0 for a in lines) or None}}
        got = {"sku": x.sku, "name": x.name, "sold_by": x.sold_by.value, "unit_price": x.unit_price,
               "gst_bp": x.gst_bp, "total": x.total, "qty": x.qty, "net_grams": x.net_grams}
        out += [f"edited: receipt {no} line {n} ({x.name}) {k.replace('_', ' ')} {v!r} in its receipt JSON, "
                f"{listed(sorted(map(repr, want[k])))} in its line audit rows" for k, v in got.items()
                if want[k] != {v}]
    return out


def _text_fact(text: str, pattern: str) -> str | None:
    m = re.search(pattern, text, re.MULTILINE)
    return m.group(1) if m else None


def _receipt_text(sale: sqlite3.Row, row: dict) -> list[str]:
    """What a reprint prints (the stored text) says the same number, gross, total and payment as the log."""
    d, no, text = row["detail"], sale["receipt_no"], str(sale["receipt_text"])
    facts = [("receipt number", r"^Receipt (\S+)", no)]
    if isinstance(d.get("total"), int) and isinstance(d.get("gross"), int):
        facts += [("TOTAL", r"^TOTAL\s+(\S+)\s*$", format_inr(d["total"])),
                  ("gross", r"^Gross \(incl\. GST\)\s+(\S+)\s*$", format_inr(d["gross"]))]
    if d.get("method"):
        facts.append(("paid by", r"^Paid by\s+(\S+)\s*$", str(d["method"]).upper()))
    out = []
    for label, pattern, want in facts:
        got = _text_fact(text, pattern)
        if got != want:
            said = f"{got!r}" if got is not None else "nothing"
            out.append(f"edited: receipt {no} text (what a reprint prints) says {label} {said}, audit row "
                       f"{row['seq']} {want!r}")
    return out


def _numbering(conn: sqlite3.Connection, sales: list, closed: dict, log: Log) -> list[str]:
    """Receipt numbers 1 … the counter, each a sale; none past the counter, in the table or in the log."""
    row = conn.execute("SELECT last_no FROM receipt_counter WHERE id = 1").fetchone()
    if row is None:
        return ["edited: receipt_counter has no row: receipt numbers cannot be checked"] if sales or closed else []
    counter, have = row[0], {s["receipt_seq"] for s in sales}
    last = sales[-1]["receipt_no"] if sales else next(reversed(closed), None)
    prefix = str(last).rsplit("-", 1)[0] if last else str((log.started or {}).get("detail", {}).get("kiosk_id"))
    out = []
    past = [s["receipt_no"] for s in sales if s["receipt_seq"] > counter]
    if past:
        out.append(f"edited: sale(s) {listed(past)} numbered past the receipt counter ({counter})")
    missing, n = [], 1
    while n <= counter and len(missing) < 6:
        if n not in have:
            missing.append(f"{prefix}-{n:06d}")
        n += 1
    if missing:
        count = counter - len({s for s in have if 1 <= s <= counter})
        shown = ", ".join(missing[:5]) + (f" (+{count - 5} more)" if count > 5 else "")
        out.append(f"missing: receipt number(s) {shown} not in the sales table (the receipt counter is at {counter})")
    audited = [(_number(no), no, r["seq"]) for no, r in closed.items() if _number(no) is not None]
    top = max(audited, default=None)
    if top and top[0] > counter:
        out.append(f"edited: the receipt counter is at {counter}, but audit row {top[2]} closed receipt {top[1]}")
    return out


def _closed_carts(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT cart_id, closed_at FROM carts c WHERE status = 'closed' AND NOT EXISTS "
                        "(SELECT 1 FROM sales s WHERE s.cart_id = c.cart_id) ORDER BY closed_at").fetchall()
    return [f"deleted: cart {str(r['cart_id'])[:12]} closed without a sale at {r['closed_at']}: its sale is not in the "
            f"sales table" for r in rows]


def payment_findings(conn: sqlite3.Connection, log: Log) -> list[str]:
    """Payment intents against ``payment.started`` and the moves after it (a completed one: the sale it closed)."""
    started = {r["detail"].get("key"): r for r in log.of("payment.started")}
    moves: dict[object, dict] = {}
    for r in log.of("payment.approved", "payment.declined", "payment.cancelled"):
        moves[r["detail"].get("key")] = r
    sold = {(r["detail"].get("cart_id"), r["detail"].get("payment_ref")): r for r in log.of("sale.closed")}
    out, seen = [], set()
    for p in conn.execute("SELECT * FROM payment_intents ORDER BY intent_id"):
        seen.add(p["idempotency_key"])
        out += guarded(f"payment intent {p['intent_id']}", _payment, p, log, started, moves, sold)
    out += [f"deleted: payment {str(k)[:12]} (audit row {r['seq']}, payment.started) is not in payment_intents"
            for k, r in started.items() if k not in seen]
    return out


def _payment(p: sqlite3.Row, log: Log, started: dict, moves: dict, sold: dict) -> list[str]:
    key, r = str(p["idempotency_key"]), started.get(p["idempotency_key"])
    if r is None:
        if log.before_log(p["created_at"]):
            return []
        return [f"missing: payment {key[:12]} ({p['amount']} paise {p['method']}, {p['created_at']}) has no "
                f"payment.started audit row"]
    d = r["detail"]
    out = [f"edited: payment {key[:12]} {col} {p[col]!r} in payment_intents, {d[col]!r} in audit row {r['seq']}"
           for col in ("amount", "method", "cart_id", "terminal") if col in d and d[col] != p[col]]
    move = moves.get(p["idempotency_key"])
    state = move["kind"].split(".", 1)[1] if move else "pending"
    ref = move["detail"].get("approval_ref", "") if move else ""
    sale = sold.get((p["cart_id"], ref)) if state == "approved" and ref else None
    state = "completed" if sale else state
    if p["state"] != state:
        out.append(f"edited: payment {key[:12]} is {p['state']} in payment_intents, {state} by audit row "
                   f"{(sale or move or r)['seq']}")
    elif state in ("approved", "completed") and p["approval_ref"] != ref:
        out.append(f"edited: payment {key[:12]} approval {p['approval_ref']!r} in payment_intents, {ref!r} in "
                   f"audit row {move['seq']}")
    elif sale and p["receipt_no"] != sale["detail"].get("receipt_no"):
        out.append(f"edited: payment {key[:12]} paid for receipt {p['receipt_no']!r} in payment_intents, "
                   f"{sale['detail'].get('receipt_no')!r} by audit row {sale['seq']}")
    return out
