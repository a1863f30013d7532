"""Benchmark smoke test: the paths, ratios, load line and targets (no timing asserts)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bot.bench import Stream, make_questions, misspell, run_bench, synthetic_folder
from bot.core import rank as rank_module
from bot.core.answer import Engine


def test_bench_smoke(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    sample = Path(__file__).parent / "data" / "squad_es_sample"
    assert (
        run_bench(
            [300],
            queries=12,
            ref_max=300,
            seed=1,
            stream_questions=10,
            stream_size=300,
            real=sample,
        )
        == 0
    )
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.lstrip().startswith("300 ")]
    assert [row[1] for row in rows[:2]] == ["Engine.ask", "with"]
    assert any(row[1] == "index.search" and row[-1].endswith("x") for row in rows)
    assert any(row[1] == "rank-bm25" for row in rows)
    # Which ranking ran, and numpy's beside the compiled one (the reference, same run).
    assert any(line.startswith("Ranking: ") for line in out.splitlines())
    assert any(row[1:3] == ["numpy", "ranking"] for row in rows) == rank_module.COMPILED
    assert "load + index 300:" in out and "peak RSS" in out
    assert "index.search top-10 ids equal to rank-bm25's on 12/12" in out
    assert "ask - --json 300: 10 questions" in out
    assert "machine: nproc" in out
    # Real questions on real articles beside the generated ones: all of them, and the year ones.
    assert f"real questions: {sample} (3 articles," in out
    real = [line.split() for line in out.splitlines() if line.startswith("      real  ")]
    assert [row[1] for row in real] == ["Engine.ask", "asking"]
    assert real[0][2] == "(150)" and all(float(x) > 0 for x in real[0][3:6])
    assert "cold start" in out
    assert (tmp_path / "deal-bot-bench" / "seed1-300" / ".complete").exists()


def test_the_stream_speed_up_is_each_run_against_the_reference_timed_beside_it() -> None:
    # Three runs of 1,000 questions per setting (seconds, then the reference's ms a question
    # timed right after): the machine was twice as slow in the second minute, for both alike.
    pairs = {
        1: [(1.0, 100.0), (2.0, 200.0), (1.0, 100.0)],
        None: [(0.5, 100.0), (1.0, 200.0), (0.5, 100.0)],
    }
    stream = Stream.of(pairs, 1000)
    assert stream.one == pytest.approx(1.0) and stream.default == pytest.approx(0.5)
    assert stream.ref == pytest.approx(100.0)
    assert stream.one_x == pytest.approx(100.0) and stream.default_x == pytest.approx(200.0)
    # Each run against its own minute's reference (200x, 100x, 67x), not the medians'
    # ratio (100 ms / 1.5 ms = 67x), which pairs a run with another minute's reference.
    slow_default = {**pairs, None: [(0.5, 100.0), (2.0, 200.0), (1.5, 100.0)]}
    assert Stream.of(slow_default, 1000).default_x == pytest.approx(100.0)
    # A few questions on a tiny folder can take no longer than none: no ratio, not a crash.
    noise = {1: [(-0.01, 1.0), (0.0, 1.0)], None: [(-0.02, 1.0), (-0.01, 1.0)]}
    assert Stream.of(noise, 10).default_x == 0 == Stream.of(noise, 10).one_x


def test_the_synthetic_folder_loads_and_its_questions_reach_its_passages(tmp_path: Path) -> None:
    folder = synthetic_folder(450, seed=3, cache=tmp_path)
    assert len(list(folder.glob("*.md"))) == 3
    engine = Engine.load(folder)
    assert len(engine.passages) == 450 + 3  # and a headline per document
    questions = make_questions([p.text for p in engine.passages], 40, np.random.default_rng(1))
    assert any(q.typo for q in questions) and any(q.unknown for q in questions)
    assert sum(engine.ask(q.text).answered for q in questions) > 20


def test_a_misspelling_keeps_the_first_letter() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        typo = misspell("acuerdo", rng)
        assert typo != "acuerdo" and typo[0] == "a"


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


def test_meaning_bench_prints_both_paths_the_overhead_and_the_loads(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str], real_meaning
) -> None:
    from bot.bench_meaning import run_meaning_bench

    assert run_meaning_bench(knowledge_dir, real_meaning, 20) == 0
    out = capsys.readouterr().out
    rows = ("words alone (MEANING=off)", "words + meaning", "added by meaning")
    for row in rows:
        assert re.search(rf"^{re.escape(row)} +[-+]?\d+\.\d\d +[-+]?\d+\.\d\d$", out, re.M), out
    assert re.search(
        r"^load with meaning, \d+ passages \(\d+ sentences\): [\d.]+ s embedding every "
        r"passage and sentence",
        out,
        re.M,
    ), out


def test_meaning_bench_without_the_model_says_why(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.bench_meaning import run_meaning_bench
    from bot.core.meaning import open_meaning

    assert run_meaning_bench(knowledge_dir, open_meaning("off"), 20) == 1
    captured = capsys.readouterr()
    assert "MEANING=off" in captured.out and "no sentence model" in captured.err
