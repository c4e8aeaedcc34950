"""While a catch-up folds ahead the interpreter switches threads often; the interval is given
back as it was once the last catch-up of the process ends, however they overlap."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from projections.service import SWITCH_INTERVAL, _switching_often


@pytest.fixture
def interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(before)


def test_overlapping_catch_ups_share_the_short_interval_and_restore_the_old(
    interval: float,
) -> None:
    first, second = _switching_often(), _switching_often()
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
            with _switching_often():
                seen.append(sys.getswitchinterval())

    threads = [threading.Thread(target=catch_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [pytest.approx(SWITCH_INTERVAL)] * 1600
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_a_catch_up_that_fails_restores_the_interval(interval: float) -> None:
    with pytest.raises(RuntimeError), _switching_often():
        raise RuntimeError("the database went away")
    assert sys.getswitchinterval() == pytest.approx(interval)
