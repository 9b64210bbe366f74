"""The head-office dashboard: ``checkout headoffice serve SRC --users FILE [--keys DIR] [--channel DIR]``.

FastAPI with Jinja2 templates (``trainer/headoffice/templates``), served by uvicorn: five pages — fleet, quality per
store and SKU with the drift alarms (and its charts as PNG), the products staff taught at the kiosks (with their
photos), bundle roll-out progress, and each kiosk's audit status — and the same as JSON under ``/api/…``. Every
page needs a signed-in head-office user (:mod:`trainer.headoffice.users`: scrypt-hashed passwords, a growing wait
after wrong ones); the session is a signed cookie (Starlette's ``SessionMiddleware``, HttpOnly, SameSite=strict)
under a key made at start (or read from ``--secret-file``). Sign-ins and refusals go to ``headoffice-logins.jsonl``
beside the users file.
"""


import io
import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trainer.fleet.status import rupees
from trainer.headoffice.dashboard import DashboardData
from trainer.headoffice.users import Users

__all__ = ["create_app"]

TEMPLATES = Path(__file__).with_name("templates")
PAGES = (("/", "Fleet"), ("/quality", "Quality"), ("/taught", "Taught"), ("/rollout", "Roll-out"), ("/audit", "Audit"))


class _LoginRequired(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


def _log_login(users: Users, name: str, ok: bool, why: str, client: str) -> None:
    entry = {"at": datetime.now(timezone.utc).isoformat(), "user": name[:64], "ok": ok, "reason": why,
             "client": client}
    with open(users.path.with_name("headoffice-logins.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _auth_routes(app, templates, users: Users) -> None:
    from fastapi import Form, Request
    from fastapi.responses import RedirectResponse

    @app.get("/login")
    def login_form(request: Request, next: str = "/"):
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": ""})

    @app.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/")):
        ok, why = users.sign_in(username, password)
        _log_login(users, username, ok, why, request.client.host if request.client else "")
        if not ok:
            error = ("too many wrong passwords: wait a little" if why == "locked" else "wrong user name or password")
            return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": error},
                                              status_code=401)
        request.session.clear()
        request.session["user"], request.session["stamp"] = username, users.password_stamp(username)
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.get("/logout")
    def logout(request: Request):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)


def _page_routes(app, templates, data: DashboardData, users: Users) -> None:
    from fastapi import Depends, Request
    from fastapi.responses import Response

    def _user(request: Request) -> str:
        """The signed-in user, while they are still in the users file with the password they signed in with."""
        user = request.session.get("user")
        if not user or request.session.get("stamp") != users.password_stamp(user):
            request.session.clear()
            raise _LoginRequired(request.url.path)
        return user

    def page(request: Request, name: str, user: str, **context: Any):
        return templates.TemplateResponse(request, name, {"user": user, "pages": PAGES, "path": request.url.path,
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
        from trainer.headoffice import charts

        draw = {"correction-rate": charts.correction_chart, "drift-cusum": charts.cusum_chart,
                "confused-pairs": charts.pairs_chart, "time-to-select": charts.select_chart}.get(name)
        if draw is None:
            return Response(status_code=404)
        buf = io.BytesIO()
        draw(data.quality(store or None), buf)
        return Response(buf.getvalue(), media_type="image/png")

    @app.get("/taught")
    def taught(request: Request, user: str = Depends(_user)):
        from trainer.headoffice.taught import THUMBNAILS

        return page(request, "taught.html", user, report=data.taught(), thumbnails=THUMBNAILS)

    @app.get("/taught/photo/{batch}/{n}.png")
    def taught_photo(batch: str, n: int, user: str = Depends(_user)):
        photo = data.taught_photo(batch, n)
        return Response(photo, media_type="image/png") if photo is not None else Response(status_code=404)

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


def create_app(data: DashboardData, users: Users, *, secret: str | None = None, https_only: bool = False):
    """The dashboard over ``data``, signing in ``users``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, RedirectResponse
    from fastapi.templating import Jinja2Templates
    from starlette.middleware.sessions import SessionMiddleware

    app = FastAPI(title="Checkout head office", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=secret or secrets.token_hex(32), same_site="strict",
                       https_only=https_only, max_age=8 * 3600, session_cookie="checkout_ho")
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f} %"
    templates.env.filters["when"] = lambda t: (t or "–")[:16].replace("T", " ")
    templates.env.filters["rupees"] = rupees

    @app.exception_handler(_LoginRequired)
    def login_required(request: Request, exc: _LoginRequired):
        if exc.path.startswith("/api/") or exc.path.endswith(".png"):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return RedirectResponse(f"/login?next={exc.path}", status_code=303)

    _auth_routes(app, templates, users)
    _page_routes(app, templates, data, users)
    return app
