"""OCF objects onto ledger events: one ``Mapper`` pass replays the package's securities and
writes, for each transaction, the change of holdings it makes (docs/ocf.md has the table,
object type by object type). An object that cannot be mapped faithfully raises ``Refused``
inside its handler: its events and notes are dropped and its error is a finding."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from ..domain.events import FACT_ADAPTER
from ..files import Item
from .objects import ISSUANCES, REFERENCES, Finding, Loaded, Obj, Severity
from .values import (
    KIND_SUFFIXES,
    MAX_SLUG,
    Refused,
    count_of,
    decimal_of,
    fraction_of,
    ids_of,
    money_of,
    plain,
    ratio_of,
    readable_slug,
    slugify,
    text_of,
)
from .vesting import schedule_of

_KIND_TYPES = {"party": "STAKEHOLDER", "class": "STOCK_CLASS", "plan": "STOCK_PLAN"}
"""The OCF object type of each kind of slug (``Mapper.new_slug``)."""


@dataclass
class ClassInfo:
    slug: str
    name: str


@dataclass
class PlanInfo:
    slug: str
    share_class: str


@dataclass
class Position:
    """A security in force: whose, of what class, how many, and (an award, a warrant or a
    convertible) the ledger id it is recorded under."""

    kind: Literal["stock", "award", "warrant", "convertible"]
    holder: str
    share_class: str | None
    quantity: int
    instrument: str | None = None


@dataclass
class Ended:
    """A security a transaction extinguished: by which object, on what date."""

    by: str
    on: str


# --- mapping -------------------------------------------------------------------------------

Handler = Callable[["Mapper", Obj, date], None]

UNDATED = {"STAKEHOLDER", "STOCK_CLASS", "STOCK_PLAN"}
"""Objects without a date of their own: recorded at the issuer's formation date (a plan at
its approval, ``_plan_created_on``)."""

BOARD = "BOARD_MEMBER"
OFFICER = "OFFICER"


class Mapper:
    """One pass over a loaded package: the events it maps to and the findings of mapping.
    Objects in ``left_out`` (refused by the ledger in an earlier pass) are treated as if
    they had an error."""

    def __init__(self, loaded: Loaded, left_out: dict[str, Finding]) -> None:
        self.loaded = loaded
        self.company = loaded.company
        self.left_out = left_out
        self.findings: list[Finding] = []
        self.files: set[str] = set()  # of the objects mapped to events (their places name them)
        self.parties: dict[str, str] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.plans: dict[str, PlanInfo] = {}
        self.positions: dict[str, Position] = {}
        self.ended: dict[str, Ended] = {}
        self.slugs: dict[str, set[str]] = {}
        self.formation: date | None = None
        # Per object being mapped: its events and notes, kept only if it maps whole.
        self._pending: list[Item] = []
        self._notes: list[Finding] = []
        self._number = 0  # of the object's events so far
        self._errors: dict[str, set[str]] = {}  # error codes by object id, said once each
        # Indexes over every transaction, built before the replay.
        self.issuance_of: dict[str, Obj] = {}
        self.parent_of: dict[str, Obj] = {}
        self.consumed: set[str] = set()
        # The ledger's schedule of each vesting terms, worked out once for all its awards.
        self.schedules: dict[str, tuple[dict[str, int] | None, str]] = {}

    # -- the pass --

    def run(self) -> Iterator[Item]:
        """The events of the package, object by object in the replay's order; the findings
        grow as they go."""
        loaded = self.loaded
        yield from self._map(loaded.issuer, _issuer)
        if self.formation is None:
            return
        for obj in loaded.stakeholders:
            yield from self._map(obj, _stakeholder)
        for obj in loaded.classes:
            yield from self._map(obj, _stock_class)
        for obj in loaded.plans:
            yield from self._map(obj, _stock_plan)
        self._index()
        order = [seq for _, seq in sorted(loaded.dated)]
        for obj in loaded.replay(order):
            if obj.type in ISSUANCES and obj.id in self.consumed:
                continue  # a balance or resulting security: mapped with its parent
            handler = HANDLERS.get(obj.type)
            if handler is None:
                self.findings.append(
                    obj.finding("info", "not-held", f"{obj.type}: the ledger has nothing for it")
                )
                continue
            yield from self._map(obj, handler)
        failed = {f.object_id for f in self.findings if f.severity == "error"}
        for security, parent in self.parent_of.items():
            child = self.issuance_of.get(security)
            if child is not None and parent.id in failed and security not in self.positions:
                self.findings.append(
                    child.finding(
                        "warning", "left-out", f"left out with {parent.id}, which issues it"
                    )
                )

    def _index(self) -> None:
        """Issuances by security, the transaction each balance or resulting security comes
        from, references to nothing."""
        for obj in self.loaded.issuances:
            security = obj.data.get("security_id")
            if not isinstance(security, str):
                continue
            if security in self.issuance_of:
                first = self.issuance_of[security].id
                message = f"security_id {security!r} is already issued by {first}"
                self.error(obj, "duplicate-security", message)
                self.consumed.add(obj.id)  # never mapped
            else:
                self.issuance_of[security] = obj
        # An object with a duplicate id is left out, and the securities it issues with it.
        for obj, children in self.loaded.children:
            for security_id in children:
                self.parent_of.setdefault(security_id, obj)
        for security, parent in self.parent_of.items():
            child = self.issuance_of.get(security)
            if child is not None:
                self.consumed.add(child.id)
            else:
                message = f"its balance or resulting security {security!r} is never issued"
                self.error(parent, "missing-resulting-security", message)
        for obj, key, ref in self.loaded.unresolved:
            kind = REFERENCES[key]
            what = "class" if kind == "classes" else kind[:-1].replace("_", " ")
            message = f"{key} {ref!r} names no {what} of the package"
            if kind == "vesting_terms":
                # Unknown vesting terms lose the schedule, not the award (_vesting).
                self.findings.append(obj.finding("warning", "dangling-id", message))
            else:
                self.error(obj, "dangling-id", message)

    def _map(self, obj: Obj, handler: Handler) -> list[Item]:
        """Map one object whole (its events), or record why not (no events)."""
        self._pending, self._notes, self._number = [], [], 0
        refused = self.left_out.get(obj.id)
        try:
            if refused is not None:
                raise Refused(refused.code, refused.message)
            day = self._date(obj)
            try:
                handler(self, obj, day)
            except (AttributeError, TypeError, ValueError, KeyError, ArithmeticError) as e:
                # Outside input: a member of another shape than the mapping reads (text where
                # an object goes, a list as an id) leaves the object out, named.
                raise Refused(
                    "unreadable",
                    "a field holds a value of another kind than OCF gives it "
                    f"({type(e).__name__}: {e}); its schema finding, if any, names the field",
                ) from None
        except Refused as e:
            if refused is None and e.code not in self._errors.get(obj.id, ()):
                self.error(obj, e.code, str(e))
            self._extinguish(obj)
            return []
        self.findings.extend(self._notes)
        self.files.add(obj.file)
        return self._pending

    def error(self, obj: Obj, code: str, message: str) -> None:
        self._errors.setdefault(obj.id, set()).add(code)
        self.findings.append(obj.finding("error", code, message))

    def _extinguish(self, obj: Obj) -> None:
        """A terminal transaction left out still ends its security as far as OCF goes: a
        later transaction on it is on an extinguished security, not applied in its stead."""
        security = obj.data.get("security_id")
        if obj.type in TERMINAL and isinstance(security, str) and security not in self.ended:
            self.positions.pop(security, None)
            ending = _ending(obj, bool(obj.data.get("balance_security_id")))
            self.ended[security] = Ended(f"{ending}, left out,", str(obj.data.get("date")))

    def _date(self, obj: Obj) -> date:
        key = "effective_date" if obj.type == "VALUATION" else "date"
        if obj.type == "ISSUER":
            key = "formation_date"
            if "formation_date" not in obj.data:
                return self._first_date(obj)
        if obj.type in UNDATED and self.formation is not None:
            return self.formation
        day = _date_of(obj.data, key)
        if self.formation is not None and day < self.formation:
            raise Refused(
                "before-formation",
                f"dated {day}, before the issuer's formation on {self.formation}",
            )
        return day

    def _first_date(self, issuer: Obj) -> date:
        """An issuer without a formation date (a schema warning) is registered on the
        earliest date of the package."""
        days = []
        for text, _ in self.loaded.dated:
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                continue  # said when the object is mapped
        if not days:
            raise Refused("missing-field", "no formation_date, and nothing dated in the package")
        first = min(days)
        self.note(
            issuer,
            "warning",
            "formation-assumed",
            f"no formation_date: the company is registered on {first}, the package's first date",
        )
        return first

    # -- helpers for handlers --

    def note(self, obj: Obj, severity: Severity, code: str, message: str) -> None:
        self._notes.append(obj.finding(severity, code, message))

    def emit(self, obj: Obj, day: date, event_type: str, **fields: Any) -> None:
        """One event of ``obj``, validated into the ledger's fact (a value it cannot hold refuses
        the object); the ledger records that fact without validating it again."""
        self._number += 1
        number = self._number
        external = f"ocf:{obj.id}"
        if len(external) > 90:  # the ledger's external_id holds 100 characters
            external = "ocf:sha256:" + hashlib.sha256(obj.id.encode()).hexdigest()[:40]
        if number > 1:
            external += f"#{number}"
        event = {
            "type": event_type,
            "company": self.company,
            "effective_date": day.isoformat(),
            "source": obj.where[:2000],
            "external_id": external,
            **{k: v for k, v in fields.items() if v is not None},
        }
        try:
            fact = FACT_ADAPTER.validate_python(event)
        except ValidationError as e:
            error = e.errors()[0]
            place = ".".join(str(p) for p in error["loc"][1:]) or event_type
            raise Refused("not-representable", f"{event_type} {place}: {error['msg']}") from None
        self._pending.append(Item(obj.where, fact))  # the ledger takes the fact as validated

    def new_slug(self, kind: str, ocf_id: Any, text: str) -> str:
        """A slug unique among the ``kind``'s (party, class, plan, instrument): the OCF id
        itself when it is already a readable slug (a package written from a ledger), else
        one made of ``text`` (a name), numbered from -2 when taken."""
        taken = self.slugs.setdefault(kind, set())
        kind_suffix = KIND_SUFFIXES.get(_KIND_TYPES.get(kind, ""), "\0")
        if isinstance(ocf_id, str) and ocf_id.endswith(kind_suffix):
            ocf_id = ocf_id.removesuffix(kind_suffix)  # an export's id made unique in its package
        base = ocf_id if readable_slug(ocf_id) else slugify(text)
        slug, number = base, 1
        while slug in taken:
            number += 1
            numbered = f"-{number}"  # within the longest slug, the base cut to make room
            slug = base[: MAX_SLUG - len(numbered)].rstrip("-") + numbered
        taken.add(slug)
        return slug

    def party(self, obj: Obj, key: str = "stakeholder_id") -> str:
        ref = obj.data.get(key)
        if not isinstance(ref, str) or ref not in self.parties:
            raise Refused("dangling-id", f"{key} {ref!r} names no stakeholder of the package")
        return self.parties[ref]

    def share_class(self, ref: Any, key: str = "stock_class_id") -> ClassInfo:
        if not isinstance(ref, str) or ref not in self.classes:
            raise Refused("dangling-id", f"{key} {ref!r} names no stock class of the package")
        return self.classes[ref]

    def plan(self, ref: Any) -> PlanInfo:
        if not isinstance(ref, str) or ref not in self.plans:
            raise Refused(
                "dangling-id", f"stock_plan_id {ref!r} names no stock plan of the package"
            )
        return self.plans[ref]

    def in_force(self, obj: Obj, kind: str) -> tuple[str, Position]:
        """The security a transaction acts on, which must be in force."""
        security = obj.data.get("security_id")
        if not isinstance(security, str) or not security:
            raise Refused("missing-field", "no security_id")
        ended = self.ended.get(security)
        if ended is not None:
            raise Refused(
                "extinguished-security",
                f"security {security!r} was already extinguished by {ended.by} on "
                f"{ended.on}; not applied twice",
            )
        position = self.positions.get(security)
        if position is None:
            issuance = self.issuance_of.get(security)
            if issuance is None:
                raise Refused("dangling-id", f"security_id {security!r} is never issued")
            day = issuance.data.get("date")
            if isinstance(day, str) and day > str(obj.data.get("date")):
                why = f"issued later, on {day}, by {issuance.id}"
            else:
                why = f"its issuance {issuance.id} is left out"
            raise Refused("security-not-in-force", f"security {security!r} is not in force: {why}")
        if position.kind != kind:
            raise Refused(
                "wrong-security", f"security {security!r} is a {position.kind}, not a {kind}"
            )
        return security, position

    def child(self, obj: Obj, security: str, kind: str) -> tuple[Obj, Position]:
        """A balance or resulting security of ``obj``, as its issuance object says."""
        issuance = self.issuance_of.get(security)
        if issuance is None:
            raise Refused(
                "missing-resulting-security",
                f"its balance or resulting security {security!r} is never issued",
            )
        data = issuance.data
        if issuance.type == "TX_STOCK_ISSUANCE":
            cls = self.share_class(data.get("stock_class_id"))
            position = Position(
                "stock", self.party(issuance), cls.slug, count_of(data.get("quantity"), "quantity")
            )
        elif issuance.type in ("TX_EQUITY_COMPENSATION_ISSUANCE", "TX_PLAN_SECURITY_ISSUANCE"):
            plan = self.plan(data.get("stock_plan_id"))
            position = Position(
                "award", self.party(issuance), plan.share_class,
                count_of(data.get("quantity"), "quantity"),
            )  # fmt: skip
        elif issuance.type == "TX_WARRANT_ISSUANCE":
            position = Position(
                "warrant", self.party(issuance), None, count_of(data.get("quantity"), "quantity")
            )
        else:
            raise Refused("not-held", f"its resulting security {security!r} is a {issuance.type}")
        if position.kind != kind:
            raise Refused(
                "wrong-security",
                f"its balance or resulting security {security!r} is a {position.kind}, "
                f"not a {kind}",
            )
        if issuance.data.get("date") != obj.data.get("date"):
            self.note(
                obj,
                "warning",
                "date-mismatch",
                f"{security!r} is issued on {issuance.data.get('date')}, the transaction "
                f"dated {obj.data.get('date')}: it counts from the transaction's date",
            )
        return issuance, position

    def end(
        self,
        obj: Obj,
        security: str,
        day: date,
        balance: tuple[str, Position] | None = None,
        results: list[tuple[str, Position]] | None = None,
    ) -> None:
        """``obj`` extinguishes ``security``; its balance and resulting securities are in
        force from now."""
        self.positions.pop(security, None)
        self.ended[security] = Ended(_ending(obj, balance is not None), day.isoformat())
        for child, position in [*([balance] if balance else []), *(results or [])]:
            self.positions[child] = position

    def balance(
        self, obj: Obj, position: Position, remaining: int, kind: str, security: Any = None
    ) -> tuple[str, Position] | None:
        """The balance security of a partial transaction (``security``, else its
        ``balance_security_id``): it must hold exactly what is left. None when there is
        none."""
        security = security or obj.data.get("balance_security_id")
        if not isinstance(security, str) or not security:
            return None
        _, new = self.child(obj, security, kind)
        if new.holder != position.holder or (
            kind == "stock" and new.share_class != position.share_class
        ):
            raise Refused(
                "balance-mismatch",
                f"balance security {security!r} is not the same holder and class",
            )
        if new.quantity != remaining:
            raise Refused(
                "balance-mismatch",
                f"balance security {security!r} holds {new.quantity}, but {remaining} are left",
            )
        new.instrument, new.share_class = position.instrument, position.share_class
        return security, new


def _ending(obj: Obj, balanced: bool) -> str:
    """A terminal transaction as an extinguished security's message names it."""
    if balanced:
        return obj.id
    return f"{obj.id} (with no balance security)"


def _date_of(data: dict[str, Any], key: str) -> date:
    text = data.get(key)
    try:
        day = date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        day = None
    if day is None:
        raise Refused("bad-date", f"{key} {text!r} is not a date (YYYY-MM-DD)")
    return day


# --- the issuer, stakeholders, classes, plans ----------------------------------------------


def _issuer(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    jurisdiction = text_of(data, "country_of_formation")
    subdivision = text_of(data, "country_subdivision_of_formation")
    if jurisdiction and subdivision:
        jurisdiction = f"{jurisdiction}-{subdivision}"
    m.emit(
        obj,
        day,
        "CompanyRegistered",
        name=text_of(data, "legal_name") or text_of(data, "dba"),
        jurisdiction=jurisdiction,
    )
    m.formation = day


def _stakeholder(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    name = data.get("name")
    legal = text_of(name, "legal_name") if isinstance(name, dict) else None
    if legal is None:
        raise Refused("missing-field", "no name.legal_name")
    kind = "institution" if data.get("stakeholder_type") == "INSTITUTION" else "individual"
    slug = m.new_slug("party", obj.id, legal)
    m.emit(obj, day, "StakeholderRecorded", party=slug, name=legal, kind=kind)
    m.parties[obj.id] = slug


def _stock_class(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    name = text_of(data, "name") or obj.id
    authorized = data.get("initial_shares_authorized")
    if authorized is None and "current_shares_authorized" in data:
        authorized = data["current_shares_authorized"]
        m.note(
            obj,
            "info",
            "old-field",
            "current_shares_authorized (OCF before 1.0) read as initial_shares_authorized",
        )
    limit = None
    if isinstance(authorized, str) and authorized in ("UNLIMITED", "NOT_APPLICABLE"):
        m.note(obj, "info", "no-limit", f"authorized shares {authorized}: no limit")
    elif authorized is not None:
        limit = count_of(authorized, "authorized shares")
    votes_given = data.get("votes_per_share")
    if isinstance(votes_given, dict):
        votes = 1
        m.note(
            obj,
            "warning",
            "votes-omitted",
            "votes_per_share is omitted: recorded as 1 vote per share (the ledger's default)",
        )
    else:
        share_votes = fraction_of(votes_given if votes_given is not None else 1, "votes_per_share")
        if share_votes.denominator != 1 or share_votes < 0:
            raise Refused(
                "not-representable",
                f"votes_per_share {votes_given} is not a whole number of votes",
            )
        votes = int(share_votes)
    if data.get("conversion_rights"):
        m.note(
            obj,
            "info",
            "not-held",
            "conversion_rights: the ledger records conversions as they happen, not the terms",
        )
    slug = m.new_slug("class", obj.id, name)
    kind = "preferred" if data.get("class_type") == "PREFERRED" else "common"
    m.emit(
        obj,
        day,
        "ShareClassCreated",
        share_class=slug,
        name=name,
        kind=kind,
        authorized=limit,
        votes_per_share=votes,
    )
    m.classes[obj.id] = ClassInfo(slug, name)


def _stock_plan(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    refs: list[Any] = ids_of(data, "stock_class_ids") or [data.get("stock_class_id")]
    cls = m.share_class(refs[0])
    if len(refs) > 1:
        m.note(obj, "warning", "not-held", f"a plan of several classes: delivers {cls.name} only")
    behaviour = data.get("default_cancellation_behavior")
    on_cancel = "retire" if behaviour == "RETIRE" else "return"
    if behaviour not in (None, "RETIRE", "RETURN_TO_POOL"):
        m.note(obj, "info", "not-held", f"cancellation behaviour {behaviour}: returns to the pool")
    name = text_of(data, "plan_name") or obj.id
    slug = m.new_slug("plan", obj.id, name)
    reserved = count_of(data.get("initial_shares_reserved"), "initial_shares_reserved")
    m.emit(
        obj,
        _plan_created_on(m, obj, day),
        "StockPlanCreated",
        plan=slug,
        name=name,
        share_class=cls.slug,
        reserved=reserved,
        on_cancel=on_cancel,
    )
    m.plans[obj.id] = PlanInfo(slug, cls.slug)


def _plan_created_on(m: Mapper, obj: Obj, formation: date) -> date:
    """A plan exists from its board's (else its stockholders') approval; from the formation
    without either. Approved before the formation: from the formation; something of the plan
    dated before its approval (a grant, a pool adjustment): from the first of those. Either
    is a ``date-mismatch`` warning."""
    key = next(
        (k for k in ("board_approval_date", "stockholder_approval_date") if k in obj.data),
        "board_approval_date",
    )
    if obj.data.get(key) is None:
        return formation
    approved = _date_of(obj.data, key)
    if approved < formation:
        m.note(
            obj, "warning", "date-mismatch",
            f"{key} {approved} is before the issuer's formation: created on {formation}",
        )  # fmt: skip
        return formation
    used = m.loaded.plan_uses.get(obj.id)
    if used is not None and used < approved:
        created = max(used, formation)
        m.note(
            obj, "warning", "date-mismatch",
            f"{key} {approved}, but the plan is used from {used}: created on {created}",
        )  # fmt: skip
        return created
    return approved


# --- stock ---------------------------------------------------------------------------------


def _price(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    return money_of(data[key], key) if isinstance(data.get(key), dict) else None


def _stock_issuance(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    holder = m.party(obj)
    cls = m.share_class(data.get("stock_class_id"))
    quantity = count_of(data.get("quantity"), "quantity")
    security = data.get("security_id")
    if not isinstance(security, str) or not security:
        raise Refused("missing-field", "no security_id")
    if data.get("vesting_terms_id") or data.get("vestings"):
        m.note(obj, "info", "not-held", "vesting of issued stock: the ledger vests awards only")
    m.emit(
        obj,
        day,
        "SharesIssued",
        holder=holder,
        share_class=cls.slug,
        shares=quantity,
        price_per_share=_price(data, "share_price"),
    )
    m.positions[security] = Position("stock", holder, cls.slug, quantity)


def _remainder_cancelled(
    m: Mapper, obj: Obj, day: date, position: Position, remaining: int, what: str
) -> None:
    """A partial transaction without a balance security: the rest of the security ends
    with it, as OCF says; the ledger records it as cancelled, with a finding."""
    m.note(
        obj,
        "warning",
        "no-balance-security",
        f"a partial {what} without balance_security_id: the remaining {remaining:,} of the "
        f"{position.kind} are extinguished with it (recorded as cancelled)",
    )
    reason = f"OCF {what} without a balance security"
    if position.kind == "stock":
        m.emit(
            obj, day, "SharesCancelled", holder=position.holder,
            share_class=position.share_class, shares=remaining, reason=reason,
        )  # fmt: skip
    elif position.kind == "award":
        m.emit(
            obj, day, "OptionCancelled", grant=position.instrument, quantity=remaining,
            reason="other",
        )  # fmt: skip
    else:
        m.emit(
            obj, day, "WarrantCancelled", warrant=position.instrument, quantity=remaining,
            reason=reason,
        )  # fmt: skip


def _stock_ending(
    m: Mapper,
    obj: Obj,
    day: date,
    what: str,
    consumed: int,
    effect: Callable[[Position, int], None],
    results: list[tuple[str, Position]] | None = None,
) -> None:
    """A terminal stock transaction: ``consumed`` of the security go (``effect`` records
    how, to the ``results``), the balance security keeps the rest."""
    security, position = m.in_force(obj, "stock")
    if consumed > position.quantity:
        raise Refused(
            "beyond-position",
            f"{what} of {consumed:,} exceeds the {position.quantity:,} of security {security!r}",
        )
    effect(position, consumed)
    remaining = position.quantity - consumed
    balance = m.balance(obj, position, remaining, "stock")
    if balance is None and remaining:
        _remainder_cancelled(m, obj, day, position, remaining, what)
    m.end(obj, security, day, balance, results)


def _resulting(m: Mapper, obj: Obj, kind: str, what: str) -> list[tuple[str, Position]]:
    """The resulting securities of a transaction that must have some (``what`` it is)."""
    children = []
    for security in ids_of(obj.data, "resulting_security_ids"):
        _, position = m.child(obj, security, kind)
        children.append((security, position))
    if not children and what:
        raise Refused("missing-resulting-security", f"{what} without resulting securities")
    return children


def _stock_transfer(m: Mapper, obj: Obj, day: date) -> None:
    m.in_force(obj, "stock")  # an extinguished security is the first thing to say
    quantity = count_of(obj.data.get("quantity"), "quantity")
    results = _resulting(m, obj, "stock", "a transfer")

    def moved(position: Position, consumed: int) -> None:
        total = sum(p.quantity for _, p in results)
        if total != consumed:
            raise Refused(
                "resulting-mismatch",
                f"the resulting securities hold {total:,}, the transfer moves {consumed:,}",
            )
        for _, new in results:
            if new.share_class != position.share_class:
                raise Refused("resulting-mismatch", "a resulting security of another class")
            if new.holder != position.holder:
                m.emit(
                    obj, day, "SharesTransferred",
                    **{"from": position.holder}, to=new.holder,
                    share_class=position.share_class, shares=new.quantity,
                    price_per_share=_price(obj.data, "price"),
                )  # fmt: skip

    _stock_ending(m, obj, day, "transfer", quantity, moved, results)


def _cancelled_as(reason: str) -> Callable[[Mapper, Obj, date], None]:
    def handler(m: Mapper, obj: Obj, day: date) -> None:
        data = obj.data
        given = text_of(data, "reason_text") or text_of(data, "consideration_text")
        why = f"{reason}: {given}"[:200] if given else reason

        def cancelled(position: Position, consumed: int) -> None:
            m.emit(
                obj, day, "SharesCancelled", holder=position.holder,
                share_class=position.share_class, shares=consumed, reason=why,
            )  # fmt: skip

        if reason == "retraction":
            _, position = m.in_force(obj, "stock")
            consumed = position.quantity
        else:
            consumed = count_of(data.get("quantity"), "quantity")
        _stock_ending(m, obj, day, reason, consumed, cancelled)

    return handler


def _stock_conversion(m: Mapper, obj: Obj, day: date) -> None:
    m.in_force(obj, "stock")  # an extinguished security is the first thing to say
    quantity = count_of(obj.data.get("quantity_converted"), "quantity_converted")
    results = _resulting(m, obj, "stock", "a conversion")

    def converted(position: Position, consumed: int) -> None:
        classes = {p.share_class for _, p in results}
        holders = {p.holder for _, p in results}
        if holders != {position.holder} or len(classes) != 1:
            raise Refused(
                "not-held",
                "a conversion into several classes or to another holder: the ledger converts "
                "a holder's shares into one class",
            )
        (to_class,) = classes
        total = sum(p.quantity for _, p in results)
        if to_class == position.share_class:
            raise Refused("not-held", "a conversion into the same class")
        m.emit(
            obj, day, "SharesConverted", holder=position.holder,
            from_class=position.share_class, to_class=to_class, shares=consumed,
            ratio=ratio_of(total, consumed, "the conversion's ratio"),
        )  # fmt: skip

    _stock_ending(m, obj, day, "conversion", quantity, converted, results)


def _stock_reissuance(m: Mapper, obj: Obj, day: date) -> None:
    _, position = m.in_force(obj, "stock")
    results = _resulting(m, obj, "stock", "")

    def reissued(position: Position, consumed: int) -> None:
        for _, new in results:
            if new.holder != position.holder or new.share_class != position.share_class:
                raise Refused(
                    "not-held", "a reissuance to another holder or class: not a reissuance"
                )
        change = sum(p.quantity for _, p in results) - consumed
        if change:
            m.note(
                obj,
                "warning",
                "resulting-mismatch",
                f"the reissued securities hold {change:+,} shares against the original: "
                "recorded as an issuance or a cancellation of the difference",
            )
        if change > 0:
            m.emit(
                obj, day, "SharesIssued", holder=position.holder,
                share_class=position.share_class, shares=change,
            )  # fmt: skip
        elif change < 0:
            m.emit(
                obj, day, "SharesCancelled", holder=position.holder,
                share_class=position.share_class, shares=-change, reason="reissuance",
            )  # fmt: skip

    _stock_ending(m, obj, day, "reissuance", position.quantity, reissued, results)


def _class_split(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    cls = m.share_class(data.get("stock_class_id"))
    ratio = data.get("split_ratio")
    if not isinstance(ratio, dict):
        raise Refused("missing-field", "no split_ratio")
    n = fraction_of(ratio.get("numerator"), "split_ratio numerator")
    d = fraction_of(ratio.get("denominator"), "split_ratio denominator")
    if n <= 0 or d <= 0:
        raise Refused("bad-number", "a split ratio of terms above 0")
    exact = n / d
    text = ratio_of(exact.numerator, exact.denominator, "split_ratio")
    m.emit(obj, day, "StockSplit", share_class=cls.slug, ratio=text)
    for position in m.positions.values():
        if position.share_class == cls.slug and position.kind != "convertible":
            position.quantity = position.quantity * exact.numerator // exact.denominator


def _authorized_adjustment(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    cls = m.share_class(data.get("stock_class_id"))
    authorized = count_of(data.get("new_shares_authorized"), "new_shares_authorized")
    m.emit(obj, day, "AuthorizedSharesChanged", share_class=cls.slug, authorized=authorized)


def _pool_adjustment(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    plan = m.plan(data.get("stock_plan_id"))
    reserved = decimal_of(data.get("shares_reserved"), "shares_reserved")
    if reserved != 0:
        reserved = Decimal(count_of(data.get("shares_reserved"), "shares_reserved"))
    m.emit(obj, day, "StockPlanReserveChanged", plan=plan.slug, reserved=int(reserved))


def _checked_only(m: Mapper, obj: Obj, day: date) -> None:
    """An acceptance or vesting start: no event, but its security must exist."""
    security = obj.data.get("security_id")
    if not isinstance(security, str) or security not in m.issuance_of:
        m.note(obj, "warning", "dangling-id", f"security_id {security!r} is never issued")


def _not_held(severity: Severity, why: str) -> Handler:
    def handler(m: Mapper, obj: Obj, day: date) -> None:
        if severity == "error":
            raise Refused("not-held", f"{obj.type}: {why}")
        m.note(obj, severity, "not-held", f"{obj.type}: {why}")

    return handler


def _valuation(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    price = money_of(data.get("price_per_share"), "price_per_share")
    cls = m.share_class(data.get("stock_class_id")) if data.get("stock_class_id") else None
    outstanding = sum(p.quantity for p in m.positions.values() if p.kind == "stock")
    if not outstanding:
        raise Refused(
            "not-representable",
            "a price per share with no shares outstanding: no company valuation to record",
        )
    value = Decimal(price["amount"]) * outstanding
    basis = "409a" if data.get("valuation_type") == "409A" else "other"
    of = f" of {cls.name}" if cls else ""
    m.note(
        obj,
        "info",
        "valuation-derived",
        f"OCF gives a price per share{of} ({price['amount']} {price['currency']}); recorded "
        f"as a company valuation of that price × {outstanding:,} shares outstanding",
    )
    m.emit(
        obj,
        day,
        "ValuationRecorded",
        valuation={"amount": plain(value), "currency": price["currency"]},
        basis=basis,
    )


# --- awards (options, RSUs) ----------------------------------------------------------------


def _award_issuance(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    holder = m.party(obj)
    plan = m.plan(data.get("stock_plan_id"))
    quantity = count_of(data.get("quantity"), "quantity")
    security = data.get("security_id")
    if not isinstance(security, str) or not security:
        raise Refused("missing-field", "no security_id")
    compensation = data.get("compensation_type")
    if compensation == "RSU":
        kind, price = "rsu", None
    elif compensation in ("OPTION", "OPTION_ISO", "OPTION_NSO"):
        kind, price = "option", _price(data, "exercise_price")
        if price is None:
            raise Refused("missing-field", "an option without exercise_price")
    else:
        raise Refused(
            "not-held", f"compensation_type {compensation}: the ledger holds options and RSUs"
        )
    if (
        data.get("stock_class_id")
        and m.share_class(data["stock_class_id"]).slug != plan.share_class
    ):
        m.note(
            obj,
            "warning",
            "class-mismatch",
            "the award's class differs from its plan's: the plan's is used",
        )
    if data.get("early_exercisable"):
        m.note(obj, "info", "not-held", "early exercise: the ledger exercises vested awards only")
    grant = m.new_slug("instrument", security, text_of(data, "custom_id") or security)
    m.emit(
        obj,
        day,
        "OptionGranted",
        grant=grant,
        holder=holder,
        plan=plan.slug,
        quantity=quantity,
        kind=kind,
        exercise_price=price,
        expiration_date=text_of(data, "expiration_date"),
        vesting=_vesting(m, obj, security, day),
    )
    m.positions[security] = Position("award", holder, plan.share_class, quantity, grant)


def _vesting(m: Mapper, obj: Obj, security: str, day: date) -> dict[str, Any] | None:
    data = obj.data
    if data.get("vestings"):
        m.note(
            obj,
            "warning",
            "vesting-not-held",
            "explicit vestings: the award is recorded as vested when granted",
        )
        return None
    ref = data.get("vesting_terms_id")
    if ref is None:
        return None
    terms = m.loaded.vesting_terms.get(ref) if isinstance(ref, str) else None
    if terms is None:  # the dangling id is a finding of its own (Mapper._index)
        return None
    if ref not in m.schedules:
        m.schedules[ref] = schedule_of(terms.data)
    schedule, why = m.schedules[ref]
    if schedule is None:
        m.note(
            obj, "warning", "vesting-not-held",
            f"vesting terms {ref!r}: {why}; the award is recorded as vested when granted",
        )  # fmt: skip
        return None
    start = m.loaded.vesting_starts.get(security)
    if start is None:
        start = day.isoformat()
        m.note(
            obj,
            "info",
            "vesting-start-assumed",
            "no TX_VESTING_START: vesting starts at the grant date",
        )
    if terms.data.get("allocation_type") not in (None, "CUMULATIVE_ROUND_DOWN"):
        m.note(
            obj, "info", "vesting-rounding",
            f"allocation {terms.data.get('allocation_type')}: the ledger rounds each vested "
            "count down",
        )  # fmt: skip
    return {"start": start, **schedule}


def _award_ending(
    m: Mapper,
    obj: Obj,
    day: date,
    consumed: int,
    what: str,
    effect: Callable[[Position], None],
    results: list[tuple[str, Position]] | None = None,
    balance_id: str | None = None,
) -> None:
    """A terminal award transaction, as ``_stock_ending``."""
    security, position = m.in_force(obj, "award")
    if consumed > position.quantity:
        raise Refused(
            "beyond-position",
            f"{what} of {consumed:,} exceeds the {position.quantity:,} outstanding of {security!r}",
        )
    effect(position)
    remaining = position.quantity - consumed
    balance = m.balance(obj, position, remaining, "award", balance_id)
    if balance is None and remaining:
        _remainder_cancelled(m, obj, day, position, remaining, what)
    m.end(obj, security, day, balance, results)


def _exercised_into(
    m: Mapper, obj: Obj, kind: str
) -> tuple[list[tuple[str, Position]], str | None]:
    """The resulting securities of an exercise or release of a ``kind`` of security: its
    shares, and its balance. OCF's exercise and release have no ``balance_security_id``:
    the one security of the exercised kind among the resulting ones is the balance."""
    shares, balances = [], []
    for security in ids_of(obj.data, "resulting_security_ids"):
        issuance = m.issuance_of.get(security)
        if issuance is not None and ISSUANCES.get(issuance.type) == kind:
            balances.append(security)
        else:
            shares.append((security, m.child(obj, security, "stock")[1]))
    if not shares:
        raise Refused("missing-resulting-security", "an exercise without resulting shares")
    if len(balances) > 1:
        raise Refused(
            "balance-mismatch", f"several {kind}s among the resulting securities: {balances}"
        )
    return shares, balances[0] if balances else None


def _award_exercise(m: Mapper, obj: Obj, day: date) -> None:
    m.in_force(obj, "award")  # an extinguished security is the first thing to say
    consumed = count_of(obj.data.get("quantity"), "quantity")
    results, balance = _exercised_into(m, obj, "award")

    def exercised(position: Position) -> None:
        total = sum(p.quantity for _, p in results)
        if total != consumed:
            raise Refused(
                "resulting-mismatch",
                f"the resulting securities hold {total:,}, the exercise is of {consumed:,}",
            )
        for _, new in results:
            if new.holder != position.holder or new.share_class != position.share_class:
                raise Refused(
                    "resulting-mismatch", "a resulting security of another holder or class"
                )
        m.emit(obj, day, "OptionExercised", grant=position.instrument, quantity=consumed)

    _award_ending(m, obj, day, consumed, "exercise", exercised, results, balance)


def _award_cancellation(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    given = (text_of(data, "reason_text") or "").lower()
    reason = (
        "expired"
        if ("expir" in given or "laps" in given)
        else ("forfeited" if "forfeit" in given else "cancelled")
    )
    if obj.type.endswith("_RETRACTION"):
        _, position = m.in_force(obj, "award")
        consumed, reason = position.quantity, "other"
    else:
        consumed = count_of(data.get("quantity"), "quantity")

    def cancelled(position: Position) -> None:
        m.emit(
            obj, day, "OptionCancelled", grant=position.instrument, quantity=consumed, reason=reason
        )

    _award_ending(m, obj, day, consumed, "cancellation", cancelled)


# --- warrants and convertibles -------------------------------------------------------------


def _warrant_issuance(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    holder = m.party(obj)
    security = data.get("security_id")
    if not isinstance(security, str) or not security:
        raise Refused("missing-field", "no security_id")
    quantity = count_of(data.get("quantity"), "quantity")
    price = _price(data, "exercise_price")
    if price is None:
        raise Refused("missing-field", "a warrant without exercise_price")
    targets = {
        ((t.get("conversion_right") or {}).get("converts_to_stock_class_id"))
        for t in data.get("exercise_triggers") or []
        if isinstance(t, dict)
    } - {None}
    if len(targets) == 1:
        cls = m.share_class(next(iter(targets)), "converts_to_stock_class_id")
    else:
        commons = [
            c
            for c in m.loaded.classes
            if c.data.get("class_type") == "COMMON" and c.id in m.classes
        ]
        if targets or len(commons) != 1:
            raise Refused("not-held", "a warrant whose stock class is not one named class")
        cls = m.classes[commons[0].id]
        m.note(
            obj,
            "warning",
            "class-assumed",
            f"no stock class named: the only common class, {cls.name}, is assumed",
        )
    warrant = m.new_slug("instrument", security, text_of(data, "custom_id") or security)
    m.emit(
        obj, day, "WarrantIssued", warrant=warrant, holder=holder, share_class=cls.slug,
        quantity=quantity, exercise_price=price,
        expiration_date=text_of(data, "warrant_expiration_date"),
    )  # fmt: skip
    m.positions[security] = Position("warrant", holder, cls.slug, quantity, warrant)


def _warrant_exercise(m: Mapper, obj: Obj, day: date) -> None:
    security, position = m.in_force(obj, "warrant")
    results, balance_id = _exercised_into(m, obj, "warrant")
    exercised = sum(p.quantity for _, p in results)
    for _, new in results:
        if new.holder != position.holder or new.share_class != position.share_class:
            raise Refused("resulting-mismatch", "a resulting security of another holder or class")
    if exercised > position.quantity:
        raise Refused(
            "beyond-position",
            f"exercise of {exercised:,} exceeds the {position.quantity:,} outstanding",
        )
    m.emit(obj, day, "WarrantExercised", warrant=position.instrument, quantity=exercised)
    remaining = position.quantity - exercised
    balance = m.balance(obj, position, remaining, "warrant", balance_id)
    if balance is None and remaining:
        _remainder_cancelled(m, obj, day, position, remaining, "exercise")
    m.end(obj, security, day, balance, results)


def _warrant_cancellation(m: Mapper, obj: Obj, day: date) -> None:
    security, position = m.in_force(obj, "warrant")
    data = obj.data
    retraction = obj.type == "TX_WARRANT_RETRACTION"
    consumed = position.quantity if retraction else count_of(data.get("quantity"), "quantity")
    if consumed > position.quantity:
        raise Refused(
            "beyond-position",
            f"cancellation of {consumed:,} exceeds the {position.quantity:,} outstanding",
        )
    reason = ("retraction" if retraction else "cancellation") + (
        f": {text_of(data, 'reason_text')}" if text_of(data, "reason_text") else ""
    )
    remaining = position.quantity - consumed
    balance = m.balance(obj, position, remaining, "warrant")
    if balance is None:
        consumed = position.quantity
        if remaining:
            m.note(
                obj,
                "warning",
                "no-balance-security",
                f"the remaining {remaining:,} of the warrant end with it",
            )
    m.emit(
        obj,
        day,
        "WarrantCancelled",
        warrant=position.instrument,
        quantity=consumed,
        reason=reason[:200],
    )
    m.end(obj, security, day, balance)


def _convertible_issuance(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    holder = m.party(obj)
    security = data.get("security_id")
    if not isinstance(security, str) or not security:
        raise Refused("missing-field", "no security_id")
    kind = {"SAFE": "safe", "NOTE": "note"}.get(str(data.get("convertible_type")))
    if kind is None:
        raise Refused(
            "not-held",
            f"convertible_type {data.get('convertible_type')}: the ledger holds SAFEs and notes",
        )
    amount = money_of(data.get("investment_amount"), "investment_amount")
    triggers = [t for t in data.get("conversion_triggers") or [] if isinstance(t, dict)]
    mechanism = (
        ((triggers[0].get("conversion_right") or {}).get("conversion_mechanism") or {})
        if triggers
        else {}
    )
    if len(triggers) > 1:
        m.note(
            obj,
            "info",
            "not-held",
            "several conversion triggers: the terms of the first are recorded",
        )
    cap = _price(mechanism, "conversion_valuation_cap")
    discount = mechanism.get("conversion_discount")
    # OCF gives a discount as a fraction (0.2), the ledger as a percentage (20).
    discount_percent = (
        plain(decimal_of(discount, "conversion_discount") * 100) if discount is not None else None
    )
    timing = mechanism.get("conversion_timing")
    basis = {"PRE_MONEY": "pre-money", "POST_MONEY": "post-money"}.get(str(timing))
    rates = [r for r in mechanism.get("interest_rates") or [] if isinstance(r, dict)]
    interest = None
    if kind == "note" and rates:
        interest = plain(decimal_of(rates[0].get("rate"), "interest rate") * 100)
        if len(rates) > 1 or mechanism.get("compounding_type") not in (None, "SIMPLE"):
            m.note(
                obj,
                "warning",
                "not-held",
                "interest other than one simple rate: the first rate is recorded as simple "
                "interest",
            )
    slug = m.new_slug("instrument", security, text_of(data, "custom_id") or security)
    m.emit(
        obj, day, "ConvertibleIssued", convertible=slug, holder=holder, kind=kind,
        amount=amount, valuation_cap=cap,
        discount_percent=discount_percent, cap_basis=basis, interest_rate_percent=interest,
        maturity_date=text_of(mechanism, "maturity_date"),
    )  # fmt: skip
    m.positions[security] = Position("convertible", holder, None, 1, slug)


def _convertible_conversion(m: Mapper, obj: Obj, day: date) -> None:
    security, position = m.in_force(obj, "convertible")
    results = _resulting(m, obj, "stock", "a conversion")
    classes = {p.share_class for _, p in results}
    if {p.holder for _, p in results} != {position.holder} or len(classes) != 1:
        raise Refused("not-held", "a conversion into several classes or to another holder")
    shares = sum(p.quantity for _, p in results)
    m.emit(
        obj,
        day,
        "ConvertibleConverted",
        convertible=position.instrument,
        share_class=classes.pop(),
        shares=shares,
    )
    m.end(obj, security, day, results=results)


def _convertible_cancellation(m: Mapper, obj: Obj, day: date) -> None:
    security, position = m.in_force(obj, "convertible")
    reason = "cancelled" if obj.type == "TX_CONVERTIBLE_CANCELLATION" else "other"
    m.emit(obj, day, "ConvertibleCancelled", convertible=position.instrument, reason=reason)
    m.end(obj, security, day)


# --- stakeholder change events -------------------------------------------------------------


def _relationship(m: Mapper, obj: Obj, day: date) -> None:
    data = obj.data
    person = m.party(obj)
    started, ended = data.get("relationship_started"), data.get("relationship_ended")
    mapped = False
    if ended == BOARD:
        m.emit(obj, day, "DirectorDeparted", person=person)
        mapped = True
    elif ended == OFFICER:
        m.emit(obj, day, "ExecutiveDeparted", person=person, role="other", title="Officer")
        mapped = True
    if started == BOARD:
        m.emit(obj, day, "DirectorAppointed", person=person)
        mapped = True
    elif started == OFFICER:
        m.emit(obj, day, "ExecutiveAppointed", person=person, role="other", title="Officer")
        mapped = True
    others = {started, ended} - {BOARD, OFFICER, None}
    if others or not mapped:
        m.note(
            obj,
            "info",
            "not-held",
            f"relationship {', '.join(sorted(map(str, others))) or 'change'}: the ledger "
            "keeps officers and directors only",
        )


TERMINAL = {
    "TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION", "TX_STOCK_REPURCHASE", "TX_STOCK_RETRACTION",
    "TX_STOCK_CONVERSION", "TX_STOCK_REISSUANCE", "TX_STOCK_CONSOLIDATION",
    "TX_EQUITY_COMPENSATION_EXERCISE", "TX_PLAN_SECURITY_EXERCISE",
    "TX_EQUITY_COMPENSATION_RELEASE", "TX_PLAN_SECURITY_RELEASE",
    "TX_EQUITY_COMPENSATION_CANCELLATION", "TX_PLAN_SECURITY_CANCELLATION",
    "TX_EQUITY_COMPENSATION_RETRACTION", "TX_PLAN_SECURITY_RETRACTION",
    "TX_EQUITY_COMPENSATION_TRANSFER", "TX_PLAN_SECURITY_TRANSFER",
    "TX_WARRANT_EXERCISE", "TX_WARRANT_CANCELLATION", "TX_WARRANT_RETRACTION",
    "TX_WARRANT_TRANSFER", "TX_CONVERTIBLE_CONVERSION", "TX_CONVERTIBLE_CANCELLATION",
    "TX_CONVERTIBLE_RETRACTION", "TX_CONVERTIBLE_TRANSFER",
}  # fmt: skip
"""Transactions that extinguish their security (OCF: its balance and resulting securities
are new ones)."""

HANDLERS: dict[str, Handler] = {
    "TX_STOCK_ISSUANCE": _stock_issuance,
    "TX_STOCK_TRANSFER": _stock_transfer,
    "TX_STOCK_CANCELLATION": _cancelled_as("cancellation"),
    "TX_STOCK_REPURCHASE": _cancelled_as("repurchase"),
    "TX_STOCK_RETRACTION": _cancelled_as("retraction"),
    "TX_STOCK_CONVERSION": _stock_conversion,
    "TX_STOCK_REISSUANCE": _stock_reissuance,
    "TX_STOCK_CLASS_SPLIT": _class_split,
    "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT": _authorized_adjustment,
    "TX_STOCK_PLAN_POOL_ADJUSTMENT": _pool_adjustment,
    "TX_STOCK_ACCEPTANCE": _checked_only,
    "TX_EQUITY_COMPENSATION_ACCEPTANCE": _checked_only,
    "TX_PLAN_SECURITY_ACCEPTANCE": _checked_only,
    "TX_WARRANT_ACCEPTANCE": _checked_only,
    "TX_CONVERTIBLE_ACCEPTANCE": _checked_only,
    "TX_VESTING_START": _checked_only,
    "TX_EQUITY_COMPENSATION_ISSUANCE": _award_issuance,
    "TX_PLAN_SECURITY_ISSUANCE": _award_issuance,
    "TX_EQUITY_COMPENSATION_EXERCISE": _award_exercise,
    "TX_PLAN_SECURITY_EXERCISE": _award_exercise,
    "TX_EQUITY_COMPENSATION_RELEASE": _award_exercise,
    "TX_PLAN_SECURITY_RELEASE": _award_exercise,
    "TX_EQUITY_COMPENSATION_CANCELLATION": _award_cancellation,
    "TX_PLAN_SECURITY_CANCELLATION": _award_cancellation,
    "TX_EQUITY_COMPENSATION_RETRACTION": _award_cancellation,
    "TX_PLAN_SECURITY_RETRACTION": _award_cancellation,
    "TX_WARRANT_ISSUANCE": _warrant_issuance,
    "TX_WARRANT_EXERCISE": _warrant_exercise,
    "TX_WARRANT_CANCELLATION": _warrant_cancellation,
    "TX_WARRANT_RETRACTION": _warrant_cancellation,
    "TX_CONVERTIBLE_ISSUANCE": _convertible_issuance,
    "TX_CONVERTIBLE_CONVERSION": _convertible_conversion,
    "TX_CONVERTIBLE_CANCELLATION": _convertible_cancellation,
    "TX_CONVERTIBLE_RETRACTION": _convertible_cancellation,
    "VALUATION": _valuation,
    "CE_STAKEHOLDER_RELATIONSHIP": _relationship,
    "TX_EQUITY_COMPENSATION_TRANSFER": _not_held("error", "the ledger does not transfer awards"),
    "TX_PLAN_SECURITY_TRANSFER": _not_held("error", "the ledger does not transfer awards"),
    "TX_WARRANT_TRANSFER": _not_held("error", "the ledger does not transfer warrants"),
    "TX_CONVERTIBLE_TRANSFER": _not_held("error", "the ledger does not transfer convertibles"),
    "TX_STOCK_CONSOLIDATION": _not_held("error", "the ledger does not consolidate securities"),
    "TX_EQUITY_COMPENSATION_REPRICING": _not_held(
        "warning", "the ledger keeps the exercise price granted"
    ),
    "TX_VESTING_EVENT": _not_held(
        "warning", "vesting by an event: the ledger vests by schedule only"
    ),
    "TX_VESTING_ACCELERATION": _not_held("warning", "the ledger does not accelerate vesting"),
    "TX_STOCK_PLAN_RETURN_TO_POOL": _not_held(
        "info", "the plan's on_cancel returns shares to the pool"
    ),
    "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT": _not_held(
        "info", "the ledger records conversions, not their terms"
    ),
    "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT": _not_held(
        "info", "the ledger limits authorized shares per class only"
    ),
    "CE_STAKEHOLDER_STATUS": _not_held("info", "the ledger keeps no stakeholder status"),
}
"""What each OCF transaction (and valuation) becomes; a type not here is an info finding."""
