"""Add an article to the knowledge folder from a web page, a saved HTML file or stdin."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit, urlunsplit

import yaml

from bot.core.errors import CoreError, KnowledgeError
from bot.core.knowledge import Document, load_folder
from bot.core.text import fold, words

log = logging.getLogger(__name__)
# trafilatura logs a WARNING for every page it finds no text in; our own error says it better.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

MAX_BYTES = 5 * 1024 * 1024  # a news page is well under 1 MB; anything bigger is not one
DEFAULT_TIMEOUT = 15.0  # seconds for the whole download, not per socket read
CHUNK_BYTES = 64 * 1024
# Less article text than this is a home page, a teaser list or a paywall stub, not an article.
MIN_ARTICLE_CHARS = 400
MIN_PARAGRAPHS = 2
# Word 5-gram shingles; a Jaccard similarity this high means the same text (a republished wire
# story with another headline and furniture), not a different report on the same subject.
SHINGLE_WORDS = 5
DUPLICATE_SIMILARITY = 0.8
LANGUAGES = ("es",)  # the analyzer, glossary and templates are Spanish
HTML_TYPES = ("text/html", "application/xhtml+xml")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
USER_AGENT = "deal-bot/0.1 (+https://github.com/; knowledge ingestion)"
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "it": "Italian",
    "de": "German",
    "ca": "Catalan",
}
SLUG_MAX_CHARS = 80


class IngestError(CoreError):
    """An article cannot be added; the message is one line saying why."""


@dataclass(frozen=True)
class Overrides:
    """Metadata given on the command line; each wins over what extraction found."""

    title: str | None = None
    source: str | None = None
    published: date | None = None


@dataclass(frozen=True)
class Article:
    """An extracted article, ready to be written as a knowledge document."""

    title: str
    source: str
    published: date
    language: str
    url: str | None
    paragraphs: tuple[str, ...]

    def markdown(self) -> str:
        """Return the knowledge document: YAML front matter, then one paragraph per block."""
        meta: dict[str, object] = {
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "language": self.language,
        }
        if self.url:
            meta["url"] = self.url
        header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
        return f"---\n{header}---\n\n" + "\n\n".join(self.paragraphs) + "\n"

    @property
    def text(self) -> str:
        """Return the body as one string (for duplicate detection)."""
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Known:
    """What duplicate checks need to know about a document already in the folder."""

    name: str
    title: str
    url: str | None
    shingles: frozenset[tuple[str, ...]]


@dataclass(frozen=True)
class Added:
    """The outcome of one successful add (or dry run)."""

    article: Article
    path: Path
    written: bool


@dataclass(frozen=True)
class Page:
    """Raw HTML and the address it came from (None for a file or stdin)."""

    html: bytes
    url: str | None


# -- reading the source --------------------------------------------------------------------


def read_source(
    source: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    stdin: IO[bytes] | None = None,
) -> Page:
    """Read a URL, a saved HTML file or `-` (stdin), never more than `max_bytes`."""
    if source == "-":
        if stdin is None:
            raise IngestError("no standard input to read HTML from")
        return Page(_bounded(stdin, max_bytes), None)
    if urlsplit(source).scheme in ("http", "https"):
        return fetch(source, timeout=timeout, max_bytes=max_bytes)
    if "://" in source:
        raise IngestError("only http:// and https:// addresses can be downloaded")
    path = Path(source)
    if path.suffix.lower() not in HTML_SUFFIXES:
        raise IngestError("not an HTML file (expected .html or .htm)")
    try:
        with path.open("rb") as stream:
            return Page(_bounded(stream, max_bytes), None)
    except OSError as exc:
        raise IngestError(f"cannot read the file: {exc.strerror}") from exc


def _bounded(stream: IO[bytes], max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise IngestError(f"larger than {_mb(max_bytes)}; not a news page")
    return data


def fetch(url: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_BYTES) -> Page:
    """Download a page, streaming: stop past `max_bytes` or `timeout` seconds in total."""
    import urllib3  # comes with trafilatura; imported here so loading the core stays light

    http = urllib3.PoolManager(
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"},
        retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5),
    )
    deadline = time.monotonic() + timeout
    try:
        response = http.request(
            "GET", url, preload_content=False, timeout=urllib3.Timeout(total=timeout)
        )
    except urllib3.exceptions.MaxRetryError as exc:
        raise _download_error(exc.reason, timeout) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise _download_error(exc, timeout) from exc
    try:
        if response.status >= 400:
            raise IngestError(f"the server answered HTTP {response.status}")
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            raise IngestError(f"content type {content_type} is not an HTML page")
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise IngestError(f"the page is larger than {_mb(max_bytes)}; not downloaded")
        chunks: list[bytes] = []
        size = 0
        try:
            # read1 returns what has arrived: a server trickling bytes cannot hold a read open
            # past the deadline (read(n) would wait for n bytes).
            while chunk := response.read1(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise IngestError(f"download stopped past {_mb(max_bytes)}; not a news page")
                if time.monotonic() > deadline:
                    raise IngestError(f"download slower than the {timeout:g} s timeout")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            raise _download_error(exc, timeout) from exc
        final = urljoin(url, response.geturl() or url)  # urllib3 may give only the path
        return Page(b"".join(chunks), final)
    finally:
        response.release_conn()
        http.clear()


def _download_error(reason: object, timeout: float) -> IngestError:
    import urllib3

    # NewConnectionError subclasses ConnectTimeoutError, though a refused connection is no wait.
    timed_out = isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )
    if timed_out:
        return IngestError(f"download slower than the {timeout:g} s timeout")
    detail = str(reason).split(": ", 1)[-1] if reason else "unknown error"
    return IngestError(f"cannot download: {detail}")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


# -- extraction ----------------------------------------------------------------------------


def extract(page: Page, overrides: Overrides = Overrides()) -> Article:
    """Extract the article (text, title, outlet, date, canonical URL) with trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        page.html,  # bytes: trafilatura honours the page's declared charset
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        # Only dates the page declares (meta tags, <time>, the URL): a date guessed from free
        # text could be any date the article mentions.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    paragraphs = tuple(p for p in (" ".join(line.split()) for line in text.split("\n")) if p)
    headline = _clean(getattr(doc, "title", None))
    if paragraphs and headline and fold(paragraphs[0]) == fold(headline):
        paragraphs = paragraphs[1:]  # the headline is the document's title, not its body
    if sum(len(p) for p in paragraphs) < MIN_ARTICLE_CHARS or len(paragraphs) < MIN_PARAGRAPHS:
        raise IngestError("no article text found (a home page, a list of links or a paywall stub?)")
    language = detect_language("\n".join(paragraphs))
    if language not in LANGUAGES:
        name = LANGUAGE_NAMES.get(language, language)
        raise IngestError(
            f"the article is in {name} ({language}); only Spanish (es) articles can be added"
        )
    title = overrides.title or _clean(getattr(doc, "title", None))
    source = overrides.source or _outlet(doc)
    published = overrides.published or _iso_date(getattr(doc, "date", None))
    if not title:
        raise IngestError("no title found; give one with --title")
    if not source:
        raise IngestError("no outlet (site name) found; give it with --source")
    if published is None:
        raise IngestError("no publication date found; give it with --published YYYY-MM-DD")
    url = _clean(getattr(doc, "url", None)) or page.url
    if url is not None and not re.match(r"^https?://\S+$", url):
        url = page.url
    return Article(title, source, published, language, url, paragraphs)


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of the language a text is written in (py3langid)."""
    import py3langid

    code, _score = py3langid.classify(text)
    return str(code)


def _outlet(doc: object) -> str | None:
    """Return the site name the page declares; a bare host name is trafilatura's guess."""
    name = _clean(getattr(doc, "sitename", None))
    host = _clean(getattr(doc, "hostname", None)) or ""
    if name is None or name.casefold().removeprefix("www.") == host.casefold().removeprefix("www."):
        return None
    return name


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _iso_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# -- duplicates ----------------------------------------------------------------------------


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """Return the set of n-word shingles of a text (folded words)."""
    tokens = words(text)
    if len(tokens) < n:
        return frozenset({tuple(tokens)}) if tokens else frozenset()
    return frozenset(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """Return |a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def normalize_url(url: str) -> str:
    """Return a comparable form of a URL: no fragment, tracking parameters or trailing slash."""
    from courlan import normalize_url as courlan_normalize

    parts = urlsplit(url.strip())
    cleaned = urlunsplit(parts._replace(fragment=""))
    try:
        cleaned = courlan_normalize(cleaned, strict=True)
    except ValueError:  # pragma: no cover - courlan rejects very malformed URLs
        pass
    return cleaned.rstrip("/")


def known_documents(folder: Path) -> list[Known]:
    """Return the documents already in a folder (none when it has no *.md yet)."""
    if not folder.exists() or not any(folder.glob("*.md")):
        return []
    return [_known(d) for d in load_folder(folder)]


def _known(doc: Document) -> Known:
    body = "\n".join(p.text for p in doc.passages if p.paragraph > 0)
    return Known(doc.path.name, doc.title, doc.url, shingles(body))


def check_url(urls: Iterable[str | None], known: Iterable[Known]) -> None:
    """Raise IngestError when one of the URLs is already the `url` of a known document."""
    wanted = {normalize_url(u) for u in urls if u}
    for k in known:
        if k.url and normalize_url(k.url) in wanted:
            raise IngestError(f"this URL is already in the knowledge folder as {k.name}")


def check_new(article: Article, known: Sequence[Known], *, page_url: str | None = None) -> None:
    """Raise IngestError when the folder already holds this URL, text or title."""
    check_url((article.url, page_url), known)
    own = shingles(article.text)
    for k in known:
        similarity = jaccard(own, k.shingles)
        if similarity >= DUPLICATE_SIMILARITY:
            raise IngestError(
                f"near-identical text already present in {k.name} "
                f"({similarity:.0%} of shared 5-word shingles)"
            )
    for k in known:
        if k.title.casefold() == article.title.casefold():
            raise IngestError(
                f"a document titled {article.title!r} is already in {k.name}; "
                "give another with --title"
            )


# -- writing -------------------------------------------------------------------------------


def slugify(title: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """Return a file-name slug of a title: folded ASCII words joined by '-'."""
    ascii_only = unicodedata.normalize("NFKD", title.casefold()).encode("ascii", "ignore")
    tokens = re.findall(r"[a-z0-9]+", ascii_only.decode())
    slug = ""
    for token in tokens:
        candidate = f"{slug}-{token}" if slug else token
        if len(candidate) > max_chars:
            break
        slug = candidate
    return slug or "articulo"


def target_path(folder: Path, article: Article, taken: Sequence[Path] = ()) -> Path:
    """Return a free `<slug>.md` path in the folder for an article."""
    base = slugify(article.title)
    path = folder / f"{base}.md"
    n = 2
    while path.exists() or path in taken:
        path = folder / f"{base}-{n}.md"
        n += 1
    return path


def add(
    sources: Sequence[str],
    folder: Path,
    *,
    overrides: Overrides = Overrides(),
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    stdin: IO[bytes] | None = None,
) -> list[Added | IngestError]:
    """Add each source to the folder; return, per source, what was added or why not."""
    try:
        known = known_documents(folder)
    except KnowledgeError as exc:
        raise IngestError(f"{folder}: fix the knowledge folder first ({exc.problems[0]})") from exc
    outcomes: list[Added | IngestError] = []
    taken: list[Path] = []
    for source in sources:
        try:
            added = _add_one(
                source, folder, known, taken, overrides, dry_run, timeout, max_bytes, stdin
            )
        except IngestError as exc:
            log.info("not added: %s", exc)
            outcomes.append(exc)
            continue
        taken.append(added.path)
        known.append(
            Known(
                added.path.name,
                added.article.title,
                added.article.url,
                shingles(added.article.text),
            )
        )
        outcomes.append(added)
    return outcomes


def _add_one(
    source: str,
    folder: Path,
    known: list[Known],
    taken: list[Path],
    overrides: Overrides,
    dry_run: bool,
    timeout: float,
    max_bytes: int,
    stdin: IO[bytes] | None,
) -> Added:
    if urlsplit(source).scheme in ("http", "https"):
        check_url([source], known)  # before downloading anything
    page = read_source(source, timeout=timeout, max_bytes=max_bytes, stdin=stdin)
    article = extract(page, overrides)
    check_new(article, known, page_url=page.url)
    path = target_path(folder, article, taken)
    if not dry_run:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(article.markdown(), encoding="utf-8")
        tmp.replace(path)  # the watcher never sees a half-written document
        log.info("added %s (%d paragraphs)", path, len(article.paragraphs))
    return Added(article, path, written=not dry_run)
