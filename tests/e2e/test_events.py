"""``corpledger events``: the change feed as JSON Lines (run in this process), and
``--follow`` picking up what another process records, until SIGTERM (exit 0), on each
durable engine (a subprocess)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from ledger import Ledger
from ledger.cli import run
from tests import builders as b
from tests.e2e.conftest import ACME, ACME_EVENTS, Cli, clean_env, prepare


def test_events_prints_the_feed_after_a_position_as_json_lines(
    acme: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", str(acme.url), "events", "--after", "8"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["position"] for e in lines] == list(range(9, ACME_EVENTS + 1))
    with Ledger.open(str(acme.url)) as ledger:
        history = ledger.history("acme-rockets").model_dump(mode="json")["events"]
    assert lines == history[8:]
    assert run(["--db", str(acme.url), "events", "--after", "2", "--limit", "3"]) == 0
    assert capsys.readouterr().out == "".join(
        json.dumps(e, separators=(",", ":")) + "\n" for e in history[2:5]
    )
    assert run(["--db", str(acme.url), "events", "--company", "nobody"]) == 2
    assert capsys.readouterr().err == f"error: unknown company 'nobody' in {acme.url}\n"


def test_follow_prints_an_event_another_process_records_and_stops_on_sigterm(
    engine_cli: Cli,
) -> None:
    prepare(engine_cli, str(ACME))
    command = ["events", "--follow", "--after", str(ACME_EVENTS - 1), "--company", "acme-rockets"]
    with subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", str(engine_cli.url), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    ) as follower:
        assert follower.stdout is not None
        assert follower.stderr is not None
        try:
            assert json.loads(follower.stdout.readline())["position"] == ACME_EVENTS
            with Ledger.open(str(engine_cli.url)) as ledger:
                ledger.record([b.board_size("acme-rockets", 3, "2023-01-01")], actor="elsewhere")
            event = json.loads(follower.stdout.readline())
            assert (event["position"], event["type"], event["recorded_by"]) == (
                ACME_EVENTS + 1,
                "BoardSizeSet",
                "elsewhere",
            )
            follower.send_signal(signal.SIGTERM)
            assert follower.wait(timeout=10) == 0
            assert follower.stdout.read() == ""
            assert follower.stderr.read() == ""
        finally:
            follower.kill()
