"""End-to-end fixtures: the command line run as a user types it, in a subprocess.

``Cli`` runs ``python -m ledger --db URL ARGS…`` in a working directory of the test's own,
with a clean environment (no ``CORPLEDGER_DB``; ``CORPLEDGER_ACTOR=e2e-tester``; a fixed
terminal width so tables lay out the same everywhere).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger import cli as ledger_cli
from ledger.files import read_items
from tests.conftest import drop_pg_database, new_pg_database

ACME = Path(__file__).parent.parent / "data" / "acme-rockets.yaml"
ACME_EVENTS = 11

# After acme-rockets.yaml: ben sells 1,500,000 common to carol; the board has one seat.
LATER = """\
- {type: SharesTransferred, company: acme-rockets, from: ben, to: carol, share_class: common, shares: 1500000, effective_date: 2022-01-01}
- {type: BoardSizeSet, company: acme-rockets, seats: 1, effective_date: 2022-01-01}
"""  # noqa: E501
BASE_EVENTS = ACME_EVENTS + 2

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def pattern(expected: str) -> str:
    """``expected`` as a regular expression in which ``{uuid}`` stands for any event id."""
    return re.escape(expected).replace(re.escape("{uuid}"), UUID)


@dataclass(frozen=True)
class Run:
    """What one command did: exit code, standard output, standard error."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)

    @property
    def lines(self) -> list[str]:
        """Standard output, one entry a line, blanks dropped and runs of spaces collapsed."""
        return [" ".join(line.split()) for line in self.out.splitlines() if line.strip()]


SUBPROCESS = os.environ.get("CORPLEDGER_E2E_SUBPROCESS", "") not in ("", "0")
"""Run each command in a new interpreter, as ``python -m ledger`` (set
CORPLEDGER_E2E_SUBPROCESS=1), instead of in a process forked from this one with corpledger
already imported: the same program in a process of its own, without the interpreter's
start-up and imports each time (``tests/e2e/test_cli_contract.py`` always runs the installed
program itself)."""


WARM = ("ledger.app", "ledger.persistence.schema", "projections.service")
"""The modules a command imports when it runs (``corpledger`` itself imports them lazily, to
start quickly): imported here once, so that no forked command imports them again."""


def forked(argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None) -> Run:
    """``python -m ledger ARGV`` from ``cwd`` with ``env``, in a forked child: its own
    process, working directory, environment and standard streams (files, read afterwards), its
    exit code. The child leaves with ``os._exit``: nothing of this process's is cleaned up
    twice."""
    for module in WARM:
        importlib.import_module(module)
    with tempfile.TemporaryDirectory(prefix="cli-") as tmp:
        paths = [Path(tmp, name) for name in ("in", "out", "err")]
        paths[0].write_text(stdin or "", encoding="utf-8")
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                writing = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                for fd, path in enumerate(paths):
                    os.dup2(os.open(path, writing if fd else os.O_RDONLY, 0o600), fd)
                sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.argv = [str(Path(ledger_cli.__file__).with_name("__main__.py")), *argv]
                try:
                    code = ledger_cli.run(argv)
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else 1
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        deadline = time.monotonic() + 120
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise TimeoutError(f"corpledger {' '.join(argv)} ran for 120 s")
            time.sleep(0.005)
        out, err = (path.read_text(encoding="utf-8") for path in paths[1:])
    return Run(os.waitstatus_to_exitcode(done[1]), out, err)


@dataclass
class Cli:
    """The command line against one ledger, run from ``cwd``."""

    url: str | None
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Run:
        argv = [*(["--db", self.url] if self.url is not None else []), *args]
        environment = {**clean_env(), **self.env, **env}
        if SUBPROCESS:
            done = subprocess.run(
                [sys.executable, "-m", "ledger", *argv],
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                text=True,
                env=environment,
                timeout=120,
                check=False,
            )
            return Run(done.returncode, done.stdout, done.stderr)
        return forked(argv, self.cwd, environment, stdin)

    def write(self, name: str, text: str) -> str:
        """Write an event file into the working directory; returns its name."""
        (self.cwd / name).write_text(text, encoding="utf-8")
        return name

    def elsewhere(self, cwd: Path) -> Cli:
        """The same ledger, run from another directory."""
        cwd.mkdir(parents=True, exist_ok=True)
        return Cli(self.url, cwd, dict(self.env))

    def stored(self) -> int:
        """How many events the ledger holds (read through the API, not the CLI)."""
        assert self.url is not None
        with Ledger.open(self.url) as ledger:
            return ledger.known_position()


def at_once(calls: Sequence[Callable[[], Run]]) -> list[Run]:
    """Run independent commands side by side (one per core): the suite stays quick."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda call: call(), calls))


def refuse_all(ledger: Cli, cases: Sequence[Any], home: Path) -> dict[str, Run]:
    """Record each case's file (a ``pytest.param`` of name, text, expected message), each
    from a directory of its own, side by side; the runs by case id."""
    calls = []
    for number, case in enumerate(cases):
        name, text, _ = case.values
        where = ledger.elsewhere(home / f"case-{number}")
        calls.append(partial(where, "record", where.write(name, text)))
    return dict(zip((case.id for case in cases), at_once(calls), strict=True))


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORPLEDGER_")}
    env.update(
        CORPLEDGER_ACTOR="e2e-tester",
        COLUMNS="100",
        LINES="50",
        PYTHONIOENCODING="utf-8",
    )
    return env


def assert_refused(run: Run, expected: str) -> None:
    """Exit 2, exactly one line on stderr (``error: `` + ``expected``), nothing on stdout."""
    assert (run.code, run.out) == (2, ""), run.err
    assert "Traceback" not in run.err
    assert run.err.count("\n") == 1, run.err
    assert run.err.endswith("\n"), run.err
    assert re.fullmatch(pattern(f"error: {expected}"), run.err.rstrip("\n")), run.err


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The command line on a fresh SQLite ledger file in the test's directory."""
    return Cli(f"sqlite:///{tmp_path}/ledger.db", tmp_path)


@pytest.fixture
def pg_cli(pg_url: str, tmp_path: Path) -> Cli:
    """The command line on a fresh PostgreSQL database of the test's own."""
    return Cli(pg_url, tmp_path)


def prepare(cli: Cli, *files: str) -> Cli:
    """Record ``files`` through the API (quicker than a command; setup, not the test)."""
    assert cli.url is not None
    with Ledger.open(cli.url) as ledger:
        items = [item for path in files for item in read_items(path)]
        ledger.record(items, actor="e2e-setup")
    return cli


@pytest.fixture
def acme(cli: Cli) -> Cli:
    """A SQLite ledger holding the acme-rockets scenario (positions 1 to 11)."""
    return prepare(cli, str(ACME))


def record_base(cli: Cli) -> Cli:
    prepare(cli, str(ACME), str(cli.cwd / cli.write("later.yaml", LATER)))
    assert cli.stored() == BASE_EVENTS
    return cli


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One SQLite ledger for a module's refusals: acme-rockets and LATER (13 events)."""
    home = tmp_path_factory.mktemp("base")
    return record_base(Cli(f"sqlite:///{home}/ledger.db", home))


@pytest.fixture(scope="module")
def pg_base(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The same as ``base`` on a PostgreSQL database of the module's own."""
    url = new_pg_database(pg_server)
    try:
        yield record_base(Cli(url, tmp_path_factory.mktemp("pg-base")))
    finally:
        drop_pg_database(url)


@pytest.fixture
def engine_cli(durable_url: str, tmp_path: Path) -> Cli:
    """The command line on a fresh ledger of each durable engine (SQLite, PostgreSQL)."""
    return Cli(durable_url, tmp_path)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (.ci/run installs it): the browser tests drive it with playwright."""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, for the system Chromium (playwright cannot
    download its own here). Without it the browser tests are skipped, except under CI."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI runs the browser tests")
        pytest.skip(f"{message}: browser tests skipped")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }


STARTUP = 30.0
"""Seconds ``corpledger serve`` may take to answer /healthz on a loaded machine."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch_json(
    url: str, headers: dict[str, str] | None = None, body: object = None
) -> tuple[int, Any]:
    """A request to a server in another process (a POST of ``body`` as JSON if given, else a
    GET): its status and its JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_until_up(base: str, server: subprocess.Popen[str]) -> tuple[int, Any]:
    """``GET /healthz`` of the server at ``base`` once it answers (it fails if ``server``
    exits first, or takes longer than ``STARTUP``)."""
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            return fetch_json(f"{base}/healthz")
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


@dataclass
class Server:
    """A ``corpledger serve`` process: its base URL; once stopped, its exit code and stderr."""

    base: str
    process: subprocess.Popen[str]
    code: int | None = None
    err: str = ""


@contextmanager
def serving(url: str, *options: str) -> Iterator[Server]:
    """``corpledger --db URL serve`` on a free port, as a user starts it (a subprocess), until
    it answers /healthz; stopped with SIGTERM on leaving."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", url, "serve", "--port", str(port), *options],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_up(server.base, process)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        _, server.err = process.communicate(timeout=30)
        server.code = process.returncode
