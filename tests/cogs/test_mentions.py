"""Asking by mention, reply or DM: which messages are questions, and how they are answered."""

from __future__ import annotations

import sqlite3
from typing import Any

import discord
import pytest

from bot.cogs import mentions
from bot.cogs.client import DealBot
from bot.cogs.mentions import MentionsCog, asked, previous_question_id, titled_question
from bot.store import MemoryStore

from .conftest import APP_ID, CHANNEL_ID, GUILD_ID, USER_ID, MakeBot, message_payload

QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"


def guild_of(bot: DealBot) -> discord.Guild:
    """The test guild with one text channel, in the bot's cache."""
    state = bot._connection
    guild = state._get_guild(GUILD_ID)
    if guild is None:
        channel = {"id": str(CHANNEL_ID), "type": 0, "name": "general", "position": 0}
        data = {
            "id": str(GUILD_ID),
            "name": "g",
            "channels": [channel],
            "roles": [],
            "preferred_locale": "es-ES",
        }
        guild = discord.Guild(data=data, state=state)  # type: ignore[arg-type]
        state._add_guild(guild)
    return guild


def message(
    bot: DealBot,
    content: str,
    *,
    author_id: int = USER_ID,
    bot_author: bool = False,
    dm: bool = False,
    reply_to: dict[str, Any] | None = None,
    **extra: Any,
) -> discord.Message:
    data = message_payload(author_id=author_id, content=content)
    if bot_author:
        data["author"]["bot"] = True
    if reply_to is not None:
        data.update(
            type=19,
            message_reference={"message_id": reply_to["id"], "channel_id": str(CHANNEL_ID)},
            referenced_message=reply_to,
        )
    data.update(extra)
    state = bot._connection
    if dm:
        channel: Any = discord.DMChannel._from_message(state, CHANNEL_ID)
    else:
        data["guild_id"] = str(GUILD_ID)
        channel = guild_of(bot).get_channel(CHANNEL_ID)
    return discord.Message(state=state, channel=channel, data=data)  # type: ignore[arg-type]


def bot_answer(question_id: int | None = 7, title: str = f"Pregunta: {QUESTION}") -> dict:
    data = message_payload(author_id=APP_ID, content="")
    data["author"]["bot"] = True
    data["embeds"] = [{"type": "rich", "title": title}]
    if question_id is not None:
        button = {
            "type": 2,
            "style": 2,
            "custom_id": f"fb:up:{question_id}",
            "emoji": {"name": "👍"},
        }
        data["components"] = [{"type": 1, "components": [button]}]
    return data


MENTION = f"<@{APP_ID}>"


def test_a_mention_asks_what_follows_it(bot: DealBot) -> None:
    request = asked(message(bot, f"{MENTION} {QUESTION}"), APP_ID)
    assert request is not None and request.question == QUESTION and request.mentioned
    also = asked(message(bot, f"Oye {MENTION}, ¿y la AGI?"), APP_ID)
    assert also is not None and also.question == "Oye , ¿y la AGI?"


def test_other_mentions_become_names_and_a_bare_mention_asks_nothing(bot: DealBot) -> None:
    bare = asked(message(bot, f"  <@!{APP_ID}>  "), APP_ID)
    assert bare is not None and bare.question == ""
    other = asked(message(bot, f"{MENTION} ¿qué opina <@123>? <#{CHANNEL_ID}>"), APP_ID)
    assert other is not None and other.question == "¿qué opina ? #general"


@pytest.mark.parametrize(
    "kind", ["no mention", "bot author", "itself", "webhook", "system message"]
)
def test_messages_not_for_the_bot_are_ignored(bot: DealBot, kind: str) -> None:
    if kind == "no mention":
        msg = message(bot, QUESTION)
    elif kind == "bot author":
        msg = message(bot, f"{MENTION} {QUESTION}", author_id=42, bot_author=True)
    elif kind == "itself":
        msg = message(bot, f"{MENTION} {QUESTION}", author_id=APP_ID)
    elif kind == "webhook":
        msg = message(bot, f"{MENTION} {QUESTION}", webhook_id="99")
    else:
        msg = message(bot, f"{MENTION} {QUESTION}", type=7)  # a member joined
    assert asked(msg, APP_ID) is None


def test_a_dm_needs_no_mention(bot: DealBot) -> None:
    request = asked(message(bot, QUESTION, dm=True), APP_ID)
    assert request is not None and request.question == QUESTION and not request.mentioned


def test_a_reply_to_the_bots_answer_is_a_follow_up(bot: DealBot) -> None:
    answer = bot_answer()
    request = asked(message(bot, "¿y eso hasta cuándo?", reply_to=answer), APP_ID)
    assert request is not None and request.previous is not None
    assert previous_question_id(request.previous) == 7
    # A reply to somebody else's message is not for the bot.
    other = message_payload(author_id=555, content="hola")
    assert asked(message(bot, "¿y eso?", reply_to=other), APP_ID) is None


def test_an_answer_without_buttons_still_names_its_question(bot: DealBot) -> None:
    msg = message(bot, "x", reply_to=bot_answer(None, "Question: Until when\\?"))
    assert msg.reference is not None
    previous = msg.reference.resolved
    assert isinstance(previous, discord.Message)
    assert previous_question_id(previous) is None
    assert titled_question(previous) == "Until when?"


def test_message_ids_are_remembered_within_a_bound(
    bot: DealBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mentions, "SEEN_MAX", 3)
    cog = MentionsCog(bot)
    assert [cog.first_time(i) for i in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert cog.first_time(1)  # the oldest was forgotten; the newest are kept
    assert not cog.first_time(4)


def replies_of(
    bot: DealBot, monkeypatch: pytest.MonkeyPatch
) -> tuple[MentionsCog, list[dict[str, Any]]]:
    """The mentions cog, and the list its replies go to instead of Discord."""
    cog = bot.get_cog("MentionsCog")
    assert isinstance(cog, MentionsCog)
    sent: list[dict[str, Any]] = []

    async def reply(message: discord.Message, payload: dict[str, Any]) -> None:
        sent.append(payload)

    monkeypatch.setattr(cog, "reply", reply)
    return cog, sent


async def test_without_thread_permission_the_answer_is_a_reply(
    make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(threads_enabled=True)
    cog, sent = replies_of(bot, monkeypatch)

    async def no_threads(self: discord.Message, **kwargs: Any) -> None:
        raise discord.Forbidden(_Response(403), {"message": "Missing Permissions", "code": 50013})

    monkeypatch.setattr(discord.Message, "create_thread", no_threads)
    await cog.handle(message(bot, f"{MENTION} {QUESTION}"))

    (payload,) = sent
    assert payload["embeds"][0].title == f"Pregunta: {QUESTION}"


async def test_mentions_off_for_the_server_is_silent(
    make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(mentions_enabled=False)
    cog, sent = replies_of(bot, monkeypatch)
    await cog.handle(message(bot, f"{MENTION} {QUESTION}"))
    assert sent == []
    await cog.handle(message(bot, QUESTION, dm=True))  # DMs are no server's to turn off
    assert len(sent) == 1


class _Response:
    """Just enough of an aiohttp response for discord.HTTPException."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "Forbidden"


class BrokenStore(MemoryStore):
    """A store whose reads fail (a corrupt or vanished database file)."""

    def question_text(self, question_id: int) -> str | None:
        raise sqlite3.DatabaseError("database disk image is malformed")


async def test_a_reply_is_answered_when_the_store_cannot_tell_its_question(
    make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(store=BrokenStore(salt="test"))
    cog, sent = replies_of(bot, monkeypatch)
    await cog.handle(message(bot, "¿y eso hasta cuándo?", reply_to=bot_answer()))
    (payload,) = sent  # the question in the answer's title stands in for the stored one
    assert "2030" in " ".join(e.description or "" for e in payload["embeds"])
