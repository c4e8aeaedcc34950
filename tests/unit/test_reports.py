"""Each report's CSV rows carry exactly its declared columns, in order (the CSV contract)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ledger.reports import (
    Board,
    CapTable,
    CompanyHistory,
    DirectorOut,
    HistoryEvent,
    Holder,
    Holdings,
    OfficerOut,
    PartyHistory,
    Position,
    Report,
    Roster,
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
                        voting_percent_by_class={"common": "100.0000", "pref": "0.0000"})],
    ),
    Roster(company="acme", as_of=DAY, known_at=3, officers=[
        OfficerOut(person="ana", role="ceo", title=None, interim=False, since=DAY)]),
    Board(company="acme", as_of=DAY, known_at=3, directors=[
        DirectorOut(person="ana", seat="chair", since=DAY, designated_by=None, executive=True)]),
    Holdings(party="ana", as_of=DAY, known_at=3, positions=[
        Position(company="acme", shares=10, ownership_percent="100.0000",
                 voting_percent=None, classes={"common": 10},
                 ownership_percent_by_class={"common": "100.0000"},
                 voting_percent_by_class={"common": None})]),
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
    ]
