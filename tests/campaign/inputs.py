"""The inputs of the bad-input campaign: event files that try to poison the ledger.

Three sources, mixed in every file:

- ``schema_events``: events drawn from the JSON Schema that ``corpledger schema`` prints,
  through hypothesis-jsonschema, then (mostly) anchored to the example's company, class and
  events so that the rules are reached, not only validation;
- ``boundary_events``: a well-formed event of every type with one or two fields replaced by
  a boundary value of the field's kind (counts, money, percentages, ratios, dates, texts,
  slugs), or a value of the wrong type;
- ``rule_events``: well-formed events that push the rules: huge counts, splits that multiply
  the totals, back-dated events, retractions and corrections of the company's first events.

Each value past a documented bound is noted (``Drawn.past_bounds``): a file holding one must
be refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from ledger.domain.events import EVENT_FILE_ADAPTER, EVENT_TYPES
from ledger.domain.values import SLUG_PATTERN

# --- the documented bounds -----------------------------------------------------------------

MAX_SHARES = 10**15
MAX_MONEY = 10**15
MAX_DECIMALS = 10
MAX_RATIO_TERM = 10**6
FIRST_DAY, LAST_DAY = "1800-01-01", "2999-12-31"
MAX_SLUG = 100
TEXT_LIMITS = {
    "external_id": 100,
    "target_external_id": 100,
    "name": 200,
    "title": 200,
    "round": 200,
    "reason": 200,
    "source": 2000,
    "note": 10000,
}
"""The free texts with a documented length; no control characters but tab and newline."""

# --- every field of every event type, by kind ----------------------------------------------

COUNT_FIELDS = (
    "shares", "authorized", "seats", "votes_per_share", "quantity", "reserved",
)  # fmt: skip
MONEY_FIELDS = (
    "amount",
    "price_per_share",
    "post_money_valuation",
    "pre_money_valuation",
    "valuation",
    "exercise_price",
    "valuation_cap",
)
PERCENT_FIELDS = ("stake_percent", "discount_percent", "interest_rate_percent")
RATIO_FIELDS = ("ratio",)
DATE_FIELDS = ("effective_date", "expiration_date", "maturity_date")
SLUG_FIELDS = (
    "company",
    "holder",
    "share_class",
    "investor",
    "from",
    "to",
    "person",
    "designated_by",
    "destination",
    "party",
    "plan",
    "grant",
    "warrant",
    "convertible",
    "from_class",
    "to_class",
)
OTHER_TEXT_FIELDS = ("jurisdiction", "previous_title")
"""Free texts without a documented length: probed, but nothing is expected of them."""
CHOICE_FIELDS = (
    "type",
    "kind",
    "role",
    "seat",
    "basis",
    "interim",
    "identifiers",
    "target",
    "replacement",
    "derived_shares",
    "on_cancel",
    "cap_basis",
    "vesting",
)
"""Fields probed with values of the wrong type only."""

FIELD_KINDS = {
    **dict.fromkeys(COUNT_FIELDS, "count"),
    **dict.fromkeys(MONEY_FIELDS, "money"),
    **dict.fromkeys(PERCENT_FIELDS, "percent"),
    **dict.fromkeys(RATIO_FIELDS, "ratio"),
    **dict.fromkeys(DATE_FIELDS, "date"),
    **dict.fromkeys(SLUG_FIELDS, "slug"),
    **dict.fromkeys(TEXT_LIMITS, "text"),
    **dict.fromkeys(OTHER_TEXT_FIELDS, "other text"),
    **dict.fromkeys(CHOICE_FIELDS, "choice"),
}


def event_fields(kind: str) -> list[str]:
    """The fields an event file may give for an event type, by their names in a file."""
    model = EVENT_TYPES[kind]
    return [info.alias or name for name, info in model.model_fields.items()]


# --- raw number tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A number written verbatim into the file (no encoder writes ``1e400`` or ``NaN``)."""

    json: str
    yaml: str


@dataclass
class Drawn:
    """An event file's events and the values in it past a documented bound."""

    events: list[Any]
    past_bounds: list[str] = field(default_factory=list)
    whole_file: str | None = None
    """The name of a ``WHOLE_FILES`` text written instead of the events."""

    def __repr__(self) -> str:
        if self.whole_file is not None:
            return f"Drawn(whole_file={self.whole_file!r})"
        return f"Drawn(events={_brief(self.events)!r}, past_bounds={self.past_bounds!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints a failing example with this


def _brief(value: Any) -> Any:
    """``value`` with its long texts cut (a failing example holds texts of 100,000 chars)."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:20]}…{value[-8:]} ({len(value)} characters)"
    if isinstance(value, dict):
        return {key: _brief(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_brief(item) for item in value]
    return value


def file_bytes(drawn: Drawn, fmt: str) -> bytes:
    """The bytes of the event file of ``drawn`` in ``fmt`` (yaml, json or jsonl)."""
    if drawn.whole_file is not None:
        return WHOLE_FILES[drawn.whole_file](fmt)
    return write_file(drawn.events, fmt).encode("utf-8")


def write_file(events: list[Any], fmt: str) -> str:
    """The text of an event file in ``fmt`` (yaml, json or jsonl), raw tokens written as is."""
    raws: list[Raw] = []

    def hold(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value)
            return f"RAWTOKEN{len(raws) - 1}X"
        if isinstance(value, dict):
            return {key: hold(item) for key, item in value.items()}
        if isinstance(value, list):
            return [hold(item) for item in value]
        return value

    held = hold(events)
    if fmt == "yaml":
        text = yaml.safe_dump(held, allow_unicode=False, sort_keys=False, width=10**9)
        quoted = ""
    elif fmt == "json":
        text, quoted = json.dumps(held, indent=1), '"'
    else:
        text, quoted = "".join(json.dumps(item) + "\n" for item in held), '"'
    if not raws:
        return text
    return re.sub(
        f"{quoted}RAWTOKEN([0-9]+)X{quoted}",
        lambda m: getattr(raws[int(m.group(1))], "yaml" if fmt == "yaml" else "json"),
        text,
    )


# --- the schema, through hypothesis-jsonschema ---------------------------------------------

_ANNOTATIONS = ("title", "description", "default", "discriminator", "examples")
_PYDANTIC_KEYWORDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
}
"""Keywords pydantic may leave in a schema for constraints on non-numbers (``Decimal``
before validation), and their standard names."""


def _standard(node: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    for keyword, standard in _PYDANTIC_KEYWORDS.items():
        if keyword in out:
            out.setdefault(standard, out.pop(keyword))
            out.pop(keyword, None)
    return out


class SchemaStrategies:
    """Strategies for the event types of a JSON Schema of an event file.

    hypothesis-jsonschema makes every leaf (strings with their patterns, lengths and formats,
    numbers with their bounds); objects, ``$ref``, ``anyOf`` and ``oneOf`` are composed here,
    once: drawing a whole event object through it is slow, and its object drawing does not
    run on current hypothesis."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self._refs: dict[str, st.SearchStrategy[Any]] = {}

    def event(self, kind: str) -> st.SearchStrategy[dict[str, Any]]:
        body = dict(self.defs[kind])
        body["required"] = ["type", *body.get("required", [])]  # the type is what we test
        return self.of(body)

    def of(self, raw: dict[str, Any]) -> st.SearchStrategy[Any]:
        node = _standard(raw)
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in self._refs:
                self._refs[name] = st.deferred(lambda: self.of(self.defs[name]))
            return self._refs[name]
        for keyword in ("anyOf", "oneOf"):
            if keyword in node:
                rest = {k: v for k, v in node.items() if k != keyword}
                return st.one_of([self.of({**rest, **branch}) for branch in node[keyword]])
        if node.get("type") == "object":
            properties = node.get("properties")
            if properties is None:
                values = self.of(node.get("additionalProperties") or {"type": "string"})
                return st.dictionaries(st.text(max_size=12), values, max_size=3)
            required = set(node.get("required", ()))
            return st.fixed_dictionaries(
                {k: self.of(v) for k, v in properties.items() if k in required},
                optional={k: self.of(v) for k, v in properties.items() if k not in required},
            )
        return from_schema(node)


def event_file_schema() -> dict[str, Any]:
    """The schema ``corpledger schema`` prints (its body: the adapter's)."""
    return EVENT_FILE_ADAPTER.json_schema()


# --- the example's company -----------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """A company recorded before the input: registered 2020-01-01 with a class ``common``;
    ``founder`` holds 1,000,000 shares from 2020-01-02; ``boss`` is CEO and a director from
    2020-01-03. ``first_events`` are the ids of those events, in that order, and of the
    events recorded since (the targets of corrections)."""

    slug: str
    first_events: tuple[str, ...]


SETUP_DAYS = ("2020-01-01", "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-03")
PARTIES = ("founder", "boss", "ann", "bob")


def setup_events(slug: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "CompanyRegistered",
            "company": slug,
            "name": "Campaign Inc",
            "effective_date": SETUP_DAYS[0],
        },
        {
            "type": "ShareClassCreated",
            "company": slug,
            "share_class": "common",
            "name": "Common",
            "kind": "common",
            "effective_date": SETUP_DAYS[1],
        },
        {
            "type": "SharesIssued",
            "company": slug,
            "holder": "founder",
            "share_class": "common",
            "shares": 1_000_000,
            "effective_date": SETUP_DAYS[2],
        },
        {
            "type": "ExecutiveAppointed",
            "company": slug,
            "person": "boss",
            "role": "ceo",
            "effective_date": SETUP_DAYS[3],
        },
        {
            "type": "DirectorAppointed",
            "company": slug,
            "person": "boss",
            "effective_date": SETUP_DAYS[4],
        },
    ]


# --- boundary values -------------------------------------------------------------------------

Probe = tuple[Any, bool]
"""A value and whether it is past a documented bound (so the file must be refused)."""

WRONG_TYPES: list[Probe] = [
    (None, False),
    (True, False),
    (False, False),
    ([], False),
    ({}, False),
    ([1], False),
    ({"a": 1}, False),
    (1.5, False),
    (Raw("NaN", ".nan"), False),
    ("", False),
]
"""Values of another type than the field's: refused or not, the oracle must hold."""


def _count_probes() -> list[Probe]:
    numbers = [0, 1, -1, MAX_SHARES, MAX_SHARES + 1, 10**18, 2**63 - 1, 2**63, 2**64, 10**30]
    probes: list[Probe] = [(n, n > MAX_SHARES) for n in numbers]
    probes += [(Raw(text, text), False) for text in ("1e400", "1E+30", "-0", "1.0", "1e3")]
    probes += [(Raw("Infinity", ".inf"), False), (Raw("-Infinity", "-.inf"), False)]
    probes += [(text, False) for text in ("1", "10", "NaN", "Infinity", "1e400", "1_000")]
    return probes


def _money_amounts() -> list[Probe]:
    exact = [
        ("0", False),
        ("1", False),
        ("-1", False),
        (str(MAX_MONEY), False),
        (str(MAX_MONEY + 1), True),
        (str(10**18), True),
        (str(2**63), True),
        (str(10**30), True),
        ("0.0000000001", False),
        ("0.00000000001", True),
        ("1e400", True),
        ("1E-400", True),
        ("-0", False),
        ("NaN", False),
        ("Infinity", False),
        ("-Infinity", False),
        ("1_000", False),
        (" 1 ", False),
        ("1e15", False),
        ("1e16", True),
    ]
    return exact


def _money_probes() -> list[Probe]:
    probes: list[Probe] = []
    for amount, past in _money_amounts():
        probes.append((f"{amount} USD", past and " " not in amount.strip()))
        probes.append(({"amount": amount, "currency": "USD"}, past))
    probes += [
        ({"amount": Raw("1e400", "1e400"), "currency": "USD"}, False),
        ({"amount": Raw("1.00000000001", "1.00000000001"), "currency": "USD"}, False),
        ({"amount": Raw("NaN", ".nan"), "currency": "USD"}, False),
        ({"amount": 10**30, "currency": "USD"}, True),
        ({"amount": True, "currency": "USD"}, False),
        ({"amount": "1", "currency": "usd"}, False),
        ({"amount": "1", "currency": "XXX"}, False),
        ({"amount": "1", "currency": "USD\x00"}, False),
        ("1 USD extra", False),
        (1000, False),
    ]
    return probes


def _percent_probes() -> list[Probe]:
    texts = [
        ("0", False),
        ("1", False),
        ("-1", False),
        ("99.9999999999", False),
        ("10.12345678901", True),
        ("100", False),
        ("1e400", False),
        ("1E-400", True),
        ("NaN", False),
        ("Infinity", False),
        ("0.0000000001", False),
        (str(10**30), False),
    ]
    return [*texts, (Raw("1e-400", "1.0e-400"), False), (Raw("50.5", "50.5"), False), (50, False)]


def _ratio_probes() -> list[Probe]:
    good = ["1:1", "2:1", "1:2", f"{MAX_RATIO_TERM}:1", f"1:{MAX_RATIO_TERM}"]
    past = [f"{MAX_RATIO_TERM + 1}:1", f"1:{MAX_RATIO_TERM + 1}", f"{10**30}:1", f"1:{2**64}"]
    odd = ["0:1", "1:0", "-1:1", "1:1:1", "1/2", "1.5:1", "２:1", " 2:1", "2:1\n", ""]
    return [(r, False) for r in good] + [(r, True) for r in past] + [(r, False) for r in odd]


def _date_probes() -> list[Probe]:
    dates = [
        ("0001-01-01", True),
        ("1799-12-31", True),
        ("1800-01-01", False),
        ("2999-12-31", False),
        ("3000-01-01", True),
        ("9999-12-31", True),
        ("2024-02-29", False),
        ("2023-02-29", False),
        ("0000-01-01", False),
        ("2024-1-1", False),
        ("20240101", False),
        ("2024-01-01T00:00:00", False),
        ("+2024-01-01", False),
        ("2024-01-01\x00", False),
    ]
    return [*dates, (20240101, False), (Raw("2024-01-01", "2024-01-01"), False)]


CONTROL_CHARACTERS = ("\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f")
"""Control characters a free text may not hold (tab and newline it may)."""
ODD_CHARACTERS = (
    "\x7f",
    "\x85",
    "\x9f",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\U0001f680",
    "é",
    "\t",
    "\n",
)
"""Characters probed without a documented rule: the oracle must hold either way."""


def _text_probes(limit: int | None) -> list[Probe]:
    probes: list[Probe] = [("", False), ("x", False), ("a" * 100_000, limit is not None)]
    if limit is not None:
        probes += [("a" * limit, False), ("a" * (limit + 1), True), ("é" * (limit + 1), True)]
    probes += [(f"a{c}b", limit is not None) for c in CONTROL_CHARACTERS]
    probes += [(f"a{c}b", False) for c in ODD_CHARACTERS]
    return probes


def _slug_probes(unique: str) -> list[Probe]:
    """Slugs built on ``unique`` (the example's company), so that a long slug that is
    accepted names a party or company no other example has."""

    def long(n: int) -> str:
        return (unique + "-" + "a" * n)[:n]

    probes: list[Probe] = [
        (long(MAX_SLUG), False),
        (long(MAX_SLUG + 1), True),
        (long(10_000), True),
    ]
    odd = [
        "",
        "A",
        "a b",
        "a--b",
        "-a",
        "a-",
        "é",
        "ünicode",
        "ａｂｃ",
        "١٢٣",
        "a\x00",
        "a\n",
        "a\ud800",
        "a_b",
        "a.b",
        "a/b",
    ]
    return probes + [(slug, False) for slug in odd]


def probes_of(kind: str, name: str, unique: str) -> list[Probe]:
    """The boundary values of a field of ``kind``, and values of the wrong type."""
    match kind:
        case "count" if name == "votes_per_share":  # not a count of shares: no bound given
            probes = [(value, False) for value, _ in _count_probes()]
        case "count":
            probes = _count_probes()
        case "money":
            probes = _money_probes()
        case "percent":
            probes = _percent_probes()
        case "ratio":
            probes = _ratio_probes()
        case "date":
            probes = _date_probes()
        case "slug":
            probes = _slug_probes(unique)
        case "text":
            probes = _text_probes(TEXT_LIMITS[name])
        case "other text":
            probes = _text_probes(None)
        case _:
            probes = []
    return probes + WRONG_TYPES


# --- well-formed events of every type ----------------------------------------------------------

days = st.sampled_from(
    [
        *("2020-01-04", "2020-06-30", "2021-01-01", "2021-12-31"),  # after the first events
        *("2019-12-31", "2020-01-01", "2020-01-02", "2020-01-03"),  # back-dated
    ]
)
"""Dates after the company's first events and back-dated ones (before or on them)."""


def targets(company: Company) -> st.SearchStrategy[dict[str, str]]:
    """How a correction names its target: a whole event id, its first 8 characters, or an
    external_id (``well_formed`` gives some events ``x0``…``x3``)."""
    ids = st.sampled_from(company.first_events)
    return st.one_of(
        ids.map(lambda target: {"target": target}),
        ids.map(lambda target: {"target": target[:8]}),
        st.sampled_from(["x0", "x1", "x2", "x3"]).map(lambda x: {"target_external_id": x}),
    )


@st.composite
def well_formed(draw: st.DrawFn, kind: str, company: Company, n: int) -> dict[str, Any]:
    """An event of ``kind`` that could be accepted for ``company`` (``n`` makes the names of
    new companies and classes unique in the example)."""
    c, when = company.slug, draw(days)
    party = st.sampled_from(PARTIES)
    usd = st.sampled_from(["1000 USD", "1 USD", "2500000.50 USD"])
    body: dict[str, Any]
    match kind:
        case "CompanyRegistered":
            body = {"company": f"{c}-n{n}", "name": "New Co", "jurisdiction": "US-DE"}
        case "ShareClassCreated":
            body = {
                "share_class": f"pref{n}",
                "name": "Preferred",
                "kind": "preferred",
                "authorized": draw(st.sampled_from([1, 1000, 10**9])),
            }
        case "SharesIssued":
            body = {"holder": draw(party), "share_class": "common", "shares": 10}
        case "InvestmentMade":
            body = {"investor": draw(party), "amount": draw(usd), "share_class": "common"}
            how = draw(st.sampled_from(["shares", "stake", "post", "pre"]))
            body |= {
                "shares": {"shares": 100},
                "stake": {"stake_percent": "10"},
                "post": {"post_money_valuation": "1000000000 USD"},
                "pre": {"pre_money_valuation": "1000000 USD"},
            }[how]
            body["amount"] = "1000 USD" if how == "post" else body["amount"]
        case "SharesTransferred":
            body = {
                "from": "founder",
                "to": draw(st.sampled_from(PARTIES[1:])),
                "share_class": "common",
                "shares": 1,
            }
        case "SharesCancelled":
            body = {"holder": "founder", "share_class": "common", "shares": 1, "reason": "r"}
        case "StockSplit":
            body = {"share_class": "common", "ratio": "2:1"}
        case "AuthorizedSharesChanged":
            body = {"share_class": "common", "authorized": 10**9}
        case "ValuationRecorded":
            body = {"valuation": draw(usd), "basis": "post-money"}
        case "ExecutiveAppointed":
            body = {"person": draw(party), "role": "cfo", "title": "Chief Financial Officer"}
        case "InterimCEOAppointed":
            body = {"person": "ann", "previous_title": "CFO"}
        case "ExecutiveDeparted":
            body = {"person": "boss", "role": "ceo", "reason": "r", "destination": "elsewhere"}
        case "DirectorAppointed":
            body = {"person": draw(party), "seat": "director", "designated_by": "fund"}
        case "DirectorDeparted":
            body = {"person": "boss", "reason": "r"}
        case "BoardSeatRetained":
            body = {"person": "boss"}
        case "BoardSizeSet":
            body = {"seats": 5}
        case "StakeholderRecorded":
            body = {"party": draw(party), "name": "Ann Example", "kind": "individual"}
        case "StockPlanCreated":
            body = {"plan": "pool", "name": "Plan", "share_class": "common", "reserved": 1000}
            body["on_cancel"] = draw(st.sampled_from(["return", "retire"]))
        case "StockPlanReserveChanged":
            body = {"plan": "pool", "reserved": draw(st.sampled_from([0, 500, 5000]))}
        case "OptionGranted":
            body = {"grant": f"g{n}", "holder": draw(party), "plan": "pool", "quantity": 10}
            body |= draw(
                st.sampled_from(
                    [
                        {"exercise_price": "0.10 USD", "expiration_date": "2030-01-01"},
                        {"kind": "rsu", "vesting": {"start": "2020-01-01", "months": 12}},
                    ]
                )
            )
        case "OptionExercised":
            body = {"grant": draw(st.sampled_from(["g0", "g1", "g2"])), "quantity": 1}
        case "OptionCancelled":
            body = {"grant": draw(st.sampled_from(["g0", "g1", "g2"])), "reason": "forfeited"}
        case "WarrantIssued":
            body = {
                "warrant": f"w{n}", "holder": draw(party), "share_class": "common",
                "quantity": 10, "exercise_price": draw(usd),
            }  # fmt: skip
        case "WarrantExercised":
            body = {"warrant": draw(st.sampled_from(["w0", "w1", "w2"])), "quantity": 1}
        case "WarrantCancelled":
            body = {"warrant": draw(st.sampled_from(["w0", "w1", "w2"])), "reason": "r"}
        case "ConvertibleIssued":
            body = {"convertible": f"s{n}", "holder": draw(party), "amount": draw(usd)}
            body |= draw(
                st.sampled_from(
                    [
                        {"kind": "safe", "valuation_cap": "1000000 USD"},
                        {"kind": "note", "discount_percent": "20", "interest_rate_percent": "5"},
                    ]
                )
            )
        case "ConvertibleConverted":
            body = {
                "convertible": draw(st.sampled_from(["s0", "s1", "s2"])),
                "share_class": "common",
            }
            body |= draw(st.sampled_from([{"shares": 10}, {"price_per_share": "1 USD"}]))
        case "ConvertibleCancelled":
            body = {"convertible": draw(st.sampled_from(["s0", "s1", "s2"])), "reason": "repaid"}
        case "SharesConverted":
            body = {
                "holder": "founder", "from_class": "common", "to_class": "common-b",
                "shares": 1, "ratio": "1:1",
            }  # fmt: skip
        case "EventRetracted":
            target = draw(targets(company))
            return {"type": kind, "company": c, **target, "reason": "wrong"}
        case "EventCorrected":
            target = draw(targets(company))
            replaced = draw(st.sampled_from(REPLACEABLE))
            replacement = draw(well_formed(replaced, company, n))
            return {
                "type": kind,
                "company": c,
                **target,
                "reason": "wrong",
                "replacement": replacement,
            }
        case _:
            raise AssertionError(f"no well-formed {kind} (a new event type?)")
    extra = draw(st.sampled_from([{}, {"source": "s", "note": "n"}, {"external_id": f"x{n}"}]))
    return {"type": kind, "company": c, "effective_date": when, **body, **extra}


CORRECTIONS = ("EventRetracted", "EventCorrected")
REPLACEABLE = [kind for kind in EVENT_TYPES if kind not in CORRECTIONS]


@st.composite
def boundary_event(draw: st.DrawFn, company: Company, n: int, past: list[str]) -> Any:
    """A well-formed event with one or two fields (its replacement's, for a correction) set to
    a boundary value; a value past a documented bound is noted in ``past``."""
    kind = draw(st.sampled_from(list(EVENT_TYPES)))
    event = draw(well_formed(kind, company, n))
    body = event["replacement"] if kind == "EventCorrected" and draw(st.booleans()) else event
    names = [name for name in event_fields(body["type"]) if name in FIELD_KINDS]
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)):
        value, over = draw(st.sampled_from(probes_of(FIELD_KINDS[name], name, company.slug)))
        body[name] = value
        if over:
            past.append(f"{body['type']}.{name} = {_short(value)}")
    return event


def _short(value: Any) -> str:
    return repr(_brief(value))


@st.composite
def rule_events(draw: st.DrawFn, company: Company, n: int) -> list[Any]:
    """Well-formed events that push the rules: counts near the bounds, splits that multiply
    the totals (several in a file), back-dated events, corrections of the first events."""
    c = company.slug
    when = draw(days)
    count = draw(st.sampled_from([1, 999_999, 1_000_000, 1_000_001, MAX_SHARES, 10**18]))
    ratio = draw(
        st.sampled_from(
            [f"{MAX_RATIO_TERM}:1", "1000:1", "1:1000", f"1:{MAX_RATIO_TERM}", "3:7", "7:3"]
        )
    )
    choice = draw(
        st.sampled_from(
            ["splits", "issue", "transfer", "cancel", "authorize", "invest", "correct", "seats"]
        )
    )
    split = {"type": "StockSplit", "company": c, "share_class": "common", "ratio": ratio}
    match choice:
        case "splits":
            dates = draw(st.lists(days, min_size=1, max_size=4))
            return [{**split, "effective_date": d} for d in dates]
        case "issue":
            return [
                {
                    "type": "SharesIssued",
                    "company": c,
                    "holder": "ann",
                    "share_class": "common",
                    "shares": count,
                    "effective_date": when,
                }
            ]
        case "transfer":
            return [
                {
                    "type": "SharesTransferred",
                    "company": c,
                    "from": "founder",
                    "to": "ann",
                    "share_class": "common",
                    "shares": count,
                    "effective_date": when,
                }
            ]
        case "cancel":
            return [
                {
                    "type": "SharesCancelled",
                    "company": c,
                    "holder": "founder",
                    "share_class": "common",
                    "shares": count,
                    "effective_date": when,
                }
            ]
        case "authorize":
            return [
                {
                    "type": "AuthorizedSharesChanged",
                    "company": c,
                    "share_class": "common",
                    "authorized": count,
                    "effective_date": when,
                }
            ]
        case "invest":
            amount = draw(st.sampled_from(["1", "1000000000000000", "0.0000000001"]))
            stake = draw(st.sampled_from(["0.0000000001", "50", "99.9999999999"]))
            return [
                {
                    "type": "InvestmentMade",
                    "company": c,
                    "investor": "vc",
                    "amount": f"{amount} USD",
                    "share_class": "common",
                    "stake_percent": stake,
                    "effective_date": when,
                }
            ]
        case "correct":
            target = draw(st.sampled_from(company.first_events))
            return [
                {
                    "type": "EventCorrected",
                    "company": c,
                    "target": target,
                    "reason": "r",
                    "replacement": {**split, "effective_date": when},
                },
                {**split, "effective_date": draw(days)},
            ]
        case _:
            return [{"type": "BoardSizeSet", "company": c, "seats": count, "effective_date": when}]


SLUG = re.compile(SLUG_PATTERN)


def anchored(event: Any, company: Company, n: int, draw: st.DrawFn) -> Any:
    """A schema-drawn event pointed at the example's company, class, parties, dates and events
    (so the rules see it); its other fields as drawn."""
    if not isinstance(event, dict):
        return event
    out = dict(event)
    out["company"] = (
        f"{company.slug}-n{n}" if out.get("type") == "CompanyRegistered" else (company.slug)
    )
    if "share_class" in out and out.get("type") != "ShareClassCreated":
        out["share_class"] = "common"
    if "target" in out:
        out["target"] = draw(st.sampled_from(company.first_events))
    if "effective_date" in out:
        out["effective_date"] = draw(days)
    for name in ("holder", "investor", "from", "to", "person"):
        if name in out:
            out[name] = draw(st.sampled_from(PARTIES))
    if isinstance(out.get("replacement"), dict):
        out["replacement"] = anchored(out["replacement"], company, n, draw)
        out["replacement"].pop("external_id", None)
    return out


_ISSUE = (
    '{"type": "SharesIssued", "company": "c", "holder": "h", "share_class": "common", '
    '"effective_date": "2020-06-30", '
)


def _in_list(fmt: str, item: str) -> bytes:
    """One item as a whole file: a list of it (YAML and JSON) or a line (JSON Lines)."""
    return (f"{item}\n" if fmt == "jsonl" else f"[{item}]\n").encode("utf-8")


def _laughs(fmt: str) -> bytes:
    """A note of anchors that expand to 9^8 items (YAML); a wide list elsewhere."""
    if fmt != "yaml":
        return _in_list(fmt, _ISSUE + '"shares": 1, "note": [' + ", ".join(["[]"] * 10_000) + "]}")
    anchors = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    anchors += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    issue = "type: SharesIssued, company: c, holder: h, share_class: common, shares: 1"
    return f"- {{{issue}, effective_date: 2020-06-30, note: {{{', '.join(anchors)}}}}}\n".encode()


WHOLE_FILES: dict[str, Callable[[str], bytes]] = {
    "empty": lambda fmt: b"",
    "blank lines": lambda fmt: b"\n \n\t\n",
    "a scalar": lambda fmt: b"42\n",
    "a mapping": lambda fmt: b'{"type": "SharesIssued"}\n',
    "nested lists 100,000 deep": lambda fmt: _in_list(fmt, "[" * 100_000 + "]" * 100_000),
    "a field nested 100,000 deep": lambda fmt: _in_list(
        fmt, _ISSUE + '"shares": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ),
    "an integer of 5,000 digits": lambda fmt: _in_list(fmt, _ISSUE + f'"shares": 1{"0" * 5000}}}'),
    "a number with an exponent of a billion": lambda fmt: _in_list(
        fmt, _ISSUE + '"shares": 1, "price_per_share": {"amount": 1e999999999, "currency": "USD"}}'
    ),
    "invalid UTF-8": lambda fmt: _in_list(fmt, '{"type": "X"}').replace(b"X", b"\xff\xfe"),
    "a surrogate encoded in UTF-8": lambda fmt: _in_list(fmt, '{"type": "X"}').replace(
        b"X", b"\xed\xa0\x80"
    ),
    "a byte-order mark": lambda fmt: b"\xef\xbb\xbf" + _in_list(fmt, '{"type": "X"}'),
    "a NUL byte": lambda fmt: _in_list(fmt, '{"type": "X"}').replace(b"X", b"\x00"),
    "UTF-16": lambda fmt: _in_list(fmt, '{"type": "X"}').decode().encode("utf-16"),
    "a billion laughs": _laughs,
    "a line of a million characters": lambda fmt: _in_list(fmt, f'{{"note": "{"a" * 10**6}"}}'),
    "a python tag": lambda fmt: b"- !!python/object/apply:os.getcwd []\n",
    "an explicit tag on a bad value": lambda fmt: b"- !!int abc\n- !!timestamp 2020-99-99\n",
}
"""Whole files that are not event files at all, in every format."""


ITEM_GARBAGE = [None, 5, "SharesIssued", [], [{}], {}, {"type": "NoSuchEvent"}, True]
"""Items that are not events at all."""


@dataclass
class Sources:
    """The strategies of one campaign: the schema's, compiled once."""

    schema: SchemaStrategies
    schema_events: st.SearchStrategy[dict[str, Any]]

    @classmethod
    def of(cls, schema: dict[str, Any]) -> Sources:
        strategies = SchemaStrategies(schema)
        events = st.one_of([strategies.event(kind) for kind in EVENT_TYPES])
        return cls(strategies, events)

    def event_file(self, company: Company) -> st.SearchStrategy[Drawn]:
        return _event_file(self, company)


@st.composite
def _event_file(draw: st.DrawFn, sources: Sources, company: Company) -> Drawn:
    if draw(_rarely) and draw(_rarely):
        return Drawn([], whole_file=draw(st.sampled_from(sorted(WHOLE_FILES))))
    drawn = Drawn([])
    for n in range(draw(st.sampled_from([1, 1, 2, 2, 3, 4]))):
        source = draw(st.sampled_from(["schema", "boundary", "rules", "rules", "other"]))
        if source == "schema":
            event = draw(sources.schema_events)
            drawn.events.append(anchored(event, company, n, draw) if draw(_mostly) else event)
        elif source == "boundary":
            drawn.events.append(draw(boundary_event(company, n, drawn.past_bounds)))
        elif source == "rules":
            drawn.events += draw(rule_events(company, n))
        elif draw(_rarely):
            drawn.events.append(draw(st.sampled_from(ITEM_GARBAGE)))
        else:
            drawn.events.append(draw(well_formed(draw(st.sampled_from(REPLACEABLE)), company, n)))
    return drawn


_mostly = st.sampled_from([True, True, True, False])
_rarely = st.sampled_from([True, False, False, False])
