"""The core and the offline CLI never import discord.py (the adapter is the only one that may)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import run_python

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in sys.modules if m == "discord" or m.startswith("discord."))))
"""


def discord_modules_after(body: str, env: dict[str, str], cwd: Path) -> list[str]:
    """Run `body` in a fresh interpreter and return the discord modules it left imported."""
    result = run_python(["-c", PROBE.format(body=body)], cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_core_and_cli_imports_leave_discord_out(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    body = "import bot.core, bot.core.answer, bot.core.evaluate, bot.cli"
    assert discord_modules_after(body, cli_env(), tmp_path) == []


def test_ask_path_never_imports_discord(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    body = (
        "import contextlib, io\n"
        "from bot.__main__ import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['ask', 'hola'])\n"
        "assert code == 0, code\n"
        "assert 'Pregunta: hola' in out.getvalue(), out.getvalue()\n"
    )
    assert discord_modules_after(body, cli_env(), tmp_path) == []


def test_probe_sees_discord_when_the_adapter_is_imported(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    # The runner is the adapter: it does import discord, so the probe above can fail.
    assert "discord" in discord_modules_after("import bot.runner", cli_env(), tmp_path)
