"""Command line: no subcommand runs the bot (or the offline console); subcommands do chores."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pydantic import ValidationError

from bot import __version__
from bot.cli import fail
from bot.core.errors import CoreError, KnowledgeError, QuestionError
from bot.faults import CONFIG, FAULT, INTERRUPTED, Fault

if TYPE_CHECKING:
    from bot.core.answer import Engine
    from bot.settings import Settings


MAX_STATS_DAYS = 3650  # RETENTION_DAYS's own limit: older questions are never kept


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type: an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def _sizes(text: str) -> list[int]:
    """Parse `--sizes`: comma-separated passage counts (1 to 10,000,000)."""
    parse = _int_in(1, 10_000_000)
    sizes = [parse(part.strip().replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one passage count, e.g. 10000,100000")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `python -m bot`."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answers questions about the 2025 Microsoft-OpenAI agreement, quoting "
        "the article. Without a subcommand: runs the Discord bot when DISCORD_TOKEN is set, "
        "otherwise an offline console.",
    )
    parser.add_argument("--version", action="version", version=f"deal-bot {__version__}")
    sub = parser.add_subparsers(dest="command")

    ask = sub.add_parser("ask", help="answer one question (or '-' for one per stdin line)")
    ask.add_argument("question", help="the question, or '-' to read one question per line")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--lang", choices=("es", "en"), default=None, help="frame language")
    ask.add_argument("-k", type=int, default=None, help="passages to quote (1-10)")

    ev = sub.add_parser("eval", help="score a question file (hit@1, hit@3, abstention)")
    ev.add_argument("files", nargs="+", type=Path, help="JSONL question files")
    ev.add_argument("-k", type=int, default=3, help="passages per answer")

    bench = sub.add_parser(
        "bench", help="time Engine.ask, index.search and rank-bm25 on synthetic folders"
    )
    bench.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000],
        help="passage counts, e.g. 10000,100000,1000000",
    )
    bench.add_argument(
        "--queries", type=_int_in(1, 100_000), default=200, help="questions per size"
    )
    bench.add_argument(
        "--ref-max", type=_int_in(0, 10_000_000), default=100_000, help="largest size for rank-bm25"
    )
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument(
        "--stream",
        type=_int_in(0, 100_000),
        default=1000,
        help="questions for `ask - --json` (0: skip)",
    )
    bench.add_argument(
        "--stream-size",
        type=_int_in(1, 10_000_000),
        default=100_000,
        help="passage count for the stream",
    )
    bench.add_argument(
        "--english",
        type=int,
        metavar="N",
        default=None,
        help="instead: time N English questions with and without translation",
    )
    bench.add_argument(
        "--meaning",
        type=_int_in(1, 1_000_000),
        metavar="N",
        default=None,
        help="instead: time N questions with and without the meaning re-ranking",
    )

    add = sub.add_parser(
        "add", help="add articles to the knowledge folder from a URL, an .html file or '-'"
    )
    add.add_argument("sources", nargs="+", metavar="SOURCE", help="URL, .html file, or '-'")
    add.add_argument("--dir", type=Path, default=None, help="knowledge folder to write to")
    add.add_argument("--dry-run", action="store_true", help="show what would be written")
    add.add_argument("--title", default=None, help="title (instead of the page's)")
    add.add_argument("--source", default=None, help="outlet (instead of the page's site name)")
    add.add_argument("--published", default=None, metavar="YYYY-MM-DD", help="publication date")
    add.add_argument("--timeout", type=float, default=None, help="download timeout, seconds")

    check = sub.add_parser("check", help="validate a knowledge folder")
    check.add_argument("folder", nargs="?", type=Path, default=None)

    sub.add_parser("sync", help="force a global sync of the slash commands")
    stats = sub.add_parser("stats", help="usage report from the data folder")
    stats.add_argument(
        "--days",
        type=_int_in(1, MAX_STATS_DAYS),
        default=30,
        help=f"report the last N days (1-{MAX_STATS_DAYS})",
    )
    stats.add_argument("--lang", choices=("es", "en"), default=None)
    stats.add_argument("--guild", type=int, default=None, metavar="ID", help="one server only")
    return parser


def load_engine(
    folder: Path, settings: Settings, *, many: bool = False, workers: int = 1
) -> Engine:
    """Build the engine over a knowledge folder (with a progress bar on a terminal).

    `many`: many questions will come (a stream, an evaluation): the translator starts now and
    loads its dictionaries while the knowledge loads, instead of with the first English one,
    and the engine is warmed (`Engine.warm`) before any worker is forked.
    With `workers` to be forked, one more for each of the others, as soon as the folder shows
    that it is ranked by words alone (a folder ranked by meaning too gets one process).
    """
    from bot.cli import ProgressBar
    from bot.core.answer import Engine, freeze_what_lives

    translation = settings.open_translation(start=many)
    meaning = settings.open_meaning()
    translator = translation.translator
    bar = ProgressBar()
    progress: Callable[[int, int, int], None] = bar
    if many and workers > 1 and translator is not None:

        def progress(done: int, total: int, passages: int) -> None:
            bar(done, total, passages)
            if not meaning.ranks(passages):  # started once: later calls find them running
                translator.start(workers)

    engine = Engine.load(
        folder,
        progress,
        translator=translator,
        meaning=meaning,
        **settings.engine_options,
    )
    if many:
        engine.warm()
    freeze_what_lives()
    return engine


def stream_workers(settings: Settings, stdin: IO[str]) -> int:
    """Return how many processes answer `ask -`: ASK_WORKERS, else one per usable core when
    the questions are piped on Linux (a terminal's come one at a time: one process answers
    them; elsewhere a forked worker could not be tied to the command's end)."""
    if settings.ask_workers is not None:
        return settings.ask_workers
    if stdin.isatty() or sys.platform != "linux":
        return 1
    from bot.core.workers import usable_cores

    return usable_cores()


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    args = build_parser().parse_args(argv)
    from bot.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]).upper()
        return fail(f"setting {field}: {err['msg']}")
    from bot.logs import setup_logging

    # Chores print their own output; only the bot logs at INFO unless LOG_LEVEL says otherwise.
    quiet = args.command is not None and "log_level" not in settings.model_fields_set
    setup_logging("WARNING" if quiet else settings.log_level, settings.log_format)
    try:
        return _dispatch(args, settings)
    except KnowledgeError as exc:
        if len(exc.problems) == 1:
            return fail(exc.problems[0], 1)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return fail(f"the knowledge folder has {len(exc.problems)} problems", 1)
    except CoreError as exc:
        return fail(str(exc), 1)
    except Fault as exc:
        return fail(str(exc), exc.code)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # `python -m bot eval … | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot import cli

    command = args.command
    if command == "ask":
        lang = args.lang or settings.default_lang
        k = settings.top_k if args.k is None else args.k
        if not 1 <= k <= 10:
            return fail("-k must be between 1 and 10")
        if args.question != "-":
            from bot.core.answer import clean_question
            from bot.i18n import question_error

            try:
                clean_question(args.question)
            except QuestionError as exc:
                return fail(question_error(exc, lang))
        stream = args.question == "-"
        if stream and sys.stdin is None:  # `python -m bot ask - <&-`
            return fail("ask -: standard input is closed; pipe questions in, one per line")
        workers = stream_workers(settings, sys.stdin) if stream else 1
        engine = load_engine(settings.knowledge_dir, settings, many=stream, workers=workers)
        if stream:
            if engine.vectors is not None:
                # The sentence model runs on every core already (OpenMP, which a fork breaks).
                workers = 1
            # Bytes in, one line at a time, so a line that is not UTF-8 is reported alone;
            # JSON lines are UTF-8 whatever the locale (RFC 8259), text follows the terminal.
            if args.json:
                sys.stdout.reconfigure(encoding="utf-8", errors="strict")  # type: ignore[union-attr]
            else:
                sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
            # Unbuffered: a thread reading it may be blocked when Ctrl-C ends the process, and
            # must not hold the lock of sys.stdin's buffer, which the interpreter takes to exit.
            source = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
            # No cyclic collections until the process ends (see cli.STREAM_COLLECT_EVERY);
            # forked workers start so too.
            gc.disable()
            failed = cli.ask_stream(
                engine,
                source,
                sys.stdout,
                as_json=args.json,
                lang=lang,
                k=k,
                workers=workers,
            )
            return FAULT if failed else 0
        answer = engine.ask(args.question, lang=lang, k=k)
        print(
            cli.answer_json(answer)
            if args.json
            else cli.render_answer(answer, cli.use_color(sys.stdout))
        )
        return 0
    if command == "eval":
        from bot.core.evaluate import evaluate, load_cases

        engine = load_engine(settings.knowledge_dir, settings, many=True)
        cases = [c for path in args.files for c in load_cases(path)]
        report = evaluate(engine, cases, k=args.k)
        print("\n".join(report.lines()))
        return 0
    if command == "add":
        return cli.add_articles(args, args.dir or settings.knowledge_dir)
    if command == "check":
        from bot.core.answer import Engine

        folder = args.folder or settings.knowledge_dir
        engine = Engine.load(folder, cli.ProgressBar(), **settings.engine_options)
        print(
            f"{folder}: OK — {len(engine.documents)} document(s), {len(engine.passages)} "
            f"passages, {len(engine.index.vocab)} terms, built in {engine.build_seconds:.2f} s"
        )
        print(settings.open_translation(warm=True).line())
        print(settings.open_meaning().line(len(engine.passages)))
        from bot.core.rank import ranking_line

        print(ranking_line())
        return 0
    if command == "bench" and args.meaning is not None:
        from bot.bench_meaning import run_meaning_bench

        translation = settings.open_translation(warm=True)
        return run_meaning_bench(
            settings.knowledge_dir, settings.open_meaning(), args.meaning, translation.translator
        )
    if command == "bench" and args.english is not None:
        from bot.bench_english import run_english_bench

        translation = settings.open_translation(warm=True)
        return run_english_bench(
            settings.knowledge_dir, translation.translator, args.english, translation.line()
        )
    if command == "bench":
        try:
            import wordfreq  # noqa: F401  (the corpus's word frequencies; a test extra)
        except ImportError:
            return fail("bench needs wordfreq: .venv/bin/pip install -e '.[test]'", CONFIG)
        from bot.bench import run_bench

        return run_bench(
            args.sizes, args.queries, args.ref_max, args.seed, args.stream, args.stream_size
        )
    if command == "stats":
        from bot.store import DB_NAME, MemoryStore, open_store, render_stats

        lang = args.lang or settings.default_lang
        if not (settings.data_dir / DB_NAME).is_file():  # nothing recorded yet: an empty report
            print(render_stats(MemoryStore().stats(days=args.days), lang))
            return 0
        store, _salt = open_store(settings)
        try:
            print(render_stats(store.stats(days=args.days, guild_id=args.guild), lang))
        finally:
            store.close()
        return 0
    if command == "sync":
        from bot.runner import run_bot

        return run_bot(settings, sync_only=True)
    # No subcommand: the bot with a token; otherwise the console on a terminal.
    if settings.discord_token is not None:
        from bot.runner import run_bot

        return run_bot(settings)
    if sys.stdin is not None and sys.stdin.isatty():
        engine = load_engine(settings.knowledge_dir, settings)
        return cli.console(engine, settings.default_lang, settings.top_k)
    return fail(
        "DISCORD_TOKEN is not set: put it in .env (see .env.example) to run the bot, "
        'or run `python -m bot ask "..."` to ask offline'
    )


if __name__ == "__main__":
    code = main()
    # What lives now ends with the process, and the OS takes its memory back at once; left to
    # the interpreter, its last collection would walk every cache the answers filled (0.25 s
    # after `ask -` answered 1,000 questions at 100k passages).
    gc.freeze()
    sys.exit(code)
