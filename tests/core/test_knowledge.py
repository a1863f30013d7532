"""Knowledge loading: the bundled article is the seed verbatim; every problem names file:line."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import KnowledgeError
from bot.core.knowledge import (
    MAX_PASSAGE_CHARS,
    Document,
    _front_matter,
    _paragraphs,
    load_folder,
    split_long,
)
from bot.core.text import sentences

SEED = Path(__file__).resolve().parents[1] / "data" / "seed_article.txt"
ARTICLE = "microsoft-openai-acuerdo-2025"
ID_SHAPE = re.compile(r"^(?P<stem>[^:]+):(?P<para>\d+)(?:\.(?P<part>\d+))?$")

MakeDoc = Callable[..., str]


def normalise(text: str) -> str:
    """Collapse every run of whitespace to one space."""
    return " ".join(text.split())


def problems_of(folder: Path) -> tuple[str, ...]:
    """Load a folder that must fail and return its problems."""
    with pytest.raises(KnowledgeError) as info:
        load_folder(folder)
    assert info.value.problems, "a KnowledgeError must carry at least one problem"
    return info.value.problems


@pytest.fixture(scope="module")
def bundled(knowledge_dir: Path) -> Document:
    docs = load_folder(knowledge_dir)
    assert [d.id for d in docs] == [ARTICLE]
    return docs[0]


@pytest.fixture(scope="module")
def seed() -> str:
    return normalise(SEED.read_text(encoding="utf-8"))


# -- the bundled article -------------------------------------------------------------------


def test_bundled_article_metadata(bundled: Document) -> None:
    assert bundled.title == "OpenAI deja de depender de la infraestructura de Microsoft"
    assert bundled.source == "Portaltic/EP"
    assert bundled.published_label == "22/01/2025"
    assert bundled.language == "es"
    assert len(bundled.suggested_questions) >= 3


def test_every_passage_is_verbatim_from_the_seed(bundled: Document, seed: str) -> None:
    for passage in bundled.passages:
        assert normalise(passage.text) in seed, f"{passage.id} is not in the seed article"


def test_body_is_the_whole_seed_article_text(bundled: Document, seed: str) -> None:
    # From the dateline to the last sentence, nothing added, nothing left out.
    start, end = seed.index("MADRID, 22 Ene."), seed.index("Contador")
    body = " ".join(p.text for p in bundled.passages if p.paragraph > 0)
    assert normalise(body) == seed[start:end].strip()


def test_headline_is_the_title(bundled: Document) -> None:
    headline = bundled.passages[0]
    assert (headline.paragraph, headline.text) == (0, bundled.title)


def test_article_keeps_the_typos_and_the_dateline(bundled: Document) -> None:
    body = " ".join(p.text for p in bundled.passages)
    assert "Doland Trump" in body
    assert "infraestructtura" in body
    assert bundled.passages[1].text.startswith("MADRID, 22 Ene. (Portaltic/EP) - Microsoft")


def test_article_drops_the_page_furniture(bundled: Document) -> None:
    body = " ".join(p.text for p in bundled.passages)
    assert "Archivo - Logo de OpenAI" not in body
    assert "Contador" not in body
    assert "Publicado 22/01/2025" not in body


def test_passage_ids_are_stem_paragraph_and_stable(knowledge_dir: Path) -> None:
    first, second = load_folder(knowledge_dir), load_folder(knowledge_dir)
    ids = [p.id for d in first for p in d.passages]
    assert ids == [p.id for d in second for p in d.passages]
    assert len(set(ids)) == len(ids)
    for doc in first:
        for p in doc.passages:
            m = ID_SHAPE.match(p.id)
            assert m, p.id
            assert m["stem"] == doc.path.stem == p.document_id
            assert int(m["para"]) == p.paragraph


# -- problems name file:line --------------------------------------------------------------


def test_missing_field_names_the_field(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    text = make_doc().replace("source: Diario Test\n", "")
    folder = make_knowledge(tmp_path, {"a.md": text})
    (problem,) = problems_of(folder)
    assert re.match(rf"^{re.escape(str(folder / 'a.md'))}:\d+: ", problem), problem
    assert "source" in problem


@pytest.mark.parametrize("value", ["ayer", "22/01/2025", "2025-02-30", "2025-13-01"])
def test_bad_date_points_at_the_published_line(
    tmp_path, make_knowledge, make_doc: MakeDoc, value: str
) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc(published=value)})
    (problem,) = problems_of(folder)
    # Line 4: ---, title, source, published.
    assert problem.startswith(f"{folder / 'a.md'}:4: "), problem
    assert "published" in problem


def test_not_utf8_names_the_line(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    text = make_doc(body="Bien.\n\nMal aqu\xed.")
    raw = text.replace("Mal aqu\xed", "Mal aqu\udcff").encode("utf-8", "surrogateescape")
    folder = make_knowledge(tmp_path, {"a.md": raw})
    bad_line = text.split("\n").index("Mal aquí.") + 1
    (problem,) = problems_of(folder)
    assert problem.startswith(f"{folder / 'a.md'}:{bad_line}: "), problem
    assert "UTF-8" in problem


def test_empty_body(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc(body="   \n\n")})
    (problem,) = problems_of(folder)
    assert re.match(rf"^{re.escape(str(folder / 'a.md'))}:\d+: ", problem), problem
    assert "empty" in problem


def test_duplicate_title_names_both_files(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    folder = make_knowledge(
        tmp_path, {"a.md": make_doc(title="Mismo título"), "b.md": make_doc(title="Mismo título")}
    )
    (problem,) = problems_of(folder)
    assert re.match(r"^.*[ab]\.md:\d+: ", problem), problem
    assert "a.md" in problem
    assert "b.md" in problem


def test_unknown_field_points_at_its_line(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc(extra="autor: Alguien\n")})
    (problem,) = problems_of(folder)
    # Line 6: ---, title, source, published, language, autor.
    assert problem.startswith(f"{folder / 'a.md'}:6: "), problem
    assert "autor" in problem


def test_bad_yaml(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    text = make_doc().replace("source: Diario Test", "source: [sin cerrar")
    folder = make_knowledge(tmp_path, {"a.md": text})
    (problem,) = problems_of(folder)
    m = re.match(rf"^{re.escape(str(folder / 'a.md'))}:(\d+): ", problem)
    assert m, problem
    assert 3 <= int(m[1]) <= 5, "the line should be at or just after `source: [sin cerrar`"
    assert "YAML" in problem


def test_no_front_matter(tmp_path, make_knowledge) -> None:
    folder = make_knowledge(tmp_path, {"a.md": "# Título\n\nTexto sin cabecera.\n"})
    (problem,) = problems_of(folder)
    assert problem.startswith(f"{folder / 'a.md'}:1: "), problem
    assert "front matter" in problem


def test_two_bad_files_are_both_reported(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    folder = make_knowledge(
        tmp_path,
        {
            "a.md": make_doc(title="Uno").replace("language: es\n", ""),
            "b.md": make_doc(title="Dos", published="mañana"),
            "c.md": make_doc(title="Tres"),
        },
    )
    problems = problems_of(folder)
    assert len(problems) == 2, problems
    assert any(p.startswith(f"{folder / 'a.md'}:") for p in problems), problems
    assert any(p.startswith(f"{folder / 'b.md'}:4: ") for p in problems), problems
    assert all(str(folder / "c.md") not in p for p in problems)


def test_missing_folder_is_reported(tmp_path) -> None:
    (problem,) = problems_of(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in problem


# -- long paragraphs ---------------------------------------------------------------------

LONG_SENTENCES = [
    "El Sr. García explicó que la empresa revisará su acuerdo con EE.UU. durante el verano.",
    "La compañía, fundada en 2015, ha multiplicado su plantilla por diez en los últimos años.",
    "Según la nota, el nuevo contrato amplía la colaboración en centros de datos de Europa.",
    "Los analistas creen que la medida reducirá costes y acelerará el desarrollo de modelos.",
    "Además, el acuerdo incluye cláusulas sobre propiedad intelectual y reparto de ingresos.",
    "Fuentes del sector indican que otras empresas podrían anunciar pactos similares pronto.",
    "El consejo aprobó la operación por unanimidad tras varias semanas de negociaciones.",
    "La Dra. Martínez, responsable del proyecto, confía en cerrar la primera fase en 2026.",
    "Por último, ambas partes se comprometieron a revisar los resultados cada seis meses.",
    "Nadie quiso precisar la cifra final, aunque varios medios la sitúan en miles de millones.",
]
LONG_PARAGRAPH = " ".join(LONG_SENTENCES)


def test_long_paragraph_is_split_at_sentences(tmp_path, make_knowledge, make_doc: MakeDoc) -> None:
    assert len(LONG_PARAGRAPH) > MAX_PASSAGE_CHARS
    body = f"Un párrafo corto.\n\n{LONG_PARAGRAPH}\n\nOtro párrafo corto."
    folder = make_knowledge(tmp_path, {"largo.md": make_doc(body=body)})
    (doc,) = load_folder(folder)
    parts = [p for p in doc.passages if p.paragraph == 2]
    assert len(parts) >= 2
    assert [p.id for p in parts] == [f"largo:2.{i}" for i in range(1, len(parts) + 1)]
    assert " ".join(p.text for p in parts) == LONG_PARAGRAPH
    for p in parts:
        assert len(p.text) <= MAX_PASSAGE_CHARS, p.id
        # Whole sentences only: a part starts where a sentence starts and ends where one ends.
        assert any(p.text.startswith(s) for s in LONG_SENTENCES), p.text
        assert any(p.text.endswith(s) for s in LONG_SENTENCES), p.text
    # Unsplit neighbours keep their plain ids.
    assert [p.id for p in doc.passages if p.paragraph in (1, 3)] == ["largo:1", "largo:3"]


def test_paragraph_lines_are_joined_with_a_space(
    tmp_path, make_knowledge, make_doc: MakeDoc
) -> None:
    folder = make_knowledge(tmp_path, {"a.md": make_doc(body="Una línea\n  y la siguiente.")})
    (doc,) = load_folder(folder)
    assert doc.passages[1].text == "Una línea y la siguiente."


def test_a_single_long_sentence_stays_whole() -> None:
    sentence = "Esta frase " + "muy " * 200 + "larga termina aquí."
    assert split_long(f"Corta. {sentence} Fin del texto.") == ["Corta.", sentence, "Fin del texto."]


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéíóúñ", min_size=1, max_size=10)
_last_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=5, max_size=10)


@st.composite
def _sentence(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÑ"))
    middle = draw(st.lists(_word, min_size=0, max_size=60))
    end = draw(st.sampled_from(".?!"))
    return " ".join([first + draw(_word), *middle, draw(_last_word)]) + end


@given(st.lists(_sentence(), min_size=1, max_size=25))
def test_split_long_keeps_whole_sentences(sents: list[str]) -> None:
    paragraph = " ".join(sents)
    chunks = split_long(paragraph)
    assert " ".join(chunks) == paragraph
    for chunk in chunks:
        pieces = [chunk[s:e] for s, e in sentences(chunk)]
        assert all(piece in sents for piece in pieces), chunk
        assert " ".join(pieces) == chunk
        assert len(chunk) <= MAX_PASSAGE_CHARS or len(pieces) == 1, len(chunk)


@given(
    st.text(
        st.characters(codec="utf-8", categories=["Cc", "L", "Zs", "P"]), min_size=1, max_size=40
    )
)
def test_a_body_with_a_control_character_is_refused_and_only_then(
    tmp_path_factory: pytest.TempPathFactory, body: str
) -> None:
    # Loading checks the file's UTF-8 bytes; this is the character class it stands for.
    folder = tmp_path_factory.mktemp("k")
    text = f"---\ntitle: T\nsource: S\npublished: 2025-01-22\nlanguage: es\n---\n\nA {body} b\n"
    (folder / "a.md").write_text(text, encoding="utf-8", newline="")
    expected = re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", body) is not None
    try:
        load_folder(folder)
        refused = False
    except KnowledgeError as exc:
        refused = any("control character" in p for p in exc.problems)
    assert refused == expected


def lines_oracle(path: Path, text: str) -> tuple[str, int, list[str]]:
    """Front matter and paragraphs found line by line, as loading did before (the oracle)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        raise KnowledgeError([f"{path}:1: missing YAML front matter (first line must be '---')"])
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise KnowledgeError([f"{path}:1: front matter is not closed by a '---' line"]) from None
    body = map(str.strip, lines[close + 1 :])
    paragraphs = [" ".join(run) for filled, run in groupby(body, key=bool) if filled]
    return "\n".join(lines[1:close]), close, paragraphs


# Lines of spaces (every kind str.strip knows), fences, words; joined by line feeds.
_LINE = st.lists(
    st.sampled_from(["---", "a", "b c", "-- -", "\t", " ", "\r", "\x0b", "\x1c", "\x85", "\u2003"]),
    max_size=4,
).map("".join)
_DOCUMENT = st.lists(_LINE, max_size=12).map("\n".join)


@given(_DOCUMENT)
def test_front_matter_and_paragraphs_equal_splitting_line_by_line(text: str) -> None:
    path = Path("doc.md")
    try:
        expected = lines_oracle(path, text)
    except KnowledgeError as exc:
        with pytest.raises(KnowledgeError) as found:
            _front_matter(path, text)
        assert found.value.problems == exc.problems
        return
    header, close, body = _front_matter(path, text)
    assert (header, close, _paragraphs(body)) == expected


def test_a_document_with_windows_line_ends_loads_as_with_unix_ones(tmp_path: Path) -> None:
    meta = "title: Uno\nsource: S\npublished: 2025-01-22\nlanguage: es"
    doc = f"---\n{meta}\n---\n\nLínea\nsigue.\n\n\nOtro.\n"
    unix, windows = tmp_path / "unix", tmp_path / "windows"
    for folder, text in ((unix, doc), (windows, doc.replace("\n", "\r\n"))):
        folder.mkdir()
        (folder / "uno.md").write_bytes(text.encode())
    [a], [b] = load_folder(unix), load_folder(windows)
    assert (
        [p.text for p in b.passages]
        == [p.text for p in a.passages]
        == ["Uno", "Línea sigue.", "Otro."]
    )
    (windows / "uno.md").write_bytes(
        doc.replace("\n", "\r\n").replace("title: Uno", "title:").encode()
    )
    assert problems_of(windows) == (
        f"{windows / 'uno.md'}:2: title: Input should be a valid string",
    )
