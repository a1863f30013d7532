"""Watch mode: reload the knowledge folder when one of its files changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.core.errors import KnowledgeError

log = logging.getLogger(__name__)


def folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Return (path, size, mtime) of every file under a folder, to notice changes."""
    try:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    except OSError:
        return ()


async def watch_folder(
    folder: Path,
    reload: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    interval: float = 2.0,
) -> None:
    """Poll a folder and call `reload` after a change; a failed reload keeps the old index."""
    last = folder_signature(folder)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
        current = folder_signature(folder)
        if current == last:
            continue
        last = current
        try:
            await reload()
        except KnowledgeError as exc:
            log.error("knowledge changed but has problems; keeping the old index:\n%s", exc)
        except Exception:
            log.exception("reload after a knowledge change failed; keeping the old index")
