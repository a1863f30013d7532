"""`ask -` with worker processes: the same output as one process, Ctrl-C and a killed parent.

Piped questions are answered by one forked worker per usable core (ASK_WORKERS); what the
user sees must not change with it, and no process may outlive the command.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import cli
from bot.faults import FAULT, INTERRUPTED

Env = Callable[..., dict[str, str]]
QUESTIONS = [
    "¿Hasta cuándo estará vigente el acuerdo?",
    "¿Qué es el ROFR?",
    "",  # an empty line: an error, the stream goes on
    "What does Amazon think about the deal?",
    "¿Cuánto invirtió Microsoft en OpenAI?",
    "zxcvb poiuy",
]
# Enough lines for many batches, bad ones among them (not UTF-8, a NUL).
DATA = b"".join(
    [q.encode() + b"\n" for q in QUESTIONS * 12]
    + [b"\xff\xfe no es utf-8\n", b"a\x00b\n"]
    + [q.encode() + b"\n" for q in QUESTIONS * 3]
)


@pytest.mark.parametrize("as_json", [True, False])
def test_workers_answer_exactly_as_one_process(engine, as_json: bool) -> None:
    runs = []
    for workers in (1, 2):
        out, err = io.StringIO(), io.StringIO()
        failed = cli.ask_stream(
            engine,
            io.BytesIO(DATA),
            out,
            as_json=as_json,
            lang="es",
            k=3,
            err=err,
            workers=workers,
        )
        runs.append((failed, out.getvalue(), err.getvalue()))
    assert runs[0] == runs[1]
    failed, out, err = runs[0]
    assert failed == 15 + 2  # the empty lines, the line that is not UTF-8, the NUL
    if as_json:
        assert len(out.splitlines()) == DATA.count(b"\n")
    else:
        assert len(err.splitlines()) == failed


def children(pid: int) -> list[int]:
    """Return the processes `pid` started (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def ended(pid: int) -> bool:
    """Tell whether a process is gone or only a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def streaming(cli_env: Env, tmp_path: Path):
    """Start `ask - --json` with two workers, ask one question, and wait for its answer."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], list[int]]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "ask", "-", "--json"],
            cwd=tmp_path,
            env=cli_env(ASK_WORKERS="2", MEANING="off", TRANSLATOR="off"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(QUESTIONS[0].encode() + b"\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["answered"] is True
        workers = children(proc.pid)
        assert len(workers) == 2, workers
        return proc, workers

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_piped_workers_answer_like_one_process(cli_env: Env, tmp_path: Path) -> None:
    outputs = []
    for workers in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "-", "--json"],
            cwd=tmp_path,
            env=cli_env(ASK_WORKERS=workers, MEANING="off"),
            input=DATA,
            capture_output=True,
            timeout=120,
        )
        assert result.returncode == FAULT, result.stderr  # some lines failed
        assert b"Traceback" not in result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == DATA.count(b"\n")


def test_ctrl_c_ends_the_stream_and_its_workers_cleanly(streaming) -> None:
    proc, workers = streaming()
    # A terminal's Ctrl-C reaches the whole foreground group: the command and its workers.
    for pid in (proc.pid, *workers):
        os.kill(pid, signal.SIGINT)
    assert proc.wait(timeout=30) == INTERRUPTED
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    assert "Traceback" not in stderr and "Fatal" not in stderr, stderr
    assert wait_until(lambda: all(ended(pid) for pid in workers)), "a worker outlived Ctrl-C"


def test_workers_end_when_the_command_is_killed(streaming) -> None:
    proc, workers = streaming()
    proc.kill()  # SIGKILL: no chance to stop its workers itself
    proc.wait(timeout=30)
    assert wait_until(lambda: all(ended(pid) for pid in workers)), "orphaned workers"


class _Stdin:
    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_piped_questions_get_a_worker_per_core_and_a_terminal_one() -> None:
    from bot.__main__ import stream_workers
    from bot.core.workers import usable_cores
    from bot.settings import Settings

    default = Settings(_env_file=None)
    assert stream_workers(default, _Stdin(terminal=True)) == 1
    assert stream_workers(default, _Stdin(terminal=False)) == usable_cores()
    chosen = Settings(_env_file=None, ask_workers=3)
    assert stream_workers(chosen, _Stdin(terminal=True)) == 3


@pytest.mark.parametrize("value", ["0", "-2", "many", "65"])
def test_a_bad_ask_workers_is_one_error_line(cli_env: Env, tmp_path: Path, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "-", "--json"],
        cwd=tmp_path,
        env=cli_env(ASK_WORKERS=value),
        input=QUESTIONS[0].encode() + b"\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: setting ASK_WORKERS:")
    assert len(result.stderr.splitlines()) == 1 and not result.stdout


@pytest.mark.parametrize("as_json", [True, False])
def test_answering_a_stream_makes_no_reference_cycles(engine, as_json: bool) -> None:
    """`ask -` answers with the cyclic collector off (cli.STREAM_COLLECT_EVERY): all that a
    question leaves behind must be freed by reference counting alone, bad lines included."""
    import gc

    from bot.core.evaluate import load_cases

    repo = Path(__file__).resolve().parents[1]
    questions = [
        c.q
        for name in ("questions.jsonl", "english_questions.jsonl", "extra_questions.jsonl")
        for c in load_cases(repo / "eval" / name)
    ]
    data = "".join(q + "\n" for q in questions).encode() + DATA
    gc.collect()
    gc.disable()
    try:
        for _ in range(2):  # the second time through, every cache is warm
            cli.ask_stream(
                engine,
                io.BytesIO(data),
                io.StringIO(),
                as_json=as_json,
                lang="en",
                k=3,
                err=io.StringIO(),
            )
        left = gc.collect()
    finally:
        gc.enable()
    assert left == 0, "answering left reference cycles behind"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_error_line_comes_after_the_answers_before_it(
    cli_env: Env, tmp_path: Path, workers: str
) -> None:
    """Text mode on one terminal (stdout and stderr together): line 3's error is printed
    after the answers to lines 1 and 2, and before line 4's."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "-"],
        cwd=tmp_path,
        env=cli_env(ASK_WORKERS=workers, MEANING="off"),
        input=f"{QUESTIONS[0]}\n{QUESTIONS[1]}\n\n{QUESTIONS[4]}\n".encode(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    shown = [
        line
        for line in result.stdout.decode().splitlines()
        if line.startswith(("error:", "Pregunta:"))
    ]
    assert shown == [
        f"Pregunta: {QUESTIONS[0]}",
        f"Pregunta: {QUESTIONS[1]}",
        "error: line 3: La pregunta está vacía.",
        f"Pregunta: {QUESTIONS[4]}",
    ]
