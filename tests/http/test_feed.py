"""The change feed over HTTP, on SQLite (a poll) and PostgreSQL (NOTIFY): pages in position
order in the ``history`` shape with company, a long-poll that wakes when a POST commits, and
Server-Sent Events resumable from ``Last-Event-ID``."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from ledger import Ledger
from ledger.feed import Feed
from tests import builders as b
from tests.http.conftest import COMPANY, Served

LONG = 20.0
"""A wait no passing test sits through: an answer within it came from the wake-up."""


def test_pages_of_the_feed_are_the_python_feeds_and_a_full_page_is_immutable(
    served: Served,
) -> None:
    with Ledger.open(served.url) as ledger, Feed(ledger) as feed:
        expected = [e.model_dump(mode="json") for e in feed.page(3, 4, COMPANY).events]
    answer = served.client.get(
        "/v1/events", params={"after": 3, "limit": 4, "company": COMPANY}, headers=served.reader
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"after": 3, "last": 7, "end": 7, "events": expected}
    assert answer.headers["cache-control"].endswith("immutable")
    assert [e["position"] for e in expected] == [4, 5, 6, 7]
    assert all(e["company"] == COMPANY and e["retracted_by"] is None for e in expected)
    end = served.last_position()
    last = served.client.get("/v1/events", params={"after": end}, headers=served.reader)
    assert (last.json(), last.headers["cache-control"]) == (
        {"after": end, "last": end, "end": end, "events": []},
        "no-cache",
    )
    assert served.client.get("/v1/events").status_code == 401
    unknown = served.client.get("/v1/events?company=nobody", headers=served.reader)
    assert (unknown.status_code, unknown.json()["errors"]) == (404, ["unknown company 'nobody'"])


def post_later(
    served: Served, events: list[dict[str, Any]], delay: float = 0.3
) -> threading.Thread:
    def post() -> None:
        time.sleep(delay)
        answer = served.client.post("/v1/events", json=events, headers=served.writer)
        assert answer.status_code == 201, answer.text

    poster = threading.Thread(target=post)
    poster.start()
    return poster


def test_a_long_poll_wakes_when_an_event_is_recorded(served: Served) -> None:
    end = served.last_position()
    poster = post_later(served, [b.issued(COMPANY, "ana", "common", 3, "2021-08-01")])
    started = time.monotonic()
    answer = served.client.get(
        "/v1/events", params={"after": end, "wait": LONG}, headers=served.reader
    )
    poster.join()
    assert time.monotonic() - started < LONG / 2
    assert [(e["position"], e["type"]) for e in answer.json()["events"]] == [
        (end + 1, "SharesIssued")
    ]


def test_the_event_stream_resumes_after_last_event_id_and_follows_new_events(
    served: Served,
) -> None:
    end = served.last_position()
    poster = post_later(served, [b.issued(COMPANY, "ben", "common", 5, "2021-08-02")])
    seen: list[tuple[int, dict[str, Any]]] = []
    headers = {**served.reader, "Last-Event-ID": str(end - 2)}
    with served.client.stream("GET", "/v1/events/stream", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        position = None
        for line in stream.iter_lines():
            if line.startswith("id: "):
                position = int(line.removeprefix("id: "))
            elif line.startswith("data: "):
                assert position is not None
                seen.append((position, json.loads(line.removeprefix("data: "))))
                if len(seen) == 3:
                    break
    poster.join()
    assert [p for p, _ in seen] == [end - 1, end, end + 1]
    assert all(p == event["position"] for p, event in seen)
    assert seen[-1][1]["data"]["holder"] == "ben"


@pytest.mark.parametrize("last", ["²", "1²", "x", str(2**63), "99999"])
def test_a_last_event_id_that_is_no_position_of_the_log_is_refused(
    served: Served, last: str
) -> None:
    headers = {**served.reader, "Last-Event-ID": last.encode("latin-1")}  # ² as sent raw
    answer = served.client.get("/v1/events/stream", headers=headers)
    assert answer.status_code == 422
    [message] = answer.json()["errors"]
    assert "is not a position" in message or "is past the end of the log" in message
