"""The rules and evolve of shares, classes and valuations (the first catalogue's equity)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from .errors import BOUND, Broken
from .events import (
    AuthorizedSharesChanged,
    CompanyRegistered,
    Fact,
    InvestmentMade,
    ShareClassCreated,
    SharesCancelled,
    SharesIssued,
    SharesTransferred,
    StockSplit,
    ValuationRecorded,
)
from .state import CompanyState, Handler, ShareClass, Valuation
from .values import MAX_TOTAL, money_amount, parse_ratio, percent, round_shares

# --- evolve: apply without checking ---


def _add(state: CompanyState, party: str, share_class: str, shares: int) -> None:
    classes = state.holdings.setdefault(party, {})
    left = classes.get(share_class, 0) + shares
    if left:
        classes[share_class] = left
    else:
        del classes[share_class]
        if not classes:
            del state.holdings[party]


def issue(state: CompanyState, party: str, share_class: str, shares: int) -> None:
    _add(state, party, share_class, shares)
    state.classes[share_class].issued += shares
    state.outstanding += shares


def _registered(s: CompanyState, f: CompanyRegistered) -> None:
    s.name = f.name
    s.registered = f.effective_date


def _class_created(s: CompanyState, f: ShareClassCreated) -> None:
    s.classes[f.share_class] = ShareClass(
        f.share_class, f.name, f.kind, f.authorized, f.votes_per_share
    )


def _issued(s: CompanyState, f: SharesIssued) -> None:
    issue(s, f.holder, f.share_class, f.shares)


def _invested(s: CompanyState, f: InvestmentMade) -> None:
    new = f.new_shares
    issue(s, f.investor, f.share_class, new)
    s.valuation = Valuation(
        post_money(f, s.outstanding), f.amount.currency, "post-money", f.effective_date
    )


def post_money(f: InvestmentMade, outstanding_after: int) -> Decimal:
    """The post-money valuation of an investment: given, pre-money + amount, or implied by
    the stake the money bought (amount × shares after / new shares)."""
    if f.post_money_valuation is not None:
        return f.post_money_valuation.amount
    if f.pre_money_valuation is not None:
        return f.pre_money_valuation.amount + f.amount.amount
    return money_amount(Fraction(f.amount.amount) * outstanding_after / f.new_shares)


def _transferred(s: CompanyState, f: SharesTransferred) -> None:
    _add(s, f.from_, f.share_class, -f.shares)
    _add(s, f.to, f.share_class, f.shares)


def _cancelled(s: CompanyState, f: SharesCancelled) -> None:
    issue(s, f.holder, f.share_class, -f.shares)


def split_result(s: CompanyState, f: StockSplit) -> tuple[dict[str, int], int | None]:
    """Each holder's shares of the class after the split (rounded down), and the class's
    authorized shares after it."""
    n, m = parse_ratio(f.ratio)
    after = {
        party: held[f.share_class] * n // m
        for party, held in s.holdings.items()
        if f.share_class in held
    }
    authorized = s.classes[f.share_class].authorized
    return after, None if authorized is None else authorized * n // m


def _split(s: CompanyState, f: StockSplit) -> None:
    after, authorized = split_result(s, f)
    for party, shares in after.items():
        issue(s, party, f.share_class, shares - s.holdings[party][f.share_class])
    s.classes[f.share_class].authorized = authorized


def _authorized(s: CompanyState, f: AuthorizedSharesChanged) -> None:
    s.classes[f.share_class].authorized = f.authorized


def _valued(s: CompanyState, f: ValuationRecorded) -> None:
    s.valuation = Valuation(f.valuation.amount, f.valuation.currency, f.basis, f.effective_date)


# --- rules: pure checks of (state before, fact) ---


def need_class(s: CompanyState, share_class: str) -> ShareClass:
    cls = s.classes.get(share_class)
    if cls is None:
        raise Broken(2, f"share class {share_class!r} does not exist at this date")
    return cls


def within_authorized(s: CompanyState, share_class: str, new: int) -> None:
    cls = need_class(s, share_class)
    if cls.authorized is not None and cls.issued + new > cls.authorized:
        raise Broken(
            2,
            f"issuing {new:,} {share_class} would make {cls.issued + new:,} issued, "
            f"over the {cls.authorized:,} authorized",
        )


def _need_holding(s: CompanyState, party: str, share_class: str, shares: int, what: str) -> None:
    need_class(s, share_class)
    held = s.held(party, share_class)
    if shares > held:
        raise Broken(
            3,
            f"{what} of {shares:,} {share_class} from {party} exceeds their holding of {held:,}",
        )


def _check_registered(s: CompanyState, f: CompanyRegistered) -> None:
    if s.registered is not None:
        raise Broken(1, f"{f.company} is already registered (on {s.registered})")


def _check_class_created(s: CompanyState, f: ShareClassCreated) -> None:
    if f.share_class in s.classes:
        raise Broken(2, f"share class {f.share_class!r} already exists")


def past_bound(s: CompanyState, what: str, new: int) -> Broken:
    """The company's total outstanding would pass the bound (checking it bounds every class's
    total and every holding too, which it sums). The check itself is inline: it runs for
    every issuance."""
    return Broken(
        "bounds",
        f"{what} would make {s.outstanding + new:,} shares of {s.company} outstanding, over "
        f"the bound of {BOUND}",
    )


def diluted_past_bound(s: CompanyState, what: str, ceiling: int) -> Broken:
    return Broken(
        "bounds",
        f"{what} would let {s.company} reach {ceiling:,} shares fully diluted, over the bound "
        f"of {BOUND}",
    )


def within_bound(s: CompanyState, new: int, what: Callable[[], str]) -> None:
    """Issuing ``new`` shares keeps the company's total, and what fully diluted can reach,
    within the bound. ``what`` names the issuance in the message: made only when the bound
    is passed (this runs for every issuance recorded)."""
    if s.outstanding + new > MAX_TOTAL:
        raise past_bound(s, what(), new)
    if s.plans or s.warrants:
        ceiling = s.diluted_ceiling() + new
        if ceiling > MAX_TOTAL:
            raise diluted_past_bound(s, what(), ceiling)


def _check_issued(s: CompanyState, f: SharesIssued) -> None:
    within_authorized(s, f.share_class, f.shares)
    within_bound(s, f.shares, lambda: f"issuing {f.shares:,} {f.share_class}")


def _check_invested(s: CompanyState, f: InvestmentMade) -> None:
    new = f.new_shares
    within_authorized(s, f.share_class, new)
    within_bound(s, new, lambda: f"issuing {new:,} {f.share_class}")
    if f.post_money_valuation is None and f.pre_money_valuation is None:
        implied = post_money(f, s.outstanding + new)
        if implied > MAX_TOTAL:
            raise Broken(
                "bounds",
                f"{f.amount} for {new:,} of {s.outstanding + new:,} shares implies a "
                f"post-money valuation of {implied:,} {f.amount.currency}, over the bound of "
                f"{BOUND}",
            )


def _check_transferred(s: CompanyState, f: SharesTransferred) -> None:
    _need_holding(s, f.from_, f.share_class, f.shares, "transfer")


def _check_cancelled(s: CompanyState, f: SharesCancelled) -> None:
    _need_holding(s, f.holder, f.share_class, f.shares, "cancellation")


def _check_split(s: CompanyState, f: StockSplit) -> None:
    cls = need_class(s, f.share_class)
    after, authorized = split_result(s, f)
    issued = sum(after.values())
    what = f"a {f.ratio} split of {f.share_class}"
    if s.outstanding + issued - cls.issued > MAX_TOTAL:
        raise past_bound(s, f"{what} ({cls.issued:,} → {issued:,})", issued - cls.issued)
    if authorized is not None and authorized > MAX_TOTAL:
        raise Broken(
            "bounds",
            f"{what} would make {authorized:,} {f.share_class} authorized, over the bound of "
            f"{BOUND}",
        )


def _check_authorized(s: CompanyState, f: AuthorizedSharesChanged) -> None:
    cls = need_class(s, f.share_class)
    if f.authorized < cls.issued:
        raise Broken(
            2,
            f"authorized {f.authorized:,} {f.share_class} is below the {cls.issued:,} "
            "already issued",
        )


def _check_valued(s: CompanyState, f: ValuationRecorded) -> None:
    """Any valuation may be recorded once the company exists."""


def derive(state: CompanyState, fact: Fact) -> Fact:
    """Fill what the ledger derives at recording: the shares an InvestmentMade buys when
    given as a stake or a valuation. ``O`` is outstanding just before, ``H`` the investor's
    holding: stake s gives (s·O − H)/(1 − s); a post-money P gives O·a/(1 − a), a = amount/P."""
    if not isinstance(fact, InvestmentMade) or fact.shares is not None or fact.derived_shares:
        return fact
    if state.registered is None:
        return fact  # nothing to derive from before registration: check() reports rule 1
    outstanding = state.outstanding
    if outstanding == 0:
        raise Broken(2, "cannot derive shares from a stake or valuation: no shares are outstanding")
    if fact.stake_percent is not None:
        stake = Fraction(fact.stake_percent) / 100
        held = state.party_total(fact.investor)
        exact = (stake * outstanding - held) / (1 - stake)
        if exact <= 0:
            now = percent(held, outstanding)
            raise Broken(
                2,
                f"a total stake of {fact.stake_percent}% needs no new shares: "
                f"{fact.investor} already holds {now}%",
            )
    else:
        if fact.post_money_valuation is not None:
            post = Fraction(fact.post_money_valuation.amount)
        else:
            assert fact.pre_money_valuation is not None
            post = Fraction(fact.pre_money_valuation.amount) + Fraction(fact.amount.amount)
        bought = Fraction(fact.amount.amount) / post
        exact = outstanding * bought / (1 - bought)
    new = round_shares(exact)
    if new <= 0:
        raise Broken(2, f"the derived share count rounds to {new}: the investment buys no shares")
    if new > MAX_TOTAL:
        raise Broken("bounds", f"the derived share count {new:,} is over the bound of {BOUND}")
    return fact.model_copy(update={"derived_shares": new})


HANDLERS: dict[str, Handler] = {
    "CompanyRegistered": (_check_registered, _registered),
    "ShareClassCreated": (_check_class_created, _class_created),
    "SharesIssued": (_check_issued, _issued),
    "InvestmentMade": (_check_invested, _invested),
    "SharesTransferred": (_check_transferred, _transferred),
    "SharesCancelled": (_check_cancelled, _cancelled),
    "StockSplit": (_check_split, _split),
    "AuthorizedSharesChanged": (_check_authorized, _authorized),
    "ValuationRecorded": (_check_valued, _valued),
}
"""Each equity event type's (rule, evolve)."""
