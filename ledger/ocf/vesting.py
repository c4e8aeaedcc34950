"""OCF vesting terms as the ledger's schedule ``{months, cliff_months, every_months}``, when
the ledger's vests exactly alike."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from typing import Any

from ..domain.values import MAX_MONTHS
from .values import Refused, fraction_of


def schedule_of(terms: dict[str, Any]) -> tuple[dict[str, int] | None, str]:
    """The ledger's schedule ``{months, cliff_months, every_months}`` that vests exactly as
    the OCF vesting conditions do, month by month; else None and why not."""
    listed = terms.get("vesting_conditions")
    conditions = {
        c["id"]: c
        for c in (listed if isinstance(listed, list) else [])
        if isinstance(c, dict) and isinstance(c.get("id"), str)
    }
    starts = [
        c
        for c in conditions.values()
        if isinstance(trigger := c.get("trigger"), dict)
        and trigger.get("type") == "VESTING_START_DATE"
    ]
    if len(starts) != 1:
        return None, "not a single vesting start"
    installments: list[tuple[int, Fraction]] = []  # (month, portion)
    at = {starts[0].get("id"): 0}
    current = starts[0]
    try:
        if _portion(current) != 0:
            return None, "shares vest at the start"
        while True:
            following = current.get("next_condition_ids") or []
            if not following:
                break
            if len(following) != 1 or following[0] not in conditions:
                return None, "conditions that branch or name unknown conditions"
            if following[0] in at:
                return None, "conditions that follow one another in a loop"
            current = conditions[following[0]]
            trigger = _member(current, "trigger")
            period = _member(trigger, "period")
            relative = trigger.get("relative_to_condition_id")
            if trigger.get("type") != "VESTING_SCHEDULE_RELATIVE" or relative not in at:
                return None, f"a {trigger.get('type')} condition (vesting by events or conditions)"
            if period.get("type") != "MONTHS":
                return None, "a period counted in days"
            if period.get("day_of_month") not in (None, "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"):
                return None, f"vesting on {period.get('day_of_month')}"
            length, occurrences = int(period["length"]), int(period["occurrences"])
            if length < 1 or occurrences < 1:
                return None, "a period or portion that is not a number"
            if at[relative] + occurrences * length > MAX_MONTHS:
                # Checked before the installments are listed: a count of a billion is one
                # field of a small file.
                return None, f"more than {MAX_MONTHS} months"
            portion = _portion(current)
            if _member(current, "portion").get("remainder") is True:
                # A portion of what is still unvested when the condition starts.
                portion *= 1 - sum(p for _, p in installments)
            base = at[relative]
            cliff = period.get("cliff_installment")
            old_cliff = _member(_member(current, "cliff_condition"), "period")
            cliff_month = (
                base + int(cliff) * length if cliff else base + int(old_cliff.get("length") or 0)
            )
            for number in range(1, occurrences + 1):
                installments.append((max(base + number * length, cliff_month), portion))
            at[current.get("id")] = base + occurrences * length
    except (KeyError, TypeError, ValueError, ZeroDivisionError, Refused):
        return None, "a period or portion that is not a number"
    if not installments or sum(p for _, p in installments) != 1:
        return None, "portions that do not add up to the whole"
    months = max(month for month, _ in installments)
    if not 0 < months <= MAX_MONTHS:
        return None, f"{months} months"
    vested = [Fraction(0)] * (months + 1)
    for month, portion in installments:
        for m in range(month, months + 1):
            vested[m] += portion
    # The ledger steps up at the cliff, at each multiple of every_months past it and at
    # ``months``: every_months is the gap between two of those multiples, or the first of them
    # when there is only one (the gaps after the cliff and before the end can be shorter).
    # Each candidate is tried, the shortest first.
    steps = sorted({month for month, _ in installments})
    for every in sorted({b - a for a, b in pairwise(steps)} | set(steps)):
        cliff = steps[0] if steps[0] != every else 0
        if all(
            _ledger_vested(month, months, cliff, every) == vested[month]
            for month in range(months + 1)
        ):
            return {"months": months, "cliff_months": cliff, "every_months": every}, ""
    return None, "a schedule the ledger's (months, cliff, every) cannot express"


def _ledger_vested(month: int, months: int, cliff: int, every: int) -> Fraction:
    """The part of an award the ledger's schedule has vested after ``month`` months."""
    if month < cliff:
        return Fraction(0)
    if month >= months:
        return Fraction(1)
    return Fraction(max(cliff, month // every * every), months)


def _member(value: dict[str, Any], name: str) -> dict[str, Any]:
    """The object ``value`` holds under ``name`` (an empty one if none); ``TypeError`` if it
    holds something else: a term of another shape is not read as if it were absent."""
    member = value.get(name)
    if member is None:
        return {}
    if not isinstance(member, dict):
        raise TypeError(f"{name} is not an object")
    return member


def _portion(condition: dict[str, Any]) -> Fraction:
    portion = condition.get("portion")
    if isinstance(portion, dict):
        return fraction_of(portion.get("numerator"), "portion") / fraction_of(
            portion.get("denominator"), "portion"
        )
    quantity = condition.get("quantity")
    if quantity is not None and fraction_of(quantity, "quantity") != 0:
        raise Refused("not-held", "a vesting quantity in shares")
    return Fraction(0)
