"""The head-office dashboard: ``checkout headoffice serve SRC --users FILE [--keys DIR] [--channel DIR]``.

FastAPI with Jinja2 templates (``trainer/headoffice/templates``), served by uvicorn: five pages — fleet, quality per
store and SKU with the drift alarms (and its charts as PNG), the products staff taught at the kiosks (with their
photos), bundle roll-out progress, and each kiosk's audit status — and the same as JSON under ``/api/…``. With
``--feedback DIR`` (a ``checkout feedback collect --out`` folder) a sixth, Label: the placements the stores could not
label, each with its crop, for head office to give a SKU or call not a product (:mod:`trainer.fleet.labels`; the next
collect into DIR takes the labels up); with ``DIR/clusters.csv`` (``checkout feedback cluster``) its Groups view
labels a whole group of crops that look alike with one form (POST /label/group). Every
page needs a signed-in head-office user (:mod:`trainer.headoffice.users`: scrypt-hashed passwords, a growing wait
after wrong ones). A sign-in starts a session kept in this process's memory (:class:`Sessions`): the cookie
(Starlette's ``SessionMiddleware``: signed under a key made at start or read from ``--secret-file``, HttpOnly,
SameSite=strict) carries only its random id. Signing out ends it on the server, so a copy of the cookie no longer
works; so do ``idle_timeout_s`` without a request (30 minutes) and 8 hours after the sign-in. A restart signs everyone
out. Sign-ins and refusals go to ``headoffice-logins.jsonl`` beside the users file.

Every response carries :data:`SECURITY_HEADERS`: ``Cache-Control: no-store`` (sales figures never come back from the
browser's cache after sign-out), a Content-Security-Policy that allows the dashboard's own stylesheet and images and
nothing else (no script, no inline style, no framing), ``X-Frame-Options: DENY``, ``nosniff`` and no referrer to
other sites (``same-origin``: with ``no-referrer`` Chromium sends ``Origin: null`` with the sign-in form).
"""


import asyncio
import json
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from trainer.fleet.status import rupees
from trainer.headoffice.dashboard import DashboardData
from trainer.headoffice.users import Users

__all__ = ["Sessions", "create_app"]

TEMPLATES = Path(__file__).with_name("templates")
PAGES = (("/", "Fleet"), ("/quality", "Quality"), ("/taught", "Taught"), ("/rollout", "Roll-out"), ("/audit", "Audit"))
IDLE_TIMEOUT_S = 30 * 60.0
SESSION_LIFETIME_S = 8 * 3600.0
MAX_SESSIONS = 1000  # sessions kept at once; beyond it the longest idle ends
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SECURITY_HEADERS = (("cache-control", "no-store"), ("content-security-policy", CSP), ("x-frame-options", "DENY"),
                    ("x-content-type-options", "nosniff"), ("referrer-policy", "same-origin"),
                    ("cross-origin-opener-policy", "same-origin"), ("cross-origin-resource-policy", "same-origin"))
CHECKS_AT_ONCE = 4  # password checks (scrypt: 16 MB each) run at once; more tries wait for a turn without a thread
MAX_BULK = 500  # placements one bulk label of the Label page may tick (its pages show 50)
LOG_WINDOW_S = 60.0  # the sign-in log's repeats of one (name, client, outcome) are counted over this
LOG_NAMES_PER_CLIENT = 20
LOG_MAX_OPEN = 1000


class Sessions:
    """Signed-in sessions, in memory only: a random id per sign-in, ended by signing out, after ``idle_s`` without a
    request, ``lifetime_s`` after the sign-in, or (the longest idle first) when more than ``most`` are open."""

    def __init__(self, idle_s: float = IDLE_TIMEOUT_S, lifetime_s: float = SESSION_LIFETIME_S, *,
                 most: int = MAX_SESSIONS, clock=time.monotonic) -> None:
        self.idle_s, self.lifetime_s, self.most, self._clock = idle_s, lifetime_s, most, clock
        self._open: OrderedDict[str, list] = OrderedDict()  # id → [user, password stamp, started, last seen]
        self._lock = threading.Lock()

    def start(self, user: str, stamp: str | None) -> str:
        sid, now = secrets.token_urlsafe(32), self._clock()
        with self._lock:
            self._open[sid] = [user, stamp, now, now]
            while len(self._open) > self.most:
                self._open.popitem(last=False)
        return sid

    def get(self, sid: object) -> tuple[str, str | None] | None:
        """``(user, password stamp)`` of a live session (its idle time starts again), None: no such session."""
        if not isinstance(sid, str):
            return None
        now = self._clock()
        with self._lock:
            entry = self._open.get(sid)
            if entry is None:
                return None
            if now - entry[3] >= self.idle_s or now - entry[2] >= self.lifetime_s:
                del self._open[sid]
                return None
            entry[3] = now
            self._open.move_to_end(sid)
            return entry[0], entry[1]

    def end(self, sid: object) -> None:
        if isinstance(sid, str):
            with self._lock:
                self._open.pop(sid, None)

    def __len__(self) -> int:
        return len(self._open)


class _SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` (and HSTS when served over HTTPS only) on every response; a HEAD
    request is answered as its GET is, without the body (the routes know GET only: HEAD was 405 everywhere)."""

    def __init__(self, app, https_only: bool = False) -> None:
        self.app = app
        pairs = SECURITY_HEADERS + ((("strict-transport-security", "max-age=31536000"),) if https_only else ())
        self.headers = [(k.encode(), v.encode()) for k, v in pairs]
        self.names = {k for k, _v in self.headers}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        head = scope["method"] == "HEAD"

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive, send_with_headers)


class _LoginRequired(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class LoginLog:
    """``headoffice-logins.jsonl``, rate-limited: the first try of a (name, client, outcome) in a minute is a line at
    once, the ones after it in that minute one line with their count (``repeats``, from ``since`` to ``at``) once the
    minute is over — written at the next try or at shutdown. A client's tries on more than :data:`LOG_NAMES_PER_CLIENT`
    names at once are counted under the name ``*``; at most :data:`LOG_MAX_OPEN` minutes are counted at once (the
    oldest written early). 903 tries in 10 s on a locked name were 903 lines (0.9 GB a day from one client)."""

    def __init__(self, path: Path, clock=time.monotonic) -> None:
        self.path, self._clock = path, clock
        self._open: OrderedDict[tuple, list] = OrderedDict()  # key → [started, first at, last at, repeats]
        self._names: dict[str, int] = {}  # client → names with a minute open
        self._lock = threading.Lock()

    def record(self, name: str, ok: bool, why: str, client: str) -> None:
        now, at = self._clock(), datetime.now(timezone.utc).isoformat()
        with self._lock:
            lines = self._close(lambda started: now - started >= LOG_WINDOW_S)
            key = (name[:64], client, ok, why)
            if key not in self._open and self._names.get(client, 0) >= LOG_NAMES_PER_CLIENT:
                key = ("*", client, ok, why)
            window = self._open.get(key)
            if window is not None:
                window[2], window[3] = at, window[3] + 1
            else:
                self._open[key] = [now, at, at, 0]
                self._names[client] = self._names.get(client, 0) + 1
                lines.append({"at": at, "user": key[0], "ok": ok, "reason": why, "client": client})
                if len(self._open) > LOG_MAX_OPEN:
                    lines += self._close(lambda started: True, most=len(self._open) - LOG_MAX_OPEN)
            self._write(lines)

    def close(self) -> None:
        """Write the counts of every minute still open (at shutdown)."""
        with self._lock:
            self._write(self._close(lambda started: True))

    def _close(self, due, most: int | None = None) -> list[dict]:
        """Close the oldest minutes while ``due(started)`` (at most ``most``): the lines of their repeats."""
        lines: list[dict] = []
        closed = 0
        while self._open and (most is None or closed < most):
            key, (started, first, last, repeats) = next(iter(self._open.items()))
            if not due(started):
                break
            del self._open[key]
            closed += 1
            self._names[key[1]] -= 1
            if not self._names[key[1]]:
                del self._names[key[1]]
            if repeats:
                lines.append({"at": last, "user": key[0], "ok": key[2], "reason": key[3], "client": key[1],
                              "repeats": repeats, "since": first})
        return lines

    def _write(self, lines: list[dict]) -> None:
        if lines:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(line) + "\n" for line in lines))


def _cross_site(request) -> bool:
    """A browser's request from another site: a sign-in form on another site would sign the browser in as its
    author (sign-in CSRF). ``Sec-Fetch-Site`` says it where the browser sends it; else its ``Origin`` must be this
    dashboard's host (``Host``, or ``X-Forwarded-Host`` behind a proxy); a request without either is no browser's
    form post."""
    from urllib.parse import urlsplit

    site = request.headers.get("sec-fetch-site", "").lower()
    if site:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    hosts = {request.headers.get(h, "").lower() for h in ("host", "x-forwarded-host")} - {""}
    return not netloc or netloc not in hosts


def _price(product: dict) -> str:
    """A taught product's price as its kiosk's catalog row has it: ``₹69.50`` (``/kg`` sold by weight), or the
    text as sent, said not to be whole paise (``"120.00"`` was shown as ``₹120.00``, a hundred times the price)."""
    paise = product.get("price_paise")
    shown = rupees(paise)
    if shown == str(paise):  # rupees() gives back what is not whole paise as it came
        return f"price {str(paise)[:40]!r}: not whole paise"
    return f"₹{shown}{'/kg' if product.get('sold_by') == 'weight' else ''}"


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _auth_routes(app, templates, users: Users, sessions: Sessions, login_log: LoginLog) -> None:
    from fastapi import Form, Request
    from fastapi.responses import RedirectResponse

    @app.get("/login")
    def login_form(request: Request, next: str = "/"):
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": ""})

    checks = asyncio.Semaphore(CHECKS_AT_ONCE)

    @app.post("/login")
    async def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/")):
        from starlette.concurrency import run_in_threadpool

        if _cross_site(request):  # refused before any password is checked or logged
            return templates.TemplateResponse(request, "login.html", {
                "next": "/", "error": "sign in on the dashboard's own page"}, status_code=403)
        client = request.client.host if request.client else ""
        slow = users.slow_s(username)
        if slow:  # a name many wrong passwords were tried on: every try waits (holding no thread), none is refused
            await asyncio.sleep(slow)
        async with checks:
            ok, why = await run_in_threadpool(users.sign_in, username, password, client)
        await run_in_threadpool(login_log.record, username, ok, why, client)
        if not ok:
            error = ("too many wrong passwords: wait a little" if why == "locked" else "wrong user name or password")
            return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": error},
                                              status_code=401)
        sessions.end(request.session.get("sid"))  # never the session id the client came with
        request.session.clear()
        request.session["sid"] = sessions.start(username, users.password_stamp(username))
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.get("/logout")
    def logout(request: Request):
        sessions.end(request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)


def _page_routes(app, templates, data: DashboardData, users: Users, sessions: Sessions) -> None:
    from fastapi import Depends, Request
    from fastapi.responses import Response

    def _user(request: Request) -> str:
        """The signed-in user of a live session, while they are still in the users file with the password they
        signed in with."""
        sid = request.session.get("sid")
        live = sessions.get(sid)
        if live is None or live[1] != users.password_stamp(live[0]):
            sessions.end(sid)
            request.session.clear()
            raise _LoginRequired(request.url.path)
        return live[0]

    pages = PAGES + ((("/label", "Label"),) if data.feedback else ())

    def page(request: Request, name: str, user: str, **context: Any):
        return templates.TemplateResponse(request, name, {"user": user, "pages": pages, "path": request.url.path,
                                                          **context})

    @app.get("/")
    def fleet(request: Request, user: str = Depends(_user)):
        from trainer.fleet.status import store_sales

        rows, problems = data.fleet()
        return page(request, "fleet.html", user, rows=rows, problems=problems, stores=store_sales(rows))

    @app.get("/quality")
    def quality(request: Request, store: str = "", user: str = Depends(_user)):
        everywhere = data.quality()
        report = data.quality(store) if store else everywhere
        return page(request, "quality.html", user, report=report, store=store, stores=everywhere["stores"],
                    per_store=everywhere["per_store"])

    @app.get("/quality/chart/{name}.png")
    def chart(name: str, store: str = "", user: str = Depends(_user)):
        png = data.chart(name, store or None)
        return Response(status_code=404) if png is None else Response(png, media_type="image/png")

    @app.get("/taught")
    def taught(request: Request, user: str = Depends(_user)):
        from trainer.headoffice.taught import THUMBNAILS

        return page(request, "taught.html", user, report=data.taught(), thumbnails=THUMBNAILS)

    @app.get("/taught/photo/{batch}/{n}.png")
    def taught_photo(batch: str, n: int, user: str = Depends(_user)):
        photo = data.taught_photo(batch, n)  # a PNG or JPEG whose header decodes, else None
        return Response(photo[0], media_type=photo[1]) if photo is not None else Response(status_code=404)

    @app.get("/rollout")
    def rollout(request: Request, user: str = Depends(_user)):
        return page(request, "rollout.html", user, groups=data.rollout(), channel=data.channel)

    @app.get("/audit")
    def audit(request: Request, user: str = Depends(_user)):
        return page(request, "audit.html", user, audit=data.audit(), keys=data.keys)

    @app.get("/api/{what}")
    def api(what: str, store: str = "", user: str = Depends(_user)):
        made = {"fleet": lambda: {"kiosks": [r.to_dict() for r in data.fleet()[0]], "problems": data.fleet()[1]},
                "quality": lambda: data.quality(store or None), "rollout": data.rollout,
                "audit": lambda: data.audit().to_dict(), "taught": data.taught}.get(what)
        return made() if made else Response(status_code=404)

    if data.feedback:
        _label_routes(app, data, page, _user)


def _label_routes(app, data: DashboardData, page, signed_in) -> None:
    """The Label page (``--feedback DIR``): collect's placements for review with their crops a page at a time, a form
    per placement that records head office's label of it as the signed-in user, and one that labels every ticked
    placement at once (:func:`_label_bulk_route`)."""
    from fastapi import Depends, Form, Request
    from fastapi.responses import Response


    label_page = _label_page(data, page)

    @app.get("/label")
    def label_list(request: Request, page: str = "", store: str = "", show: str = "", view: str = "",
                   user: str = Depends(signed_in)):
        return label_page(request, user, (page, store, show, view))

    @app.post("/label")
    def label(request: Request, store: str = Form(...), kiosk: str = Form(...), placement: str = Form(...),
              sku: str = Form(""), verdict: str = Form("sku"), at_page: str = Form(""), at_store: str = Form(""),
              at_show: str = Form(""), at_view: str = Form(""), user: str = Depends(signed_in)):
        at = (at_page, at_store, at_show, at_view)
        if _cross_site(request):  # a form on another site would label as the signed-in user
            return label_page(request, user, at, "label on the dashboard's own page", 403)
        return _apply_labels(request, data, label_page, user, at, [(store, kiosk, placement)], sku, verdict,
                             lambda n: f"{store}/{kiosk}/{placement}")

    @app.get("/label/photo.png")
    def label_photo(store: str = "", kiosk: str = "", placement: str = "", user: str = Depends(signed_in)):
        photo = data.label_photo(store, kiosk, placement)  # the crop unlabelled.csv names, inside DIR/images
        return Response(photo[0], media_type=photo[1]) if photo is not None else Response(status_code=404)

    _label_bulk_route(app, data, label_page, signed_in)
    _label_group_route(app, data, label_page, signed_in)
    _label_new_product_route(app, data, label_page, signed_in)


def _label_page(data: DashboardData, page):
    """The Label page's response: the page of rows (or groups) the query ``at`` (page, store, show, view, as text)
    asks for, with ``error`` (a label refused) and ``status``."""
    from catalog.model import GST_PERCENTS
    from kiosk.errors import UserError
    from trainer.fleet.new_products import import_command
    from trainer.headoffice.label_view import LabelQuery

    def label_page(request, user: str, at: tuple[str, str, str, str], error: str = "", status: int = 200):
        try:
            view, skus, waiting, problem = data.label_page(*at), data.label_skus(), data.label_waiting(), ""
        except UserError as exc:  # unlabelled.csv, labels.csv or new-products.csv gone or damaged, the catalog
            view, skus, waiting, problem = {"rows": [], "stores": [], "notice": "", "query": LabelQuery()}, {}, [], \
                str(exc)  # unreadable
        view["query_notice"] = view.pop("notice")
        skus = {**skus, **{w["sku"]: f"{w['name']} (new)" for w in waiting}}  # the datalist offers them, marked
        response = page(request, "label.html", user, **view, skus=skus, error=error, problem=problem,
                        notice=request.session.pop("notice", ""), folder=data.feedback, waiting=waiting,
                        import_command=import_command(data.feedback, data.catalog), gst_percents=GST_PERCENTS)
        response.status_code = status
        return response

    return label_page


def _label_url(data: DashboardData, at: tuple[str, str, str, str]) -> str:
    """Where a label's form goes back to: the page and filters it was posted from, as far as they are still valid."""
    from kiosk.errors import UserError
    from trainer.headoffice.label_view import parse_query

    try:
        stores = data.label_review().stores
    except UserError:
        stores = []
    page, store, show, view = at
    return parse_query(page, store, show, stores, view)[0].url()


def _placements(n: int) -> str:
    return f"{n} placement{'s' if n != 1 else ''}"


def _apply_labels(request, data: DashboardData, label_page, user: str, at: tuple[str, str, str, str], keys: list,
                  sku: str, verdict: str, named, product: dict | None = None) -> object:
    """Every placement of ``keys`` labelled ``sku`` (or not a product) as ``user``, all or nothing
    (:func:`trainer.fleet.labels.set_labels`): back to the page and filters ``at`` with a notice that starts with
    ``named(count)``, or the page again with the one-line refusal. With ``product`` (the new-product form's fields)
    the product is made in DIR/new-products.csv and labels them, all or nothing
    (:func:`trainer.fleet.new_products.add_and_label`)."""
    from fastapi.responses import RedirectResponse

    from kiosk.errors import UserError
    from trainer.fleet import new_products
    from trainer.fleet.labels import set_labels

    try:
        known = set(data.label_skus()) if data.catalog else None
        if product is None:
            made = set_labels(data.feedback, keys, sku=sku, verdict=verdict, user=user, known=known,
                              rows=data.label_review().by_key)
        else:
            made = new_products.add_and_label(data.feedback, new_products.product_of(product), keys, user=user,
                                              catalog=known, rows=data.label_review().by_key)
    except UserError as exc:
        return label_page(request, user, at, str(exc), 400)
    then = (f"; `{new_products.import_command(data.feedback, data.catalog)}` adds it to the catalog, then the next "
            "`checkout feedback collect` into this folder takes them up") if product else (
        f"; the next `checkout feedback collect` into this folder takes {'it' if len(made) == 1 else 'them'} up")
    request.session["notice"] = (f"{f'new product {made[0].sku}: ' if product else ''}{named(len(made))} labelled "
                                 f"{made[0].sku or 'not a product'}{then}")
    return RedirectResponse(_label_url(data, at), status_code=303)


def _label_bulk_route(app, data: DashboardData, label_page, signed_in) -> None:
    """POST /label/bulk: one SKU, or not a product, for every ticked placement of the page, all or nothing."""
    from fastapi import Depends, Form, Request

    from kiosk.errors import UserError

    @app.post("/label/bulk")
    def label_bulk(request: Request, pick: Annotated[list[str] | None, Form()] = None, sku: str = Form(""),
                   verdict: str = Form("sku"), at_page: str = Form(""), at_store: str = Form(""),
                   at_show: str = Form(""), at_view: str = Form(""), user: str = Depends(signed_in)):
        at = (at_page, at_store, at_show, at_view)
        if _cross_site(request):
            return label_page(request, user, at, "label on the dashboard's own page", 403)
        try:
            keys = _ticked(pick)
        except UserError as exc:
            return label_page(request, user, at, str(exc), 400)
        return _apply_labels(request, data, label_page, user, at, keys, sku, verdict, _placements)


def _ticked(pick: list[str] | None) -> list[tuple[str, str, str]]:
    """The placements the ticked checkboxes ``pick`` name; a :class:`UserError` when none, too many or one that does
    not name a placement."""
    from kiosk.errors import UserError
    from trainer.headoffice.label_view import picked

    keys = [picked(value) for value in (pick or [])[:MAX_BULK + 1]]
    if not keys:
        raise UserError("tick the placements to label first")
    if len(keys) > MAX_BULK:
        raise UserError(f"tick at most {MAX_BULK} placements at once")
    if None in keys:
        raise UserError("a ticked row does not name a placement: load the page again")
    return keys


def _label_group_route(app, data: DashboardData, label_page, signed_in) -> None:
    """POST /label/group: one SKU, or not a product, for every crop of a group of clusters.csv that is still in
    unlabelled.csv and not labelled yet, all or nothing; refused when clusters.csv changed since the page was made."""
    from fastapi import Depends, Form, Request

    from kiosk.errors import UserError

    @app.post("/label/group")
    def label_group(request: Request, cluster: str = Form(""), version: str = Form(""), sku: str = Form(""),
                    verdict: str = Form("sku"), at_page: str = Form(""), at_view: str = Form("groups"),
                    user: str = Depends(signed_in)):
        at = (at_page, "", "", at_view)
        if _cross_site(request):
            return label_page(request, user, at, "label on the dashboard's own page", 403)
        try:
            keys = _group_keys(data, cluster, version)
        except UserError as exc:
            return label_page(request, user, at, str(exc), 400)
        return _apply_labels(request, data, label_page, user, at, keys, sku, verdict,
                             lambda n: f"group {int(cluster)}: {_placements(n)}")


def _group_keys(data: DashboardData, cluster: str, version: str) -> list[tuple[str, str, str]]:
    """The placements of group ``cluster`` (its number as posted) still to label; a :class:`UserError` when it is no
    group's number, the groups were made again since ``version``, or none is left."""
    import re

    from kiosk.errors import UserError

    if not re.match(r"[0-9]{1,9}\Z", cluster):
        raise UserError(f"group {cluster[:20]!r} is not a group's number: load the page again")
    keys = data.label_group_keys(int(cluster), version)
    if not keys:
        raise UserError(f"group {int(cluster)} has no crops left to label")
    return keys


def _label_new_product_route(app, data: DashboardData, label_page, signed_in) -> None:
    """POST /label/new-product: a product head office's catalog lacks, made from the form's fields into
    DIR/new-products.csv, and every crop of group ``cluster`` still to label (the Groups view) or every ticked
    placement (the list) labelled with it, all or nothing."""
    from fastapi import Depends, Form, Request

    from kiosk.errors import UserError

    @app.post("/label/new-product")
    def label_new_product(request: Request, pick: Annotated[list[str] | None, Form()] = None, cluster: str = Form(""),
                          version: str = Form(""), new_sku: str = Form(""), name: str = Form(""),
                          group: str = Form(""), sold_by: str = Form(""), price: str = Form(""),
                          gst_percent: str = Form(""), hsn: str = Form(""), at_page: str = Form(""),
                          at_store: str = Form(""), at_show: str = Form(""), at_view: str = Form(""),
                          user: str = Depends(signed_in)):
        at = (at_page, at_store, at_show, at_view)
        if _cross_site(request):
            return label_page(request, user, at, "label on the dashboard's own page", 403)
        try:
            keys = _group_keys(data, cluster, version) if cluster else _ticked(pick)
        except UserError as exc:
            return label_page(request, user, at, str(exc), 400)
        named = (lambda n: f"group {int(cluster)}: {_placements(n)}") if cluster else _placements
        product = {"sku": new_sku, "name": name, "group": group, "sold_by": sold_by, "price": price,
                   "gst_percent": gst_percent, "hsn": hsn}
        return _apply_labels(request, data, label_page, user, at, keys, new_sku, "sku", named, product)


def create_app(data: DashboardData, users: Users, *, secret: str | None = None, https_only: bool = False,
               idle_timeout_s: float = IDLE_TIMEOUT_S, clock=time.monotonic):
    """The dashboard over ``data``, signing in ``users`` (sessions end after ``idle_timeout_s`` without a request,
    timed by ``clock``)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, RedirectResponse, Response
    from fastapi.templating import Jinja2Templates
    from starlette.middleware.sessions import SessionMiddleware

    login_log = LoginLog(users.path.with_name("headoffice-logins.jsonl"), clock=clock)

    @asynccontextmanager
    async def lifespan(app):
        yield
        login_log.close()  # the repeats still being counted

    app = FastAPI(title="Checkout head office", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.login_log = login_log
    app.add_middleware(SessionMiddleware, secret_key=secret or secrets.token_hex(32), same_site="strict",
                       https_only=https_only, max_age=int(SESSION_LIFETIME_S), session_cookie="checkout_ho")
    sessions = Sessions(idle_timeout_s, clock=clock)
    app.add_middleware(_SecurityHeaders, https_only=https_only)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    stylesheet = (TEMPLATES / "dashboard.css").read_bytes()

    @app.get("/dashboard.css")
    def css():
        return Response(stylesheet, media_type="text/css")
    templates.env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f} %"
    templates.env.filters["when"] = lambda t: (t or "–")[:16].replace("T", " ")
    templates.env.filters["rupees"] = rupees
    templates.env.filters["price"] = _price

    @app.exception_handler(_LoginRequired)
    def login_required(request: Request, exc: _LoginRequired):
        if exc.path.startswith("/api/") or exc.path.endswith(".png"):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return RedirectResponse(f"/login?next={exc.path}", status_code=303)

    _auth_routes(app, templates, users, sessions, login_log)
    _page_routes(app, templates, data, users, sessions)
    return app
