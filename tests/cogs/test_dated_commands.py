"""/fuentes as a timeline and /resumen of one document (autocomplete on titles)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dated_corpus import write_corpus

from bot.cogs import ui
from bot.core.answer import Engine

from .conftest import Harness, MakeBot, interaction_payload


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.load(write_corpus(tmp_path_factory.mktemp("dated") / "knowledge"))


def many(tmp_path: Path, n: int) -> Engine:
    """n documents whose file order is the reverse of their dates (newest file first)."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for i in range(n):
        day = f"20{10 + (n - i) // 28 % 15:02d}-{1 + (n - i) // 2 % 12:02d}-{1 + (n - i) % 28:02d}"
        (folder / f"doc{i:03d}.md").write_text(
            f"---\ntitle: Documento {i:03d} sobre el acuerdo con un título largo\n"
            f"source: Diario de prueba {i}\npublished: {day}\nlanguage: es\n"
            f"url: https://example.com/{i:03d}/" + "x" * 80 + "\n---\n\n"
            f"Párrafo {i} sobre el acuerdo entre Microsoft y OpenAI.\n",
            encoding="utf-8",
        )
    return Engine.load(folder)


def test_sources_pages_run_from_the_oldest_to_the_newest(tmp_path: Path) -> None:
    engine = many(tmp_path, 200)
    pages = ui.sources_pages(engine, "es")
    assert len(pages) > 1
    dates = [
        tuple(reversed(value.split(" · ")[1].split("/"))) for page in pages for _name, value in page
    ]
    assert len(dates) == 200
    assert dates == sorted(dates)
    for page in range(len(pages)):
        embed, _, _ = ui.sources_embed(engine, "es", page)
        assert len(embed) <= 6000 and len(embed.fields) <= 25


async def test_summary_of_one_document_quotes_only_it(make_bot: MakeBot, fifty: Engine) -> None:
    harness = Harness(await make_bot(fifty))
    title = "Microsoft y OpenAI renuevan su alianza hasta 2032"
    call = await harness.slash("resumen", documento=title)
    embeds = call.visible.embeds
    assert embeds[0].title == f"Resumen: «{title}»"
    text = " ".join(f.value for e in embeds for f in e.fields)
    assert "27 por ciento" in text and "Diario Ficticio" in text and "28/10/2025" in text
    assert "Portaltic" not in text


async def test_summary_of_an_unknown_document_is_a_one_line_error(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    call = await harness.slash("resumen", documento="No existe este documento")
    assert call.ephemeral
    assert "No hay ningún documento titulado «No existe este documento»" in (
        call.visible.kwargs.get("content") or call.visible.embeds[0].description
    )


async def test_summary_without_a_document_is_the_bundled_article(harness: Harness) -> None:
    call = await harness.slash("resumen")
    assert call.visible.embeds[0].title.startswith("Resumen: «OpenAI deja de depender")


async def test_document_autocomplete_offers_matching_titles_newest_first(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    data = harness.command_data("resumen")
    data["options"] = [{"name": "documento", "type": 3, "value": "microsoft", "focused": True}]
    call = harness._mock(interaction_payload(4, data, locale="es-ES"))
    await harness.run(call)
    choices = call.choices
    assert 1 <= len(choices) <= 25
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
    assert choices[0].name.startswith("21/04/2026 · Balance del acuerdo")
    assert all("microsoft" in c.value.casefold() for c in choices)
    picked = await harness.slash("resumen", documento=choices[0].value)
    assert "Balance del acuerdo" in picked.visible.embeds[0].title


async def test_an_unknown_document_name_is_echoed_without_direction_overrides(
    make_bot: MakeBot, fifty: Engine
) -> None:
    harness = Harness(await make_bot(fifty))
    call = await harness.slash("resumen", documento="\u202eotnemucod **x**")
    shown = call.visible.kwargs.get("content") or ""
    assert "«otnemucod \\*\\*x\\*\\*»" in shown and "\u202e" not in shown
