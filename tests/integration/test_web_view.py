"""The company view's embedded data (ledger/web/view.py), decoded as the page decodes it,
equals the API's answers cell by cell: back-dated events, a correction that moves a fact to
an earlier date and a retraction included. And stored text cannot leave its script."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.files import read_items
from ledger.web.view import (
    company_view,
    encode_grid,
    render_company_page,
    script_json,
    view_cells,
)
from tests.e2e.test_report import HOSTILE, record_demo

AMENDMENTS: list[list[dict[str, Any]]] = [
    [  # back-dated: recorded after Meta's investment, effective years before
        {"type": "SharesIssued", "company": "scale-ai", "effective_date": "2020-01-01",
         "holder": "angel", "share_class": "common", "shares": 100_000, "external_id": "angel-1"},
        {"type": "SharesIssued", "company": "scale-ai", "effective_date": "2021-01-01",
         "holder": "angel-two", "share_class": "common", "shares": 50_000,
         "external_id": "angel-2"},
    ],
    [  # moves the first to an earlier date, with another count
        {"type": "EventCorrected", "company": "scale-ai", "target_external_id": "angel-1",
         "reason": "the register says 120,000 in 2018",
         "replacement": {"type": "SharesIssued", "company": "scale-ai",
                         "effective_date": "2018-06-01", "holder": "angel",
                         "share_class": "common", "shares": 120_000}},
    ],
    [{"type": "EventRetracted", "company": "scale-ai", "target_external_id": "angel-2",
      "reason": "never issued"}],
    [HOSTILE],
]  # fmt: skip


@pytest.fixture(scope="module")
def amended(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('view')}/ledger.db"
    with Ledger.open(url) as ledger:
        record_demo(ledger)
        for batch in AMENDMENTS:
            ledger.record(batch, actor="amender")
    return url


def decode(view: dict[str, Any]) -> list[list[int]]:
    grid: list[list[int]] = []
    previous: list[int] = []
    for start, runs in view["grid"]:
        line = previous[:start]
        for k in range(0, len(runs), 2):
            line += [runs[k]] * runs[k + 1]
        grid.append(line)
        previous = line
    return grid


def holders_of(view: dict[str, Any], number: int) -> set[int]:
    return members(view, number, "holders")


def members(view: dict[str, Any], number: int, section: str) -> set[int]:
    """A snapshot's rows of a long table (holders, grants), through its chain of parents."""
    chain = []
    while number is not None:
        chain.append(view["snapshots"][number])
        number = view["snapshots"][number]["parent"]
    rows: set[int] = set()
    for snapshot in reversed(chain):
        gone, come = snapshot[section]
        rows = (rows - set(gone)) | set(come)
    return rows


def test_every_sampled_cell_of_the_view_equals_the_apis_answer(amended: str) -> None:
    with Ledger.open(amended) as ledger:
        view = company_view(ledger, "scale-ai", date(2026, 1, 1))
        grid = decode(view)
        dates = view["dates"]
        positions = [r["position"] for r in view["recordings"]]
        assert len(grid) == len(positions) == 27
        assert all(len(line) == len(dates) for line in grid)
        cells = [(i, j) for j in range(len(positions)) for i in range(len(dates))]
        for i, j in [*random.Random(3).sample(cells, 80), (dates.index("2019-08-01"), 25)]:
            day, position = date.fromisoformat(dates[i]), positions[j]
            table = ledger.cap_table("scale-ai", as_of=day, known_at=position)
            roster = ledger.roster("scale-ai", as_of=day, known_at=position)
            snapshot = view["snapshots"][grid[j][i]]
            rows = [view["rows"]["holders"][n] for n in holders_of(view, grid[j][i])]
            assert sorted(rows) == sorted(
                [h.party, h.name, h.classes, h.options, h.warrants] for h in table.holders
            ), (day, position)
            assert (snapshot["total"], snapshot["diluted"]) == (
                table.total_shares,
                table.fully_diluted_total,
            )
            officers = [view["rows"]["officers"][n] for n in snapshot["officers"]]
            assert [o[2] for o in officers] == [o.person for o in roster.officers]


def cell_of(view: dict[str, Any], number: int) -> tuple[Any, ...]:
    """A snapshot as the page shows it: its long tables' rows and its short tables' rows."""
    snapshot = view["snapshots"][number]
    rows = view["rows"]
    short = ("pools", "warrants", "convertibles", "officers", "directors")
    return (
        sorted(rows["holders"][n] for n in holders_of(view, number)),
        sorted(rows["grants"][n] for n in members(view, number, "grants")),
        snapshot["total"],
        snapshot["diluted"],
        snapshot["valuation"],
        *([rows[name][n] for n in snapshot[name]] for name in short),
    )


def test_the_served_pages_cells_and_lines_are_the_reports(amended: str) -> None:
    """One source of figures: a cell the served page fetches, and a known-at step's line,
    equal the report's cells (corrections, retractions and back-dated events included)."""
    with Ledger.open(amended) as ledger:
        view = company_view(ledger, "scale-ai", date(2026, 1, 1))
        grid, dates = decode(view), view["dates"]
        positions = [r["position"] for r in view["recordings"]]
        for j in (0, 16, 22, 23, 24, 25, 26):
            line = view_cells(ledger, "scale-ai", date(2026, 1, 1), positions[j], line=True)
            assert line["dates"] == dates
            for i, number in enumerate(line["cells"]):
                assert cell_of(line, number) == cell_of(view, grid[j][i]), (dates[i], j)
            for i in random.Random(j).sample(range(len(dates)), 3):
                day = date.fromisoformat(dates[i])
                cell = view_cells(ledger, "scale-ai", day, positions[j], line=False)
                assert cell_of(cell, cell["cells"][0]) == cell_of(view, grid[j][i])


def test_the_correction_and_the_retraction_change_the_cells_they_bear_on(amended: str) -> None:
    with Ledger.open(amended) as ledger:
        view = company_view(ledger, "scale-ai", date(2026, 1, 1))
    grid, dates = decode(view), view["dates"]
    positions = [r["position"] for r in view["recordings"]]

    def angels(day: str, position: int) -> dict[str, dict[str, int]]:
        n = grid[positions.index(position)][dates.index(day)]
        rows = (view["rows"]["holders"][r] for r in holders_of(view, n))
        return {row[0]: row[2] for row in rows if row[0].startswith("angel")}

    assert angels("2021-01-01", 23) == {"angel": {"common": 100_000}}
    assert angels("2021-01-01", 24) == {
        "angel": {"common": 100_000},
        "angel-two": {"common": 50_000},
    }
    assert angels("2018-06-01", 24) == {}
    assert angels("2018-06-01", 25) == {"angel": {"common": 120_000}}
    assert angels("2021-01-01", 26) == {"angel": {"common": 120_000}}


def test_stored_text_cannot_close_the_script_that_carries_it() -> None:
    text = script_json({"note": "</script><!-- <script>&"})
    assert not set("<>&") & set(text)
    assert json.loads(text) == {"note": "</script><!-- <script>&"}


def test_the_grid_is_stored_as_each_positions_change_from_the_one_before() -> None:
    grid = [[0, 0, 0], [0, 1, 1], [0, 1, 2], [0, 1, 2]]
    assert encode_grid(grid) == [[0, [0, 3]], [1, [1, 2]], [2, [2, 1]], [3, []]]
    assert decode({"grid": encode_grid(grid)}) == grid


def test_the_page_escapes_every_stored_text(amended: str) -> None:
    with Ledger.open(amended) as ledger:
        page = render_company_page(ledger, "scale-ai", assets_url="/static")
    for hostile in ("<script>window.hacked", "<img src=x", "</script><script>window.hacked=3"):
        assert hostile not in page
    assert "&lt;img src=x onerror=&#34;window.hacked=2&#34;&gt;&lt;!-- a note" in page
    assert '<script src="/static/plotly.min.js"></script>' in page


SEED_STAGE = sorted((Path(__file__).parents[2] / "examples" / "seed-stage").glob("*.yaml"))


@pytest.fixture(scope="module")
def seed_stage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The seed-stage example, one recording per file: a SAFE, a stock plan and its grants,
    an exercise, a priced round, venture debt with a warrant, a split."""
    url = f"sqlite:///{tmp_path_factory.mktemp('seed')}/ledger.db"
    with Ledger.open(url) as ledger:
        for path in SEED_STAGE:
            ledger.record(read_items(str(path)), actor="example")
    return url


def test_a_company_with_grants_and_warrants_has_a_state_at_every_date(seed_stage: str) -> None:
    """Vesting and expiry move with the date alone: grants, pools and warrants of sampled
    cells equal the API's."""
    with Ledger.open(seed_stage) as ledger:
        company = ledger.companies().companies[0].company
        view = company_view(ledger, company, date(2026, 1, 1))
        grid, dates = decode(view), view["dates"]
        positions = [r["position"] for r in view["recordings"]]
        cells = [(i, j) for j in range(len(positions)) for i in range(len(dates))]
        for i, j in random.Random(5).sample(cells, 60):
            day, position = date.fromisoformat(dates[i]), positions[j]
            table = ledger.cap_table(company, as_of=day, known_at=position)
            grants = ledger.grants(company, as_of=day, known_at=position)
            n = grid[j][i]
            snapshot = view["snapshots"][n]
            rows = [view["rows"]["holders"][r] for r in holders_of(view, n)]
            assert sorted(rows) == sorted(
                [h.party, h.name, h.classes, h.options, h.warrants] for h in table.holders
            ), (day, position)
            assert snapshot["diluted"] == table.fully_diluted_total
            shown = sorted(view["rows"]["grants"][r] for r in members(view, n, "grants"))
            assert [(g[0], g[7], g[10]) for g in shown] == [
                (g.grant, g.vested, g.outstanding) for g in grants.grants
            ]
            pools = [view["rows"]["pools"][r] for r in snapshot["pools"]]
            assert [p[-1] for p in pools] == [p.available for p in table.pools]
            warrants = [view["rows"]["warrants"][r] for r in snapshot["warrants"]]
            assert [w[7] for w in warrants] == [w.outstanding for w in table.warrants]


def test_a_page_is_kept_until_the_log_grows(tmp_path: Path) -> None:
    acme = Path(__file__).parents[1] / "data" / "acme-rockets.yaml"
    renamed = {
        "type": "StakeholderRecorded",
        "company": "acme-rockets",
        "party": "ana",
        "effective_date": "2020-01-01",
        "name": "Ana Renamed",
        "kind": "individual",
    }
    with Ledger.open(f"sqlite:///{tmp_path}/ledger.db") as ledger:
        ledger.record(read_items(str(acme)))
        first = render_company_page(ledger, "acme-rockets", date(2026, 1, 1))
        assert render_company_page(ledger, "acme-rockets", date(2026, 1, 1)) == first
        ledger.record([renamed])
        again = render_company_page(ledger, "acme-rockets", date(2026, 1, 1))
    assert "Ana Renamed" not in first
    assert "Ana Renamed" in again


def test_every_line_of_a_company_with_grants_warrants_and_a_split_is_the_reports(
    seed_stage: str,
) -> None:
    """A known-at step's line folds its entries once, date by date: its cells equal the
    report's, where vesting moves with the date and a split moves every holder."""
    with Ledger.open(seed_stage) as ledger:
        company = ledger.companies().companies[0].company
        view = company_view(ledger, company, date(2026, 1, 1))
        grid, dates = decode(view), view["dates"]
        for j, recording in enumerate(view["recordings"]):
            line = view_cells(ledger, company, date(2026, 1, 1), recording["position"], line=True)
            assert line["dates"] == dates
            for i, number in enumerate(line["cells"]):
                assert cell_of(line, number) == cell_of(view, grid[j][i]), (dates[i], j)
