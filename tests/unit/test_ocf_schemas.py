"""The OCF schemas shipped with corpledger resolve every $ref locally and judge objects by
their own object_type."""

from __future__ import annotations

from ledger.ocf import schemas

STAKEHOLDER = {
    "object_type": "STAKEHOLDER",
    "id": "fiona",
    "name": {"legal_name": "Fiona Founder"},
    "stakeholder_type": "INDIVIDUAL",
}


def test_a_valid_object_has_no_errors() -> None:
    assert schemas.object_errors(STAKEHOLDER) == []


def test_an_invalid_object_names_the_field_and_the_reason() -> None:
    errors = schemas.object_errors({**STAKEHOLDER, "stakeholder_type": "ROBOT", "name": 3})
    assert {e.path for e in errors} == {"/stakeholder_type", "/name"}
    assert any("ROBOT" in e.message for e in errors)


def test_an_object_type_no_schema_defines_is_the_one_error() -> None:
    assert [str(e) for e in schemas.object_errors({"object_type": "TX_TELEPORT", "id": "x"})] == [
        "/object_type: unknown object_type 'TX_TELEPORT'"
    ]


def test_old_and_new_names_of_a_type_share_its_schema() -> None:
    both = {"TX_PLAN_SECURITY_ISSUANCE", "TX_EQUITY_COMPENSATION_ISSUANCE"}
    assert both <= schemas.object_types()


def test_types_the_transactions_file_schema_forgets_are_still_known() -> None:
    assert {"TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT", "CE_STAKEHOLDER_STATUS"} <= (
        schemas.object_types()
    )


def test_a_file_envelope_is_checked_without_its_items() -> None:
    document = {
        "file_type": "OCF_STAKEHOLDERS_FILE",
        "items": [{"object_type": "NOT_CHECKED_HERE"}],
    }
    assert schemas.file_errors(document) == []
    assert [e.path for e in schemas.file_errors({**document, "items": "none"})] == ["/items"]
    assert schemas.file_errors({"file_type": "OCF_NOTHING"})[0].path == "/file_type"
