"""Watch mode: reload the knowledge folder when one of its files changes."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import awatch

from bot.core.errors import KnowledgeError

log = logging.getLogger(__name__)

Identity = tuple[int, int] | None  # the folder's (device, inode); None when it is not there
_REWATCH = "rewatch"  # the folders to watch changed (templates/ created or removed)


async def watch_folder(
    folder: Path,
    reload: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    debounce_ms: int = 1600,
    recheck_ms: int = 1000,
) -> None:
    """Call `reload` after files of a folder change; a failed reload keeps the old index.

    watchfiles waits for the OS's change notifications (inotify; polling where there is none)
    in a worker thread, so the event loop never lists or stats the folder, however large.
    Only the folder and its templates/ are watched, not recursively: the loader reads nothing
    deeper, and a recursive watch walks the whole tree when it starts.

    A notification watch follows the folder's inode: when the folder is removed or replaced
    (a deploy, a checkout), every `recheck_ms` the path is looked at again, and the folder that
    is there then is reloaded and watched. A templates/ created (or removed) after the start is
    watched (or dropped) from the next change or recheck on.
    """
    watched = await asyncio.to_thread(_identity, folder)
    if watched is None:
        log.error("watching %s stopped: not a folder", folder)
        return
    while not stop.is_set():
        if watched is not None:
            now = await _watch(folder, reload, stop, debounce_ms, recheck_ms, watched)
            if now == _REWATCH:
                continue  # the same folder, with templates/ now watched (or no longer)
            if now == watched:  # stopped, or the watch itself failed
                return
            log.warning("%s was removed or replaced; watching the folder now there", folder)
        else:
            try:
                await asyncio.wait_for(stop.wait(), timeout=recheck_ms / 1000)
                return
            except TimeoutError:
                now = await asyncio.to_thread(_identity, folder)
        if now is not None:
            await _reload(reload)
        watched = now


async def _watch(
    folder: Path,
    reload: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    debounce_ms: int,
    recheck_ms: int,
    watched: Identity,
) -> Identity | str:
    """Reload on changes until `stop` or until the path no longer names the watched folder;
    return the folder's identity then (`watched` when stopped or the watch failed), or
    _REWATCH when templates/ appeared or went away."""
    paths = await asyncio.to_thread(_watched, folder)
    armed = False
    try:
        async for changes in awatch(
            *paths,
            stop_event=stop,
            debounce=debounce_ms,
            step=50,
            recursive=False,
            rust_timeout=recheck_ms,
            yield_on_timeout=True,
        ):
            if not armed:  # the first yield (a change, or recheck_ms of quiet) comes once armed
                armed = True
                log.info("watching %s for changes", folder)
            now = await asyncio.to_thread(_identity, folder)
            if now != watched:
                return now
            if changes:
                log.info("knowledge changed (%d file(s)); reloading", len(changes))
                await _reload(reload)
            if await asyncio.to_thread(_watched, folder) != paths:
                return _REWATCH
    except OSError as exc:  # the folder cannot be watched: answering goes on
        now = await asyncio.to_thread(_identity, folder)
        if now != watched:
            return now
        if await asyncio.to_thread(_watched, folder) != paths:
            return _REWATCH  # templates/ went away under the watch
        log.error("watching %s stopped: %s", folder, exc)
    return watched


async def _reload(reload: Callable[[], Awaitable[object]]) -> None:
    """Reload; a failure is logged and the old index stays."""
    try:
        await reload()
    except KnowledgeError as exc:
        log.error("knowledge changed but has problems; keeping the old index:\n%s", exc)
    except Exception:
        log.exception("reload after a knowledge change failed; keeping the old index")


def _identity(folder: Path) -> Identity:
    """Return the folder's (device, inode), or None when the path is not a folder."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _watched(folder: Path) -> list[Path]:
    """Return the folders the loader reads: the knowledge folder and its templates/."""
    return [folder, *(p for p in [folder / "templates"] if p.is_dir())]
