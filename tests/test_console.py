"""The offline console: `python -m bot` on a terminal without a token."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _read_until(fd: int, marker: str, timeout: float = 20.0) -> str:
    out = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in out:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {marker!r}; got {out.decode(errors='replace')!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def test_console_answers_switches_language_and_quits(tmp_path: Path) -> None:
    main, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update(KNOWLEDGE_DIR=str(REPO / "knowledge"), NO_COLOR="1", DISCORD_TOKEN="")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=tmp_path,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    try:
        assert "Pregunta sobre el acuerdo" in _read_until(main, "> ")
        os.write(main, "¿Hasta cuándo estará vigente el acuerdo?\n".encode())
        answer = _read_until(main, "no se inventa nada")
        assert "vigente** hasta 2030" in answer and "Portaltic/EP" in answer
        os.write(main, b"/en\n")
        _read_until(main, "Ask about")
        os.write(main, b"zxcvb poiuy\n")
        assert "The article does not cover that" in _read_until(main, "Try asking")
        os.write(main, b"\xff\xfe not UTF-8\n")  # a bad line: one error, the console goes on
        _read_until(main, "not valid UTF-8 text")
        os.write(main, b"\xe2\x80\xae reversed\n")  # U+202E RIGHT-TO-LEFT OVERRIDE
        _read_until(main, "text-direction control characters")
        os.write(main, b"/salir\n")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
