"""Run the Discord bot: token checks, signals, store, metrics, watch mode, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any

import aiohttp
import discord

from bot.cli import fail
from bot.cogs.client import DealBot, ShardedDealBot, make_bot
from bot.core.answer import Engine
from bot.core.rank import ranking_line
from bot.faults import CONFIG, FAULT, REFUSED, Fault
from bot.logs import register_secret
from bot.settings import Settings
from bot.store import SqliteStore, open_store, purge_daily
from bot.watch import watch_folder

log = logging.getLogger(__name__)

TOKEN_REJECTED = (
    "Discord rejected DISCORD_TOKEN ({why}): copy the bot token again from the Developer "
    "Portal (Bot → Reset Token) into .env"
)
# Gateway close codes discord.py does not retry (https://discord.com/developers/docs/topics/
# opcodes-and-status-codes#gateway-gateway-close-event-codes) and what the operator can do.
GATEWAY_CLOSES: dict[int, tuple[int, str]] = {
    4004: (CONFIG, TOKEN_REJECTED.format(why="gateway close 4004 Authentication failed")),
    4010: (
        CONFIG,
        "Discord refused the shard (gateway close 4010 Invalid shard): check "
        "SHARD_COUNT and SHARD_IDS",
    ),
    4011: (
        CONFIG,
        "Discord requires sharding for this bot (gateway close 4011 Sharding "
        "required): set SHARD_COUNT",
    ),
    4012: (
        FAULT,
        "Discord refused the gateway version (close 4012 Invalid API version): upgrade discord.py",
    ),
    4013: (REFUSED, "Discord refused the gateway intents (close 4013 Invalid intent(s))"),
    4014: (
        REFUSED,
        "Discord refused the gateway intents (close 4014 Disallowed intent(s)): "
        "enable them for the app in the Developer Portal (Bot → Privileged Gateway Intents)",
    ),
}


def run_bot(settings: Settings, *, sync_only: bool = False) -> int:
    """Run the bot until SIGTERM/SIGINT (or only sync the commands); return the exit code.

    Operational faults raise `Fault` (one line and an exit code, see bot/faults.py).
    """
    problem = settings.token_problem()
    if problem is not None:
        return fail(f"{problem}. Set it in .env (see .env.example and the README).", CONFIG)
    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value().strip()
    register_secret(token)
    translation = settings.open_translation(warm=True)
    log.info("%s", translation.line())
    meaning = settings.open_meaning()
    log.info("%s", meaning.line())
    log.info("%s", ranking_line())
    engine = Engine.load(
        settings.knowledge_dir,
        translator=translation.translator,
        meaning=meaning,
        **settings.engine_options,
    )
    store, salt = open_store(settings)
    register_secret(salt)
    try:
        return asyncio.run(_serve(settings, engine, store, token, sync_only))
    except discord.LoginFailure:
        return fail(TOKEN_REJECTED.format(why="401 Unauthorized"), CONFIG)
    finally:
        store.close()


async def _serve(
    settings: Settings, engine: Engine, store: SqliteStore, token: str, sync_only: bool
) -> int:
    bot = make_bot(settings, engine, store)
    bot.sync_only = sync_only
    stop = asyncio.Event()

    def on_signal() -> None:
        bot.stopping = True  # from now on questions are refused politely, none is cut off
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    async with bot:
        if settings.metrics_port and not sync_only:
            _serve_metrics(bot, settings)
        # Login runs setup_hook (cog, buttons, translator, command sync); a slow Discord must
        # not hold a SIGTERM, so it races the stop signal.
        if not await _unless_stopped(_login(bot, token, settings), stop):
            log.info("stopped before connecting to Discord")
            return 0
        if sync_only:
            print("commands synced globally")
            return 0
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
        failure = gateway.exception() if gateway.done() else None
        log.info("shutting down: finishing in-flight answers")
        await bot.shutdown()
        for task in (*background, gateway, stopped):
            task.cancel()
        await asyncio.gather(*background, gateway, stopped, return_exceptions=True)
        if failure is not None:
            raise _gateway_fault(failure) from failure
    log.info("stopped")
    return 0


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run `work` until it ends (True) or `stop` is set first (cancel it, False)."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopped.cancel()
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False


async def _login(bot: DealBot | ShardedDealBot, token: str, settings: Settings) -> None:
    """Log in and sync the commands, turning Discord's refusals into one-line faults."""
    try:
        await bot.login(token)
    except discord.HTTPException as exc:
        raise _refused(exc, settings) from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise Fault(f"cannot reach Discord ({reason}): check the network", FAULT) from exc


def _refused(exc: discord.HTTPException, settings: Settings) -> Fault:
    """Say which request Discord refused at login and what to do about it."""
    response = exc.response
    path = getattr(getattr(response, "url", None), "path", "") or ""
    what = f"{exc.status} {getattr(response, 'reason', '') or ''}".strip()
    if exc.code:
        what += f", code {exc.code}"
    detail = " ".join(str(exc.text).split())
    if exc.status >= 500:
        return Fault(f"Discord failed during login ({what}); try again later", FAULT)
    if path.endswith("/commands") and "/guilds/" in path and exc.code == 50001:
        return Fault(
            f"Discord refused the command sync to DISCORD_GUILD_ID={settings.discord_guild_id} "
            f"({what}: {detail}): that server has not added this application with the "
            "applications.commands scope; add it (README: Creating the Discord application) "
            "or leave DISCORD_GUILD_ID empty",
            REFUSED,
        )
    if path.endswith("/commands"):
        return Fault(f"Discord refused the command sync ({what}: {detail})", REFUSED)
    return Fault(f"Discord refused {path or 'a request'} at login ({what}: {detail})", REFUSED)


def _gateway_fault(exc: BaseException) -> BaseException:
    """Turn a gateway close discord.py does not retry into a one-line fault."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        code, message = GATEWAY_CLOSES[4014]
        return Fault(message, code)
    if isinstance(exc, discord.ConnectionClosed):
        code, message = GATEWAY_CLOSES.get(
            exc.code, (FAULT, f"Discord closed the gateway with code {exc.code}")
        )
        return Fault(message, code)
    return exc  # a bug, not an operational fault: keep its traceback


def _serve_metrics(bot: DealBot | ShardedDealBot, settings: Settings) -> None:
    """Expose /metrics before contacting Discord, so a taken port fails fast."""
    assert settings.metrics_port is not None
    try:
        bot.metrics.serve(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        raise Fault(
            f"METRICS_PORT {settings.metrics_port}: cannot listen on "
            f"{settings.metrics_host}:{settings.metrics_port} ({exc.strerror or exc}); choose "
            "another port or stop the program using it",
            CONFIG,
        ) from exc
