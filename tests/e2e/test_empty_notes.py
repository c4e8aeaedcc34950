"""Why an answer is empty, said as it is: the date is before the registration, the position
asked is before the company was first recorded, or every event of it is retracted."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from .conftest import ACME, ACME_EVENTS, Cli, at_once

GLOBEX = (
    "- {type: CompanyRegistered, company: globex, name: Globex Corporation, "
    "effective_date: 2019-01-01, external_id: globex-1}\n"
)
UNDO = "- {type: EventRetracted, company: globex, target_external_id: globex-1, reason: typo}\n"


def test_an_empty_answer_says_whether_the_company_was_unknown_then_or_retracted(
    engine_cli: Cli,
) -> None:
    cli = engine_cli
    for name, text in (("acme", None), ("globex.yaml", GLOBEX), ("undo.yaml", UNDO)):
        path = str(ACME) if text is None else cli.write(name, text)
        assert cli("record", path).code == 0
    before, registered, retracted, board = at_once(
        [
            partial(cli, "cap-table", "globex", "--known-at", str(ACME_EVENTS)),
            partial(cli, "cap-table", "acme-rockets", "--as-of", "2019-06-01"),
            partial(cli, "cap-table", "globex"),
            partial(cli, "board", "globex", "--known-at", str(ACME_EVENTS)),
        ]
    )
    assert before.lines == [
        "globex: cap table",
        f"as of {datetime.now(UTC).date()}, known at position {ACME_EVENTS}",
        "nothing known of globex at position 11; it was first recorded at position 12: no "
        "shares outstanding.",
    ]
    assert board.lines[-1] == (
        "nothing known of globex at position 11; it was first recorded at position 12: no "
        "directors."
    )
    assert registered.lines[-1] == (
        "acme-rockets was not registered yet on 2019-06-01 (registered 2020-01-01): no shares "
        "outstanding."
    )
    assert retracted.lines[-1] == (
        f"every event of globex as known at position {ACME_EVENTS + 2} is retracted: no shares "
        "outstanding."
    )
