"""What Discord users read when the knowledge folder holds many documents (50 dated reports)."""

from __future__ import annotations

import pytest
from dated_corpus import write_corpus

from bot.core.answer import Engine

from .conftest import Harness, MakeBot, buttons, plain, problems

BUNDLED_TITLE = "OpenAI deja de depender"


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.load(write_corpus(tmp_path_factory.mktemp("dated") / "knowledge"))


async def test_not_covered_names_no_article_and_links_to_none(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    call = await harness.slash("preguntar", pregunta="¿Cuál es la receta de la paella?")
    text = plain(call.visible.text)
    assert "ninguno de sus 50 documentos" in text
    assert BUNDLED_TITLE not in text and "Portaltic" not in text
    assert not any(key.startswith("http") for key in buttons(call.visible))
    assert problems(call) == []


async def test_a_date_question_answers_with_the_date_of_the_document_asked_about(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    call = await harness.slash(
        "preguntar", pregunta="¿Cuándo se publicó la noticia sobre la cláusula AGI?"
    )
    text = plain(call.visible.text)
    assert "lo publicó Crónica de Prueba el 30/06/2025" in text
    assert "22/01/2025" not in text  # the bundled article's date
    assert problems(call) == []


async def test_summary_without_a_document_quotes_the_newest_documents(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    call = await harness.slash("resumen")
    assert call.visible.embeds[0].title == "Resumen: «Base de conocimiento (50 documentos)»"
    text = plain(call.visible.text)
    newest = sorted(fifty.documents, key=lambda d: d.published, reverse=True)[:4]
    for doc in newest:
        assert f"Según {doc.source} ({doc.published_label})" in text
    assert BUNDLED_TITLE not in text
    assert problems(call) == []
