"""Terminal rendering of answers: the offline stand-in for the Discord bot."""

from __future__ import annotations

import argparse
import codecs
import gc
import io
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

import orjson

from bot.core.errors import QuestionError
from bot.i18n import question_error, t

if TYPE_CHECKING:
    from bot.core.answer import Answer, Citation, Engine
    from bot.core.ingest import Added

BOLD, RESET, DIM = "\033[1m", "\033[0m", "\033[2m"
EXIT_USAGE = 2  # bad input or a bad token; 1 is for knowledge problems
# Lines of a stream answered together: prepared in one translator round trip, sent to one
# worker; small enough that the workers finish together at the end of a stream.
STREAM_BATCH = 32
# `ask -` answers with Python's cyclic collector off (__main__): answering makes no reference
# cycles (a test checks), so reference counting frees all it leaves, and the collector's walks
# over what the answers keep in caches (60-90 ms of 1,000 questions at 100k passages) bought
# nothing. In case a cycle is made after all, each process collects every so many lines.
STREAM_COLLECT_EVERY = 50_000
_answered = 0  # lines this process answered since it last collected


class ProgressBar:
    """A one-line progress bar on a terminal's stderr while a large folder is indexed."""

    def __init__(self, stream: IO[str] | None = None, min_documents: int = 20) -> None:
        self.stream = stream or sys.stderr
        self.min_documents = min_documents
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, passages: int) -> None:
        """Redraw the bar (only on a terminal, and only for folders worth a bar)."""
        if total < self.min_documents or not self.stream.isatty():
            return
        width = 30
        filled = width * done // total
        rate = passages / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(
            f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {done}/{total} documents, "
            f"{passages} passages, {rate:,.0f} passages/s"
        )
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print one error line to stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def use_color(stream: IO[str]) -> bool:
    """Tell whether to emit ANSI styles (a terminal, and NO_COLOR unset)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def emphasize(text: str, spans: Iterable[tuple[int, int]], color: bool) -> str:
    """Mark the highlighted spans of a text in bold (ANSI, or **markdown** when piped)."""
    start_tag, end_tag = (BOLD, RESET) if color else ("**", "**")
    out, last = [], 0
    for s, e in spans:
        out += [text[last:s], start_tag, text[s:e], end_tag]
        last = e
    out.append(text[last:])
    return "".join(out)


def citation_label(c: Citation, lang: str, *, link: bool = True) -> str:
    """Return a one-line citation: title, paragraph, outlet, date (and link)."""
    where = t("headline", lang) if c.paragraph == 0 else t("paragraph", lang, n=c.paragraph)
    parts = [f"«{c.title}»", where, c.source, c.published]
    if link and c.url:
        parts.append(c.url)
    return " · ".join(parts)


def render_answer(answer: Answer, color: bool = False) -> str:
    """Render an answer for the terminal."""
    lang = answer.lang
    dim, reset = (DIM, RESET) if color else ("", "")
    lines = [f"{t('question', lang)}: {answer.question}", ""]
    if not answer.answered:
        lines.append(answer.summary)
        if answer.suggestions:
            lines += ["", f"{t('suggestions', lang)}:"]
            lines += [f"  • {q}" for q in answer.suggestions]
        return "\n".join(lines)
    for p in answer.passages:
        lines.append(f"  «{emphasize(p.text, p.highlights, color)}»")
        lines.append(f"  {dim}— {citation_label(p.citation, lang)}{reset}")
        lines.append("")
    lines.append(f"{t('summary', lang)}: {answer.summary}")
    lines.append(f"{dim}{t('footer', lang)}{reset}")
    return "\n".join(lines)


def answer_json(answer: Answer) -> str:
    """Return an answer as one line of JSON: `Answer.to_dict`'s data, which orjson reads from
    the dataclasses themselves (9 us an answer, against 40 with json.dumps on a dict)."""
    return orjson.dumps(answer).decode()


def ask_stream(
    engine: Engine,
    source: io.BufferedIOBase | io.RawIOBase,
    out: IO[str],
    *,
    as_json: bool,
    lang: str,
    k: int,
    err: IO[str] | None = None,
    workers: int = 1,
) -> int:
    """Answer one UTF-8 question per input line, streaming; return how many lines failed.

    A bad line (not UTF-8, empty, control characters...) gets an error object in JSON mode
    (one output line per input line) or an `error:` line on `err` otherwise; the batch goes on.
    With `workers` > 1, forked copies of this process answer batches of lines side by side
    (`bot.core.workers`); the output is the same, in the same order.
    """
    from bot.core.workers import in_order

    failures = 0
    err = err or sys.stderr
    answer = partial(answer_lines, engine, as_json=as_json, lang=lang, k=k, color=use_color(out))
    # Each worker runs a translator of its own.
    start = getattr(engine.translator, "start", None)
    stop = getattr(engine.translator, "close", None)
    for replies in in_order(answer, numbered_batches(source), workers, start, stop):
        for reply in replies:
            if reply.failed:
                failures += 1
            if reply.err:
                out.flush()  # the answers before it come first on a shared terminal too
                err.write(reply.err)
                err.flush()
            out.write(reply.out)
        out.flush()
    return failures


class Reply(NamedTuple):
    """What one input line of a stream writes: to the output, to stderr, and whether it failed."""

    out: str
    err: str
    failed: bool


def answer_lines(
    engine: Engine,
    batch: tuple[int, list[bytes]],
    *,
    as_json: bool,
    lang: str,
    k: int,
    color: bool,
) -> list[Reply]:
    """Answer a batch of a stream's lines (the first one's number, their bytes), prepared
    together (`Engine.prepared`); return what each line writes."""
    global _answered
    first, lines = batch
    _answered += len(lines)
    if _answered >= STREAM_COLLECT_EVERY:  # in case a cycle was made after all
        _answered = 0
        gc.collect()
    replies = []
    for number, data in enumerate(engine.prepared(lines, _utf8), first):
        try:
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = data.decode("utf-8", errors="replace")
                raise QuestionError("encoding", f"line {number}: not UTF-8") from exc
            answer = engine.ask(line, lang=lang, k=k)
        except QuestionError as exc:
            message = question_error(exc, lang)
            if as_json:
                error = orjson.dumps({"question": line, "error": message}).decode()
                replies.append(Reply(error + "\n", "", True))
            else:
                replies.append(Reply("", f"error: line {number}: {message}\n", True))
        else:
            text = answer_json(answer) if as_json else render_answer(answer, color) + "\n"
            replies.append(Reply(text + "\n", "", False))
    return replies


def numbered_batches(
    source: io.BufferedIOBase | io.RawIOBase, size: int = STREAM_BATCH
) -> Iterator[tuple[int, list[bytes]]]:
    """Yield the lines as they arrive, at most `size` together, each batch with its first
    line's number; lines without their line end (LF or CRLF) or the input's byte-order mark."""
    number = 0
    for batch in line_batches(source):
        lines = [raw.rstrip(b"\r") for raw in batch]
        if number == 0:
            lines[0] = lines[0].removeprefix(codecs.BOM_UTF8)
        for first in range(0, len(lines), size):
            yield number + first + 1, lines[first : first + size]
        number += len(lines)


READ_BYTES = 1 << 16


def line_batches(source: io.BufferedIOBase | io.RawIOBase) -> Iterator[list[bytes]]:
    """Yield the complete lines each read brings (without their newline), never waiting for more.

    A buffered reader's `read1`, or an unbuffered one's `read`, returns what is there or one
    read's worth: a question typed at a terminal comes alone and is answered at once; a file
    piped in comes many lines at a time.
    """
    read = source.read1 if isinstance(source, io.BufferedIOBase) else source.read
    pending: list[bytes] = []  # the start of a line not ended yet
    while chunk := read(READ_BYTES):
        *ended, rest = chunk.split(b"\n")
        if ended:
            ended[0] = b"".join([*pending, ended[0]])
            pending = []
            yield ended
        if rest:
            pending.append(rest)
    if pending:
        yield [b"".join(pending)]


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def console(engine: Engine, lang: str, k: int) -> int:
    """Run the interactive console: type questions, read answers; /en, /es, /salir."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover - not on every platform
        pass
    color = use_color(sys.stdout)
    print(t("console_hello", lang))
    for q in engine.complete("")[:3]:
        print(f"  • {q}")
    while True:
        try:
            line = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError:  # bytes from the terminal that are not its encoding
            print(f"error: {t('err_encoding', lang)}")
            continue
        command = line.strip().lower()
        if command in ("/salir", "/quit", "/exit"):
            return 0
        if command in ("/en", "/es"):
            lang = command[1:]
            print(t("console_hello", lang))
            continue
        if not command:
            continue
        try:
            print(render_answer(engine.ask(line, lang=lang, k=k), color))
        except QuestionError as exc:
            print(f"error: {question_error(exc, lang)}")


def add_articles(args: argparse.Namespace, folder: Path) -> int:
    """Run `python -m bot add`: add each source, print what was written or why not."""
    from bot.core.ingest import DEFAULT_TIMEOUT, Added, Overrides, add

    published = None
    if args.published is not None:
        try:
            published = date.fromisoformat(args.published)
        except ValueError:
            return fail(f"--published {args.published!r}: not a date (YYYY-MM-DD)")
    if args.timeout is not None and args.timeout <= 0:
        return fail("--timeout must be a positive number of seconds")
    if len(args.sources) > 1 and (args.title or args.published):
        return fail("--title and --published apply to one article: give a single SOURCE")
    if args.sources.count("-") > 1:
        return fail("'-' (standard input) can be given once")
    overrides = Overrides(title=args.title, source=args.source, published=published)
    outcomes = add(
        args.sources,
        folder,
        overrides=overrides,
        dry_run=args.dry_run,
        timeout=args.timeout or DEFAULT_TIMEOUT,
        stdin=sys.stdin.buffer if sys.stdin is not None else None,  # None: stdin closed
    )
    for source, outcome in zip(args.sources, outcomes, strict=True):
        if isinstance(outcome, Added):
            print(render_added(outcome))
        else:
            print(f"error: {source}: {outcome}", file=sys.stderr)
    failed = sum(1 for o in outcomes if not isinstance(o, Added))
    return 1 if failed else 0


def render_added(added: Added) -> str:
    """Describe an added article: file, title, date, outlet, paragraphs, first and last."""
    a = added.article
    verb = "added" if added.written else "would add (dry run, nothing written)"
    lines = [
        f"{verb}: {added.path}",
        f"  title:      {a.title}",
        f"  published:  {a.published.strftime('%d/%m/%Y')}",
        f"  source:     {a.source}",
        f"  url:        {a.url or '-'}",
        f"  language:   {a.language}",
        f"  paragraphs: {len(a.paragraphs)}",
        f"  first:      {a.paragraphs[0]}",
        f"  last:       {a.paragraphs[-1]}",
    ]
    return "\n".join(lines)
