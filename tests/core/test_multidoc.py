"""Several documents in one knowledge folder: replies speak of the knowledge base, not of one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.answer import Engine

# Three short reports on unrelated subjects; the folder order (a, b, c) is not the date order.
PARK = {
    "title": "Valencia abre un nuevo parque junto al río",
    "source": "Diario Levante de Prueba",
    "published": "2024-03-01",
    "body": (
        "El ayuntamiento de Valencia ha abierto un parque de doce hectáreas junto al antiguo "
        "cauce del río.\n\n"
        "El parque tiene 1.200 árboles y un lago artificial con barcas de alquiler."
    ),
    "suggested": ("¿Cuántos árboles tiene el parque?", "¿Cuántos visitantes tiene el parque?"),
}
BUDGET = {
    "title": "Bilbao aprueba el presupuesto municipal",
    "source": "Gaceta del Norte de Prueba",
    "published": "2025-06-10",
    "body": (
        "El pleno municipal de Bilbao ha aprobado un presupuesto de 37 millones de euros con los "
        "votos del gobierno local.\n\n"
        "La oposición votó en contra y reclamó más inversión en transporte."
    ),
    "suggested": ("¿Cuánto dinero aprobó Bilbao?", "¿Quién votó en contra?"),
}
FAIR = {
    "title": "Sevilla celebra su feria de abril",
    "source": "Crónica del Sur de Prueba",
    "published": "2023-04-20",
    "body": (
        "La feria de abril de Sevilla recibió a medio millón de visitantes en su primera "
        "jornada.\n\n"
        "Las casetas permanecerán abiertas hasta el domingo por la noche."
    ),
    "suggested": ("¿Cuántos visitantes tuvo la feria?", "¿Hasta cuándo abren las casetas?"),
}
DOCS = {"a-parque.md": PARK, "b-presupuesto.md": BUDGET, "c-feria.md": FAIR}


def _label(doc: dict[str, object]) -> str:
    """Return the date as the bot prints it (dd/mm/yyyy)."""
    year, month, day = str(doc["published"]).split("-")
    return f"{day}/{month}/{year}"


@pytest.fixture
def three(
    tmp_path: Path, make_knowledge: Callable[..., Path], make_doc: Callable[..., str]
) -> Engine:
    """The engine over a folder of three unrelated dated reports (bundled glossary)."""
    files = {name: make_doc(**doc) for name, doc in DOCS.items()}
    return Engine.load(make_knowledge(tmp_path, files, glossary=True))


@pytest.mark.parametrize(
    ("lang", "start"),
    [
        ("es", "La base de conocimiento no trata eso: ninguno de sus 3 documentos"),
        ("en", "The knowledge base does not cover that: none of its 3 documents"),
    ],
)
def test_not_covered_speaks_of_the_knowledge_base_not_of_an_article(
    three: Engine, lang: str, start: str
) -> None:
    answer = three.ask("¿Cuál es la receta de la paella valenciana con marisco?", lang=lang)
    assert not answer.answered
    assert answer.summary.startswith(start)
    for doc in DOCS.values():
        assert str(doc["title"]) not in answer.summary
        assert str(doc["source"]) not in answer.summary
        assert _label(doc) not in answer.summary


def test_a_date_question_about_one_document_quotes_that_documents_date(three: Engine) -> None:
    answer = three.ask("¿Cuándo se publicó la noticia del presupuesto de Bilbao?")
    assert answer.answered
    assert answer.summary.startswith(
        f"«{BUDGET['title']}» lo publicó {BUDGET['source']} el {_label(BUDGET)}."
    )
    for other in (PARK, FAIR):
        assert _label(other) not in answer.summary
        assert str(other["source"]) not in answer.summary
    assert answer.passages[0].citation.published == _label(BUDGET)


def test_an_outlet_question_about_the_park_names_the_parks_outlet(three: Engine) -> None:
    answer = three.ask("¿Qué medio publicó lo del parque de Valencia?", lang="en")
    assert answer.summary.startswith(
        f"«{PARK['title']}» was published by {PARK['source']} on {_label(PARK)}."
    )
    assert str(BUDGET["source"]) not in answer.summary


def test_a_date_question_with_nothing_else_lists_the_documents_newest_first(
    three: Engine,
) -> None:
    answer = three.ask("¿Cuándo se publicó?")
    assert answer.answered
    assert answer.summary.startswith("La base de conocimiento tiene 3 documentos")
    listed = [f"«{d['title']}» ({d['source']}, {_label(d)})" for d in (BUDGET, PARK, FAIR)]
    positions = [answer.summary.index(item) for item in listed]
    assert positions == sorted(positions)
    assert [p.citation.published for p in answer.passages] == [
        _label(BUDGET),
        _label(PARK),
        _label(FAIR),
    ]


def test_a_question_about_what_an_outlet_published_lists_that_outlets_documents(
    three: Engine,
) -> None:
    answer = three.ask("¿Qué publicó la Gaceta del Norte?")
    assert answer.answered
    assert answer.summary == (
        f"«{BUDGET['title']}» lo publicó {BUDGET['source']} el {_label(BUDGET)}."
    )
    assert [p.document_id for p in answer.passages] == ["b-presupuesto"]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_resumen_quotes_each_document_with_its_outlet_and_date(three: Engine, lang: str) -> None:
    answer = three.overview(lang=lang)
    according = "Según" if lang == "es" else "According to"
    for doc in DOCS.values():
        assert f"{according} {doc['source']} ({_label(doc)})" in answer.summary
    assert {p.document_id for p in answer.passages} == {"a-parque", "b-presupuesto", "c-feria"}
    for passage in answer.passages:  # every quote is verbatim from its document
        assert passage.text.split(".")[0] in answer.summary
    assert "3" in answer.question
    assert answer.suggestions[0] in BUDGET["suggested"]  # the newest document's questions


def test_resumen_of_one_chosen_document_stays_about_that_document(three: Engine) -> None:
    doc = three.find_document(str(FAIR["title"]))
    assert doc is not None
    answer = three.overview(document=doc)
    assert answer.summary.startswith(f"Resumen de «{FAIR['title']}»")
    assert {p.document_id for p in answer.passages} == {"c-feria"}


def test_suggestions_prefer_the_document_closest_to_the_question(three: Engine) -> None:
    # No suggested question shares a word with this one; the budget report does.
    suggestions = three.suggest(three.analyze("pleno municipal transporte"), limit=2)
    assert set(suggestions) == set(BUDGET["suggested"])
    suggestions = three.suggest(three.analyze("cauce lago barcas"), limit=2)
    assert set(suggestions) == set(PARK["suggested"])


def test_autocomplete_without_text_offers_the_newest_documents_questions_first(
    three: Engine,
) -> None:
    choices = three.complete("")
    assert choices[:2] == list(BUDGET["suggested"])
    assert choices[2:4] == list(PARK["suggested"])


def test_autocomplete_puts_the_closest_documents_questions_first_among_equal_matches(
    three: Engine,
) -> None:
    # "visitantes" fits a question of the park (newer, first in the folder) and one of the fair
    # equally; only the fair's report speaks of visitors.
    choices = three.complete("visitantes")
    assert choices[1:3] == ["¿Cuántos visitantes tuvo la feria?", PARK["suggested"][1]]


def test_one_document_keeps_the_single_article_wording(
    tmp_path: Path, make_knowledge: Callable[..., Path], make_doc: Callable[..., str]
) -> None:
    engine = Engine.load(make_knowledge(tmp_path, {"a.md": make_doc(**PARK)}, glossary=True))
    declined = engine.ask("¿Cuál es la receta de la paella valenciana con marisco?")
    assert declined.summary.startswith(
        f"El artículo no trata eso: «{PARK['title']}» ({PARK['source']}, {_label(PARK)})"
    )
    about = engine.ask("¿Cuándo se publicó?")
    assert about.summary == f"«{PARK['title']}» lo publicó {PARK['source']} el {_label(PARK)}."
    assert engine.overview().summary.startswith(f"Resumen de «{PARK['title']}»")
