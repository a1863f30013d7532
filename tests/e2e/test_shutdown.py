"""SIGTERM ends `python -m bot` within 10 s in every phase, and starts no new question.

Each test runs the real process against the fake Discord; waits carry timeouts, so a hang
fails the test instead of blocking it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from bot.i18n import t
from bot.settings import BUNDLED_KNOWLEDGE

from .bot_harness import QUESTION, QUOTE, TOKEN, BotProcess, clean_env, message_text, start_process
from .fake_discord import EPHEMERAL, FakeDiscord

STOP_WITHIN = 10.0  # seconds: docker stop and systemd (TimeoutStopSec=15) kill later
CALLBACK_RX = r"^/interactions/\d+/[^/]+/callback$"


async def stop_and_wait(proc: BotProcess) -> tuple[int, float]:
    """SIGTERM; return the exit code and the seconds it took (killed after 2 x the bound)."""
    sent = proc.terminate()
    try:
        code = await proc.wait(2 * STOP_WITHIN)
    finally:
        await proc.kill()
    return code, time.monotonic() - sent


def env_for(fake_env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(fake_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"), **extra)


@pytest.mark.parametrize(
    ("phase", "method", "path"),
    [
        ("login", "GET", r"^/users/@me$"),
        ("command sync", "PUT", r"^/applications/\d+/commands$"),
    ],
)
async def test_sigterm_while_discord_is_slow_exits_within_10_s(
    fake_discord: FakeDiscord,
    fake_discord_env: dict[str, str],
    tmp_path: Path,
    phase: str,
    method: str,
    path: str,
) -> None:
    fake = fake_discord
    fake.delay_next(method, path, 60.0)  # Discord hangs on this request for a minute
    proc = await start_process(tmp_path, env_for(fake_discord_env, tmp_path))
    try:
        await fake.wait_until(
            lambda: (
                proc.proc.returncode is not None
                or any(r.method == method and r.status == 0 for r in fake.requests)
            ),
            30,
            f"the {phase} request",
        )
        assert proc.proc.returncode is None, proc.stderr
    except BaseException:
        await proc.kill()
        raise
    code, took = await stop_and_wait(proc)
    assert code == 0, proc.stderr
    assert took <= STOP_WITHIN, f"SIGTERM during {phase}: exited after {took:.1f} s"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert fake.connects == 0


async def test_questions_after_sigterm_are_refused_politely_not_cut_off(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    proc = await start_process(tmp_path, env_for(fake_discord_env, tmp_path))
    try:
        await fake.wait_until(
            lambda: proc.proc.returncode is not None or fake.ready_connection(), 20, "connect"
        )
        assert proc.proc.returncode is None, proc.stderr
        # An answer still on the wire keeps the process in its grace period for 2 s.
        fake.delay_next("POST", CALLBACK_RX, 2.0)
        first = fake.slash_interaction("preguntar", {"pregunta": QUESTION})
        await fake.dispatch_interaction(first)
        await fake.wait_for(lambda r: r.path.split("/")[2:3] == [first["id"]])
        sent = proc.terminate()
        await fake.wait_until(
            lambda: "shutting down" in proc.stderr, 5, "the bot to begin shutting down"
        )
        late = fake.slash_interaction("preguntar", {"pregunta": QUESTION}, locale="en-US")
        await fake.dispatch_interaction(late)
        refusal = await fake.wait_for_callback(late["id"], timeout=5)
        code = await proc.wait(2 * STOP_WITHIN)
        took = time.monotonic() - sent
    finally:
        await proc.kill()
    assert code == 0 and took <= STOP_WITHIN, (code, took, proc.stderr)
    assert refusal.status == 200 and refusal.body["type"] == 4
    data = refusal.body["data"]
    assert data["content"] == t("err_stopping", "en") and data["flags"] & EPHEMERAL
    assert len(fake.callbacks_for(late["id"])) == 1 and not fake.requests_for(late["id"])[1:]
    # The question asked before SIGTERM was answered in full.
    assert QUOTE in message_text(fake.messages_for(first["id"])[0]).replace("**", "")
    assert "Traceback" not in proc.stderr


async def test_a_fifo_appearing_in_watch_mode_is_reported_and_sigterm_still_exits(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    knowledge = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, knowledge)
    env = env_for(fake_discord_env, tmp_path, KNOWLEDGE_DIR=str(knowledge), KNOWLEDGE_WATCH="true")
    proc = await start_process(tmp_path, env)
    try:
        await fake.wait_until(
            lambda: proc.proc.returncode is not None or fake.ready_connection(), 20, "connect"
        )
        assert proc.proc.returncode is None, proc.stderr
        await fake.wait_until(lambda: "for changes" in proc.stderr, 15, "the watch to be armed")
        os.mkfifo(knowledge / "x.md")  # reading it would block the reload thread forever
        await fake.wait_until(
            lambda: "x.md:1: a FIFO" in proc.stderr, 15, "the watcher to report the FIFO"
        )
        # The old index still answers.
        interaction = fake.slash_interaction("preguntar", {"pregunta": QUESTION})
        await fake.dispatch_interaction(interaction)
        message = await fake.wait_for_message(interaction["id"], timeout=5)
        assert QUOTE in message_text(message).replace("**", "")
    except BaseException:
        await proc.kill()
        raise
    code, took = await stop_and_wait(proc)
    assert code == 0 and took <= STOP_WITHIN, (code, took, proc.stderr)
    assert "keeping the old index" in proc.stderr
