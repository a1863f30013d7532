"""Benchmark what a user waits for: Engine.ask beside index.search and rank-bm25, at scale.

`python -m bot bench` writes (once, cached) seeded synthetic knowledge folders whose words
follow wordfreq's Spanish frequencies, then for each size: loads the folder in a fresh process
(wall time and peak RSS), builds rank-bm25 over the same analysed passages, and times three
paths on the same realistic questions (a passage's words wrapped in a question; a share with a
typo or a word no passage has): `Engine.ask` (what the bot does), `index.search` on the
question's terms (retrieval alone) and rank-bm25's `get_scores` on the same terms. It also
streams questions through `python -m bot ask - --json`, times `Engine.ask` on real questions
about real articles (squad-es beside the repository, else its sample in the tests) and the cold
start. It prints figures and ratios; it asserts nothing about time.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bot.core import rank as rank_module
from bot.core.text import stopwords, words
from bot.core.workers import usable_cores

VOCAB_SIZE = 50_000  # wordfreq's most frequent Spanish words the passages draw from
LEN_MIN, LEN_MAX = 20, 120  # passage length in words, like news paragraphs
LEN_SHAPE, LEN_SCALE = 6.0, 10.0  # gamma: mean 60 words before clipping
SENTENCE_WORDS = 18
PASSAGES_PER_DOCUMENT = 200
GENERATE_BATCH = 100_000
TOP_K = 10
REPEATS = 3  # timed runs per question; each keeps its best (the machine may be shared)
TYPO_SHARE = 0.2  # questions with one typo in a word of five letters or more
UNKNOWN_SHARE = 0.1  # questions that also name something no passage has
STREAM_QUESTIONS = 1_000
STREAM_SIZE = 100_000
STREAM_RUNS = 4  # pairs of runs of the stream without and with questions, per ASK_WORKERS
REF_RUNS = 50  # questions timed once each on rank-bm25 (a full scan per question)
REF_PER_PAIR = 10  # streamed questions timed on rank-bm25 right after each timed stream run
COLD_RUNS = 11
# Real questions on real articles (words alone, the generated folders' timing): squad-es beside
# the repository when it is there, else its sample in the tests. They ask what synthetic
# questions do not: "¿En qué año…?" brings one unit per year of the folder.
ROOT = Path(__file__).resolve().parents[1]
REAL_FOLDERS = (
    ROOT.parent / "shared" / "eval" / "squad-es",
    ROOT / "tests" / "data" / "squad_es_sample",
)
ASKS_YEAR = re.compile(r"\b(?:año|year)\b", re.IGNORECASE)
COLD_QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"
FRAMES = (
    "¿Qué dice el artículo sobre {}?",
    "¿{}?",
    "{}",
    "¿Qué pasó con {}?",
    "¿Por qué {}?",
    "Háblame de {}",
    "¿Cuándo se habla de {}?",
)
# Targets of issue 9 (2-core machine): p95 ms of Engine.ask (all / with a typo), load + index
# seconds and peak RSS, and the streamed questions' speed-up over rank-bm25.
ASK_P95_MS = {100_000: 1.0, 1_000_000: 5.0}
TYPO_P95_MS = {100_000: 3.0, 1_000_000: 10.0}
LOAD_S = {100_000: 3.0, 1_000_000: 30.0}
PEAK_RSS_MB = {1_000_000: 1500.0}
STREAM_SPEEDUP = 200.0
COLD_TARGET_S = 0.5
DASH = "—"
LOAD_SCRIPT = (
    "import json, resource, sys, time; from pathlib import Path; "
    "t = time.perf_counter(); from bot.core.answer import Engine; "
    "e = Engine.load(Path(sys.argv[1])); "
    "r = resource.getrusage(resource.RUSAGE_SELF); "
    "print(json.dumps([time.perf_counter() - t, r.ru_maxrss / 1024, r.ru_utime + r.ru_stime]))"
)


@dataclass(frozen=True)
class Question:
    """A benchmark question and what it carries."""

    text: str
    typo: bool
    unknown: bool


@dataclass(frozen=True)
class Latency:
    """Percentiles of one path over a set of questions (milliseconds)."""

    p50: float
    p95: float
    p99: float
    mean: float
    count: int

    @classmethod
    def of(cls, ms: np.ndarray) -> Latency | None:
        """Summarize per-question times; None when there are none."""
        if not len(ms):
            return None
        p50, p95, p99 = np.percentile(ms, [50, 95, 99]).tolist()
        return cls(p50, p95, p99, float(ms.mean()), len(ms))


# -- the synthetic folder ----------------------------------------------------------------------


def vocabulary() -> tuple[list[str], np.ndarray]:
    """Return wordfreq's top Spanish words (single tokens) and their sampling probabilities."""
    import wordfreq

    freq = wordfreq.get_frequency_dict("es")
    kept: list[str] = []
    probs: list[float] = []
    for word in wordfreq.top_n_list("es", VOCAB_SIZE):
        if len(words(word)) != 1 or not word.isalpha():  # "ee.uu", emoji, digits
            continue
        kept.append(word)
        probs.append(freq.get(word, 0.0) or wordfreq.word_frequency(word, "es"))
    p = np.asarray(probs)
    return kept, p / p.sum()


def passages(n: int, rng: np.random.Generator) -> list[str]:
    """Return n passages of Zipf-distributed words in capitalized sentences."""
    vocab, probs = vocabulary()
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    table = np.asarray(vocab, dtype=object)
    out: list[str] = []
    for lo in range(0, n, GENERATE_BATCH):
        m = min(GENERATE_BATCH, n - lo)
        lengths = np.clip(np.rint(rng.gamma(LEN_SHAPE, LEN_SCALE, m)), LEN_MIN, LEN_MAX)
        drawn = np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right")
        flat = table[np.minimum(drawn, len(cdf) - 1)].tolist()
        at = 0
        for length in lengths.astype(int).tolist():
            chunk = flat[at : at + length]
            at += length
            out.append(
                " ".join(
                    " ".join(chunk[s : s + SENTENCE_WORDS]).capitalize() + "."
                    for s in range(0, length, SENTENCE_WORDS)
                )
            )
    return out


def write_folder(folder: Path, texts: list[str]) -> None:
    """Write passages as a knowledge folder (documents of PASSAGES_PER_DOCUMENT paragraphs)."""
    folder.mkdir(parents=True, exist_ok=True)
    for d, lo in enumerate(range(0, len(texts), PASSAGES_PER_DOCUMENT)):
        body = "\n\n".join(texts[lo : lo + PASSAGES_PER_DOCUMENT])
        (folder / f"doc{d:05d}.md").write_text(
            f"---\ntitle: Documento sintético {d}\nsource: bench\npublished: 2025-01-22\n"
            f"language: es\n---\n\n{body}\n",
            encoding="utf-8",
        )


def synthetic_folder(n: int, seed: int, cache: Path | None = None) -> Path:
    """Return a folder of n generated passages (the bundled glossary), cached between runs."""
    root = cache or Path(tempfile.gettempdir()) / "deal-bot-bench"
    folder = root / f"seed{seed}-{n}"
    done = folder / ".complete"
    if not done.exists():
        write_folder(folder, passages(n, np.random.default_rng([seed, n])))
        glossary = ROOT / "knowledge" / "glossary.yaml"
        if glossary.exists():
            (folder / "glossary.yaml").write_text(glossary.read_text(encoding="utf-8"))
        done.write_text("")
    return folder


def make_questions(texts: list[str], count: int, rng: np.random.Generator) -> list[Question]:
    """Wrap 1-4 content words of random passages in questions; add typos and unknown names."""
    stop = stopwords("es")
    out: list[Question] = []
    while len(out) < count:
        found = [w for w in texts[int(rng.integers(len(texts)))].split() if len(w) > 3]
        content = [w.strip(".").lower() for w in found if w.strip(".").lower() not in stop]
        if not content:
            continue
        n = min(len(content), int(rng.integers(1, 5)))
        picked = [content[int(i)] for i in rng.choice(len(content), size=n, replace=False)]
        typo = rng.random() < TYPO_SHARE and any(len(w) >= 5 for w in picked)
        if typo:
            at = next(i for i, w in enumerate(picked) if len(w) >= 5)
            picked[at] = misspell(picked[at], rng)
        unknown = bool(rng.random() < UNKNOWN_SHARE)
        if unknown:
            picked.insert(int(rng.integers(len(picked) + 1)), made_up_name(rng))
        frame = FRAMES[int(rng.integers(len(FRAMES)))]
        out.append(Question(frame.format(" ".join(picked)), typo, unknown))
    return out


def misspell(word: str, rng: np.random.Generator) -> str:
    """Swap, drop or double one inner letter (the first letter stays: typos rarely hit it)."""
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def made_up_name(rng: np.random.Generator) -> str:
    """Return a pronounceable capitalized name that no Spanish passage holds ("Zorvaquin")."""
    syllables = [
        "zor",
        "qui",
        "vax",
        "kle",
        "bry",
        "xen",
        "wup",
        "dro",
        "fiz",
        "tak",
    ]
    return "".join(syllables[int(i)] for i in rng.integers(len(syllables), size=3)).capitalize()


# -- measuring ---------------------------------------------------------------------------------


def typo_forgetter(engine: Any) -> Callable[[], None]:
    """Return a `before` for best_times that clears the engine's typo caches: each timed run
    repairs its typos afresh."""
    matchers = [engine.analyzer._article_words, engine.analyzer._index_terms]

    def forget() -> None:
        for m in matchers:
            m.clear_cache()

    return forget


def best_times(
    run: Callable[[Any], Any], items: list[Any], before: Callable[[], None]
) -> np.ndarray:
    """Time each item REPEATS times (after a warm-up pass); return each one's best in ms."""
    for item in items[: min(len(items), 20)]:
        run(item)
    best = np.full(len(items), np.inf)
    for _ in range(REPEATS):
        for i, item in enumerate(items):
            before()
            start = time.perf_counter()
            run(item)
            best[i] = min(best[i], time.perf_counter() - start)
    return best * 1e3


def load_in_fresh_process(folder: Path) -> tuple[float, float, float]:
    """Load and index a folder in a new interpreter; return wall s, peak RSS MB and CPU s."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    seconds, peak_mb, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(peak_mb), float(cpu)


def stream_seconds(
    folder: Path,
    questions: list[Question],
    reference: Callable[[], float],
    workers: tuple[int | None, ...] = (1, None),
) -> dict[int | None, list[tuple[float, float]]]:
    """Time `python -m bot ask - --json` on the questions with each ASK_WORKERS (None: the
    default, one per usable core), STREAM_RUNS times, the settings alternated. Each time is a
    pair: the seconds of a run with the questions minus the run without them just before it,
    and `reference()`'s ms a question timed right after (the same minute of a machine whose
    speed changes within minutes: a reference timed minutes apart can pair a slow minute with a
    fast one)."""
    env = {**os.environ, "KNOWLEDGE_DIR": str(folder), "DISCORD_TOKEN": ""}
    env.pop("ASK_WORKERS", None)
    pairs: dict[int | None, list[tuple[float, float]]] = {w: [] for w in workers}
    lines = "".join(q.text + "\n" for q in questions)
    for _ in range(STREAM_RUNS):
        for count in workers:
            walls = []
            for text in ("", lines):
                extra = {} if count is None else {"ASK_WORKERS": str(count)}
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "bot", "ask", "-", "--json"],
                    input=text,
                    capture_output=True,
                    text=True,
                    env={**env, **extra},
                    check=False,
                    cwd=ROOT,
                )
                walls.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise RuntimeError((done.stderr.strip().splitlines() or ["?"])[-1])
                if text and len(done.stdout.strip().splitlines()) != len(questions):
                    raise RuntimeError("ask - --json did not answer every question")
            pairs[count].append((walls[1] - walls[0], reference()))
    return pairs


def cold_start(root: Path) -> tuple[float | None, float, float, str]:
    """Median wall and CPU s of `python -m bot ask ...`, and wall s of a bare `python -c pass`.

    An untimed first run writes the bytecode cache, as Python does by default on a user's
    machine; PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI images) is ignored for it,
    or every timed run would compile the bot's modules anew.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "bot", "ask", COLD_QUESTION],
        cwd=root,
        capture_output=True,
        check=False,
        env=env,
    )

    def median_of(args: list[str]) -> tuple[float | None, float, str]:
        times: list[float] = []
        cpu: list[float] = []
        for _ in range(COLD_RUNS):
            before = _children_cpu()
            start = time.perf_counter()
            done = subprocess.run(
                args, cwd=root, capture_output=True, text=True, check=False, env=env
            )
            times.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - before)
            if done.returncode != 0:
                return None, 0.0, (done.stderr.strip().splitlines() or ["?"])[-1]
        return statistics.median(times), statistics.median(cpu), ""

    ask, ask_cpu, error = median_of([sys.executable, "-m", "bot", "ask", COLD_QUESTION])
    bare, _, _ = median_of([sys.executable, "-c", "pass"])
    return ask, ask_cpu, bare or 0.0, error


def _children_cpu() -> float:
    """Return the CPU seconds used by this process's finished children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Stream(NamedTuple):
    """`ask - --json`'s ms per question in one process and with its default workers, rank-bm25
    `get_scores`'s on the same passages and questions (medians over the runs), and the speed-up
    of each setting over rank-bm25 (the median of each run's ratio to the reference timed right
    after it)."""

    one: float
    default: float
    ref: float
    one_x: float
    default_x: float

    @classmethod
    def of(cls, pairs: dict[int | None, list[tuple[float, float]]], questions: int) -> Stream:
        """Summarise stream_seconds's pairs for `questions` questions."""

        def ms(seconds: float) -> float:  # a question's share of a run
            return seconds / questions * 1e3

        def median_ms(w: int | None) -> float:
            return ms(statistics.median(s for s, _ref in pairs[w]))

        def speedup(w: int | None) -> float:  # 0: no run took longer with the questions
            ratios = [ref / ms(s) for s, ref in pairs[w] if s > 0]
            return statistics.median(ratios) if ratios else 0.0

        ref = statistics.median(r for both in pairs.values() for _s, r in both)
        return cls(median_ms(1), median_ms(None), ref, speedup(1), speedup(None))


@dataclass
class SizeResult:
    """Everything measured at one corpus size."""

    n: int
    load_s: float
    load_cpu_s: float
    peak_mb: float
    ref_build_s: float | None
    paths: dict[str, Latency | None]
    agree: str
    stream: Stream | None = None


def bench_size(n: int, n_questions: int, ref_max: int, seed: int, stream: int) -> SizeResult:
    """Measure one size: load, the three paths on the same questions, the stream."""
    from bot.core.answer import Engine

    folder = synthetic_folder(n, seed)
    load_s, peak_mb, load_cpu_s = load_in_fresh_process(folder)
    engine = Engine.load(folder)
    texts = [p.text for p in engine.passages]
    rng = np.random.default_rng([seed, n, 1])
    questions = make_questions(texts, n_questions, rng)
    terms = [engine.es.terms(q.text) for q in questions]
    forget_typos = typo_forgetter(engine)
    asked = best_times(lambda q: engine.ask(q.text), questions, forget_typos)
    numpy_asked = None
    if rank_module.COMPILED:  # the reference: the same questions, ranked by numpy's path
        with rank_module.numpy_only():
            numpy_asked = best_times(lambda q: engine.ask(q.text), questions, forget_typos)
    searched = best_times(lambda t: engine.index.search(t, k=TOP_K), terms, lambda: None)
    typo = np.array([q.typo for q in questions])
    unknown = np.array([q.unknown for q in questions])
    paths: dict[str, Latency | None] = {
        "Engine.ask": Latency.of(asked),
        "  with a typo": Latency.of(asked[typo]),
        "  with an unknown name": Latency.of(asked[unknown]),
        "  numpy ranking": Latency.of(numpy_asked) if numpy_asked is not None else None,
        "index.search": Latency.of(searched),
        "rank-bm25": None,
    }
    ref_build_s = None
    agree = "rank-bm25 not run (above --ref-max)"
    streamed_result = None  # the stream is timed beside rank-bm25 only
    if n <= ref_max:
        from rank_bm25 import BM25Okapi

        docs = [engine.es.terms(t) for t in texts]
        gc.collect()
        start = time.perf_counter()
        model = BM25Okapi(docs, k1=engine.index.k1, b=engine.index.b)
        ref_build_s = time.perf_counter() - start
        del docs
        sample = terms[:REF_RUNS]
        scored: list[np.ndarray] = []
        ms = []
        for t in sample:
            start = time.perf_counter()
            scored.append(model.get_scores(t))
            ms.append((time.perf_counter() - start) * 1e3)
        paths["rank-bm25"] = Latency.of(np.asarray(ms))
        same = sum(
            [h.doc for h in engine.index.search(t, k=TOP_K)] == reference_top(s, TOP_K)
            for t, s in zip(sample, scored, strict=True)
        )
        agree = f"index.search top-{TOP_K} ids equal to rank-bm25's on {same}/{len(sample)}"
        del scored
        if stream:
            streamed = make_questions(texts, stream, np.random.default_rng([seed, n, 2]))
            asked_terms = itertools.cycle([engine.es.terms(q.text) for q in streamed])

            def reference() -> float:  # the next REF_PER_PAIR streamed questions, ms each
                start = time.perf_counter()
                for _ in range(REF_PER_PAIR):
                    model.get_scores(next(asked_terms))
                return (time.perf_counter() - start) / REF_PER_PAIR * 1e3

            pairs = stream_seconds(folder, streamed, reference)
            streamed_result = Stream.of(pairs, len(streamed))
        del model
    return SizeResult(n, load_s, load_cpu_s, peak_mb, ref_build_s, paths, agree, streamed_result)


def reference_top(scores: np.ndarray, k: int) -> list[int]:
    """Return the ids of the top-k positive scores, ties broken by the lower id."""
    positive = np.flatnonzero(scores > 0)
    return positive[np.lexsort((positive, -scores[positive]))][:k].tolist()


# -- printing ----------------------------------------------------------------------------------


def _ratio(ref: float | None, ours: float | None) -> str:
    if ref is None or not ours or ours <= 0:
        return DASH
    return _times(ref / ours)


def _times(ratio: float) -> str:
    if ratio <= 0:
        return DASH
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine_lines() -> list[str]:
    """Describe the machine and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = getattr(os, "sched_getaffinity", None)
    nproc = len(affinity(0)) if affinity else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        f"machine: nproc {nproc}, {cpu}, {platform.system()} {platform.machine()}, "
        f"load average {load:.1f} at start",
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"rank-bm25 {metadata.version('rank-bm25')}, wordfreq {metadata.version('wordfreq')}",
    ]


def run_bench(
    sizes: list[int],
    queries: int,
    ref_max: int,
    seed: int,
    stream_questions: int = STREAM_QUESTIONS,
    stream_size: int = STREAM_SIZE,
    real: Path | None = None,
) -> int:
    """Run the benchmark at each corpus size and print the figures; return the exit code.

    `real`: a folder with `knowledge/` and `questions.jsonl` for the real-questions rows (the
    first of REAL_FOLDERS that exists when None).
    """
    sizes = sorted({s for s in sizes if s > 0})
    if not sizes or queries < 1:
        print("error: give at least one corpus size and one question", file=sys.stderr)
        return 2
    print("\n".join(machine_lines()))
    print(
        f"data: synthetic knowledge folders (seed {seed}): N passages of {LEN_MIN}-{LEN_MAX} "
        f"words drawn by frequency from wordfreq's {VOCAB_SIZE:,} most frequent Spanish words, "
        f"{PASSAGES_PER_DOCUMENT} per document, the bundled glossary"
    )
    print(
        f"questions: {queries} per size, 1-4 words of a random passage in a question frame; "
        f"{TYPO_SHARE:.0%} with a typo, {UNKNOWN_SHARE:.0%} with an unknown name; the same "
        "questions for every path (index.search and rank-bm25 get the question's terms)"
    )
    print(
        f"latency: warm, each question's best of {REPEATS} runs (typo cache cleared before "
        f"each Engine.ask), ms; rank-bm25: get_scores once on the first {REF_RUNS} questions"
    )
    print("load: Engine.load (read, validate, analyse, index) in a fresh process: wall s, peak RSS")
    print(
        f"{rank_module.ranking_line()}; '  numpy ranking': Engine.ask on the same questions "
        "with numpy's path (the same answers), measured in the same run"
    )
    print()
    header = (
        f"{'passages':>10}  {'path':<24}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}  "
        f"{'vs rank-bm25 p50':>16}"
    )
    print(header)
    print("-" * len(header))
    results: dict[int, SizeResult] = {}
    for n in sizes:
        stream = stream_questions if n == stream_size else 0
        result = bench_size(n, queries, ref_max, seed, stream)
        results[n] = result
        _print_size(result)
    print()
    for r in results.values():
        ref = f"; rank-bm25 BM25Okapi build {r.ref_build_s:.2f} s" if r.ref_build_s else ""
        print(
            f"load + index {r.n:,}: {r.load_s:.2f} s wall ({r.load_cpu_s:.2f} s CPU), "
            f"peak RSS {r.peak_mb:,.0f} MB{ref}; {r.agree}"
        )
        if r.stream is not None:
            st = r.stream
            print(
                f"ask - --json {r.n:,}: {stream_questions:,} questions, {st.default:.3f} ms per "
                f"question amortized with its default {usable_cores()} worker process(es), "
                f"{st.one:.3f} ms with ASK_WORKERS=1 (the median of {STREAM_RUNS} differences "
                f"between a run with the questions and the run without them just before it, "
                f"the two settings alternated) vs rank-bm25 get_scores {st.ref:.1f} ms "
                f"(one process, {REF_PER_PAIR} of the questions timed right after each run): "
                f"{_times(st.default_x)}, one process {_times(st.one_x)} (medians of each "
                "run's ratio)"
            )
    real = real or next((f for f in REAL_FOLDERS if (f / "questions.jsonl").is_file()), None)
    if real is not None:
        print()
        for line in real_question_lines(real):
            print(line)
    print()
    _print_targets(results, stream_questions)
    return 0


def real_question_lines(folder: Path) -> list[str]:
    """Time Engine.ask (words alone) on real questions about real articles: all, and those
    asking for a year."""
    from bot.core.answer import Engine
    from bot.core.evaluate import load_cases

    engine = Engine.load(folder / "knowledge")
    asked = list(dict.fromkeys(c.q for c in load_cases(folder / "questions.jsonl")))
    ms = best_times(lambda q: engine.ask(q), asked, typo_forgetter(engine))
    year = np.array([ASKS_YEAR.search(q) is not None for q in asked])
    lines = [
        f"real questions: {folder} ({len(engine.documents)} articles, {len(engine.passages):,} "
        f"passages; words alone, warm, each question's best of {REPEATS})"
    ]
    for label, lat in (
        ("Engine.ask", Latency.of(ms)),
        ("  asking for a year", Latency.of(ms[year])),
    ):
        if lat is not None:
            lines.append(_row("real", label, lat))
    return lines


def _row(where: str, name: str, lat: Latency, vs: str = "") -> str:
    """Return one line of the latency table."""
    return (
        f"{where:>10}  {name + f' ({lat.count})':<24}  {lat.p50:>8.3f}  {lat.p95:>8.3f}  "
        f"{lat.p99:>8.3f}  {vs:>16}"
    ).rstrip()


def _print_size(r: SizeResult) -> None:
    ref = r.paths.get("rank-bm25")
    for name, lat in r.paths.items():
        if lat is None:
            if name == "rank-bm25":
                print(f"{r.n:>10,}  {name:<24}  {DASH:>8}  {DASH:>8}  {DASH:>8}  (not run)")
            continue
        vs = "" if name == "rank-bm25" else _ratio(ref.p50 if ref else None, lat.p50)
        print(_row(f"{r.n:,}", name, lat, vs))


def _print_targets(results: dict[int, SizeResult], stream_questions: int) -> None:
    print("targets:")
    for label, table, path in (
        ("Engine.ask p95", ASK_P95_MS, "Engine.ask"),
        ("Engine.ask with a typo p95", TYPO_P95_MS, "  with a typo"),
    ):
        for n, limit in table.items():
            lat = results[n].paths[path] if n in results else None
            if lat is None:
                print(f"  {label} <= {limit} ms at {n:,}: not measured")
            else:
                ok = _verdict(lat.p95 <= limit)
                ref = results[n].paths["rank-bm25"]
                vs = f" (rank-bm25 p50 / this: {_ratio(ref.p50, lat.p95)})" if ref else ""
                print(f"  {label} <= {limit} ms at {n:,}: {lat.p95:.3f}  {ok}{vs}")
    for n, limit in LOAD_S.items():
        if n not in results:
            print(f"  load + index <= {limit} s at {n:,}: not measured")
            continue
        r = results[n]
        ok = _verdict(r.load_s <= limit)
        line = f"  load + index <= {limit} s at {n:,}: {r.load_s:.2f} s  {ok}"
        if n in PEAK_RSS_MB:
            ok = _verdict(r.peak_mb <= PEAK_RSS_MB[n])
            line += f"; peak RSS <= {PEAK_RSS_MB[n]:,.0f} MB: {r.peak_mb:,.0f}  {ok}"
        print(line)
    streamed = [r for r in results.values() if r.stream is not None]
    for r in streamed:
        assert r.stream is not None
        st = r.stream
        print(
            f"  ask - --json {stream_questions:,} questions at {r.n:,} >= {STREAM_SPEEDUP:.0f}x "
            f"rank-bm25: {_times(st.default_x)}  {_verdict(st.default_x >= STREAM_SPEEDUP)} "
            f"({usable_cores()} worker process(es); one process: {_times(st.one_x)})"
        )
    if not streamed:
        print(f"  ask - --json at {STREAM_SIZE:,}: not measured")
    ask, ask_cpu, bare, error = cold_start(ROOT)
    if ask is None:
        print(f"  cold start `python -m bot ask`: failed ({error})  MISS")
        return
    print(
        f'  cold start `python -m bot ask "{COLD_QUESTION}"` (median of {COLD_RUNS} '
        "after an untimed run that writes the bytecode cache, wall): "
        f"{ask:.3f} s ({ask_cpu:.3f} s CPU) vs target {COLD_TARGET_S} s  "
        f"{_verdict(ask <= COLD_TARGET_S)}; "
        f"bare `python -c pass`: {bare:.3f} s (ask / bare: {_ratio(ask, bare)})"
    )
