"""What every way of asking shares: the answer payload with its buttons, and its record."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import discord

from bot.cogs import ui
from bot.cogs.views import answer_view
from bot.core.answer import Answer, Engine
from bot.store import QuestionRecord, Store

log = logging.getLogger(__name__)


def render_answer(
    answer: Answer,
    lang: str,
    question_id: int | None,
    user_id: int,
    engine: Engine,
    page_size: int = 3,
    public: bool = True,
) -> dict[str, Any]:
    """Return the message payload (embeds and buttons) of an answer."""
    url = next((c.url for c in answer.citations if c.url), None)
    if not answer.answered and len(engine.documents) == 1:  # several: none is "the" article
        url = engine.documents[0].url
    embeds, shown = ui.answer_page(answer, lang)
    if shown < len(answer.passages):  # the passages that did not fit open the next page
        answer = dataclasses.replace(answer, passages=answer.passages[:shown], more=True)
    view = answer_view(answer, lang, question_id, user_id, url, page_size, public)
    payload: dict[str, Any] = {"embeds": embeds}
    if view.children:
        payload["view"] = view
    return payload


async def record_question(store: Store, record: QuestionRecord, source: object) -> int | None:
    """Record a question in the store; its statistics never stand in the way of the answer."""
    try:
        return await asyncio.to_thread(store.record_question, record)
    except Exception:  # the answer matters more than its statistics
        log.exception("could not record the question of %s", source)
        return None


def channel_allowed(channel: Any, allowed: tuple[int, ...], channel_id: int | None = None) -> bool:
    """Tell whether the bot answers in a channel (a thread or forum post counts as its parent)."""
    if not allowed:
        return True
    if channel_id in allowed or getattr(channel, "id", None) in allowed:
        return True
    return isinstance(channel, discord.Thread) and channel.parent_id in allowed


def user_installed_only(interaction: discord.Interaction) -> bool:
    """Tell whether only the member's own install of the app brought this interaction.

    There the bot is not a member (of the server or group DM): it can answer through the
    interaction only, and the server's settings and channel allowlist do not apply.
    """
    return interaction.is_user_integration() and not interaction.is_guild_integration()
