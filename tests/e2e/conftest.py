"""Fixtures for end-to-end tests against the local fake Discord (see fake_discord.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE

from .bot_harness import SETTINGS_ENV
from .fake_discord import FakeDiscord, redirect_discord, write_sitecustomize


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_discord(**kwargs): FakeDiscord(...) keyword arguments for the fake_discord fixture",
    )


@pytest.fixture
async def fake_discord(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord, with the in-process discord.py redirected to it.

    Options: ``@pytest.mark.fake_discord(shard_count=2, heartbeat_interval_ms=500, ...)``.
    At teardown every recorded request body must match the Discord spec (set
    ``fake_discord.validate = False`` in a test that sends invalid bodies on purpose).
    """
    marker = request.node.get_closest_marker("fake_discord")
    fake = FakeDiscord(**(marker.kwargs if marker else {}))
    await fake.start()
    redirect_discord(monkeypatch, fake.url)
    try:
        yield fake
    finally:
        await fake.stop()
    if fake.validate:
        fake.assert_no_spec_violations()


@pytest.fixture
def fake_discord_env(fake_discord: FakeDiscord, tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess (``python -m bot``) whose discord.py uses the fake."""
    return write_sitecustomize(tmp_path, fake_discord.port)


@pytest.fixture(autouse=True)
def _no_bot_settings_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process Settings must not pick up DISCORD_TOKEN, SHARD_COUNT... from the shell."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The engine over the bundled knowledge (immutable: /recargar swaps in a new one)."""
    return Engine.load(BUNDLED_KNOWLEDGE)
