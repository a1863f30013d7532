"""Batches worked by forked processes: input order, streaming, errors, a worker that dies."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from bot.cli import line_batches
from bot.core.workers import in_order


def pid_of(batch: int) -> tuple[int, int]:
    """Work that tells who did it; the first of every three batches takes longest."""
    time.sleep(0.05 if batch % 3 == 0 else 0.0)
    return batch, os.getpid()


def test_results_come_in_input_order_from_forked_workers() -> None:
    results = list(in_order(pid_of, range(12), workers=2))
    assert [batch for batch, _ in results] == list(range(12))
    workers = {pid for _, pid in results}
    assert os.getpid() not in workers
    assert len(workers) == 2  # a slow batch does not hold the other worker back


def test_one_worker_means_this_process() -> None:
    results = list(in_order(pid_of, range(4), workers=1))
    assert results == [(b, os.getpid()) for b in range(4)]


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def work(batch: int) -> int:
        if batch == 3:
            raise ValueError(f"batch {batch} is bad")
        return batch

    with pytest.raises(ValueError, match="batch 3 is bad"):
        list(in_order(work, range(8), workers=2))


def test_a_worker_that_dies_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    parent = os.getpid()

    def work(batch: int) -> int:
        if batch == 3 and os.getpid() != parent:
            os._exit(9)  # killed: out of memory, a signal
        return batch * 10

    with caplog.at_level(logging.WARNING, logger="bot.core.workers"):
        assert list(in_order(work, range(10), workers=2)) == [b * 10 for b in range(10)]
    assert "a worker process died; answering the rest in this one" in caplog.text


def test_each_worker_starts_and_stops_once(tmp_path: Path) -> None:
    def mark(what: str) -> None:
        (tmp_path / f"{os.getpid()}.{what}").touch()

    list(
        in_order(
            pid_of, range(9), workers=2, start=lambda: mark("start"), stop=lambda: mark("stop")
        )
    )
    started = {p.stem for p in tmp_path.glob("*.start")}
    assert len(started) == 2 and str(os.getpid()) not in started
    assert {p.stem for p in tmp_path.glob("*.stop")} == started


def test_a_batch_is_answered_while_the_input_is_still_open() -> None:
    """A terminal or a pipe: the first line's result comes before the input ends."""
    read_end, write_end = os.pipe()
    source = open(read_end, "rb", buffering=0)  # noqa: SIM115 - closed below
    results = iter(in_order(lambda lines: [x.upper() for x in lines], line_batches(source), 2))
    got: list[list[bytes]] = []
    try:
        os.write(write_end, b"uno\n")
        waiter = threading.Thread(target=lambda: got.append(next(results)), daemon=True)
        waiter.start()
        waiter.join(timeout=30)
        assert got == [[b"UNO"]], "no result while the input is open: not streaming"
        os.write(write_end, b"dos\ntres\n")
        os.close(write_end)
        write_end = -1
        assert [x for batch in results for x in batch] == [b"DOS", b"TRES"]
    finally:
        if write_end >= 0:
            os.close(write_end)
        source.close()
