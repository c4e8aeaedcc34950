"""The HTTP API (docs/http.md): FastAPI over one ``Ledger``, the command line's answers as
JSON bodies, byte for byte (``Report.json_text``), and ``POST /v1/events`` reading its body
by the rules of an event file (``ledger.files.read_document``).

Errors are ``{"status": N, "errors": ["one line", ...]}``: 400 a body that does not parse,
401/403 the token, 404 an unknown path or company, 405, 413 a body too large, 415 a body
neither JSON nor JSON Lines, 422 a parameter or an event refused (the CLI's messages), 409 a
write conflict that outlived its retries, 503 the store unreachable.
"""

import asyncio
import hashlib
import ipaddress
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
import swagger_ui_bundle
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ..app import KnownAt, Ledger, default_actor, today
from ..domain.errors import (
    ConflictError,
    InputError,
    LedgerError,
    StoreError,
    UnknownCompany,
)
from ..feed import MAX_PAGE, PAGE, Feed, Waiter
from ..files import MAX_FILE_BYTES, read_document
from ..params import parse_as_of, parse_date, parse_known_at
from ..persistence.faults import fault
from ..reports import (
    Audit,
    Board,
    CapTable,
    Companies,
    CompanyHistory,
    Grants,
    Holdings,
    PartyHistory,
    Report,
    Roster,
)
from .cache import DEFAULT_MB, AnswerCache, Cached
from .feedpages import FeedAnswer, FeedPages, json_bytes
from .tokens import Role, Token, TokenStore

SETTLED = timedelta(minutes=10)
"""A ``known_at`` timestamp this far in the past names a position that no longer changes:
every write transaction that could still commit an earlier ``recorded_at`` has ended."""

IMMUTABLE = "public, max-age=31536000, immutable"

MAX_WAIT = 60.0
"""The longest ``GET /v1/events`` long-polls (``wait``)."""

WAIT_SLICE = 1.0
"""A wait for the feed lasts this long at a time, between looks at the client (gone: the wait
ends)."""

READ_WAIT = 2.0
"""The longest a ``--no-project`` server's query waits for the projections worker to bring
the read models up to the position it asks for, before it catches them up itself."""

FIRST_PAUSE, MAX_PAUSE = 0.005, 0.1
"""Seconds between looks at the read models' position while waiting: doubling from the
first to the longest (the worker projects a batch in milliseconds to a second)."""

KEEP_ALIVE = 15.0
"""Seconds of silence after which the event stream sends a comment (proxies keep it open)."""

MEDIA_TYPES: dict[str, Literal["json", "jsonl"]] = {
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}

ENV_DB = "CORPLEDGER_DB"
ENV_NO_AUTH = "CORPLEDGER_SERVE_NO_AUTH"
ENV_NO_PROJECT = "CORPLEDGER_SERVE_NO_PROJECT"
ENV_CACHE_MB = "CORPLEDGER_SERVE_CACHE_MB"


class Problem(BaseModel):
    """Every error's body."""

    status: int
    errors: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    position: int


class Recorded(BaseModel):
    event_id: str
    position: int
    company: str
    type: str
    effective_date: date
    external_id: str | None = None


class SkippedOut(BaseModel):
    where: str
    company: str
    external_id: str
    event_id: str


class RecordAnswer(BaseModel):
    """``corpledger record --format json``'s answer, and ``lagging``: why the read models
    could not be brought up to date (the events are stored all the same), or null."""

    dry_run: bool
    recorded: list[Recorded]
    skipped: list[SkippedOut]
    lagging: str | None


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in statuses}


READ_ERRORS = _errors(401, 404, 422, 503)
QUERY_ERRORS = {304: {"description": "Not Modified (If-None-Match)"}, **READ_ERRORS}

AsOf = Annotated[
    str | None,
    Query(description="The date of the answer, YYYY-MM-DD (default: today, UTC)."),
]
KnownAtParam = Annotated[
    str | None,
    Query(
        description="A log position, an ISO 8601 timestamp (no zone: UTC) or a date (its end, "
        "UTC): the answer as the ledger knew it then (default: now)."
    ),
]
OnOrBefore = Annotated[
    str | None, Query(description="Only the events effective on or before this date.")
]
LAST_POSITION = 2**63 - 1
"""The largest position a parameter names (PostgreSQL's bigint)."""
MinPosition = Annotated[
    int | None,
    Query(
        ge=1,
        le=LAST_POSITION,
        description="Read your writes: the answer reflects at least this position (a POST's "
        "answer names its positions); past the end of the log: 422.",
    ),
]


def problem(status: int, lines: list[str], headers: dict[str, str] | None = None) -> Response:
    body = Problem(status=status, errors=[" ".join(line.split()) for line in lines])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def refusal(e: LedgerError) -> tuple[int, list[str]]:
    """The status and lines of the ledger's refusal: 404 an unknown company (named alone, not
    where the ledger looked), 422 bad input, 409 a conflict, 503 the store."""
    if isinstance(e, UnknownCompany):
        return 404, [f"unknown company {e.company!r}"]
    if isinstance(e, InputError) or e.exit_code == 2:
        return 422, [_as_parameters(line) for line in e.lines]
    if isinstance(e, ConflictError):
        return 409, e.lines
    if isinstance(e, StoreError):
        return 503, e.lines
    return 500, e.lines


_OPTIONS = re.compile(r"--(known-at|as-of|from|to)\b")
"""The command line's options the ledger's messages name, which the API calls parameters."""


def _as_parameters(line: str) -> str:
    """A message of the ledger's in the API's words: ``known_at``, not ``--known-at``."""
    return _OPTIONS.sub(lambda m: m.group(1).replace("-", "_"), line)


def allowed_methods(request: Request) -> set[str]:
    """The methods the routes of the request's path take."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods


def as_version(row: Sequence[Any]) -> tuple[int, int]:
    """(the end of the log, the read models' generation) from their query's row."""
    return int(row[0] or 0), int(row[1] or 0)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``--no-auth`` needs that)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_settled(known: KnownAt) -> bool:
    """Whether ``known_at`` names a position that can no longer change: a position (a query
    past the end of the log is refused), or a moment at least ``SETTLED`` ago."""
    if isinstance(known, int):
        return True
    if isinstance(known, datetime):
        moment = known if known.tzinfo else known.replace(tzinfo=UTC)
    elif isinstance(known, date):
        moment = datetime.combine(known + timedelta(days=1), datetime.min.time(), UTC)
    else:
        return False
    return moment <= datetime.now(UTC) - SETTLED


def create_app(
    url: str | None = None,
    *,
    auth: bool = True,
    project: bool = True,
    read_wait: float = READ_WAIT,
    cache_bytes: int = DEFAULT_MB << 20,
) -> FastAPI:
    """The API over the ledger at ``url`` (which must hold one). Without ``auth`` every
    request is let in and POSTs are recorded by ``default_actor()``; without ``project`` a
    POST returns once its events are stored, leaving the read models to a worker (``corpledger
    projections run --follow``), and a query answers as of the read models' position, once
    it reaches the one asked for (waiting up to ``read_wait`` seconds for the worker). The
    queries' answers are kept in an ``AnswerCache`` of ``cache_bytes`` (0: none)."""
    ledger = Ledger.open(url, create=False)
    # Every request's checks (its token, the ledger's version) are single reads: without a
    # transaction, a connection goes back to the pool with no ROLLBACK, a round trip saved.
    checks = ledger.engine.execution_options(isolation_level="AUTOCOMMIT")
    tokens = TokenStore(checks)  # the server only reads tokens
    feed = Feed(ledger)
    pages = FeedPages(feed)
    cache = AnswerCache(cache_bytes)
    # The end of the log and the read models' generation (bumped by a rebuild), in one round
    # trip: an answer computed at the same pair is the same answer.
    version_sql = f"SELECT {ledger.store.log.end_sql()} AS log_end, " + (
        "0" if ledger.read_models is None else
        "(SELECT MAX(generation) FROM projection_tracking)"
    ) + " AS generation"  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        feed.close()  # ends every wait, so the streams end too
        pages.close()
        ledger.close()

    app = FastAPI(
        title="corpledger",
        version="1",
        description="Cap tables, rosters and boards for any date, as known at any moment.",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,  # operationId: the function's
        lifespan=lifespan,
    )
    app.state.answer_cache = cache
    bearer = HTTPBearer(auto_error=False, description="corpledger tokens create")

    # --- errors ------------------------------------------------------------------------

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> Response:
        headers = dict(e.headers or {})
        if e.status_code == 405:
            # Starlette names the methods of the first route of the path only: every route
            # of the path is named (GET and POST /v1/events).
            headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
        return problem(e.status_code, [str(e.detail)], headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, e: RequestValidationError) -> Response:
        lines = [
            f"{' '.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in e.errors()
        ]
        return problem(422, lines)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, e: Exception) -> Response:
        """A failure no rule foresaw: a store fault in a person's words (503), else 500."""
        found = fault(e)
        if found is not None:
            return problem(503, [found])
        return problem(500, [f"internal error: {type(e).__name__} (see the server's log)"])

    @app.exception_handler(LedgerError)
    async def refused(_: Request, e: LedgerError) -> Response:
        return problem(*refusal(e))

    # --- access ------------------------------------------------------------------------

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Token | None:
        """The request's token, read with the ledger's version for ``answer``
        (``request.state.version``) in one small query, on the loop (cheaper than a turn
        through a thread)."""
        if not auth:
            return None
        if credentials is None:
            raise HTTPException(
                401,
                "a bearer token is needed: Authorization: Bearer TOKEN (corpledger tokens create)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token, version = tokens.holder_beside(credentials.credentials, version_sql)
        request.state.version = as_version(version)
        if token is None:
            raise HTTPException(
                401, "the token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
            )
        return token

    async def writer(token: Annotated[Token | None, Depends(caller)]) -> str:
        """Who records: the token's name (the server's actor without authentication)."""
        if token is None:
            return default_actor()
        if token.role is not Role.writer:
            raise HTTPException(403, f"token {token.name!r} is a reader's: POST needs a writer's")
        return token.name

    # --- answers -----------------------------------------------------------------------

    def reach(known: KnownAt, min_position: int | None) -> KnownAt:
        """Read your writes: ``min_position`` must be in the log (a position a POST returned
        always is); the answer reflects it. Returns the ``known_at`` to answer as of.

        A server that projects on POST brings the read models up to ``min_position`` (taking
        turns with a worker projecting at the same time), and answers as of ``known``. A
        ``--no-project`` server leaves projecting to the worker: it answers as of the
        position the read models stand at, once they reach the position asked for
        (``min_position``, ``known_at``), waiting up to ``read_wait`` seconds for the worker
        and then catching up itself (a worker that is down makes reads slower, not wrong)."""
        if min_position is not None:
            in_log(min_position, ledger.store.log.last_position())
        if project:
            if min_position is not None:
                ledger.project(until=min_position)
            return known
        read_models = ledger.read_models
        if read_models is None:
            return known
        asked = 0 if known is None else ledger.known_position(known)
        needed = max(asked, min_position or 0)
        deadline = time.monotonic() + read_wait
        pause = FIRST_PAUSE
        while (at := read_models.tracked()) < needed:
            if time.monotonic() >= deadline:
                ledger.project(until=needed)
                return needed if known is None else asked
            time.sleep(pause)
            pause = min(2 * pause, MAX_PAUSE)
        return at if known is None else asked

    def in_log(min_position: int, last: int) -> None:
        if last < min_position:
            raise InputError(
                f"min_position {min_position} is past the end of the log (last position {last})"
            )

    def ledger_version(request: Request) -> tuple[int, int]:
        """(the end of the log, the read models' generation), as the request's token check
        read them, or else now."""
        read: tuple[int, int] | None = getattr(request.state, "version", None)
        if read is not None:
            return read
        with checks.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(version_sql)
            return as_version(cursor.fetchone() or (0, 0))

    def version_of(
        request: Request, known: KnownAt, min_position: int | None
    ) -> tuple[Hashable, KnownAt]:
        """The version of the ledger an answer known at ``known`` is computed at (``None``:
        not to be cached), and the ``known_at`` to compute it with (``reach``).

        A server that projects answers as of ``known``: a position answers the same for as
        long as the read models' generation stands, so does a settled moment; anything else
        (the latest, a moment that may still gain events) for as long as the end of the log
        stands too. A ``--no-project`` server answers as of the position ``reach`` finds."""
        if not project:
            at = reach(known, min_position)
            return (ledger_version(request)[1], at), at
        end, generation = ledger_version(request)
        if min_position is not None:
            in_log(min_position, end)
        if isinstance(known, int):
            return ((generation, known) if known <= end else None), known
        return (generation, None if is_settled(known) else end), known

    def computed(
        ask: Callable[[KnownAt], Report], known: KnownAt, at: KnownAt, min_position: int | None
    ) -> Cached:
        if project and min_position is not None:
            reach(known, min_position)  # takes turns with a worker projecting
        body = (ask(at).json_text() + "\n").encode()
        return Cached(None, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')

    computing: dict[Hashable, asyncio.Future[Cached | None]] = {}

    async def computed_once(
        flight: Hashable,
        ask: Callable[[KnownAt], Report],
        known: KnownAt,
        at: KnownAt,
        min_position: int | None,
    ) -> Cached:
        """``computed``, once for all the requests asking for the same answer at the same
        version at the same time (a view many clients ask for again after a write)."""
        under_way = computing.get(flight)
        if under_way is not None and (found := await asyncio.shield(under_way)) is not None:
            return found
        if under_way is not None:  # it failed: again, here, which says why if it lasts
            return await run_in_threadpool(computed, ask, known, at, min_position)
        mine = computing[flight] = asyncio.get_running_loop().create_future()
        try:
            found = await run_in_threadpool(computed, ask, known, at, min_position)
        except BaseException:
            mine.set_result(None)
            raise
        finally:
            del computing[flight]
        mine.set_result(found)
        return found

    async def answer(
        request: Request,
        ask: Callable[[KnownAt], Report],
        known_at: str | None,
        min_position: int | None,
        *,
        fixed: bool,
    ) -> Response:
        """The report as the CLI prints it, with an ETag (the body's digest); ``fixed`` (both
        ``as_of`` and ``known_at`` given, or no date to give) and a settled ``known_at`` make
        it immutable. Served from the answer cache when computed at the ledger's version."""
        known = parse_known_at(known_at, "known_at")
        if project:  # one small query: on the loop, cheaper than a turn through a thread
            version, at = version_of(request, known, min_position)
        else:  # may wait for the projections worker
            version, at = await run_in_threadpool(version_of, request, known, min_position)
        # min_position is left out: the answer reflects it, whatever it is, once it is valid.
        asked_for = sorted(i for i in request.query_params.multi_items() if i[0] != "min_position")
        key = (request.url.path, tuple(asked_for), today())
        found = None if version is None else cache.get(key, version)
        if found is None and version is None:
            found = await run_in_threadpool(computed, ask, known, at, min_position)
        elif found is None:
            found = await computed_once((key, version), ask, known, at, min_position)
            cache.put(key, found._replace(version=version))
        headers = {
            "ETag": found.etag,
            "Cache-Control": IMMUTABLE if fixed and is_settled(known) else "no-cache",
        }
        asked = request.headers.get("if-none-match", "")
        if found.etag in [t.strip().removeprefix("W/") for t in asked.split(",")] or asked == "*":
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type="application/json", headers=headers)

    reader = [Depends(caller)]

    @app.get("/healthz", response_model=Health, responses=_errors(503), tags=["service"])
    def healthz() -> Response:
        """The server is up and its store answers; ``position`` is the end of the log."""
        try:
            position = ledger.store.log.last_position()
        except Exception as e:  # whatever the store's failure, the server is not healthy
            return problem(503, [f"the store does not answer: {fault(e) or type(e).__name__}"])
        return JSONResponse(Health(status="ok", position=position).model_dump())

    @app.get(
        "/v1/companies",
        response_model=Companies,
        responses=QUERY_ERRORS,
        dependencies=reader,
        tags=["queries"],
    )
    async def companies(
        request: Request, known_at: KnownAtParam = None, min_position: MinPosition = None
    ) -> Response:
        """Every company: slug, name, registration date, events, last position."""
        return await answer(
            request, ledger.companies, known_at, min_position, fixed=known_at is not None
        )

    def query(
        path: str,
        model: type[Report],
        ask: Callable[[str, date | None, KnownAt], Report],
        doc: str,
        *,
        trail: bool = False,
    ) -> None:
        """A GET of ``path`` (``/v1/companies/{company}/…`` or ``/v1/parties/{party}/…``)
        answering ``ask(company or party, as_of, known_at)``. A ``trail`` (history) takes
        ``as_of`` as a filter (events effective by then), and is fixed by ``known_at``
        alone."""
        key = path.split("{")[1].split("}")[0]
        day_param = OnOrBefore if trail else AsOf

        async def endpoint(
            request: Request,
            subject: Annotated[str, Path(alias=key)],
            as_of: day_param = None,  # type: ignore[valid-type]
            known_at: KnownAtParam = None,
            min_position: MinPosition = None,
        ) -> Response:
            day = parse_as_of(as_of, "as_of")
            return await answer(
                request,
                lambda known: ask(subject, day, known),
                known_at,
                min_position,
                fixed=known_at is not None and (trail or as_of is not None),
            )

        endpoint.__name__ = path.rsplit("/", 1)[1].replace("-", "_") + f"_of_{key}"
        app.get(
            path,
            response_model=model,
            responses=QUERY_ERRORS,
            dependencies=reader,
            tags=["queries"],
            description=doc,
        )(endpoint)

    query(
        "/v1/companies/{company}/cap-table",
        CapTable,
        ledger.cap_table,
        "Holders, shares by class, ownership and voting %, fully diluted, pools, warrants, "
        "convertibles and the last valuation (`corpledger cap-table --format json`).",
    )
    query(
        "/v1/companies/{company}/roster",
        Roster,
        ledger.roster,
        "Officers in office: role, title, person, since, interim.",
    )
    query(
        "/v1/companies/{company}/board",
        Board,
        ledger.board,
        "Directors: person, seat, since, designated by, executive or not.",
    )
    query(
        "/v1/parties/{party}/holdings",
        Holdings,
        ledger.holdings,
        "Every position of a party across the companies of the ledger.",
    )
    query(
        "/v1/companies/{company}/history",
        CompanyHistory,
        lambda company, day, known: ledger.history(company, known).effective_until(day),
        "The audit trail: every event with its provenance, by position.",
        trail=True,
    )
    query(
        "/v1/parties/{party}/history",
        PartyHistory,
        lambda party, day, known: ledger.party_history(party, known).effective_until(day),
        "Every event touching a party, across all companies, by position.",
        trail=True,
    )

    @app.get(
        "/v1/companies/{company}/grants",
        response_model=Grants,
        responses=QUERY_ERRORS,
        dependencies=reader,
        tags=["queries"],
    )
    async def grants(
        request: Request,
        company: str,
        as_of: AsOf = None,
        known_at: KnownAtParam = None,
        min_position: MinPosition = None,
        holder: Annotated[str | None, Query(description="Only this party's awards.")] = None,
    ) -> Response:
        """Awards: quantity, vested, exercised, cancelled, outstanding, exercisable."""
        day = parse_as_of(as_of, "as_of")
        return await answer(
            request,
            lambda known: ledger.grants(company, day, known, holder=holder),
            known_at,
            min_position,
            fixed=as_of is not None and known_at is not None,
        )

    @app.get(
        "/v1/companies/{company}/audit",
        response_model=Audit,
        responses=QUERY_ERRORS,
        dependencies=reader,
        tags=["queries"],
    )
    async def audit(
        request: Request,
        company: str,
        start: Annotated[
            str | None, Query(alias="from", description="First effective date (inclusive).")
        ] = None,
        end: Annotated[
            str | None,
            Query(alias="to", description="Last effective date (inclusive; default today)."),
        ] = None,
        known_at: KnownAtParam = None,
        min_position: MinPosition = None,
    ) -> Response:
        """Every change in a period and the events behind it."""
        first, last = parse_date("from", start), parse_date("to", end)
        return await answer(
            request,
            lambda known: ledger.audit(company, first, last, known_at=known),
            known_at,
            min_position,
            fixed=end is not None and known_at is not None,
        )

    # --- the change feed -------------------------------------------------------------------

    async def wait_for(
        request: Request, waiter: Waiter, after: int, company: str | None, seconds: float
    ) -> bool:
        """Whether an event after ``after`` came within ``seconds``: waited for in slices (the
        loop woken at a commit: no thread held), ending early when the client goes away."""
        deadline = anyio.current_time() + seconds
        while (left := deadline - anyio.current_time()) > 0:
            if await waiter.wait(after, min(left, WAIT_SLICE), company):
                return True
            if waiter.cancelled or await request.is_disconnected():
                return False
        return False

    Company = Annotated[str | None, Query(description="Only this company's events.")]
    After = Annotated[int, Query(ge=0, le=LAST_POSITION, description="Events after this position.")]

    @app.get(
        "/v1/events",
        response_model=FeedAnswer,
        responses=READ_ERRORS,
        dependencies=reader,
        tags=["change feed"],
    )
    async def events(
        request: Request,
        after: After = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Events at most.")] = PAGE,
        company: Company = None,
        wait: Annotated[
            float,
            Query(
                ge=0,
                le=MAX_WAIT,
                description="Seconds to wait for an event when there is none yet (long-poll).",
            ),
        ] = 0,
    ) -> Response:
        """The events after ``after`` in position order (the ``history`` shape, company
        included); resume after ``end`` (the end of the log this page was read up to). A full
        page never changes: it is immutable."""
        found = await run_in_threadpool(pages.page, after, limit, company)
        if not found.events and wait > 0:
            waiter = feed.waiter()
            try:
                if await wait_for(request, waiter, found.end, company, wait):
                    found = await run_in_threadpool(pages.read, after, limit, company, found.end)
            finally:
                waiter.cancel()
        return Response(
            found.body,
            media_type="application/json",
            headers={"Cache-Control": IMMUTABLE if found.full else "no-cache"},
        )

    @app.get(
        "/v1/events/stream",
        responses={
            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                  "description": "Server-Sent Events: one event a ledger event, id = position"},
            **READ_ERRORS,
        },
        dependencies=reader,
        tags=["change feed"],
    )  # fmt: skip
    async def stream(
        request: Request,
        after: After = 0,
        company: Company = None,
        last_event_id: Annotated[
            str | None,
            Header(description="Resume after this position (what a reconnecting browser sends)."),
        ] = None,
    ) -> StreamingResponse:
        """The change feed as Server-Sent Events (``event: ledger-event``, ``id:`` its
        position, ``data:`` the event as in ``GET /v1/events``), from ``after`` or the
        ``Last-Event-ID`` header, then each event as it is recorded."""
        if last_event_id is not None:
            digits = last_event_id.strip()
            # ASCII digits: ``isdigit`` also takes ² and other scripts' digits.
            if not (digits.isascii() and digits.isdigit()) or int(digits) > LAST_POSITION:
                raise InputError(f"Last-Event-ID {last_event_id!r} is not a position")
            after = int(digits)
        first = await run_in_threadpool(feed.page, after, PAGE, company)  # 404 before 200

        async def lines() -> AsyncIterator[bytes]:
            page, waiter = first, feed.waiter()
            try:
                while True:
                    if page.events:  # one write a page: cheaper than one an event
                        yield b"".join(
                            b"event: ledger-event\nid: %d\ndata: %s\n\n"
                            % (e.position, json_bytes(e))
                            for e in page.events
                        )
                    quiet = not page.events
                    if quiet and not await wait_for(request, waiter, page.end, company, KEEP_ALIVE):
                        if waiter.cancelled or await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                    page = await run_in_threadpool(feed.page, page.end, PAGE, company)
            finally:
                waiter.cancel()

        return StreamingResponse(
            lines(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post(
        "/v1/events",
        status_code=201,
        response_model=RecordAnswer,
        responses={
            200: {"model": RecordAnswer, "description": "Nothing new: every event skipped"},
            **_errors(400, 401, 403, 409, 413, 415, 422, 503),
        },
        tags=["recording"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def record(request: Request, actor: Annotated[str, Depends(writer)]) -> Response:
        """Record events as one atomic batch (a JSON list, or JSON Lines with
        ``Content-Type: application/x-ndjson``), by the rules of ``corpledger record``: all
        of them, or none (422 with the CLI's messages)."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = MEDIA_TYPES.get(media)
        if fmt is None:
            shown = media or "none"
            return problem(
                415,
                [f"Content-Type {shown}: send application/json (a list of events) or "
                 "application/x-ndjson (one event a line)"],
            )  # fmt: skip
        too_big = problem(413, [f"body larger than {MAX_FILE_BYTES >> 20} MiB"])
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
            return too_big
        chunks, size = [], 0
        async for chunk in request.stream():  # counted as it comes: a chunked body too
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                return too_big
            chunks.append(chunk)
        try:
            items = read_document("body", b"".join(chunks), fmt)
        except InputError as e:
            return problem(400, e.lines)
        result = await run_in_threadpool(ledger.record, items, actor=actor, project=project)
        body = {
            **result.as_json(),
            "lagging": None if result.lagging is None else " ".join(str(result.lagging).split()),
        }
        return Response(
            (json.dumps(body) + "\n").encode(),  # unindented: the C encoder, 10× faster
            status_code=201 if result.recorded else 200,
            media_type="application/json",
        )

    from .pages import add_pages  # the pages use this module's answers and errors

    add_pages(app, ledger, tokens, auth=auth)

    # --- the interactive documentation, from the package's files --------------------------

    app.mount(
        "/docs/assets",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="corpledger API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    return app


def from_environment() -> FastAPI:
    """The app ``corpledger serve`` runs (uvicorn's factory, once in each worker process)."""
    return create_app(
        os.environ.get(ENV_DB),
        auth=os.environ.get(ENV_NO_AUTH) != "1",
        project=os.environ.get(ENV_NO_PROJECT) != "1",
        cache_bytes=int(os.environ.get(ENV_CACHE_MB, DEFAULT_MB)) << 20,
    )
