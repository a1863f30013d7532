"""`python -m bot` as a user runs it: answers, JSON, streaming, eval, check, short errors."""

from __future__ import annotations

import codecs
import io
import json
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.core.rank import ranking_line

REPO = Path(__file__).resolve().parents[1]
QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"
PUBLIC_KEYS = {"question", "answered", "passages", "summary", "citations", "suggestions"}
QUOTE = re.compile(r"«([^»]*)»")

RunBot = Callable[..., subprocess.CompletedProcess[str]]


def assert_one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr and no traceback; return the line."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{result.stderr}"
    return lines[0]


# -- ask ---------------------------------------------------------------------------------


def test_ask_prints_the_quote_and_the_citation(run_bot: RunBot) -> None:
    result = run_bot("ask", QUESTION)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr
    assert any("vigente hasta 2030" in q for q in QUOTE.findall(out)), out
    citations = [line for line in out.splitlines() if line.strip().startswith("—")]
    assert any("Portaltic/EP" in c and "22/01/2025" in c for c in citations), out
    assert "\033[" not in out, "no ANSI styles when stdout is not a terminal"


def test_ask_quotes_are_verbatim_from_the_article(run_bot: RunBot) -> None:
    article = (REPO / "knowledge" / "microsoft-openai-acuerdo-2025.md").read_text("utf-8")
    result = run_bot("ask", QUESTION)
    quotes = [q.replace("**", "") for q in QUOTE.findall(result.stdout)]
    assert quotes
    for q in quotes:
        assert q in article, q


def test_ask_json_is_one_object_with_plain_text(run_bot: RunBot) -> None:
    result = run_bot("ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert set(data) >= PUBLIC_KEYS
    assert data["question"] == QUESTION
    assert data["answered"] is True
    assert data["passages"], data
    assert "vigente hasta 2030" in data["passages"][0]["text"]
    for p in data["passages"]:
        assert {"text", "score", "document", "paragraph"} <= set(p)
        assert "**" not in p["text"]
        assert "\033" not in p["text"]
    assert data["citations"][0]["source"] == "Portaltic/EP"
    assert data["citations"][0]["published"] == "22/01/2025"


def test_ask_json_not_covered(run_bot: RunBot) -> None:
    result = run_bot("ask", "zxcvb poiuy", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] is False
    assert data["passages"] == []
    assert data["summary"].startswith("El artículo no trata eso")
    assert 1 <= len(data["suggestions"]) <= 3


OFF_TOPIC = "¿Quién es el presidente de Francia?"  # shares "presidente" with the article


def test_ask_json_declined_keeps_candidates_apart(run_bot: RunBot) -> None:
    result = run_bot("ask", OFF_TOPIC, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] is False and data["passages"] == []
    assert 0 <= data["confidence"] < 0.5
    assert data["candidates"], data  # the best passages the decision turned down
    assert "presidente" in data["candidates"][0]["text"].casefold()
    shown = run_bot("ask", OFF_TOPIC)
    assert shown.returncode == 0, shown.stderr
    for candidate in data["candidates"]:  # never shown to users
        assert candidate["text"] not in shown.stdout


def test_ask_json_answer_carries_its_confidence(run_bot: RunBot) -> None:
    data = json.loads(run_bot("ask", QUESTION, "--json").stdout)
    assert data["answered"] is True and data["candidates"] == []
    assert 0.5 < data["confidence"] <= 1


def test_answer_threshold_setting_moves_the_decision(run_bot: RunBot, cli_env) -> None:
    eager = run_bot("ask", OFF_TOPIC, "--json", env=cli_env(ANSWER_THRESHOLD="0"))
    assert json.loads(eager.stdout)["answered"] is True, eager.stderr
    strict = run_bot("ask", QUESTION, "--json", env=cli_env(ANSWER_THRESHOLD="1"))
    assert json.loads(strict.stdout)["answered"] is False, strict.stderr
    bad = run_bot("ask", QUESTION, env=cli_env(ANSWER_THRESHOLD="2"))
    assert assert_one_error_line(bad).startswith("error: setting ANSWER_THRESHOLD")


def test_ask_lang_en_frames_in_english(run_bot: RunBot) -> None:
    result = run_bot("ask", QUESTION, "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "According to" in result.stdout
    assert f"Question: {QUESTION}" in result.stdout
    assert any("vigente hasta 2030" in q for q in QUOTE.findall(result.stdout))


def test_ask_k_limits_the_passages(run_bot: RunBot) -> None:
    result = run_bot("ask", "Microsoft OpenAI", "--json", "-k", "2")
    assert len(json.loads(result.stdout)["passages"]) == 2


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("", None),
        ("   ", None),
        ("x" * 301, "300"),
        ("¿Hasta cuándo?\x1b[2J", None),
        ("hola\x07", None),
    ],
    ids=["empty", "whitespace", "too-long", "escape", "bell"],
)
def test_ask_bad_question_is_one_error_line(
    run_bot: RunBot, question: str, needle: str | None
) -> None:
    result = run_bot("ask", question)
    line = assert_one_error_line(result)
    assert result.stdout == ""
    if needle:
        assert needle in line


def test_ask_k_out_of_range_is_one_error_line(run_bot: RunBot) -> None:
    line = assert_one_error_line(run_bot("ask", QUESTION, "-k", "11"))
    assert "-k" in line


def test_ask_with_a_missing_knowledge_folder(run_bot: RunBot, cli_env, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    line = assert_one_error_line(run_bot("ask", QUESTION, env=cli_env(KNOWLEDGE_DIR=str(missing))))
    assert str(missing) in line


def test_ask_with_a_broken_knowledge_file(
    run_bot: RunBot, cli_env, tmp_path: Path, make_knowledge, make_doc
) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc().replace("source: Diario Test\n", "")})
    result = run_bot("ask", QUESTION, env=cli_env(KNOWLEDGE_DIR=str(folder)))
    line = assert_one_error_line(result)
    assert re.search(rf"{re.escape(str(folder / 'a.md'))}:\d+: ", line), line


# -- ask - (one question per line) -------------------------------------------------------------


def test_ask_stdin_answers_every_line(run_bot: RunBot) -> None:
    result = run_bot("ask", "-", "--json", stdin=f"{QUESTION}\n\nzxcvb poiuy\n")
    assert result.returncode == 1, result.stderr  # the empty line failed; the others answered
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    first, middle, last = (json.loads(line) for line in lines)
    assert first["question"] == QUESTION
    assert first["answered"] is True
    assert set(middle) == {"question", "error"}
    assert middle["question"] == ""
    assert middle["error"]
    assert last["question"] == "zxcvb poiuy"
    assert last["answered"] is False


def test_ask_stdin_streams_one_answer_per_line(cli_env, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "-", "--json"],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()

    def round_trip(question: str) -> dict:
        assert proc.stdin is not None
        proc.stdin.write(question + "\n")
        proc.stdin.flush()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            pytest.fail(f"no answer to {question!r} while stdin is still open: not streaming")
        assert line is not None, "the process ended early"
        return json.loads(line)

    try:
        first = round_trip(QUESTION)
        assert first["answered"] is True
        assert "vigente hasta 2030" in first["passages"][0]["text"]
        middle = round_trip("")
        assert middle == {"question": "", "error": middle["error"]}
        assert middle["error"]
        last = round_trip("What does Amazon think about the deal?")
        assert last["answered"] is False
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 1  # the empty line failed
        assert lines.get(timeout=30) is None, "nothing more after the third answer"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


class _Chunks(io.RawIOBase):
    """A pipe that delivers the given byte strings one read at a time."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_groups_the_lines_each_read_brings_and_loses_none() -> None:
    """`ask -` reads what has arrived (never waiting for more): a line split across reads is
    joined, every line ending comes out once, the last line needs no newline."""
    pipe = _Chunks([b"uno\ndo", b"s\r\n\ntr", b"es", b"\ncuatro"])
    batches = list(cli.line_batches(io.BufferedReader(pipe)))
    assert batches == [[b"uno"], [b"dos\r", b""], [b"tres"], [b"cuatro"]]
    assert list(cli.line_batches(io.BytesIO(b""))) == []
    assert list(cli.line_batches(io.BytesIO(b"\n"))) == [[b""]]


def test_a_stream_prepares_each_batch_before_answering_it(engine, monkeypatch) -> None:
    """Lines that arrive together are prepared together, at most STREAM_BATCH at a time, the
    first line's byte-order mark and bad lines left out; every line is answered in order."""
    size = cli.STREAM_BATCH
    prepared: list[list[str]] = []
    monkeypatch.setattr(engine, "prepare", prepared.append, raising=False)
    questions = [f"¿Qué dijo Microsoft {n}?" for n in range(2 * size + 3)]
    lines = [questions[0].encode(), b"\xff", *(q.encode() for q in questions[1:])]
    data = codecs.BOM_UTF8 + b"\n".join(lines) + b"\n"
    out = io.StringIO()
    failed = cli.ask_stream(engine, io.BytesIO(data), out, as_json=True, lang="es", k=3)
    assert failed == 1  # the line that is not UTF-8
    # The bad second line is in the first batch: it holds one question fewer.
    assert prepared == [
        questions[: size - 1],
        questions[size - 1 : 2 * size - 1],
        questions[2 * size - 1 :],
    ]
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "error" in answers[1] and "UTF-8" in answers[1]["error"]
    assert [a["question"] for a in answers[:1] + answers[2:]] == questions


def echo_translator(folder: Path, started: Path | None = None) -> str:
    """Write a null-flush translator that answers every text with "x" (and, given `started`,
    notes its pid there as it starts); return its command line."""
    script = folder / "echo.py"
    note = f"open({str(started)!r}, 'a').write(str(os.getpid()) + '\\n')\n" if started else ""
    script.write_text(
        "import os, sys\n" + note + "while chunk := os.read(0, 4096):\n"
        "    sys.stdout.buffer.write(b'x\\n\\0' * chunk.count(b'\\0')); sys.stdout.flush()\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def test_a_stream_starts_the_translator_while_the_knowledge_loads(tmp_path: Path) -> None:
    """`ask -` and `eval` (many questions) start the translator before loading, so it is
    ready when the first English line comes; one question starts it only if it needs it."""
    from bot.__main__ import load_engine
    from bot.settings import Settings

    settings = Settings(
        _env_file=None,
        knowledge_dir=REPO / "knowledge",
        translator_command=echo_translator(tmp_path),
    )
    for many in (False, True):
        translator = load_engine(settings.knowledge_dir, settings, many=many).analyzer.translator
        assert translator is not None
        try:
            assert (translator.pid is not None) is many
        finally:
            translator.close()


def test_a_stream_starts_a_translator_per_worker_when_words_alone_rank(
    tmp_path: Path, real_meaning
) -> None:
    """With workers to come, `ask -` starts one translator for each while the knowledge loads,
    but only once the folder shows it is ranked by words alone (more passages than
    MEANING_MAX_PASSAGES, or no sentence model): a folder ranked by meaning gets one process,
    and one translator."""
    from bot.__main__ import load_engine
    from bot.settings import Settings

    started = tmp_path / "started.txt"
    command = echo_translator(tmp_path, started)

    def translators_started(workers: int, **settings: object) -> int:
        started.write_text("", encoding="utf-8")
        chosen = Settings(
            _env_file=None,
            knowledge_dir=REPO / "knowledge",
            translator_command=command,
            meaning_cache=tmp_path / "meaning.sqlite3",
            **settings,
        )
        engine = load_engine(chosen.knowledge_dir, chosen, many=True, workers=workers)
        translator = engine.analyzer.translator
        assert translator is not None
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # each writes its line as it starts
                count = len(started.read_text(encoding="utf-8").splitlines())
                time.sleep(0.5)
                if count and count == len(started.read_text(encoding="utf-8").splitlines()):
                    return count
            return -1
        finally:
            translator.close()

    assert translators_started(2, meaning="off") == 2
    assert translators_started(1, meaning="off") == 1
    assert translators_started(2) == 1  # the bundled article is ranked by meaning too
    assert translators_started(2, meaning_max_passages=3) == 2  # more passages than that


# -- eval and check ----------------------------------------------------------------------------


def test_eval_prints_the_figures(run_bot: RunBot, tmp_path: Path) -> None:
    (tmp_path / "eval").mkdir()
    shutil.copy(REPO / "eval" / "questions.jsonl", tmp_path / "eval" / "questions.jsonl")
    result = run_bot("eval", "eval/questions.jsonl")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    labels = [" ".join(line.split()[:-1]) for line in lines[:4]]
    assert labels == ["hit@1", "hit@3", "abstained (oos)", "false abstentions"], result.stdout
    assert lines[0].split()[-1].endswith("/15")
    assert lines[2].split()[-1] == "5/5"


def test_eval_prints_the_operating_curve_and_marks_the_chosen_point(
    run_bot: RunBot, cli_env, tmp_path: Path
) -> None:
    (tmp_path / "eval").mkdir()
    shutil.copy(REPO / "eval" / "questions.jsonl", tmp_path / "eval" / "questions.jsonl")
    for threshold in ("", "0.33"):
        result = run_bot("eval", "eval/questions.jsonl", env=cli_env(ANSWER_THRESHOLD=threshold))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert "operating curve (answer when confidence >= threshold):" in lines
        chosen = [line for line in lines if line.endswith("<- chosen (ANSWER_THRESHOLD)")]
        assert len(chosen) == 1, result.stdout
        if threshold:
            assert chosen[0].split()[0] == threshold
    curve = [line.split() for line in lines if re.match(r"^ +0\.\d+ ", line)]
    assert len(curve) >= 19 and all(len(row) >= 4 for row in curve)


def test_eval_malformed_file_is_one_error_line(run_bot: RunBot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "kind": "in", "q": "¿Qué?"}\n{oops\n', encoding="utf-8")
    line = assert_one_error_line(run_bot("eval", str(bad)))
    assert f"{bad}:2:" in line


def test_check_good_folder(run_bot: RunBot, tmp_path: Path, make_knowledge, make_doc) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc(title="Uno"), "b.md": make_doc("Dos")})
    result = run_bot("check", str(folder))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "2 document" in result.stdout


def test_check_defaults_to_knowledge_dir(run_bot: RunBot) -> None:
    result = run_bot("check")
    assert result.returncode == 0, result.stderr
    assert "1 document" in result.stdout


def test_check_says_in_one_line_whether_english_is_translated(
    run_bot: RunBot, cli_env, tmp_path: Path
) -> None:
    off = run_bot("check", env=cli_env(TRANSLATOR="off"))
    assert off.returncode == 0, off.stderr
    assert "English translation: off, glossary only (TRANSLATOR=off)" in off.stdout.splitlines()
    missing = run_bot("check", env=cli_env(TRANSLATOR_COMMAND=str(tmp_path / "no-translator")))
    assert missing.returncode == 0, missing.stderr
    (line,) = [x for x in missing.stdout.splitlines() if x.startswith("English translation")]
    assert line.startswith("English translation: off, glossary only")
    assert "apt-get install apertium-en-es" in line
    assert "Traceback" not in missing.stderr


def test_check_says_in_one_line_whether_candidates_are_ordered_by_meaning(
    run_bot: RunBot, cli_env, real_meaning
) -> None:
    on = run_bot("check")
    assert on.returncode == 0, on.stderr
    (line,) = [x for x in on.stdout.splitlines() if x.startswith("Meaning re-ranking")]
    assert line.startswith("Meaning re-ranking: on (multilingual-e5-small")
    small = run_bot("check", env=cli_env(MEANING_MAX_PASSAGES="3"))
    assert "Meaning re-ranking: off for this folder, words alone (" in small.stdout
    off = run_bot("check", env=cli_env(MEANING="OFF"))
    assert "Meaning re-ranking: off, words alone (MEANING=off)" in off.stdout.splitlines()
    bad = run_bot("check", env=cli_env(MEANING="sometimes"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: setting MEANING:"), bad.stderr


def test_check_says_which_ranking_runs(run_bot: RunBot) -> None:
    done = run_bot("check")
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("Ranking: ")]
    assert line == ranking_line()


def test_ask_with_meaning_quotes_the_article(run_bot: RunBot, real_meaning) -> None:
    result = run_bot("ask", "--json", "¿Quién es un inversor importante en OpenAI?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"]
    assert "importante inversor en OpenAI" in answer["passages"][0]["text"]


def test_check_lists_every_bad_file(
    run_bot: RunBot, tmp_path: Path, make_knowledge, make_doc
) -> None:
    folder = make_knowledge(
        tmp_path,
        {
            "a.md": make_doc(title="Uno").replace("language: es\n", ""),
            "b.md": make_doc(title="Dos", published="mañana"),
            "c.md": make_doc(title="Tres"),
        },
    )
    result = run_bot("check", str(folder))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert re.search(rf"^{re.escape(str(folder / 'a.md'))}:\d+: ", result.stderr, re.M)
    assert re.search(rf"^{re.escape(str(folder / 'b.md'))}:4: ", result.stderr, re.M)
    assert "c.md" not in result.stderr


# -- no subcommand: the bot ----------------------------------------------------------------------


def test_no_token_and_no_terminal_is_a_usage_error(run_bot: RunBot) -> None:
    result = run_bot()
    assert result.returncode == 2
    line = assert_one_error_line(result)
    assert "DISCORD_TOKEN" in line


def test_malformed_token_is_refused_without_echoing_it(run_bot: RunBot, cli_env) -> None:
    token = "not-a-real-token-s3cr3t-value"
    result = run_bot(env=cli_env(DISCORD_TOKEN=token))
    assert result.returncode == 2
    line = assert_one_error_line(result)
    assert "DISCORD_TOKEN" in line
    assert token not in result.stdout + result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
