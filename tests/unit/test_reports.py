"""Each report's CSV rows carry exactly its declared columns, in order (the CSV contract);
its JSON text is the standard library's indented dump of its JSON values, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from ledger.reports import (
    Board,
    CapTable,
    CompanyHistory,
    DirectorOut,
    GrantOut,
    Grants,
    HistoryEvent,
    Holder,
    Holdings,
    MoneyOut,
    OfficerOut,
    PartyHistory,
    Position,
    Report,
    Roster,
    VestingOut,
)

DAY = date(2024, 1, 1)
EVENT = HistoryEvent(
    event_id="e1", position=1, company="acme", type="CompanyRegistered", effective_date=DAY,
    recorded_at=datetime(2024, 1, 2, tzinfo=UTC), recorded_by="ana", source=None,
    retracted_by=None, corrected_by=None, data={"name": "Acme"},
)  # fmt: skip
REPORTS: list[Report] = [
    CapTable(
        company="acme", as_of=DAY, known_at=3, total_shares=10, valuation=None,
        holders=[Holder(party="ana", shares=10, ownership_percent="100.0000",
                        voting_percent="100.0000", classes={"common": 6, "pref": 4},
                        ownership_percent_by_class={"common": "60.0000", "pref": "40.0000"},
                        voting_percent_by_class={"common": "100.0000", "pref": "0.0000"},
                        name="Ana", options=2, warrants=0, fully_diluted_shares=12,
                        fully_diluted_percent="85.7143"),
                 Holder(party="bo", shares=0, ownership_percent="0.0000",
                        voting_percent="0.0000", classes={}, ownership_percent_by_class={},
                        voting_percent_by_class={}, name=None, options=2, warrants=0,
                        fully_diluted_shares=2, fully_diluted_percent="14.2857")],
        fully_diluted_total=14, pools=[], warrants=[], convertibles=[],
    ),
    Roster(company="acme", as_of=DAY, known_at=3, officers=[
        OfficerOut(person="ana", name="Ana", role="ceo", title=None, interim=False, since=DAY)]),
    Board(company="acme", as_of=DAY, known_at=3, directors=[
        DirectorOut(person="ana", name=None, seat="chair", since=DAY, designated_by=None,
                    executive=True)]),
    Holdings(party="ana", as_of=DAY, known_at=3, positions=[
        Position(company="acme", shares=10, ownership_percent="100.0000",
                 voting_percent=None, classes={"common": 10},
                 ownership_percent_by_class={"common": "100.0000"},
                 voting_percent_by_class={"common": None}, name="Ana", options=0,
                 warrants=0, fully_diluted_shares=10, fully_diluted_percent="71.4286",
                 grant_ids=[], warrant_ids=[], convertibles=[])]),
    Grants(company="acme", as_of=DAY, known_at=3, grants=[
        GrantOut(grant="g1", holder="bo", name=None, plan="pool", kind="option",
                 share_class="common", quantity=4, exercise_price=MoneyOut(amount="0.1",
                 currency="USD"), vesting=VestingOut(start=DAY, months=4, cliff_months=1,
                 every_months=1), expiration_date=None, granted=DAY, vested=2, exercised=0,
                 cancelled=0, outstanding=4, exercisable=2)]),
    CompanyHistory(company="acme", known_at=3, events=[EVENT]),
    PartyHistory(party="ana", known_at=3, events=[EVENT]),
]  # fmt: skip


def test_every_csv_row_has_exactly_the_declared_columns_in_order() -> None:
    for report in REPORTS:
        rows = report.csv_rows()
        assert rows, type(report).__name__
        assert {tuple(row) for row in rows} == {report.csv_columns}, type(report).__name__


def test_a_cap_table_has_one_csv_row_per_party_and_share_class() -> None:
    rows = REPORTS[0].csv_rows()
    assert [(r["party"], r["share_class"], r["shares"], r["party_shares"]) for r in rows] == [
        ("ana", "common", 6, 10),
        ("ana", "pref", 4, 10),
        ("bo", None, 0, 0),  # a holder of options only: one row, no class
    ]
    # The holder's fully diluted figures repeat on each of its rows.
    assert [(r["options"], r["fully_diluted_shares"], r["name"]) for r in rows] == [
        (2, 12, "Ana"), (2, 12, "Ana"), (2, 2, None),
    ]  # fmt: skip


@given(
    name=st.text(st.characters(exclude_categories=()), max_size=20),  # surrogates too
    data=st.dictionaries(
        st.text(max_size=5),
        st.none() | st.booleans() | st.integers(-(10**18), 10**18) | st.text(max_size=8),
        max_size=4,
    ),
)
def test_the_json_text_is_the_standard_librarys_indented_dump(
    name: str, data: dict[str, object]
) -> None:
    """Non-ASCII, control characters, DEL and lone surrogates included."""
    event = EVENT.model_copy(update={"data": {"name": name, **data}, "recorded_by": name})
    for report in [*REPORTS, CompanyHistory(company=name, known_at=3, events=[event])]:
        assert report.json_text() == json.dumps(report.model_dump(mode="json"), indent=2)
