"""The slash commands: each validates, calls the core, renders with `ui`, responds."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.cogs import ui
from bot.cogs.answering import Asker, StoreBusy, answer_payload, read_in_time
from bot.cogs.configure import config_rows
from bot.cogs.views import (
    MISSING_MAX,
    MissingModal,
    SafeView,
    add_suggestions,
    failure_key,
    locale_lang,
    sources_view,
)
from bot.core.answer import MAX_QUESTION_CHARS, Engine, clean_question
from bot.core.errors import KnowledgeError, QuestionError
from bot.core.extract import question_in
from bot.core.meaning import INSTALL_HINT as MEANING_HINT
from bot.core.translate import INSTALL_HINT
from bot.core.unicode_guard import visible
from bot.i18n import discord_cooldown_message, question_error, t
from bot.store import stats_headline, stats_sections

if TYPE_CHECKING:
    from bot.cogs.client import DealBot
    from bot.settings import Settings

log = logging.getLogger(__name__)

# Discord wants the first response within 3 s of the interaction's creation.
# Members can install the app to their account and ask anywhere (servers without the bot,
# DMs, group DMs); the answers are interaction responses, which need no membership.
EVERYWHERE_INSTALLS = app_commands.AppInstallationType(guild=True, user=True)
EVERYWHERE_CONTEXTS = app_commands.AppCommandContext(
    guild=True, dm_channel=True, private_channel=True
)
ACK_DEADLINE = 3.0
ACK_MARGIN = 0.8
AUTOCOMPLETE_MAX = 25
CHOICE_MAX = 100
OWNER_TIMEOUT = 1.0


class AskCog(commands.Cog):
    """Questions about the article, answered with quotes."""

    def __init__(self, bot: DealBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name="Preguntar al bot",
            callback=self.ask_message,
            allowed_installs=EVERYWHERE_INSTALLS,
            allowed_contexts=EVERYWHERE_CONTEXTS,
        )

    async def cog_load(self) -> None:
        """Register the message context menu (cogs cannot declare them as methods)."""
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        """Remove the message context menu."""
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # -- commands -----------------------------------------------------------------------------

    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.command(name="preguntar", description="Responde con citas textuales del artículo")
    @app_commands.describe(
        pregunta="Lo que quieres saber del acuerdo (2 a 300 caracteres)",
        privado="Solo tú verás la respuesta",
    )
    async def preguntar(
        self,
        interaction: discord.Interaction,
        pregunta: app_commands.Range[str, 2, 300],
        privado: bool | None = None,
    ) -> None:
        """Answer a question with quotes from the article."""
        if privado is None:  # the server's default
            privado = (await self.bot.interaction_config(interaction)).private
        await self.answer(interaction, pregunta, ephemeral=privado)

    @preguntar.autocomplete("pregunta")
    async def _complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = []
        for q in self.bot.engine.complete(current, limit=AUTOCOMPLETE_MAX):
            if 2 <= len(q) <= CHOICE_MAX:
                choices.append(app_commands.Choice(name=q, value=q))
        return choices

    async def ask_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Answer the selected message privately (with "Publicar"): its question sentences,
        or its embeds' text when it has no text of its own."""
        text = question_in(message_text(message), MAX_QUESTION_CHARS)
        if not text:
            await send_error(interaction, t("err_no_text", locale_lang(interaction)))
            return
        await self.answer(interaction, text, ephemeral=True)

    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.command(name="resumen", description="Resumen del artículo con sus citas clave")
    @app_commands.describe(documento="Título del documento a resumir (por defecto, el artículo)")
    async def resumen(
        self,
        interaction: discord.Interaction,
        documento: app_commands.Range[str, 1, 300] | None = None,
    ) -> None:
        """Summarize the article, or the document chosen, through the summary template."""
        lang = locale_lang(interaction)
        doc = None
        if documento is not None:
            doc = self.bot.engine.find_document(documento)
            if doc is None:
                await send_error(interaction, t("err_no_document", lang, name=ui.echo(documento)))
                return
        answer = self.bot.engine.overview(lang=lang, document=doc)
        heading = t("overview_title", lang, title=answer.question)
        await respond(interaction, {"embeds": ui.answer_embeds(answer, lang, heading)})

    @resumen.autocomplete("documento")
    async def _complete_document(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = []
        for doc in self.bot.engine.document_choices(current, limit=AUTOCOMPLETE_MAX):
            # The value must fit Discord's 100 characters: the id when the title is longer.
            value = doc.title if len(doc.title) <= CHOICE_MAX else doc.id
            if len(value) <= CHOICE_MAX:
                label = f"{doc.published_label} · {doc.title}"
                choices.append(app_commands.Choice(name=ui.shorten(label, CHOICE_MAX), value=value))
        return choices

    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.command(name="fuentes", description="Documentos de la base de conocimiento")
    async def fuentes(self, interaction: discord.Interaction) -> None:
        """List the documents of the knowledge base."""
        await respond(interaction, self._sources_payload(interaction, 0))

    def _sources_payload(self, interaction: discord.Interaction, page: int) -> dict[str, Any]:
        lang = locale_lang(interaction)
        embed, page, pages = ui.sources_embed(self.bot.engine, lang, page)
        view = sources_view(page, pages, lang)
        return {"embeds": [embed], "view": view} if view else {"embeds": [embed]}

    async def sources_page(self, interaction: discord.Interaction, page: int) -> None:
        """Replace a /fuentes message with another of its pages."""
        payload = self._sources_payload(interaction, page)
        payload.setdefault("view", None)
        await interaction.response.edit_message(**payload)

    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.command(name="ayuda", description="Cómo preguntar, con ejemplos")
    async def ayuda(self, interaction: discord.Interaction) -> None:
        """Explain how to ask, with example questions as buttons."""
        lang = locale_lang(interaction)
        examples = self.bot.engine.complete("")[:3]
        view = add_suggestions(SafeView(), examples)
        mentions = await self.bot.command_mentions()
        embed = ui.help_embed(lang, examples, mentions, admin=_manages_server(interaction))
        await respond(interaction, {"embeds": [embed], "view": view}, ephemeral=True)

    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.command(
        name="estado", description="Versión, documentos, pasajes, tiempo activo y latencia"
    )
    async def estado(self, interaction: discord.Interaction) -> None:
        """Show version, index size, build time, uptime and gateway latency."""
        lang = locale_lang(interaction)
        engine = self.bot.engine
        rows = [
            (t("version", lang), __version__),
            (t("documents", lang), str(len(engine.documents))),
            (t("passages", lang), str(len(engine.passages))),
            (t("build_time", lang), f"{engine.build_seconds * 1000:.0f} ms"),
            (t("uptime", lang), _duration(time.monotonic() - self.bot.started_at)),
            (t("latency", lang), _latency(self.bot.latency)),
            (t("translation", lang), _translation(self.bot.settings, engine, lang)),
            (t("meaning", lang), _meaning(self.bot.settings, engine, lang)),
        ]
        if interaction.guild_id is not None:  # this server's /configurar settings
            rows += config_rows(await self.bot.interaction_config(interaction), lang)
        embed = discord.Embed(title=t("status_title", lang), colour=ui.COLOR_INFO)
        for name, value in rows:
            embed.add_field(name=name, value=value)
        await respond(interaction, {"embeds": [embed]}, ephemeral=True)

    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.command(
        name="recargar", description="Recarga la carpeta knowledge/ (operador del bot)"
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def recargar(self, interaction: discord.Interaction) -> None:
        """Reload knowledge/; on any error keep the old index and show the problems."""
        lang = locale_lang(interaction)
        if not await self._is_operator(interaction):
            await send_error(interaction, t("err_operator", lang))
            return

        async def build() -> dict[str, Any]:
            try:
                engine = await self.bot.reload_knowledge()
            except KnowledgeError as exc:
                folder = self.bot.settings.knowledge_dir
                problems = [relative_problem(p, folder) for p in exc.problems]
                heading = t("reload_failed", lang, n=len(problems))
                return {"embeds": [ui.problems_embed(heading, problems)]}
            text = t(
                "reload_ok",
                lang,
                docs=len(engine.documents),
                passages=len(engine.passages),
                secs=engine.build_seconds,
            )
            return {"embeds": [discord.Embed(description=text, colour=ui.COLOR_INFO)]}

        await deliver(interaction, build, ephemeral=True)

    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.command(
        name="estadisticas", description="Preguntas, respuestas y votos de este servidor"
    )
    @app_commands.describe(dias="Días a incluir (1 a 365)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def estadisticas(
        self, interaction: discord.Interaction, dias: app_commands.Range[int, 1, 365] = 30
    ) -> None:
        """Show this server's questions per day, answered share, most asked, unanswered, votes."""
        lang = locale_lang(interaction)
        guild_id = interaction.guild_id
        if guild_id is None:  # guild_only: Discord never sends it from a DM
            await send_error(interaction, t("err_forbidden", lang))
            return

        async def build() -> dict[str, Any]:
            stats = await asyncio.to_thread(self.bot.store.stats, dias, guild_id=guild_id)
            title = t("stats_title", lang, days=dias)
            embed = ui.stats_embed(title, stats_headline(stats, lang), stats_sections(stats, lang))
            return {"embeds": [embed]}

        await deliver(interaction, build, ephemeral=True)

    # -- shared answer path -------------------------------------------------------------------

    async def answer(
        self,
        interaction: discord.Interaction,
        question: str,
        *,
        ephemeral: bool,
        offset: int = 0,
        question_id: int | None = None,
        edit: bool = False,
        owner_id: int | None = None,
    ) -> None:
        """Validate, answer through the core, record, render and respond (exactly once).

        `edit` replaces the message the pressed button sits on; `owner_id` is who may page
        the answer in place (the asker; by default whoever asks now).
        """
        lang = locale_lang(interaction)
        try:
            question = clean_question(question)
        except QuestionError as exc:
            await send_error(interaction, question_error(exc, lang))
            return
        if question_id is None:
            retry = self.bot.cooldowns.hit(interaction.user.id)
            if retry is not None:
                await send_error(interaction, discord_cooldown_message(retry, lang))
                return
        public = not ephemeral
        if edit and interaction.message is not None:  # the edited message keeps its visibility
            public = not interaction.message.flags.ephemeral
        asker = Asker(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            locale=str(getattr(interaction.locale, "value", interaction.locale)),
            private=ephemeral,
            source=f"interaction {interaction.id}",
        )
        owner = interaction.user.id if owner_id is None else owner_id

        async def build() -> dict[str, Any]:
            return await answer_payload(
                self.bot,
                question,
                lang,
                asker,
                owner=owner,
                public=public,
                offset=offset,
                question_id=question_id,
            )

        await deliver(interaction, build, ephemeral=ephemeral, edit=edit)

    async def _is_operator(self, interaction: discord.Interaction) -> bool:
        """The application's owner, a member of its team, or a user in OPERATOR_IDS."""
        if interaction.user.id in self.bot.settings.operator_ids:
            return True
        try:  # known since login (application info); fetched once otherwise
            return await asyncio.wait_for(self.bot.is_owner(interaction.user), OWNER_TIMEOUT)
        except (discord.HTTPException, TimeoutError) as exc:
            log.warning("could not tell whether the user is the application owner: %s", exc)
            return False

    async def vote(self, interaction: discord.Interaction, question_id: int, vote: int) -> None:
        """Record a 👍/👎 vote (one per user per answer, changeable); 👎 asks what was missing."""
        lang = locale_lang(interaction)
        if vote < 0:  # the modal is the response; the vote counts even if it is dismissed
            await interaction.response.send_modal(MissingModal(question_id, lang))
            if not await self._store_vote(interaction, question_id, vote):
                log.info("vote on purged question %s", question_id)  # the modal's submit says so
            return
        thanks = "vote_thanks_up" if vote > 0 else "vote_thanks_down"
        await self._thank(interaction, question_id, vote, None, thanks, lang)

    async def comment(self, interaction: discord.Interaction, question_id: int, text: str) -> None:
        """Keep what a 👎 voter said was missing, with the vote; thank them privately."""
        comment = " ".join(visible(text).split())[:MISSING_MAX] or None
        lang = locale_lang(interaction)
        await self._thank(interaction, question_id, -1, comment, "vote_thanks_down", lang)

    async def _thank(
        self,
        interaction: discord.Interaction,
        question_id: int,
        vote: int,
        comment: str | None,
        thanks: str,
        lang: str,
    ) -> None:
        async def build() -> dict[str, Any]:  # SQLite may wait on a lock: deliver defers
            stored = await self._store_vote(interaction, question_id, vote, comment)
            return {"content": t(thanks if stored else "err_gone", lang)}

        await deliver(interaction, build, ephemeral=True)

    async def _store_vote(
        self,
        interaction: discord.Interaction,
        question_id: int,
        vote: int,
        comment: str | None = None,
    ) -> bool:
        """Record a vote; False when the question was purged by the retention policy."""
        try:
            await asyncio.to_thread(
                self.bot.store.record_vote, question_id, interaction.user.id, vote, comment
            )
        except KeyError:
            return False
        return True

    async def ask_suggestion(self, interaction: discord.Interaction, key: str) -> None:
        """Ask the suggested question behind a button."""
        question = self.bot.engine_suggestion(key)
        if question is None:
            await send_error(interaction, t("err_gone", locale_lang(interaction)))
            return
        await self.answer(interaction, question, ephemeral=on_ephemeral_message(interaction))

    async def delete_answer(self, interaction: discord.Interaction, user_id: int) -> None:
        """Delete a public answer for its asker or a member who can manage messages."""
        perms = getattr(interaction, "permissions", None)
        if interaction.user.id != user_id and not (perms and perms.manage_messages):
            await send_error(interaction, t("err_not_yours_delete", locale_lang(interaction)))
            return
        # Through the interaction's webhook: no channel permission (or membership) needed.
        await interaction.response.defer()
        await interaction.delete_original_response()

    async def publish(
        self, interaction: discord.Interaction, question_id: int, offset: int
    ) -> None:
        """Post a private answer publicly in the channel, as the presser's answer."""
        question = await self._question_text(interaction, question_id)
        if question is None:
            return
        await self.answer(
            interaction, question, ephemeral=False, offset=offset, question_id=question_id
        )

    async def more(
        self, interaction: discord.Interaction, question_id: int, offset: int, user_id: int
    ) -> None:
        """Show a page of passages: in place for the asker, as a private copy for others."""
        question = await self._question_text(interaction, question_id)
        if question is None:
            return
        mine = interaction.user.id == user_id
        await self.answer(
            interaction,
            question,
            ephemeral=True,
            offset=offset,
            question_id=question_id,
            edit=mine,
        )

    async def _question_text(
        self, interaction: discord.Interaction, question_id: int
    ) -> str | None:
        """Read a recorded question in time; None (the user was told why) if busy or purged."""
        try:
            question = await read_in_time(interaction, self.bot.store.question_text, question_id)
        except StoreBusy:
            await send_error(interaction, t("err_busy", locale_lang(interaction)))
            return None
        if question is None:
            await send_error(interaction, t("err_gone", locale_lang(interaction)))
        return question


async def deliver(
    interaction: discord.Interaction,
    build: Callable[[], Awaitable[dict[str, Any]]],
    *,
    ephemeral: bool,
    edit: bool = False,
) -> None:
    """Respond once: directly when the payload is ready in time, else defer then follow up.

    With `edit`, the payload replaces the message of the pressed button instead.
    """
    if getattr(interaction.client, "stopping", False):  # SIGTERM: start nothing to cut off
        await send_error(interaction, t("err_stopping", locale_lang(interaction)))
        return
    track = getattr(interaction.client, "track", None)
    if track is not None:
        track()
    task = asyncio.ensure_future(build())
    try:
        payload = await asyncio.wait_for(asyncio.shield(task), timeout=ack_budget(interaction))
    except TimeoutError:
        if edit:
            await interaction.response.defer()
            try:
                payload = await task
                await interaction.edit_original_response(**{"view": None, **payload})
            except Exception as exc:  # the answer stays as it was; the error is private
                log.error("could not page interaction %s: %s", interaction.id, exc)
                await send_error(interaction, t("err_generic", locale_lang(interaction)))
            return
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        try:
            payload = await task
            await interaction.followup.send(**payload, ephemeral=ephemeral)
        except Exception as exc:  # discord.py already retried 429s and 5xx
            # Nothing may leave the user on "thinking…": the error handler would only add a
            # second message, so the placeholder itself becomes the error.
            await _deferred_failed(interaction, exc, ephemeral=ephemeral)
        return
    if edit:
        await interaction.response.edit_message(**{"view": None, **payload})
        return
    await interaction.response.send_message(**payload, ephemeral=ephemeral)


def ack_budget(interaction: discord.Interaction) -> float:
    """Seconds left for work before the first response must go (Discord's 3 s, a margin)."""
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return max(0.0, min(1.5, ACK_DEADLINE - ACK_MARGIN - max(age, 0.0)))


async def _deferred_failed(
    interaction: discord.Interaction, exc: Exception, *, ephemeral: bool
) -> None:
    """The deferred answer could not be built or sent: log it, show the error privately.

    A private "thinking…" becomes the error. A public one is deleted and the error goes in a
    private followup (the first followup after a defer would take the defer's visibility).
    """
    # Discord's own refusals are logged without a traceback: they are not the bot's code.
    where = f"the answer of interaction {interaction.id}"
    key = failure_key(exc, where, traceback=not isinstance(exc, discord.HTTPException))
    message = t(key, locale_lang(interaction))
    try:
        if ephemeral:
            await interaction.edit_original_response(content=message)
            return
        try:
            await interaction.delete_original_response()
        except discord.NotFound:
            pass  # already gone: the followup below is a new private message anyway
        await interaction.followup.send(content=message, ephemeral=True)
    except discord.HTTPException as edit_exc:
        log.warning("could not show an error for interaction %s: %s", interaction.id, edit_exc)


async def respond(
    interaction: discord.Interaction, payload: dict[str, Any], *, ephemeral: bool = False
) -> None:
    """Send a payload as the interaction's one response (or a followup if already acked)."""
    if interaction.response.is_done():
        await interaction.followup.send(**payload, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(**payload, ephemeral=ephemeral)


async def send_error(interaction: discord.Interaction, message: str) -> None:
    """Tell the user what went wrong, privately; an expired interaction is only logged."""
    try:
        await respond(interaction, {"content": ui.shorten(message, ui.CONTENT_MAX)}, ephemeral=True)
    except discord.NotFound:
        log.warning("interaction %s expired before the error could be shown", interaction.id)
    except discord.HTTPException as exc:
        log.warning("could not show an error for interaction %s: %s", interaction.id, exc)


def on_ephemeral_message(interaction: discord.Interaction) -> bool:
    """Whether a button's message is only visible to the user (its answer must be too)."""
    message = interaction.message
    return bool(message is not None and message.flags.ephemeral)


def relative_problem(problem: str, folder: Path) -> str:
    """Return a knowledge problem with paths relative to the knowledge folder."""
    for prefix in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
        problem = problem.replace(prefix + os.sep, "").replace(prefix, ".")
    return problem


def message_text(message: discord.Message) -> str:
    """Return what a message says: its text, else its embeds' titles, descriptions, fields."""
    text = " ".join(message.clean_content.split())
    if text:
        return text
    parts: list[str] = []
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
        parts += [f"{f.name}. {f.value}" for f in embed.fields]
    # Each piece as its own sentence, so that the question among them can be picked.
    pieces = [" ".join(p.split()) for p in parts if p.strip()]
    return " ".join(p if p[-1] in ".?!…" else p + "." for p in pieces)


def _manages_server(interaction: discord.Interaction) -> bool:
    """Tell whether the member can use the admin commands (their default permission)."""
    perms = getattr(interaction, "permissions", None)
    return interaction.guild_id is not None and bool(perms and perms.manage_guild)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def _meaning(settings: Settings, engine: Engine, lang: str) -> str:
    """Say whether candidates are put in order by meaning, and how to turn it on."""
    if engine.vectors is not None and engine.meaning is not None:
        return t("meaning_on", lang, name=engine.meaning.reason)
    if settings.meaning == "off":
        return t("meaning_off", lang)
    if engine.meaning is not None and engine.meaning.on:
        return t("meaning_too_big", lang, limit=engine.meaning.max_passages)
    return t("meaning_missing", lang, cmd=MEANING_HINT)


def _translation(settings: Settings, engine: Engine, lang: str) -> str:
    """Say whether English questions are machine-translated, and how to turn it on."""
    if engine.translator is not None:
        return t("translation_on", lang)
    if settings.translator == "off":
        return t("translation_off", lang)
    return t("translation_missing", lang, cmd=INSTALL_HINT)


def _latency(seconds: float) -> str:
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "—"
    return f"{seconds * 1000:.0f} ms"
