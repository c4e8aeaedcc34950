"""``import_package``: OCF packages onto the ledger, with findings (docs/ocf.md).

The samples in tests/data/ocf are published OCF packages, copied unchanged with their
licences: acme and its smaller testPackage (OCF-Tools), example-inc (an LTSE Equity export, OCF
1.0.0-b1) and the specification's own samples (its main branch and release 1.2.0)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.domain.errors import InputError
from ledger.ocf.importer import ImportResult, import_package
from ledger.persistence.url import MEMORY_URL

DATA = Path(__file__).parent.parent / "data" / "ocf"
ACME = DATA / "ocf-tools-acme-holdings-limited"
EXAMPLE_INC = DATA / "ocx-example-inc"
TEST_PACKAGE = DATA / "ocf-tools-testPackage"
SPEC = DATA / "ocf-spec-samples"
SPEC_1_2_0 = DATA / "ocf-spec-samples-v1.2.0"

FIONA, CHARLIE, JANE = "fiona-felicity-founder", "charlie-chuck-cofounder", "jane-eyre-cto"

ACME_OUTSTANDING = {
    # as of (end of day): {holder: {class: shares}}, from an independent replay of the
    # security positions (the sample data's README).
    "2022-01-01": {FIONA: {"ordinary-a": 600_000}, CHARLIE: {"ordinary-a": 400_000}},
    "2022-06-15": {FIONA: {"ordinary-a": 900_000}, CHARLIE: {"ordinary-a": 100_000}},
    "2022-06-30": {FIONA: {"ordinary-a": 730_000}, CHARLIE: {"ordinary-a": 100_000}},
    "2022-12-31": {FIONA: {"ordinary-a": 680_000}},
    "2023-03-01": {
        FIONA: {"ordinary-a": 80_000, "preferred": 35_000},
        CHARLIE: {"ordinary-a": 25_000},
        JANE: {"ordinary-b": 50_000},
    },
    "2023-06-29": {
        FIONA: {"ordinary-a": 120_000, "preferred": 15_000},
        CHARLIE: {"ordinary-a": 25_000},
        JANE: {"ordinary-b": 50_000},
    },
}


@pytest.fixture
def memory() -> Iterator[Ledger]:
    """A ledger in memory: for what one engine shows as well as another."""
    with Ledger.open(MEMORY_URL) as opened:
        yield opened


def held(ledger: Ledger, company: str, as_of: str) -> dict[str, dict[str, int]]:
    table = ledger.cap_table(company, as_of=date.fromisoformat(as_of))
    return {h.party: dict(h.classes) for h in table.holders if h.shares}


def codes(result: ImportResult, severity: str = "error") -> dict[str, set[str]]:
    """Finding codes by object id, of one severity."""
    found: dict[str, set[str]] = {}
    for f in result.findings:
        if f.severity == severity:
            found.setdefault(f.object_id or f.file, set()).add(f.code)
    return found


# --- acme: a small, mostly consistent cap table with known defects ------------------------


def test_acme_dry_run_lists_its_known_defects_and_stores_nothing(ledger: Ledger) -> None:
    result = import_package(ledger, ACME, dry_run=True)
    errors = codes(result)
    for grant in ("eci_01", "eci_02", "eci_03"):
        assert "dangling-id" in errors[grant]  # the undefined plan stock_plan_01
    assert any("stock_plan_01" in f.message for f in result.findings)
    for exercise in ("EXERCISE_03", "EXERCISE_04"):
        # The first exercise, without a balance security, ended the option.
        assert "extinguished-security" in errors[exercise]
    for exercise in ("EXERCISE_01", "EXERCISE_02", "EXERCISE_03", "EXERCISE_04"):
        assert "missing-resulting-security" in errors[exercise]  # share_issuance_0N
    assert "before-formation" in errors["eci_01"]
    warnings = codes(result, "warning")
    assert "schema" in warnings["sib_4"]  # split_transaction_id
    assert {f.file for f in result.findings if f.code == "checksum-mismatch"} >= {
        "Transactions.ocf.json"
    }
    assert (result.company, result.events, result.stored) == ("acme-holdings-limited", 22, 0)
    assert ledger.known_position() == 0


def test_acme_without_skip_invalid_stores_nothing(memory: Ledger) -> None:
    result = import_package(memory, ACME)
    assert result.errors
    assert result.stored == 0
    assert memory.known_position() == 0


def test_acme_skip_invalid_gives_the_exact_outstanding_at_each_date(ledger: Ledger) -> None:
    result = import_package(ledger, ACME, skip_invalid=True, actor="importer")
    assert result.stored == result.events == 22
    for as_of, expected in ACME_OUTSTANDING.items():
        assert held(ledger, "acme-holdings-limited", as_of) == expected, as_of
    final = ledger.cap_table("acme-holdings-limited", as_of=date(2023, 6, 29))
    assert final.total_shares == 210_000
    history = ledger.history("acme-holdings-limited")
    retraction = next(e for e in history.events if e.source == "ocf:Transactions.ocf.json#sr_10")
    assert (retraction.type, str(retraction.effective_date)) == ("SharesCancelled", "2022-07-01")
    assert {e.recorded_by for e in history.events} == {"importer"}
    # The same package again is a no-op: every external_id is already there.
    again = import_package(ledger, ACME, skip_invalid=True)
    assert (again.stored, again.skipped) == (0, 22)


def test_acme_from_a_zip_is_the_same_import(memory: Ledger, tmp_path: Path) -> None:
    archive = tmp_path / "acme.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in ACME.iterdir():
            z.write(file, f"acme/{file.name}")
    result = import_package(memory, archive, company="acme", skip_invalid=True)
    assert result.stored == 22
    assert held(memory, "acme", "2023-06-29") == ACME_OUTSTANDING["2023-06-29"]
    # The manifest itself names its package too.
    again = import_package(memory, ACME / "Manifest.ocf.json", company="acme", skip_invalid=True)
    assert (again.stored, again.skipped) == (0, 22)


# --- example-inc: a real vendor export, dirty -------------------------------------------------


@pytest.fixture(scope="module")
def example_inc() -> Iterator[tuple[Ledger, ImportResult]]:
    with Ledger.open(MEMORY_URL) as ledger:
        yield ledger, import_package(ledger, EXAMPLE_INC, skip_invalid=True)


def test_example_inc_imports_with_its_findings(example_inc: tuple[Ledger, ImportResult]) -> None:
    _, result = example_inc
    assert (result.company, result.events, result.stored) == ("example-inc", 112, 112)
    by_code: dict[tuple[str, str], int] = {}
    for f in result.findings:
        by_code[f.severity, f.code] = by_code.get((f.severity, f.code), 0) + 1
    assert by_code["warning", "votes-omitted"] == 3
    assert by_code["info", "old-field"] == 3  # current_shares_authorized
    assert by_code["error", "extinguished-security"] == 5  # never applied twice
    assert by_code["error", "security-not-in-force"] == 9  # acted on before it was issued
    assert by_code["error", "resulting-mismatch"] == 2
    assert by_code["error", "missing-resulting-security"] == 1  # a never-issued conversion
    assert by_code["warning", "no-balance-security"] == 1
    conversion_rights = [
        f for f in result.findings if f.code == "not-held" and "conversion_rights" in f.message
    ]
    assert len(conversion_rights) == 1  # the numeric 10/5 ratio is a term, not an event


def test_example_inc_cap_table_and_fully_diluted(example_inc: tuple[Ledger, ImportResult]) -> None:
    ledger, _ = example_inc
    table = ledger.cap_table("example-inc", as_of=date(2023, 3, 2))
    assert table.total_shares == 7_043_226
    assert table.fully_diluted_total == 9_455_726
    (pool,) = table.pools
    assert (pool.reserved, pool.exercised, pool.outstanding, pool.available) == (
        2_000_000,
        12_500,
        1_277_000,
        710_500,
    )
    assert sorted(w.outstanding for w in table.warrants) == [150_000, 275_000]
    assert len(table.convertibles) == 8
    irene = next(h for h in table.holders if h.party == "irene-investor")
    assert dict(irene.classes) == {"common": 4_901_278, "series-a1-preferred": 110}


# --- testPackage: acme's issuer, people and classes, and one option ------------------------


def test_the_test_package_keeps_its_company_and_leaves_out_its_option(
    ledger: Ledger,
) -> None:
    # OCF-Tools' own check finds this package valid; its option is granted in 2019 from a plan
    # the package never defines, by a company formed in 2022.
    result = import_package(ledger, TEST_PACKAGE, skip_invalid=True)
    assert codes(result) == {
        "eci_01": {"dangling-id", "before-formation"},
        "eci_vs_01": {"before-formation"},
        **{f"valuation_0{n}": {"before-formation"} for n in (1, 2, 3)},
    }
    assert (result.events, result.stored) == (8, 8)  # the company, 4 people, 3 classes
    assert ledger.grants("acme-holdings-limited", as_of=date(2023, 6, 29)).grants == []
    assert ledger.cap_table("acme-holdings-limited", as_of=date(2023, 6, 29)).total_shares == 0


# --- the specification's samples: ids that resolve nowhere ------------------------------------


@pytest.mark.parametrize("samples", [SPEC, SPEC_1_2_0], ids=["main", "1.2.0"])
def test_spec_samples_give_findings_not_a_crash(ledger: Ledger, samples: Path) -> None:
    result = import_package(ledger, samples, skip_invalid=True)
    errors = {c for found in codes(result).values() for c in found}
    assert {"dangling-id", "duplicate-security", "extinguished-security"} <= errors
    assert result.stored == result.events == 9  # the company, its people, classes and plan
    again = import_package(ledger, samples, skip_invalid=True)
    assert (again.stored, again.skipped) == (0, 9)


# --- hand-made packages: one rule at a time ---------------------------------------------------


ISSUER = {
    "object_type": "ISSUER",
    "id": "issuer",
    "legal_name": "Tiny Co",
    "formation_date": "2020-01-01",
    "country_of_formation": "US",
}
STAKEHOLDERS = [
    {
        "object_type": "STAKEHOLDER",
        "id": s,
        "name": {"legal_name": s.title()},
        "stakeholder_type": "INDIVIDUAL",
    }
    for s in ("ann", "bob")
]
COMMON = {
    "object_type": "STOCK_CLASS",
    "id": "common",
    "name": "Common",
    "class_type": "COMMON",
    "default_id_prefix": "CS-",
    "initial_shares_authorized": "1000",
    "votes_per_share": "1",
    "seniority": "1",
}


def issuance(security: str, holder: str, quantity: int, day: str = "2020-02-01") -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_ISSUANCE",
        "id": f"{security}-issuance",
        "security_id": security,
        "date": day,
        "stakeholder_id": holder,
        "stock_class_id": "common",
        "quantity": str(quantity),
        "share_price": {"amount": "1", "currency": "USD"},
        "custom_id": security,
        "security_law_exemptions": [],
        "stock_legend_ids": [],
    }


PLAN = {
    "object_type": "STOCK_PLAN",
    "id": "plan",
    "plan_name": "2020 Plan",
    "initial_shares_reserved": "500",
    "stock_class_ids": ["common"],
}
FOUR_YEARS_ONE_YEAR_CLIFF = json.loads(
    (ACME / "VestingTerms.ocf.json").read_text(encoding="utf-8")
)["items"]


def package(root: Path, transactions: list[dict[str, Any]], *, awards: bool = False) -> Path:
    """A package directory with Tiny Co, Ann and Bob, the class Common and ``transactions``
    (and with ``awards``, a plan of 500 shares and acme's vesting terms)."""
    files = {
        "Stakeholders.ocf.json": ("OCF_STAKEHOLDERS_FILE", STAKEHOLDERS, "stakeholders_files"),
        "StockClasses.ocf.json": ("OCF_STOCK_CLASSES_FILE", [COMMON], "stock_classes_files"),
        "Transactions.ocf.json": ("OCF_TRANSACTIONS_FILE", transactions, "transactions_files"),
    }
    if awards:
        files["StockPlans.ocf.json"] = ("OCF_STOCK_PLANS_FILE", [PLAN], "stock_plans_files")
        files["VestingTerms.ocf.json"] = (
            "OCF_VESTING_TERMS_FILE", FOUR_YEARS_ONE_YEAR_CLIFF, "vesting_terms_files",
        )  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    lists: dict[str, Any] = {}
    for name, (file_type, items, key) in files.items():
        (root / name).write_text(json.dumps({"file_type": file_type, "items": items}))
        lists[key] = [{"filepath": f"./{name}"}]
    body = {
        "ocf_version": "1.2.0",
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": ISSUER,
        "as_of": "2024-01-01",
        "generated_at": "2024-01-01T00:00:00Z",
        **lists,
    }
    (root / "Manifest.ocf.json").write_text(json.dumps(body))
    return root


def transfer(security: str, quantity: int, to: list[str], balance: str | None) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_TRANSFER",
        "id": f"{security}-transfer",
        "security_id": security,
        "date": "2020-03-01",
        "quantity": str(quantity),
        "resulting_security_ids": to,
        **({"balance_security_id": balance} if balance else {}),
    }


def test_a_transfer_beyond_the_position_is_an_error_and_left_out(
    memory: Ledger, tmp_path: Path
) -> None:
    root = package(
        tmp_path / "p",
        [
            issuance("s1", "ann", 100),
            transfer("s1", 150, ["s2"], None),
            issuance("s2", "bob", 150, "2020-03-01"),
        ],
    )
    result = import_package(memory, root, skip_invalid=True)
    assert codes(result)["s1-transfer"] == {"beyond-position"}
    assert codes(result, "warning")["s2-issuance"] == {"left-out"}
    assert held(memory, "tiny-co", "2020-12-31") == {"ann": {"common": 100}}


def test_a_partial_transfer_without_balance_ends_the_rest_with_a_finding(
    memory: Ledger, tmp_path: Path
) -> None:
    root = package(
        tmp_path / "p",
        [
            issuance("s1", "ann", 100),
            issuance("s2", "bob", 30, "2020-03-01"),
            transfer("s1", 30, ["s2"], None),
        ],
    )
    result = import_package(memory, root)
    assert not result.errors
    assert codes(result, "warning")["s1-transfer"] == {"no-balance-security"}
    assert held(memory, "tiny-co", "2020-03-01") == {"bob": {"common": 30}}
    external_ids = [e.data.get("external_id") for e in memory.history("tiny-co").events]
    assert external_ids[-2:] == ["ocf:s1-transfer", "ocf:s1-transfer#2"]


def test_an_object_the_ledger_refuses_is_left_out_and_named(ledger: Ledger, tmp_path: Path) -> None:
    # Within the schema and the package, but beyond the class's 1,000 authorized shares.
    root = package(tmp_path / "p", [issuance("s1", "ann", 600), issuance("s2", "bob", 600)])
    refused = import_package(ledger, root)
    (finding,) = refused.errors
    assert (finding.code, finding.object_id) == ("ledger-rule", "s2-issuance")
    assert "rule 2" in finding.message
    assert ledger.known_position() == 0
    stored = import_package(ledger, root, skip_invalid=True)
    assert held(ledger, "tiny-co", "2020-12-31") == {"ann": {"common": 600}}
    assert stored.stored == stored.events


def test_an_object_with_a_member_of_another_shape_is_left_out_and_named(
    memory: Ledger, tmp_path: Path
) -> None:
    safe = {
        "object_type": "TX_CONVERTIBLE_ISSUANCE",
        "id": "safe-issuance",
        "security_id": "safe",
        "custom_id": "SAFE-1",
        "date": "2020-03-01",
        "stakeholder_id": "bob",
        "convertible_type": "SAFE",
        "investment_amount": {"amount": "50000", "currency": "USD"},
        # OCF gives an object here; text is what a broken export might write.
        "conversion_triggers": [{"trigger_id": "t", "type": "ELECTIVE_AT_WILL",
                                 "conversion_right": "x"}],
        "security_law_exemptions": [],
    }  # fmt: skip
    root = package(tmp_path / "p", [issuance("s1", "ann", 600), safe])
    result = import_package(memory, root, skip_invalid=True)
    assert codes(result)["safe-issuance"] == {"unreadable"}
    assert held(memory, "tiny-co", "2020-12-31") == {"ann": {"common": 600}}


def grant(security: str, quantity: int, day: str) -> dict[str, Any]:
    """An option of Bob's from the plan, on acme's vesting terms."""
    return {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        "id": f"{security}-grant",
        "security_id": security,
        "date": day,
        "custom_id": security.upper(),
        "stakeholder_id": "bob",
        "stock_plan_id": "plan",
        "quantity": str(quantity),
        "exercise_price": {"amount": "0.50", "currency": "USD"},
        "compensation_type": "OPTION_ISO",
        "expiration_date": "2030-01-01",
        "vesting_terms_id": FOUR_YEARS_ONE_YEAR_CLIFF[0]["id"],
        "termination_exercise_windows": [],
        "security_law_exemptions": [],
    }


def test_an_option_with_vesting_exercised_with_a_balance_security(
    memory: Ledger, tmp_path: Path
) -> None:
    root = package(
        tmp_path / "p",
        [
            grant("o1", 480, "2020-02-01"),
            {
                "object_type": "TX_VESTING_START",
                "id": "o1-start",
                "security_id": "o1",
                "vesting_condition_id": "start_condition",
                "date": "2020-03-01",
            },
            {
                "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                "id": "o1-exercise",
                "security_id": "o1",
                "date": "2021-06-01",
                "quantity": "100",
                "resulting_security_ids": ["s1"],
                "balance_security_id": "o2",
            },
            issuance("s1", "bob", 100, "2021-06-01"),
            grant("o2", 380, "2021-06-01"),
        ],
        awards=True,
    )
    result = import_package(memory, root)
    assert not result.errors, result.errors
    (award,) = memory.grants("tiny-co", as_of=date(2021, 6, 1)).grants
    assert award.vesting is not None
    assert award.vesting.model_dump(mode="json") == {
        "start": "2020-03-01", "months": 48, "cliff_months": 12, "every_months": 1,
    }  # fmt: skip
    # 15 whole months of 48 vested; the balance security o2 goes on as the same grant.
    assert (award.grant, award.vested, award.exercised, award.outstanding) == ("o1", 150, 100, 380)
    assert held(memory, "tiny-co", "2021-06-01") == {"bob": {"common": 100}}


def test_an_option_partly_exercised_goes_on_as_the_resulting_option(
    memory: Ledger, tmp_path: Path
) -> None:
    # OCF's exercise has no balance_security_id: an option among its resulting securities is
    # the balance.
    exercise = {
        "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
        "id": "o1-exercise",
        "security_id": "o1",
        "date": "2021-06-01",
        "quantity": "100",
        "resulting_security_ids": ["s1", "o2"],
    }

    def exercised(name: str, balance: int) -> Path:
        return package(
            tmp_path / name,
            [grant("o1", 480, "2020-02-01"), exercise, issuance("s1", "bob", 100, "2021-06-01"),
             grant("o2", balance, "2021-06-01")],
            awards=True,
        )  # fmt: skip

    result = import_package(memory, exercised("right", 380))
    assert not result.errors, result.errors
    (award,) = memory.grants("tiny-co", as_of=date(2021, 6, 1)).grants
    assert (award.grant, award.exercised, award.outstanding) == ("o1", 100, 380)
    wrong = import_package(memory, exercised("wrong", 300), dry_run=True)
    assert codes(wrong)["o1-exercise"] == {"balance-mismatch"}


def test_a_plan_exists_from_its_approval_or_its_first_grant(memory: Ledger, tmp_path: Path) -> None:
    root = package(tmp_path / "p", [grant("o1", 100, "2020-03-01")], awards=True)
    plans = json.loads((root / "StockPlans.ocf.json").read_text())
    plans["items"][0]["board_approval_date"] = "2020-06-01"
    (root / "StockPlans.ocf.json").write_text(json.dumps(plans))
    result = import_package(memory, root)
    assert codes(result, "warning")["plan"] == {"date-mismatch"}
    assert memory.cap_table("tiny-co", as_of=date(2020, 2, 29)).pools == []
    (pool,) = memory.cap_table("tiny-co", as_of=date(2020, 3, 1)).pools
    assert pool.outstanding == 100


def test_board_relationships_become_the_board(memory: Ledger, tmp_path: Path) -> None:
    def change(number: int, day: str, **relationship: str) -> dict[str, Any]:
        return {
            "object_type": "CE_STAKEHOLDER_RELATIONSHIP",
            "id": f"ce-{number}",
            "stakeholder_id": "ann",
            "date": day,
            **relationship,
        }

    root = package(
        tmp_path / "p",
        [
            change(1, "2020-02-01", relationship_started="BOARD_MEMBER"),
            change(2, "2021-02-01", relationship_started="EMPLOYEE"),
            change(3, "2022-02-01", relationship_ended="BOARD_MEMBER"),
        ],
    )
    result = import_package(memory, root)
    assert codes(result, "info")["ce-2"] == {"not-held"}
    on_board = memory.board("tiny-co", as_of=date(2021, 12, 31)).directors
    assert [(d.person, str(d.since)) for d in on_board] == [("ann", "2020-02-01")]
    assert memory.board("tiny-co", as_of=date(2022, 2, 1)).directors == []


def test_an_issuer_without_formation_date_starts_at_the_first_date(
    memory: Ledger, tmp_path: Path
) -> None:
    root = package(tmp_path / "p", [issuance("s1", "ann", 100, "2020-05-01")])
    manifest = json.loads((root / "Manifest.ocf.json").read_text())
    del manifest["issuer"]["formation_date"]
    (root / "Manifest.ocf.json").write_text(json.dumps(manifest))
    result = import_package(memory, root)
    assert codes(result, "warning")["issuer"] == {"schema", "formation-assumed"}
    assert held(memory, "tiny-co", "2020-05-01") == {"ann": {"common": 100}}


def test_a_huge_quantity_is_an_error_finding(memory: Ledger, tmp_path: Path) -> None:
    root = package(tmp_path / "p", [issuance("s1", "ann", 10**30)])
    result = import_package(memory, root)
    assert codes(result)["s1-issuance"] == {"out-of-bounds"}
    assert memory.known_position() == 0


def hostile(tmp_path: Path) -> dict[str, Path]:
    """Packages that cannot be read at all."""
    cases: dict[str, Path] = {}
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["no Manifest.ocf.json"] = empty
    traversal = tmp_path / "traversal.zip"
    with zipfile.ZipFile(traversal, "w") as z:
        z.writestr("Manifest.ocf.json", json.dumps({"file_type": "OCF_MANIFEST_FILE"}))
        z.writestr("../../evil.ocf.json", "{}")
    cases["points outside the package"] = traversal
    outside = package(tmp_path / "outside", [])
    manifest = json.loads((outside / "Manifest.ocf.json").read_text())
    manifest["transactions_files"] = [{"filepath": "../../etc/passwd"}]
    (outside / "Manifest.ocf.json").write_text(json.dumps(manifest))
    cases["names a file outside the package"] = outside
    not_ocf = tmp_path / "not-ocf"
    not_ocf.mkdir()
    (not_ocf / "Manifest.ocf.json").write_text('[{"name": "a list"}]')
    cases["not an OCF file"] = not_ocf
    broken = package(tmp_path / "broken", [])
    (broken / "Transactions.ocf.json").write_text('{"file_type": "OCF_TRANSACTIONS_FILE", "ite')
    cases["malformed JSON"] = broken
    huge = package(tmp_path / "huge", [])
    (huge / "Stakeholders.ocf.json").write_text('{"file_type": "X", "n": ' + "9" * 5000 + "}")
    cases["a number of more than 4300 digits"] = huge
    linked = package(tmp_path / "linked", [])
    (tmp_path / "elsewhere.json").write_text(
        json.dumps({"file_type": "OCF_STAKEHOLDERS_FILE", "items": STAKEHOLDERS})
    )
    (linked / "Stakeholders.ocf.json").unlink()
    (linked / "Stakeholders.ocf.json").symlink_to(tmp_path / "elsewhere.json")
    cases["a link to a file outside the package"] = linked
    encrypted = tmp_path / "encrypted.zip"
    with zipfile.ZipFile(encrypted, "w") as z:
        z.writestr("Manifest.ocf.json", json.dumps({"file_type": "OCF_MANIFEST_FILE"}))
    data = bytearray(encrypted.read_bytes())
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central
        at = data.index(header) + flags
        data[at] |= 0x1  # the member says it is encrypted
    encrypted.write_bytes(bytes(data))
    cases["encrypted in the archive"] = encrypted
    nameless = package(tmp_path / "nameless", [])
    manifest = json.loads((nameless / "Manifest.ocf.json").read_text())
    manifest["issuer"] = {**ISSUER, "legal_name": "株式会社"}
    (nameless / "Manifest.ocf.json").write_text(json.dumps(manifest))
    cases["makes no slug: name the company with --company SLUG"] = nameless
    return cases


def test_hostile_packages_are_one_line_errors_and_store_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        for expected, path in hostile(tmp_path).items():
            with pytest.raises(InputError) as refused:
                import_package(ledger, path)
            message = str(refused.value)
            assert expected in message
            assert "\n" not in message
            assert "sys." not in message  # no advice meant for a programmer
            assert str(path) in message
        with pytest.raises(InputError, match="--company 'Not A Slug'"):
            import_package(ledger, ACME, company="Not A Slug")
        assert ledger.known_position() == 0
