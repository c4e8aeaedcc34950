"""Golden stored events (``tests/golden``, see its ``make_golden.py``): every event type, as
earlier versions of corpledger stored them, inserted row for row into a new database of each
engine, must give the answers frozen with them forever, verify, project and take new events."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.integrity import CHECKS, run_checks, verify_chain
from ledger.persistence.chain import chain_link
from ledger.persistence.log import UnreadableEventError
from ledger.ports import check_read_models
from tests import builders as b
from tests.answers import AtLeast
from tests.golden.questions import ask

GOLDEN = Path(__file__).parents[1] / "golden"
SETS = ["v1", "v1-versioned", "v2"]
"""Each set of golden rows: ``v1`` stored before events carried a schema version,
``v1-versioned`` with it."""

ENGINE_FILES = {"sqlite": "sqlite", "postgres": "postgresql"}
"""The golden files of each engine (``StoreConfig.kind``)."""


def golden_rows(name: str, engine: str) -> list[dict[str, Any]]:
    lines = (GOLDEN / f"{engine}-{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def frozen_answers(name: str, engine: str) -> dict[str, Any]:
    frozen = json.loads((GOLDEN / f"answers-{name}.json").read_text(encoding="utf-8"))
    return {**frozen["both"], **frozen[engine]}


def insert_as_stored(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    """``rows`` into the ledger's empty event table exactly as they were stored, positions
    included (a row of either engine goes into either)."""
    sqlite = ledger.config.kind == "sqlite"
    columns = [c for c in rows[0] if c not in ("position", "notification_id")]
    position = "rowid" if sqlite else "notification_id"
    names = ", ".join([position, *columns])
    values = ", ".join(f":{c}" for c in ["position", *columns])

    def stored(row: dict[str, Any]) -> dict[str, Any]:
        values = {c: row[c] for c in ["position", *columns]}
        values["state"] = row["state"].encode()
        values["chain"] = bytes.fromhex(row["chain"])
        if not sqlite:  # a time; SQLite keeps the text as written
            values["recorded_at"] = datetime.fromisoformat(row["recorded_at"])
        return values

    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO stored_events ({names}) VALUES ({values})"),
            [stored(row) for row in rows],
        )
        if not sqlite:  # the next event goes after them
            conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('stored_events', 'notification_id'), :n)"
                ),
                {"n": rows[-1]["position"]},
            )


def assert_answers(ledger: Ledger, frozen: dict[str, Any]) -> None:
    """Every frozen answer, folded from the events and (where they answer) from the read
    models."""
    for question, answer in frozen.items():
        # Answers only grow: every key frozen keeps its value; keys added since are allowed.
        assert ask(ledger, question) == AtLeast(answer), question
        assert ask(ledger, question, fold=False) == AtLeast(answer), question


def assert_verified(ledger: Ledger, events: int, head: str) -> None:
    """``verify`` is green: the chain over ``events`` events ends at ``head`` (hex), and the
    read models equal the fold."""
    chain, models = run_checks(ledger, [*CHECKS, check_read_models])
    assert chain == f"{events} events, chain intact, head {head}"
    assert models.startswith("read models match the fold: 2 companies")


@pytest.mark.parametrize("name", SETS)
def test_golden_rows_give_their_frozen_answers_verify_project_and_take_new_events(
    durable_url: str, name: str
) -> None:
    with Ledger.open(durable_url) as ledger:
        engine = ENGINE_FILES[ledger.config.kind]
        rows, frozen = golden_rows(name, engine), frozen_answers(name, engine)
        insert_as_stored(ledger, rows)
        assert_answers(ledger, frozen)
        assert_verified(ledger, len(rows), rows[-1]["chain"])
        assert ledger.read_models is not None
        ledger.read_models.rebuild()
        assert_answers(ledger, frozen)
        result = ledger.record([b.issued("acme", "zed", "common", 7, "2021-08-01")])
        assert [e.position for e in result.recorded] == [len(rows) + 1]
        table = ledger.cap_table("acme", date(2021, 8, 1))
        assert [(h.party, h.shares) for h in table.holders if h.party == "zed"] == [("zed", 7)]
        # What was known before it is as it was.
        assert_answers(ledger, frozen)
        assert_verified(ledger, len(rows) + 1, verify_chain(ledger).head.hex())


@pytest.mark.postgres
@pytest.mark.parametrize("name", SETS)
def test_sqlite_golden_rows_give_the_same_answers_on_postgresql(pg_url: str, name: str) -> None:
    with Ledger.open(pg_url) as ledger:
        rows = golden_rows(name, "sqlite")
        insert_as_stored(ledger, rows)
        assert_answers(ledger, frozen_answers(name, "sqlite"))
        assert_verified(ledger, len(rows), rows[-1]["chain"])


def test_an_event_of_a_version_newer_than_this_code_is_refused_naming_it(
    durable_url: str,
) -> None:
    with Ledger.open(durable_url) as ledger:
        engine = ENGINE_FILES[ledger.config.kind]
        rows = golden_rows("v1", engine)
        insert_as_stored(ledger, rows)
        state = (
            b'{"event_id":"00000000-0000-4000-8000-000000000002","recorded_by":"future",'
            b'"version":2,"fact":{"type":"BoardSizeSet","company":"globex",'
            b'"effective_date":"2021-09-01","seats":3}}'
        )
        version = max(r["originator_version"] for r in rows if r["originator_id"] == "globex")
        chain = chain_link(
            bytes.fromhex(rows[-1]["chain"]), "globex", version + 1, "BoardSizeSet", state
        )
        newer = {"position": len(rows) + 1, "originator_id": "globex",
                 "originator_version": version + 1, "topic": "BoardSizeSet",
                 "state": state.decode(), "recorded_at": rows[-1]["recorded_at"],
                 "chain": chain.hex()}  # fmt: skip
        insert_as_stored(ledger, [newer])
        with pytest.raises(UnreadableEventError) as unread:
            ledger.cap_table("globex", fold=True)
        assert str(unread.value) == (
            f"cannot read the stored event at position {len(rows) + 1} (company globex): its "
            "type 'BoardSizeSet' is stored at version 2, newer than this version of "
            "corpledger reads (1): upgrade corpledger to read it"
        )
        # Another company's events still read.
        question = f"cap_table acme as_of=2021-07-01 known_at={len(rows)}"
        assert ask(ledger, question) == AtLeast(frozen_answers("v1", engine)[question])
