"""Load and validate the knowledge folder: Markdown documents with YAML front matter."""

from __future__ import annotations

import logging
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.errors import KnowledgeError
from bot.core.text import sentences

log = logging.getLogger(__name__)

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

MAX_PASSAGE_CHARS = 700
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # per file; MAX_DOCUMENT_MB in the settings
MAX_YAML_DEPTH = 20  # the glossary needs 3 levels, front matter 2
FENCE = "---"
_FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# Unicode category Cc (C0, DEL, C1) except tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same characters in UTF-8: C0 and DEL are single bytes no other character uses, C1 is
# \xc2 followed by \x80-\x9f. Checking the bytes is ~20x faster than the regex on the text.
_C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
# Invisible characters that web pages put inside words (soft hyphens for line breaking,
# zero-width spaces, word joiners, a byte-order mark past the start): dropped on load, or
# "acu\u00aderdo" would be indexed as "acu" and "erdo". Questions drop every format character
# (unicode_guard.visible); an article keeps the joiners that shape emoji and scripts.
_INVISIBLE = "\u00ad\u200b\u2060\ufeff"
_DROP_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE))
# A line that strips to "---" (Python's re: ^ and $ only at "\n"; [^\S\n]: str.strip's spaces
# but the line break), and a run of lines that strip to nothing.
_FENCE_LINE = re.compile(r"^[^\S\n]*---[^\S\n]*$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")
# How an event of the YAML stream changes the nesting depth (0: an alias, refused).
_DEPTH_STEP: dict[type, int] = {
    yaml.MappingStartEvent: 1,
    yaml.SequenceStartEvent: 1,
    yaml.MappingEndEvent: -1,
    yaml.SequenceEndEvent: -1,
    yaml.AliasEvent: 0,
}


class Passage(NamedTuple):  # a tuple: a million of them build fast and small
    """A quotable piece of a document: a paragraph, or part of a long one."""

    id: str
    document_id: str
    paragraph: int  # 1-based paragraph number in the body; 0 is the headline
    text: str


_new_tuple = tuple.__new__


@dataclass(frozen=True)
class Document:
    """One article of the knowledge folder."""

    id: str
    title: str
    source: str
    published: date
    language: str
    url: str | None
    suggested_questions: tuple[str, ...]
    path: Path
    passages: tuple[Passage, ...]

    @cached_property
    def published_label(self) -> str:
        """Return the publication date as dd/mm/yyyy, as Spanish outlets print it."""
        return self.published.strftime("%d/%m/%Y")


class FrontMatter(BaseModel):
    """The YAML header every knowledge document must carry."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    source: str = Field(min_length=1, max_length=200)
    published: datetime | date
    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=500)
    suggested_questions: list[str] = Field(default_factory=list)

    @field_validator("published", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError as exc:
                raise ValueError(f"not an ISO 8601 date: {value!r}") from exc
        return value

    @field_validator("suggested_questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        cleaned = [q.strip() for q in value]
        if any(not q or len(q) > 300 for q in cleaned):
            raise ValueError("each suggested question must have 1 to 300 characters")
        return cleaned


Progress = Callable[[int, int, int], None]  # (documents done, documents total, passages)


def read_regular(path: Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Read a regular file of at most `max_bytes`; anything else is a `file:1` problem.

    The file is opened non-blocking and the opened descriptor is checked, so a FIFO never
    blocks and a link to a device such as /dev/zero is never read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise KnowledgeError([f"{path}:1: cannot read the file: {exc.strerror}"]) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise KnowledgeError([f"{path}:1: {kind}, not a regular file; only files are read"])
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise KnowledgeError([f"{path}:1: cannot read the file: {exc.strerror}"]) from exc
    if len(data) > max_bytes:
        raise KnowledgeError(
            [
                f"{path}:1: larger than {max_bytes / 2**20:g} MB (the MAX_DOCUMENT_MB limit); "
                "split it into several documents"
            ]
        )
    return data


def compose_bounded(text: str, max_depth: int = MAX_YAML_DEPTH) -> tuple[yaml.Node | None, Any]:
    """Parse YAML into one node tree, refusing aliases and nesting deeper than `max_depth`.

    Aliases are what make a 10-line "billion laughs" file expand for minutes; deep nesting is
    what exhausts Python's recursion. Our files need neither, so YAML's own event stream is
    checked first (libyaml, no recursion), then the same loader composes the nodes. Returns
    the node and the loader: build data with `loader.construct_document(node)`, then
    `loader.dispose()`. Raises yaml.YAMLError marked at the offending line.
    """
    checker = SAFE_LOADER(text)
    try:
        depth = 0
        for event in iter(checker.get_event, None):  # None past the end of the stream
            step = _DEPTH_STEP.get(type(event))
            if step is None:
                continue
            if not step:
                raise yaml.composer.ComposerError(
                    None, None, f"aliases (*{event.anchor}) are not allowed", event.start_mark
                )
            depth += step
            if depth > max_depth:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {max_depth} levels", event.start_mark
                )
    finally:
        checker.dispose()
    loader = SAFE_LOADER(text)
    try:
        return loader.get_single_node(), loader
    except BaseException:
        loader.dispose()
        raise


def load_folder(
    folder: Path, progress: Progress | None = None, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[Document, ...]:
    """Load every `*.md` document of a folder; raise KnowledgeError listing all problems."""
    if not folder.is_dir():
        raise KnowledgeError([f"{folder}: not a readable folder"])
    try:
        paths = sorted(folder.glob("*.md"))
    except OSError as exc:
        raise KnowledgeError([f"{folder}: cannot list the folder: {exc.strerror}"]) from exc
    problems: list[str] = []
    documents: list[Document] = []
    titles: dict[str, Path] = {}
    passages = 0
    for done, path in enumerate(paths, start=1):
        try:
            doc, title_line = _load_document(path, max_bytes)
            passages += len(doc.passages)
        except KnowledgeError as exc:
            problems.extend(exc.problems)
            continue
        finally:
            if progress is not None:
                progress(done, len(paths), passages)
        key = doc.title.casefold()
        if key in titles:
            problems.append(
                f"{path}:{title_line}: duplicate title {doc.title!r} (also in {titles[key].name})"
            )
            continue
        titles[key] = path
        documents.append(doc)
    if not paths:
        problems.append(f"{folder}: no *.md documents in the folder")
    if problems:
        raise KnowledgeError(problems)
    log.info("loaded %d documents from %s", len(documents), folder)
    return tuple(documents)


def _load_document(path: Path, max_bytes: int) -> tuple[Document, int]:
    raw = read_regular(path, max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise KnowledgeError([f"{path}:{line}: not UTF-8 (byte {exc.start})"]) from exc
    if b"\r" in raw:  # (a one-byte search is a memchr; "\r\n" is ten times slower)
        text = text.replace("\r\n", "\n")
    if (b"\xcc" in raw or b"\xcd" in raw) and not unicodedata.is_normalized("NFC", text):
        # Decomposed accents ("o" + U+0301, as some editors and macOS save; U+0300-U+037F start
        # with those bytes): composed, the same text to a reader, so that the index, the
        # highlights and the quotes read one spelling (two byte searches: a million passages).
        text = unicodedata.normalize("NFC", text)
    if any(c in text for c in _INVISIBLE):  # "acu&shy;erdo" is "acuerdo" to a reader
        text = text.translate(_DROP_INVISIBLE)
    if len(raw.translate(None, _C0_BYTES)) != len(raw) or _C1_UTF8.search(raw):
        raise KnowledgeError(_control_characters(path, text.split("\n")))
    header, close, body = _front_matter(path, text)
    try:
        node, loader = compose_bounded(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise KnowledgeError([f"{path}:{line}: invalid YAML: {problem}"]) from exc
    key_lines = _key_lines(node)
    try:
        data = (loader.construct_document(node) if node is not None else None) or {}
    except ValueError as exc:  # a date-shaped value that is no date: 2025-02-30
        line = key_lines.get("published", 1)
        raise KnowledgeError([f"{path}:{line}: published: not a valid date ({exc})"]) from exc
    except yaml.YAMLError as exc:  # e.g. a tag the safe loader does not build: !!python/...
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError([f"{path}:{line}: invalid YAML: {problem}"]) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise KnowledgeError([f"{path}:2: front matter must be a mapping of fields"])
    try:
        meta = FrontMatter.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            line = key_lines.get(field, 1)
            if err["type"] == "missing":
                problems.append(f"{path}:1: missing required field {field!r}")
            elif err["type"] == "extra_forbidden":
                problems.append(f"{path}:{line}: unknown field {field!r}")
            else:
                problems.append(f"{path}:{line}: {field}: {err['msg']}")
        raise KnowledgeError(problems) from exc
    body_start = close + 2  # 1-based line number of the first body line
    paragraphs = _paragraphs(body)
    if not paragraphs:
        raise KnowledgeError([f"{path}:{body_start}: empty body (no paragraphs after '---')"])
    doc_id = path.stem
    published = meta.published.date() if isinstance(meta.published, datetime) else meta.published
    doc = Document(
        id=doc_id,
        title=meta.title,
        source=meta.source,
        published=published,
        language=meta.language,
        url=meta.url,
        suggested_questions=tuple(meta.suggested_questions),
        path=path,
        passages=_passages(doc_id, meta.title, paragraphs),
    )
    return doc, key_lines.get("title", 1)


def _passages(doc_id: str, title: str, paragraphs: list[str]) -> tuple[Passage, ...]:
    """Return a document's passages: its title, then its paragraphs (long ones split)."""
    passages = [Passage(f"{doc_id}:0", doc_id, 0, title)]
    if max(map(len, paragraphs)) <= MAX_PASSAGE_CHARS:  # a passage per paragraph
        # What Passage(...) does, without its Python-level __new__ (a million passages).
        passages += [
            _new_tuple(Passage, (f"{doc_id}:{number}", doc_id, number, paragraph))
            for number, paragraph in enumerate(paragraphs, start=1)
        ]
        return tuple(passages)
    for number, paragraph in enumerate(paragraphs, start=1):
        if len(paragraph) <= MAX_PASSAGE_CHARS:
            passages.append(Passage(f"{doc_id}:{number}", doc_id, number, paragraph))
            continue
        parts = split_long(paragraph)
        for part, chunk in enumerate(parts, start=1):
            suffix = f".{part}" if len(parts) > 1 else ""
            passages.append(Passage(f"{doc_id}:{number}{suffix}", doc_id, number, chunk))
    return tuple(passages)


def _front_matter(path: Path, text: str) -> tuple[str, int, str]:
    """Split a document into its YAML header, the index of its closing '---' line, and its body.

    The lines (split at "\n") are found as offsets: a body of thousands of paragraphs is cut
    into paragraphs at once, not line by line.
    """
    first_end = text.find("\n")
    if text[: first_end if first_end >= 0 else len(text)].strip() != FENCE:
        raise KnowledgeError([f"{path}:1: missing YAML front matter (first line must be '---')"])
    fence = _FENCE_LINE.search(text, first_end + 1) if first_end >= 0 else None
    if fence is None:
        raise KnowledgeError([f"{path}:1: front matter is not closed by a '---' line"])
    close = text.count("\n", 0, fence.start())
    return text[first_end + 1 : fence.start() - 1], close, text[fence.end() + 1 :]


def _control_characters(path: Path, lines: list[str], most: int = 5) -> list[str]:
    """Report lines holding control characters (NUL, escape...): quotes must be plain text."""
    found = []
    for number, line in enumerate(lines, start=1):
        bad = sorted(set(CONTROL_CHARACTERS.findall(line)))
        if bad:
            names = ", ".join(f"U+{ord(c):04X}" for c in bad)
            found.append(f"{path}:{number}: control character(s) {names}; remove them")
            if len(found) == most:
                found.append(f"{path}: (more lines may hold control characters)")
                break
    return found


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    """Map each top-level front-matter key to its 1-based line in the file."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 2 for k, _ in node.value if isinstance(k.value, str)}


def _paragraphs(body: str) -> list[str]:
    """Join each run of non-blank lines (stripped) into one paragraph."""
    paragraphs = []
    for block in _BLANK_LINES.split(body):
        block = block.strip()  # blank lines only open or close the body
        if "\n" in block:
            paragraphs.append(" ".join([line.strip() for line in block.split("\n")]))
        elif block:
            paragraphs.append(block)
    return paragraphs


def split_long(paragraph: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Split a paragraph into chunks of whole sentences, each at most `limit` if possible."""
    if len(paragraph) <= limit:
        return [paragraph]
    chunks: list[str] = []
    start = end = None
    for s, e in sentences(paragraph):
        if start is None:
            start, end = s, e
        elif e - start <= limit:
            end = e
        else:
            chunks.append(paragraph[start:end])
            start, end = s, e
    if start is not None:
        chunks.append(paragraph[start:end])
    return chunks
