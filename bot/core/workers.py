"""Batches answered side by side by forked copies of this process, in order, as they come.

A stream of questions (`ask -`) is answered batch by batch. On a machine with several cores,
worker processes forked once the engine is loaded answer the batches side by side: they share
the engine's memory (copy-on-write: what lives was frozen out of the collector's walks, so it
is read, not written) and each runs its own translator. Results come back in input order, each
as soon as it and those before it are ready; a line typed at a terminal is answered at once.

Nothing is lost to a worker that dies (killed, out of memory): its batch and every later one
are answered in this process, with one warning. An exception raised by the work itself is
raised here, as it would be without workers.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.util
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

B = TypeVar("B")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends
AHEAD = 4  # batches read ahead per worker: a huge input is not read into memory at once

# What the forked workers run: set just before they are forked, inherited, never pickled.
_work: Callable[[Any], Any] | None = None
_start: Callable[[], None] | None = None
_stop: Callable[[], None] | None = None
_parent = 0


def usable_cores() -> int:
    """Return how many cores this process may run on (its affinity, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Tell whether workers can be forked here (not on Windows; macOS has fork too)."""
    return "fork" in multiprocessing.get_all_start_methods()


def in_order(
    work: Callable[[B], R],
    batches: Iterable[B],
    workers: int,
    start: Callable[[], None] | None = None,
    stop: Callable[[], None] | None = None,
) -> Iterator[R]:
    """Yield `work(batch)` for each batch, in order, computed by `workers` forked processes.

    `start` runs first in each worker (e.g. starting its own translator), `stop` last (when the
    stream ends and the worker exits; not when it is killed). With fewer than two
    workers, or where processes cannot be forked, the batches are worked here, one by one.
    Batches are read from `batches` by a thread while results are awaited: the iterable may
    block (a terminal) without holding back answers to batches already read.
    """
    if workers < 2 or not can_fork():
        yield from map(work, batches)
        return
    global _work, _start, _stop, _parent
    _work, _start, _stop, _parent = work, start, stop, os.getpid()
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_begin
    )
    try:
        # Fork now (every worker at the first task), from this thread, before the reader
        # thread exists: a child gets only the thread that forked it, and no lock another
        # thread held.
        pool.submit(_nothing).result()
    except BrokenProcessPool:
        pool.shutdown(wait=False)
        log.warning("could not start worker processes; answering in this one")
        yield from map(work, batches)
        return
    finally:
        _work = _start = _stop = None  # the workers have their copies: another call may fork
    pending: queue.Queue[tuple[B, Future[R] | None] | BaseException | None]
    pending = queue.Queue(maxsize=workers * AHEAD)
    done = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                if done.is_set():
                    return
                try:
                    future: Future[R] | None = pool.submit(_run, batch)
                except (BrokenProcessPool, RuntimeError):  # broken, or shut down: work it here
                    future = None
                pending.put((batch, future))
        except BaseException as exc:  # reading failed: raise it to the caller
            pending.put(exc)
        else:
            pending.put(None)

    reader = threading.Thread(target=read, name="batches", daemon=True)
    reader.start()
    broken = False
    try:
        while (item := pending.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            batch, future = item
            if future is not None and not broken:
                try:
                    yield future.result()
                    continue
                except BrokenProcessPool:
                    broken = True
                    log.warning("a worker process died; answering the rest in this one")
            yield work(batch)
    finally:
        done.set()
        while True:  # let a reader blocked on a full queue see `done`
            try:
                pending.get_nowait()
            except queue.Empty:
                break
        pool.shutdown(wait=True, cancel_futures=True)


def _begin() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the work, not each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    if _stop is not None:
        multiprocessing.util.Finalize(None, _stop, exitpriority=0)  # run as the worker exits
    if _start is not None:
        _start()


def _end_with_parent() -> None:
    """Have Linux end this worker when the parent ends, however it ends (SIGKILL included):
    otherwise workers would wait for work forever, each with its translator."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != _parent:  # pragma: no cover - the parent ended before prctl
        os._exit(1)


def _nothing() -> None:
    return None


def _run(batch: Any) -> Any:
    assert _work is not None
    return _work(batch)
