"""Run the real bot against the fake Discord: in-process (fast) or as ``python -m bot``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cogs.client import DealBot, ShardedDealBot, make_bot
from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE, Settings
from bot.store import MemoryStore, Store

from .fake_discord import EPHEMERAL, LOADING, FakeDiscord, RecordedRequest

REPO = Path(__file__).resolve().parents[2]
# Right shape (three base64url parts), never a real token.
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
OTHER_TOKEN = "OTg3NjU0MzIxMDk4NzY1NDMy.HxYzWv.zyxwvutsrqponmlkjihgfedcba9876543210ZZ"
DEADLINE = 3.0  # Discord's initial-response deadline
MANAGE_GUILD = 1 << 5
QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"
QUOTE = "vigente hasta 2030"

# Every environment variable a Settings field reads: none may leak in from the outer shell.
SETTINGS_ENV = tuple(name.upper() for name in Settings.model_fields)


def clean_env(base: dict[str, str], **overrides: str) -> dict[str, str]:
    """``base`` without any bot setting, plus the bundled knowledge, repo import path, overrides."""
    env = {k: v for k, v in base.items() if k.upper() not in SETTINGS_ENV}
    env["KNOWLEDGE_DIR"] = str(BUNDLED_KNOWLEDGE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(REPO)]))
    env["PYTHONIOENCODING"] = "utf-8"
    env["NO_COLOR"] = "1"
    env.update(overrides)
    return env


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings built from arguments only (no ``.env``; the caller clears the environment)."""
    values: dict[str, Any] = {
        "discord_token": TOKEN,
        "data_dir": tmp_path / "data",
        "knowledge_dir": BUNDLED_KNOWLEDGE,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _no_identify_wait(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py sleeps 5 s before every non-initial IDENTIFY; not needed against the fake."""


@dataclass
class InProcessBot:
    """A real DealBot/ShardedDealBot started with ``bot.start(token)`` as a task."""

    bot: DealBot | ShardedDealBot
    task: asyncio.Task[None]

    async def stop(self) -> None:
        await self.bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)


async def start_in_process(
    fake: FakeDiscord,
    settings: Settings,
    engine: Engine,
    store: Store | None = None,
    *,
    skip_identify_wait: bool = False,
    shards: int | None = None,
) -> InProcessBot:
    """Start the bot in this event loop; return once every expected shard is READY."""
    bot = make_bot(settings, engine, store or MemoryStore("salt-for-tests"))
    if skip_identify_wait:
        bot.before_identify_hook = _no_identify_wait  # type: ignore[method-assign]
    task = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))  # type: ignore[union-attr]
    expected = shards or 1
    try:
        await fake.wait_until(
            lambda: task.done() or sum(c.open and c.ready for c in fake.connections) >= expected,
            15,
            "the bot's gateway connection(s)",
        )
        if task.done():
            task.result()
    except BaseException:
        await bot.close()
        raise
    return InProcessBot(bot, task)


@dataclass
class BotProcess:
    """``python -m bot`` started with asyncio; stdout and stderr go to files."""

    proc: asyncio.subprocess.Process
    out_path: Path
    err_path: Path

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    async def wait(self, timeout: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def terminate(self) -> float:
        """Send SIGTERM; return the ``time.monotonic()`` it was sent at."""
        self.proc.send_signal(signal.SIGTERM)
        return time.monotonic()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def start_process(
    cwd: Path, env: dict[str, str], args: Iterable[str] = (), name: str = "bot"
) -> BotProcess:
    """Start ``python -m bot ARGS`` in ``cwd`` (so no stray ``.env`` is read), stdin closed."""
    out_path, err_path = cwd / f"{name}.stdout", cwd / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    return BotProcess(proc, out_path, err_path)


# ---------------------------------------------------------------------- checks on recorded bodies


def message_bodies(fake: FakeDiscord, interaction_id: str) -> list[tuple[RecordedRequest, Any]]:
    """Every message body the bot sent for an interaction (callback data, followups, edits)."""
    out = []
    for r in fake.requests_for(interaction_id):
        body = r.body if isinstance(r.body, dict) else None
        if body is None:
            continue
        if r.path.endswith("/callback"):
            if body.get("type") in (4, 7):
                out.append((r, body.get("data") or {}))
        elif r.method in ("POST", "PATCH"):
            out.append((r, body))
    return out


def assert_no_mention_parsing(fake: FakeDiscord, interaction_id: str) -> int:
    """Each message body carries ``allowed_mentions`` with ``parse == []``; return the count."""
    bodies = message_bodies(fake, interaction_id)
    for record, body in bodies:
        mentions = body.get("allowed_mentions")
        assert mentions is not None, f"{record!r} has no allowed_mentions: {body}"
        assert mentions.get("parse") == [], f"{record!r} parses mentions: {mentions}"
        assert not mentions.get("users") and not mentions.get("roles"), mentions
    return len(bodies)


def message_text(message: dict[str, Any]) -> str:
    """All visible text of a message: content, embed titles, descriptions and fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')}\n{f.get('value')}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def custom_ids(message: dict[str, Any]) -> list[str]:
    """custom_ids of every button in a message (link buttons have none)."""
    out = []
    for row in message.get("components") or []:
        for comp in row.get("components") or []:
            if comp.get("custom_id"):
                out.append(comp["custom_id"])
    return out


def is_ephemeral(message: dict[str, Any]) -> bool:
    return bool(message.get("flags", 0) & EPHEMERAL)


def is_loading(message: dict[str, Any]) -> bool:
    return bool(message.get("flags", 0) & LOADING)
