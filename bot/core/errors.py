"""Errors the core raises; adapters turn them into short user messages."""


class CoreError(Exception):
    """Base class for errors the core reports to users."""


class KnowledgeError(CoreError):
    """The knowledge folder cannot be loaded; `problems` holds every `file:line: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class QuestionError(CoreError):
    """The question cannot be asked as typed (empty, too long, control characters)."""

    def __init__(self, code: str, message: str, length: int = 0, limit: int = 0) -> None:
        self.code = code
        self.length = length  # characters of the question, whitespace collapsed
        self.limit = limit
        super().__init__(message)
