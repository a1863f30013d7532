"""Operations: watch mode, metrics endpoint, progress bar, hash salt."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import threading
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.cli import ProgressBar
from bot.core.answer import Engine
from bot.core.errors import KnowledgeError
from bot.metrics import Metrics
from bot.settings import BUNDLED_KNOWLEDGE
from bot.store import salt_of
from bot.watch import watch_folder


def _copy_knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, folder)
    return folder


def _add_paragraph(folder: Path) -> None:
    doc = folder / "microsoft-openai-acuerdo-2025.md"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nUn párrafo nuevo sobre Azure.\n", "utf-8")


async def _until(condition: Callable[[], object], seconds: float = 6.0) -> None:
    """Wait until `condition()` is true, or `seconds` passed (the caller asserts)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


async def test_watch_reloads_on_change_and_keeps_the_old_index_on_a_broken_file(
    tmp_path: Path, watch_armed: Callable[..., Awaitable[None]]
) -> None:
    folder = _copy_knowledge(tmp_path)
    engines = [Engine.load(folder)]
    errors: list[str] = []

    async def reload() -> None:
        try:
            engines.append(Engine.load(folder))
        except KnowledgeError as exc:
            errors.append(str(exc))
            raise

    stop = asyncio.Event()
    task = asyncio.create_task(watch_folder(folder, reload, stop, debounce_ms=50))
    await watch_armed()
    _add_paragraph(folder)
    await _until(lambda: len(engines) > 1)
    assert len(engines) == 2 and len(engines[1].passages) == len(engines[0].passages) + 1

    (folder / "roto.md").write_text("sin front matter\n", encoding="utf-8")
    await _until(lambda: errors)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert errors and "roto.md:1" in errors[0]
    assert len(engines) == 2, "a broken file must not produce a new index"


async def test_watch_never_lists_or_stats_the_folder_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watch_armed: Callable[..., Awaitable[None]]
) -> None:
    # 5,000 files: the old poller listed and stat-ed every one of them on the loop each 2 s.
    folder = _copy_knowledge(tmp_path)
    for i in range(5000):
        (folder / f"extra-{i}.txt").write_text("x", encoding="utf-8")
    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    real_stat, real_scandir = os.stat, os.scandir

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if threading.get_ident() == loop_thread:
            on_loop.append(str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def scandir(path: object = ".") -> object:
        if threading.get_ident() == loop_thread:
            on_loop.append(str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    reloads: list[int] = []

    async def reload() -> None:
        reloads.append(1)

    stop = asyncio.Event()
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    task = asyncio.create_task(watch_folder(folder, reload, stop, debounce_ms=50))
    await watch_armed()
    (folder / "extra-1.txt").write_text("changed", encoding="utf-8")
    for _ in range(250):
        if reloads:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    monkeypatch.undo()
    assert reloads, "the change was not noticed"
    assert on_loop == [], f"the event loop touched the folder {len(on_loop)} times"


async def test_watch_follows_a_folder_removed_then_restored(
    tmp_path: Path, watch_armed: Callable[..., Awaitable[None]]
) -> None:
    folder = _copy_knowledge(tmp_path)
    engines: list[Engine] = []

    async def reload() -> None:
        engines.append(Engine.load(folder))  # a KnowledgeError while the folder is gone

    stop = asyncio.Event()
    task = asyncio.create_task(watch_folder(folder, reload, stop, debounce_ms=50))
    await watch_armed()
    shutil.rmtree(folder)
    await asyncio.sleep(0.5)
    shutil.copytree(BUNDLED_KNOWLEDGE, folder)  # a deploy or a checkout puts it back
    await _until(lambda: engines)
    assert engines, "the restored folder was not reloaded"
    await watch_armed(2)
    _add_paragraph(folder)
    await _until(lambda: len(engines) > 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(engines) == 2, "the restored folder is not watched"
    assert len(engines[1].passages) == len(engines[0].passages) + 1


async def test_watch_picks_up_a_templates_folder_created_after_the_start(
    tmp_path: Path, watch_armed: Callable[..., Awaitable[None]]
) -> None:
    folder = _copy_knowledge(tmp_path)
    templates = folder / "templates"
    shutil.move(templates, tmp_path / "kept-templates")  # the bot starts without templates/
    engines: list[Engine] = []

    async def reload() -> None:
        engines.append(Engine.load(folder))

    stop = asyncio.Event()
    task = asyncio.create_task(watch_folder(folder, reload, stop, debounce_ms=50))
    await watch_armed()
    shutil.copytree(tmp_path / "kept-templates", templates)
    await watch_armed(2)  # re-armed with templates/ in the watch
    count = len(engines)
    summary = next(templates.glob("summary.es.txt"))
    summary.write_text(summary.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    await _until(lambda: len(engines) > count)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(engines) > count, "a change in a templates/ created after the start was missed"


async def test_watch_of_a_missing_folder_logs_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()

    async def reload() -> None:
        raise AssertionError("nothing to reload")

    await asyncio.wait_for(watch_folder(tmp_path / "missing", reload, stop), 5)
    assert "watching" in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_endpoint_counts_questions_on_loopback() -> None:
    metrics = Metrics(latency_source=lambda: 0.042)
    metrics.observe(True, 0.003)
    metrics.observe(False, 0.002)
    port = _free_port()
    metrics.serve("127.0.0.1", port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'dealbot_questions_total{answered="yes"} 1.0' in body
    assert 'dealbot_questions_total{answered="no"} 1.0' in body
    assert "dealbot_answer_seconds_count 2.0" in body
    assert "dealbot_gateway_latency_seconds 0.042" in body


def test_metrics_gateway_latency_is_zero_before_connecting() -> None:
    metrics = Metrics(latency_source=lambda: float("nan"))
    samples = {s.name: s.value for m in metrics.registry.collect() for s in m.samples}
    assert samples["dealbot_gateway_latency_seconds"] == 0.0


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_passages_per_second_on_a_terminal_only() -> None:
    tty = _Tty()
    bar = ProgressBar(tty, min_documents=2)
    for done in range(1, 4):
        bar(done, 3, done * 10)
    out = tty.getvalue()
    assert "3/3 documents" in out and "passages/s" in out and out.endswith("\n")
    piped = io.StringIO()
    ProgressBar(piped, min_documents=2)(1, 3, 10)
    assert piped.getvalue() == ""


def test_engine_load_reports_progress_per_document(tmp_path: Path) -> None:
    folder = _copy_knowledge(tmp_path)
    calls: list[tuple[int, int, int]] = []
    Engine.load(folder, lambda done, total, passages: calls.append((done, total, passages)))
    assert calls == [(1, 1, 10)]


def test_salt_is_created_once_and_kept(tmp_path: Path) -> None:
    first = salt_of(None, tmp_path)
    assert len(first) == 64 and salt_of(None, tmp_path) == first
    assert (tmp_path / "hash-salt").stat().st_mode & 0o077 == 0
    assert salt_of("configured", tmp_path) == "configured"
