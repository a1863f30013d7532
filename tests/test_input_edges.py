"""Input edges: bytes that are not UTF-8, NUL, direction overrides and invisible questions.

Through the real process where the item is about the process (stdin, stdout, exit codes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunBot

from bot.core.answer import clean_question
from bot.core.errors import QuestionError
from bot.faults import FAULT

QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"
Env = Callable[..., dict[str, str]]


def ask_stdin(
    cli_env: Env, tmp_path: Path, data: bytes, *args: str, **env: str
) -> subprocess.CompletedProcess[bytes]:
    """`python -m bot ask - ARGS` fed raw bytes; stdout and stderr come back as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", "-", *args],
        cwd=tmp_path,
        env=cli_env(**env),
        input=data,
        capture_output=True,
        timeout=60,
    )


# A strict 7-bit locale: before, the first non-ASCII byte crashed the batch and lost it all.
STRICT = {"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii:strict", "PYTHONUTF8": "0"}
BATCH = (
    b"\n".join(
        [
            QUESTION.encode(),
            b"\xff\xfe no es utf-8 \xc3",  # invalid UTF-8
            "¿Qué es el ROFR?".encode("latin-1"),  # valid Latin-1, invalid UTF-8
            b"a\x00b",  # NUL
            QUESTION.encode(),
        ]
    )
    + b"\n"
)


@pytest.mark.parametrize("locale", ["strict", "utf-8"])
def test_ask_stdin_json_reports_bad_lines_and_stays_valid_utf8(
    cli_env: Env, tmp_path: Path, locale: str
) -> None:
    env = STRICT if locale == "strict" else {}
    result = ask_stdin(cli_env, tmp_path, BATCH, "--json", **env)
    assert result.returncode == FAULT, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"\x00" not in result.stdout
    lines = result.stdout.decode("utf-8").splitlines()  # strict: must be valid UTF-8
    objects = [json.loads(line) for line in lines]
    assert len(objects) == 5, lines  # one output line per input line, in order
    first, bad, latin, nul, last = objects
    assert first["answered"] is True and last["answered"] is True
    assert first["question"] == QUESTION
    for obj in (bad, latin):
        assert set(obj) == {"question", "error"} and "UTF-8" in obj["error"]
        assert "\ufffd" in obj["question"]  # shown, never as raw bytes
    assert set(nul) == {"question", "error"} and "control" in nul["error"]


def test_ask_stdin_text_mode_sends_errors_to_stderr_not_stdout(
    cli_env: Env, tmp_path: Path
) -> None:
    result = ask_stdin(cli_env, tmp_path, BATCH, **STRICT)
    assert result.returncode == FAULT
    out, err = result.stdout.decode("ascii"), result.stderr.decode("ascii")
    assert "\x00" not in out and "error" not in out
    assert out.count("Pregunta:") == 2  # the two good questions, answered
    errors = err.splitlines()
    assert [e.split(":")[1].strip() for e in errors] == ["line 2", "line 3", "line 4"]
    assert all(e.startswith("error: line ") for e in errors)


def test_ask_stdin_exits_0_when_every_line_is_answered(cli_env: Env, tmp_path: Path) -> None:
    data = f"\ufeff{QUESTION}\r\nzxcvb poiuy\n".encode()  # a BOM and CRLF are fine
    result = ask_stdin(cli_env, tmp_path, data, "--json")
    assert result.returncode == 0, result.stderr
    questions = [json.loads(line)["question"] for line in result.stdout.decode().splitlines()]
    assert questions == [QUESTION, "zxcvb poiuy"]


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("\u202eodreuca le áratse etnegiv odnáuc atsaH¿", "bidi"),  # right-to-left override
        ("¿Qué \u2066dice\u2069 el acuerdo?", "bidi"),  # isolate
        ("\u200b\u200c\u200d\u2060\ufeff", "empty"),  # zero-width only
        ("\u3164\u3164 \u2800", "empty"),  # blank fillers only
        ("hola \udcff", "encoding"),  # a byte that was not UTF-8 (surrogateescape)
    ],
)
def test_hostile_unicode_questions_are_refused(question: str, code: str) -> None:
    with pytest.raises(QuestionError) as info:
        clean_question(question)
    assert info.value.code == code


def test_invisible_characters_inside_a_question_are_dropped() -> None:
    assert clean_question("¿Hasta\u200b cuándo\u00ad estará\u200d vigente?") == (
        "¿Hasta cuándo estará vigente?"
    )


def test_ask_refuses_a_direction_override_with_one_line(run_bot: RunBot) -> None:
    result = run_bot("ask", "\u202e¿Qué es?", "--lang", "en")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "error: The question contains text-direction control characters; type it as plain text.\n"
    )


def test_check_reports_nul_and_control_characters_with_their_line(
    tmp_path: Path, make_knowledge, make_doc, run_bot: RunBot
) -> None:
    doc = make_doc(body="Primer párrafo.\n\nSegundo\x00 párrafo.\n\nTercero \x1b[31m rojo.")
    folder = make_knowledge(tmp_path, {"a.md": doc})
    result = run_bot("check", str(folder))
    assert result.returncode == 1
    lines = doc.split("\n")
    nul_line = next(i for i, line in enumerate(lines, 1) if "\x00" in line)
    esc_line = next(i for i, line in enumerate(lines, 1) if "\x1b" in line)
    assert result.stderr.splitlines()[:2] == [
        f"{folder / 'a.md'}:{nul_line}: control character(s) U+0000; remove them",
        f"{folder / 'a.md'}:{esc_line}: control character(s) U+001B; remove them",
    ]


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["ask", "-", "--json"], 2, "standard input is closed"),
        ([], 2, "DISCORD_TOKEN is not set"),
        (["add", "-"], 1, "no standard input"),
    ],
)
def test_a_closed_stdin_is_one_error_line(
    cli_env: Env, tmp_path: Path, args: list[str], code: int, error: str
) -> None:
    """`python -m bot … <&-`: Python then has no sys.stdin at all (None), not an empty one."""
    import os

    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(0),  # the child starts without a standard input
        capture_output=True,
        timeout=60,
    )
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("error:") and error in stderr and len(stderr.splitlines()) == 1
