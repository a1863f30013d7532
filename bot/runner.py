"""Run the Discord bot: token checks, signals, store, metrics, watch mode, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import discord

from bot.cli import fail
from bot.cogs.client import make_bot
from bot.core.answer import Engine
from bot.logs import register_secret
from bot.settings import Settings
from bot.store import SqliteStore, open_store, purge_daily
from bot.watch import watch_folder

log = logging.getLogger(__name__)


def run_bot(settings: Settings, *, sync_only: bool = False) -> int:
    """Run the bot until SIGTERM/SIGINT (or only sync the commands); return the exit code."""
    problem = settings.token_problem()
    if problem is not None:
        return fail(f"{problem}. Set it in .env (see .env.example and the README).")
    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value().strip()
    register_secret(token)
    translation = settings.open_translation(warm=True)
    log.info("%s", translation.line())
    engine = Engine.load(
        settings.knowledge_dir,
        answer_threshold=settings.answer_threshold,
        translator=translation.translator,
    )
    store, salt = open_store(settings)
    register_secret(salt)
    try:
        return asyncio.run(_serve(settings, engine, store, token, sync_only))
    except discord.LoginFailure:
        return fail(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again from "
            "the Developer Portal (Bot → Reset Token) into .env"
        )
    except discord.PrivilegedIntentsRequired:  # pragma: no cover - the bot asks for none
        return fail("Discord refused the gateway intents for this application")
    finally:
        store.close()


async def _serve(
    settings: Settings, engine: Engine, store: SqliteStore, token: str, sync_only: bool
) -> int:
    bot = make_bot(settings, engine, store)
    bot.sync_only = sync_only
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        await bot.login(token)  # runs setup_hook: cog, buttons, translator, sync
        if sync_only:
            print("commands synced globally")
            return 0
        if settings.metrics_port:
            bot.metrics.serve(settings.metrics_host, settings.metrics_port)
        background = [asyncio.create_task(purge_daily(store, settings.retention_days, stop))]
        if settings.knowledge_watch:
            background.append(
                asyncio.create_task(
                    watch_folder(settings.knowledge_dir, bot.reload_knowledge, stop)
                )
            )
        gateway = asyncio.create_task(bot.connect(reconnect=True))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({gateway, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if gateway.done():
            gateway.result()  # a fatal gateway error propagates
        log.info("shutting down: finishing in-flight answers")
        await bot.shutdown()
        for task in (*background, gateway):
            task.cancel()
        await asyncio.gather(*background, gateway, return_exceptions=True)
    log.info("stopped")
    return 0
