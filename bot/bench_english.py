"""What English translation costs per question: Engine.ask with and without the translator."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.core.answer import Engine
from bot.core.evaluate import load_cases
from bot.core.translate import ProcessTranslator

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"


def eval_questions(folder: Path = EVAL_DIR, lang: str | None = None) -> list[str]:
    """Return the distinct questions of the eval files (of one language, when given)."""
    cases = [c for path in sorted(folder.glob("*.jsonl")) for c in load_cases(path)]
    return list(dict.fromkeys(c.q for c in cases if lang is None or c.lang == lang))


def english_questions(folder: Path = EVAL_DIR) -> list[str]:
    """Return the English questions of the eval files, each also lower-case without '?'."""
    english = eval_questions(folder, "en")
    return english + [q.lower().rstrip("?") for q in english]


def timings(
    ask: Callable[[str], object],
    questions: Sequence[str],
    n: int,
    before: Callable[[str], object] | None = None,
) -> list[float]:
    """Ask n questions (cycling through the list); return each one's milliseconds.

    `before(question)` runs, untimed, before each question (e.g. forgetting translations).
    """
    out = []
    for i in range(n):
        q = questions[i % len(questions)]
        if before is not None:
            before(q)
        started = time.perf_counter()
        ask(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


def forgetting(translator: object) -> Callable[[str], None]:
    """Return a `before` for timings that makes the translator forget what it translated."""

    def forget(_: str) -> None:
        if hasattr(translator, "forget"):
            translator.forget()

    return forget


def percentiles(ms: list[float]) -> tuple[float, float]:
    """Return the p50 and p95 of a list of milliseconds."""
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return cuts[49], cuts[94]


def run_english_bench(
    knowledge_dir: Path, translator: ProcessTranslator | None, n: int, line: str
) -> int:
    """Print p50/p95 of Engine.ask on English questions, glossary only vs with the translator."""
    print(line)
    if translator is None:
        print("error: no translator to measure (see the line above)", file=sys.stderr)
        return 1
    questions = english_questions()
    plain = Engine.load(knowledge_dir)
    translated = Engine.load(knowledge_dir, translator=translator)
    translator.warm_up()
    for engine in (plain, translated):  # warm caches (typo matcher, stemmer) before timing
        timings(engine.ask, questions, len(questions))

    forget = forgetting(translator)  # each question translated afresh, as when new
    rows = {
        "glossary only (TRANSLATOR=off)": timings(plain.ask, questions, n),
        "glossary + translation": timings(translated.ask, questions, n, forget),
        "  asked again (translation kept)": timings(translated.ask, questions, n, translated.ask),
        "translator round trip alone": timings(
            lambda q: translator.translate([q]), questions, n, forget
        ),
    }
    print(f"{n} English questions ({len(questions)} distinct) through Engine.ask, {knowledge_dir}")
    print(f"{'path':34} {'p50 ms':>8} {'p95 ms':>8}")
    stats = {name: percentiles(ms) for name, ms in rows.items()}
    for name, (p50, p95) in stats.items():
        print(f"{name:34} {p50:8.2f} {p95:8.2f}")
    (a50, a95), (b50, b95) = (
        stats["glossary only (TRANSLATOR=off)"],
        stats["glossary + translation"],
    )
    print(f"{'added by translation':34} {b50 - a50:+8.2f} {b95 - a95:+8.2f}")
    print(f"translator faults during the run: {translator.faults}")
    return 0
