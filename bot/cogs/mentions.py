"""Asking without a slash command: "@bot question", a reply to the bot's answer, or a DM.

Discord sends the bot the content of exactly these messages without the privileged Message
Content intent; every other message arrives empty and is dropped unread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.cogs import ui
from bot.cogs.answering import Asker, answer_payload, channel_allowed
from bot.core.answer import clean_question
from bot.core.errors import QuestionError
from bot.i18n import discord_cooldown_message, lang_of_locale, question_error, t

if TYPE_CHECKING:
    from bot.cogs.client import DealBot
    from bot.settings import ServerConfig

log = logging.getLogger(__name__)

# An edit that adds the mention counts as asking, but only shortly after the message was sent:
# editing an old message must not make the bot answer out of the blue.
EDIT_WINDOW = 60.0
# Message ids already answered (or refused): a gateway replay after a reconnect is answered
# once. Ids older than the replay window are long gone from Discord's buffer, so a bound is safe.
SEEN_MAX = 20_000
THREAD_NAME_MAX = 100
# The bot's answers carry their question id in the feedback and paging buttons.
QUESTION_ID_RX = re.compile(r"^(?:fb:(?:up|down)|more):(\d+)")
MENTION_RX = re.compile(r"<(@[!&]?|#)(\d+)>")
ASKING_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class Reference(discord.MessageReference):
    """A reply's reference with its ids as strings, the type the API documents for them."""

    def to_message_reference_dict(self) -> dict[str, Any]:  # type: ignore[override]
        """Return the reference as sent, snowflakes as strings."""
        data: dict[str, Any] = dict(super().to_message_reference_dict())
        return {k: str(v) if k.endswith("_id") and v is not None else v for k, v in data.items()}


@dataclass(frozen=True)
class Asked:
    """A message the bot must answer: its question and, for a reply, what it replies to."""

    question: str
    previous: discord.Message | None  # the bot's answer being replied to
    mentioned: bool


def asked(message: discord.Message, bot_id: int) -> Asked | None:
    """Return what a message asks the bot, or None when it is not addressed to the bot."""
    author = message.author
    if author.bot or author.id == bot_id or message.webhook_id is not None:
        return None
    if message.type not in ASKING_TYPES:
        return None
    mentioned = bot_id in message.raw_mentions
    resolved = message.reference.resolved if message.reference else None
    previous = None
    if isinstance(resolved, discord.Message) and resolved.author.id == bot_id:
        previous = resolved
    if message.guild is not None and not mentioned and previous is None:
        return None
    return Asked(question_text(message, bot_id), previous, mentioned)


def question_text(message: discord.Message, bot_id: int) -> str:
    """Return the message's text without the bot's mention; other mentions become names."""
    names = {str(u.id): f"@{u.display_name}" for u in message.mentions}
    names.update({str(r.id): f"@{r.name}" for r in message.role_mentions})

    def name(match: re.Match[str]) -> str:
        kind, ident = match.groups()
        if kind in ("@", "@!") and int(ident) == bot_id:
            return " "
        if kind == "#":
            channel = message.guild.get_channel(int(ident)) if message.guild else None
            return f"#{channel.name}" if channel else " "
        return names.get(ident, " ")

    return " ".join(MENTION_RX.sub(name, message.content).split())


def previous_question_id(message: discord.Message) -> int | None:
    """Return the question id carried by the buttons of one of the bot's answers."""
    for row in getattr(message, "components", ()):
        for item in getattr(row, "children", ()):
            match = QUESTION_ID_RX.match(getattr(item, "custom_id", None) or "")
            if match:
                return int(match[1])
    return None


def titled_question(message: discord.Message) -> str | None:
    """Return the question in the title of one of the bot's answers ("Pregunta: ...")."""
    title = message.embeds[0].title if message.embeds else None
    for lang in ("es", "en"):
        prefix = f"{t('question', lang)}: "
        if title and title.startswith(prefix):
            text = discord.utils.remove_markdown(title[len(prefix) :]).replace("\\", "")
            return text.removesuffix(ui.ELLIPSIS) or None
    return None


class MentionsCog(commands.Cog):
    """Answers mentions, replies to the bot's answers and direct messages."""

    def __init__(self, bot: DealBot) -> None:
        self.bot = bot
        self._seen: OrderedDict[int, None] = OrderedDict()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a message addressed to the bot."""
        await self.handle(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Answer a message edited to address the bot, when the message is recent."""
        message = payload.message
        age = (datetime.now(UTC) - message.created_at).total_seconds()
        if age <= EDIT_WINDOW:
            await self.handle(message)

    def first_time(self, message_id: int) -> bool:
        """Remember a message id; False when it was handled already."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return True

    async def handle(self, message: discord.Message) -> None:
        """Answer the message once, as /preguntar would, when it is addressed to the bot."""
        me = self.bot.user
        request = asked(message, me.id) if me is not None else None
        if request is None or self.bot.stopping:  # shutting down: start nothing to cut off
            return
        guild_id = message.guild.id if message.guild else None
        config = await self.bot.server_config(guild_id)  # a message has no 3 s: it may wait
        if message.guild is not None and not config.mentions:
            return
        if not channel_allowed(message.channel, config.allowed_channels):
            return
        if not self.first_time(message.id):
            log.info("message %s was answered already (gateway replay?)", message.id)
            return
        self.bot.track()
        lang = self.lang_of(message, config)
        if not request.question:
            await self.reply(message, {"content": t("mention_hint", lang)})
            return
        try:
            question = clean_question(request.question)
        except QuestionError as exc:
            await self.reply(message, {"content": question_error(exc, lang)})
            return
        retry = self.bot.cooldowns.hit(message.author.id)
        if retry is not None:
            await self.reply(message, {"content": discord_cooldown_message(retry, lang)})
            return
        context = await self.previous_question(request.previous)
        payload = await self.answer(message, question, lang, context)
        thread = config.threads and request.mentioned and request.previous is None
        await self.send(message, payload, question, thread=thread)

    def lang_of(self, message: discord.Message, config: ServerConfig) -> str:
        """Return the frame language: the server's locale, else the server's fallback."""
        locale = str(message.guild.preferred_locale) if message.guild else None
        return lang_of_locale(locale, config.lang)

    async def previous_question(self, previous: discord.Message | None) -> str | None:
        """Return the question behind the bot's answer a message replies to."""
        if previous is None:
            return None
        qid = previous_question_id(previous)
        if qid is not None:
            try:
                text = await asyncio.to_thread(self.bot.store.question_text, qid)
            except Exception:  # the answer's title still names the question
                log.exception("could not read question %s for message %s", qid, previous.id)
                text = None
            if text:
                return text
        return titled_question(previous)

    async def answer(
        self, message: discord.Message, question: str, lang: str, context: str | None
    ) -> dict[str, Any]:
        """Answer through the core, record the question, render the payload."""
        asker = Asker(
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            user_id=message.author.id,
            locale=str(message.guild.preferred_locale) if message.guild else "",
            private=message.guild is None,  # a DM: counted, never shown in statistics
            source=f"message {message.id}",
        )
        return await answer_payload(
            self.bot, question, lang, asker, owner=message.author.id, context=context
        )

    async def send(
        self, message: discord.Message, payload: dict[str, Any], question: str, *, thread: bool
    ) -> None:
        """Answer in a new thread named after the question when asked to, else as a reply."""
        channel = message.channel
        if thread and isinstance(channel, discord.TextChannel):
            name = ui.shorten(question, THREAD_NAME_MAX)
            try:
                created = await message.create_thread(name=name)
                await created.send(**payload)
                return
            except discord.HTTPException as exc:  # no thread permission: answer in place
                log.warning("could not open a thread for message %s: %s", message.id, exc)
        await self.reply(message, payload)

    async def reply(self, message: discord.Message, payload: dict[str, Any]) -> None:
        """Reply to the message without pinging anybody; a failure is logged, never raised."""
        reference = Reference.from_message(message, fail_if_not_exists=False)
        try:
            await message.channel.send(**payload, reference=reference, mention_author=False)
        except discord.HTTPException as exc:
            log.warning("could not answer message %s: %s", message.id, exc)
