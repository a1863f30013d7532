"""Watch mode: reload the knowledge folder when one of its files changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import awatch

from bot.core.errors import KnowledgeError

log = logging.getLogger(__name__)


async def watch_folder(
    folder: Path,
    reload: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    debounce_ms: int = 1600,
) -> None:
    """Call `reload` after files of a folder change; a failed reload keeps the old index.

    watchfiles waits for the OS's change notifications (inotify; polling where there is none)
    in a worker thread, so the event loop never lists or stats the folder, however large.
    Only the folder and its templates/ are watched, not recursively: the loader reads nothing
    deeper, and a recursive watch walks the whole tree when it starts.
    """
    paths = await asyncio.to_thread(_watched, folder)
    try:
        async for changes in awatch(
            *paths, stop_event=stop, debounce=debounce_ms, step=50, recursive=False
        ):
            log.info("knowledge changed (%d file(s)); reloading", len(changes))
            try:
                await reload()
            except KnowledgeError as exc:
                log.error("knowledge changed but has problems; keeping the old index:\n%s", exc)
            except Exception:
                log.exception("reload after a knowledge change failed; keeping the old index")
    except OSError as exc:  # the folder vanished or cannot be watched: answering goes on
        log.error("watching %s stopped: %s", folder, exc)


def _watched(folder: Path) -> list[Path]:
    """Return the folders the loader reads: the knowledge folder and its templates/."""
    return [folder, *(p for p in [folder / "templates"] if p.is_dir())]
