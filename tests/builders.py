"""Event dicts in the event-file shape of docs/events.md, for tests.

Each builder returns a plain ``dict`` as a user would write it in a YAML or JSON event file
(dates as ISO strings, money as ``{amount, currency}``), leaving out the optional fields it is
not given. ``**extra`` adds any other field (``source``, ``note``, ``external_id``, …).
"""

from __future__ import annotations

from datetime import date
from typing import Any

Event = dict[str, Any]


def _day(on: date | str) -> str:
    return on.isoformat() if isinstance(on, date) else on


def _event(kind: str, company: str, on: date | str, fields: dict[str, Any]) -> Event:
    body = {"type": kind, "company": company, "effective_date": _day(on)}
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


def usd(amount: int | str) -> dict[str, str]:
    return {"amount": str(amount), "currency": "USD"}


def registered(company: str, on: date | str, name: str | None = None, **extra: Any) -> Event:
    return _event("CompanyRegistered", company, on, {"name": name or company.title(), **extra})


def share_class(
    company: str,
    share_class: str,
    on: date | str,
    *,
    kind: str = "common",
    authorized: int | None = None,
    votes_per_share: int | None = None,
    name: str | None = None,
    **extra: Any,
) -> Event:
    return _event(
        "ShareClassCreated",
        company,
        on,
        {
            "share_class": share_class,
            "name": name or share_class.replace("-", " ").title(),
            "kind": kind,
            "authorized": authorized,
            "votes_per_share": votes_per_share,
            **extra,
        },
    )


def issued(
    company: str, holder: str, share_class: str, shares: int, on: date | str, **extra: Any
) -> Event:
    return _event(
        "SharesIssued",
        company,
        on,
        {"holder": holder, "share_class": share_class, "shares": shares, **extra},
    )


def invested(
    company: str,
    investor: str,
    share_class: str,
    amount: int | str,
    on: date | str,
    *,
    shares: int | None = None,
    stake_percent: str | None = None,
    post_money: int | str | None = None,
    pre_money: int | str | None = None,
    **extra: Any,
) -> Event:
    return _event(
        "InvestmentMade",
        company,
        on,
        {
            "investor": investor,
            "share_class": share_class,
            "amount": usd(amount),
            "shares": shares,
            "stake_percent": stake_percent,
            "post_money_valuation": None if post_money is None else usd(post_money),
            "pre_money_valuation": None if pre_money is None else usd(pre_money),
            **extra,
        },
    )


def transferred(
    company: str,
    from_: str,
    to: str,
    share_class: str,
    shares: int,
    on: date | str,
    **extra: Any,
) -> Event:
    return _event(
        "SharesTransferred",
        company,
        on,
        {"from": from_, "to": to, "share_class": share_class, "shares": shares, **extra},
    )


def cancelled(
    company: str, holder: str, share_class: str, shares: int, on: date | str, **extra: Any
) -> Event:
    return _event(
        "SharesCancelled",
        company,
        on,
        {"holder": holder, "share_class": share_class, "shares": shares, **extra},
    )


def split(company: str, share_class: str, ratio: str, on: date | str, **extra: Any) -> Event:
    return _event("StockSplit", company, on, {"share_class": share_class, "ratio": ratio, **extra})


def authorized(
    company: str, share_class: str, authorized: int, on: date | str, **extra: Any
) -> Event:
    return _event(
        "AuthorizedSharesChanged",
        company,
        on,
        {"share_class": share_class, "authorized": authorized, **extra},
    )


def valuation(
    company: str, amount: int | str, on: date | str, basis: str = "post-money", **extra: Any
) -> Event:
    return _event(
        "ValuationRecorded", company, on, {"valuation": usd(amount), "basis": basis, **extra}
    )


def executive_appointed(
    company: str,
    person: str,
    role: str,
    on: date | str,
    *,
    title: str | None = None,
    interim: bool | None = None,
    **extra: Any,
) -> Event:
    return _event(
        "ExecutiveAppointed",
        company,
        on,
        {"person": person, "role": role, "title": title, "interim": interim, **extra},
    )


def interim_ceo(
    company: str, person: str, on: date | str, *, title: str | None = None, **extra: Any
) -> Event:
    return _event("InterimCEOAppointed", company, on, {"person": person, "title": title, **extra})


def executive_departed(company: str, person: str, role: str, on: date | str, **extra: Any) -> Event:
    return _event("ExecutiveDeparted", company, on, {"person": person, "role": role, **extra})


def director_appointed(
    company: str,
    person: str,
    on: date | str,
    *,
    seat: str | None = None,
    designated_by: str | None = None,
    **extra: Any,
) -> Event:
    return _event(
        "DirectorAppointed",
        company,
        on,
        {"person": person, "seat": seat, "designated_by": designated_by, **extra},
    )


def director_departed(company: str, person: str, on: date | str, **extra: Any) -> Event:
    return _event("DirectorDeparted", company, on, {"person": person, **extra})


def seat_retained(company: str, person: str, on: date | str, **extra: Any) -> Event:
    return _event("BoardSeatRetained", company, on, {"person": person, **extra})


def board_size(company: str, seats: int, on: date | str, **extra: Any) -> Event:
    return _event("BoardSizeSet", company, on, {"seats": seats, **extra})


def founded(
    company: str, on: date | str, holders: dict[str, int], share_class_name: str = "common"
) -> list[Event]:
    """A company registered with one common class and the given founders' shares."""
    return [
        registered(company, on),
        share_class(company, share_class_name, on),
        *(issued(company, holder, share_class_name, n, on) for holder, n in holders.items()),
    ]


def retracted(
    company: str, target: object, reason: str = "recorded in error", **extra: Any
) -> Event:
    """An ``EventRetracted`` of ``target`` (an event id); no effective_date: it acts on the
    target's."""
    return {
        "type": "EventRetracted",
        "company": company,
        "target": str(target),
        "reason": reason,
        **extra,
    }


def corrected(
    company: str, target: object, replacement: Event, reason: str = "corrected", **extra: Any
) -> Event:
    """An ``EventCorrected`` of ``target`` by ``replacement`` (a whole event body)."""
    return {
        "type": "EventCorrected",
        "company": company,
        "target": str(target),
        "replacement": replacement,
        "reason": reason,
        **extra,
    }


def instrument(event_type: str, company: str, on: date | str, /, **fields: Any) -> Event:
    """An event of the second catalogue (stakeholders, plans, awards, warrants, convertibles,
    class conversions) of ``event_type``, with ``fields`` as given (None ones left out)."""
    return _event(event_type, company, on, fields)
