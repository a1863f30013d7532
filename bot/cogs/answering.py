"""What every way of asking shares: the answer payload with its buttons, and its record."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import discord

from bot.cogs import ui
from bot.cogs.views import answer_view
from bot.core.answer import MAX_QUESTION_CHARS, Answer, Engine
from bot.store import QuestionRecord, Store

if TYPE_CHECKING:
    from bot.cogs.client import DealBotMixin

log = logging.getLogger(__name__)

# Discord wants an interaction's first response within 3 s; SQLite waits up to 10 s on a lock.
# The store reads before that response get this long in all, then the interaction answers
# without them (a short "busy" error, or the defaults).
STORE_GUARD = 1.0
_WAITED = "store_waited"  # Interaction.extras key: seconds its reads have waited so far

_R = TypeVar("_R")


class StoreBusy(Exception):
    """The store did not answer within STORE_GUARD (a lock held, a slow disk)."""


async def read_in_time(interaction: discord.Interaction, read: Callable[..., _R], *args: Any) -> _R:
    """Run a store read off the event loop, before the interaction's first response; raise
    StoreBusy once the interaction's reads have waited STORE_GUARD seconds in all."""
    loop = asyncio.get_running_loop()
    waited = interaction.extras.get(_WAITED, 0.0)
    started = loop.time()
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(read, *args), timeout=max(STORE_GUARD - waited, 0.0)
        )
    except TimeoutError as exc:
        name = getattr(read, "__name__", "read")
        log.warning("the store was too slow for %s%r (interaction %s)", name, args, interaction.id)
        raise StoreBusy(name) from exc
    finally:
        interaction.extras[_WAITED] = waited + loop.time() - started


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


@dataclass(frozen=True)
class Asker:
    """Who asked and where, as the question's record keeps it."""

    guild_id: int | None
    channel_id: int | None
    user_id: int
    locale: str
    private: bool  # counted, never shown verbatim in statistics
    source: str  # for the log line when recording fails ("interaction 123", "message 456")


def understood(answer: Answer) -> str:
    """Return a follow-up as understood ("¿y hasta cuándo? (duración, acuerdo)"), so that
    paging it, or replying to it again, asks the same thing."""
    if not answer.carried:
        return answer.question
    text = f"{answer.question} ({', '.join(answer.carried)})"
    return text if len(text) <= MAX_QUESTION_CHARS else answer.question


async def answer_payload(
    bot: DealBotMixin,
    question: str,
    lang: str,
    asker: Asker,
    *,
    owner: int,
    public: bool = True,
    offset: int = 0,
    context: str | None = None,
    question_id: int | None = None,
) -> dict[str, Any]:
    """Ask the core, record a new question (not a page of a recorded one), render the payload."""
    engine = bot.engine
    k = bot.settings.top_k
    started = time.perf_counter()
    answer = await asyncio.to_thread(
        engine.ask, question, lang=lang, k=k, offset=offset, context=context
    )
    if question_id is None:
        record = QuestionRecord(
            asked_at=datetime.now(UTC),
            guild_id=asker.guild_id,
            channel_id=asker.channel_id,
            user_id=asker.user_id,
            locale=asker.locale,
            question=understood(answer),
            answered=answer.answered,
            passage_ids=tuple(p.id for p in answer.passages),
            latency_ms=(time.perf_counter() - started) * 1000,
            private=asker.private,
        )
        question_id = await record_question(bot.store, record, asker.source)
    bot.metrics.observe(answer.answered, time.perf_counter() - started)
    return render_answer(answer, lang, question_id, owner, engine, page_size=k, public=public)
