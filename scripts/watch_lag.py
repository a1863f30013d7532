"""Event-loop stalls caused by watch mode over a folder of N files (prints figures only).

    .venv/bin/python scripts/watch_lag.py [N] [SECONDS]

Creates N small files in a temporary folder, then for SECONDS each runs (a) a poller that lists
and stats every file on the event loop every 2 s (the design before watchfiles) and (b)
`bot.watch.watch_folder`, while a 10 ms ticker measures how late the loop wakes it. Prints the
worst and p99 lateness of each and their ratio.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.watch import watch_folder

TICK = 0.01


async def on_loop_poll(folder: Path, stop: asyncio.Event) -> None:
    """List and stat every file on the event loop every 2 s (the old design)."""
    while not stop.is_set():
        sorted((p, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file())
        try:
            await asyncio.wait_for(stop.wait(), 2.0)
        except TimeoutError:
            pass


async def lateness(
    run: Callable[[asyncio.Event], Awaitable[None]], seconds: float
) -> tuple[float, float]:
    """Return the worst and p99 lateness (s) of a 10 ms ticker while `run` watches."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    late: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        late.append(time.perf_counter() - started - TICK)
    stop.set()
    await asyncio.wait_for(task, 30)
    late.sort()
    return late[-1], late[int(len(late) * 0.99)]


async def main(files: int, seconds: float) -> None:
    async def reload() -> None:
        return None

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(files):
            (folder / f"doc-{i}.md").write_text("x", encoding="utf-8")
        old = await lateness(lambda stop: on_loop_poll(folder, stop), seconds)
        new = await lateness(lambda stop: watch_folder(folder, reload, stop), seconds)
    print(f"files: {files:,}; {seconds:g} s each; ticker every {TICK * 1000:g} ms")
    for name, (worst, p99) in (("stat on the loop", old), ("watchfiles", new)):
        print(f"{name:<17} worst {worst * 1000:8.1f} ms   p99 {p99 * 1000:8.1f} ms")
    print(f"ratio (old / new): worst {old[0] / max(new[0], 1e-6):.0f}x")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    s = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    asyncio.run(main(n, s))
