"""The event store under the ledger, on every backend: eventsourcing's own repository and
notification log read what the ledger wrote, and a reopened ledger gives the same answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import Ledger
from ledger.domain.company import Company
from tests import builders as b

D = date.fromisoformat

EVENTS = [
    *b.founded("acme", "2020-01-01", {"ana": 1_000}),
    b.registered("globex", "2020-01-01"),
    b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
    b.invested("acme", "vc", "common", 500, "2020-06-01", post_money=2_000),
    b.director_appointed("globex", "ben", "2020-02-01"),
]


def test_the_repository_rebuilds_a_company_with_its_facts_in_version_order(
    ledger: Ledger,
) -> None:
    result = ledger.record(EVENTS)
    ledger.record([b.transferred("acme", "ana", "ben", "common", 100, "2020-03-01")])
    company: Company = ledger.repository.get("acme")
    assert company.id == "acme"
    assert company.version == 6
    assert [(e.originator_version, e.fact.type) for e in company.events] == [
        (1, "CompanyRegistered"),
        (2, "ShareClassCreated"),
        (3, "SharesIssued"),
        (4, "ExecutiveAppointed"),
        (5, "InvestmentMade"),
        (6, "SharesTransferred"),
    ]
    acme_ids = [r.event_id for r in result.recorded if r.company == "acme"]
    assert [e.event_id for e in company.events][:5] == acme_ids
    # 1,000 outstanding; 500 buys a = 1/4 of the 2,000 post-money: 1,000 × ¼ / ¾ = 333.3 → 333.
    assert company.events[4].fact.model_dump()["derived_shares"] == 333
    assert ledger.repository.get("acme", version=2).version == 2


def test_the_notification_log_shows_the_facts_in_position_order(ledger: Ledger) -> None:
    result = ledger.record(EVENTS)
    expected = [
        (r.position, r.company, r.type)
        for r in sorted(result.recorded, key=lambda r: r.position or 0)
    ]
    notifications = ledger.notification_log.select(start=1, limit=10)
    assert [(n.id, n.originator_id, n.topic) for n in notifications] == expected
    assert [(n.originator_id, n.originator_version) for n in notifications] == [
        ("acme", 1),
        ("acme", 2),
        ("acme", 3),
        ("globex", 1),
        ("acme", 4),
        ("acme", 5),
        ("globex", 2),
    ]
    from_recorder = ledger.recorder.select_notifications(1, 10)
    assert [(n.id, n.originator_id, n.topic, n.state) for n in from_recorder] == [
        (n.id, n.originator_id, n.topic, n.state) for n in notifications
    ]
    assert [n.id for n in ledger.recorder.select_notifications(5, 2)] == [5, 6]


def answers(ledger: Ledger) -> dict[str, Any]:
    return {
        "position": ledger.known_position(),
        "acme": ledger.cap_table("acme", as_of=D("2020-12-31")).model_dump(mode="json"),
        "acme then": ledger.cap_table("acme", as_of=D("2020-12-31"), known_at=3).model_dump(
            mode="json"
        ),
        "roster": ledger.roster("acme", as_of=D("2020-12-31")).model_dump(mode="json"),
        "board": ledger.board("globex", as_of=D("2020-12-31")).model_dump(mode="json"),
        "holdings": ledger.holdings("ana", as_of=D("2020-12-31")).model_dump(mode="json"),
        "history": ledger.history("acme").model_dump(mode="json"),
        "party": ledger.party_history("ben").model_dump(mode="json"),
    }


def test_a_reopened_ledger_gives_the_same_answers(durable_url: str) -> None:
    with Ledger.open(durable_url) as ledger:
        ledger.record(EVENTS, actor="clerk")
        ledger.record([b.transferred("acme", "ana", "ben", "common", 100, "2020-03-01")])
        before = answers(ledger)
    with Ledger.open(durable_url) as reopened:
        assert answers(reopened) == before
        # …and it goes on recording after the last position.
        result = reopened.record([b.issued("acme", "carl", "common", 1, "2021-01-01")])
        assert result.recorded[0].position == before["position"] + 1
    assert before["acme"]["total_shares"] == 1_333
    assert before["history"]["events"][0]["recorded_by"] == "clerk"
