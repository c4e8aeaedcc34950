"""The read-model writer applies everything the domain accepts: companies recorded at the
extremes of what validation takes (counts of 10^15 in an event; holdings, class and company
totals up to 10^18 through splits; money up to 10^15 with 10 decimals; split terms up to 10^6;
votes per share up to 10^6; dates from 1800-01-01 to 2999-12-31; texts up to their longest,
with tabs, newlines and any Unicode) are projected, and the tables equal the fold at every date
and position (``verify``), on SQLite and PostgreSQL.

Nothing in the projections multiplies or sums counts in SQL but the holdings query's
``SUM(shares)`` of a class (PostgreSQL sums BIGINT into NUMERIC; SQLite's 64-bit sum is under
the 10^18 totals); votes, shares × votes per share (up to 10^24), are summed in Python."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.domain.errors import RuleViolation
from ledger.ports import check_read_models
from tests import builders as b

MAX_SHARES = 10**15
MAX_TOTAL = 10**18
MAX_AMOUNT = 10**15
PLACES = 10
MAX_TERM = 10**6
MAX_VOTES = 10**6
FIRST, LAST = date(1800, 1, 1), date(2999, 12, 31)
CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])
_numbers = itertools.count()

characters = st.characters(codec="utf-8", exclude_characters=CONTROLS)  # no lone surrogates


def texts(longest: int, shortest: int = 0) -> st.SearchStrategy[str]:
    """Short texts, and texts at their longest (a drawn piece repeated: hypothesis draws at
    most a few thousand characters): tabs, newlines and any Unicode."""
    pieces = st.text(characters, min_size=1, max_size=40)
    return st.one_of(
        st.text(characters, min_size=shortest, max_size=min(20, longest)),
        pieces.map(lambda piece: (piece * (longest // len(piece) + 1))[:longest]),
        st.just(("tab\there\nnewline " * longest)[:longest]),
    )


def money() -> st.SearchStrategy[dict[str, str]]:
    """Up to 10^15, with up to 10 decimals."""
    amounts = st.one_of(
        st.integers(1, MAX_AMOUNT * 10**PLACES).map(lambda u: Decimal(u).scaleb(-PLACES)),
        st.integers(1, MAX_AMOUNT).map(Decimal),
    )
    return amounts.map(lambda a: b.usd(format(a, "f")))


def up_to(most: int) -> st.SearchStrategy[int]:
    """From 1 to ``most``, ``most`` itself often: the extremes are the point."""
    return st.one_of(st.just(most), st.integers(1, most))


counts = up_to(MAX_SHARES)
votes = st.one_of(st.just(MAX_VOTES), st.integers(0, MAX_VOTES))


@st.composite
def companies(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    """A company's events in date order, cut into one to three batches, and a back-dated
    valuation at the end."""
    name = f"c{next(_numbers)}" + "-x" * draw(st.integers(0, 45))  # slugs up to ~100
    days = sorted(draw(st.lists(st.dates(FIRST, LAST), min_size=9, max_size=9)))
    common, pref = draw(counts), draw(counts)
    moved = draw(st.integers(1, common))
    # A split of common as large as the 10^18 company total allows (terms up to 10^6).
    by = draw(st.one_of(st.just(1), st.integers(1, MAX_TERM)))
    room = (MAX_TOTAL - pref) * by // common
    to = draw(up_to(min(MAX_TERM, room)))
    after = {"p1": (common - moved) * to // by, "p3": moved * to // by}
    events = [
        b.registered(
            name,
            days[0],
            draw(texts(200, 1)),
            jurisdiction=draw(texts(200)),
            note=draw(texts(10_000)),
            source=draw(texts(2_000)),
            external_id=draw(texts(100, 1)),
        ),
        b.share_class(name, "common", days[0], votes_per_share=draw(votes)),
        b.share_class(
            name, "pref", days[0], kind="preferred", votes_per_share=draw(votes)
        ),
        b.issued(name, "p1", "common", common, days[1], price_per_share=draw(money())),
        b.invested(name, "p2", "pref", draw(money())["amount"], days[2], shares=pref,
                   round=draw(texts(200))),
        b.transferred(name, "p1", "p3", "common", moved, days[3], note=draw(texts(10_000))),
        {**b._event("StockSplit", name, days[4], {"share_class": "common"}),
         "ratio": f"{to}:{by}"},
    ]  # fmt: skip
    giver = max(after, key=lambda p: after[p])
    if after[giver] > 0:
        events.append(
            b.transferred(name, giver, "p4", "common", min(MAX_SHARES, after[giver]), days[5])
        )
    events += [
        b.valuation(name, draw(money())["amount"], days[6], basis="409a"),
        b.executive_appointed(name, "p5", "other", days[7], title=draw(texts(200, 1))),
        b.director_appointed(name, "p5", days[8], designated_by="p2"),
        b.valuation(name, draw(money())["amount"], draw(st.dates(days[0], days[8]))),
    ]
    cuts = sorted(draw(st.sets(st.integers(1, len(events) - 1), max_size=2)))
    return [events[i:j] for i, j in itertools.pairwise([0, *cuts, len(events)])]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=companies())
def test_the_read_models_apply_everything_the_domain_accepts(
    durable_url: str, batches: list[list[dict[str, Any]]]
) -> None:
    with Ledger.open(durable_url) as ledger:
        company = batches[0][0]["company"]
        recorded = 0
        for batch in batches:
            try:
                result = ledger.record(batch)
            except RuleViolation as refused:
                # Built within every numbered rule; a derived figure may pass a bound (an
                # implied valuation, say): the domain refuses it, and what it took stands.
                if refused.rule != "bounds":
                    raise
                break
            assert result.lagging is None
            recorded += 1
        assume(recorded > 0)
        assert check_read_models(ledger, company).startswith(
            f"read models match the fold: company {company}, "
        )
        for day in (LAST, batches[-1][-1]["effective_date"]):
            on = date.fromisoformat(day) if isinstance(day, str) else day
            assert ledger.cap_table(company, on) == ledger.cap_table(company, on, fold=True)
            assert ledger.roster(company, on) == ledger.roster(company, on, fold=True)
            assert ledger.holdings("p3", on) == ledger.holdings("p3", on, fold=True)
        assert ledger.lagging is None
