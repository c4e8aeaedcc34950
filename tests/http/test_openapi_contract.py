"""The OpenAPI contract, tried by schemathesis in-process (ASGI) with a bounded number of
examples per operation: no answer is a 5xx, and every answer's status and body are those the
schema declares (errors included). On SQLite alone: the answers are the same on PostgreSQL
(test_api.py), and the schema is the engine's no more than they are."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case

from ledger.http.app import create_app
from tests.http.conftest import Served

EXAMPLES = 12
"""Examples per operation: enough to reach every parameter's kinds of value in a few seconds."""


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('contract')}/ledger.db"


@pytest.mark.parametrize("project", [True, False], ids=["projecting", "no-project"])
def test_every_operation_keeps_to_its_schema(served: Served, project: bool) -> None:
    """Both kinds of server: the one that projects, and the one that leaves it to a worker
    (here none: its reads with ``min_position`` soon catch up themselves)."""
    app = create_app(served.url, project=project, read_wait=0.05)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13
    for operation in operations:
        if operation.path == "/v1/events/stream":
            continue  # never ends by design (test_feed.py reads it)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def keeps_to_it(case: Case) -> None:
            if case.query and "wait" in case.query:
                case.query["wait"] = 0.01  # a long-poll's length is no part of the contract
            case.call_and_validate(
                headers=served.writer,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        keeps_to_it()
