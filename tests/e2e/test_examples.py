"""The seed-stage example (examples/seed-stage/, walked through in docs/instruments.md) records
as a user would record it, and its key figures are the ones the walkthrough gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cli

SEED_STAGE = sorted((Path(__file__).parents[2] / "examples" / "seed-stage").glob("*.yaml"))
COMPANY = "lumen-robotics"


@pytest.fixture
def lumen(engine_cli: Cli) -> Cli:
    recorded = engine_cli("record", *map(str, SEED_STAGE))
    assert recorded.code == 0, recorded.err
    assert recorded.out.startswith(f"recorded 34 events for {COMPANY} (positions 1-34)\n")
    return engine_cli


def cap_table(cli: Cli, as_of: str) -> dict[str, Any]:
    answer: dict[str, Any] = cli("cap-table", COMPANY, "--as-of", as_of, "--format", "json").json()
    return answer


def shares(answer: dict[str, Any]) -> dict[str, int]:
    """The holders of shares (a holder of awards or warrants only is listed with 0)."""
    return {h["party"]: h["shares"] for h in answer["holders"] if h["shares"]}


def test_the_seed_stage_story_gives_the_figures_of_its_walkthrough(lumen: Cli) -> None:
    # Before the round: the founders' 8,000,000 and Lea's exercise of 100,000.
    before = cap_table(lumen, "2022-10-02")
    assert (before["total_shares"], shares(before)) == (
        8_100_000,
        {"maya": 4_500_000, "raj": 3_500_000, "lea": 100_000},
    )
    # Fully diluted: 8,100,000 shares + 350,000 outstanding awards (Lea's 300,000, Ken's
    # 50,000) + the plan's 1,500,000 − 100,000 exercised − 350,000 = 1,050,000 available.
    assert before["fully_diluted_total"] == 9_500_000

    # The round: the SAFE converts at its cap into 10,000,000 · 0.1 / 0.9 = 1,111,111 (fully
    # diluted before it: 8,100,000 shares + 350,000 awards + 1,550,000 available), and
    # Harbor buys 2,500,000 at $1.44.
    seed = cap_table(lumen, "2022-10-03")
    assert (seed["total_shares"], shares(seed)) == (
        11_711_111,
        {
            "maya": 4_500_000,
            "raj": 3_500_000,
            "harbor-ventures": 2_500_000,
            "pine-angels": 1_111_111,
            "lea": 100_000,
        },
    )
    pine = next(h for h in seed["holders"] if h["party"] == "pine-angels")
    assert pine["ownership_percent"] == "9.4877"
    assert seed["valuation"] == {
        "amount": "19600000",
        "currency": "USD",
        "basis": "post-money",
        "effective_date": "2022-10-03",
    }
    events = lumen("history", COMPANY, "--format", "json").json()["events"]
    conversion = next(e["data"] for e in events if e["type"] == "ConvertibleConverted")
    assert (conversion["derived_shares"], conversion.get("shares")) == (1_111_111, None)

    # Ken's RSUs settle in 50,000 common; then every class splits 2-for-1.
    split = cap_table(lumen, "2024-06-03")
    assert (split["total_shares"], shares(split)) == (
        23_522_222,
        {
            "maya": 9_000_000,
            "raj": 7_000_000,
            "harbor-ventures": 5_000_000,
            "pine-angels": 2_222_222,
            "lea": 200_000,
            "ken-sato": 100_000,
        },
    )


EVENTS_MD = Path(__file__).parents[2] / "docs" / "events.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def test_the_examples_of_the_event_reference_record_one_after_the_other(cli: Cli) -> None:
    # Every block but the ways to write money (not events) and the corrections (their
    # targets are ids of another ledger).
    blocks = [
        block
        for block in YAML_BLOCK.findall(EVENTS_MD.read_text(encoding="utf-8"))
        if block.startswith("- ") and "target:" not in block
    ]
    recorded = cli("record", cli.write("globex.yaml", "".join(blocks)))
    assert recorded.code == 0, recorded.err
    assert recorded.out.startswith("recorded 35 events for globex (positions 1-35)\n")
    events = cli("history", "globex", "--format", "json").json()["events"]
    conversion = next(e["data"] for e in events if e["type"] == "ConvertibleConverted")
    assert conversion["derived_shares"] == 565_217
