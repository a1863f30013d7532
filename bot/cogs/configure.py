"""/configurar: each server's channels, fallback language, mentions, threads and visibility."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import ui
from bot.cogs.answering import StoreBusy, read_in_time
from bot.cogs.views import locale_lang
from bot.i18n import t
from bot.settings import ServerConfig
from bot.store import ServerOverrides

if TYPE_CHECKING:
    from bot.cogs.client import DealBot

CHANNEL_RX = re.compile(r"<#(\d+)>|\b(\d{15,21})\b")
EVERY_CHANNEL = frozenset({"todos", "todo", "all", "*"})


def parse_channels(text: str, known: set[int]) -> tuple[int, ...] | str:
    """Return the channel ids of "#a #b" (empty for "todos"), or the first unknown token."""
    if text.strip().lower() in EVERY_CHANNEL:
        return ()
    found: list[int] = []
    for match in CHANNEL_RX.finditer(text):
        channel_id = int(match[1] or match[2])
        if channel_id not in known:
            return match[0]
        found.append(channel_id)
    if not found:
        return text.strip()
    return tuple(dict.fromkeys(found))


def config_rows(config: ServerConfig, lang: str) -> list[tuple[str, str]]:
    """Return a server's configuration as (name, value) rows for an embed."""
    yes, no = t("yes", lang), t("no", lang)
    channels = " ".join(f"<#{c}>" for c in config.allowed_channels) or t("every_channel", lang)
    return [
        (t("cfg_channels", lang), ui.shorten(channels, ui.FIELD_VALUE_MAX)),
        (t("cfg_lang", lang), config.lang),
        (t("cfg_mentions", lang), yes if config.mentions else no),
        (t("cfg_threads", lang), yes if config.threads else no),
        (t("cfg_private", lang), yes if config.private else no),
    ]


class ConfigureCog(commands.Cog):
    """Per-server settings, for the members the server lets manage it."""

    def __init__(self, bot: DealBot) -> None:
        self.bot = bot

    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.command(
        name="configurar", description="Canales, idioma, menciones, hilos y privacidad del bot"
    )
    @app_commands.describe(
        canales="Canales donde respondo (#uno #otro), o «todos»",
        idioma="Idioma si el de un miembro no es español ni inglés",
        menciones="Responder a «@bot pregunta» y a las respuestas a mis mensajes",
        hilos="Abrir un hilo con el nombre de la pregunta al responder a una mención",
        privado="Respuestas de /preguntar visibles solo para quien pregunta",
        restablecer="Volver a los valores por defecto del bot",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def configurar(
        self,
        interaction: discord.Interaction,
        canales: str | None = None,
        idioma: Literal["es", "en"] | None = None,
        menciones: bool | None = None,
        hilos: bool | None = None,
        privado: bool | None = None,
        restablecer: bool = False,
    ) -> None:
        """Change this server's settings; with no option, show them."""
        from bot.cogs.ask import deliver, send_error

        guild_id = interaction.guild_id
        assert guild_id is not None  # guild_only
        store = self.bot.store
        try:  # what the server chose so far, read before the first response (and remembered)
            current = await read_in_time(interaction, store.server_overrides, guild_id)
        except StoreBusy:
            await send_error(interaction, t("err_busy", locale_lang(interaction)))
            return
        self.bot.remember_config(guild_id, current)
        lang = locale_lang(interaction)
        channels: tuple[int, ...] | None = None
        if canales is not None:
            guild = interaction.guild
            known = {c.id for c in guild.channels} if guild is not None else set()
            parsed = parse_channels(canales, known)
            if isinstance(parsed, str):
                message = t("err_channel_unknown", lang, channel=ui.echo(parsed))
                await send_error(interaction, message)
                return
            channels = parsed
        change = ServerOverrides(channels, idioma, menciones, hilos, privado)
        chosen = (ServerOverrides() if restablecer else current).merged(change)

        async def build() -> dict[str, Any]:  # a write may wait on a lock: deliver defers
            if restablecer or change != ServerOverrides():
                await asyncio.to_thread(store.save_server_overrides, guild_id, chosen)
            config = self.bot.remember_config(guild_id, chosen)
            embed = discord.Embed(title=t("cfg_title", lang), colour=ui.COLOR_INFO)
            for name, value in config_rows(config, lang):
                embed.add_field(name=name, value=value)
            return {"embeds": [embed]}

        await deliver(interaction, build, ephemeral=True)
