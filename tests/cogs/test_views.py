"""The buttons under answers: votes, suggestions, more passages; they survive a restart."""

from __future__ import annotations

import logging
import re
import sqlite3

import discord
import pytest

from bot.cogs.client import DealBot
from bot.cogs.ui import suggestion_key
from bot.cogs.views import (
    DeleteButton,
    FeedbackButton,
    MoreButton,
    PublishButton,
    SuggestionButton,
    answer_view,
)
from bot.core.answer import Engine
from bot.store import MemoryStore

from .conftest import USER_ID, Harness, MakeBot, buttons, plain, problems, submit_modal

MANY = "microsoft openai"  # more relevant passages than one page holds
OFF_TOPIC = "¿Cuál es la capital de Francia?"


def quoted_lines(call) -> list[str]:
    """The quotes of an answer (block-quote lines), as read."""
    text = "\n".join(e.description or "" for e in call.visible.embeds)
    return [plain(line) for line in text.splitlines() if line.startswith("> ")]


async def ask(harness: Harness, question: str, **kwargs: object):
    call = await harness.slash("preguntar", pregunta=question, **kwargs)
    return call, call.visible.kwargs.get("view")


async def answered(harness: Harness):
    """Ask a question the article answers; return the answer's buttons and its question id."""
    _, view = await ask(harness, "¿Hasta cuándo estará vigente el acuerdo?")
    return view, next(c.question_id for c in view.children if isinstance(c, FeedbackButton))


# -- feedback -------------------------------------------------------------------------------------


async def test_thumbs_up_records_a_vote(harness: Harness) -> None:
    view, qid = await answered(harness)

    call = await harness.press(view, f"fb:up:{qid}")

    assert harness.bot.store.votes(qid) == (1, 0)
    assert len(call.responses) == 1 and call.ephemeral
    assert call.visible.kwargs["content"].startswith("Gracias por tu voto 👍")


async def test_changing_a_vote_replaces_it_and_other_users_add(harness: Harness) -> None:
    view, qid = await answered(harness)
    store = harness.bot.store

    await harness.press(view, f"fb:up:{qid}")
    down = await harness.press(view, f"fb:down:{qid}")
    assert store.votes(qid) == (0, 1)  # counted at once, even if the modal is dismissed
    (modal_sent,) = down.responses
    assert modal_sent.kind == "send_modal"

    await harness.press(view, f"fb:up:{qid}", user_id=USER_ID + 1)
    assert store.votes(qid) == (1, 1)
    await harness.press(view, f"fb:up:{qid}", user_id=USER_ID + 2, locale="en-US")
    assert store.votes(qid) == (2, 1)


async def test_vote_thanks_in_english(harness: Harness) -> None:
    _, view = await ask(harness, "microsoft openai", locale="en-US")

    call = await harness.press(view, "fb:down:1", locale="en-US")

    modal = call.responses[0].kwargs["_args"][0]
    assert modal.title == "What was missing?"
    thanks = await submit_modal(harness, modal, {"text": ""}, locale="en-US")  # optional
    assert thanks.visible.kwargs["content"].startswith("Thanks for your vote 👎")


async def test_thumbs_down_asks_what_was_missing_and_stats_list_it(harness: Harness) -> None:
    _, view = await ask(harness, "¿Hasta cuándo estará vigente el acuerdo?")

    call = await harness.press(view, "fb:down:1")

    modal = call.responses[0].kwargs["_args"][0]
    assert modal.title == "¿Qué faltó?"
    (text,) = modal.children
    assert text.max_length == 300 and not text.required
    thanks = await submit_modal(harness, modal, {"text": "  No dice  qué pasa después de 2030 "})
    assert thanks.ephemeral and "👎" in thanks.visible.kwargs["content"]
    stats = harness.bot.store.stats()
    assert harness.bot.store.votes(1) == (0, 1)  # one vote, now with its comment
    assert stats.comments == (
        ("¿Hasta cuándo estará vigente el acuerdo?", "No dice qué pasa después de 2030"),
    )
    report = await harness.slash("estadisticas", permissions=str(1 << 5))
    assert "No dice qué pasa después de 2030" in report.visible.text


async def test_each_answer_has_its_own_votes(harness: Harness) -> None:
    _, first = await ask(harness, "¿Hasta cuándo estará vigente el acuerdo?")
    _, second = await ask(harness, "¿Quién está detrás del proyecto Stargate?")

    await harness.press(first, "fb:up:1")
    await harness.press(second, "fb:down:2")

    assert harness.bot.store.votes(1) == (1, 0)
    assert harness.bot.store.votes(2) == (0, 1)


async def test_vote_on_a_purged_question_says_it_is_gone(harness: Harness) -> None:
    _, view = await ask(harness, "¿Hasta cuándo estará vigente el acuerdo?")
    harness.bot.store.purge(0)

    call = await harness.press(view, "fb:up:1")

    assert call.ephemeral
    assert "ya no está disponible" in call.visible.kwargs["content"]


# -- more passages --------------------------------------------------------------------------------


def page_button(view: discord.ui.View, label: str = "▶") -> MoreButton:
    """The ◀ or ▶ button of an answer."""
    return next(c for c in view.children if isinstance(c, MoreButton) and c.item.label == label)


def page_label(view: discord.ui.View) -> str:
    """The "página 2/4" indicator between ◀ and ▶."""
    return next(c.label for c in view.children if (c.custom_id or "").startswith("pages:"))


async def test_paging_edits_the_answer_in_place_for_the_asker(
    harness: Harness, engine: Engine
) -> None:
    first, view = await ask(harness, MANY)
    assert page_button(view, "◀").item.disabled and not page_button(view).item.disabled
    pages = -(-engine.ask(MANY).total // 3)
    assert pages >= 2 and page_label(view) == f"página 1/{pages}"

    call = await harness.press(view, page_button(view).custom_id)

    (response,) = call.responses
    assert response.kind == "edit_message"  # the same message, now on page 2
    page1, page2 = quoted_lines(first), quoted_lines(call)
    assert page1 and page2 and not set(page1) & set(page2)
    assert page2 == [p.text for p in engine.ask(MANY, offset=len(page1)).passages]
    title = call.visible.embeds[0].title
    assert title == f"Pregunta: {MANY} · Pasajes {len(page1) + 1}–{len(page1) + len(page2)}"
    paged = call.visible.kwargs["view"]
    assert page_label(paged) == f"página 2/{pages}" and not page_button(paged, "◀").item.disabled
    assert problems(call) == []

    back = await harness.press(paged, page_button(paged, "◀").custom_id)
    assert back.responses[0].kind == "edit_message" and quoted_lines(back) == page1


async def test_others_get_a_private_copy_they_can_page(harness: Harness) -> None:
    first, view = await ask(harness, MANY)
    other = USER_ID + 1

    copy = await harness.press(view, page_button(view).custom_id, user_id=other)

    (response,) = copy.responses
    assert response.kind == "send_message" and copy.ephemeral  # the public answer is untouched
    mine = copy.visible.kwargs["view"]
    assert page_button(mine).custom_id.endswith(f":{other}")
    again = await harness.press(mine, page_button(mine, "◀").custom_id, user_id=other)
    assert again.responses[0].kind == "edit_message"
    assert quoted_lines(again) == quoted_lines(first)


async def test_page_indicator_in_english(harness: Harness) -> None:
    _, view = await ask(harness, MANY, locale="en-US")

    assert page_label(view).startswith("page 1/")


async def test_paging_reaches_every_relevant_passage_once(harness: Harness, engine: Engine) -> None:
    call, view = await ask(harness, MANY)
    seen = quoted_lines(call)
    for _ in range(10):
        following = page_button(view)
        if following.item.disabled:
            break
        call = await harness.press(view, following.custom_id)
        seen += quoted_lines(call)
        view = call.visible.kwargs.get("view")
    everything = engine.ask(MANY, k=10)
    assert not everything.more
    assert seen == [p.text for p in everything.passages]
    assert harness.bot.store.stats().total == 1  # paging is not a new question


async def test_paging_does_not_spend_the_question_budget(make_bot: MakeBot) -> None:
    harness = Harness(await make_bot(cooldown_questions=1))
    _, view = await ask(harness, MANY)
    call = await harness.press(view, page_button(view).custom_id)

    assert call.visible.embeds and "volver a preguntar" not in call.visible.text


# -- restart --------------------------------------------------------------------------------------


async def test_buttons_work_after_a_restart(make_bot: MakeBot) -> None:
    store = MemoryStore(salt="shared")
    old = Harness(await make_bot(store=store))
    _, answered = await ask(old, MANY)
    _, not_covered = await ask(old, OFF_TOPIC)
    _, private = await ask(old, MANY, privado=True)
    await old.bot.close()

    new = Harness(await make_bot(store=store))
    assert new.bot is not old.bot

    vote = await new.press(answered, "fb:up:1")
    assert store.votes(1) == (1, 0)
    assert vote.ephemeral
    suggestion = next(c for c in not_covered.children if isinstance(c, SuggestionButton))
    asked = await new.press(not_covered, suggestion.custom_id)
    assert asked.visible.embeds[0].title == f"Pregunta: {suggestion.item.label}"
    page = await new.press(answered, page_button(answered).custom_id)
    assert page.responses[0].kind == "edit_message"
    assert "Pasajes 4–" in page.visible.embeds[0].title
    publish = next(c for c in private.children if isinstance(c, PublishButton))
    published = await new.press(private, publish.custom_id)
    assert not published.ephemeral and published.visible.embeds


async def test_suggestion_that_no_longer_exists(harness: Harness) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(SuggestionButton(suggestion_key("¿Una pregunta retirada?"), "retirada"))

    call = await harness.press(view, view.children[0].custom_id)

    assert call.ephemeral
    assert "ya no está disponible" in call.visible.kwargs["content"]


async def test_more_passages_of_a_purged_question(harness: Harness) -> None:
    _, view = await ask(harness, MANY)
    harness.bot.store.purge(0)
    more = next(c for c in view.children if isinstance(c, MoreButton))

    call = await harness.press(view, more.custom_id)

    assert call.ephemeral and "ya no está disponible" in call.visible.text


# -- the view itself ------------------------------------------------------------------------------


def test_custom_ids_round_trip_through_the_templates(engine: Engine) -> None:
    answer = engine.ask(MANY)
    view = answer_view(answer, "es", 42, USER_ID, "https://example.org/a")
    ids = list(buttons(SimpleSent(view)))
    assert ids == [
        f"more:42:0:{USER_ID}",  # ◀ (disabled on the first page)
        "pages:42:0",  # "página 1/N" (disabled)
        f"more:42:3:{USER_ID}",  # ▶
        "fb:up:42",
        "fb:down:42",
        f"del:42:{USER_ID}",  # public answers: the asker or a moderator may delete them
        "https://example.org/a",
    ]
    for item, cid in zip(view.children[:6], ids, strict=False):
        if isinstance(item, discord.ui.DynamicItem):
            assert re.fullmatch(type(item).__discord_ui_compiled_template__, cid)
        assert len(cid) <= 100
    link = view.children[-1]
    assert link.style is discord.ButtonStyle.link and link.label == "Leer el artículo"


def test_not_covered_view_has_suggestions_and_no_votes(engine: Engine) -> None:
    answer = engine.ask(OFF_TOPIC, lang="en")
    view = answer_view(answer, "en", 7, USER_ID, None)
    *suggestions, delete = view.children
    assert all(isinstance(c, SuggestionButton) for c in suggestions)
    assert [c.item.label for c in suggestions] == list(answer.suggestions[:3])
    for c in suggestions:
        assert c.custom_id == f"sg:{suggestion_key(c.item.label)}"
    assert isinstance(delete, DeleteButton) and not any(
        isinstance(c, FeedbackButton) for c in view.children
    )


def test_without_a_question_id_there_are_no_vote_or_more_buttons(engine: Engine) -> None:
    view = answer_view(engine.ask(MANY), "es", None, USER_ID, None)
    assert view.children == []


@pytest.mark.parametrize(
    "cls", [FeedbackButton, SuggestionButton, MoreButton, DeleteButton, PublishButton]
)
def test_dynamic_items_are_registered(bot: DealBot, cls: type) -> None:
    store = bot._connection._view_store
    assert cls in store._dynamic_items.values()


class SimpleSent:
    """Just enough of `Sent` for `buttons()`."""

    def __init__(self, view: discord.ui.View) -> None:
        self.kwargs = {"view": view}


async def test_a_page_past_the_end_says_there_is_nothing_more(harness: Harness) -> None:
    """An old "Más pasajes" button after the knowledge changed: a valid, explicit answer."""
    await ask(harness, MANY)
    view = discord.ui.View(timeout=None)
    view.add_item(MoreButton(1, 40, USER_ID))

    call = await harness.press(view, f"more:1:40:{USER_ID}")

    assert problems(call) == []
    assert call.responses[0].kind == "edit_message"
    assert "No hay más pasajes." in call.visible.text


# -- delete and publish ---------------------------------------------------------------------------


MANAGE_MESSAGES = str(1 << 13)


@pytest.fixture
def deleted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Interaction ids whose message the bot deleted (through the interaction's webhook)."""
    out: list[int] = []

    async def delete_original_response(self: discord.Interaction) -> None:
        out.append(self.id)

    monkeypatch.setattr(discord.Interaction, "delete_original_response", delete_original_response)
    return out


@pytest.mark.parametrize(("who", "permissions"), [("asker", "0"), ("moderator", MANAGE_MESSAGES)])
async def test_the_asker_or_a_moderator_deletes_a_public_answer(
    harness: Harness, deleted: list[int], who: str, permissions: str
) -> None:
    _, view = await ask(harness, MANY)
    delete = next(c for c in view.children if isinstance(c, DeleteButton))
    user = USER_ID if who == "asker" else USER_ID + 5

    call = await harness.press(view, delete.custom_id, user_id=user, permissions=permissions)

    assert [s.kind for s in call.sent] == ["defer"] and deleted == [call.interaction.id]


async def test_nobody_else_deletes_an_answer(harness: Harness, deleted: list[int]) -> None:
    _, view = await ask(harness, MANY)
    delete = next(c for c in view.children if isinstance(c, DeleteButton))

    call = await harness.press(view, delete.custom_id, user_id=USER_ID + 1)

    assert call.ephemeral and "Solo quien preguntó" in call.visible.kwargs["content"]
    assert deleted == []


async def test_a_private_answer_can_be_published(harness: Harness) -> None:
    private, view = await ask(harness, MANY, privado=True)
    assert not any(isinstance(c, DeleteButton) for c in view.children)
    publish = next(c for c in view.children if isinstance(c, PublishButton))
    assert publish.item.label == "Publicar"

    call = await harness.press(view, publish.custom_id)

    assert not call.ephemeral  # posted in the channel, with the same quotes
    assert quoted_lines(call) == quoted_lines(private)
    shown = call.visible.kwargs["view"]
    assert any(isinstance(c, DeleteButton) for c in shown.children)
    assert harness.bot.store.stats().total == 1  # publishing is not a new question


# -- every button answers, whatever fails behind it -----------------------------------------------


class FailingStore(MemoryStore):
    """A store whose writes fail the way SQLite does, with `failure` as its message."""

    failure = "database is locked"  # another writer holds the lock

    def record_vote(
        self, question_id: int, user_id: int, vote: int, comment: str | None = None
    ) -> None:
        raise sqlite3.OperationalError(self.failure)

    def save_server_overrides(self, guild_id: int, overrides: object) -> None:
        raise sqlite3.OperationalError(self.failure)


class ReadOnlyStore(FailingStore):
    """A store on a database that became read-only (a full disk, a permissions change)."""

    failure = "attempt to write a readonly database"


async def test_a_vote_that_cannot_be_recorded_still_gets_a_private_answer(
    make_bot: MakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(await make_bot(store=FailingStore(salt="test")))
    view, qid = await answered(harness)
    caplog.set_level(logging.WARNING)

    call = await harness.press(view, f"fb:up:{qid}", locale="en-US")

    assert len(call.responses) == 1 and call.ephemeral
    assert call.visible.kwargs["content"] == "I'm very busy right now; try again in a few seconds."
    # One line that names the cause, no traceback: a lock is the disk's state, not a bug.
    (record,) = [r for r in caplog.records if "database is locked" in r.getMessage()]
    assert record.exc_info is None


async def test_a_read_only_database_is_named_to_the_user_and_in_one_log_line(
    make_bot: MakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(await make_bot(store=ReadOnlyStore(salt="test")))
    view, qid = await answered(harness)
    caplog.set_level(logging.WARNING)

    vote = await harness.press(view, f"fb:up:{qid}")
    config = await harness.slash("configurar", privado=True, permissions=str(1 << 5))

    for call in (vote, config):
        assert len(call.responses) == 1 and call.ephemeral
        assert call.visible.kwargs["content"].startswith("No he podido guardarlo")
    lines = [r for r in caplog.records if "readonly database" in r.getMessage()]
    assert len(lines) == 2 and all(r.exc_info is None for r in lines)
    assert all("DATA_DIR" in r.getMessage() for r in lines)


@pytest.mark.parametrize("button", ["suggestion", "more", "sources"])
async def test_any_button_failing_behind_answers_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, button: str
) -> None:
    if button == "suggestion":
        _, view = await ask(harness, OFF_TOPIC)
        custom_id = next(c.custom_id for c in view.children if isinstance(c, SuggestionButton))
        monkeypatch.setattr(harness.bot.engine, "ask", lambda *a, **k: 1 / 0)
    elif button == "more":
        _, view = await ask(harness, MANY)
        custom_id = next(c.custom_id for c in view.children if isinstance(c, MoreButton))
        monkeypatch.setattr(harness.bot.store, "question_text", lambda *a: 1 / 0)
    else:
        view, custom_id = answer_view_of_sources()
        from bot.cogs import ui

        monkeypatch.setattr(ui, "sources_embed", lambda *a: 1 / 0)

    call = await harness.press(view, custom_id)

    assert len(call.responses) == 1 and call.ephemeral
    assert call.visible.kwargs["content"].startswith("Algo ha fallado")


def answer_view_of_sources() -> tuple[discord.ui.View, str]:
    from bot.cogs.views import sources_view

    view = sources_view(0, 3, "es")
    assert view is not None
    return view, view.children[1].custom_id


async def test_a_comment_cannot_reorder_or_hide_the_statistics(harness: Harness) -> None:
    _, view = await ask(harness, "¿Hasta cuándo estará vigente el acuerdo?")
    call = await harness.press(view, "fb:down:1")
    modal = call.responses[0].kwargs["_args"][0]
    await submit_modal(harness, modal, {"text": "falta\u202e 0302 \u200bsed\u2066"})
    ((_, comment),) = harness.bot.store.stats().comments
    assert comment == "falta 0302 sed"
