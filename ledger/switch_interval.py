"""The interpreter's thread switches while one of our threads writes what another prepares:
a PostgreSQL append's writing thread, the read models' committer folding ahead.

The writing thread waits on the database, then for the GIL, which the preparing thread holds
for up to a switch interval (Python's default: 5 ms): a batch's few such waits added up to
its whole writing time. Switching every 0.2 ms, a PostgreSQL rebuild runs about a tenth
faster and a long ``record`` about a twentieth; the preparing thread loses next to nothing.
The interval is the process's: it is given back once the last of those threads ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL = 0.0002
"""Seconds between the interpreter's thread switches while a thread of ours writes what
another checks or folds (Python's default: 0.005)."""


class _SwitchingOften:
    """``SWITCH_INTERVAL`` while any of our writing threads runs; then the interval as it
    was before the first of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._before = 0.0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._before = sys.getswitchinterval()
                sys.setswitchinterval(min(SWITCH_INTERVAL, self._before))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    sys.setswitchinterval(self._before)


switching_often = _SwitchingOften()
