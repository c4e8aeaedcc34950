"""The pages for people (ledger/http/pages.py) in-process, on SQLite and PostgreSQL: signing
in keeps the token in a cookie and a revoked one stops at once; pages redirect to the sign-in
page where the API answers 401; bad parameters are HTML pages with the one-line message; the
cells the page fetches are the API's figures; the assets are cached forever under a digest.
(The pages in a browser, against a real server: tests/e2e/test_serve_browser.py.)"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from ledger import Ledger
from ledger.http.app import create_app
from ledger.http.pages import COOKIE, safe_next
from ledger.http.tokens import Role, TokenStore
from tests.http.conftest import COMPANY, Served

PAGE = f"/companies/{COMPANY}"


def signed_in(served: Served, *, base_url: str = "http://testserver") -> TestClient:
    """A client of its own, signed in through the form with the reader's token."""
    client = TestClient(served.client.app, base_url=base_url)
    secret = served.reader["Authorization"].removeprefix("Bearer ")
    answer = client.post("/sign-in", data={"token": secret, "next": PAGE}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, PAGE)
    return client


def test_pages_redirect_to_sign_in_where_the_api_answers_401(served: Served) -> None:
    client = served.client
    for path in ("/", f"{PAGE}?as_of=2021-01-01&known_at=9"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/sign-in?next={quote(path, safe='')}"
    assert client.get(f"{PAGE}/view.json?known_at=9").status_code == 401
    assert client.get(f"/v1/companies/{COMPANY}/cap-table").status_code == 401
    refused = client.post("/sign-in", data={"token": "clt_wrong", "next": "/"})
    assert refused.status_code == 401
    assert "That token is unknown or revoked" in refused.text
    assert COOKIE not in refused.headers.get("set-cookie", "")
    # A bearer header opens the pages too (a script, a proxy).
    assert client.get("/", headers=served.reader).status_code == 200


def test_signing_in_keeps_the_token_in_a_strict_httponly_cookie(served: Served) -> None:
    client = signed_in(served, base_url="https://testserver")
    answer = client.post(
        "/sign-in",
        data={"token": served.reader["Authorization"][7:], "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"  # never another site
    set_cookie = answer.headers["set-cookie"]
    assert re.match(
        rf"{COOKIE}=clt_[\w-]+; HttpOnly; Max-Age=2592000; Path=/; SameSite=strict; Secure$",
        set_cookie,
    ), set_cookie
    page = client.get("/")
    assert page.status_code == 200
    assert f'<a href="{PAGE}">{COMPANY}</a>' in page.text
    out = client.post("/sign-out", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_stops_at_once(served: Served) -> None:
    with Ledger.open(served.url) as ledger:
        secret = TokenStore(ledger.engine).create(f"revoked-{id(served)}", Role.reader)
    client = TestClient(served.client.app)
    client.post("/sign-in", data={"token": secret, "next": "/"})
    assert client.get("/", follow_redirects=False).status_code == 200
    with Ledger.open(served.url) as ledger:
        TokenStore(ledger.engine).revoke(f"revoked-{id(served)}")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get(f"{PAGE}/view.json").status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("as_of=2021-13-01", 422, "as_of &#39;2021-13-01&#39; is not a valid date: month must be in 1..12"),  # noqa: E501
        ("as_of=%3Cscript%3E", 422, "as_of &#39;&lt;script&gt;&#39; is not a date: write YYYY-MM-DD, e.g. 2025-06-12"),  # noqa: E501
        ("known_at=99", 422, "known_at 99 is past the end of the log (last position 11)"),
        ("known_at=-3", 422, "known_at -3 is not a position (positions are &gt;= 1)"),
        ("known_at=2999-01-01", 422, "known_at 2999-01-01 is in the future"),
    ],
)  # fmt: skip
def test_bad_parameters_are_a_page_with_the_one_line_message(
    served: Served, query: str, status: int, message: str
) -> None:
    answer = served.client.get(f"{PAGE}?{query}", headers=served.reader)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<p class="disagreement" id="error">{message}</p>' in answer.text


def test_an_unknown_company_is_a_404_page(served: Served) -> None:
    answer = served.client.get("/companies/%3Cimg%20src%3Dx%3E", headers=served.reader)
    assert answer.status_code == 404
    assert "unknown company &#39;&lt;img src=x&gt;&#39;" in answer.text
    assert "<img" not in answer.text


def test_the_cells_the_page_fetches_are_the_apis_figures(served: Served) -> None:
    client = signed_in(served)
    cell = client.get(f"{PAGE}/view.json?as_of=2020-06-01&known_at=8").json()
    assert (cell["known_at"], cell["dates"], cell["cells"]) == (8, ["2020-06-01"], [0])
    (snapshot,) = cell["snapshots"]
    asked = f"/v1/companies/{COMPANY}/cap-table?as_of=2020-06-01&known_at=8"
    api = served.client.get(asked, headers=served.reader).json()  # the API takes no cookie
    assert (snapshot["total"], snapshot["diluted"]) == (api["total_shares"], 12_500_000)
    holders = sorted(cell["rows"]["holders"][n] for n in snapshot["holders"][1])
    assert [(h[0], h[2]) for h in holders] == sorted(
        (h["party"], h["classes"]) for h in api["holders"]
    )

    line = client.get(f"{PAGE}/view.json?as_of=2021-01-01&known_at=8&line=true")
    assert line.headers["cache-control"] == "no-cache, private"
    dates = line.json()["dates"]
    assert dates == ["2020-01-01", "2020-06-01", "2021-01-01", "2021-05-01"]
    cached = client.get(f"{PAGE}/view.json?as_of=2020-06-01&known_at=8")
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_assets_are_served_under_their_digest_and_cached_forever(served: Served) -> None:
    page = served.client.get(PAGE, headers=served.reader).text
    (version,) = set(re.findall(r'"/assets/(\w+)/(?:plotly\.min\.js|view\.js|view\.css)"', page))
    for name in ("plotly.min.js", "view.js", "view.css"):
        answer = served.client.get(f"/assets/{version}/{name}")  # no token needed
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.client.get("/assets/0123/view.js").status_code == 404
    assert served.client.get(f"/assets/{version}/app.py").status_code == 404
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from outside


def test_the_pages_are_not_in_the_openapi_schema(served: Served) -> None:
    paths = served.client.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/v1/") or path == "/healthz" for path in paths)


def test_without_auth_the_pages_need_no_sign_in(served: Served) -> None:
    with TestClient(create_app(served.url, auth=False)) as client:
        page = client.get(PAGE, follow_redirects=False)
        assert page.status_code == 200
        assert "Sign out" not in page.text
        assert client.get(f"{PAGE}/view.json?known_at=3").status_code == 200


def test_only_a_path_of_this_server_is_a_place_to_go_after_signing_in() -> None:
    assert [safe_next(t) for t in ("/companies/x?a=1", "//evil", "/\\evil", "https://e", None)] == [
        "/companies/x?a=1", "/", "/", "/", "/",
    ]  # fmt: skip
