"""A company's ledger written as an Open Cap Table Format (OCF) package.

The ledger tracks holdings; OCF tracks securities. The export walks the company's events in
force, in timeline order, beside the ledger's own fold, and gives every position a security:

- every issuance (and every investment, exercise, conversion) is a new lot, its own security;
- a transfer, cancellation or class conversion consumes the holder's lots of the class first
  in, first out: each lot it touches is one OCF transaction on that security, its resulting
  securities are new lots, and a lot consumed in part leaves a balance security in its place;
- an award, warrant or convertible is one security at a time: an exercise or cancellation
  extinguishes it and, when something is left, a balance security of the same ``custom_id``
  (the ledger's grant or warrant id) carries the rest.

Ids are the ledger's slugs for stakeholders, stock classes and plans, and the event ids for
transactions (``<event id>.<n>`` when one event becomes several), so the same ledger gives the
same files byte for byte, and a later export keeps the ids of an earlier one. Governance
(officers, the board) and valuations (a company valuation, where OCF's is a 409A price per
share of a class) have no OCF object and are left out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.entry import Entry
from ..domain.errors import InputError
from ..domain.events import (
    AuthorizedSharesChanged,
    CompanyRegistered,
    ConvertibleCancelled,
    ConvertibleConverted,
    ConvertibleIssued,
    Fact,
    InvestmentMade,
    OptionCancelled,
    OptionExercised,
    OptionGranted,
    ShareClassCreated,
    SharesCancelled,
    SharesConverted,
    SharesIssued,
    SharesTransferred,
    StakeholderRecorded,
    StockPlanCreated,
    StockPlanReserveChanged,
    StockSplit,
    Vesting,
    WarrantCancelled,
    WarrantExercised,
    WarrantIssued,
)
from ..domain.rules import EVOLVE
from ..domain.state import CompanyState
from ..domain.values import Money, parse_ratio
from .values import KIND_SUFFIXES

if TYPE_CHECKING:
    from ..app import Ledger

OCF_VERSION = "1.2.1-alpha+main"
"""The version the shipped schemas accept (the manifest's ``ocf_version`` is a constant)."""

MAX_ID = 96
"""The longest id written: an importer names an object ``ocf:<id>`` in a 100-character field."""

PLACES = Decimal(1).scaleb(-10)
"""OCF numbers carry at most 10 decimal places."""

UNKNOWN_COUNTRY = "ZZ"
"""ISO 3166 user-assigned code for "unknown": the ledger's jurisdiction is free text."""

OCF = dict[str, Any]

FILES = (
    # (manifest key, file name, file_type)
    ("stakeholders_files", "Stakeholders.ocf.json", "OCF_STAKEHOLDERS_FILE"),
    ("stock_classes_files", "StockClasses.ocf.json", "OCF_STOCK_CLASSES_FILE"),
    ("stock_plans_files", "StockPlans.ocf.json", "OCF_STOCK_PLANS_FILE"),
    ("vesting_terms_files", "VestingTerms.ocf.json", "OCF_VESTING_TERMS_FILE"),
    ("transactions_files", "Transactions.ocf.json", "OCF_TRANSACTIONS_FILE"),
)
"""The files a package may hold, in the manifest's order. Valuations, legends, financings and
documents have nothing of the ledger to say, so their lists stay empty."""

MANIFEST = "Manifest.ocf.json"


@dataclass(frozen=True)
class ExportSummary:
    """What ``write_package`` wrote: the files (manifest first, relative to ``out_dir``) with
    how many items each holds (the manifest: 1), and how many objects of each
    ``object_type``."""

    company: str
    out_dir: Path
    as_of: date
    files: dict[str, int]
    objects: dict[str, int]


def ocf_id(slug: str) -> str:
    """A slug as an OCF id: itself when short enough, else cut and made unique by a hash,
    after a dot: not a slug, so that an import names the object by its name, not by the cut."""
    if len(slug) <= MAX_ID:
        return slug
    digest = hashlib.sha256(slug.encode()).hexdigest()[:16]
    return f"{slug[: MAX_ID - 17]}.{digest}"


def number(value: int | Decimal) -> str:
    """An OCF Numeric: a plain decimal, no exponent, at most 10 places."""
    if isinstance(value, int):
        return str(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -10:  # a quotient: rounded, then trimmed
        value = value.quantize(PLACES, rounding=ROUND_HALF_EVEN).normalize()
    return format(value, "f")


def monetary(amount: int | Decimal, currency: str) -> OCF:
    return {"amount": number(amount), "currency": currency}


def money(value: Money) -> OCF:
    return monetary(value.amount, value.currency)


def fraction(percent: Decimal) -> str:
    """A ledger percentage (0–100) as OCF's Percentage (0–1)."""
    return number(percent / 100)


def vesting_terms_id(vesting: Vesting) -> str:
    return f"vesting-{vesting.months}m-cliff-{vesting.cliff_months}m-every-{vesting.every_months}m"


def vesting_terms(vesting: Vesting) -> OCF:
    """The OCF vesting terms of a ledger schedule: a start condition, then tranches at the
    months where the vested part steps up (the cliff, every ``every_months`` months counted
    from the start, all of it at ``months``), consecutive equal tranches in one condition."""
    months, cliff, every = vesting.months, vesting.cliff_months, vesting.every_months
    steps = [cliff] if cliff else []
    steps += [m for m in range(every, months, every) if m > cliff]
    if not steps or steps[-1] != months:
        steps.append(months)
    # A step vests the months since the step before: its tranche is its gap.
    runs: list[list[int]] = []  # [gap, occurrences]
    previous = 0
    for step in steps:
        gap = step - previous
        if runs and runs[-1][0] == gap:
            runs[-1][1] += 1
        else:
            runs.append([gap, 1])
        previous = step
    conditions: list[OCF] = [
        {"id": "start", "quantity": "0", "trigger": {"type": "VESTING_START_DATE"}}
    ]
    for n, (gap, occurrences) in enumerate(runs, start=1):
        conditions[-1]["next_condition_ids"] = [f"tranche-{n}"]
        conditions.append(
            {
                "id": f"tranche-{n}",
                "portion": {"numerator": str(gap), "denominator": str(months)},
                "trigger": {
                    "type": "VESTING_SCHEDULE_RELATIVE",
                    "period": {
                        "length": gap,
                        "type": "MONTHS",
                        "occurrences": occurrences,
                        "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH",
                    },
                    "relative_to_condition_id": conditions[-1]["id"],
                },
            }
        )
    conditions[-1]["next_condition_ids"] = []
    return {
        "object_type": "VESTING_TERMS",
        "id": vesting_terms_id(vesting),
        "name": f"{months} months, {cliff}-month cliff, every {every} months",
        "description": (
            f"Nothing before {cliff} whole months from the vesting start, then every {every} "
            f"months counted from the start the months elapsed over {months} of the quantity, "
            f"all of it after {months} months."
        ),
        "allocation_type": "CUMULATIVE_ROUND_DOWN",
        "vesting_conditions": conditions,
    }


@dataclass
class Lot:
    """One stock security of a holder's position in a class, and the issuance that made it."""

    issuance: OCF
    quantity: int

    @property
    def security(self) -> str:
        return str(self.issuance["security_id"])


@dataclass
class Package:
    """The OCF objects of one company, built event by event beside the ledger's fold."""

    company: str
    state: CompanyState
    transactions: list[OCF] = field(default_factory=list)
    classes: dict[str, OCF] = field(default_factory=dict)
    plans: dict[str, OCF] = field(default_factory=dict)
    vesting: dict[str, OCF] = field(default_factory=dict)
    parties: set[str] = field(default_factory=set)
    lots: dict[tuple[str, str], list[Lot]] = field(default_factory=dict)
    """(holder, share class) → its stock securities, oldest first."""
    securities: dict[str, OCF] = field(default_factory=dict)
    """grant, warrant or convertible id → the issuance of its current security."""
    vesting_starts: dict[str, OCF] = field(default_factory=dict)
    """award security → its vesting start."""
    issuer: OCF | None = None

    def add(self, entry: Entry) -> None:
        fact = entry.fact
        handler = HANDLERS.get(type(fact))
        # The handler reads the state before the event; the fold then applies it.
        after = handler(self, fact, str(entry.event_id)) if handler else None
        EVOLVE[fact.type](self.state, fact)
        if after is not None:
            after()

    # --- stock lots ---

    def issue_stock(
        self,
        security: str,
        on: date,
        holder: str,
        share_class: str,
        quantity: int,
        price: OCF,
        **extra: Any,
    ) -> None:
        """A new lot (a ``TX_STOCK_ISSUANCE``) at the end of the holder's position."""
        self.parties.add(holder)
        issuance = {
            "object_type": "TX_STOCK_ISSUANCE",
            "id": security,
            "security_id": security,
            "date": on.isoformat(),
            "custom_id": security,
            "stakeholder_id": ocf_id(holder),
            "stock_class_id": ocf_id(share_class),
            "quantity": number(quantity),
            "share_price": price,
            "security_law_exemptions": [],
            "stock_legend_ids": [],
            **extra,
        }
        self.transactions.append(issuance)
        self.lots.setdefault((holder, share_class), []).append(Lot(issuance, quantity))

    def consume(
        self,
        event: str,
        holder: str,
        share_class: str,
        quantity: int,
        transaction: Callable[[str, Lot, int, str | None], None],
    ) -> None:
        """Take ``quantity`` from the holder's lots, oldest first: ``transaction(id, lot,
        taken, balance)`` writes each lot's OCF transaction; a lot taken in part is replaced
        by its balance security (issued after the transaction, at the lot's price)."""
        lots = self.lots[(holder, share_class)]
        piece = 0
        while quantity:
            lot = lots[0]
            piece += 1
            tx = event if piece == 1 else f"{event}.{piece}"
            taken = min(lot.quantity, quantity)
            quantity -= taken
            balance = f"{tx}.rest" if taken < lot.quantity else None
            transaction(tx, lot, taken, balance)
            if balance is None:
                lots.pop(0)
                continue
            lot.quantity -= taken
            lot.issuance = {
                **lot.issuance,
                "id": balance,
                "security_id": balance,
                "custom_id": balance,
                "date": self.transactions[-1]["date"],
                "quantity": number(lot.quantity),
                "comments": [f"Balance of {lot.security} after {tx}."],
            }
            self.transactions.append(lot.issuance)
        if not lots:
            del self.lots[(holder, share_class)]

    def rescale(self, share_class: str, n: int, m: int) -> None:
        """After an ``n:m`` split of ``share_class``: each lot scaled, the remainder of the
        ledger's rounding (of the whole position) on its last lot."""
        for (holder, held_class), lots in self.lots.items():
            if held_class != share_class:
                continue
            for lot in lots:
                lot.quantity = lot.quantity * n // m
            lots[-1].quantity += self.state.held(holder, share_class) - sum(
                lot.quantity for lot in lots
            )

    # --- instruments: one security at a time ---

    def reissue_balance(self, key: str, tx: str, on: date, left: int) -> str | None:
        """After an exercise or cancellation of the current security of ``key``: a balance
        security of the same kind and terms for what is ``left`` (none when nothing is)."""
        if left == 0:
            return None
        origin = self.securities[key]
        balance = f"{tx}.rest"
        issuance = {
            **origin,
            "id": balance,
            "security_id": balance,
            "date": on.isoformat(),
            "quantity": number(left),
            "comments": [f"Balance of {origin['security_id']} after {tx}."],
        }
        if "exercise_triggers" in issuance:
            issuance["exercise_triggers"] = _warrant_triggers(
                balance, left, issuance["exercise_triggers"][0]
            )
        self.transactions.append(issuance)
        self.securities[key] = issuance
        vesting = self.vesting_starts.get(origin["security_id"])
        if vesting is not None:
            self.vest(balance, vesting["date"])
        return balance

    def vest(self, security: str, start: str) -> None:
        """The vesting start of an award security."""
        self.vesting_starts[security] = {
            "object_type": "TX_VESTING_START",
            "id": f"{security}.vesting",
            "date": start,
            "security_id": security,
            "vesting_condition_id": "start",
        }
        self.transactions.append(self.vesting_starts[security])


def _warrant_triggers(security: str, quantity: int, template: OCF) -> list[OCF]:
    return [
        {
            **template,
            "trigger_id": f"{security}.exercise",
            "conversion_right": {
                **template["conversion_right"],
                "conversion_mechanism": {
                    "type": "FIXED_AMOUNT_CONVERSION",
                    "converts_to_quantity": number(quantity),
                },
            },
        }
    ]


def _tx(object_type: str, tx: str, on: date, **fields: Any) -> OCF:
    return {"object_type": object_type, "id": tx, "date": on.isoformat(), **fields}


# --- one handler per event type: it reads the state before the event and writes objects;
# what it returns runs after the fold applied the event ---

After = Callable[[], None] | None


def _registered(p: Package, f: CompanyRegistered, event: str) -> After:
    country, _, subdivision = (f.jurisdiction or "").partition("-")
    coded = len(country) == 2 and country.isalpha() and country.isupper()
    issuer: OCF = {
        "object_type": "ISSUER",
        "id": ocf_id(p.company),
        "legal_name": f.name,
        "formation_date": f.effective_date.isoformat(),
        "country_of_formation": country if coded else UNKNOWN_COUNTRY,
    }
    if coded and subdivision:
        issuer["country_subdivision_of_formation"] = subdivision
    elif f.jurisdiction and not coded:
        issuer["country_subdivision_name_of_formation"] = f.jurisdiction
    p.issuer = issuer
    return None


def _class_created(p: Package, f: ShareClassCreated, event: str) -> After:
    p.classes[f.share_class] = {
        "object_type": "STOCK_CLASS",
        "id": ocf_id(f.share_class),
        "name": f.name,
        "class_type": f.kind.upper(),
        "default_id_prefix": f"{f.share_class[:10].upper()}-",
        "initial_shares_authorized": (
            number(f.authorized) if f.authorized is not None else "UNLIMITED"
        ),
        "board_approval_date": f.effective_date.isoformat(),
        "votes_per_share": number(f.votes_per_share),
        "seniority": "1" if f.kind == "common" else "2",
        "comments": [f"corpledger share class {f.share_class}"],
    }
    return None


def _authorized(p: Package, f: AuthorizedSharesChanged, event: str) -> After:
    p.transactions.append(
        _tx(
            "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT",
            event,
            f.effective_date,
            stock_class_id=ocf_id(f.share_class),
            new_shares_authorized=number(f.authorized),
        )
    )
    return None


def _issued(p: Package, f: SharesIssued, event: str) -> After:
    price = money(f.price_per_share) if f.price_per_share else monetary(0, "USD")
    extra = {} if f.price_per_share else {"comments": ["No price recorded."]}
    p.issue_stock(event, f.effective_date, f.holder, f.share_class, f.shares, price, **extra)
    return None


def _invested(p: Package, f: InvestmentMade, event: str) -> After:
    shares = f.new_shares
    price = monetary(f.amount.amount / shares, f.amount.currency)
    extra: OCF = {"cost_basis": money(f.amount)}
    if f.round:
        extra["consideration_text"] = f.round
    p.issue_stock(event, f.effective_date, f.investor, f.share_class, shares, price, **extra)
    return None


def _transferred(p: Package, f: SharesTransferred, event: str) -> After:
    def transfer(tx: str, lot: Lot, taken: int, balance: str | None) -> None:
        received = f"{tx}.to"
        p.transactions.append(
            _tx(
                "TX_STOCK_TRANSFER",
                tx,
                f.effective_date,
                security_id=lot.security,
                quantity=number(taken),
                resulting_security_ids=[received],
                **({"balance_security_id": balance} if balance else {}),
            )
        )
        price = money(f.price_per_share) if f.price_per_share else monetary(0, "USD")
        p.issue_stock(received, f.effective_date, f.to, f.share_class, taken, price)

    p.consume(event, f.from_, f.share_class, f.shares, transfer)
    return None


def _cancelled(p: Package, f: SharesCancelled, event: str) -> After:
    def cancel(tx: str, lot: Lot, taken: int, balance: str | None) -> None:
        p.transactions.append(
            _tx(
                "TX_STOCK_CANCELLATION",
                tx,
                f.effective_date,
                security_id=lot.security,
                quantity=number(taken),
                reason_text=f.reason or "cancelled",
                **({"balance_security_id": balance} if balance else {}),
            )
        )

    p.consume(event, f.holder, f.share_class, f.shares, cancel)
    return None


def _converted(p: Package, f: SharesConverted, event: str) -> After:
    n, m = parse_ratio(f.ratio)
    given = 0  # of to_class, so far: each piece gets what the whole has reached minus that
    done = 0

    def convert(tx: str, lot: Lot, taken: int, balance: str | None) -> None:
        nonlocal given, done
        done += taken
        received = done * n // m - given
        given += received
        resulting = f"{tx}.to"
        p.transactions.append(
            _tx(
                "TX_STOCK_CONVERSION",
                tx,
                f.effective_date,
                security_id=lot.security,
                quantity_converted=number(taken),
                resulting_security_ids=[resulting] if received else [],
                **({"balance_security_id": balance} if balance else {}),
            )
        )
        if received:
            price = lot.issuance["share_price"]
            p.issue_stock(resulting, f.effective_date, f.holder, f.to_class, received, price)

    p.consume(event, f.holder, f.from_class, f.shares, convert)
    return None


def _split(p: Package, f: StockSplit, event: str) -> After:
    n, m = parse_ratio(f.ratio)
    p.transactions.append(
        _tx(
            "TX_STOCK_CLASS_SPLIT",
            event,
            f.effective_date,
            stock_class_id=ocf_id(f.share_class),
            split_ratio={"numerator": str(n), "denominator": str(m)},
        )
    )

    return lambda: p.rescale(f.share_class, n, m)


def _stakeholder(p: Package, f: StakeholderRecorded, event: str) -> After:
    p.parties.add(f.party)
    return None


def _plan_created(p: Package, f: StockPlanCreated, event: str) -> After:
    p.plans[f.plan] = {
        "object_type": "STOCK_PLAN",
        "id": ocf_id(f.plan),
        "plan_name": f.name,
        "board_approval_date": f.effective_date.isoformat(),
        "initial_shares_reserved": number(f.reserved),
        "default_cancellation_behavior": "RETIRE" if f.on_cancel == "retire" else "RETURN_TO_POOL",
        "stock_class_ids": [ocf_id(f.share_class)],
    }
    return None


def _reserve(p: Package, f: StockPlanReserveChanged, event: str) -> After:
    p.transactions.append(
        _tx(
            "TX_STOCK_PLAN_POOL_ADJUSTMENT",
            event,
            f.effective_date,
            stock_plan_id=ocf_id(f.plan),
            shares_reserved=number(f.reserved),
        )
    )
    return None


def _granted(p: Package, f: OptionGranted, event: str) -> After:
    p.parties.add(f.holder)
    plan = p.state.plans[f.plan]
    issuance = _tx(
        "TX_EQUITY_COMPENSATION_ISSUANCE",
        event,
        f.effective_date,
        security_id=event,
        custom_id=f.grant,
        stakeholder_id=ocf_id(f.holder),
        stock_plan_id=ocf_id(f.plan),
        stock_class_id=ocf_id(plan.share_class),
        compensation_type="OPTION" if f.kind == "option" else "RSU",
        quantity=number(f.quantity),
        expiration_date=f.expiration_date.isoformat() if f.expiration_date else None,
        termination_exercise_windows=[],
        security_law_exemptions=[],
    )
    if f.exercise_price is not None:
        issuance["exercise_price"] = money(f.exercise_price)
    if f.vesting is not None:
        terms = vesting_terms(f.vesting)
        p.vesting[terms["id"]] = terms
        issuance["vesting_terms_id"] = terms["id"]
    p.transactions.append(issuance)
    p.securities[f.grant] = issuance
    if f.vesting is not None:
        p.vest(event, f.vesting.start.isoformat())
    return None


def _exercised(p: Package, f: OptionExercised, event: str) -> After:
    award = p.state.awards[f.grant]
    security = p.securities[f.grant]["security_id"]
    shares = f"{event}.shares"
    if award.kind == "rsu":
        tx = _tx(
            "TX_EQUITY_COMPENSATION_RELEASE",
            event,
            f.effective_date,
            security_id=security,
            quantity=number(f.quantity),
            release_price=monetary(0, award.currency or "USD"),
            settlement_date=f.effective_date.isoformat(),
            resulting_security_ids=[shares],
        )
        price = monetary(0, award.currency or "USD")
    else:
        assert award.exercise_price is not None  # an option has one
        assert award.currency is not None
        tx = _tx(
            "TX_EQUITY_COMPENSATION_EXERCISE",
            event,
            f.effective_date,
            security_id=security,
            quantity=number(f.quantity),
            resulting_security_ids=[shares],
        )
        price = monetary(award.exercise_price, award.currency)
    p.transactions.append(tx)
    p.issue_stock(
        shares,
        f.effective_date,
        award.holder,
        award.share_class,
        f.quantity,
        price,
        stock_plan_id=ocf_id(award.plan),
    )
    return lambda: _exercise_balance(
        p, tx, f.effective_date, f.grant, p.state.awards[f.grant].unexercised()
    )


def _exercise_balance(p: Package, tx: OCF, on: date, key: str, left: int) -> None:
    """The balance security of an exercise or release (after the fold: ``left`` unexercised).
    OCF's exercise and release objects have no ``balance_security_id``: the balance is listed
    among the resulting securities, after the shares."""
    balance = p.reissue_balance(key, tx["id"], on, left)
    if balance is not None:
        tx["resulting_security_ids"].append(balance)


def _award_balance(p: Package, grant: str, tx: str, on: date) -> None:
    p.reissue_balance(grant, tx, on, p.state.awards[grant].unexercised())


def _option_cancelled(p: Package, f: OptionCancelled, event: str) -> After:
    award = p.state.awards[f.grant]
    quantity = f.quantity if f.quantity is not None else award.outstanding(f.effective_date)
    left = award.unexercised() - quantity
    balance = f"{event}.rest" if left else None
    p.transactions.append(
        _tx(
            "TX_EQUITY_COMPENSATION_CANCELLATION",
            event,
            f.effective_date,
            security_id=p.securities[f.grant]["security_id"],
            quantity=number(quantity),
            reason_text=f.reason,
            **({"balance_security_id": balance} if balance else {}),
        )
    )
    return lambda: _award_balance(p, f.grant, event, f.effective_date)


def _warrant_issued(p: Package, f: WarrantIssued, event: str) -> After:
    p.parties.add(f.holder)
    template = {
        "type": "ELECTIVE_AT_WILL",
        "trigger_id": "",
        "conversion_right": {
            "type": "WARRANT_CONVERSION_RIGHT",
            "conversion_mechanism": {},
            "converts_to_stock_class_id": ocf_id(f.share_class),
        },
    }
    issuance = _tx(
        "TX_WARRANT_ISSUANCE",
        event,
        f.effective_date,
        security_id=event,
        custom_id=f.warrant,
        stakeholder_id=ocf_id(f.holder),
        quantity=number(f.quantity),
        exercise_price=money(f.exercise_price),
        purchase_price=monetary(0, f.exercise_price.currency),
        exercise_triggers=_warrant_triggers(event, f.quantity, template),
        security_law_exemptions=[],
    )
    if f.expiration_date is not None:
        issuance["warrant_expiration_date"] = f.expiration_date.isoformat()
    p.transactions.append(issuance)
    p.securities[f.warrant] = issuance
    return None


def _warrant_exercised(p: Package, f: WarrantExercised, event: str) -> After:
    warrant = p.state.warrants[f.warrant]
    issuance = p.securities[f.warrant]
    shares = f"{event}.shares"
    tx = _tx(
        "TX_WARRANT_EXERCISE",
        event,
        f.effective_date,
        security_id=issuance["security_id"],
        trigger_id=issuance["exercise_triggers"][0]["trigger_id"],
        resulting_security_ids=[shares],
    )
    p.transactions.append(tx)
    price = monetary(warrant.exercise_price, warrant.currency)
    p.issue_stock(shares, f.effective_date, warrant.holder, warrant.share_class, f.quantity, price)
    return lambda: _exercise_balance(
        p, tx, f.effective_date, f.warrant, p.state.warrants[f.warrant].unexercised()
    )


def _warrant_balance(p: Package, warrant: str, tx: str, on: date) -> None:
    p.reissue_balance(warrant, tx, on, p.state.warrants[warrant].unexercised())


def _warrant_cancelled(p: Package, f: WarrantCancelled, event: str) -> After:
    warrant = p.state.warrants[f.warrant]
    quantity = f.quantity if f.quantity is not None else warrant.outstanding(f.effective_date)
    left = warrant.unexercised() - quantity
    p.transactions.append(
        _tx(
            "TX_WARRANT_CANCELLATION",
            event,
            f.effective_date,
            security_id=p.securities[f.warrant]["security_id"],
            quantity=number(quantity),
            reason_text=f.reason,
            **({"balance_security_id": f"{event}.rest"} if left else {}),
        )
    )
    return lambda: _warrant_balance(p, f.warrant, event, f.effective_date)


def _convertible_issued(p: Package, f: ConvertibleIssued, event: str) -> After:
    p.parties.add(f.holder)
    mechanism: OCF
    if f.kind == "safe":
        mechanism = {
            "type": "SAFE_CONVERSION",
            "conversion_mfn": False,
            "conversion_timing": "POST_MONEY" if f.cap_basis == "post-money" else "PRE_MONEY",
        }
    else:
        rate = f.interest_rate_percent
        mechanism = {
            "type": "CONVERTIBLE_NOTE_CONVERSION",
            "interest_rates": (
                [{"rate": fraction(rate), "accrual_start_date": f.effective_date.isoformat()}]
                if rate
                else []
            ),
            "day_count_convention": "ACTUAL_365",
            "interest_payout": "DEFERRED",
            "interest_accrual_period": "DAILY",
            "compounding_type": "SIMPLE",
        }
    if f.discount_percent is not None:
        mechanism["conversion_discount"] = fraction(f.discount_percent)
    if f.valuation_cap is not None:
        mechanism["conversion_valuation_cap"] = money(f.valuation_cap)
    issuance = _tx(
        "TX_CONVERTIBLE_ISSUANCE",
        event,
        f.effective_date,
        security_id=event,
        custom_id=f.convertible,
        stakeholder_id=ocf_id(f.holder),
        convertible_type=f.kind.upper(),
        investment_amount=money(f.amount),
        conversion_triggers=[
            {
                "type": "ELECTIVE_AT_WILL",
                "trigger_id": f"{event}.conversion",
                "conversion_right": {
                    "type": "CONVERTIBLE_CONVERSION_RIGHT",
                    "conversion_mechanism": mechanism,
                    "converts_to_future_round": True,
                },
            }
        ],
        seniority=1,
        security_law_exemptions=[],
    )
    # OCF's note mechanism has no cap basis and no field for a maturity date: comments say them.
    issuance["comments"] = [f"Valuation cap {f.cap_basis}."]
    if f.maturity_date is not None:
        issuance["comments"].append(f"Maturity date {f.maturity_date.isoformat()}.")
    p.transactions.append(issuance)
    p.securities[f.convertible] = issuance
    return None


def _convertible_converted(p: Package, f: ConvertibleConverted, event: str) -> After:
    convertible = p.state.convertibles[f.convertible]
    issuance = p.securities[f.convertible]
    shares = f"{event}.shares"
    p.transactions.append(
        _tx(
            "TX_CONVERTIBLE_CONVERSION",
            event,
            f.effective_date,
            security_id=issuance["security_id"],
            trigger_id=issuance["conversion_triggers"][0]["trigger_id"],
            reason_text="converted in a priced round",
            quantity_converted=number(convertible.amount),
            resulting_security_ids=[shares],
        )
    )
    count = f.new_shares
    price = (
        money(f.price_per_share)
        if f.price_per_share
        else monetary(convertible.amount / count, convertible.currency)
    )
    p.issue_stock(shares, f.effective_date, convertible.holder, f.share_class, count, price)
    return None


def _convertible_cancelled(p: Package, f: ConvertibleCancelled, event: str) -> After:
    convertible = p.state.convertibles[f.convertible]
    p.transactions.append(
        _tx(
            "TX_CONVERTIBLE_CANCELLATION",
            event,
            f.effective_date,
            security_id=p.securities[f.convertible]["security_id"],
            amount=monetary(convertible.amount, convertible.currency),
            reason_text=f.reason,
        )
    )
    return None


HANDLERS: dict[type[Fact], Callable[[Package, Any, str], After]] = {
    CompanyRegistered: _registered,
    ShareClassCreated: _class_created,
    AuthorizedSharesChanged: _authorized,
    SharesIssued: _issued,
    InvestmentMade: _invested,
    SharesTransferred: _transferred,
    SharesCancelled: _cancelled,
    SharesConverted: _converted,
    StockSplit: _split,
    StakeholderRecorded: _stakeholder,
    StockPlanCreated: _plan_created,
    StockPlanReserveChanged: _reserve,
    OptionGranted: _granted,
    OptionExercised: _exercised,
    OptionCancelled: _option_cancelled,
    WarrantIssued: _warrant_issued,
    WarrantExercised: _warrant_exercised,
    WarrantCancelled: _warrant_cancelled,
    ConvertibleIssued: _convertible_issued,
    ConvertibleConverted: _convertible_converted,
    ConvertibleCancelled: _convertible_cancelled,
}
"""Every event with an OCF counterpart; the others (governance, valuations) are left out."""


_UNIQUE_ORDER = ("stock_classes_files", "stock_plans_files", "stakeholders_files",
                 "vesting_terms_files")  # fmt: skip
"""Whose id stays as it is when two kinds share one: the issuer's, then a class's, a plan's,
a stakeholder's, vesting terms'."""
_REFERENCES = {
    "stakeholder_id": "STAKEHOLDER",
    "stock_class_id": "STOCK_CLASS",
    "stock_class_ids": "STOCK_CLASS",
    "converts_to_stock_class_id": "STOCK_CLASS",
    "stock_plan_id": "STOCK_PLAN",
    "vesting_terms_id": "VESTING_TERMS",
}
"""The members that name an object of another kind, and its type."""


def _unique_ids(issuer: OCF, items: dict[str, list[OCF]]) -> None:
    """Make every object's id unique in the package, as OCF requires: an object whose id
    (its slug) another kind already took gets its kind's suffix (``KIND_SUFFIXES``, which
    the import takes off again), and every reference to it follows."""
    taken = {issuer["id"]}
    renamed: dict[str, dict[str, str]] = {}
    for key in _UNIQUE_ORDER:
        for obj in items[key]:
            if obj["id"] in taken:
                kind = obj["object_type"]
                renamed.setdefault(kind, {})[obj["id"]] = obj["id"] + KIND_SUFFIXES[kind]
                obj["id"] += KIND_SUFFIXES[kind]
            taken.add(obj["id"])
    if renamed:
        for objects in items.values():
            for obj in objects:
                _rename_references(obj, renamed)


def _rename_references(value: Any, renamed: dict[str, dict[str, str]]) -> None:
    if isinstance(value, list):
        for member in value:
            _rename_references(member, renamed)
    elif isinstance(value, dict):
        for key, member in value.items():
            names = renamed.get(_REFERENCES.get(key, ""))
            if names is None:
                _rename_references(member, renamed)
            elif isinstance(member, str):
                value[key] = names.get(member, member)
            elif isinstance(member, list):
                value[key] = [names.get(m, m) for m in member]


def _stakeholders(p: Package) -> list[OCF]:
    """Every party the package names, by the name the ledger knows as of the export (a
    party without a recorded name is named by its slug)."""
    listed = []
    for party in sorted(p.parties):
        known = p.state.stakeholders.get(party)
        stakeholder: OCF = {
            "object_type": "STAKEHOLDER",
            "id": ocf_id(party),
            "name": {"legal_name": known.name if known else party},
            "stakeholder_type": (
                "INSTITUTION" if known is not None and known.kind == "institution" else "INDIVIDUAL"
            ),
            "issuer_assigned_id": party,
        }
        if known is None:
            stakeholder["comments"] = ["No name recorded in the ledger."]
        listed.append(stakeholder)
    return listed


def _dump(document: OCF) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise InputError(f"--out {out}: the directory is not empty")


def write_package(
    ledger: Ledger, company: str, out_dir: str | Path, *, as_of: date | None = None
) -> ExportSummary:
    """Write ``company`` as an OCF package into ``out_dir`` (created; refused when it is a
    file or not empty): every event in force, as known now, effective on or before ``as_of``
    (default: every event; the manifest's ``as_of`` is then the last effective date)."""
    out = Path(out_dir)
    _check_out_dir(out)
    entries, recorded = ledger.entries(company), ledger.last_recorded(company)
    registered = entries[0].fact.effective_date if entries else None
    if as_of is not None and registered is not None and as_of < registered:
        raise InputError(
            f"--as-of {as_of} is before company {company!r} was registered ({registered})"
        )
    package = Package(company, CompanyState(company))
    last = registered
    for entry in entries:
        if as_of is not None and entry.fact.effective_date > as_of:
            break
        package.add(entry)
        last = entry.fact.effective_date
    if package.issuer is None:
        raise InputError(f"company {company!r} has no CompanyRegistered event in force")
    assert last is not None
    items = {
        "stakeholders_files": _stakeholders(package),
        "stock_classes_files": list(package.classes.values()),
        "stock_plans_files": list(package.plans.values()),
        "vesting_terms_files": [package.vesting[k] for k in sorted(package.vesting)],
        "transactions_files": package.transactions,
    }
    _unique_ids(package.issuer, items)
    try:
        return _write(out, company, as_of or last, recorded, package.issuer, items)
    except OSError as e:  # a parent that is a file, no permission, a full disk
        raise InputError(f"--out {out}: cannot write the package: {e.strerror}") from None


def _write(
    out: Path,
    company: str,
    as_of: date,
    recorded: datetime,
    issuer: OCF,
    items: dict[str, list[OCF]],
) -> ExportSummary:
    out.mkdir(parents=True, exist_ok=True)
    manifest: OCF = {
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": issuer,
        "as_of": as_of.isoformat(),
        # The moment the company last changed: the same ledger gives the same bytes.
        "generated_at": recorded.isoformat(timespec="seconds"),
        "comments": [f"Exported by corpledger from company {company}."],
    }
    written = {MANIFEST: 1}
    counts: Counter[str] = Counter({"ISSUER": 1})
    for key, name, file_type in FILES:
        manifest[key] = []
        if not items[key]:
            continue
        body = _dump({"file_type": file_type, "items": items[key]})
        (out / name).write_bytes(body)
        manifest[key].append({"filepath": f"./{name}", "md5": hashlib.md5(body).hexdigest()})
        written[name] = len(items[key])
        counts.update(item["object_type"] for item in items[key])
    for key in ("valuations_files", "stock_legend_templates_files"):
        manifest[key] = []
    (out / MANIFEST).write_bytes(_dump(manifest))
    return ExportSummary(company, out, as_of, written, dict(sorted(counts.items())))
