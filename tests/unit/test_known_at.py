"""``known_at`` as a moment: read in UTC, the log's time, whatever the offset it is given at."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from ledger import Ledger
from ledger.app import today
from ledger.domain.errors import InputError
from tests import builders as b


def test_a_moment_out_of_range_once_in_utc_is_refused_not_a_crash() -> None:
    with Ledger.open("memory://") as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10}))
        year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
        with pytest.raises(InputError, match="is out of range once in UTC"):
            ledger.cap_table("acme", as_of=today(), known_at=year_one)


def test_a_moment_whose_utc_date_is_tomorrow_is_in_the_future() -> None:
    with Ledger.open("memory://") as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10}))
        # 22:00 today at -14:00 is 12:00 tomorrow in UTC.
        west = datetime.combine(today(), time(22), timezone(timedelta(hours=-14)))
        with pytest.raises(InputError, match="is in the future"):
            ledger.known_position(west)
        east = datetime.combine(today(), time(1), timezone(timedelta(hours=14)))
        assert ledger.known_position(east) == 0  # 11:00 yesterday in UTC: nothing known yet
