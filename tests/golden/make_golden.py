"""How the golden stored events were made; tests only read the files it wrote, never run it.

    .venv/bin/python -m tests.golden.make_golden NAME [POSTGRESQL_SERVER_URL]

records ``SCENARIO`` (every event type of the catalogue, each optional field somewhere)
through ``Ledger.record`` into a new SQLite file and a new PostgreSQL database, then writes,
beside this file, ``sqlite-NAME.jsonl`` and ``postgresql-NAME.jsonl`` (every column of every
row of ``stored_events`` as stored, one JSON object a line: the state as its text, the chain
in hex) and ``answers-NAME.json`` (the answers to ``questions.questions``, known at the end of
each batch, folded from the events: ``both`` engines', then those naming event ids or times,
by engine). A set, once written, is frozen: every later corpledger must read its rows back
to the same answers.

``v1`` was made by the corpledger whose stored events carried no schema version: this
directory copied into a ``git archive`` of that commit, and run from there (so that its
``ledger`` is imported). ``v1-versioned`` by the first whose events carry one. ``v2`` adds
the second catalogue (equity instruments: ``INSTRUMENTS``) and the questions about them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from ledger import Ledger
from tests.golden.questions import ask, questions

HERE = Path(__file__).parent
C, G = "acme", "globex"
USD = "USD"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": USD}


FOUNDING = [
    {
        "type": "CompanyRegistered",
        "company": C,
        "name": "Acme Fusées S.A. — 火箭 ✓",
        "jurisdiction": "DE",
        "identifiers": {"ein": "12-3456789"},
        "effective_date": "2020-01-01",
        "source": "certificate of incorporation",
        "note": "Gründung, à Zürich",
    },
    {
        "type": "ShareClassCreated",
        "company": C,
        "share_class": "common",
        "name": "Common Stock",
        "kind": "common",
        "authorized": 20_000_000,
        "effective_date": "2020-01-01",
    },
    {
        "type": "ShareClassCreated",
        "company": C,
        "share_class": "series-a",
        "name": "Série A Preferred",
        "kind": "preferred",
        "authorized": 10_000_000,
        "votes_per_share": 2,
        "effective_date": "2020-01-01",
    },
    {
        "type": "SharesIssued",
        "company": C,
        "holder": "ana",
        "share_class": "common",
        "shares": 8_000_000,
        "price_per_share": money("0.0001"),
        "effective_date": "2020-01-01",
        "external_id": "issue-ana",
    },
    {
        "type": "SharesIssued",
        "company": C,
        "holder": "ben",
        "share_class": "common",
        "shares": 2_000_000,
        "effective_date": "2020-01-01",
        "external_id": "issue-ben",
    },
    {"type": "BoardSizeSet", "company": C, "seats": 5, "effective_date": "2020-01-01"},
    {
        "type": "ExecutiveAppointed",
        "company": C,
        "person": "ana",
        "role": "ceo",
        "title": "Chief Executive Officer",
        "effective_date": "2020-01-01",
    },
    {
        "type": "ExecutiveAppointed",
        "company": C,
        "person": "ben",
        "role": "other",
        "title": "Chief Scientist",
        "interim": True,
        "effective_date": "2020-02-01",
    },
    {
        "type": "DirectorAppointed",
        "company": C,
        "person": "ana",
        "seat": "chair",
        "effective_date": "2020-01-01",
    },
    {"type": "CompanyRegistered", "company": G, "name": "Globex", "effective_date": "2019-06-01"},
    {
        "type": "ShareClassCreated",
        "company": G,
        "share_class": "common",
        "name": "Common",
        "kind": "common",
        "effective_date": "2019-06-01",
    },
    {
        "type": "SharesIssued",
        "company": G,
        "holder": "ana",
        "share_class": "common",
        "shares": 1_000,
        "effective_date": "2019-06-01",
    },
]
ROUNDS = [
    {
        "type": "InvestmentMade",
        "company": C,
        "investor": "seed-fund",
        "round": "Seed",
        "amount": money("1000000"),
        "share_class": "series-a",
        "shares": 1_000_000,
        "effective_date": "2020-03-01",
        "source": "seed closing memo",
    },
    {
        "type": "DirectorAppointed",
        "company": C,
        "person": "dana",
        "seat": "director",
        "designated_by": "seed-fund",
        "effective_date": "2020-03-01",
    },
    {
        "type": "InvestmentMade",
        "company": C,
        "investor": "angel",
        "amount": money("500000"),
        "share_class": "series-a",
        "stake_percent": "5",
        "effective_date": "2020-04-01",
    },
    {
        "type": "InvestmentMade",
        "company": C,
        "investor": "vc-one",
        "round": "A",
        "amount": money("2000000.50"),
        "share_class": "series-a",
        "post_money_valuation": money("20000000"),
        "effective_date": "2020-06-01",
    },
    {
        "type": "InvestmentMade",
        "company": C,
        "investor": "vc-two",
        "round": "A",
        "amount": money("1000000"),
        "share_class": "series-a",
        "pre_money_valuation": money("30000000"),
        "effective_date": "2020-07-01",
        "external_id": "vc-two-a",
    },
    {
        "type": "SharesTransferred",
        "company": C,
        "from": "ben",
        "to": "carol",
        "share_class": "common",
        "shares": 100_000,
        "price_per_share": money("1.5"),
        "effective_date": "2020-08-01",
    },
    {
        "type": "SharesCancelled",
        "company": C,
        "holder": "carol",
        "share_class": "common",
        "shares": 10_000,
        "reason": "repurchase",
        "effective_date": "2020-09-01",
        "external_id": "cancel-carol",
    },
    {
        "type": "AuthorizedSharesChanged",
        "company": C,
        "share_class": "common",
        "authorized": 60_000_000,
        "effective_date": "2020-12-01",
    },
    {
        "type": "StockSplit",
        "company": C,
        "share_class": "common",
        "ratio": "2:1",
        "effective_date": "2021-01-01",
    },
    {
        "type": "ValuationRecorded",
        "company": C,
        "valuation": money("50000000"),
        "basis": "409a",
        "effective_date": "2021-02-01",
    },
]
SUCCESSION = [
    {
        "type": "ExecutiveDeparted",
        "company": C,
        "person": "ana",
        "role": "ceo",
        "title": "Chief Executive Officer",
        "reason": "stepped down",
        "destination": G,
        "effective_date": "2021-05-01",
    },
    {"type": "BoardSeatRetained", "company": C, "person": "ana", "effective_date": "2021-05-01"},
    {
        "type": "InterimCEOAppointed",
        "company": C,
        "person": "ben",
        "previous_title": "Chief Scientist",
        "effective_date": "2021-05-01",
    },
    {
        "type": "ExecutiveAppointed",
        "company": G,
        "person": "ana",
        "role": "cto",
        "effective_date": "2021-05-01",
    },
    {
        "type": "DirectorDeparted",
        "company": C,
        "person": "dana",
        "reason": "term ended",
        "effective_date": "2021-06-01",
    },
]
CORRECTIONS = [
    {"type": "EventRetracted", "company": C, "target_external_id": "cancel-carol",
     "reason": "entered in error — no repurchase", "external_id": "undo-cancel"},
    {"type": "EventCorrected", "company": C, "target_external_id": "issue-ben",
     "reason": "the certificate says 2,500,000",
     "replacement": {"type": "SharesIssued", "company": C, "holder": "ben",
                     "share_class": "common", "shares": 2_500_000,
                     "effective_date": "2020-01-01", "note": "per certificate CS-2"}},
]  # fmt: skip
INSTRUMENTS = [
    {"type": "StakeholderRecorded", "company": C, "party": "ana", "name": "Ana Ruiz — アナ",
     "kind": "individual", "effective_date": "2020-01-01"},
    {"type": "StockPlanCreated", "company": C, "plan": "plan-2020", "name": "2020 Stock Plan",
     "share_class": "common", "reserved": 1_000_000, "on_cancel": "retire",
     "effective_date": "2020-02-01"},
    {"type": "OptionGranted", "company": C, "grant": "g-ben", "holder": "ben",
     "plan": "plan-2020", "quantity": 200_000, "exercise_price": money("0.10"),
     "expiration_date": "2029-12-31", "effective_date": "2020-02-01",
     "vesting": {"start": "2020-02-01", "months": 48, "cliff_months": 12}},
    {"type": "OptionGranted", "company": C, "grant": "g-carol", "holder": "carol",
     "plan": "plan-2020", "quantity": 50_000, "kind": "rsu", "effective_date": "2020-03-01"},
    {"type": "OptionExercised", "company": C, "grant": "g-carol", "quantity": 50_000,
     "effective_date": "2020-06-01"},
    {"type": "WarrantIssued", "company": C, "warrant": "w-bank", "holder": "bank",
     "share_class": "common", "quantity": 40_000, "exercise_price": money("0.50"),
     "expiration_date": "2030-06-30", "effective_date": "2020-04-01"},
    {"type": "ConvertibleIssued", "company": C, "convertible": "safe-1", "holder": "angel",
     "kind": "safe", "amount": money("250000"), "valuation_cap": money("5000000"),
     "discount_percent": "20", "effective_date": "2020-05-01"},
    {"type": "ConvertibleIssued", "company": C, "convertible": "note-1", "holder": "bank",
     "kind": "note", "amount": money("100000"), "valuation_cap": money("8000000"),
     "interest_rate_percent": "6", "maturity_date": "2022-05-01",
     "effective_date": "2020-05-01"},
    {"type": "OptionCancelled", "company": C, "grant": "g-ben", "quantity": 20_000,
     "reason": "forfeited", "effective_date": "2021-03-01"},
    {"type": "StockPlanReserveChanged", "company": C, "plan": "plan-2020",
     "reserved": 3_000_000, "effective_date": "2021-03-15"},
    {"type": "WarrantExercised", "company": C, "warrant": "w-bank", "quantity": 10_000,
     "effective_date": "2021-04-01"},
    {"type": "ConvertibleConverted", "company": C, "convertible": "safe-1",
     "share_class": "common", "price_per_share": money("1.00"),
     "effective_date": "2021-06-15"},
    {"type": "ConvertibleCancelled", "company": C, "convertible": "note-1", "reason": "repaid",
     "effective_date": "2021-06-20"},
    {"type": "WarrantCancelled", "company": C, "warrant": "w-bank", "reason": "waived",
     "effective_date": "2021-06-25"},
    {"type": "SharesConverted", "company": C, "holder": "carol", "from_class": "common",
     "to_class": "series-a", "shares": 10_000, "ratio": "1:1", "effective_date": "2021-06-30"},
]  # fmt: skip
"""The second catalogue's events (sets from ``v2`` on)."""
SCENARIO = [FOUNDING, ROUNDS, SUCCESSION, CORRECTIONS]
"""The batches recorded, in order (``v1`` sets)."""
SCENARIOS = {"v1": SCENARIO, "v2": [*SCENARIO, INSTRUMENTS]}
"""The batches of each catalogue's sets, by the set name's first part."""


def record(url: str, name: str) -> tuple[list[int], dict[str, Any]]:
    """Record the scenario of set ``name`` at ``url``; the position after each batch, and the
    answers."""
    with Ledger.open(url) as ledger:
        positions = []
        for batch in SCENARIOS[name.split("-")[0]]:
            ledger.record(batch, actor="golden-maker")
            positions.append(ledger.known_position())
        return positions, {q: ask(ledger, q) for q in questions(positions)}


def dump_rows(url: str) -> list[dict[str, Any]]:
    """Every row of ``stored_events`` as stored, in position order."""
    engine = sa.create_engine(url)
    position = "rowid" if engine.dialect.name == "sqlite" else "notification_id"
    with engine.connect() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("stored_events")]
        rows = conn.execute(
            sa.text(f"SELECT {position} AS position, * FROM stored_events ORDER BY {position}")
        ).mappings()
        dumped = [
            {name: _json_value(name, row[name]) for name in ["position", *columns]} for row in rows
        ]
    engine.dispose()
    return dumped


def _json_value(column: str, value: Any) -> Any:
    """A column's value as JSON: the state (UTF-8 JSON) as its text, other bytes (the chain)
    in hex, a time in ISO 8601: each turns back into exactly the value stored."""
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode() if column == "state" else bytes(value).hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def main(name: str, server: str = "postgresql://postgres@127.0.0.1:5432") -> None:
    database = f"corpledger_golden_{name.replace('-', '_')}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    found: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = {
                "sqlite": f"sqlite:///{tmp}/golden.db",
                "postgresql": f"{server}/{database}",
            }
            for engine, url in urls.items():
                positions, found[engine] = record(url, name)
                rows = dump_rows(url.replace("postgresql://", "postgresql+psycopg://"))
                with (HERE / f"{engine}-{name}.jsonl").open("w", encoding="utf-8") as out:
                    out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    # The answers naming event ids or times differ by engine; the others are the same.
    same = {k: v for k, v in found["sqlite"].items() if found["postgresql"][k] == v}
    frozen = {
        "positions": positions,
        "both": same,
        **{engine: {k: v for k, v in a.items() if k not in same} for engine, a in found.items()},
    }
    (HERE / f"answers-{name}.json").write_text(
        json.dumps(frozen, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
