"""Benchmark smoke test: the table, the ratios and the correctness line (no timing asserts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.bench import run_bench


def test_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bench([2000], queries=20, ref_max=2000, seed=1) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.lstrip().startswith("2,000 ")]
    assert [row[1] for row in rows] == ["ours", "rank-bm25", "ratio"]
    assert rows[2][2].endswith("x")  # build ratio
    assert "(rank-bm25 / ours)" in out
    assert "correctness 2,000: top-10 ids and scores equal to rank-bm25 on 20/20 queries" in out
    assert "machine: nproc" in out
    assert "cold start" in out


class _EchoTranslator:
    """Answers every text with itself (an English question stays unknown words)."""

    faults = 0

    def warm_up(self) -> bool:
        return True

    def translate(self, texts: list[str]) -> list[str]:
        return list(texts)


def test_english_bench_prints_both_paths_and_the_overhead(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.bench_english import english_questions, run_english_bench

    assert len(english_questions()) >= 60  # the eval files' English questions, two spellings
    echo = _EchoTranslator()
    code = run_english_bench(knowledge_dir, echo, 20, "English translation: on")  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert code == 0
    rows = ("glossary only (TRANSLATOR=off)", "glossary + translation", "added by translation")
    for row in rows:
        assert re.search(rf"^{re.escape(row)} +[-+]?\d+\.\d\d +[-+]?\d+\.\d\d$", out, re.M), out


def test_english_bench_without_a_translator_says_why(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.bench_english import run_english_bench

    line = "English translation: off, glossary only (TRANSLATOR=off)"
    assert run_english_bench(knowledge_dir, None, 20, line) == 1
    captured = capsys.readouterr()
    assert line in captured.out and "no translator" in captured.err
