"""Operational faults end `python -m bot` with one line and the documented exit code.

Each case runs the real process (against the fake Discord where Discord is involved) with a
timeout, so a hang fails instead of blocking. The codes: bot/faults.py and README "Exit codes".
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_python

from bot.faults import CONFIG, FAULT, REFUSED
from bot.store import DB_NAME

from .bot_harness import TOKEN, BotProcess, clean_env, start_process
from .fake_discord import FakeDiscord, write_sitecustomize

COMMANDS_RX = r"^/applications/\d+/commands$"
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def without_root_override() -> Callable[[], None] | None:
    """A preexec_fn that makes file permissions bind even for root (drops the DAC override).

    As root, `chmod 555` stops nobody; without CAP_DAC_OVERRIDE in the bounding set the
    exec'd process gets no such power, exactly like a service user on a read-only folder.
    """
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def one_error_line(stderr: str) -> str:
    """The single `error:` line of stderr; anything else may only be ordinary INFO/WARNING logs."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    others = [line for line in stderr.splitlines() if not line.startswith("error:")]
    assert not [line for line in others if "[ERROR" in line or "[CRITICAL" in line], stderr
    return errors[0]


async def finish(proc: BotProcess, timeout: float = 30) -> int:
    """Wait for the process to exit by itself (killed if it does not: a hang fails the test)."""
    try:
        return await proc.wait(timeout)
    finally:
        await proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- Discord refuses


async def test_guild_sync_refused_exits_3_with_what_to_do(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    elsewhere = fake.snowflake()  # a server that never added the app
    env = clean_env(
        fake_discord_env,
        DISCORD_TOKEN=TOKEN,
        DATA_DIR=str(tmp_path / "data"),
        DISCORD_GUILD_ID=elsewhere,
    )
    proc = await start_process(tmp_path, env)
    assert await finish(proc) == REFUSED
    line = one_error_line(proc.stderr)
    assert f"DISCORD_GUILD_ID={elsewhere}" in line and "50001" in line
    assert "applications.commands" in line
    assert fake.connects == 0, "a refused sync must not go on to the gateway"
    assert TOKEN not in proc.stderr + proc.stdout


async def test_sync_with_an_invalid_form_body_exits_3(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    body = {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "0": {
                "name": {
                    "_errors": [
                        {"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Invalid name"}
                    ]
                }
            }
        },
    }
    fake.fail_next("PUT", COMMANDS_RX, 400, body)
    env = clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env, ["sync"])
    assert await finish(proc) == REFUSED
    line = one_error_line(proc.stderr)
    assert "command sync" in line and "50035" in line and "0.name: Invalid name" in line
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("close", "code", "words"),
    [
        (4004, CONFIG, "DISCORD_TOKEN"),  # the token was reset after login
        (4013, REFUSED, "intents"),
        (4014, REFUSED, "intents"),
    ],
)
async def test_gateway_close_that_cannot_be_retried_exits_with_one_line(
    fake_discord: FakeDiscord,
    fake_discord_env: dict[str, str],
    tmp_path: Path,
    close: int,
    code: int,
    words: str,
) -> None:
    fake = fake_discord
    fake.identify_close = close
    env = clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env)
    assert await finish(proc) == code
    line = one_error_line(proc.stderr)
    assert str(close) in line and words in line
    assert fake.identifies == 1
    assert TOKEN not in proc.stderr + proc.stdout


async def test_discord_failing_with_a_5xx_at_start_exits_1(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    # discord.py retries 500/502/504 itself (up to 5 times); a 503 it hands back at once.
    fake = fake_discord
    fake.fail_next("PUT", COMMANDS_RX, 503, {"message": "Service Unavailable", "code": 0})
    env = clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env)
    assert await finish(proc, 60) == FAULT
    line = one_error_line(proc.stderr)
    assert "503" in line and "try again later" in line
    assert [r.status for r in fake.requests if r.method == "PUT"] == [503]
    assert fake.connects == 0


async def test_discord_unreachable_at_start_exits_1(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens there any more
    env = clean_env(
        write_sitecustomize(tmp_path, dead), DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data")
    )
    proc = await start_process(tmp_path, env)
    assert await finish(proc) == FAULT
    line = one_error_line(proc.stderr)
    assert "cannot reach Discord" in line and str(dead) in line


# ---------------------------------------------------------------------- the host refuses


async def test_metrics_port_in_use_exits_2_before_contacting_discord(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(
            fake_discord_env,
            DISCORD_TOKEN=TOKEN,
            DATA_DIR=str(tmp_path / "data"),
            METRICS_PORT=str(port),
        )
        proc = await start_process(tmp_path, env)
        assert await finish(proc) == CONFIG
    line = one_error_line(proc.stderr)
    assert f"METRICS_PORT {port}" in line and "in use" in line
    assert fake_discord.requests == []


async def start_with_data_dir(
    fake_env: dict[str, str], tmp_path: Path, data: Path, args: tuple[str, ...] = ()
) -> BotProcess:
    env = clean_env(fake_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(data))
    return await start_process(tmp_path, env, args)


async def test_read_only_data_dir_at_start_exits_2(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    out, err = tmp_path / "bot.stdout", tmp_path / "bot.stderr"
    with out.open("wb") as o, err.open("wb") as e:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(data)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=o,
            stderr=e,
            preexec_fn=without_root_override(),
        )
    proc = BotProcess(process, out, err)
    assert await finish(proc) == CONFIG
    line = one_error_line(proc.stderr)
    assert f"DATA_DIR {data}" in line and "Permission denied" in line
    assert fake_discord.requests == []
    assert list(data.iterdir()) == []


async def test_corrupt_database_at_start_exits_2(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"this is not a database\n" * 100)
    proc = await start_with_data_dir(fake_discord_env, tmp_path, data)
    assert await finish(proc) == CONFIG
    line = one_error_line(proc.stderr)
    assert str(data / DB_NAME) in line and "move it aside" in line
    assert fake_discord.requests == []


# ---------------------------------------------------------------------- chores


def run(
    args: list[str], env: dict[str, str], cwd: Path, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return run_python(args, cwd=cwd, env=env, **kwargs)


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_stats_without_a_database_prints_an_empty_report(tmp_path: Path, state: str) -> None:
    data = tmp_path / "data"
    if state == "empty":
        data.mkdir()
    result = run(
        ["-m", "bot", "stats", "--lang", "en"],
        clean_env(dict(os.environ), DATA_DIR=str(data)),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Questions: 0" in result.stdout and result.stderr == ""
    assert not data.exists() or list(data.iterdir()) == [], "stats must create nothing"


def test_stats_on_a_corrupt_database_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"\x00garbage" * 512)
    result = run(["-m", "bot", "stats"], clean_env(dict(os.environ), DATA_DIR=str(data)), tmp_path)
    assert result.returncode == CONFIG
    assert "move it aside" in one_error_line(result.stderr) and result.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["stats", "--days", "-1"], "--days"),
        (["stats", "--days", "999999999"], "--days"),
        (["stats", "--days", "abc"], "--days"),
        (["bench", "--sizes", "abc"], "--sizes"),
        (["bench", "--sizes", ","], "--sizes"),
    ],
)
def test_bad_numbers_are_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    env = clean_env(dict(os.environ), DATA_DIR=str(tmp_path / "data"))
    result = run(["-m", "bot", *args], env, tmp_path)
    assert result.returncode == CONFIG
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("python -m bot")
    assert words in result.stderr.splitlines()[-1]


def test_bench_without_wordfreq_says_how_to_install_it(tmp_path: Path) -> None:
    # `None` in sys.modules makes `import wordfreq` fail as if it were not installed.
    code = "import sys; sys.modules['wordfreq'] = None; from bot.__main__ import main; "
    code += "sys.exit(main(['bench', '--sizes', '1000']))"
    result = run(["-c", code], clean_env(dict(os.environ)), tmp_path)
    assert result.returncode == CONFIG
    line = one_error_line(result.stderr)
    assert "wordfreq" in line and "pip install" in line
    assert result.stdout == ""
