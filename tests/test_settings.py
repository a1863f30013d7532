"""Settings: combinations that cannot work are configuration errors, not silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import Settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_shard_ids_without_shard_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="SHARD_IDS needs SHARD_COUNT"):
        settings(shard_ids="0,1")


def test_shard_ids_outside_the_count_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"shard ids \[2\] are outside 0..1"):
        settings(shard_count=2, shard_ids="0,2")


def test_shard_ids_with_their_count_are_kept() -> None:
    assert settings(shard_count=4, shard_ids="1, 3").shard_ids == [1, 3]
    assert settings(shard_count=4).shard_ids == []


def test_meaning_settings_are_read_and_bounded() -> None:
    assert settings(meaning=" Off ").meaning == "off"
    assert settings(meaning_cache="").meaning_cache is None
    assert settings().open_meaning().cache == settings().data_dir / "meaning.sqlite3"
    with pytest.raises(ValidationError, match="meaning"):
        settings(meaning="sometimes")
    with pytest.raises(ValidationError, match="meaning_max_passages"):
        settings(meaning_max_passages=-1)


def test_the_process_names_the_setting_and_exits_without_a_traceback(
    run_bot: Callable[..., Any], cli_env: Callable[..., dict[str, str]]
) -> None:
    result = run_bot(env=cli_env(DISCORD_TOKEN=TOKEN, SHARD_IDS="0"))
    assert result.returncode != 0
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert "SHARD_IDS" in line and "SHARD_COUNT" in line
    assert "Traceback" not in result.stderr
