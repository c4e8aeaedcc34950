"""Invariants 1–5 checked over a company's whole effective-dated timeline by
``Timeline.admit``: each rule accepted and refused, with the message users see; back-dated
events that break a later one; events of one date in recording order."""

from __future__ import annotations

from datetime import date

from ledger.domain.errors import RuleViolation
from ledger.domain.rules import replay
from ledger.domain.state import Officer
from ledger.domain.timeline import Timeline

from .timelines import admit, build, entries, fact, refused, registered

RULE_1 = "rule 1 (the company exists from its registration)"
RULE_2 = "rule 2 (shares need their class, within its authorized shares)"
RULE_3 = "rule 3 (no holding is ever negative)"
RULE_4 = (
    "rule 4 (officers: one CEO at a time, no office held twice, no departure from an office "
    "not held)"
)
RULE_5 = (
    "rule 5 (the board: directors within the board size, retained seats need a sitting director)"
)


def issued(holder: str, shares: int, on: str = "2020-01-01", share_class: str = "common") -> object:
    return fact("SharesIssued", on, holder=holder, share_class=share_class, shares=shares)


def transfer(from_: str, to: str, shares: int, on: str) -> object:
    return fact(
        "SharesTransferred", on, to=to, share_class="common", shares=shares, **{"from": from_}
    )


def ceo(person: str, on: str) -> object:
    return fact("ExecutiveAppointed", on, person=person, role="ceo")


def director(person: str, on: str, seat: str = "director") -> object:
    return fact("DirectorAppointed", on, person=person, seat=seat)


def violation(error: RuleViolation) -> tuple[int, str]:
    return error.rule, str(error)


# --- rule 1: the company exists from its registration ---


def test_events_on_the_registration_date_are_accepted() -> None:
    timeline = registered(issued("ana", 100))
    assert (timeline.registered, timeline.end.holdings) == (
        date(2020, 1, 1),
        {"ana": {"common": 100}},
    )


def test_an_event_before_the_registration_is_rejected_naming_the_registration_date() -> None:
    error = refused(registered(), issued("ana", 100, on="2019-12-31"))
    assert violation(error) == (
        1,
        f"acme.yaml item 3 (SharesIssued, 2019-12-31): {RULE_1}: effective before acme's "
        "registration on 2020-01-01",
    )


def test_an_event_before_a_registration_in_the_same_batch_is_rejected() -> None:
    error = refused(
        Timeline("acme"),
        fact("CompanyRegistered", "2020-01-01", name="Acme, Inc."),
        fact("BoardSizeSet", "2019-06-01", seats=3),
    )
    assert violation(error) == (
        1,
        f"acme.yaml item 2 (BoardSizeSet, 2019-06-01): {RULE_1}: effective before acme's "
        "registration on 2020-01-01",
    )


def test_an_event_of_a_company_never_registered_is_rejected() -> None:
    error = refused(Timeline("acme"), fact("BoardSizeSet", "2020-01-01", seats=3))
    assert violation(error) == (
        1,
        f"acme.yaml item 1 (BoardSizeSet, 2020-01-01): {RULE_1}: acme is not registered at "
        "this date",
    )


def test_a_second_registration_is_rejected() -> None:
    error = refused(registered(), fact("CompanyRegistered", "2021-01-01", name="Acme 2"))
    assert violation(error) == (
        1,
        f"acme.yaml item 3 (CompanyRegistered, 2021-01-01): {RULE_1}: acme is already "
        "registered (on 2020-01-01)",
    )


def test_an_investment_by_stake_before_the_registration_is_a_rule_1_violation() -> None:
    investment = fact(
        "InvestmentMade",
        "2019-06-01",
        investor="fund",
        amount="1000 USD",
        share_class="common",
        stake_percent="20",
    )
    error = refused(registered(issued("ana", 100)), investment)
    assert violation(error) == (
        1,
        f"acme.yaml item 4 (InvestmentMade, 2019-06-01): {RULE_1}: effective before acme's "
        "registration on 2020-01-01",
    )


# --- rule 2: shares need their class, within its authorized shares ---


def test_shares_of_a_class_that_does_not_exist_are_rejected() -> None:
    error = refused(registered(), issued("ana", 100, share_class="series-a"))
    assert violation(error) == (
        2,
        f"acme.yaml item 3 (SharesIssued, 2020-01-01): {RULE_2}: share class 'series-a' does "
        "not exist at this date",
    )


def test_shares_issued_before_their_class_is_created_are_rejected() -> None:
    preferred = fact(
        "ShareClassCreated", "2021-01-01", share_class="series-a", name="Series A", kind="preferred"
    )
    error = refused(registered(preferred), issued("fund", 5, "2020-06-01", "series-a"))
    assert violation(error) == (
        2,
        f"acme.yaml item 4 (SharesIssued, 2020-06-01): {RULE_2}: share class 'series-a' does "
        "not exist at this date",
    )


def test_issuing_up_to_the_authorized_shares_is_accepted() -> None:
    timeline = registered(issued("ana", 600_000), issued("ben", 400_000))
    assert timeline.end.classes["common"].issued == 1_000_000


def test_issuing_past_the_authorized_shares_is_rejected_with_the_numbers() -> None:
    error = refused(registered(issued("ana", 600_000)), issued("ben", 400_001, "2020-02-01"))
    assert violation(error) == (
        2,
        f"acme.yaml item 4 (SharesIssued, 2020-02-01): {RULE_2}: issuing 400,001 common would "
        "make 1,000,001 issued, over the 1,000,000 authorized",
    )


def test_a_class_created_twice_is_rejected() -> None:
    again = fact(
        "ShareClassCreated", "2021-01-01", share_class="common", name="Common", kind="common"
    )
    error = refused(registered(), again)
    assert violation(error) == (
        2,
        f"acme.yaml item 3 (ShareClassCreated, 2021-01-01): {RULE_2}: share class 'common' "
        "already exists",
    )


def test_authorized_shares_changed_below_the_issued_shares_is_rejected() -> None:
    change = fact("AuthorizedSharesChanged", "2021-01-01", share_class="common", authorized=999)
    error = refused(registered(issued("ana", 1_000)), change)
    assert violation(error) == (
        2,
        f"acme.yaml item 4 (AuthorizedSharesChanged, 2021-01-01): {RULE_2}: authorized 999 "
        "common is below the 1,000 already issued",
    )


def test_authorized_shares_changed_to_exactly_the_issued_shares_is_accepted() -> None:
    change = fact("AuthorizedSharesChanged", "2021-01-01", share_class="common", authorized=1_000)
    assert admit(registered(issued("ana", 1_000)), change).end.classes["common"].authorized == 1_000


def test_a_back_dated_cut_of_authorized_shares_below_a_later_issuance_is_rejected() -> None:
    timeline = registered(issued("ana", 1_000), issued("ben", 2_000, "2022-01-01"))
    change = fact("AuthorizedSharesChanged", "2021-01-01", share_class="common", authorized=1_500)
    error = refused(timeline, change)
    assert violation(error) == (
        2,
        f"acme.yaml item 5 (AuthorizedSharesChanged, 2021-01-01): {RULE_2}: it makes the later "
        "SharesIssued of 2022-01-01 (acme.yaml item 4) impossible: issuing 2,000 common would "
        "make 3,000 issued, over the 1,500 authorized",
    )


def test_a_split_of_a_class_that_does_not_exist_is_rejected() -> None:
    error = refused(registered(), fact("StockSplit", "2021-01-01", share_class="x", ratio="2:1"))
    assert violation(error) == (
        2,
        f"acme.yaml item 3 (StockSplit, 2021-01-01): {RULE_2}: share class 'x' does not exist "
        "at this date",
    )


def test_a_split_keeps_the_issued_shares_within_the_scaled_authorized() -> None:
    timeline = registered(
        issued("ana", 1_000_000),
        fact("StockSplit", "2021-01-01", share_class="common", ratio="2:1"),
    )
    more = refused(timeline, issued("ben", 1, "2021-02-01"))
    assert (timeline.end.classes["common"].authorized, violation(more)) == (
        2_000_000,
        (
            2,
            f"acme.yaml item 5 (SharesIssued, 2021-02-01): {RULE_2}: issuing 1 common would "
            "make 2,000,001 issued, over the 2,000,000 authorized",
        ),
    )


# --- rule 3: no holding is ever negative ---


def test_a_transfer_of_the_whole_holding_is_accepted() -> None:
    timeline = admit(registered(issued("ana", 1_000)), transfer("ana", "ben", 1_000, "2021-01-01"))
    assert timeline.end.holdings == {"ben": {"common": 1_000}}


def test_a_transfer_exceeding_the_holding_is_rejected_with_the_numbers() -> None:
    error = refused(registered(issued("ana", 1_000)), transfer("ana", "ben", 1_001, "2021-01-01"))
    assert violation(error) == (
        3,
        f"acme.yaml item 4 (SharesTransferred, 2021-01-01): {RULE_3}: transfer of 1,001 common "
        "from ana exceeds their holding of 1,000",
    )


def test_a_transfer_from_a_party_holding_nothing_is_rejected() -> None:
    error = refused(registered(issued("ana", 1_000)), transfer("zed", "ben", 1, "2021-01-01"))
    assert violation(error) == (
        3,
        f"acme.yaml item 4 (SharesTransferred, 2021-01-01): {RULE_3}: transfer of 1 common "
        "from zed exceeds their holding of 0",
    )


def test_a_transfer_before_the_shares_were_issued_is_rejected() -> None:
    error = refused(
        registered(issued("ana", 1_000, "2021-01-01")), transfer("ana", "ben", 10, "2020-06-01")
    )
    assert violation(error) == (
        3,
        f"acme.yaml item 4 (SharesTransferred, 2020-06-01): {RULE_3}: transfer of 10 common "
        "from ana exceeds their holding of 0",
    )


def test_a_cancellation_exceeding_the_holding_is_rejected_with_the_numbers() -> None:
    cancel = fact(
        "SharesCancelled",
        "2021-01-01",
        holder="ana",
        share_class="common",
        shares=1_200,
        reason="repurchase",
    )
    error = refused(registered(issued("ana", 1_000)), cancel)
    assert violation(error) == (
        3,
        f"acme.yaml item 4 (SharesCancelled, 2021-01-01): {RULE_3}: cancellation of 1,200 "
        "common from ana exceeds their holding of 1,000",
    )


def test_a_back_dated_cancellation_making_a_later_transfer_impossible_is_rejected() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2021-01-01"))
    cancel = fact("SharesCancelled", "2020-06-01", holder="ana", share_class="common", shares=300)
    error = refused(timeline, cancel)
    assert violation(error) == (
        3,
        f"acme.yaml item 5 (SharesCancelled, 2020-06-01): {RULE_3}: it makes the later "
        "SharesTransferred of 2021-01-01 (acme.yaml item 4) impossible: transfer of 800 common "
        "from ana exceeds their holding of 700",
    )


def test_a_back_dated_transfer_making_a_later_transfer_impossible_is_rejected() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2022-01-01"))
    error = refused(timeline, transfer("ana", "cy", 500, "2021-01-01"))
    assert violation(error) == (
        3,
        f"acme.yaml item 5 (SharesTransferred, 2021-01-01): {RULE_3}: it makes the later "
        "SharesTransferred of 2022-01-01 (acme.yaml item 4) impossible: transfer of 800 common "
        "from ana exceeds their holding of 500",
    )


def test_in_a_batch_of_back_dated_events_the_error_names_the_one_that_breaks_the_later() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2022-01-01"))
    error = refused(
        timeline,
        fact("BoardSizeSet", "2020-03-01", seats=5),
        fact("SharesCancelled", "2021-01-01", holder="ana", share_class="common", shares=300),
        fact("BoardSizeSet", "2021-06-01", seats=7),
    )
    assert violation(error) == (
        3,
        f"acme.yaml item 6 (SharesCancelled, 2021-01-01): {RULE_3}: it makes the later "
        "SharesTransferred of 2022-01-01 (acme.yaml item 4) impossible: transfer of 800 common "
        "from ana exceeds their holding of 700",
    )


def test_when_two_back_dated_events_together_break_a_later_one_the_error_names_the_second() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2022-01-01"))
    cancel = {"holder": "ana", "share_class": "common", "shares": 150}
    error = refused(
        timeline,
        fact("SharesCancelled", "2021-01-01", **cancel),
        fact("SharesCancelled", "2020-06-01", **cancel),
    )
    # Either cancellation alone leaves 850; the later-dated one, applied second, tips it.
    assert violation(error) == (
        3,
        f"acme.yaml item 5 (SharesCancelled, 2021-01-01): {RULE_3}: it makes the later "
        "SharesTransferred of 2022-01-01 (acme.yaml item 4) impossible: transfer of 800 common "
        "from ana exceeds their holding of 700",
    )


def test_a_back_dated_transfer_that_leaves_later_events_possible_is_accepted() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2022-01-01"))
    extended = admit(timeline, transfer("ana", "cy", 200, "2021-01-01"))
    assert extended.end.holdings == {"ben": {"common": 800}, "cy": {"common": 200}}


def test_a_rejected_batch_leaves_the_timeline_as_it_was() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 800, "2022-01-01"))
    before = (list(timeline.entries), timeline.end.copy())
    refused(timeline, transfer("ana", "cy", 500, "2021-01-01"))
    assert (list(timeline.entries), timeline.end) == before


def test_a_back_dated_issuance_is_checked_against_the_later_events_and_kept_in_date_order() -> None:
    timeline = registered(issued("ana", 1_000), transfer("ana", "ben", 1_000, "2022-01-01"))
    extended = admit(timeline, issued("cy", 10, "2021-01-01"))
    assert [e.fact.effective_date for e in extended.entries] == [
        date(2020, 1, 1),
        date(2020, 1, 1),
        date(2020, 1, 1),
        date(2021, 1, 1),
        date(2022, 1, 1),
    ]
    assert extended.end == replay(extended.entries, "acme")


# --- rule 4: one CEO at a time; no office held twice; no departure from an office not held ---


def test_a_second_ceo_while_one_is_in_office_is_rejected() -> None:
    error = refused(registered(ceo("ana", "2020-01-01")), ceo("ben", "2021-01-01"))
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveAppointed, 2021-01-01): {RULE_4}: ben cannot become CEO: "
        "ana is CEO (since 2020-01-01)",
    )


def test_an_interim_ceo_while_a_ceo_is_in_office_is_rejected() -> None:
    interim = fact("InterimCEOAppointed", "2021-01-01", person="ben")
    error = refused(registered(ceo("ana", "2020-01-01")), interim)
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (InterimCEOAppointed, 2021-01-01): {RULE_4}: ben cannot become CEO: "
        "ana is CEO (since 2020-01-01)",
    )


def test_the_ceo_appointed_ceo_again_is_rejected() -> None:
    error = refused(registered(ceo("ana", "2020-01-01")), ceo("ana", "2021-01-01"))
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveAppointed, 2021-01-01): {RULE_4}: ana cannot become CEO: "
        "they already are CEO (since 2020-01-01)",
    )


def test_an_office_held_twice_is_rejected() -> None:
    cfo = fact("ExecutiveAppointed", "2020-01-01", person="ana", role="cfo")
    again = fact("ExecutiveAppointed", "2021-01-01", person="ana", role="cfo", title="CFO")
    error = refused(registered(cfo), again)
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveAppointed, 2021-01-01): {RULE_4}: ana already holds the "
        "office cfo (since 2020-01-01)",
    )


def test_an_other_office_with_the_same_title_held_twice_is_rejected() -> None:
    first = fact(
        "ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="Chief Data Officer"
    )
    again = fact(
        "ExecutiveAppointed", "2021-01-01", person="ana", role="other", title="Chief Data Officer"
    )
    error = refused(registered(first), again)
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveAppointed, 2021-01-01): {RULE_4}: ana already holds the "
        "office other (Chief Data Officer) (since 2020-01-01)",
    )


def test_two_other_offices_with_different_titles_and_two_cfos_are_accepted() -> None:
    timeline = registered(
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="CDO"),
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="CPO"),
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="cfo"),
        fact("ExecutiveAppointed", "2020-01-01", person="ben", role="cfo"),
    )
    assert [(o.person, o.role, o.title) for o in timeline.end.officers] == [
        ("ana", "other", "CDO"),
        ("ana", "other", "CPO"),
        ("ana", "cfo", None),
        ("ben", "cfo", None),
    ]


def test_departing_an_office_not_held_is_rejected() -> None:
    left = fact("ExecutiveDeparted", "2021-01-01", person="ben", role="cfo")
    error = refused(registered(ceo("ana", "2020-01-01")), left)
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveDeparted, 2021-01-01): {RULE_4}: ben cannot depart the "
        "office cfo: they do not hold it",
    )


def test_departing_an_other_office_of_another_title_is_rejected() -> None:
    cdo = fact("ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="CDO")
    left = fact("ExecutiveDeparted", "2021-01-01", person="ana", role="other", title="CPO")
    error = refused(registered(cdo), left)
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveDeparted, 2021-01-01): {RULE_4}: ana cannot depart the "
        "office other (CPO): they do not hold it",
    )


def test_departing_one_of_several_other_offices_needs_its_title() -> None:
    timeline = registered(
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="CDO"),
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="CPO"),
    )
    error = refused(timeline, fact("ExecutiveDeparted", "2021-01-01", person="ana", role="other"))
    assert violation(error) == (
        4,
        f"acme.yaml item 5 (ExecutiveDeparted, 2021-01-01): {RULE_4}: ana holds several "
        "'other' offices ('CDO', 'CPO'): give the title",
    )


def test_a_departure_before_the_successors_appointment_on_the_same_date_is_accepted() -> None:
    timeline = admit(
        registered(ceo("ana", "2020-01-01")),
        fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo"),
        fact("InterimCEOAppointed", "2025-06-12", person="ben"),
    )
    assert timeline.end.officers == [
        Officer("ben", "ceo", "Interim Chief Executive Officer", True, date(2025, 6, 12))
    ]


def test_a_successors_appointment_before_the_departure_on_the_same_date_is_rejected() -> None:
    error = refused(
        registered(ceo("ana", "2020-01-01")),
        fact("InterimCEOAppointed", "2025-06-12", person="ben"),
        fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo"),
    )
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (InterimCEOAppointed, 2025-06-12): {RULE_4}: ben cannot become CEO: "
        "ana is CEO (since 2020-01-01)",
    )


def test_same_date_order_holds_across_batches_in_recording_order() -> None:
    # The departure recorded in a later batch comes after the appointment of the same date.
    timeline = registered(ceo("ana", "2020-01-01"))
    error = refused(
        admit(timeline, fact("DirectorAppointed", "2025-06-12", person="ben")),
        fact("InterimCEOAppointed", "2025-06-12", person="ben"),
        fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo"),
    )
    assert error.rule == 4


def test_a_back_dated_ceo_appointment_while_a_ceo_was_in_office_is_rejected() -> None:
    timeline = registered(
        ceo("ana", "2020-01-01"),
        fact("ExecutiveDeparted", "2022-01-01", person="ana", role="ceo"),
    )
    error = refused(timeline, ceo("ben", "2021-06-01"))
    assert violation(error) == (
        4,
        f"acme.yaml item 5 (ExecutiveAppointed, 2021-06-01): {RULE_4}: ben cannot become CEO: "
        "ana is CEO (since 2020-01-01)",
    )


def test_a_back_dated_ceo_appointment_overlapping_a_later_ceo_is_rejected() -> None:
    timeline = registered(ceo("ana", "2022-01-01"))
    error = refused(timeline, ceo("ben", "2021-01-01"))
    assert violation(error) == (
        4,
        f"acme.yaml item 4 (ExecutiveAppointed, 2021-01-01): {RULE_4}: it makes the later "
        "ExecutiveAppointed of 2022-01-01 (acme.yaml item 3) impossible: ana cannot become "
        "CEO: ben is CEO (since 2021-01-01)",
    )


def test_a_back_dated_ceo_term_that_ends_before_the_next_ceo_is_accepted() -> None:
    timeline = admit(
        registered(ceo("ana", "2022-01-01")),
        ceo("ben", "2021-01-01"),
        fact("ExecutiveDeparted", "2021-12-31", person="ben", role="ceo"),
    )
    assert [(o.person, o.since) for o in timeline.end.officers] == [("ana", date(2022, 1, 1))]


# --- rule 5: directors within the board size; retained seats need a sitting director ---


def test_directors_up_to_the_board_size_are_accepted_and_observers_take_no_seat() -> None:
    timeline = registered(
        fact("BoardSizeSet", "2020-01-01", seats=2),
        director("ana", "2020-01-01"),
        director("ben", "2020-01-01", seat="chair"),
        director("cy", "2020-01-01", seat="observer"),
    )
    assert (timeline.end.seated(), sorted(timeline.end.directors)) == (2, ["ana", "ben", "cy"])


def test_a_director_beyond_the_board_size_is_rejected() -> None:
    timeline = registered(
        fact("BoardSizeSet", "2020-01-01", seats=2),
        director("ana", "2020-01-01"),
        director("ben", "2020-01-01"),
    )
    error = refused(timeline, director("cy", "2021-01-01"))
    assert violation(error) == (
        5,
        f"acme.yaml item 6 (DirectorAppointed, 2021-01-01): {RULE_5}: appointing cy would make "
        "3 directors on a board of 2 seats",
    )


def test_without_a_board_size_there_is_no_limit() -> None:
    timeline = registered(*(director(f"d{n}", "2020-01-01") for n in range(12)))
    assert timeline.end.seated() == 12


def test_a_director_appointed_twice_is_rejected() -> None:
    error = refused(registered(director("ana", "2020-01-01")), director("ana", "2021-01-01"))
    assert violation(error) == (
        5,
        f"acme.yaml item 4 (DirectorAppointed, 2021-01-01): {RULE_5}: ana is already on the "
        "board (director since 2020-01-01)",
    )


def test_a_director_leaving_a_board_they_are_not_on_is_rejected() -> None:
    error = refused(registered(), fact("DirectorDeparted", "2021-01-01", person="ben"))
    assert violation(error) == (
        5,
        f"acme.yaml item 3 (DirectorDeparted, 2021-01-01): {RULE_5}: ben cannot leave the "
        "board: they are not a director",
    )


def test_board_seat_retained_by_a_sitting_director_is_accepted() -> None:
    timeline = registered(director("ana", "2020-01-01"), ceo("ana", "2020-01-01"))
    extended = admit(
        timeline,
        fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo", destination="meta"),
        fact("BoardSeatRetained", "2025-06-12", person="ana"),
    )
    assert (list(extended.end.directors), extended.end.offices_of("ana")) == (["ana"], [])


def test_board_seat_retained_by_someone_not_a_director_is_rejected() -> None:
    timeline = registered(ceo("ana", "2020-01-01"))
    error = refused(
        timeline,
        fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo"),
        fact("BoardSeatRetained", "2025-06-12", person="ana"),
    )
    assert violation(error) == (
        5,
        f"acme.yaml item 5 (BoardSeatRetained, 2025-06-12): {RULE_5}: ana cannot retain a "
        "board seat: they are not a director",
    )


def test_a_board_size_below_the_sitting_directors_is_rejected() -> None:
    timeline = registered(director("ana", "2020-01-01"), director("ben", "2020-01-01"))
    error = refused(timeline, fact("BoardSizeSet", "2021-01-01", seats=1))
    assert violation(error) == (
        5,
        f"acme.yaml item 5 (BoardSizeSet, 2021-01-01): {RULE_5}: a board of 1 seats is "
        "smaller than the 2 sitting directors",
    )


def test_a_back_dated_board_size_below_later_directors_is_rejected() -> None:
    timeline = registered(
        director("ana", "2020-01-01"), director("ben", "2021-01-01"), director("cy", "2022-01-01")
    )
    error = refused(timeline, fact("BoardSizeSet", "2020-06-01", seats=2))
    assert violation(error) == (
        5,
        f"acme.yaml item 6 (BoardSizeSet, 2020-06-01): {RULE_5}: it makes the later "
        "DirectorAppointed of 2022-01-01 (acme.yaml item 5) impossible: appointing cy would "
        "make 3 directors on a board of 2 seats",
    )


# --- the timeline itself ---


def test_admitting_in_date_order_extends_the_timeline_to_the_fold_of_all_entries() -> None:
    timeline = build(
        fact("CompanyRegistered", "2020-01-01", name="Acme, Inc."),
        fact("ShareClassCreated", "2020-01-01", share_class="common", name="Common", kind="common"),
        issued("ana", 100),
    )
    extended = admit(timeline, issued("ben", 50, "2021-01-01"))
    assert (extended.last_seq, extended.end) == (4, replay(extended.entries, "acme"))


def test_a_timeline_built_from_stored_entries_in_any_order_sorts_them_by_date_then_seq() -> None:
    facts = entries(
        fact("CompanyRegistered", "2020-01-01", name="Acme, Inc."),
        fact("BoardSizeSet", "2021-01-01", seats=3),
        fact("BoardSizeSet", "2020-06-01", seats=5),
        fact("BoardSizeSet", "2021-01-01", seats=7),
    )
    timeline = Timeline("acme", list(reversed(facts)))
    assert ([e.seq for e in timeline.entries], timeline.end.board_size) == ([1, 3, 2, 4], 7)


def test_replay_as_of_a_date_includes_everything_effective_on_that_date() -> None:
    timeline = registered(
        issued("ana", 100), issued("ben", 5, "2021-01-01"), issued("cy", 7, "2021-01-02")
    )
    assert (
        replay(timeline.entries, "acme", as_of=date(2021, 1, 1)).outstanding,
        replay(timeline.entries, "acme", as_of=date(2019, 12, 31)).registered,
    ) == (105, None)
