"""The pages for people that ``corpledger serve`` serves beside the API (docs/web.md): the
companies (``/``), a company's page (``/companies/{company}``) and the cells its sliders
fetch (``/companies/{company}/view.json``), the page's assets (``/assets/…``), and signing
in and out.

Access: a reader's (or writer's) token, entered once on ``/sign-in``, is kept in a cookie
holding the token itself, HttpOnly, SameSite=Strict, Secure when the request came over https;
every request looks it up again, so a revoked token stops working at once. A page without a
valid cookie (or bearer header) redirects to the sign-in page; ``view.json``, fetched by the
page's script, answers 401 as the API does. None of these routes is in the OpenAPI schema:
they answer HTML, not the API's JSON.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..app import Ledger
from ..domain.errors import LedgerError
from ..params import parse_as_of, parse_known_at
from ..web.view import environment, plotly_js, render_served_page, static_text, view_cells
from .app import IMMUTABLE, is_settled, problem, refusal
from .tokens import TokenStore

COOKIE = "corpledger_token"
COOKIE_DAYS = 30
"""How long a browser keeps the token: a month, then the sign-in page again."""

SIGN_IN = "/sign-in"
MAX_FORM = 4096
"""The sign-in form's body at most (a token is 47 characters)."""

ASSETS = ("plotly.min.js", "view.js", "view.css")
MEDIA = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}

PAGE_HEADERS = {
    "Cache-Control": "no-cache, private",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@cache
def asset(name: str) -> bytes:
    return (plotly_js() if name == "plotly.min.js" else static_text(name)).encode()


@cache
def asset_gzip(name: str) -> bytes:
    return gzip.compress(asset(name), 6)


@cache
def assets_version() -> str:
    """A digest of the assets: their URL changes with them, so each can be cached forever."""
    digest = hashlib.sha256()
    for name in ASSETS:
        digest.update(asset(name))
    return digest.hexdigest()[:16]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this server, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def add_pages(app: FastAPI, ledger: Ledger, tokens: TokenStore, *, auth: bool) -> None:
    """The pages' routes on ``app``, over ``ledger``; ``auth`` False lets everyone in."""

    def signed_in(request: Request) -> bool:
        if not auth:
            return True
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            secret = request.cookies.get(COOKIE, "")
        return bool(secret) and tokens.holder(secret.strip()) is not None

    def html(text: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)

    def page(template: str, code: int = 200, **context: object) -> HTMLResponse:
        assets_url = f"/assets/{assets_version()}"
        body = environment().get_template(template).render(assets_url=assets_url, **context)
        return html(body, code)

    def error_page(status: int, lines: list[str]) -> HTMLResponse:
        message = " ".join(" ".join(lines).split())
        return page("error.html", status, status=status, message=message, sign_out=auth)

    def to_sign_in(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{SIGN_IN}?next={quote(target, safe='')}", status_code=303)

    @app.get(SIGN_IN, include_in_schema=False)
    def sign_in_form(target: Annotated[str | None, Query(alias="next")] = None) -> HTMLResponse:
        return page("sign_in.html", next=safe_next(target), message=None)

    @app.post(SIGN_IN, include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return error_page(413, [f"a sign-in form is at most {MAX_FORM} bytes"])
        form = parse_qs(body.decode("utf-8", "replace"))
        secret = (form.get("token") or [""])[0].strip()
        target = safe_next((form.get("next") or [""])[0])
        if not secret or await run_in_threadpool(tokens.holder, secret) is None:
            message = "That token is unknown or revoked: check it, or ask for a new one."
            return page("sign_in.html", 401, next=target, message=message)
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(
            COOKIE,
            secret,
            max_age=COOKIE_DAYS * 86400,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    @app.post("/sign-out", include_in_schema=False)
    def sign_out(request: Request) -> Response:
        answer = RedirectResponse(SIGN_IN, status_code=303)
        answer.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict",
            secure=request.url.scheme == "https",
        )  # fmt: skip
        return answer

    @app.get("/", include_in_schema=False)
    def companies(request: Request) -> Response:
        if not signed_in(request):
            return to_sign_in(request)
        try:
            listed = ledger.companies().companies
        except LedgerError as e:
            return error_page(*refusal(e))
        return page("companies.html", companies=listed, sign_out=auth)

    @app.get("/companies/{company}", include_in_schema=False)
    def company_page(
        request: Request, company: str, as_of: str | None = None, known_at: str | None = None
    ) -> Response:
        if not signed_in(request):
            return to_sign_in(request)
        try:
            text = render_served_page(
                ledger,
                company,
                parse_as_of(as_of, "as_of"),
                parse_known_at(known_at, "known_at"),
                assets_url=f"/assets/{assets_version()}",
                cells_url=f"/companies/{quote(company, safe='')}/view.json",
                sign_out=auth,
            )
        except LedgerError as e:
            return error_page(*refusal(e))
        return html(text)

    @app.get("/companies/{company}/view.json", include_in_schema=False)
    def cells(
        request: Request,
        company: str,
        as_of: str | None = None,
        known_at: str | None = None,
        line: Annotated[bool, Query()] = False,
    ) -> Response:
        """The cell (``as_of``, ``known_at``) of the company's page, or with ``line`` every
        date of that known-at step (``view_cells``)."""
        if not signed_in(request):
            return problem(
                401,
                ["sign in (/sign-in) or send a bearer token: Authorization: Bearer TOKEN"],
                {"WWW-Authenticate": "Bearer"},
            )
        known = parse_known_at(known_at, "known_at")
        part = view_cells(ledger, company, parse_as_of(as_of, "as_of"), known, line=line)
        fixed = as_of is not None and known_at is not None and not line and is_settled(known)
        return JSONResponse(
            part, headers={"Cache-Control": IMMUTABLE if fixed else "no-cache, private"}
        )

    @app.get("/assets/{version}/{name}", include_in_schema=False)
    def assets(request: Request, version: str, name: str) -> Response:
        if name not in ASSETS or version != assets_version():
            return problem(404, [f"no asset {version}/{name}"])
        headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        media = MEDIA[name.rsplit(".", 1)[1]]
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(asset_gzip(name), media_type=media, headers=headers)
        return Response(asset(name), media_type=media, headers=headers)
