"""The benchmark's bound on a ratio: the CPU time a run took, spread over the machine's cores."""

from __future__ import annotations

import sys
import time

import pytest

from bench import measure


def test_the_best_ratio_is_the_events_over_the_busy_time_per_core_against_raw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(measure, "CORES", 2)
    # 100,000 events in 3 CPU seconds: 1.5 s on two cores, 66,667 ev/s, a third of 200,000.
    assert measure.best_ratio(100_000, [2.0, 3.0, 9.0], 200_000.0) == pytest.approx(1 / 3)
    assert measure.best_ratio(100_000, [], 200_000.0) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_busy_counts_the_cpu_time_spent_between_start_and_stop() -> None:
    busy = measure.Busy()
    assert busy.seconds is None
    busy.start()
    ends = time.process_time() + 0.3
    while time.process_time() < ends:  # this process alone keeps a core busy 0.3 s
        pass
    busy.stop()
    assert busy.seconds is not None
    assert busy.seconds >= 0.25  # the machine's ticks, 10 ms each, include these
