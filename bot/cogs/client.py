"""The Discord client: holds the engine, store and settings; syncs commands; shuts down cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.answering import StoreBusy, channel_allowed, read_in_time, user_installed_only
from bot.cogs.translator import ENGLISH, Translator
from bot.cogs.ui import suggestion_key
from bot.core.answer import MAX_QUESTION_CHARS, Engine, freeze_what_lives
from bot.i18n import discord_cooldown_message, t
from bot.metrics import Metrics
from bot.settings import ServerConfig, Settings
from bot.store import ServerOverrides, Store

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0


class ChannelNotAllowed(app_commands.CheckFailure):
    """The bot is limited to some channels and this is not one of them."""


class Cooldowns:
    """Per-user question budget shared by every way of asking (commands, menu, buttons)."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, per
        self._buckets: dict[int, app_commands.Cooldown] = {}

    def hit(self, user_id: int, now: float | None = None) -> float | None:
        """Spend one question; return the seconds to wait when the budget is spent."""
        now = time.time() if now is None else now
        if len(self._buckets) > 10_000:  # forget idle users so memory stays bounded
            self._buckets = {
                u: b for u, b in self._buckets.items() if b.get_tokens(now) < self.rate
            }
        bucket = self._buckets.setdefault(user_id, app_commands.Cooldown(self.rate, self.per))
        return bucket.update_rate_limit(now)


class DealTree(app_commands.CommandTree):
    """Command tree with the channel allowlist and one error handler."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Read the server's settings (its language, once per server); refuse questions outside
        its allowed channels, when it has an allowlist."""
        if interaction.type is discord.InteractionType.autocomplete:
            return True  # only choices can answer it (no refusal message); the command refuses
        if getattr(interaction.command, "name", None) == "configurar":
            return True  # managers can always change the allowlist (it reads the settings)
        config = await self.client.interaction_config(interaction)  # type: ignore[attr-defined]
        if user_installed_only(interaction):
            return True  # asked where the app was added by the member, not by a server
        allowed = config.allowed_channels
        if not channel_allowed(interaction.channel, allowed, interaction.channel_id):
            raise ChannelNotAllowed(" ".join(f"<#{c}>" for c in allowed))
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Turn known errors into short private messages; log the unexpected ones."""
        from bot.cogs.ask import send_error
        from bot.cogs.views import failure_key, locale_lang

        lang = locale_lang(interaction)
        original = getattr(error, "original", error)
        if isinstance(original, discord.NotFound) and original.code == 10062:
            log.warning("interaction %s expired (10062 Unknown interaction)", interaction.id)
            return
        if isinstance(error, ChannelNotAllowed):
            message = t("err_channel", lang, channels=str(error))
        elif isinstance(error, app_commands.CommandOnCooldown):
            message = discord_cooldown_message(error.retry_after, lang)
        elif isinstance(error, app_commands.MissingPermissions | app_commands.NoPrivateMessage):
            message = t("err_forbidden", lang)
        elif isinstance(error, app_commands.TransformerError):
            message = t("err_too_long", lang, n=len(str(error.value)), limit=MAX_QUESTION_CHARS)
        else:
            command = getattr(interaction.command, "name", "component")
            message = t(failure_key(original, f"/{command} of interaction {interaction.id}"), lang)
        await send_error(interaction, message)


class DealBotMixin:
    """What both the single-process and the sharded bot hold and do."""

    settings: Settings
    engine: Engine
    store: Store
    tree: DealTree

    def _init_state(self, settings: Settings, engine: Engine, store: Store) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.started_at = time.monotonic()
        self.cooldowns = Cooldowns(settings.cooldown_questions, settings.cooldown_seconds)
        self.metrics = Metrics(lambda: self.latency)  # type: ignore[attr-defined]
        self._reload_lock = asyncio.Lock()
        self._next_reload: asyncio.Future[Engine] | None = None
        self.sync_only = False
        self.stopping = False  # set by shutdown(): new questions are refused politely
        self._inflight: set[asyncio.Task[Any]] = set()
        self._configs: dict[int, ServerConfig] = {}
        self._command_mentions: dict[str, str] | None = None

    def track(self) -> None:
        """Remember the current interaction task so shutdown can let it finish."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Let in-flight answers finish (up to `grace` seconds), then close the gateway."""
        self.stopping = True
        pending = {t for t in self._inflight if t is not asyncio.current_task() and not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=grace)
        await self.close()  # type: ignore[attr-defined]

    async def setup_hook(self) -> None:
        """Prepare the commands, then sync them (at login, before the gateway connects)."""
        await self.prepare()
        if not self.sync_only:
            await asyncio.to_thread(warm_up, self.engine)
            freeze_what_lives()  # the engine serves from now on: out of the collector's walks
        await self.sync_commands(force=self.sync_only)

    async def on_message(self, message: discord.Message) -> None:
        """Leave messages to the mentions cog (the bot has no prefix commands to process)."""

    async def server_config(
        self, guild_id: int | None, interaction: discord.Interaction | None = None
    ) -> ServerConfig:
        """Return a server's configuration (the environment's defaults outside servers).

        For an `interaction` the read is guarded (`read_in_time`): a store too slow to answer
        before the first response gives the defaults this once. A message waits for it.
        """
        defaults = self.settings.server_defaults()
        if guild_id is None:
            return defaults
        config = self._configs.get(guild_id)
        if config is None:
            read = self.store.server_overrides
            try:
                if interaction is None:
                    overrides = await asyncio.to_thread(read, guild_id)
                else:
                    overrides = await read_in_time(interaction, read, guild_id)
            except StoreBusy:
                return defaults  # not remembered: read again next time
            except Exception:  # a broken database must not silence the bot: use the defaults
                log.exception("could not read the settings of server %s", guild_id)
                return defaults
            config = self.remember_config(guild_id, overrides)
        return config

    def remember_config(self, guild_id: int, overrides: ServerOverrides) -> ServerConfig:
        """Keep a server's configuration (its choices over the defaults) and return it."""
        config = overrides.apply(self.settings.server_defaults())
        if len(self._configs) > 10_000:
            self._configs.clear()
        self._configs[guild_id] = config
        return config

    async def interaction_config(self, interaction: discord.Interaction) -> ServerConfig:
        """Return the configuration an interaction runs under (defaults outside the servers
        that added the bot); read in time, once per server, at the start of each interaction."""
        if user_installed_only(interaction):
            return self.settings.server_defaults()
        return await self.server_config(interaction.guild_id, interaction)

    def known_config(self, interaction: discord.Interaction) -> ServerConfig:
        """Return the configuration `interaction_config` found (synchronous; the defaults when
        the store could not tell in time)."""
        config = None
        if interaction.guild_id is not None and not user_installed_only(interaction):
            config = self._configs.get(interaction.guild_id)
        return config if config is not None else self.settings.server_defaults()

    async def command_mentions(self) -> dict[str, str]:
        """Return each command's clickable mention (`</preguntar:ID>`), fetched once."""
        if self._command_mentions is None:
            guild_id = self.settings.discord_guild_id
            guild = discord.Object(id=guild_id) if guild_id else None
            try:  # one GET; /ayuda falls back to plain names meanwhile
                fetched = await asyncio.wait_for(self.tree.fetch_commands(guild=guild), 1.0)
            except Exception as exc:
                log.warning("could not fetch the command ids for /ayuda: %s", exc)
                return {}
            self._command_mentions = {c.name: c.mention for c in fetched}
        return self._command_mentions

    async def prepare(self) -> None:
        """Load the cogs, register the persistent buttons and the translator."""
        from bot.cogs.ask import AskCog
        from bot.cogs.configure import ConfigureCog
        from bot.cogs.mentions import MentionsCog
        from bot.cogs.views import DYNAMIC_ITEMS

        await self.add_cog(AskCog(self))  # type: ignore[arg-type, attr-defined]
        await self.add_cog(ConfigureCog(self))  # type: ignore[arg-type, attr-defined]
        await self.add_cog(MentionsCog(self))  # type: ignore[arg-type, attr-defined]
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # type: ignore[attr-defined]
        await self.tree.set_translator(Translator())

    def engine_suggestion(self, key: str) -> str | None:
        """Return the suggested question behind a button key, if it still exists."""
        return next((q for q in self.engine.suggested_questions if suggestion_key(q) == key), None)

    async def reload_knowledge(self) -> Engine:
        """Rebuild the engine from the knowledge folder; keep the old one on any error.

        Requests made while a rebuild runs share the next one (it sees every change made
        before it starts): a burst of /recargar or watch events builds at most twice.
        """
        if self._next_reload is None:
            self._next_reload = asyncio.ensure_future(self._reload_when_free())
        return await asyncio.shield(self._next_reload)

    async def _reload_when_free(self) -> Engine:
        async with self._reload_lock:
            self._next_reload = None  # from now on a request needs a rebuild of its own
            engine = await asyncio.to_thread(
                Engine.load,
                self.settings.knowledge_dir,
                translator=self.engine.translator,
                meaning=self.engine.meaning,
                **self.settings.engine_options,
            )
            await asyncio.to_thread(warm_up, engine)
            self.engine = engine
            await asyncio.to_thread(freeze_what_lives, replaced=True)
            log.info("knowledge reloaded: %d passages", len(engine.passages))
            return engine

    def tree_hash(self) -> str:
        """Return a hash of the command payload and application, to sync only on a change."""
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        app = str(self.application_id)  # type: ignore[attr-defined]
        blob = json.dumps([app, payload, sorted(ENGLISH.items())], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_commands(self, *, force: bool = False) -> None:
        """Sync to the test guild when set; else globally when the tree changed (or forced).

        A global sync removes the copies earlier test-guild syncs left (they would show every
        command twice in those servers); the guilds are remembered in the data folder.
        """
        guild_id = self.settings.discord_guild_id
        self._command_mentions = None  # ids change when commands are synced anew
        if guild_id and not force:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            self._write_guild_copies(self._guild_copies() | {guild_id})
            log.info("synced %d commands to guild %s", len(synced), guild.id)
            return
        marker = self.settings.data_dir / "command-tree.sha256"
        digest = self.tree_hash()
        try:
            previous = marker.read_text(encoding="utf-8").strip()
        except OSError:
            previous = ""
        if previous == digest and not force:
            log.info("command tree unchanged since the last sync; not syncing")
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))
            _write_marker(marker, digest + "\n")
        await self._remove_guild_copies(self._guild_copies() | ({guild_id} if guild_id else set()))

    def _guild_copies_path(self) -> Path:
        return self.settings.data_dir / "command-guilds.json"

    def _guild_copies(self) -> set[int]:
        """Guilds this application synced test copies of the commands to."""
        try:
            data = json.loads(self._guild_copies_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        app = str(self.application_id)  # type: ignore[attr-defined]
        return {int(g) for g in data.get(app, []) if str(g).isdigit()}

    def _write_guild_copies(self, guilds: set[int]) -> None:
        path = self._guild_copies_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data[str(self.application_id)] = sorted(guilds)  # type: ignore[attr-defined]
        _write_marker(path, json.dumps(data, sort_keys=True) + "\n")

    async def _remove_guild_copies(self, guilds: set[int]) -> None:
        """Empty the test-guild command lists; forget a guild once done (or gone)."""
        left = set(guilds)
        for guild_id in sorted(guilds):
            guild = discord.Object(id=guild_id)
            self.tree.clear_commands(guild=guild)
            try:
                await self.tree.sync(guild=guild)
            except (discord.Forbidden, discord.NotFound) as exc:  # the app left that guild
                log.warning("could not remove the commands of guild %s: %s", guild_id, exc)
            except discord.HTTPException as exc:
                log.warning("could not remove the commands of guild %s: %s", guild_id, exc)
                continue  # try again at the next global sync
            else:
                log.info("removed the test copies of the commands from guild %s", guild_id)
            left.discard(guild_id)
        if guilds:
            self._write_guild_copies(left)


def _write_marker(path: Path, text: str) -> None:
    """Write a small state file in the data folder; failing only costs an extra sync."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        log.warning("could not remember the synced tree in %s: %s", path, exc)


def warm_up(engine: Engine) -> None:
    """Ask one question before members do: the first question loads the analysis's lazy data
    (2-3 s), which would otherwise hold up the first burst of answers."""
    started = time.perf_counter()
    try:
        engine.ask(next(iter(engine.suggested_questions), "acuerdo"))
    except Exception:  # a warm-up must never keep the bot from starting
        log.exception("warming up the engine failed")
        return
    log.info("engine warmed up in %.2f s", time.perf_counter() - started)


# The bot never joins voice: discord.py's warnings about missing voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def _bot_kwargs(settings: Settings) -> dict[str, Any]:
    intents = discord.Intents.none()
    intents.guilds = True
    # Not privileged: Discord fills in the content only of messages that mention the bot,
    # reply to it or are DMs to it; the content of every other message arrives empty.
    intents.guild_messages = True
    intents.dm_messages = True
    return {
        "command_prefix": commands.when_mentioned,
        "intents": intents,
        "help_command": None,
        "allowed_mentions": discord.AllowedMentions.none(),
        "tree_cls": DealTree,
    }


class DealBot(DealBotMixin, commands.Bot):
    """The bot in one process, one gateway connection."""

    def __init__(self, settings: Settings, engine: Engine, store: Store) -> None:
        commands.Bot.__init__(self, **_bot_kwargs(settings))
        self._init_state(settings, engine, store)


class ShardedDealBot(DealBotMixin, commands.AutoShardedBot):
    """The bot on the shards given by SHARD_COUNT / SHARD_IDS."""

    def __init__(self, settings: Settings, engine: Engine, store: Store) -> None:
        commands.AutoShardedBot.__init__(
            self,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids or None,
            **_bot_kwargs(settings),
        )
        self._init_state(settings, engine, store)


def make_bot(settings: Settings, engine: Engine, store: Store) -> DealBot | ShardedDealBot:
    """Return the sharded bot when shards are configured, the plain one otherwise."""
    if settings.shard_count:
        return ShardedDealBot(settings, engine, store)
    return DealBot(settings, engine, store)
