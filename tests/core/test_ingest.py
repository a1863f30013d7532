"""Adding articles: extraction from the HTML fixtures, refusals, downloads from 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.core.answer import Engine
from bot.core.ingest import Added, IngestError, Overrides, add, jaccard, shingles, slugify
from bot.core.knowledge import load_folder
from bot.settings import BUNDLED_KNOWLEDGE
from bot.watch import watch_folder

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "ingest"
NEWS = FIXTURES / "noticia.html"
NEWS_URL = "https://diario-ficticio.example/tecnologia/microsoft-openai-alianza-2032"


def known_body() -> list[str]:
    """The paragraphs of noticia.html's article, written by hand."""
    text = (FIXTURES / "noticia.body.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def furniture() -> list[str]:
    """Texts of noticia.html's menus, banners, related links, comments and footer."""
    lines = (FIXTURES / "noticia.furniture.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def body_paragraphs(path: Path) -> list[str]:
    """The body paragraphs of a written knowledge document."""
    return [
        p.strip()
        for p in path.read_text(encoding="utf-8").split("---\n", 2)[2].split("\n\n")
        if p.strip()
    ]


def only(outcomes: list[Added | IngestError]) -> Added:
    """The single outcome of an add, which must be a success."""
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert isinstance(outcome, Added), str(outcome)
    return outcome


def refused(outcomes: list[Added | IngestError]) -> str:
    """The one-line reason of the single outcome, which must be a refusal."""
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert isinstance(outcome, IngestError), f"added {outcome}"
    message = str(outcome)
    assert "\n" not in message
    return message


# -- a local web server --------------------------------------------------------------------


class Site:
    """Routes of the test server and a log of the paths it was asked for."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.requests: list[str] = []

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def site() -> Iterator[Site]:
    """Serve the fixtures and some hostile responses on 127.0.0.1 (a free port)."""
    news = NEWS.read_bytes()
    big = b"<html><body>" + b"<p>relleno</p>" * (6 * 1024 * 1024 // 14) + b"</body></html>"
    state: dict[str, Site] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest's output clean
            pass

        def send(self, status: int, ctype: str, body: bytes, length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state["site"].requests.append(self.path)
            if self.path in ("/noticia", "/noticia?utm_source=x"):
                self.send(200, "text/html; charset=utf-8", news)
            elif self.path.startswith("/fixture/"):
                name = self.path.removeprefix("/fixture/")
                self.send(200, "text/html; charset=utf-8", (FIXTURES / name).read_bytes())
            elif self.path == "/redirige":
                self.send_response(302)
                self.send_header("Location", "/noticia")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/informe.pdf":
                self.send(200, "application/pdf", b"%PDF-1.4\n" + b"0" * 2000)
            elif self.path == "/grande":  # no Content-Length: only the streaming cap stops it
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for i in range(0, len(big), 65536):
                        self.wfile.write(big[i : i + 65536])
                except OSError:
                    pass  # the client hung up at the cap, as it should
            elif self.path == "/grande-declarada":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(big)))
                self.end_headers()
                try:
                    self.wfile.write(big)
                except OSError:
                    pass
            elif self.path == "/lenta":  # trickles a byte at a time: no read ever times out
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for byte in news:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass
            else:
                self.send(404, "text/html", b"<html><body>no</body></html>")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["site"] = Site(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["site"]
    finally:
        server.shutdown()
        server.server_close()


# -- extraction ----------------------------------------------------------------------------


def test_added_body_is_the_article_verbatim_without_furniture(tmp_path: Path) -> None:
    added = only(add([str(NEWS)], tmp_path))
    written = body_paragraphs(added.path)
    expected = known_body()
    kept = sum(1 for p in expected if p in written)
    assert kept == len(expected), "every article paragraph is kept verbatim"
    assert written == expected, "and nothing else is in the body"
    text = added.path.read_text(encoding="utf-8")
    leaked = [f for f in furniture() if f in text]
    assert leaked == []


def test_front_matter_carries_title_outlet_date_language_and_canonical_url(
    tmp_path: Path,
) -> None:
    added = only(add([str(NEWS)], tmp_path))
    assert added.path == tmp_path / "microsoft-y-openai-renuevan-su-alianza-hasta-2032.md"
    (doc,) = load_folder(tmp_path)
    assert doc.title == "Microsoft y OpenAI renuevan su alianza hasta 2032"
    assert doc.source == "Diario Ficticio"
    assert doc.published == date(2025, 10, 28)
    assert doc.language == "es"
    assert doc.url == NEWS_URL
    assert [p.text for p in doc.passages if p.paragraph > 0] == known_body()


def test_written_file_is_answered_from_by_a_reloaded_engine(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, folder)
    only(add([str(NEWS)], folder))
    engine = Engine.load(folder)
    answer = engine.ask("¿Qué participación tendrá Microsoft en OpenAI?")
    assert answer.answered
    top = answer.passages[0]
    assert "27 por ciento" in top.text
    assert top.citation.source == "Diario Ficticio" and top.citation.published == "28/10/2025"


async def test_watch_mode_picks_up_an_added_article(
    tmp_path: Path, watch_armed: Callable[..., Awaitable[None]]
) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, folder)
    engines = [Engine.load(folder)]

    async def reload() -> None:
        engines.append(Engine.load(folder))

    stop = asyncio.Event()
    task = asyncio.create_task(watch_folder(folder, reload, stop, debounce_ms=50))
    await watch_armed()
    only(add([str(NEWS)], folder))
    for _ in range(250):
        if len(engines) > 1 and len(engines[-1].documents) > len(engines[0].documents):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(engines) >= 2
    assert len(engines[-1].documents) == len(engines[0].documents) + 1


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    added = only(add([str(NEWS)], tmp_path, dry_run=True))
    assert not added.written and not added.path.exists()
    assert list(tmp_path.iterdir()) == []


def test_stdin_is_read_as_html(tmp_path: Path) -> None:
    added = only(add(["-"], tmp_path, stdin=io.BytesIO(NEWS.read_bytes())))
    assert body_paragraphs(added.path) == known_body()


def test_overrides_win_over_extraction(tmp_path: Path) -> None:
    overrides = Overrides(title="Otro título", source="Otra Fuente", published=date(2025, 11, 1))
    added = only(add([str(NEWS)], tmp_path, overrides=overrides))
    (doc,) = load_folder(tmp_path)
    assert (doc.title, doc.source, doc.published) == (
        "Otro título",
        "Otra Fuente",
        date(2025, 11, 1),
    )
    assert added.path.name == "otro-titulo.md"


# -- refusals: one line each, nothing written ----------------------------------------------


def test_a_page_without_a_date_names_the_override_flag(tmp_path: Path) -> None:
    message = refused(add([str(FIXTURES / "sin_fecha.html")], tmp_path))
    assert "no publication date" in message and "--published" in message
    assert list(tmp_path.iterdir()) == []
    fixed = Overrides(published=date(2025, 1, 23))
    added = only(add([str(FIXTURES / "sin_fecha.html")], tmp_path, overrides=fixed))
    assert load_folder(tmp_path)[0].published == date(2025, 1, 23)
    assert added.article.source == "Diario Ficticio"


def test_a_page_without_a_site_name_names_the_override_flag(tmp_path: Path) -> None:
    html = NEWS.read_text(encoding="utf-8").replace(
        '<meta property="og:site_name" content="Diario Ficticio">', ""
    )
    page = tmp_path / "sin_medio.html"
    page.write_text(html.replace(" | Diario Ficticio", ""), encoding="utf-8")
    folder = tmp_path / "knowledge"
    message = refused(add([str(page)], folder))
    assert "no outlet" in message and "--source" in message
    assert not folder.exists()


def test_english_page_is_refused(tmp_path: Path) -> None:
    message = refused(add([str(FIXTURES / "english.html")], tmp_path))
    assert "English (en)" in message and "Spanish (es)" in message
    assert list(tmp_path.iterdir()) == []


def test_home_page_is_refused(tmp_path: Path) -> None:
    message = refused(add([str(FIXTURES / "portada.html")], tmp_path))
    assert "no article text" in message
    assert list(tmp_path.iterdir()) == []


def test_paywall_stub_is_refused(tmp_path: Path) -> None:
    html = NEWS.read_text(encoding="utf-8")
    start, end = html.index('<div class="article-body">'), html.index('<div class="share-buttons">')
    stub = (
        '<div class="article-body"><p>MADRID, 28 Oct. - Microsoft y OpenAI han firmado un '
        "nuevo acuerdo.</p><p>Suscríbete para seguir leyendo.</p></div></article>"
    )
    page = tmp_path / "muro.html"
    page.write_text(html[:start] + stub + html[end:], encoding="utf-8")
    folder = tmp_path / "knowledge"
    assert "no article text" in refused(add([str(page)], folder))
    assert not folder.exists()


def test_near_identical_text_is_refused_naming_the_file(tmp_path: Path) -> None:
    first = only(add([str(NEWS)], tmp_path))
    message = refused(add([str(FIXTURES / "duplicado.html")], tmp_path))
    assert "near-identical" in message and first.path.name in message
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]


def test_duplicates_within_one_run_are_refused(tmp_path: Path) -> None:
    outcomes = add([str(NEWS), str(FIXTURES / "duplicado.html")], tmp_path)
    assert isinstance(outcomes[0], Added) and isinstance(outcomes[1], IngestError)
    assert len(list(tmp_path.glob("*.md"))) == 1


def test_same_url_is_refused_before_downloading(tmp_path: Path, site: Site) -> None:
    dated = Overrides(published=date(2025, 1, 23))
    page = site.url("/fixture/sin_fecha.html")  # no canonical link: the address is its URL
    assert only(add([page], tmp_path, overrides=dated)).article.url == page
    asked = len(site.requests)
    for again in (page, page + "#comentarios", page + "?utm_source=boletin"):
        message = refused(add([again], tmp_path, overrides=dated))
        assert "already in the knowledge folder" in message
    assert len(site.requests) == asked, "a known URL is not downloaded again"


def test_same_canonical_url_is_refused(tmp_path: Path, site: Site) -> None:
    only(add([site.url("/noticia")], tmp_path))
    message = refused(add([site.url("/noticia?utm_source=x")], tmp_path))
    assert "already in the knowledge folder" in message
    assert len(list(tmp_path.glob("*.md"))) == 1


def test_same_canonical_url_from_another_file_is_refused(tmp_path: Path) -> None:
    only(add([str(NEWS)], tmp_path, overrides=Overrides(title="Primera copia")))
    copy = tmp_path.parent / "copia.html"
    copy.write_bytes(NEWS.read_bytes())
    message = refused(add([str(copy)], tmp_path, overrides=Overrides(title="Segunda copia")))
    assert "already in the knowledge folder" in message


def test_same_title_is_refused_naming_the_flag(tmp_path: Path) -> None:
    only(add([str(NEWS)], tmp_path))
    html = (FIXTURES / "sin_fecha.html").read_text(encoding="utf-8")
    other = tmp_path.parent / "otra.html"
    title = "Qué supone para los usuarios el acuerdo entre Microsoft y OpenAI"
    other.write_text(html.replace(title, "Microsoft y OpenAI renuevan su alianza hasta 2032"))
    message = refused(add([str(other)], tmp_path, overrides=Overrides(published=date.today())))
    assert "--title" in message


# -- downloads -----------------------------------------------------------------------------


def test_url_is_downloaded_and_extracted(tmp_path: Path, site: Site) -> None:
    added = only(add([site.url("/redirige")], tmp_path))
    assert body_paragraphs(added.path) == known_body()
    assert added.article.url == NEWS_URL  # the page's canonical address, not the redirect


def test_non_html_content_type_is_refused(tmp_path: Path, site: Site) -> None:
    message = refused(add([site.url("/informe.pdf")], tmp_path))
    assert "application/pdf" in message and "not an HTML page" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/grande", "/grande-declarada"])
def test_download_over_the_size_cap_is_refused(tmp_path: Path, site: Site, path: str) -> None:
    message = refused(add([site.url(path)], tmp_path))
    assert "5 MB" in message
    assert list(tmp_path.iterdir()) == []


def test_slow_download_is_cut_at_the_timeout(tmp_path: Path, site: Site) -> None:
    message = refused(add([site.url("/lenta")], tmp_path, timeout=0.5))
    assert "slower than the 0.5 s timeout" in message
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_one_line(tmp_path: Path, site: Site) -> None:
    assert "HTTP 404" in refused(add([site.url("/no-existe")], tmp_path))


def test_unreachable_host_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port bound but not listening refuses connections
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
        assert "cannot download" in refused(add([closed], tmp_path, timeout=2))


def test_file_over_the_size_cap_or_not_html_is_refused(tmp_path: Path) -> None:
    assert "not an HTML file" in refused(add([str(FIXTURES / "noticia.body.txt")], tmp_path))
    big = tmp_path / "grande.html"
    big.write_bytes(b"<p>x</p>" * 10)
    assert "larger than" in refused(add([str(big)], tmp_path / "k", max_bytes=40))


# -- helpers -------------------------------------------------------------------------------


def test_slug_is_ascii_and_bounded() -> None:
    assert slugify("¿Año de la IA? España: 2032 — «cambios»") == "ano-de-la-ia-espana-2032-cambios"
    assert len(slugify("palabra " * 40)) <= 80
    assert slugify("¡¿!?") == "articulo"


def test_shingled_jaccard() -> None:
    a = shingles("uno dos tres cuatro cinco seis siete")
    assert jaccard(a, a) == 1.0
    assert jaccard(a, shingles("ocho nueve diez once doce trece")) == 0.0


def test_a_broken_knowledge_folder_is_reported_before_adding(tmp_path: Path) -> None:
    (tmp_path / "roto.md").write_text("sin front matter\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"fix the knowledge folder first .*roto\.md:1"):
        add([str(NEWS)], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roto.md"]
