"""While one of our threads writes what another prepares the interpreter switches threads
often; the interval is given back as it was once the last of them ends, however they
overlap."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.switch_interval import SWITCH_INTERVAL, switching_often


@pytest.fixture
def interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(before)


def test_overlapping_catch_ups_share_the_short_interval_and_restore_the_old(
    interval: float,
) -> None:
    first, second = switching_often(), switching_often()
    first.__enter__()
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_threads_entering_and_leaving_at_once_leave_the_interval_as_it_was(
    interval: float,
) -> None:
    start = threading.Barrier(8)
    seen: list[float] = []

    def catch_up() -> None:
        start.wait()
        for _ in range(200):
            with switching_often():
                seen.append(sys.getswitchinterval())

    threads = [threading.Thread(target=catch_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [pytest.approx(SWITCH_INTERVAL)] * 1600
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_a_catch_up_that_fails_restores_the_interval(interval: float) -> None:
    with pytest.raises(RuntimeError), switching_often():
        raise RuntimeError("the database went away")
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_a_long_record_and_a_catch_up_folding_ahead_give_the_interval_back(
    interval: float, durable_url: str
) -> None:
    from ledger import Ledger
    from tests import builders as b

    events = b.founded("acme", "2020-01-01", {"ana": 1_000})
    events += [b.issued("acme", f"p{n % 50}", "common", 1, "2020-02-01") for n in range(25_000)]
    with Ledger.open(durable_url) as ledger:
        during: list[float] = []
        ledger.record(
            events, project=False, progress=lambda _: during.append(sys.getswitchinterval())
        )
        # Longer than a chunk: checked and written chunk after chunk, PostgreSQL's append
        # writing on a thread of its own (SQLite's, in a writer process). The last call
        # comes once the batch is stored.
        writing_thread = not durable_url.startswith("sqlite")
        *streaming, stored = during
        assert streaming == [pytest.approx(SWITCH_INTERVAL if writing_thread else interval)] * 2
        assert stored == pytest.approx(interval)
        assert sys.getswitchinterval() == pytest.approx(interval)
        read_models: Any = ledger.read_models
        read_models.batch = 100
        assert read_models.catch_up() == ledger.known_position()
        assert sys.getswitchinterval() == pytest.approx(interval)
