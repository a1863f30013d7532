"""Exit codes of `python -m bot` and the operational faults that end it with one line.

The codes are part of the interface (README "Exit codes"; `deploy/deal-bot.service` does not
restart on CONFIG or REFUSED, which only an operator can fix).
"""

from __future__ import annotations

OK = 0
FAULT = 1  # may pass by itself (Discord unreachable or 5xx, disk full) or knowledge problems
CONFIG = 2  # fix the setup first: argument, setting, token, DATA_DIR, database, METRICS_PORT
REFUSED = 3  # Discord refused the application's request (command sync, gateway intents)
INTERRUPTED = 130  # Ctrl-C in a chore


class Fault(Exception):
    """An operational fault: one line for the operator and the exit code it ends with."""

    def __init__(self, message: str, code: int = FAULT) -> None:
        self.code = code
        super().__init__(message)
