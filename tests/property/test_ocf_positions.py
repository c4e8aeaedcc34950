"""OCF security positions, replayed by a naive model beside the importer: for any sequence of
issuances, transfers, cancellations and retractions (some beyond their position, some on a
security already extinguished), the imported cap table is what the model's securities add up
to, and importing the package again stores nothing. A terminal transaction left out (beyond
its position) leaves the shares where they were, and no later transaction may act on its
security: OCF extinguished it."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.ocf.importer import import_package
from ledger.persistence.url import MEMORY_URL

PARTIES = ("ann", "bob", "cy")
START = date(2020, 1, 1)


@dataclass
class Model:
    """Securities held: id → (holder, quantity); the securities a terminal transaction ended
    (whether or not it could be applied: no later transaction may act on them); the OCF
    objects written so far."""

    live: dict[str, tuple[str, int]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    objects: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def new_id(self) -> str:
        self.count += 1
        return f"s{self.count}"

    def issue(self, holder: str, quantity: int, day: str, *, live: bool = True) -> str:
        security = self.new_id()
        self.objects.append(
            {
                "object_type": "TX_STOCK_ISSUANCE",
                "id": f"{security}-issuance",
                "security_id": security,
                "date": day,
                "stakeholder_id": holder,
                "stock_class_id": "common",
                "quantity": str(quantity),
                "custom_id": security,
                "security_law_exemptions": [],
                "stock_legend_ids": [],
            }
        )
        if live:
            self.live[security] = (holder, quantity)
        return security

    def holdings(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for holder, quantity in self.live.values():
            totals[holder] = totals.get(holder, 0) + quantity
        return totals


@st.composite
def packages(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, int]]:
    model = Model()
    day = START
    for _ in range(draw(st.integers(1, 10))):
        day += timedelta(days=draw(st.sampled_from([0, 0, 1, 30])))
        text = day.isoformat()
        choices = ["issue"] + (["transfer", "cancel", "retract"] if model.live else [])
        action = draw(st.sampled_from(choices))
        if action == "issue":
            model.issue(draw(st.sampled_from(PARTIES)), draw(st.integers(1, 1000)), text)
            continue
        security = draw(st.sampled_from(sorted(model.live)))
        holder, held = model.live[security]
        valid = security not in model.closed
        base = {"id": f"{action}-{len(model.objects)}", "security_id": security, "date": text}
        if action == "retract":
            model.objects.append({"object_type": "TX_STOCK_RETRACTION", **base})
        else:
            quantity = draw(st.integers(1, held + 50))
            valid = valid and quantity <= held
            rest = held - quantity
            balance = None
            if rest > 0 and draw(st.booleans()):
                balance = model.issue(holder, rest, text, live=valid)
            tx: dict[str, Any] = {**base, "quantity": str(quantity)}
            if balance:
                tx["balance_security_id"] = balance
            if action == "transfer":
                to = draw(st.sampled_from(PARTIES))
                tx["resulting_security_ids"] = [model.issue(to, quantity, text, live=valid)]
                model.objects.append({"object_type": "TX_STOCK_TRANSFER", **tx})
            else:
                model.objects.append({"object_type": "TX_STOCK_CANCELLATION", **tx})
        if valid:
            del model.live[security]
        model.closed.add(security)  # extinguished, even when the transaction is refused
    return model.objects, model.holdings()


def write(root: Path, transactions: list[dict[str, Any]]) -> Path:
    stakeholders = [
        {"object_type": "STAKEHOLDER", "id": p, "name": {"legal_name": p},
         "stakeholder_type": "INDIVIDUAL"}
        for p in PARTIES
    ]  # fmt: skip
    common = {
        "object_type": "STOCK_CLASS", "id": "common", "name": "Common", "class_type": "COMMON",
        "default_id_prefix": "CS-", "initial_shares_authorized": "UNLIMITED",
        "votes_per_share": "1", "seniority": "1",
    }  # fmt: skip
    files = {
        "stakeholders_files": ("S.json", "OCF_STAKEHOLDERS_FILE", stakeholders),
        "stock_classes_files": ("C.json", "OCF_STOCK_CLASSES_FILE", [common]),
        "transactions_files": ("T.json", "OCF_TRANSACTIONS_FILE", transactions),
    }
    manifest: dict[str, Any] = {
        "file_type": "OCF_MANIFEST_FILE",
        "ocf_version": "1.2.0",
        "issuer": {"object_type": "ISSUER", "id": "i", "legal_name": "Prop Co",
                   "formation_date": START.isoformat(), "country_of_formation": "US"},
        "as_of": "2030-01-01",
        "generated_at": "2030-01-01T00:00:00Z",
    }  # fmt: skip
    for key, (name, file_type, items) in files.items():
        (root / name).write_text(json.dumps({"file_type": file_type, "items": items}))
        manifest[key] = [{"filepath": name}]
    (root / "Manifest.ocf.json").write_text(json.dumps(manifest))
    return root


@settings(max_examples=25)
@given(packages())
def test_the_cap_table_is_what_the_securities_in_force_hold(
    case: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    transactions, expected = case
    with tempfile.TemporaryDirectory() as directory, Ledger.open(MEMORY_URL) as ledger:
        root = write(Path(directory), transactions)
        result = import_package(ledger, root, skip_invalid=True)
        table = ledger.cap_table("prop-co", as_of=date(2030, 1, 1))
        assert {h.party: h.shares for h in table.holders if h.shares} == {
            holder: shares for holder, shares in expected.items() if shares
        }
        again = import_package(ledger, root, skip_invalid=True)
        assert (again.stored, again.skipped) == (0, result.events)
