"""What the meaning re-ranking costs: Engine.ask with and without sentence vectors, and loading."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bot.bench_english import eval_questions, forgetting, percentiles, timings
from bot.core.answer import Engine
from bot.core.meaning import Meaning
from bot.core.translate import Translator


def run_meaning_bench(
    knowledge_dir: Path, meaning: Meaning, n: int, translator: Translator | None = None
) -> int:
    """Print p50/p95 of Engine.ask with words alone vs with meaning, and the load times (both
    with the translator users have, when given: English is embedded as typed and translated)."""
    print(meaning.line())
    print(f"English translation: {'on' if translator is not None else 'off'}")
    if meaning.encoder is None:
        print("error: no sentence model to measure (see the line above)", file=sys.stderr)
        return 1
    encoder = meaning.encoder
    questions = eval_questions()
    plain = Engine.load(knowledge_dir, translator=translator)
    with tempfile.TemporaryDirectory() as tmp:
        cold = Meaning(encoder, meaning.reason, Path(tmp) / "meaning.sqlite3", meaning.max_passages)
        started = time.perf_counter()
        Engine.load(knowledge_dir, meaning=cold, translator=translator)
        first_load = time.perf_counter() - started
        started = time.perf_counter()
        with_meaning = Engine.load(knowledge_dir, meaning=cold, translator=translator)
        cached_load = time.perf_counter() - started
    if with_meaning.vectors is None:
        print(f"error: {meaning.line(len(with_meaning.passages))}", file=sys.stderr)
        return 1
    for engine in (plain, with_meaning):  # warm caches (typo matcher, stemmer) before timing
        timings(engine.ask, questions, len(questions))
    with_meaning._question_vector.cache_clear()  # each question embedded afresh, as when new

    forget = forgetting(translator)  # and translated afresh
    rows = {
        "words alone (MEANING=off)": timings(plain.ask, questions, n, forget),
        "words + meaning": timings(with_meaning.ask, questions, n, forget),
        "words + meaning, asked again": timings(with_meaning.ask, questions, n),
        "embedding the question alone": timings(lambda q: encoder.queries([q]), questions, n),
    }
    passages = len(plain.passages)
    print(
        f"{n} questions ({len(questions)} distinct, eval/*.jsonl) through Engine.ask, "
        f"{knowledge_dir}"
    )
    print(f"{'path':34} {'p50 ms':>8} {'p95 ms':>8}")
    stats = {name: percentiles(ms) for name, ms in rows.items()}
    for name, (p50, p95) in stats.items():
        print(f"{name:34} {p50:8.2f} {p95:8.2f}")
    (a50, a95), (b50, b95) = stats["words alone (MEANING=off)"], stats["words + meaning"]
    print(f"{'added by meaning':34} {b50 - a50:+8.2f} {b95 - a95:+8.2f}")
    print(
        f"load with meaning, {passages} passages ({len(with_meaning.vectors.sentences)} "
        f"sentences): {first_load:.2f} s embedding every passage and sentence "
        f"({first_load / max(1, passages) * 1000:.0f} ms a passage), {cached_load:.2f} s from the "
        f"cache; words alone {plain.build_seconds:.2f} s"
    )
    return 0
